"""Deliberately broken implementations: each plants one bug class the tester must catch.

They live here, not in impls/, because they exist to prove the tester has teeth.
"""

from impls import Pgsize


class NoRollback(Pgsize):
    """pgsize with the rollback of a failed map removed (the bug class "wrong rollback")."""

    name = "pgsize-no-rollback"

    def rollback(self, iova, mapped):
        pass


# -- the bug classes of the optimized implementations -----------------------------------

from impls.batched import GatheringFlatDriver, MapPages  # noqa: E402
from spec import greedy_chunks  # noqa: E402
from impls.gather import IotlbGather  # noqa: E402


class StaleAfterUnmap(MapPages):
    """map_pages whose iommu_unmap forgets to sync the gather (stale IOTLB after unmap)."""

    name = "map_pages-stale-iotlb"

    def unmap(self, iova, size):
        return self._unmap(iova, size, self.new_gather())  # no gather.flush()


class WrongRollbackSize(MapPages):
    """map_pages whose rollback unmaps one page too few (wrong rollback size)."""

    name = "map_pages-short-rollback"

    def rollback(self, iova, mapped):
        if mapped > self.min_pagesz:
            self.unmap(iova, mapped - self.min_pagesz)


class _WrongRemainderDriver(GatheringFlatDriver):
    def _split(self, key, lo, hi, gather):
        pgsize, paddr, prot = self.entries[key]
        if self.sem.partial_unmap != "split":
            return super()._split(key, lo, hi, gather)
        self._remove(key, gather)
        # bug: the remainder after the hole starts one page too late (a page is lost)
        for a, b in ((key, lo), (hi + self.min_page, key + pgsize)):
            if b > a:
                for iova, pa, pg, count in greedy_chunks(self.bitmap, a, paddr + (a - key), b - a):
                    for i in range(count):
                        self._set(iova + i * pg, pg, pa + i * pg, prot)
        return hi - lo


class SplitWrongRemainder(MapPages):
    """map_pages over a driver whose block split writes the wrong remainder (arm-lpae-v6.13)."""

    name = "map_pages-bad-split"
    semantics_name = "arm-lpae-v6.13"
    driver_class = _WrongRemainderDriver


class _MergingGather(IotlbGather):
    def add_page(self, iova, size):
        # bug: a disjoint page is merged by moving the range instead of syncing first
        if self.is_disjoint(iova, size):
            self.start, self.end, self.pgsize = iova, iova + size, size
            return
        super().add_page(iova, size)


class GatherMergesDisjoint(MapPages):
    """map_pages whose gather turns two disjoint ranges into one wrong range."""

    name = "map_pages-bad-gather"

    def new_gather(self):
        return _MergingGather(self._invalidate_range)


from impls.lpae import ARM_LPAE_MAX_LEVELS, Lpae, LpaeDriver  # noqa: E402


class _LeakyDriver(LpaeDriver):
    def _free_tree(self, pa, lvl):
        # bug: frees the table but forgets the last-level tables below it
        if lvl < ARM_LPAE_MAX_LEVELS - 2:
            return super()._free_tree(pa, lvl)
        self.mem.free(pa)


class LeakOnFree(Lpae):
    """lpae whose domain free leaks the last-level tables (table pages leaked on free)."""

    name = "lpae-leak"
    driver_class = _LeakyDriver
