"""``pgsize``: the greedy core of v3.3 to v5.14.

Each driver call maps or unmaps one page of the largest size
``iommu_pgsize`` allows (spec.pgsize.pgsize, the single-page form); an
unmap gathers every page into one range and syncs once per call.
"""

from spec import pgsize

from .core import Core


class Pgsize(Core):
    name = "pgsize"
    core = "map"  # one page per driver call (spec rule CORE_BATCHES)

    def next_pages(self, iova, paddr, size):
        return pgsize(self.pgsize_bitmap, iova, paddr, size), 1
