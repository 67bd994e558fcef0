"""``amd_v1``: the legacy AMD IOMMU v1 page table (drivers/iommu/amd/io_pgtable.c).

The table AMD used from v5.4 until it moved to generic_pt: up to six levels
of 512-entry tables of 64-bit PTEs.  It starts with three
(``PAGE_MODE_3_LEVEL``) and grows the top as 6.12's ``alloc_pte`` does
(``increase_address_space``: while the page's last address is beyond the top
or its level above it), one table allocation per new level, which fail_alloc
counts.  Level L entries map ``4K << 9L`` bytes.

PTE format (amd_iommu_types.h): bit 0 PR (present); bits[11:9] the "next
level" (NL): 1-6 for an entry pointing to a table of that level
(``PM_LEVEL_PDE``: ``table | PM_LEVEL_ENC(level) | PR | IR | IW``), 0 for a page
of the entry's own level size, 7 for a page of another size; bits[51:12] the
address; bit 60 FC; bit 61 IR (read); bit 62 IW (write).

Page sizes are every power of two from 4K up except 512G
(``AMD_IOMMU_PGSIZES``).  A page lives at level ``(log2(size) - 12) // 9`` and,
unless it is exactly that level's size, fills ``size / level size`` entries
with copies of one PTE whose NL is 7 and whose address field encodes the
size (``PAGE_SIZE_PTE``: the low address bits set up to just below the size's
top bit).  The format has no bits for IOMMU_CACHE, IOMMU_NOEXEC, IOMMU_MMIO or
IOMMU_PRIV, so those prot flags are kept in PTE bits[4:1], which the IOMMU
ignores; only ``leaves()`` reads them.

Behaviour (semantics amd-v1):

* map (``iommu_v1_map_pages`` / ``alloc_pte`` / ``free_clear_pte``) never fails
  over live mappings: a larger page in the way on the way down is torn down
  whole, and the entries under the new page are cleared, freeing any table
  there with its leaves.  One departure from Linux: where the new page's
  entries are part of a larger page at the same level (a 4K page over an 8K
  page's two PTEs), Linux clears only the entries under the new page and
  leaves the other copies in place, an inconsistent state; here the whole
  larger page is cleared, as the model's MAP_REPLACE_LEAVES states.
  A second departure: Linux sets ``updated`` (and flushes the domain) only
  when a table was freed or a larger page torn down on the way down, so a
  live page replaced by a page at the same level stays cached in the IOTLB
  (``amd_iommu_iotlb_sync_map`` flushes the new range only with
  ``amd_iommu_np_cache``); here overwriting any present PTE flushes too.
* unmap (``iommu_v1_unmap_pages`` / ``fetch_pte``) clears, at each address, the
  whole page ``fetch_pte`` finds and counts its size, even when the request
  starts inside it; ``fetch_pte`` returns a level-0 PTE without checking that
  it is present, so a hole inside a level-0 table is cleared and counted as
  4K; a non-present entry above level 0 ends the unmap.  Tables are never
  freed by unmap, only when a larger page is mapped over them or the domain
  is freed.
* IOTLB: ``amd_iommu_unmap_pages`` adds ``[iova, iova + unmapped)`` to the
  gather; a map that replaced anything flushes the domain
  (``amd_iommu_domain_flush_tlb_pde``); a range invalidation covers the
  naturally aligned power of two that contains the range, as the command
  ``build_inv_address`` builds does.
"""

from spec import (IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE,
                  SpecUsageError, get_profile, pgsize_and_count)
from spec.errors import EINVAL, ENOMEM

from .core import Core
from .tables import TableLifetime, TableMemory, slots
from .driver_args import map_args_ok, pages_ok

SZ_4K = 1 << 12
MASK64 = (1 << 64) - 1
PAGE_MODE_3_LEVEL, PAGE_MODE_6_LEVEL = 3, 6
PAGE_MODE_NONE, PAGE_MODE_7_LEVEL = 0, 7

IOMMU_PTE_PR = 1 << 0
IOMMU_PTE_FC = 1 << 60
IOMMU_PTE_IR = 1 << 61
IOMMU_PTE_IW = 1 << 62
PM_ADDR_MASK = 0x000FFFFFFFFFF000
#: Ours: IOMMU_CACHE, IOMMU_NOEXEC, IOMMU_MMIO, IOMMU_PRIV moved down one bit, into bits[4:1].
SW_PROT_FLAGS = IOMMU_CACHE | IOMMU_NOEXEC | IOMMU_MMIO | IOMMU_PRIV
SW_PROT_MASK = SW_PROT_FLAGS >> 1
TABLE_BASE = 1 << 30


def pm_level_shift(level: int) -> int:
    """``PM_LEVEL_SHIFT``."""
    return 12 + 9 * level


def pm_level_size(mode: int) -> int:
    """``PM_LEVEL_SIZE``: the last address a table of ``mode`` levels reaches."""
    return (1 << pm_level_shift(mode)) - 1 if mode < PAGE_MODE_6_LEVEL else (1 << 64) - 1


def pm_level_index(level: int, address: int) -> int:
    """``PM_LEVEL_INDEX``."""
    return (address >> pm_level_shift(level)) & 0x1FF


def pte_level(pte: int) -> int:
    """``PM_PTE_LEVEL``: the next-level field, bits[11:9]."""
    return (pte >> 9) & 7


def page_size_level(page_size: int) -> int:
    """``PAGE_SIZE_LEVEL``: the level a page of this size is written at."""
    return (page_size.bit_length() - 13) // 9


def page_size_pte_count(page_size: int) -> int:
    """``PAGE_SIZE_PTE_COUNT``: how many copies of the PTE a page of this size takes."""
    return 1 << ((page_size.bit_length() - 13) % 9)


def page_size_pte(address: int, page_size: int) -> int:
    """``PAGE_SIZE_PTE``: the address field of a large page, with its size encoded."""
    return (address | (page_size - 1)) & ~(page_size >> 1) & PM_ADDR_MASK


def pte_page_size(pte: int) -> int:
    """``PTE_PAGE_SIZE``: the size a next-level-7 PTE encodes."""
    low_zero = ~(pte | 0xFFF) & -~(pte | 0xFFF)  # the lowest clear bit
    return low_zero << 1


def pm_level_pde(level: int, table_pa: int) -> int:
    """``PM_LEVEL_PDE``: an entry at ``level`` pointing to a table (of level ``level - 1``)."""
    return table_pa | level << 9 | IOMMU_PTE_PR | IOMMU_PTE_IR | IOMMU_PTE_IW


def leaf_pte(paddr: int, page_size: int, prot: int) -> int:
    """The PTE ``iommu_v1_map_pages`` writes for one page (plus our prot bits)."""
    if page_size_pte_count(page_size) > 1:
        pte = page_size_pte(paddr, page_size) | PAGE_MODE_7_LEVEL << 9
    else:
        pte = paddr
    pte |= IOMMU_PTE_PR | IOMMU_PTE_FC
    if prot & IOMMU_READ:
        pte |= IOMMU_PTE_IR
    if prot & IOMMU_WRITE:
        pte |= IOMMU_PTE_IW
    return pte | (prot & SW_PROT_FLAGS) >> 1


def leaf_prot(pte: int) -> int:
    prot = (pte & SW_PROT_MASK) << 1
    if pte & IOMMU_PTE_IR:
        prot |= IOMMU_READ
    if pte & IOMMU_PTE_IW:
        prot |= IOMMU_WRITE
    return prot


def inv_range(address: int, size: int) -> tuple:
    """The region an INVALIDATE_IOMMU_PAGES command for [address, address+size) covers.

    ``build_inv_address``: one 4K page, or the naturally aligned power of two
    holding the whole range, or everything when bit 51 or above differs.
    """
    end = address + size - 1
    if address >> 12 == end >> 12:
        return ("range", address & ~0xFFF, SZ_4K)
    msb_diff = (end ^ address).bit_length() - 1
    if msb_diff > 51:
        return ("all",)
    span = 2 << msb_diff
    return ("range", address & ~(span - 1), span)


class AmdV1Driver(TableLifetime):
    """``iommu_v1_map_pages`` / ``iommu_v1_unmap_pages`` / ``iommu_v1_iova_to_phys`` on a 6-level table."""

    def __init__(self, impl) -> None:
        self.impl = impl
        self.counters = impl.counters
        self.bitmap = impl.pgsize_bitmap
        self.ias, self.oas = impl.profile.ias, impl.profile.oas
        self.mem = TableMemory(self.counters, TABLE_BASE, SZ_4K)
        self.root = self.mem.alloc(512)
        #: The table's number of levels (``pgtable->mode``): PAGE_MODE_3_LEVEL at first, grown
        #: by ``increase_address_space`` as pages need it.
        self.mode = PAGE_MODE_3_LEVEL
        self._updated = False

    # -- primitives -----------------------------------------------------------------
    def _write(self, table, idx, value) -> None:
        table[idx] = value
        self.counters.pte_writes += 1

    def _free_sub_pt(self, pa: int, level: int) -> None:
        """``free_sub_pt``: free a table of ``level`` and every table below it."""
        if level:
            for pte in self.mem.pages[pa]:
                if pte & IOMMU_PTE_PR and PAGE_MODE_NONE < pte_level(pte) < PAGE_MODE_7_LEVEL:
                    self._free_sub_pt(pte & PM_ADDR_MASK, level - 1)
        self.mem.free(pa)

    def _free_clear_pte(self, table, idx, level) -> None:
        """``free_clear_pte``: clear an entry; if it pointed to a table, free that table and below."""
        pte = table[idx]
        self._write(table, idx, 0)
        if pte & IOMMU_PTE_PR and PAGE_MODE_NONE < pte_level(pte) < PAGE_MODE_7_LEVEL:
            self._free_sub_pt(pte & PM_ADDR_MASK, level - 1)
            self._updated = True

    def _first_pte_l7(self, table, idx) -> tuple[int, int, int]:
        """``first_pte_l7``: (first index, page size, copies) of the large page holding ``idx``."""
        size = pte_page_size(table[idx])
        count = page_size_pte_count(size)
        return idx & ~(count - 1), size, count

    def _alloc_pte(self, address: int, page_size: int):
        """``alloc_pte``: walk down to the page's level, making tables; returns (table, index) or None."""
        end_lvl = page_size_level(page_size)
        last = address + page_size - 1
        while self.mode < PAGE_MODE_6_LEVEL and (last > pm_level_size(self.mode)
                                                 or self.mode - 1 < end_lvl):
            # increase_address_space (6.12): a new root whose entry 0 is the old one
            new_root = self.mem.alloc(512)
            if new_root is None:
                return None
            self._write(self.mem.pages[new_root], 0, pm_level_pde(self.mode, self.root))
            self.root, self.mode = new_root, self.mode + 1
        level, table = self.mode - 1, self.mem.pages[self.root]
        while level > end_lvl:
            idx = pm_level_index(level, address)
            pte = table[idx]
            present = pte & IOMMU_PTE_PR
            if present and pte_level(pte) == PAGE_MODE_7_LEVEL:
                # A larger page in the way: tear all its copies down, then look again.
                first, _, count = self._first_pte_l7(table, idx)
                for i in range(first, first + count):
                    self._write(table, i, 0)
                self._updated = True
                continue
            if not present or pte_level(pte) == PAGE_MODE_NONE:
                # Empty, or a page of this level's size: put a new table there.
                new = self.mem.alloc(512)
                if new is None:
                    return None
                self._write(table, idx, pm_level_pde(level, new))
                if present:
                    self._updated = True
                continue
            level -= 1
            table = self.mem.pages[pte & PM_ADDR_MASK]
        return table, pm_level_index(level, address)

    def _fetch_pte(self, address: int):
        """``fetch_pte``: (table, index of the first copy, page size), or None at a hole above level 0.

        The level-0 PTE is returned without checking that it is present.
        """
        if address > pm_level_size(self.mode):
            return None
        level, table = self.mode - 1, self.mem.pages[self.root]
        idx = pm_level_index(level, address)
        size = 1 << pm_level_shift(level)
        while level > 0:
            pte = table[idx]
            if not pte & IOMMU_PTE_PR:
                return None
            if pte_level(pte) in (PAGE_MODE_7_LEVEL, PAGE_MODE_NONE):
                break
            level -= 1
            table = self.mem.pages[pte & PM_ADDR_MASK]
            idx = pm_level_index(level, address)
            size = 1 << pm_level_shift(level)
        if table[idx] & IOMMU_PTE_PR and pte_level(table[idx]) == PAGE_MODE_7_LEVEL:
            idx, size, _ = self._first_pte_l7(table, idx)
        return table, idx, size

    # -- map ------------------------------------------------------------------------
    def map_pages(self, iova, paddr, pgsize, pgcount, prot) -> tuple[int, int]:
        """``iommu_v1_map_pages``: write each page, replacing whatever is there; returns (ret, mapped)."""
        self.counters.driver_calls += 1
        if not map_args_ok(self.bitmap, iova, paddr, pgsize, pgcount, prot):
            return -EINVAL, 0
        self._updated = False
        count = page_size_pte_count(pgsize)
        level = page_size_level(pgsize)
        ret = mapped = 0
        for k in range(pgcount):
            found = self._alloc_pte((iova + k * pgsize) & MASK64, pgsize)  # iova wraps
            if found is None:
                ret = -ENOMEM
                break
            table, idx = found
            pte = table[idx]
            if pte & IOMMU_PTE_PR and pte_level(pte) == PAGE_MODE_7_LEVEL:
                first, _, copies = self._first_pte_l7(table, idx)
                if copies > count:  # a larger page at this level: it goes whole (see above)
                    for i in range(first, first + copies):
                        self._write(table, i, 0)
                    self._updated = True
            for i in range(idx, idx + count):
                if table[i]:
                    self._free_clear_pte(table, i, level)
                    self._updated = True  # not in Linux: see the module docstring
            new = leaf_pte((paddr + k * pgsize) & MASK64, pgsize, prot)
            table[idx:idx + count] = [new] * count
            self.counters.pte_writes += count
            mapped += pgsize
        if self._updated:
            self.impl.issue_invalidation(("all",))  # amd_iommu_domain_flush_tlb_pde
        return ret, mapped

    # -- unmap ----------------------------------------------------------------------
    def unmap_pages(self, iova, pgsize, pgcount, gather) -> int:
        """``iommu_v1_unmap_pages``: clear PTE by PTE, counting each one's page size."""
        self.counters.driver_calls += 1
        if not pages_ok(self.bitmap, iova, 0, pgsize, pgcount):
            return 0
        size, at, unmapped = pgsize * pgcount, iova, 0
        while unmapped < size:
            found = self._fetch_pte(at)
            if found is None:
                break
            table, idx, unmap_size = found
            for i in range(idx, idx + page_size_pte_count(unmap_size)):
                if table[i]:
                    self._write(table, i, 0)
            at = ((at & ~(unmap_size - 1)) + unmap_size) & MASK64  # unsigned long: wraps
            unmapped += unmap_size
        if unmapped:
            gather.add_range(iova, unmapped)  # amd_iommu_iotlb_gather_add_page
        return unmapped

    # -- walks ----------------------------------------------------------------------
    def iova_to_phys(self, iova: int) -> int:
        """``iommu_v1_iova_to_phys``."""
        found = self._fetch_pte(iova)
        if found is None:
            return 0
        table, idx, size = found
        pte = table[idx]
        if not pte & IOMMU_PTE_PR:
            return 0
        return (pte & PM_ADDR_MASK & ~(size - 1)) | (iova & (size - 1))

    def leaves(self, iova: int | None = None, end: int | None = None) -> list[tuple[int, int, int, int, int]]:
        """The leaves, or with ``iova`` and ``end`` those intersecting [iova, end)."""
        out: list[tuple[int, int, int, int, int]] = []
        self._collect(self.root, self.mode - 1, 0, out, iova, end)
        return out

    def _collect(self, pa, level, base, out, start, end) -> None:
        shift = pm_level_shift(level)
        table = self.mem.pages[pa]
        window = slots(base, shift, len(table), start, end)
        for i in window:
            pte = table[i]
            if not pte & IOMMU_PTE_PR:
                continue
            va = base + (i << shift)
            nl = pte_level(pte)
            if nl == PAGE_MODE_NONE:
                out.append((va, pte & PM_ADDR_MASK, 1 << shift, 1, leaf_prot(pte)))
            elif nl == PAGE_MODE_7_LEVEL:
                first, size, _ = self._first_pte_l7(table, i)
                if first == i or (i == window.start and first < i):  # a large page the window starts in
                    out.append((base + (first << shift), pte & PM_ADDR_MASK & ~(size - 1), size, 1,
                                leaf_prot(pte)))
            else:
                self._collect(pte & PM_ADDR_MASK, level - 1, va, out, start, end)

    # -- lifetime (fail_alloc and free: impls.tables.TableLifetime) ------------------
    def free_root(self, root: int) -> None:
        """``free_sub_pt`` from the root."""
        self._free_sub_pt(root, self.mode - 1)


class AmdV1(Core):
    """The iommu.c core with batched ``(pgsize, pgcount)`` calls over the legacy AMD v1 table.

    Held to the amd-v1 variant.  Range invalidations are widened the way the
    AMD command is (``inv_range``).  Like Linux's, its PTE holds address bits
    51:12 only, so a physical range past 2^52 is written wrongly
    (PADDR_PAST_OAS, set aside on it).
    """

    name = "amd_v1"
    known_findings = frozenset({"paddr-past-oas"})
    driver_class = AmdV1Driver
    semantics_name = "amd-v1"

    @property
    def ops(self) -> frozenset[str]:
        """Everything the core offers except ``fail_alloc``, which the difftest cannot judge here.

        After a map fails with -ENOMEM, which last-level tables exist depends on
        how far the map got, and under amd-v1 that decides later unmaps
        (UNMAP_HOLE_IN_TABLE); the model cannot know it from the leaves alone.
        ``fail_alloc`` still works when called directly (tests/test_impls_tables.py).
        """
        return super().ops - {"fail_alloc"}

    def __init__(self, profile, semantics=None) -> None:
        p = get_profile(profile) if isinstance(profile, str) else profile
        if not self.supports(p):
            raise SpecUsageError(f"{self.name} serves only profile amd-v1, not {p.name}")
        super().__init__(p, semantics)
        if self.semantics.name != "amd-v1":
            raise SpecUsageError(f"{self.name} implements semantics amd-v1, not {self.semantics.name}")

    @classmethod
    def supports(cls, profile) -> bool:
        """True for the amd-v1 profile (every power of two from 4K except 512G)."""
        p = get_profile(profile) if isinstance(profile, str) else profile
        return p.name == "amd-v1"

    def next_pages(self, iova, paddr, size):
        return pgsize_and_count(self.pgsize_bitmap, iova, paddr, size)

    def _invalidate_range(self, iova: int, size: int) -> None:
        self.issue_invalidation(inv_range(iova, size))
