"""Argument checks every driver's map_pages / unmap_pages makes, written once.

The core never passes anything else, but a driver tested on its own (through
``map_pages`` / ``unmap_pages`` directly, or the protocol) must reject it:
one page size from the bitmap, pgcount >= 1, pgsize-aligned addresses, and
for a map a prot with IOMMU_READ or IOMMU_WRITE (spec rules PAGES_ARGS and
MAP_PROT).
"""

from spec import IOMMU_READ, IOMMU_WRITE


def pages_ok(bitmap: int, iova: int, paddr: int, pgsize: int, pgcount: int) -> bool:
    """True when (pgsize, pgcount) and the addresses are what a driver call may be given."""
    return not (pgsize & (pgsize - 1) or not pgsize & bitmap or pgcount < 1
                or (iova | paddr) & (pgsize - 1))


def map_args_ok(bitmap: int, iova: int, paddr: int, pgsize: int, pgcount: int, prot: int) -> bool:
    """pages_ok, and prot grants read or write."""
    return pages_ok(bitmap, iova, paddr, pgsize, pgcount) and bool(prot & (IOMMU_READ | IOMMU_WRITE))
