"""A table-less driver: one sorted dictionary entry per leaf.

This is the driver under the ``pagewise``, ``pgsize``, ``sg_per_entry`` and
``map_pages`` cores.  On a flat store it honours generic_pt's driver-level
contract (which errno a map over a live leaf gets, what an unmap of part of
a leaf does, the range check of an unmap), so the cores above it can be
checked against the model.

Under a variant whose tables outlive their leaves (``Semantics.tables``:
io-pgtable-arm, v7s, DART, VT-d's own table), and under the tables inside
drivers (rockchip, exynos, sun50i, tegra-smmu, sprd, s390, omap: one page per
call, holes counted, PTEs overwritten), what a driver call does is not
generic_pt's contract, so there
the driver is the model's own driver level
(``spec.ReferenceDomain.map_pages`` / ``unmap_pages``): those four
implementations exist to check the core loops, and the real table drivers
(``lpae``, and Linux's own code through the kernel harness) check the tables.
"""

from sortedcontainers import SortedDict

from spec import ReferenceDomain
from spec.errors import EINVAL, ERANGE

from .driver_args import map_args_ok, pages_ok


class FlatDriver:
    """Leaves kept as ``iova -> (pgsize, paddr, prot)``; every set or clear is one PTE write."""

    @staticmethod
    def holds(sem) -> bool:
        """True for the variants this driver states: generic_pt's contract, or the model's
        driver level (a table format, a table inside a driver); not the AMD tables'
        replace-on-map."""
        return sem.map_over_live != "replace"

    @staticmethod
    def own_contract(sem) -> bool:
        """True where this flat store states the variant itself: generic_pt's contract (no
        table format, fail over live leaves, one leaf per page, every page of a call, prot
        and range checked, holes end an unmap)."""
        return (not sem.tables and sem.map_over_live == "fail" and sem.pages_per_call == "all"
                and sem.prot_checked and not sem.pte_size and sem.hole_unmap == "stop"
                and not sem.iova_bits and sem.map_fail_keeps)

    def __init__(self, impl) -> None:
        self.impl = impl
        self.sem = impl.semantics
        self.bitmap = impl.pgsize_bitmap
        self.min_page = self.bitmap & -self.bitmap
        self.ias, self.oas = impl.profile.ias, impl.profile.oas
        self.entries = SortedDict()
        #: The model's driver level, under variants with a table format or a table inside a
        #: driver (see the module doc).
        self.model = (None if self.own_contract(self.sem)
                      else ReferenceDomain(impl.profile, self.sem, pgsize_bitmap=self.bitmap))
        if self.model is not None:
            self.map_pages, self.unmap_pages = self._model_map_pages, self._model_unmap_pages
            self.iova_to_phys, self.leaves = self.model.iova_to_phys, self.model.leaves
            self.tables = self.model.table_listing
            if self.model.predicts_alloc:  # the model knows the tables (a table format)
                self.fail_alloc = self.model.fail_alloc

    # -- the model's driver level (variants with a table format) -------------------
    def _model_map_pages(self, iova, paddr, pgsize, pgcount, prot) -> tuple[int, int]:
        self.impl.counters.driver_calls += 1
        ret, mapped = self.model.map_pages(iova, paddr, pgsize, pgcount, prot)
        self.impl.counters.pte_writes += mapped // pgsize if pgsize else 0
        if {"MAP_REPLACE_TABLE", "MAP_SUPERPAGE_REPLACES"} & set(self.model.decided):
            # freed tables' walks (and a replaced superpage) may be cached: flushed at once
            self.impl.issue_invalidation(("range", iova, pgsize * pgcount))
        if "MAP_OVERWRITE" in self.model.decided:  # tegra_smmu_set_pte flushes each PTE write
            self.impl.issue_invalidation(("range", iova, mapped))
        return ret, mapped

    def _model_unmap_pages(self, iova, pgsize, pgcount, gather) -> int:
        self.impl.counters.driver_calls += 1
        if self.sem.partial_unmap == "whole_any":  # the leaves cleared may start before iova
            big = 1 << (self.bitmap.bit_length() - 1)
            lo, hi = iova - iova % big, iova + pgsize * pgcount + big
            before = set(self.model.leaves(lo, hi))
        elif self.model.tree is not None:  # virtio: the device's mappings the UNMAP removed
            lo, hi = 0, 1 << 64
            before = set(self.model.leaves())
        unmapped = self.model.unmap_pages(iova, pgsize, pgcount)
        if self.sem.partial_unmap == "whole_any" or self.model.tree is not None:
            for run in sorted(before - set(self.model.leaves(lo, hi))):
                self.impl.counters.pte_writes += run.count
                self.gather_leaf(gather, run.iova, run.pgsize * run.count)
            return unmapped
        for at in range(iova, iova + unmapped, pgsize or 1):
            self.impl.counters.pte_writes += 1
            self.gather_leaf(gather, at, pgsize)
        return unmapped

    # -- helpers ----------------------------------------------------------------
    def _overlap(self, start: int, end: int) -> list[int]:
        if end <= start:
            return []
        e = self.entries
        i = max(e.bisect_right(start) - 1, 0)
        out = []
        for key in e.islice(i):
            if key >= end:
                break
            if key + e[key][0] > start:
                out.append(key)
        return out

    def _set(self, iova, pgsize, paddr, prot) -> None:
        self.entries[iova] = (pgsize, paddr, prot)
        self.impl.counters.pte_writes += 1

    def _clear(self, iova) -> int:
        pgsize = self.entries.pop(iova)[0]
        self.impl.counters.pte_writes += 1
        return pgsize

    # -- driver operations ------------------------------------------------------
    def map_pages(self, iova, paddr, pgsize, pgcount, prot) -> tuple[int, int]:
        self.impl.counters.driver_calls += 1
        if not map_args_ok(self.bitmap, iova, paddr, pgsize, pgcount, prot):
            return -EINVAL, 0
        if iova + pgsize * pgcount > 1 << self.ias or paddr + pgsize * pgcount > 1 << self.oas:
            return -ERANGE, 0
        return self.write_leaves(iova, paddr, pgsize, pgcount, prot)

    def write_leaves(self, iova, paddr, pgsize, pgcount, prot) -> tuple[int, int]:
        """The batch's leaves up to the first live one (arguments checked)."""
        conflict = next((k for k in range(pgcount)
                         if self._overlap(iova + k * pgsize, iova + (k + 1) * pgsize)), pgcount)
        for k in range(conflict):
            self._set(iova + k * pgsize, pgsize, paddr + k * pgsize, prot)
        if conflict < pgcount:
            return -self.sem.exists_errno, conflict * pgsize
        return 0, pgcount * pgsize

    def unmap_pages(self, iova, pgsize, pgcount, gather) -> int:
        self.impl.counters.driver_calls += 1
        if not pages_ok(self.bitmap, iova, 0, pgsize, pgcount):
            return 0
        end = iova + pgsize * pgcount
        if self.sem.unmap_range_checked and end > 1 << self.ias:
            return 0  # generic_pt's make_range rejects a range past the address space
        return self._unmap_leaves(iova, end, gather)

    def _remove(self, key, gather) -> int:
        size = self._clear(key)
        self.gather_leaf(gather, key, size)
        return size

    def gather_leaf(self, gather, iova: int, size: int) -> None:
        """Queue the invalidation of a cleared leaf (default: grow one range)."""
        gather.add_range(iova, size)

    def _split(self, key, lo, hi, gather) -> int:
        """Unmap [lo, hi) from the leaf at key: generic_pt removes it whole from its base, else nothing."""
        if self.sem.partial_unmap == "whole" and lo == key:
            return self._remove(key, gather)
        return 0

    def _unmap_leaves(self, iova, end, gather) -> int:
        at = iova
        while at < end:
            keys = self._overlap(at, at + 1)
            if not keys:
                break
            key = keys[0]
            size = self.entries[key][0]
            if key != at or key + size > end:
                got = self._split(key, at, min(end, key + size), gather)
                if not got:
                    break
                at += got
                if key + size > end:
                    break
                continue
            at += self._remove(key, gather)
        return at - iova

    def iova_to_phys(self, iova: int) -> int:
        if self.sem.iova_to_phys_errno and iova >> self.ias:
            return -ERANGE & ((1 << 64) - 1)  # generic_pt: make_range's errno as the address
        keys = self._overlap(iova, iova + 1)
        if not keys:
            return 0
        _, paddr, _ = self.entries[keys[0]]
        return paddr + (iova - keys[0])

    def leaves(self, iova: int | None = None, end: int | None = None) -> list[tuple[int, int, int, int, int]]:
        """Every leaf, or with ``iova`` and ``end`` those intersecting [iova, end) (O(log n + k))."""
        keys = self.entries.keys() if iova is None else self._overlap(iova, end)
        entries = self.entries
        return [(key, entries[key][1], entries[key][0], 1, entries[key][2]) for key in keys]
