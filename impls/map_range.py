"""The v7.1 driver operations ``map_range`` / ``unmap_range``, over a driver's own leaf writer.

Since v7.1 the core hands an iommupt (generic_pt) domain the whole request
in one call (spec core ``"map_range"``).  :class:`RangeOps` gives a driver
those two operations the way drivers/iommu/generic_pt/iommu_pt.h ``map_range``
and ``unmap_range`` run them, over two methods the driver provides:

* ``write_leaves(iova, paddr, pgsize, pgcount, prot) -> (ret, mapped)``:
  write one batch of leaves (the checks below are done), stopping at a live
  leaf with its errno and the bytes written before it;
* ``clear_range(iova, size, gather) -> bytes``: ``__unmap_range`` over
  [iova, iova + size): clear whole leaves from iova, stop at an empty entry,
  refuse a start inside a leaf, and add what was cleared to ``gather``.

It also needs ``bitmap``, ``ias``, ``oas`` and ``impl`` (for its counters).
"""

from spec import IOMMU_READ, IOMMU_WRITE, pgsize_and_count
from spec.errors import EINVAL, ENXIO, EOVERFLOW, ERANGE


def map_range_error(bitmap: int, ias: int, oas: int, iova: int, paddr: int, size: int,
                    prot: int) -> int:
    """The checks ``map_range`` makes before writing anything, in its order: 0 or -errno.

    prot without read or write (-EINVAL), the start paddr past 2^oas
    (-ERANGE), ``make_range_no_check`` (length 0: -EINVAL; a last byte past
    2^64: -EOVERFLOW), no first page (``pt_compute_best_pgsize`` 0: -ENXIO),
    ``check_map_range`` (the IOVA range past 2^ias: -ERANGE).
    """
    if not prot & (IOMMU_READ | IOMMU_WRITE):
        return -EINVAL
    if paddr >> oas:
        return -ERANGE
    if size == 0:
        return -EINVAL
    if (iova + size - 1) >> 64:
        return -EOVERFLOW
    if size == 1 or not pgsize_and_count(bitmap, iova, paddr, size)[0]:
        return -ENXIO
    if iova + size > 1 << ias:
        return -ERANGE
    return 0


class RangeOps:
    """``map_range`` / ``unmap_range`` for a driver with ``write_leaves`` and ``clear_range``."""

    def map_range(self, iova: int, paddr: int, size: int, prot: int) -> tuple[int, int]:
        """Returns ``(ret, mapped)``: 0 or -errno, and the bytes written from iova on."""
        self.impl.counters.driver_calls += 1
        ret = map_range_error(self.bitmap, self.ias, self.oas, iova, paddr, size, prot)
        if ret:
            return ret, 0
        mapped = 0
        while mapped < size:
            at, pa, left = iova + mapped, paddr + mapped, size - mapped
            pgsize, pgcount = pgsize_and_count(self.bitmap, at, pa, left)
            if not pgsize:  # the tail is shorter than the smallest page
                return -ENXIO, mapped
            ret, done = self.write_leaves(at, pa, pgsize, pgcount, prot)
            mapped += done
            if ret:
                return ret, mapped
        return 0, mapped

    def unmap_range(self, iova: int, size: int, gather) -> int:
        """Returns the bytes cleared; 0 when ``make_range`` rejects the range."""
        self.impl.counters.driver_calls += 1
        if size == 0 or iova + size > 1 << self.ias:
            return 0
        return self.clear_range(iova, size, gather)
