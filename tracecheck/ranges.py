"""RangeMap: what the trace has shown about each IOVA range.

The checker's knowledge is a map from disjoint half-open IOVA ranges
[start, end) to a value (mapped by line N, unmapped by line M, empty from the
start).  An IOVA outside every range is *unknown*: the trace never showed its
state.  Kept in a ``sortedcontainers.SortedDict`` keyed by start, so each
operation costs O(log ranges) plus the ranges it touches.
"""

from typing import Any, Iterator

from sortedcontainers import SortedDict


class RangeMap:
    """Disjoint ranges [start, end) of non-negative ints, each with a value."""

    def __init__(self) -> None:
        self._d: SortedDict = SortedDict()  # start -> (end, value)

    def __len__(self) -> int:
        return len(self._d)

    def items(self) -> Iterator[tuple[int, int, Any]]:
        """Every ``(start, end, value)``, by start."""
        for start, (end, value) in self._d.items():
            yield start, end, value

    def overlapping(self, start: int, end: int) -> list[tuple[int, int, Any]]:
        """The ``(start, end, value)`` entries that intersect [start, end), uncut, by start."""
        if end <= start:
            return []
        d = self._d
        idx = max(d.bisect_right(start) - 1, 0)
        out = []
        for key in d.islice(idx):
            if key >= end:
                break
            stop, value = d[key]
            if stop > start:
                out.append((key, stop, value))
        return out

    def get(self, addr: int) -> tuple[int, int, Any] | None:
        """The entry containing ``addr``, or None when addr is unknown."""
        hits = self.overlapping(addr, addr + 1)
        return hits[0] if hits else None

    def covers(self, start: int, end: int) -> bool:
        """Whether every address in [start, end) is in some entry (true for an empty range)."""
        at = start
        for lo, hi, _ in self.overlapping(start, end):
            if lo > at:
                return False
            at = max(at, hi)
        return at >= end

    def clear(self, start: int, end: int) -> None:
        """Forget [start, end): entries are cut at its edges and the inside removed."""
        for lo, hi, value in self.overlapping(start, end):
            del self._d[lo]
            if lo < start:
                self._d[lo] = (start, value)
            if hi > end:
                self._d[end] = (hi, value)

    def assign(self, start: int, end: int, value: Any) -> None:
        """Set [start, end) to ``value``, replacing whatever was known there."""
        if end <= start:
            return
        self.clear(start, end)
        self._d[start] = (end, value)
