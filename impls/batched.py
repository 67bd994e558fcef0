"""``map_pages``: the v5.14+ core, batched and with a deferred IOTLB flush.

The core loop hands the driver ``(pgsize, pgcount)`` batches chosen by
``iommu_pgsize`` (spec.pgsize_and_count).  On unmap the driver queues each
cleared leaf with ``iommu_iotlb_gather_add_page``, which syncs early when the
page size changes or the page is disjoint from the pending range, and the core
syncs once at the end of ``iommu_unmap``.  ``unmap_fast`` leaves the sync to
the caller's ``iotlb_sync``.  Source: drivers/iommu/iommu.c ``__iommu_map``,
``__iommu_unmap``, ``iommu_unmap_fast`` (v5.14+); include/linux/iommu.h
``iommu_iotlb_gather_add_page``.
"""

from spec import pgsize_and_count

from .core import Core
from .flat import FlatDriver


class GatheringFlatDriver(FlatDriver):
    """The flat driver, queueing invalidations page by page as io-pgtable drivers do."""

    def gather_leaf(self, gather, iova: int, size: int) -> None:
        gather.add_page(iova, size)


class MapPages(Core):
    name = "map_pages"
    driver_class = GatheringFlatDriver

    def next_pages(self, iova, paddr, size):
        return pgsize_and_count(self.pgsize_bitmap, iova, paddr, size)
