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


# -- Linux's behaviour before the fixes of spec.history.FIXES ------------------------------
# Each class reproduces one old behaviour, by its before_rule name, so tests/test_history.py
# can show that the tester reports it.

from impls import GenericPt, Lpae  # noqa: E402
from impls.batched import GatheringFlatDriver, MapRange, RangeFlatDriver  # noqa: E402
from impls.generic_pt import GenericPtDriver  # noqa: E402
from spec import IOMMU_READ, IOMMU_WRITE  # noqa: E402
from spec.errors import ENOENT  # noqa: E402

MASK64 = (1 << 64) - 1


class _NoAccessNoopDriver(LpaeDriver):
    def map_pages(self, iova, paddr, pgsize, pgcount, prot):
        if not prot & (IOMMU_READ | IOMMU_WRITE):
            return 0, 0  # "If no access, then nothing to do" (before 6093cd582f8e)
        return super().map_pages(iova, paddr, pgsize, pgcount, prot)


class MapProtNoop(Lpae):
    """MAP_PROT_NOOP: io-pgtable-arm before 6093cd582f8e (v6.11): a map without read or write
    returns 0 and maps nothing, so __iommu_map's loop never ends."""

    name = "lpae-map-prot-noop"
    driver_class = _NoAccessNoopDriver


class _HoleEnoentDriver(LpaeDriver):
    def unmap_pages(self, iova, pgsize, pgcount, gather):
        got = super().unmap_pages(iova, pgsize, pgcount, gather)
        if not got and not self.iova_to_phys(iova) and not self.leaves(iova, iova + 1):
            return -ENOENT & MASK64  # __arm_lpae_unmap's -ENOENT through size_t (v6.16 to v6.18)
        return got


class UnmapHoleEnoent(Lpae):
    """UNMAP_HOLE_ENOENT: io-pgtable-arm v6.16 to v6.18 (3318f7b5cefb, fixed by 374e7af67d9d):
    an unmap that meets an empty entry returns -ENOENT as a size_t."""

    name = "lpae-unmap-hole-enoent"
    driver_class = _HoleEnoentDriver


class _ShortGatherDriver(GenericPtDriver):
    def clear_range(self, iova, size, gather):
        requested = gather.__class__(lambda start, length: None)
        got = super().clear_range(iova, size, requested)
        if got:
            gather.add_range(iova, min(got, size))  # only what was asked (before ee6e69d03255)
        return got


class ShortGather(GenericPt):
    """UNMAP_SHORT_GATHER: generic_pt v6.19 (7c53f4238aa8, fixed by ee6e69d03255, v7.0): an
    unmap that clears a whole larger leaf gathers only the bytes asked for."""

    name = "generic_pt-short-gather"
    driver_class = _ShortGatherDriver


class _NoGatherDriver(GatheringFlatDriver):
    def gather_leaf(self, gather, iova, size):
        pass  # like arm-smmu: the driver's iotlb_sync flushes the whole context instead


class SyncSkippedOnEmptyGather(MapPages):
    """UNMAP_SYNC_SKIPPED: iommu.c with 90c5def10bea alone (v7.0-rc, fixed by 7e0548525abd):
    iotlb_sync is skipped when the gather stayed empty, so a driver that never fills it
    (arm-smmu, apple-dart, virtio-iommu) flushes nothing after an unmap."""

    name = "map_pages-sync-skipped"
    driver_class = _NoGatherDriver

    def _sync_driver(self, gather):
        self.issue_invalidation(("all",))  # the driver's .iotlb_sync: flush the context
        gather.flush()

    def unmap(self, iova, size):
        gather = self.new_gather()
        unmapped = self._unmap(iova, size, gather)
        if not gather.empty:  # the bug: an empty gather skips .iotlb_sync
            self._sync_driver(gather)
        return unmapped

    def iotlb_sync(self):
        """iommu_iotlb_sync calls the driver's .iotlb_sync whatever the gather holds."""
        self._sync_driver(self.gather)
        self.counters.syncs += 1
        return 0


class SyncOnEmptyGather(SyncSkippedOnEmptyGather):
    """The same driver under the fixed core (7e0548525abd): every successful unmap syncs."""

    name = "map_pages-sync-fixed"

    def unmap(self, iova, size):
        gather = self.new_gather()
        unmapped = self._unmap(iova, size, gather)
        if unmapped:
            self._sync_driver(gather)
        return unmapped



class MapErrnoLost(MapPages):
    """MAP_ERRNO_LOST: iommu.c v7.1-rc1 to rc4 (d6c65b0fd621, fixed by 6fc7e8a3b811): a failed
    map on a classic domain is rolled back and iommu_map returns 0."""

    name = "map_pages-errno-lost"

    def map(self, iova, paddr, size, prot):
        ret = super().map(iova, paddr, size, prot)
        return 0 if ret and (iova | paddr | size) % self.min_pagesz == 0 and size else ret


class _FastPathDriver(RangeFlatDriver):
    def map_range(self, iova, paddr, size, prot):
        if size == 1 << 12 and not (iova | paddr) & 0xfff and prot & (IOMMU_READ | IOMMU_WRITE) \
                and not self._overlap(iova, iova + size):
            self.impl.counters.driver_calls += 1
            self._set(iova, size, paddr, prot)  # the 4K fast path, bitmap unchecked
            return 0, size
        return super().map_range(iova, paddr, size, prot)


class FastPath4kIgnoresBitmap(MapRange):
    """MAP_4K_FAST_PATH: generic_pt before 8ef3f77c4400 (v7.1): a 4K map takes the 4K fast
    path even when 4K is not in the domain's pgsize_bitmap."""

    name = "map_range-4k-fast-path"
    driver_class = _FastPathDriver
