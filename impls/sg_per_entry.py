"""``sg_per_entry``: the v3.19 to v4.16 core, whose map_sg mapped entry by entry.

``default_iommu_map_sg`` called ``iommu_map`` once per scatterlist entry at
the next IOVA, after checking that the entry's offset was a multiple of the
smallest page, and returned 0 (a ``size_t``) on any failure after unmapping
what it had mapped.  Physically contiguous entries are never merged, so
an entry that is not page-aligned fails even inside an aligned run: the
v4.17 coalescing core maps the same list.  Otherwise this is the ``pgsize``
core.  Source: drivers/iommu/iommu.c ``default_iommu_map_sg`` (v4.16).
"""

from spec.errors import EINVAL

from .pgsize import Pgsize


class SgPerEntry(Pgsize):
    name = "sg_per_entry"
    core = "map-v4.16"  # spec rule MAP_SG_PER_ENTRY

    def map_sg(self, iova: int, sg, prot: int) -> int:
        mapped = 0
        for paddr, offset, length in sg:
            if offset % self.min_pagesz:
                ret = -EINVAL
            else:
                ret = self.map(iova + mapped, paddr + offset, length, prot)
            if ret:
                return self.map_sg_failed(iova, mapped, ret)
            mapped += length
        return mapped
