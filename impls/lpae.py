"""``lpae`` / ``lpae-split``: an ARM LPAE (VMSAv8-64 stage 1) radix page table under the core.

The table is the real data structure: pages of 64-bit descriptors (Python
lists of ints) that refer to each other by physical address, walked from a
top-level table (the pgd) down to the leaves.  It follows
drivers/iommu/io-pgtable-arm.c:

* geometry -- ``arm_lpae_alloc_pgtable``: the granule is the smallest page
  size; each level resolves ``granule_shift - 3`` bits; the number of levels is
  ``ceil((ias - granule_shift) / bits_per_level)`` and the pgd resolves what is
  left over, so it may be smaller than a full table (2 entries for 16K/48-bit);
* descriptors -- ``arm_lpae_prot_to_pte``, ``__arm_lpae_init_pte``,
  ``arm_lpae_install_table``: bit 0 valid; bits[1:0] = 0b11 a table at levels
  0-2 but a page at level 3, 0b01 a block; the output address in bits[47:12]
  (PA[51:48] in bits[15:12] with the 64K granule); AF, SH, AttrIndx, AP, nG and
  XN as a stage-1 table sets them;
* map -- ``arm_lpae_map_pages`` / ``__arm_lpae_map`` / ``arm_lpae_init_pte``;
* unmap -- ``arm_lpae_unmap_pages`` / ``__arm_lpae_unmap``, and
  ``arm_lpae_split_blk_unmap`` for the v6.13 variant;
* ``arm_lpae_iova_to_phys`` (a table walk) and ``arm_lpae_free_pgtable``.

Tables outlive their last leaf, as in Linux (spec rule TABLE_LIFETIME): an
emptied table stays until its entry is cleared by an unmap of the entry's
size, replaced by a block, or the domain is freed; ``tables()`` lists them.

Two departures from Linux's descriptors:

* the output address is kept in bits[50:12] for every granule.  Linux's
  ``paddr_to_iopte`` folds PA[51:48] into bits[15:12], which are address
  bits under a 4K or 16K granule, so a call whose physical range crosses
  2^oas (accepted: only its start is checked) writes a leaf that translates
  elsewhere -- a Linux defect the tester names PADDR_PAST_OAS.  This table
  states the mapping it was asked for instead.
* stage 1 has no write-only permission: a map with IOMMU_WRITE but not
  IOMMU_READ is read-write in hardware, as in Linux, and software bit 56
  (``PTE_SW_NOREAD``; bits 58:55 are reserved for software) remembers that
  IOMMU_READ was not asked for, so ``leaves()`` reports the prot the caller
  passed.

Table pages come from :class:`impls.tables.TableMemory`, which the other
table drivers (``generic_pt``, ``amd_v1``) share.
"""

from dataclasses import dataclass

from spec import (IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE,
                  SpecUsageError, get_profile, pgsize_and_count)
from spec.errors import EEXIST, EINVAL, ENOMEM, ERANGE

from .core import Core
from .tables import TableLifetime, TableMemory, slots
from .driver_args import map_args_ok, pages_ok

SZ_4K, SZ_16K, SZ_64K = 1 << 12, 1 << 14, 1 << 16


# ---------------------------------------------------------------------------
# The LPAE descriptor format (io-pgtable-arm.c's ARM_LPAE_PTE_* macros)
# ---------------------------------------------------------------------------

ARM_LPAE_MAX_LEVELS = 4
PTE_TYPE_MASK = 0x3
PTE_TYPE_BLOCK = 0x1          # levels 0-2: a block (valid, bit 1 clear)
PTE_TYPE_TABLE = 0x3          # levels 0-2: a table
PTE_TYPE_PAGE = 0x3           # level 3: a page
PTE_AP_UNPRIV = 1 << 6        # AP[1]: EL0 (unprivileged) access
PTE_AP_RDONLY = 1 << 7        # AP[2]: read-only
PTE_SH_OS = 2 << 8
PTE_SH_IS = 3 << 8
PTE_SH_MASK = 3 << 8
PTE_AF = 1 << 10
PTE_nG = 1 << 11
PTE_XN = 3 << 53              # UXN | PXN
PTE_SW_NOREAD = 1 << 56       # ours, in the software bits: IOMMU_READ was not asked for
ATTRINDX_SHIFT = 2
ATTRINDX_MASK = 7 << ATTRINDX_SHIFT
MAIR_ATTR_IDX_NC, MAIR_ATTR_IDX_CACHE, MAIR_ATTR_IDX_DEV = 0, 1, 2
PTE_ADDR_MASK = ((1 << 51) - 1) & ~((1 << 12) - 1)       # bits[50:12] (see the module doc)
#: What a split copies from the block into its new entries (iopte_prot): the
#: attribute bits[11:2], XN, and our software bit.
PTE_ATTR_MASK = (0x3FF << 2) | PTE_XN | PTE_SW_NOREAD


def prot_to_pte(prot: int) -> int:
    """The attribute bits of a leaf for an IOMMU prot (``arm_lpae_prot_to_pte``, stage 1)."""
    pte = PTE_nG | PTE_AF
    if prot & IOMMU_READ and not prot & IOMMU_WRITE:
        pte |= PTE_AP_RDONLY
    if not prot & IOMMU_READ:
        pte |= PTE_SW_NOREAD
    if not prot & IOMMU_PRIV:
        pte |= PTE_AP_UNPRIV
    if prot & IOMMU_MMIO:
        pte |= MAIR_ATTR_IDX_DEV << ATTRINDX_SHIFT
    elif prot & IOMMU_CACHE:
        pte |= MAIR_ATTR_IDX_CACHE << ATTRINDX_SHIFT
    pte |= PTE_SH_IS if prot & IOMMU_CACHE else PTE_SH_OS
    if prot & IOMMU_NOEXEC:
        pte |= PTE_XN
    return pte


def pte_to_prot(pte: int) -> int:
    """The IOMMU prot a leaf was mapped with: the inverse of :func:`prot_to_pte`."""
    if pte & PTE_AP_RDONLY:
        prot = IOMMU_READ
    else:
        prot = IOMMU_WRITE | (0 if pte & PTE_SW_NOREAD else IOMMU_READ)
    if pte & PTE_SH_MASK == PTE_SH_IS:
        prot |= IOMMU_CACHE
    if pte & ATTRINDX_MASK == MAIR_ATTR_IDX_DEV << ATTRINDX_SHIFT:
        prot |= IOMMU_MMIO
    if pte & PTE_XN:
        prot |= IOMMU_NOEXEC
    if not pte & PTE_AP_UNPRIV:
        prot |= IOMMU_PRIV
    return prot


def paddr_to_pte(paddr: int) -> int:
    """The output-address field: PA[50:12] in place (Linux's ``paddr_to_iopte`` folds PA[51:48] into bits[15:12])."""
    return paddr & PTE_ADDR_MASK


def iopte_is_leaf(pte: int, lvl: int) -> bool:
    """``iopte_leaf``: a page at the last level, a block above it."""
    if lvl == ARM_LPAE_MAX_LEVELS - 1:
        return pte & PTE_TYPE_MASK == PTE_TYPE_PAGE
    return pte & PTE_TYPE_MASK == PTE_TYPE_BLOCK


@dataclass(frozen=True)
class LpaeGeometry:
    """Levels and table sizes of one LPAE table, as ``arm_lpae_alloc_pgtable`` computes them."""

    granule_shift: int
    bits_per_level: int
    levels: int
    start_level: int
    pgd_bits: int

    def shift(self, lvl: int) -> int:
        """``ARM_LPAE_LVL_SHIFT``: log2 of the size one entry at ``lvl`` maps."""
        return self.granule_shift + (ARM_LPAE_MAX_LEVELS - 1 - lvl) * self.bits_per_level

    def block_size(self, lvl: int) -> int:
        """``ARM_LPAE_BLOCK_SIZE``: the bytes one entry at ``lvl`` maps."""
        return 1 << self.shift(lvl)

    def entries(self, lvl: int) -> int:
        """Entries in a table at ``lvl`` (the pgd may have fewer)."""
        return 1 << (self.pgd_bits if lvl == self.start_level else self.bits_per_level)

    def index(self, iova: int, lvl: int) -> int:
        """``ARM_LPAE_LVL_IDX``: the entry of ``iova`` in its table at ``lvl``."""
        return (iova >> self.shift(lvl)) & (self.entries(lvl) - 1)

    def pte_to_paddr(self, pte: int) -> int:
        """The output address of a descriptor (see :func:`paddr_to_pte`)."""
        return pte & PTE_ADDR_MASK


def lpae_geometry(granule: int, ias: int) -> LpaeGeometry:
    """Levels for a granule and input address size (``arm_lpae_alloc_pgtable``).

    4K/48 bits: 4 levels (0-3), a 512-entry pgd; 16K/48: 4 levels, a 2-entry
    pgd; 64K/48: 3 levels (1-3), a 64-entry pgd.
    """
    granule_shift = granule.bit_length() - 1
    bits_per_level = granule_shift - 3  # 8-byte descriptors
    va_bits = ias - granule_shift
    levels = -(-va_bits // bits_per_level)
    pgd_bits = va_bits - bits_per_level * (levels - 1)
    return LpaeGeometry(granule_shift, bits_per_level, levels,
                        ARM_LPAE_MAX_LEVELS - levels, pgd_bits)


#: ``arm_lpae_restrict_pgsizes``: the page sizes each granule offers.
LPAE_PGSIZES = {SZ_4K: SZ_4K | (1 << 21) | (1 << 30),
                SZ_16K: SZ_16K | (1 << 25),
                SZ_64K: SZ_64K | (1 << 29)}

#: Where table pages live in the simulated physical memory.
TABLE_BASE = 1 << 30


def lpae_unsupported(profile) -> str | None:
    """Why an LPAE table cannot serve ``profile``'s page sizes and address sizes, or None."""
    bitmap = profile.pgsize_bitmap
    granule = bitmap & -bitmap
    if granule not in LPAE_PGSIZES:
        return f"smallest page {granule:#x} is not an LPAE granule (4K, 16K or 64K)"
    if bitmap & ~LPAE_PGSIZES[granule]:
        return (f"pgsize_bitmap {bitmap:#x} is not a subset of the {granule >> 10}K granule's "
                f"{LPAE_PGSIZES[granule]:#x}")
    limit = 52 if granule == SZ_64K else 48
    if profile.ias > limit or profile.oas > limit:
        return f"ias/oas {profile.ias}/{profile.oas} exceed {limit} bits for this granule"
    return None


# ---------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------

class LpaeDriver(TableLifetime):
    """An io-pgtable-arm stage-1 table: ``map_pages``, ``unmap_pages``, ``iova_to_phys``.

    ``semantics.partial_unmap`` chooses what an unmap of part of a block does:
    ``"split"`` (``arm_lpae_split_blk_unmap``, to v6.13) or ``"refuse"`` (v6.14+).
    """

    def __init__(self, impl) -> None:
        self.impl = impl
        self.counters = impl.counters
        self.split = impl.semantics.partial_unmap == "split"
        self.bitmap = impl.pgsize_bitmap
        self.ias, self.oas = impl.profile.ias, impl.profile.oas
        granule = impl.profile.pgsize_bitmap & -impl.profile.pgsize_bitmap
        self.geo = lpae_geometry(granule, self.ias)
        self.mem = TableMemory(self.counters, TABLE_BASE, granule)
        self.root = self.mem.alloc(self.geo.entries(self.geo.start_level))
        self._prot_cache: dict[int, int] = {}

    # -- table primitives ---------------------------------------------------------
    def _write(self, table: list[int], idx: int, value: int) -> None:
        table[idx] = value
        self.counters.pte_writes += 1

    def _flush_walk(self, iova: int, size: int) -> None:
        """``io_pgtable_tlb_flush_walk``: invalidate walk caches for a table taken out."""
        self.impl.issue_invalidation(("range", iova, size))

    def _free_tree(self, pa: int, lvl: int) -> None:
        """``__arm_lpae_free_pgtable``: free a table and every table below it."""
        if lvl < ARM_LPAE_MAX_LEVELS - 1:
            for pte in self.mem.pages[pa]:
                if pte and not iopte_is_leaf(pte, lvl):
                    self._free_tree(self.geo.pte_to_paddr(pte), lvl + 1)
        self.mem.free(pa)

    # -- map ------------------------------------------------------------------------
    def map_pages(self, iova, paddr, pgsize, pgcount, prot) -> tuple[int, int]:
        """``arm_lpae_map_pages``: map up to the end of one table; returns ``(ret, mapped)``."""
        self.counters.driver_calls += 1
        if not pages_ok(self.bitmap, iova, paddr, pgsize, pgcount):
            return -EINVAL, 0
        if iova >> self.ias or paddr >> self.oas:  # the call's start only (spec MAP_RANGE)
            return -ERANGE, 0
        if not map_args_ok(self.bitmap, iova, paddr, pgsize, pgcount, prot):
            return -EINVAL, 0
        return self._map(iova, paddr, pgsize, pgcount, prot_to_pte(prot),
                         self.geo.start_level, self.root)

    def _map(self, iova, paddr, size, pgcount, attrs, lvl, table_pa) -> tuple[int, int]:
        """``__arm_lpae_map``: walk down to the level whose block size is ``size``."""
        geo, table = self.geo, self.mem.pages[table_pa]
        idx = geo.index(iova, lvl)
        if size == geo.block_size(lvl):
            count = min(pgcount, len(table) - idx)
            ret = self._init_ptes(iova, paddr, attrs, lvl, count, table, idx)
            return ret, (0 if ret else count * size)
        if lvl == ARM_LPAE_MAX_LEVELS - 1:
            return -EINVAL, 0
        pte = table[idx]
        fresh = not pte
        if fresh:
            child = self.mem.alloc(geo.entries(lvl + 1))
            if child is None:
                return -ENOMEM, 0
            self._write(table, idx, paddr_to_pte(child) | PTE_TYPE_TABLE)
        elif iopte_is_leaf(pte, lvl):
            return -EEXIST, 0  # a larger block is in the way: "We require an unmap first"
        else:
            child = geo.pte_to_paddr(pte)
        return self._map(iova, paddr, size, pgcount, attrs, lvl + 1, child)

    def _init_ptes(self, iova, paddr, attrs, lvl, count, table, idx) -> int:
        """``arm_lpae_init_pte``: -EEXIST over a leaf; a table where a leaf goes is freed first."""
        if any(table[idx:idx + count]):
            size = self.geo.block_size(lvl)
            for i in range(count):
                pte = table[idx + i]
                if not pte:
                    continue
                if iopte_is_leaf(pte, lvl):
                    return -EEXIST
                # MAP_REPLACE_TABLE: unmap and free the table of smaller leaves under the block.
                self._write(table, idx + i, 0)
                self._flush_walk(iova + i * size, size)
                self._free_tree(self.geo.pte_to_paddr(pte), lvl + 1)
        self._install_leaves(table, idx, count, paddr, attrs, lvl)
        return 0

    def _install_leaves(self, table, idx, count, paddr, attrs, lvl) -> None:
        """``__arm_lpae_init_pte``: ``count`` leaves of the level's size from ``paddr``."""
        size = self.geo.block_size(lvl)
        bits = attrs | (PTE_TYPE_PAGE if lvl == ARM_LPAE_MAX_LEVELS - 1 else PTE_TYPE_BLOCK)
        table[idx:idx + count] = [paddr_to_pte(paddr + i * size) | bits for i in range(count)]
        self.counters.pte_writes += count

    # -- unmap ----------------------------------------------------------------------
    def unmap_pages(self, iova, pgsize, pgcount, gather) -> int:
        """``arm_lpae_unmap_pages``: unmap up to the end of one table; returns the bytes unmapped."""
        self.counters.driver_calls += 1
        if not pages_ok(self.bitmap, iova, 0, pgsize, pgcount) or iova >> self.ias:
            return 0
        return self._unmap(gather, iova, pgsize, pgcount, self.geo.start_level, self.root)

    def _unmap(self, gather, iova, size, pgcount, lvl, table_pa) -> int:
        """``__arm_lpae_unmap``: clear entries at the level of ``size``, whatever they hold."""
        geo, table = self.geo, self.mem.pages[table_pa]
        idx = geo.index(iova, lvl)
        pte = table[idx]
        if not pte:
            return 0  # a hole: the core's loop stops here
        if size == geo.block_size(lvl):
            count = min(pgcount, len(table) - idx)
            i = 0
            while i < count:
                pte = table[idx + i]
                if not pte:
                    break
                self._write(table, idx + i, 0)
                if iopte_is_leaf(pte, lvl):
                    if gather is not None:
                        gather.add_page(iova + i * size, size)
                else:  # UNMAP_TABLE_SLOT: the table under the slot goes, whole
                    self._flush_walk(iova + i * size, size)
                    self._free_tree(geo.pte_to_paddr(pte), lvl + 1)
                i += 1
            return i * size
        if iopte_is_leaf(pte, lvl):  # a block larger than the unmap size
            if self.split:
                return self._split_blk_unmap(gather, iova, size, pte, lvl + 1, table, idx, pgcount)
            return 0  # v6.14: "Unmap of a partial large IOPTE is not allowed"
        return self._unmap(gather, iova, size, pgcount, lvl + 1, geo.pte_to_paddr(pte))

    def _split_blk_unmap(self, gather, iova, size, blk_pte, lvl, parent, pidx, pgcount) -> int:
        """``arm_lpae_split_blk_unmap``: replace a block by a table of next-level entries, minus the unmap.

        ``lvl`` is the level of the new table.  If ``size`` is that level's
        entry size, the entries asked for are left out and counted; otherwise
        the new table's entry is split again by the recursive unmap.
        """
        geo = self.geo
        split_sz = geo.block_size(lvl)
        entries = geo.entries(lvl)
        new_pa = self.mem.alloc(entries)
        if new_pa is None:
            return 0
        start, count = 0, 0
        if size == split_sz:
            start = geo.index(iova, lvl)
            count = min(pgcount, entries - start)
        new = self.mem.pages[new_pa]
        base = geo.pte_to_paddr(blk_pte)
        attrs = blk_pte & PTE_ATTR_MASK
        for lo, hi in ((0, start), (start + count, entries)):
            if hi > lo:
                self._install_leaves(new, lo, hi - lo, base + lo * split_sz, attrs, lvl)
        self._write(parent, pidx, paddr_to_pte(new_pa) | PTE_TYPE_TABLE)
        if count:
            if gather is not None:
                for i in range(count):
                    gather.add_page(iova + i * size, size)
            unmapped = count * size
        else:
            unmapped = self._unmap(gather, iova, size, pgcount, lvl, new_pa)
        return unmapped

    # -- walks ----------------------------------------------------------------------
    def iova_to_phys(self, iova: int) -> int:
        """``arm_lpae_iova_to_phys``: walk down to a leaf; 0 for a hole."""
        if iova >> self.ias:
            return 0
        geo, lvl, table = self.geo, self.geo.start_level, self.mem.pages[self.root]
        while True:
            pte = table[geo.index(iova, lvl)]
            if not pte:
                return 0
            if iopte_is_leaf(pte, lvl):
                return geo.pte_to_paddr(pte) | (iova & (geo.block_size(lvl) - 1))
            table = self.mem.pages[geo.pte_to_paddr(pte)]
            lvl += 1

    def leaves(self, iova: int | None = None, end: int | None = None) -> list[tuple[int, int, int, int, int]]:
        """The leaves, or with ``iova`` and ``end`` those intersecting [iova, end): a walk of
        the entries in the window only."""
        out: list[tuple[int, int, int, int, int]] = []
        self._collect(self.root, self.geo.start_level, 0, out, iova, end)
        return out

    def _collect(self, pa, lvl, base, out, start, end) -> None:
        geo = self.geo
        shift = geo.shift(lvl)
        size = 1 << shift
        cache = self._prot_cache
        table = self.mem.pages[pa]
        for i in slots(base, shift, len(table), start, end):
            pte = table[i]
            if not pte:
                continue
            iova = base + (i << shift)
            if iopte_is_leaf(pte, lvl):
                attrs = pte & PTE_ATTR_MASK
                prot = cache.get(attrs)
                if prot is None:
                    prot = cache[attrs] = pte_to_prot(pte)
                out.append((iova, geo.pte_to_paddr(pte), size, 1, prot))
            else:
                self._collect(geo.pte_to_paddr(pte), lvl + 1, iova, out, start, end)

    def tables(self, iova: int | None = None, end: int | None = None) -> list[tuple[int, int]]:
        """Every table below the pgd as ``(base iova, span)``, sorted (spec TABLE_LIFETIME);
        with ``iova`` and ``end``, those whose span intersects [iova, end)."""
        out: list[tuple[int, int]] = []
        self._collect_tables(self.root, self.geo.start_level, 0, out, iova, end)
        return sorted(out)

    def _collect_tables(self, pa, lvl, base, out, start, end) -> None:
        shift = self.geo.shift(lvl)
        table = self.mem.pages[pa]
        for i in slots(base, shift, len(table), start, end):
            pte = table[i]
            if pte and not iopte_is_leaf(pte, lvl):
                out.append((base + (i << shift), 1 << shift))
                self._collect_tables(self.geo.pte_to_paddr(pte), lvl + 1, base + (i << shift), out,
                                     start, end)

    # -- lifetime (fail_alloc and free: impls.tables.TableLifetime) ------------------
    def free_root(self, root: int) -> None:
        """``arm_lpae_free_pgtable``: free every table, the pgd included."""
        self._free_tree(root, self.geo.start_level)


# ---------------------------------------------------------------------------
# The implementations
# ---------------------------------------------------------------------------

class Lpae(Core):
    """The iommu.c core with batched ``(pgsize, pgcount)`` calls over an LPAE table.

    Follows the profile's semantics (arm-lpae-v6.14 on the arm-lpae profiles:
    a partial unmap of a block is refused).  ``supports(profile)`` says which
    profiles an LPAE table can serve.
    """

    name = "lpae"
    driver_class = LpaeDriver
    #: The variants this table implements (they differ only in partial_unmap).
    SUPPORTED_SEMANTICS = ("arm-lpae-v6.13", "arm-lpae-v6.14")

    def __init__(self, profile, semantics=None) -> None:
        p = get_profile(profile) if isinstance(profile, str) else profile
        why = lpae_unsupported(p)
        if why:
            raise SpecUsageError(f"{self.name} cannot serve profile {p.name}: {why}")
        super().__init__(p, semantics)
        if self.semantics.name not in self.SUPPORTED_SEMANTICS:
            raise SpecUsageError(
                f"{self.name} implements semantics {', '.join(self.SUPPORTED_SEMANTICS)}, "
                f"not {self.semantics.name}")

    @classmethod
    def supports(cls, profile) -> bool:
        """True when an LPAE table fits the profile and the variant it would run is an LPAE one."""
        p = get_profile(profile) if isinstance(profile, str) else profile
        semantics = cls.semantics_name or p.default_semantics
        return lpae_unsupported(p) is None and semantics in cls.SUPPORTED_SEMANTICS

    def next_pages(self, iova, paddr, size):
        return pgsize_and_count(self.pgsize_bitmap, iova, paddr, size)


class LpaeSplit(Lpae):
    """``lpae`` held to arm-lpae-v6.13: a partial unmap of a block splits it."""

    name = "lpae-split"
    semantics_name = "arm-lpae-v6.13"
