"""The core of Linux's IOMMU API as a library: iommu_map, iommu_unmap, iommu_map_sg.

A *driver* is any object built as ``driver_class(impl)`` (``impl`` is the
Core, giving it ``profile``, ``semantics``, ``pgsize_bitmap``, ``counters``
and ``issue_invalidation``) that offers:

* ``map_pages(iova, paddr, pgsize, pgcount, prot) -> (ret, mapped)``;
* ``unmap_pages(iova, pgsize, pgcount, gather) -> bytes``, adding what it
  cleared to ``gather`` (an :class:`impls.gather.IotlbGather`);
* ``iova_to_phys(iova) -> paddr | 0`` and ``leaves() -> [(iova, paddr,
  pgsize, count, prot)]``;
* under the v7.1 core (``core = "map_range"``), ``map_range(iova, paddr,
  size, prot) -> (ret, mapped)`` and ``unmap_range(iova, size, gather) ->
  bytes``: the whole request in one call (generic_pt's ``map_range`` /
  ``unmap_range``);
* optionally ``fail_alloc(after)`` (the (after+1)-th page-table page
  allocation from now on fails with -ENOMEM, once) and ``free() -> int``
  (free everything; return the table pages still allocated, which must be 0).

Drivers count their PTE writes in ``impl.counters.pte_writes`` and keep
``impl.counters.table_pages`` equal to the table pages allocated now.

:class:`Core` is the loop structure of drivers/iommu/iommu.c over a driver's
``map_pages`` / ``unmap_pages``: the alignment check, the batch loop, the
rollback of a failed map, the unmap loop that stops when the driver unmaps
nothing, the scatterlist coalescing of ``__iommu_map_sg`` and the IOTLB
gather.  Subclasses choose how the range is cut into driver calls
(``next_pages``) and when invalidations are issued; the driver (``driver_class``)
holds the page table.
"""

from spec.cores import get_core
from spec.errors import EINVAL

from .base import Implementation
from .flat import FlatDriver
from .gather import IotlbGather


MASK64 = (1 << 64) - 1


class DriverError(RuntimeError):
    """A driver broke the driver interface in a way the core cannot continue from."""


class Core(Implementation):
    """iommu.c's map/unmap/map_sg loops over ``self.driver``.

    Every public operation has the model's signature and return convention.
    ``iotlb_sync_map`` invalidates the mapped range after a successful map when
    ``sync_on_map`` is set (hardware that caches non-present entries).
    """

    driver_class = FlatDriver
    sync_on_map = True

    @property
    def ops(self) -> frozenset[str]:
        ops = {"iotlb_sync", "unmap_fast", "domain_free"}
        if not self.whole_range:  # v7.1 iommupt domains have map_range / unmap_range instead
            ops |= {"map_pages", "unmap_pages"}
        if hasattr(self.driver, "fail_alloc"):
            ops.add("fail_alloc")
        return frozenset(ops)

    def __init__(self, profile, semantics=None) -> None:
        super().__init__(profile, semantics)
        self.pgsize_bitmap = self.used_bitmap()
        self.min_pagesz = self.pgsize_bitmap & -self.pgsize_bitmap
        #: The v7.1 core (``core == "map_range"``): the driver's map_range / unmap_range.
        self.whole_range = get_core(self.core).whole_range
        self.driver = self.driver_class(self)
        self.gather = self.new_gather()
        if hasattr(self.driver, "tables"):  # the tables below the root, where the driver keeps them
            self.tables = self.driver.tables

    # -- policy hooks ---------------------------------------------------------------
    def used_bitmap(self) -> int:
        """The page sizes this core hands to the driver (default: all the profile's)."""
        return self.profile.pgsize_bitmap

    def next_pages(self, iova: int, paddr: int, size: int) -> tuple[int, int]:
        """The next ``(pgsize, pgcount)`` driver call for the remaining range."""
        raise NotImplementedError

    def new_gather(self) -> IotlbGather:
        return IotlbGather(self._invalidate_range)

    def after_driver_map(self, iova: int, size: int) -> None:
        """Called after each successful driver map call (the pagewise core invalidates here)."""

    def after_driver_unmap(self, gather: IotlbGather) -> None:
        """Called after each driver unmap call (the pagewise core flushes here)."""

    # -- IOTLB ----------------------------------------------------------------------
    def _invalidate_range(self, iova: int, size: int) -> None:
        self.issue_invalidation(("range", iova, size))

    def iotlb_sync(self) -> int:
        """``iommu_iotlb_sync`` on the implementation's own gather (after ``unmap_fast``)."""
        self.gather.flush()
        self.counters.syncs += 1
        return 0

    # -- iommu_map --------------------------------------------------------------------
    def map(self, iova: int, paddr: int, size: int, prot: int) -> int:
        if self.whole_range:
            ret = self._map_whole_range(iova, paddr, size, prot)
        elif (iova | paddr | size) & (self.min_pagesz - 1):
            return -EINVAL
        elif size == 0:
            return self.semantics.map_zero_size
        else:
            ret = self._map_range(iova, paddr, size, prot)
        if ret == 0 and self.sync_on_map:
            self.sync_map(iova, size)
        return ret

    def sync_map(self, iova: int, size: int) -> None:
        """``ops->iotlb_sync_map`` after a successful map (iommu.c iommu_map / iommu_map_sg)."""
        self._invalidate_range(iova, size)

    def _map_range(self, iova, paddr, size, prot) -> int:
        """``__iommu_map``'s loop: no range or prot check of its own; each driver call judges itself.

        iova and paddr are unsigned long / phys_addr_t in Linux: they wrap at 2^64.
        """
        mapped = 0
        while mapped < size:
            at, pa = (iova + mapped) & MASK64, (paddr + mapped) & MASK64
            pg, count = self.next_pages(at, pa, size - mapped)
            ret, done = self.driver.map_pages(at, pa, pg, count, prot)
            if not ret and not done:
                # Linux's loop would spin forever here; a tester must not.
                raise DriverError(f"{type(self.driver).__name__}.map_pages({at:#x}, {pa:#x}, "
                                  f"{pg:#x}, {count}) returned 0 but mapped nothing: the core "
                                  f"cannot make progress (iommu.c __iommu_map would loop forever)")
            mapped += done
            if ret:
                self.rollback(iova, mapped)
                return ret
            self.after_driver_map(at, done)
        return 0

    def _map_whole_range(self, iova, paddr, size, prot) -> int:
        """v7.1 ``iommu_map_nosync`` for an iommupt domain: one ``map_range`` call, no alignment
        check of its own, then ``iommu_unmap`` of exactly the bytes it reports as mapped."""
        ret, mapped = self.driver.map_range(iova, paddr, size, prot)
        if ret:
            self.rollback(iova, mapped)
        return ret

    def rollback(self, iova: int, mapped: int) -> None:
        """Unmap what a failed map had mapped (``iommu_unmap(domain, orig_iova, mapped)``)."""
        if mapped:
            self.unmap(iova, mapped)

    # -- iommu_unmap ------------------------------------------------------------------
    def unmap(self, iova: int, size: int) -> int:
        gather = self.new_gather()
        unmapped = self._unmap(iova, size, gather)
        gather.flush()
        self.counters.syncs += 1
        return unmapped

    def unmap_fast(self, iova: int, size: int) -> int:
        """``iommu_unmap_fast``: unmap into the domain's gather; ``iotlb_sync`` flushes it."""
        return self._unmap(iova, size, self.gather)

    def _unmap(self, iova, size, gather) -> int:
        if self.whole_range:  # v7.1: one unmap_range call, no alignment check, no loop
            return self.driver.unmap_range(iova, size, gather)
        if (iova | size) & (self.min_pagesz - 1):
            return 0
        unmapped = 0
        while unmapped < size:
            at = (iova + unmapped) & MASK64  # unsigned long: wraps as Linux's does
            pg, count = self.next_pages(at, at, size - unmapped)
            done = self.driver.unmap_pages(at, pg, count, gather)
            self.after_driver_unmap(gather)
            if not done:
                break
            unmapped += done
        return unmapped

    # -- iommu_map_sg -----------------------------------------------------------------
    def map_sg(self, iova: int, sg, prot: int) -> int:
        """v4.17+ ``__iommu_map_sg``: map physically contiguous runs of entries."""
        entries = list(sg)
        if not entries:
            return 0
        mapped = run_len = run_start = 0
        last = len(entries) - 1
        for i in range(len(entries) + 1):
            paddr, offset, length = entries[min(i, last)]
            phys = paddr + offset
            if run_len and phys != run_start + run_len:
                ret = self._map_run(iova + mapped, run_start, run_len, prot)
                if ret:
                    return self.map_sg_failed(iova, mapped, ret)
                mapped += run_len
                run_len = 0
            if run_len:
                run_len += length
            else:
                run_start, run_len = phys, length
        if mapped and self.sync_on_map:
            self.sync_map(iova, mapped)
        return mapped

    def map_sg_failed(self, iova: int, mapped: int, ret: int) -> int:
        """Undo a failed map_sg; it returns -errno since v5.15, size_t 0 before (spec MAP_SG_ROLLBACK)."""
        if mapped:
            self.unmap(iova, mapped)
        return ret if get_core(self.core).map_sg_errno else 0

    def _map_run(self, iova, paddr, size, prot) -> int:
        if self.whole_range:
            return self._map_whole_range(iova, paddr, size, prot)
        if (iova | paddr | size) & (self.min_pagesz - 1):
            return -EINVAL
        return self._map_range(iova, paddr, size, prot)

    # -- driver level and state -------------------------------------------------------
    def map_pages(self, iova, paddr, pgsize, pgcount, prot) -> tuple[int, int]:
        return self.driver.map_pages(iova, paddr, pgsize, pgcount, prot)

    def unmap_pages(self, iova, pgsize, pgcount) -> int:
        return self.driver.unmap_pages(iova, pgsize, pgcount, self.gather)

    def iova_to_phys(self, iova: int) -> int:
        return self.driver.iova_to_phys(iova)

    def leaves(self, iova: int | None = None, end: int | None = None) -> list[tuple[int, int, int, int, int]]:
        """The page-table leaves ``(iova, paddr, pgsize, count, prot)``; with ``iova`` and ``end``
        (bytes, end exclusive) at least those intersecting [iova, end)."""
        return self.driver.leaves(iova, end)

    def fail_alloc(self, after: int) -> int:
        """The (after+1)-th page-table page allocation from now on fails with -ENOMEM, once."""
        self.driver.fail_alloc(after)
        return 0

    def domain_free(self) -> int:
        """Free the domain; returns the page-table pages still allocated (must be 0)."""
        free = getattr(self.driver, "free", None)
        return free() if free else 0
