"""Unit tests of the page-table drivers (impls.lpae, impls.generic_pt, impls.amd_v1).

Descriptor values, level counts and table-page counts are worked out by hand
from the Linux sources each driver cites; the tests read the tables by
following the descriptors' addresses, with indexes computed here.
"""

import pytest

from impls import IMPLEMENTATIONS
from impls.amd_v1 import AmdV1, inv_range, pte_page_size
from impls.generic_pt import GenericPt
from impls.lpae import Lpae, LpaeSplit, lpae_geometry
from spec import (IOMMU_CACHE, IOMMU_NOEXEC, IOMMU_READ, IOMMU_WRITE, SpecUsageError,
                  canonical_leaves)
from spec.errors import EADDRINUSE, EEXIST, ENOMEM

RW = IOMMU_READ | IOMMU_WRITE
K4, K16, K64, M2, M4, G1 = 0x1000, 0x4000, 0x10000, 0x200000, 0x400000, 0x40000000
ADDR_51_12 = 0x000FFFFFFFFFF000


def runs(impl):
    return [tuple(r) for r in canonical_leaves(impl.leaves())]


def walk(impl, iova, top, bottom, index, is_table):
    """The entries from the top table down to ``bottom`` for iova, following table addresses."""
    drv = impl.driver
    table, out = drv.mem.pages[drv.root], []
    for level in range(top, bottom - 1, -1):
        pte = table[index(iova, level)]
        out.append(pte)
        if not is_table(pte, level):
            break
        table = drv.mem.pages[pte & ADDR_51_12]
    return out


def lpae4k_walk(impl, iova):
    """LPAE 4K granule: levels 0..3, 9 bits each; bits[1:0] = 0b11 is a table above level 3."""
    return walk(impl, iova, 3, 0, lambda a, lvl: (a >> (12 + 9 * lvl)) & 511,
                lambda pte, lvl: lvl > 0 and pte & 3 == 3)


def x86_walk(impl, iova):
    """x86-64: levels 3..0, 9 bits each; a present entry without PS is a table above level 0."""
    return walk(impl, iova, 3, 0, lambda a, lvl: (a >> (12 + 9 * lvl)) & 511,
                lambda pte, lvl: lvl > 0 and pte & 1 and not pte & 0x80)


def amd_walk(impl, iova):
    """AMD v1: levels mode-1..0 (the table starts with 3 and grows); next-level field 1-6 is a table."""
    return walk(impl, iova, impl.driver.mode - 1, 0, lambda a, lvl: (a >> (12 + 9 * lvl)) & 511,
                lambda pte, lvl: lvl > 0 and pte & 1 and 1 <= (pte >> 9) & 7 <= 6)


# ---------------------------------------------------------------------------
# lpae
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("granule,ias,levels,start_level,pgd_bits", [
    (K4, 48, 4, 0, 9),
    (K16, 48, 4, 0, 1),     # 34 bits over 11 per level: a 2-entry pgd
    (K64, 48, 3, 1, 6),     # 32 bits over 13 per level: a 64-entry pgd
    (K16, 32, 2, 2, 7),     # apple-dart: 18 bits
    (K4, 39, 3, 1, 9),
    (K4, 32, 3, 1, 2),      # 20 bits over 9: a 4-entry pgd
])
def test_lpae_levels_per_granule_and_ias(granule, ias, levels, start_level, pgd_bits):
    """arm_lpae_alloc_pgtable's level count, start level and pgd size for each granule and ias."""
    geo = lpae_geometry(granule, ias)
    assert (geo.levels, geo.start_level, geo.pgd_bits) == (levels, start_level, pgd_bits)


def test_lpae_16k_pgd_has_two_entries():
    """The 16K-granule, 48-bit table starts with a 2-entry pgd, one table page."""
    impl = Lpae("arm-lpae-16k")
    assert len(impl.driver.mem.pages[impl.driver.root]) == 2
    assert impl.counters.table_pages == 1


def test_lpae_4k_page_descriptor_bits():
    """A read-write 4K page is 0x80001e43: output address, nG, AF, SH outer, AP unprivileged, page type 0b11."""
    impl = Lpae("arm-lpae-4k")
    assert impl.map(0x1000, 0x80001000, K4, RW) == 0
    ptes = lpae4k_walk(impl, 0x1000)
    assert len(ptes) == 4
    assert all(pte & 3 == 3 for pte in ptes[:3])       # three table descriptors
    assert ptes[3] == 0x80001E43
    assert impl.iova_to_phys(0x1ABC) == 0x80001ABC


def test_lpae_2m_block_descriptor_bits():
    """A READ|CACHE|NOEXEC 2M block is 0x0060000040200fc5: XN, nG, AF, SH inner, AP read-only and unprivileged, AttrIndx 1, block type 0b01."""
    impl = Lpae("arm-lpae-4k")
    assert impl.map(M2, 0x40200000, M2, IOMMU_READ | IOMMU_CACHE | IOMMU_NOEXEC) == 0
    ptes = lpae4k_walk(impl, M2)
    assert len(ptes) == 3
    assert ptes[2] == 0x0060000040200FC5
    assert runs(impl) == [(M2, 0x40200000, M2, 1, IOMMU_READ | IOMMU_CACHE | IOMMU_NOEXEC)]


def test_lpae_write_only_keeps_the_request_in_a_software_bit():
    """IOMMU_WRITE alone is read-write in hardware (no AP[2]); software bit 56 keeps the request for leaves()."""
    impl = Lpae("arm-lpae-4k")
    assert impl.map(0x0, 0x3000, K4, IOMMU_WRITE) == 0
    assert lpae4k_walk(impl, 0x0)[3] == (1 << 56) | 0x3E43
    assert runs(impl) == [(0x0, 0x3000, K4, 1, IOMMU_WRITE)]


def test_lpae_table_pages_return_to_the_pgd_after_unmap():
    """Map one 4K page: pgd plus three tables; unmap it: the tables stay, as Linux keeps them (TABLE_LIFETIME)."""
    impl = Lpae("arm-lpae-4k")
    assert impl.counters.table_pages == 1
    assert impl.map(0x1000, 0x1000, K4, RW) == 0
    assert impl.counters.table_pages == 4
    assert impl.unmap(0x1000, K4) == K4
    assert impl.counters.table_pages == 4
    assert len(lpae4k_walk(impl, 0x1000)) == 4 and lpae4k_walk(impl, 0x1000)[-1] == 0  # empty leaf entry


def test_lpae_64k_granule_table_pages():
    """With the 64K granule (levels 1-3) a 64K page needs the pgd and two more tables."""
    impl = Lpae("arm-lpae-64k")
    assert impl.map(K64, K64, K64, RW) == 0
    assert impl.counters.table_pages == 3
    assert impl.unmap(K64, K64) == K64
    assert impl.counters.table_pages == 3


def test_lpae_fail_alloc_returns_enomem_and_leaks_nothing():
    """The third allocation of a 4K map fails: -ENOMEM, no leaves, the two tables made stay; the next map works."""
    impl = Lpae("arm-lpae-4k")
    impl.fail_alloc(2)
    assert impl.map(0x1000, 0x1000, K4, RW) == -ENOMEM
    assert runs(impl) == []
    assert impl.counters.table_pages == 3
    assert impl.map(0x1000, 0x1000, K4, RW) == 0
    assert impl.counters.table_pages == 4


def test_lpae_fail_alloc_in_the_second_batch_rolls_back_the_first():
    """A map across a 2M boundary fails on its second level-3 table: the first page is unmapped, its tables stay."""
    impl = Lpae("arm-lpae-4k")
    impl.fail_alloc(3)  # level 1, level 2, level 3 for 0x1ff000; the level-3 table for 0x200000 fails
    assert impl.map(0x1FF000, 0x1FF000, 0x2000, RW) == -ENOMEM
    assert runs(impl) == []
    assert impl.counters.table_pages == 4


def test_lpae_refuses_a_partial_unmap_of_a_block():
    """v6.14: a 4K unmap inside a 2M block unmaps nothing and the block stays."""
    impl = Lpae("arm-lpae-4k")
    assert impl.semantics.name == "arm-lpae-v6.14"
    assert impl.map(M2, 0x40200000, M2, RW) == 0
    assert impl.unmap(0x201000, K4) == 0
    assert runs(impl) == [(M2, 0x40200000, M2, 1, RW)]


def test_lpae_split_splits_a_block_on_a_partial_unmap():
    """v6.13: a 4K unmap inside a 2M block leaves 511 4K pages in a new level-3 table."""
    impl = LpaeSplit("arm-lpae-4k")
    assert impl.map(M2, 0x40200000, M2, RW) == 0
    assert impl.unmap(0x201000, K4) == K4
    assert runs(impl) == [(M2, 0x40200000, K4, 1, RW), (0x202000, 0x40202000, K4, 510, RW)]
    assert impl.counters.table_pages == 4
    assert impl.iova_to_phys(0x201000) == 0
    assert impl.iova_to_phys(0x3FF123) == 0x403FF123
    assert lpae4k_walk(impl, 0x202000)[3] == 0x40202E43


def test_lpae_split_of_a_1g_block_splits_twice():
    """v6.13: a 4K unmap at the start of a 1G block leaves 511 4K pages and 511 2M blocks."""
    impl = LpaeSplit("arm-lpae-4k")
    assert impl.map(G1, G1, G1, RW) == 0
    assert impl.unmap(G1, K4) == K4
    assert runs(impl) == [(G1 + K4, G1 + K4, K4, 511, RW), (G1 + M2, G1 + M2, M2, 511, RW)]
    assert impl.counters.table_pages == 4


def test_lpae_eexist_over_a_leaf_of_equal_or_larger_size():
    """A 4K map over a live 4K page, or inside a live 2M block, fails with -EEXIST and changes nothing."""
    impl = Lpae("arm-lpae-4k")
    assert impl.map(0x0, 0x0, K4, RW) == 0
    assert impl.map(M2, M2, M2, RW) == 0
    assert impl.map(0x0, 0x9000, K4, RW) == -EEXIST
    assert impl.map(0x203000, 0x9000, K4, RW) == -EEXIST
    assert runs(impl) == [(0x0, 0x0, K4, 1, RW), (M2, M2, M2, 1, RW)]


def test_lpae_block_over_a_table_frees_the_table():
    """A 2M block over two 4K pages frees their level-3 table (MAP_REPLACE_TABLE)."""
    impl = Lpae("arm-lpae-4k")
    assert impl.map(M2, 0x5000, K4, RW) == 0
    assert impl.map(0x205000, 0x6000, K4, RW) == 0
    assert impl.counters.table_pages == 4
    assert impl.map(M2, 0x40200000, M2, RW) == 0
    assert runs(impl) == [(M2, 0x40200000, M2, 1, RW)]
    assert impl.counters.table_pages == 3


def test_lpae_unmap_slot_frees_a_table_with_holes_whole():
    """A 2M unmap over a table with two 4K pages and holes frees it and returns 2M (UNMAP_TABLE_SLOT)."""
    impl = Lpae("arm-lpae-4k")
    assert impl.map(M2, M2, K4, RW) == 0
    assert impl.map(0x205000, 0x205000, K4, RW) == 0
    assert impl.unmap(M2, M2) == M2
    assert runs(impl) == []
    assert impl.counters.table_pages == 3  # the level-3 table went; pgd, level 1 and level 2 stay


def test_lpae_map_pages_stops_at_the_end_of_a_table():
    """map_pages of four 4K pages from 0x1fe000 maps the two left in the level-3 table (PAGES_TABLE_BATCH)."""
    impl = Lpae("arm-lpae-4k")
    assert impl.map_pages(0x1FE000, 0x1FE000, K4, 4, RW) == (0, 0x2000)
    assert runs(impl) == [(0x1FE000, 0x1FE000, K4, 2, RW)]


def test_lpae_domain_free_frees_every_table():
    """domain_free frees the pgd and all tables: 0 left."""
    impl = Lpae("arm-lpae-4k")
    assert impl.map(0x0, 0x0, 0x3000, RW) == 0
    assert impl.map(G1, G1, M2, RW) == 0
    assert impl.domain_free() == 0
    assert impl.counters.table_pages == 0


def test_lpae_supports_only_lpae_profiles():
    """lpae serves the arm-lpae profiles, not DART (its own format), the x86 or mixed-size profiles."""
    assert [p for p in ("arm-lpae-4k", "arm-lpae-16k", "arm-lpae-64k", "apple-dart", "intel-vtd",
                        "amd-v1", "exynos", "rockchip", "armv7s-mediatek") if Lpae.supports(p)] \
        == ["arm-lpae-4k", "arm-lpae-16k", "arm-lpae-64k"]
    assert LpaeSplit.supports("arm-lpae-16k") and LpaeSplit.semantics_name == "arm-lpae-v6.13"
    with pytest.raises(SpecUsageError, match="exynos"):
        Lpae("exynos")
    with pytest.raises(SpecUsageError, match="generic-pt"):
        Lpae("arm-lpae-4k", "generic-pt")


def test_table_drivers_are_registered():
    """The table drivers are in IMPLEMENTATIONS under their names."""
    assert IMPLEMENTATIONS["lpae"] is Lpae and IMPLEMENTATIONS["lpae-split"] is LpaeSplit
    assert IMPLEMENTATIONS["generic_pt"] is GenericPt and IMPLEMENTATIONS["amd_v1"] is AmdV1


# ---------------------------------------------------------------------------
# generic_pt (x86-64 format)
# ---------------------------------------------------------------------------

def test_generic_pt_4k_leaf_and_table_entry_bits():
    """A read-write 4K leaf is 0x0030000000005067 (P, RW, U, A, D; prot 3 in bits 57:52); tables are P|RW|U|A."""
    impl = GenericPt("intel-vtd")
    assert impl.map(0x1000, 0x5000, K4, RW) == 0
    ptes = x86_walk(impl, 0x1000)
    assert len(ptes) == 4
    assert all(pte & 0xFFF == 0x27 for pte in ptes[:3])
    assert ptes[3] == 0x0030000000005067


def test_generic_pt_2m_leaf_has_ps():
    """A read-only 2M leaf is 0x00100000402000e5: P, U, A, D and PS, no RW."""
    impl = GenericPt("intel-vtd")
    assert impl.map(M2, 0x40200000, M2, IOMMU_READ) == 0
    ptes = x86_walk(impl, M2)
    assert len(ptes) == 3
    assert ptes[2] == 0x00100000402000E5
    assert impl.iova_to_phys(0x3FFFFF) == 0x403FFFFF


def test_generic_pt_map_over_any_leaf_is_eaddrinuse():
    """A 2M map over a region holding one 4K leaf fails with -EADDRINUSE and changes nothing."""
    impl = GenericPt("intel-vtd")
    assert impl.map(0x201000, 0x1000, K4, RW) == 0
    assert impl.map(M2, M2, M2, RW) == -EADDRINUSE
    assert runs(impl) == [(0x201000, 0x1000, K4, 1, RW)]


def test_generic_pt_keeps_empty_tables_until_a_leaf_replaces_them():
    """Unmapping a 4K page keeps its three tables; a 2M leaf mapped there frees the empty level-0 table (clear_contig)."""
    impl = GenericPt("intel-vtd")
    assert impl.map(M2, M2, K4, RW) == 0
    assert impl.counters.table_pages == 4
    assert impl.unmap(M2, K4) == K4
    assert impl.counters.table_pages == 4
    assert impl.unmap(M2, K4) == 0  # the empty table is a hole to the walk
    assert impl.map(M2, M2, M2, RW) == 0
    assert impl.counters.table_pages == 3


def test_generic_pt_unmap_of_a_covered_table_frees_it():
    """Unmapping all 512 4K pages of a level-0 table frees that table, but not the tables above it."""
    impl = GenericPt("intel-vtd")
    assert impl.map_pages(M2, M2, K4, 512, RW) == (0, M2)
    assert impl.counters.table_pages == 4
    assert impl.unmap_pages(M2, K4, 512) == M2
    assert impl.counters.table_pages == 3


def test_generic_pt_partial_unmap_whole_at_the_base_nothing_inside():
    """A 4K unmap at the base of a 2M leaf removes it and returns 2M; one inside it returns 0."""
    impl = GenericPt("intel-vtd")
    assert impl.map(M2, M2, M2, RW) == 0
    assert impl.unmap(0x201000, K4) == 0
    assert impl.unmap(M2, K4) == M2
    assert runs(impl) == []


def test_generic_pt_an_empty_entry_ends_the_unmap():
    """unmap(0, 12K) over pages at 0 and 0x2000 stops at the hole at 0x1000 and returns 4K."""
    impl = GenericPt("intel-vtd")
    assert impl.map(0x0, 0x0, K4, RW) == 0
    assert impl.map(0x2000, 0x2000, K4, RW) == 0
    assert impl.unmap(0x0, 0x3000) == K4
    assert runs(impl) == [(0x2000, 0x2000, K4, 1, RW)]


def test_generic_pt_unmap_past_the_top_unmaps_nothing():
    """unmap(2^48 - 4K, 8K) returns 0 and keeps the page: pt_check_range rejects the range."""
    impl = GenericPt("intel-vtd")
    assert impl.map(0xFFFFFFFFF000, 0x0, K4, RW) == 0
    assert impl.unmap(0xFFFFFFFFF000, 0x2000) == 0
    assert impl.unmap(0xFFFFFFFFF000, K4) == K4


def test_generic_pt_fail_alloc_keeps_the_tables_already_made():
    """The second table of a fresh 4K map fails: -ENOMEM, no leaves, the first new table stays (as in Linux), and domain_free frees all."""
    impl = GenericPt("amd-v2")
    impl.fail_alloc(1)
    assert impl.map(G1, G1, K4, RW) == -ENOMEM
    assert runs(impl) == []
    assert impl.counters.table_pages == 2
    assert impl.map(G1, G1, K4, RW) == 0
    assert impl.counters.table_pages == 4
    assert impl.domain_free() == 0


def test_generic_pt_supports_intel_and_amd_v2_only():
    """generic_pt serves intel-vtd and amd-v2."""
    assert [p for p in ("intel-vtd", "amd-v2", "amd-v1", "arm-lpae-4k") if GenericPt.supports(p)] \
        == ["intel-vtd", "amd-v2"]


# ---------------------------------------------------------------------------
# amd_v1
# ---------------------------------------------------------------------------

def test_amd_v1_4k_pte_and_pde_bits():
    """A read-write 4K page is 0x7000000000005001 (PR, FC, IR, IW) in a 3-level table; the top
    entry is a level-2 PDE (NL 2, PR, IR, IW)."""
    impl = AmdV1("amd-v1")
    assert impl.map(0x1000, 0x5000, K4, RW) == 0
    ptes = amd_walk(impl, 0x1000)
    assert len(ptes) == 3
    assert [(pte >> 9) & 7 for pte in ptes[:2]] == [2, 1]
    assert ptes[0] & 0xFFF0000000000FFF == 0x6000000000000401
    assert ptes[2] == 0x7000000000005001


def test_amd_v1_grows_its_top_level_as_pages_need():
    """increase_address_space (6.12): an IOVA past 2^39, or a page above the top level, adds a
    level per table page, the old root becoming entry 0 of the new one."""
    impl = AmdV1("amd-v1")
    assert impl.driver.mode == 3 and impl.counters.table_pages == 1
    assert impl.map(1 << 39, 0, K4, RW) == 0
    assert impl.driver.mode == 4 and impl.counters.table_pages == 5
    assert impl.map(0, 0, 1 << 51, RW) == 0  # over the 4K page at 2^39 too: it replaces it
    assert impl.driver.mode == 5
    assert impl.iova_to_phys((1 << 51) - 1) == (1 << 51) - 1
    assert impl.iova_to_phys((1 << 39) + 5) == (1 << 39) + 5


def test_amd_v1_16k_page_is_four_copies_with_the_size_encoded():
    """A 16K page at 0x100000 is four level-0 copies of 0x7000000000101e01 (NL 7; address bit 12 set encodes 16K)."""
    impl = AmdV1("amd-v1")
    assert impl.map(0x0, 0x100000, K16, RW) == 0
    drv = impl.driver
    level0 = drv.mem.pages[amd_walk(impl, 0x0)[-2] & ADDR_51_12]
    assert level0[:5] == [0x7000000000101E01] * 4 + [0]
    assert pte_page_size(0x7000000000101E01) == K16
    assert runs(impl) == [(0x0, 0x100000, K16, 1, RW)]


def test_amd_v1_2m_and_4m_pages():
    """A 2M page is one level-1 PTE with NL 0; a 4M page is two level-1 copies with NL 7."""
    impl = AmdV1("amd-v1")
    assert impl.map(M2, 0x40200000, M2, IOMMU_READ) == 0
    assert amd_walk(impl, M2)[-1] == 0x3000000040200001
    assert impl.map(M4, M4, M4, RW) == 0
    assert amd_walk(impl, M4)[-1] == amd_walk(impl, M4 + M2)[-1] == 0x70000000005FFE01
    assert impl.iova_to_phys(0x5ABCDE) == 0x5ABCDE


def test_amd_v1_map_inside_a_larger_page_replaces_all_of_it():
    """A 4K map inside a live 2M page succeeds; the 2M page is gone and its level-1 entry becomes a table."""
    impl = AmdV1("amd-v1")
    assert impl.map(M2, 0x40200000, M2, RW) == 0
    assert impl.counters.table_pages == 2
    assert impl.map(0x201000, 0x5000, K4, RW) == 0
    assert runs(impl) == [(0x201000, 0x5000, K4, 1, RW)]
    assert impl.iova_to_phys(M2) == 0
    assert impl.counters.table_pages == 3


def test_amd_v1_map_over_a_larger_page_at_the_same_level_clears_all_its_copies():
    """A 4K map over half of an 8K page clears both of its copies (the departure from Linux the module documents)."""
    impl = AmdV1("amd-v1")
    assert impl.map(0x0, 0x8000, 0x2000, RW) == 0
    assert impl.map(0x1000, 0x3000, K4, RW) == 0
    assert runs(impl) == [(0x1000, 0x3000, K4, 1, RW)]


def test_amd_v1_unmap_inside_a_large_page_clears_all_of_it():
    """A 4K unmap inside a 64K page clears its sixteen copies and returns 64K."""
    impl = AmdV1("amd-v1")
    assert impl.map(K64, K64, K64, RW) == 0
    assert impl.unmap(0x14000, K4) == K64
    assert runs(impl) == []


def test_amd_v1_unmap_counts_holes_inside_a_level0_table():
    """After map and unmap of a 4K page the level-0 table stays, and unmapping 12K of holes there returns 12K."""
    impl = AmdV1("amd-v1")
    assert impl.map(0x0, 0x0, K4, RW) == 0
    assert impl.unmap(0x0, K4) == K4
    assert impl.counters.table_pages == 3
    assert impl.unmap(0x1000, 0x3000) == 0x3000
    assert impl.unmap(M2, K4) == 0


def test_amd_v1_2m_page_frees_the_level0_table():
    """A 2M map over an emptied level-0 table frees it: one table page fewer, and a hole there stops unmap."""
    impl = AmdV1("amd-v1")
    assert impl.map(0x0, 0x0, K4, RW) == 0
    assert impl.unmap(0x0, K4) == K4
    assert impl.map(0x0, 0x0, M2, RW) == 0
    assert impl.counters.table_pages == 2
    assert impl.unmap(0x0, M2) == M2
    assert impl.unmap(0x0, K4) == 0


def test_amd_v1_fail_alloc_keeps_the_tables_already_made():
    """The second table of a fresh 4K map fails: -ENOMEM, no leaves, the first new table stays;
    domain_free frees all."""
    impl = AmdV1("amd-v1")
    impl.fail_alloc(1)
    assert impl.map(0x0, 0x0, K4, RW) == -ENOMEM
    assert runs(impl) == []
    assert impl.counters.table_pages == 2
    assert impl.domain_free() == 0


def test_amd_v1_invalidation_covers_an_aligned_power_of_two():
    """build_inv_address: [0x3000, 0x5000) is flushed as 32K at 0; one page as itself; a range differing above bit 51 as all."""
    assert inv_range(0x3000, 0x2000) == ("range", 0x0, 0x8000)
    assert inv_range(0x5000, 0x1000) == ("range", 0x5000, 0x1000)
    assert inv_range(0x7FFFFFFFF000, 0x2000) == ("range", 0x0, 1 << 48)
    assert inv_range(0x0, 1 << 52) == ("range", 0x0, 1 << 52)
    assert inv_range(0x0, 1 << 53) == ("all",)


def test_amd_v1_supports_only_its_profile():
    """amd_v1 serves the amd-v1 profile and is held to the amd-v1 variant."""
    assert [p for p in ("amd-v1", "amd-v2", "intel-vtd") if AmdV1.supports(p)] == ["amd-v1"]
    assert AmdV1("amd-v1").semantics.name == "amd-v1"
