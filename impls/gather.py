"""``iommu_iotlb_gather``: collect the IOVA ranges an unmap invalidates, flush them later.

Source: include/linux/iommu.h ``iommu_iotlb_gather_add_page`` /
``iommu_iotlb_gather_add_range`` / ``iommu_iotlb_gather_is_disjoint`` (v5.11+).
"""


class IotlbGather:
    """A pending invalidation: one IOVA range [start, end) and the page size that filled it.

    ``sync`` is called with the gathered ``(start, size)`` whenever the gather
    must be flushed; it issues the invalidation command and resets nothing
    itself (``flush`` does that).
    """

    def __init__(self, sync) -> None:
        self._sync = sync
        self.start = 0
        self.end = 0  # empty when end <= start
        self.pgsize = 0

    @property
    def empty(self) -> bool:
        return self.end <= self.start

    def add_range(self, iova: int, size: int) -> None:
        """Grow the pending range to cover [iova, iova+size) (``iommu_iotlb_gather_add_range``)."""
        if self.empty:
            self.start, self.end = iova, iova + size
        else:
            self.start, self.end = min(self.start, iova), max(self.end, iova + size)

    def is_disjoint(self, iova: int, size: int) -> bool:
        """True when [iova, iova+size) neither overlaps nor touches the pending range."""
        return not self.empty and (iova + size < self.start or iova > self.end)

    def add_page(self, iova: int, size: int) -> None:
        """Add one page, flushing first if the page size changes or the page is disjoint.

        (``iommu_iotlb_gather_add_page``: drivers whose invalidations are
        per-page-size, like arm-smmu-v3's range invalidation, need this.)
        """
        if (self.pgsize and self.pgsize != size) or self.is_disjoint(iova, size):
            self.flush()
        self.pgsize = size
        self.add_range(iova, size)

    def flush(self) -> None:
        """Issue the pending invalidation, if any, and empty the gather (``iommu_iotlb_sync``)."""
        if not self.empty:
            self._sync(self.start, self.end - self.start)
        self.start = self.end = self.pgsize = 0
