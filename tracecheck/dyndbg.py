"""Which ``map:`` line a ``mapping:`` line belongs to.

drivers/iommu/iommu.c ``__iommu_map`` logs ``map:`` once, then one ``mapping:``
line per call to the driver: the first at the map's iova, each next one where
the previous call's pages ended -- or earlier, when a driver maps fewer pages
than asked (io-pgtable-arm stops at a table's end) and the core asks again for
the rest.  A ``mapping:`` line therefore belongs to the latest ``map:`` that
expects a line at its iova (at the same physical offset); lines of other
CPUs may come in between.  A line no ``map:`` expects is an orphan (its
``map:`` is not in the excerpt).
"""

from dataclasses import dataclass

from .parse import DbgMap, DbgMapping

#: How many recent ``map:`` lines a ``mapping:`` line is matched against.
DYN_MAPS_KEPT = 64


@dataclass
class PendingMap:
    """A ``map:`` line and how far its ``mapping:`` lines have come.

    The next line may start anywhere in (``after``, ``upto``]; the first one
    exactly at the map's iova.  ``lines`` counts the lines matched so far.
    """

    rec: DbgMap
    after: int = -1
    upto: int = -1
    lines: int = 0

    def __post_init__(self) -> None:
        self.after, self.upto = self.rec.iova - 1, self.rec.iova

    @property
    def end(self) -> int:
        """Where the map ends: iova + size."""
        return self.rec.iova + self.rec.size

    def expects(self, line: DbgMapping) -> bool:
        """Whether ``line`` can be this map's next ``mapping:`` line."""
        return (self.after < line.iova <= self.upto and line.iova < self.end
                and line.iova - self.rec.iova == line.paddr - self.rec.paddr)

    def take(self, line: DbgMapping) -> int:
        """Accept ``line``; returns the bytes the map had left at it."""
        self.lines += 1
        remaining = self.end - line.iova
        step = line.pgsize * (1 if line.count is None else line.count)
        self.after, self.upto = line.iova, min(line.iova + step, self.end)
        return remaining


def owner(pending: list[PendingMap], line: DbgMapping) -> PendingMap | None:
    """The latest pending map that expects ``line``, or None."""
    for pm in reversed(pending):
        if pm.expects(line):
            return pm
    return None
