"""``generic_pt``: a generic_pt-style table in the x86-64 format (Intel VT-d first stage, AMD v2).

A 4-level radix table of 512-entry tables of 64-bit entries, walked the way
drivers/iommu/generic_pt/iommu_pt.h walks it, with the entry format of
drivers/iommu/generic_pt/fmt/x86_64.h.  Levels are numbered as generic_pt
numbers them: level 0 holds 4K leaves, level 1 2M leaves or tables, level 2
1G leaves or tables, level 3 is the top (the 48-bit address space).

Entry format (``x86_64_pt_install_table`` / ``x86_64_pt_install_leaf_entry``):
bit 0 P (present); bit 1 RW; bit 2 U; bit 5 A; bit 6 D; bit 7 PS (a leaf at
levels 1 and 2; without it a present entry there is a table); the output
address in bits[51:12].  A table entry is ``P | RW | U | A | table``; a leaf
``P | U | A | D | (RW if IOMMU_WRITE) | (PS above level 0) | oa``
(``x86_64_pt_iommu_set_prot``).  The format has no read-only, no-execute,
cache or privilege bits for the API's other prot flags, so the prot the
caller passed is also kept in bits[57:52], which the hardware ignores; only
``leaves()`` reads them.

Behaviour (semantics generic-pt):

* map (``__map_range`` / ``__map_range_leaf``): empty entries on the way get
  new tables; a leaf on the way, or any leaf under a new leaf, is -EADDRINUSE
  and the pages already written stay (the core rolls them back); tables with
  no leaf in them under a new leaf are freed (``clear_contig``).
* unmap (``__unmap_range``): a range that starts inside a leaf unmaps nothing
  (-EINVAL inside, 0 bytes); a leaf the range reaches is cleared whole and
  counted whole, even past the range's end; an empty entry ends the walk;
  a table the range covers entirely is freed once everything under it was
  cleared.  Tables that become empty otherwise stay, as in Linux, until a
  leaf is mapped over them or the domain is freed; the walk treats them as
  holes, so they change nothing a caller can see.
"""

from spec import IOMMU_WRITE, SpecUsageError, get_profile, pgsize_and_count
from spec.errors import EADDRINUSE, EINVAL, ENOMEM, ERANGE

from .core import Core
from .driver_args import map_args_ok, pages_ok
from .map_range import RangeOps
from .tables import TableLifetime, TableMemory, slots

SZ_4K, SZ_2M, SZ_1G = 1 << 12, 1 << 21, 1 << 30
GPT_PGSIZES = SZ_4K | SZ_2M | SZ_1G

# fmt/x86_64.h
X86_64_FMT_P = 1 << 0
X86_64_FMT_RW = 1 << 1
X86_64_FMT_U = 1 << 2
X86_64_FMT_A = 1 << 5
X86_64_FMT_D = 1 << 6
X86_64_FMT_PS = 1 << 7
X86_64_FMT_OA = ((1 << 52) - 1) & ~(SZ_4K - 1)      # bits[51:12]
#: Ours: the caller's IOMMU prot, in bits the hardware ignores.
SW_PROT_SHIFT = 52
SW_PROT_MASK = 0x3F << SW_PROT_SHIFT

TOP_LEVEL = 3           # 4 levels: 48-bit IOVAs
ITEMS_LG2 = 9           # 512 entries per table
TABLE_BASE = 1 << 30    # where table pages live in the simulated physical memory


def item_shift(level: int) -> int:
    """log2 of the bytes one entry at ``level`` covers (``pt_table_item_lg2sz``)."""
    return 12 + ITEMS_LG2 * level


def entry_index(va: int, level: int) -> int:
    return (va >> item_shift(level)) & ((1 << ITEMS_LG2) - 1)


def is_leaf(pte: int, level: int) -> bool:
    """A present entry is a leaf (an OA entry) at level 0, or above it when PS is set."""
    return level == 0 or bool(pte & X86_64_FMT_PS)


def leaf_entry(oa: int, level: int, attrs: int) -> int:
    """``x86_64_pt_install_leaf_entry``."""
    return X86_64_FMT_P | (oa & X86_64_FMT_OA) | attrs | (X86_64_FMT_PS if level else 0)


def table_entry(table_pa: int) -> int:
    """``x86_64_pt_install_table``."""
    return X86_64_FMT_P | X86_64_FMT_RW | X86_64_FMT_U | X86_64_FMT_A | table_pa


def set_prot(prot: int) -> int:
    """``x86_64_pt_iommu_set_prot``: the leaf attribute bits, plus our copy of prot."""
    attrs = X86_64_FMT_U | X86_64_FMT_A | X86_64_FMT_D
    if prot & IOMMU_WRITE:
        attrs |= X86_64_FMT_RW
    return attrs | prot << SW_PROT_SHIFT


def gpt_unsupported(profile) -> str | None:
    """Why a 4-level x86-64 table cannot serve ``profile``, or None."""
    if not profile.pgsize_bitmap & SZ_4K or profile.pgsize_bitmap & ~GPT_PGSIZES:
        return f"pgsize_bitmap {profile.pgsize_bitmap:#x} is not 4K plus some of 2M, 1G"
    if profile.ias > 48 or profile.oas > 52:
        return f"ias/oas {profile.ias}/{profile.oas} exceed a 4-level x86-64 table's 48/52 bits"
    return None


class _MapArgs:
    """``struct pt_iommu_map_args``: what one map_pages call is writing, and how far it got."""

    __slots__ = ("oa", "leaf_level", "attrs")

    def __init__(self, oa: int, leaf_level: int, attrs: int) -> None:
        self.oa, self.leaf_level, self.attrs = oa, leaf_level, attrs


class GenericPtDriver(RangeOps, TableLifetime):
    """The iommupt map/unmap walks over an x86-64 format table (also ``map_range`` /
    ``unmap_range``, :mod:`impls.map_range`, for the v7.1 core)."""

    def __init__(self, impl) -> None:
        self.impl = impl
        self.counters = impl.counters
        self.bitmap = impl.pgsize_bitmap
        self.ias, self.oas = impl.profile.ias, impl.profile.oas
        self.mem = TableMemory(self.counters, TABLE_BASE, SZ_4K)
        self.root = self.mem.alloc(1 << ITEMS_LG2)

    # -- primitives -----------------------------------------------------------------
    def _write(self, table: list[int], idx: int, value: int) -> None:
        table[idx] = value
        self.counters.pte_writes += 1

    def _has_leaf(self, pa: int, level: int) -> bool:
        """``__collect_tables`` with check_mapped: is any leaf present below this table?"""
        for pte in self.mem.pages[pa]:
            if pte and (is_leaf(pte, level) or self._has_leaf(pte & X86_64_FMT_OA, level - 1)):
                return True
        return False

    def _free_tree(self, pa: int, level: int) -> None:
        """Free a table and every table below it."""
        if level:
            for pte in self.mem.pages[pa]:
                if pte and not is_leaf(pte, level):
                    self._free_tree(pte & X86_64_FMT_OA, level - 1)
        self.mem.free(pa)

    # -- map ------------------------------------------------------------------------
    def map_pages(self, iova, paddr, pgsize, pgcount, prot) -> tuple[int, int]:
        """iommupt ``map_pages``: returns ``(ret, mapped)``; mapped counts what was written."""
        self.counters.driver_calls += 1
        if not map_args_ok(self.bitmap, iova, paddr, pgsize, pgcount, prot):
            return -EINVAL, 0
        end = iova + pgsize * pgcount
        if end > 1 << self.ias or paddr + pgsize * pgcount > 1 << self.oas:
            return -ERANGE, 0
        return self.write_leaves(iova, paddr, pgsize, pgcount, prot)

    def write_leaves(self, iova, paddr, pgsize, pgcount, prot) -> tuple[int, int]:
        """One batch of leaves, arguments checked (``do_map`` from the top)."""
        args = _MapArgs(paddr, (pgsize.bit_length() - 13) // ITEMS_LG2, set_prot(prot))
        ret = self._map_range(self.root, TOP_LEVEL, iova, iova + pgsize * pgcount, args)
        return ret, args.oa - paddr

    def _map_range(self, table_pa, level, va, end, args) -> int:
        """``__map_range`` above the leaf level, ``__map_range_leaf`` at it."""
        table = self.mem.pages[table_pa]
        item = 1 << item_shift(level)
        idx = entry_index(va, level)
        while va < end:
            pte = table[idx]
            if level == args.leaf_level:
                if pte:
                    ret = self._clear_contig(table, idx, level, va)
                    if ret:
                        return ret
                self._write(table, idx, leaf_entry(args.oa, level, args.attrs))
                args.oa += item
            else:
                if not pte:
                    child = self.mem.alloc(1 << ITEMS_LG2)
                    if child is None:
                        return -ENOMEM
                    self._write(table, idx, table_entry(child))
                elif is_leaf(pte, level):
                    return -EADDRINUSE
                else:
                    child = pte & X86_64_FMT_OA
                ret = self._map_range(child, level - 1, va, min(end, (va | (item - 1)) + 1), args)
                if ret:
                    return ret
            va = (va | (item - 1)) + 1
            idx += 1
        return 0

    def _clear_contig(self, table, idx, level, va) -> int:
        """``clear_contig``: a leaf where the new leaf goes is -EADDRINUSE; a table with no leaf is freed."""
        pte = table[idx]
        if is_leaf(pte, level) or self._has_leaf(pte & X86_64_FMT_OA, level - 1):
            return -EADDRINUSE
        self._write(table, idx, 0)
        self._free_tree(pte & X86_64_FMT_OA, level - 1)
        self.impl.issue_invalidation(("range", va, 1 << item_shift(level)))  # walk caches
        return 0

    # -- unmap ----------------------------------------------------------------------
    def unmap_pages(self, iova, pgsize, pgcount, gather) -> int:
        """iommupt ``unmap_pages``: unmap [iova, iova + pgsize*pgcount); returns the bytes cleared."""
        self.counters.driver_calls += 1
        if not pages_ok(self.bitmap, iova, 0, pgsize, pgcount):
            return 0
        last = iova + pgsize * pgcount - 1
        if last >> self.ias:
            return 0  # make_range / pt_check_range: -ERANGE, nothing unmapped
        return self.clear_range(iova, last + 1 - iova, gather)

    def clear_range(self, iova, size, gather) -> int:
        """``__unmap_range`` over [iova, iova + size) from the top; the cleared bytes go to gather."""
        unmapped = [0]
        self._unmap_range(self.root, TOP_LEVEL, iova, iova + size - 1, unmapped, True)
        if unmapped[0]:
            gather.add_range(iova, unmapped[0])
        return unmapped[0]

    def _unmap_range(self, table_pa, level, va, last, unmapped, first) -> bool:
        """``__unmap_range``: clear [va, last] in this table; False when the walk must stop."""
        table = self.mem.pages[table_pa]
        shift = item_shift(level)
        item = 1 << shift
        idx = entry_index(va, level)
        pte = table[idx]
        if first and pte and is_leaf(pte, level) and va & (item - 1):
            return False  # the range starts inside a leaf: -EINVAL, nothing unmapped
        while True:
            if not pte:
                return False  # an empty entry ends the walk (-EINVAL)
            start = va & ~(item - 1)
            if is_leaf(pte, level):
                self._write(table, idx, 0)  # the whole leaf, even past last
                unmapped[0] += item
            else:
                child = pte & X86_64_FMT_OA
                covered = va == start and last >= start + item - 1
                if not self._unmap_range(child, level - 1, va, min(last, start + item - 1),
                                         unmapped, first):
                    return False
                if covered:  # the range covered the whole table: free it too
                    self._write(table, idx, 0)
                    self._free_tree(child, level - 1)
            first = False
            va = start + item
            idx += 1
            if va > last or idx >> ITEMS_LG2:
                return True
            pte = table[idx]

    # -- walks ----------------------------------------------------------------------
    def iova_to_phys(self, iova: int) -> int:
        if iova >> self.ias:
            return -ERANGE & ((1 << 64) - 1)  # make_range's errno, returned as the address
        level, table = TOP_LEVEL, self.mem.pages[self.root]
        while True:
            pte = table[entry_index(iova, level)]
            if not pte:
                return 0
            if is_leaf(pte, level):
                return (pte & X86_64_FMT_OA) | (iova & ((1 << item_shift(level)) - 1))
            table = self.mem.pages[pte & X86_64_FMT_OA]
            level -= 1

    def leaves(self, iova: int | None = None, end: int | None = None) -> list[tuple[int, int, int, int, int]]:
        """The leaves, or with ``iova`` and ``end`` those intersecting [iova, end)."""
        out: list[tuple[int, int, int, int, int]] = []
        self._collect(self.root, TOP_LEVEL, 0, out, iova, end)
        return out

    def _collect(self, pa, level, base, out, start, end) -> None:
        shift = item_shift(level)
        table = self.mem.pages[pa]
        for i in slots(base, shift, len(table), start, end):
            pte = table[i]
            if not pte:
                continue
            va = base + (i << shift)
            if is_leaf(pte, level):
                out.append((va, pte & X86_64_FMT_OA, 1 << shift, 1,
                            (pte & SW_PROT_MASK) >> SW_PROT_SHIFT))
            else:
                self._collect(pte & X86_64_FMT_OA, level - 1, va, out, start, end)

    # -- lifetime (fail_alloc and free: impls.tables.TableLifetime) ------------------
    def free_root(self, root: int) -> None:
        """Free every table, the top one included."""
        self._free_tree(root, TOP_LEVEL)


class GenericPt(Core):
    """The iommu.c core with batched ``(pgsize, pgcount)`` calls over an x86-64 generic_pt table."""

    name = "generic_pt"
    driver_class = GenericPtDriver
    semantics_name = "generic-pt"

    def __init__(self, profile, semantics=None) -> None:
        p = get_profile(profile) if isinstance(profile, str) else profile
        why = gpt_unsupported(p)
        if why:
            raise SpecUsageError(f"{self.name} cannot serve profile {p.name}: {why}")
        super().__init__(p, semantics)
        if self.semantics.name != "generic-pt":
            raise SpecUsageError(f"{self.name} implements semantics generic-pt, "
                                 f"not {self.semantics.name}")

    @classmethod
    def supports(cls, profile) -> bool:
        """True for profiles whose hardware uses this format today (intel-vtd, amd-v2)."""
        p = get_profile(profile) if isinstance(profile, str) else profile
        return gpt_unsupported(p) is None and p.default_semantics == "generic-pt"

    def next_pages(self, iova, paddr, size):
        return pgsize_and_count(self.pgsize_bitmap, iova, paddr, size)


class GenericPtRange(GenericPt):
    """The v7.1 core over the same table: one ``map_range`` / ``unmap_range`` call per request."""

    name = "generic_pt-map_range"
    core = "map_range"
    #: map_range checks only the start paddr against the OA size; the x86-64 format's
    #: FIELD_PREP of the output address then drops bits past 51, as Linux's does (PADDR_PAST_OAS).
    known_findings = frozenset({"paddr-past-oas"})
