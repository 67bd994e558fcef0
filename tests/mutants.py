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

from impls.batched import MapPages  # noqa: E402
from impls.lpae import LpaeDriver, LpaeSplit  # noqa: E402
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


class _WrongRemainderDriver(LpaeDriver):
    def _split_blk_unmap(self, gather, iova, size, blk_pte, lvl, parent, pidx, pgcount):
        got = super()._split_blk_unmap(gather, iova, size, blk_pte, lvl, parent, pidx, pgcount)
        after = iova + got
        if got and after % self.geo.block_size(lvl - 1):
            # bug: the remainder after the hole starts one page too late (a page is lost)
            self._unmap(None, after, size, 1, self.geo.start_level, self.root)
        return got


class SplitWrongRemainder(LpaeSplit):
    """The lpae table (arm-lpae-v6.13) whose block split writes the wrong remainder."""

    name = "lpae-bad-split"
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
