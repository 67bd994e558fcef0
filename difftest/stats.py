"""Counters for the end-of-run summary, keyed by implementation x profile."""

from collections import defaultdict

FIELDS = ("examples", "steps", "ops", "pte_writes", "invalidations", "failures")

#: (implementation, profile, semantics) -> {field: count}
STATS: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))


def record(key: tuple[str, str, str], **counts: int) -> None:
    row = STATS[key]
    for name, value in counts.items():
        row[name] += value


def merge(rows: list) -> None:
    """Merge rows exported by ``export`` (e.g. from pytest-xdist workers)."""
    for key, counts in rows:
        record(tuple(key), **counts)


def export() -> list:
    return [[list(key), dict(counts)] for key, counts in STATS.items()]
