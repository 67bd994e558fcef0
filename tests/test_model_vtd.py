"""Unit tests of the model's ``vtd`` variant: VT-d's own second-level table before generic_pt.

Each expected value is worked out by hand from drivers/iommu/intel/iommu.c as Debian's
6.1.192 and 6.12.118 have it (intel_iommu_map_pages / __domain_mapping /
switch_to_super_page / hardware_largepage_caps, intel_iommu_unmap / domain_unmap /
dma_pte_clear_level, intel_iommu_iova_to_phys) and the core's loop in iommu.c, and agrees
with the tree's own functions run through the kernel harness (tests/test_linuxpt_vtd.py).
Where Linux is wrong the model states the mapping asked for and names the defect; the
comment gives what Linux does.
"""

import pytest

from spec import IOMMU_READ, IOMMU_WRITE, ReferenceDomain
from spec.errors import EFAULT, EINVAL, ENOMEM
from spec.kernels import for_kernel

RW = IOMMU_READ | IOMMU_WRITE
K4, M2, M4, G1 = 0x1000, 0x200000, 0x400000, 0x40000000


def vtd():
    return ReferenceDomain("intel-vtd", "vtd")


def leaves(d):
    return [tuple(r) for r in d.leaves()]


def test_the_releases_that_run_it():
    """6.1 to 6.18 run the dma_pte table; v6.19 moved VT-d to generic_pt (d373449d8e97)."""
    assert (for_kernel("6.12", "intel").variant, for_kernel("6.1", "intel").variant) == ("vtd", "vtd")
    assert for_kernel("6.19", "intel").variant == "generic-pt"


def test_a_map_over_a_live_4k_pte_keeps_it_and_goes_on():
    """__domain_mapping: cmpxchg64_local(pte, 0, new) fails on the live PTE (WARN); the next
    PTE of the call is written and the call returns 0 (MAP_KEEPS_LIVE)."""
    d = vtd()
    assert d.map(0x10000, 0x100000, K4, RW) == 0
    assert d.map(0x10000, 0x200000, 2 * K4, RW) == 0
    assert "MAP_KEEPS_LIVE" in d.decided
    assert d.iova_to_phys(0x10000) == 0x100000 and d.iova_to_phys(0x11000) == 0x201000


def test_a_superpage_replaces_a_table_of_leaves_and_a_live_superpage():
    """switch_to_super_page clears the slot whatever it holds and frees the table."""
    d = vtd()
    assert d.map(M2, 0x100000, K4, RW) == 0 and d.map(M2 + K4, 0x101000, K4, RW) == 0
    assert (0 + M2, M2) in d.table_listing()                 # the level-1 table for [2M, 4M)
    assert d.map(M2, G1, M2, RW) == 0
    assert "MAP_REPLACE_TABLE" in d.decided
    assert (M2, M2) not in d.table_listing()
    assert d.iova_to_phys(M2 + K4) == G1 + K4
    assert d.map(M2, 2 * G1, M2, RW) == 0                    # 2M over a live 2M: no WARN
    assert "MAP_SUPERPAGE_REPLACES" in d.decided
    assert leaves(d) == [(M2, 2 * G1, M2, 1, RW)]


def test_the_driver_picks_the_page_size_itself():
    """hardware_largepage_caps: 512 4K pages at a 2M-aligned iova and paddr are one 2M PTE,
    whatever pgsize the caller passed to map_pages."""
    d = vtd()
    assert d.map_pages(M2, M4, K4, 512, RW) == (0, M2)
    assert leaves(d) == [(M2, M4, M2, 1, RW)]


def test_a_page_under_a_live_superpage_changes_nothing():
    """pfn_to_dma_pte walks into the 2M page's memory and the PTE is written there (Linux
    defect MAP_UNDER_SUPERPAGE): the call returns 0, the translation is the superpage's."""
    d = vtd()
    assert d.map(M2, G1, M2, RW) == 0
    assert d.map(M2 + 5 * K4, 0x900000, K4, RW) == 0
    assert "MAP_UNDER_SUPERPAGE" in d.decided
    assert d.iova_to_phys(M2 + 5 * K4) == G1 + 5 * K4


def test_unmap_from_a_superpages_base_takes_it_whole():
    """intel_iommu_unmap raises 4K to the 2M span of the superpage at iova: it goes, 2M."""
    d = vtd()
    d.map(M2, G1, M2, RW)
    assert d.unmap(M2, K4) == M2 and leaves(d) == []


def test_unmap_inside_a_superpage_is_the_partial_superpage_defect():
    """From inside: Linux returns 2M, keeps the superpage, zeroes words of its memory and
    clears the first 4K of the next slot (UNMAP_PARTIAL_SUPERPAGE_KEPT); the model states
    UNMAP_PARTIAL_LEAF's "whole", which from inside unmaps nothing."""
    d = vtd()
    d.map(M2, G1, M2, RW)
    d.map(M4, 0x900000, K4, RW)
    assert d.unmap(M2 + K4, K4) == 0
    assert "UNMAP_PARTIAL_SUPERPAGE_KEPT" in d.decided
    assert d.iova_to_phys(M4) == 0x900000


def test_unmap_counts_holes_in_a_live_table_and_keeps_the_table():
    """domain_unmap skips empty PTEs and intel_iommu_unmap returns the size; a table emptied
    by an unmap that does not cover its span stays, so a later 4K unmap still stops at
    level 1 (no rounding)."""
    d = vtd()
    d.map(0, 0x100000, K4, RW)
    d.map(2 * K4, 0x102000, K4, RW)
    assert d.unmap(0, 3 * K4) == 3 * K4 and leaves(d) == []
    assert "UNMAP_HOLE_COUNTED" in d.decided
    assert d.unmap(K4, K4) == K4 and "UNMAP_HOLE_ROUNDS" not in d.decided
    assert (0, M2) in d.table_listing()


def test_an_unmap_covering_a_tables_span_frees_it():
    """dma_pte_clear_level lists a table whose whole span the range covers: unmap(0, 2M)
    frees the level-1 table, so a 4K unmap there is now at a level-2 hole."""
    d = vtd()
    d.map(0, 0x100000, K4, RW)
    assert d.unmap(0, M2) == M2
    assert (0, M2) not in d.table_listing()
    assert d.unmap(K4, K4) == K4                   # Linux: 2M (UNMAP_HOLE_ROUNDS)
    assert "UNMAP_HOLE_ROUNDS" in d.decided


def test_an_unmap_at_a_hole_above_the_last_level_is_the_rounding_defect():
    """Linux raises 4K at a missing level-2 entry to 2M from the unaligned start and removes
    the live page at 4M; in an empty domain unmap(0, 4K) reports 512G.  The model states the
    range asked for (UNMAP_HOLE_ROUNDS)."""
    d = vtd()
    assert d.unmap(0, K4) == K4 and "UNMAP_HOLE_ROUNDS" in d.decided
    d.map(0, 0x100000, K4, RW)
    d.map(M4, M4, K4, RW)
    assert d.unmap(M2 + K4, K4) == K4 and "UNMAP_HOLE_ROUNDS" in d.decided
    assert d.iova_to_phys(M4) == M4


def test_the_checks_of_a_map_call():
    """intel_iommu_map: the whole IOVA range against 2^gaw (-EFAULT) before the prot check
    of __domain_mapping (-EINVAL); no paddr check (PADDR_PAST_OAS)."""
    d = vtd()
    assert d.map(0, 0x100000, K4, 0) == -EINVAL
    assert d.map(1 << 48, 0x100000, K4, RW) == -EFAULT
    assert d.map(1 << 48, 0x100000, K4, 0) == -EFAULT
    assert d.map((1 << 48) - K4, 0x100000, 2 * K4, RW) == -EFAULT and leaves(d) == []
    # a range that wraps past 2^64 passes the max_addr check: 6.12 -EINVAL, 6.1 BUG_ON
    assert d.map((1 << 64) - K4, 0, 3 * K4, IOMMU_READ) == -EINVAL
    assert "IOVA_PAST_IAS" in d.decided
    assert d.map(0, 1 << 52, K4, RW) == 0 and "PADDR_PAST_OAS" in d.decided


def test_a_failed_table_allocation_keeps_the_ptes_written_before_it():
    """A map call whose next level-1 table cannot be allocated fails with -ENOMEM after
    writing the PTE before it.  Linux reports *mapped 0, so the core's rollback misses it
    (MAP_FAIL_UNCOUNTED); the model counts it and the core rolls it back."""
    d = vtd()
    d.map(0, 0x100000, K4, RW)
    d.fail_alloc(0)
    assert d.map(0x1ff000, 0x1ff000, 2 * K4, RW) == -ENOMEM
    assert "MAP_FAIL_UNCOUNTED" in d.decided
    assert leaves(d) == [(0, 0x100000, K4, 1, RW)]


def test_a_1g_replace_after_a_2m_page_leaks_the_tables_after_it():
    """dma_pte_clear_range clears the level-2 entries after a 2M page as superpages, so the
    level-1 table at 4M is never freed (MAP_REPLACE_LEAKS_TABLE); an empty entry first ends
    that walk, and then nothing leaks."""
    d = vtd()
    d.map(0, 0x100000, K4, RW)
    d.map(M2, G1, M2, RW)
    d.map(M4, M4, K4, RW)
    assert d.map(0, 2 * G1, G1, RW) == 0
    assert "MAP_REPLACE_LEAKS_TABLE" in d.decided
    d = vtd()
    d.map(M2, G1, M2, RW)
    d.map(M4, M4, K4, RW)
    assert d.map(0, 2 * G1, G1, RW) == 0
    assert "MAP_REPLACE_LEAKS_TABLE" not in d.decided
    assert d.iova_to_phys(M4) == 2 * G1 + M4


@pytest.mark.parametrize("iova,want", [(0, 0), (M2 + 0x123, G1 + 0x123)])
def test_iova_to_phys_adds_the_offset_in_the_leaf(iova, want):
    d = vtd()
    d.map(M2, G1, M2, RW)
    assert d.iova_to_phys(iova) == want
