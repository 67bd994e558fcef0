"""``map_pages``: the v5.15+ core, batched and with a deferred IOTLB flush.

The core loop hands the driver ``(pgsize, pgcount)`` batches chosen by
``iommu_pgsize`` (spec.pgsize_and_count).  On unmap the driver queues each
cleared leaf with ``iommu_iotlb_gather_add_page``, which syncs early when the
page size changes or the page is disjoint from the pending range, and the core
syncs once at the end of ``iommu_unmap``.  ``unmap_fast`` leaves the sync to
the caller's ``iotlb_sync``.  Source: drivers/iommu/iommu.c ``__iommu_map``,
``__iommu_unmap``, ``iommu_unmap_fast`` (v5.15+); include/linux/iommu.h
``iommu_iotlb_gather_add_page``.
"""

from spec import get_profile, pgsize_and_count

from .core import Core
from .flat import FlatDriver
from .map_range import RangeOps


class GatheringFlatDriver(FlatDriver):
    """The flat driver, queueing invalidations page by page as io-pgtable drivers do."""

    def gather_leaf(self, gather, iova: int, size: int) -> None:
        gather.add_page(iova, size)


class MapPages(Core):
    name = "map_pages"
    driver_class = GatheringFlatDriver

    def next_pages(self, iova, paddr, size):
        return pgsize_and_count(self.pgsize_bitmap, iova, paddr, size)


class RangeFlatDriver(RangeOps, GatheringFlatDriver):
    """The flat driver with ``map_range`` / ``unmap_range`` (:mod:`impls.map_range`)."""

    def clear_range(self, iova, size, gather) -> int:
        return self._unmap_leaves(iova, iova + size, gather)


class MapRange(MapPages):
    """The v7.1 core for iommupt domains over the flat driver: the whole request in one
    ``map_range`` / ``unmap_range`` call, rolled back by exactly the bytes it reports."""

    name = "map_range"
    core = "map_range"
    semantics_name = "generic-pt"
    driver_class = RangeFlatDriver

    @classmethod
    def supports(cls, profile) -> bool:
        """The profiles whose driver runs generic_pt today (intel-vtd, amd-v1, amd-v2)."""
        p = get_profile(profile) if isinstance(profile, str) else profile
        return p.default_semantics == "generic-pt"
