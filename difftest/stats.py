"""Counters for the end-of-run summary, keyed by implementation x profile."""

from collections import defaultdict

FIELDS = ("examples", "steps", "pte_writes", "invalidations", "set_aside", "failures")

#: (implementation, profile, semantics) -> {field: count}
STATS: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))


#: (implementation, profile, semantics) -> the input classes set aside for it.
SET_ASIDE: dict[tuple[str, str, str], set[str]] = defaultdict(set)


def note_set_aside(key: tuple[str, str, str], names) -> None:
    """Remember which input classes an item sets aside (the summary lists them)."""
    SET_ASIDE[key].update(names)
    STATS[key]  # the item has a row even if it never runs an example


def record(key: tuple[str, str, str], **counts: int) -> None:
    row = STATS[key]
    for name, value in counts.items():
        row[name] += value


def merge(rows: list) -> None:
    """Merge rows exported by ``export`` (e.g. from pytest-xdist workers)."""
    for key, counts, *rest in rows:
        record(tuple(key), **counts)
        if rest:
            SET_ASIDE[tuple(key)].update(rest[0])


def export() -> list:
    return [[list(key), dict(counts), sorted(SET_ASIDE.get(key, ()))]
            for key, counts in STATS.items()]
