"""The model's tables under io-pgtable variants: kept when empty, counted by unmap slots, made by maps.

Expected values are worked out by hand from drivers/iommu/io-pgtable-arm.c,
io-pgtable-arm-v7s.c and io-pgtable-dart.c as of Debian's 6.1.192 and 6.12.118.
"""

import pytest

from spec import IOMMU_READ, IOMMU_WRITE, ReferenceDomain, SpecUsageError
from spec.errors import EEXIST, ENOMEM
from spec.tables import dart_geometry, lpae_geometry, lpae_s2_geometry, v7s_geometry

RW = IOMMU_READ | IOMMU_WRITE
K4, K16, K64, M1, M2, M16, M32, G1 = (0x1000, 0x4000, 0x10000, 0x100000, 0x200000, 0x1000000,
                                      0x2000000, 0x40000000)


def leaves(d):
    return [tuple(r) for r in d.leaves()]


def test_geometries_follow_the_io_pgtable_formats():
    """LPAE levels from granule and ias, v7s's 1M/4K levels, DART's two 2048-entry levels."""
    assert lpae_geometry(K4, 48).levels == (1 << 39, G1, M2, K4)
    assert lpae_geometry(K16, 48).levels == (1 << 47, 1 << 36, M32, K16)
    assert lpae_geometry(K64, 48).levels == (1 << 42, 1 << 29, K64)
    assert v7s_geometry(32).levels == (M1, K4) and v7s_geometry(32).slot(K64) == K4
    g = dart_geometry(K16)
    assert g.levels == (M32, K16) and g.top == 1 << 36


def test_stage_2_concatenates_a_small_level_0_pgd():
    """arm_64_lpae_alloc_pgtable_s2: a level-0 pgd of <= 16 entries is folded into level 1.

    At ias 48 the 16K granule's pgd has 2 entries (2^48 / 2^47): the root then maps 2^36
    per entry and there are no level-1 tables; 4K (512 entries) and 64K (the walk starts
    at level 1) keep stage 1's levels.  At ias 40 the 4K pgd has 2 entries: folded too."""
    assert lpae_s2_geometry(K16, 48).levels == (1 << 36, M32, K16)
    assert lpae_s2_geometry(K4, 48).levels == lpae_geometry(K4, 48).levels
    assert lpae_s2_geometry(K64, 48).levels == lpae_geometry(K64, 48).levels
    assert lpae_s2_geometry(K4, 40).levels == (G1, M2, K4)
    d = ReferenceDomain("arm-lpae-16k", "arm-lpae-s2-v6.14")
    assert d.map(0, 0, K16, RW) == 0
    assert d.table_listing() == [(0, M32), (0, 1 << 36)]


def test_a_4k_map_makes_the_tables_on_its_way_down():
    """A 4K page under 4K LPAE needs the level 1, 2 and 3 tables, which the map makes ("TABLE_LIFETIME")."""
    d = ReferenceDomain("arm-lpae-4k", "arm-lpae-v6.14")
    assert d.map(0, 0, K4, RW) == 0
    assert d.table_listing() == [(0, M2), (0, G1), (0, 1 << 39)]


def test_an_emptied_table_stays_and_an_unmap_slot_over_it_counts():
    """TABLE_LIFETIME / UNMAP_TABLE_SLOT: the last 4K leaf goes, its table stays; a 2M unmap there returns 2M."""
    d = ReferenceDomain("arm-lpae-4k", "arm-lpae-v6.14")
    assert d.map(0, 0, K4, RW) == 0
    assert d.unmap(0, K4) == K4
    assert (0, M2) in d.table_listing()
    assert d.unmap(0, M2) == M2 and d.decided == ["UNMAP_TABLE_SLOT"]
    assert (0, M2) not in d.table_listing()
    assert d.unmap(0, M2) == 0  # now a hole


def test_a_failed_map_keeps_the_tables_it_made():
    """TABLE_LIFETIME: a 4K map refused by a live 2M block... keeps nothing new; a refused 4K over a 4K keeps its path."""
    d = ReferenceDomain("arm-lpae-4k", "arm-lpae-v6.14")
    assert d.map(G1, G1, K4, RW) == 0
    before = d.table_listing()
    assert d.map(G1, 0x5000, K4, RW) == -EEXIST
    assert d.table_listing() == before
    assert d.map(2 * G1 + M2, 0, 2 * K4, RW) == 0 and d.unmap(2 * G1 + M2, 2 * K4) == 2 * K4
    assert (2 * G1 + M2, M2) in d.table_listing()


def test_map_fail_alloc_fails_the_call_with_enomem_and_keeps_earlier_tables():
    """MAP_FAIL_ALLOC: the second allocation of a 4K map's walk fails: -ENOMEM, the first table stays."""
    d = ReferenceDomain("arm-lpae-4k", "arm-lpae-v6.14")
    d.fail_alloc(1)
    assert d.map(0, 0, K4, RW) == -ENOMEM and d.decided == ["MAP_FAIL_ALLOC"]
    assert d.table_listing() == [(0, 1 << 39)] and leaves(d) == []


def test_fail_alloc_needs_a_table_format():
    """fail_alloc is refused where the model does not track tables (generic-pt)."""
    with pytest.raises(SpecUsageError):
        ReferenceDomain("intel-vtd", "generic-pt").fail_alloc(0)


def test_v7s_page_conflicts_with_a_live_page_of_its_own_level():
    """v7s MAP_EXISTS: a 4K page over a live 64K large page is -EEXIST (same level-2 table), not replaced."""
    d = ReferenceDomain("armv7s-mediatek", "arm-v7s")
    assert d.map(0, 0, K64, RW) == 0
    assert d.map(0, 0x100000, K4, RW) == -EEXIST
    assert leaves(d) == [(0, 0, K64, 1, RW)]


def test_v7s_16m_unmap_needs_every_entry_valid():
    """v7s UNMAP_HOLE: a 16M unmap over one 1M section and 15 empty entries clears nothing and returns 0."""
    d = ReferenceDomain("armv7s-mediatek", "arm-v7s")
    assert d.map(M16, M16, M1, RW) == 0
    assert d.unmap(M16, M16) == 0
    assert leaves(d) == [(M16, M16, M1, 1, RW)]


def test_v7s_v6_13_splits_a_section_into_pages_of_the_unmap_size():
    """v7s up to v6.13 UNMAP_PARTIAL_LEAF: 4K out of a 1M section leaves 255 4K pages in a new level-2 table."""
    d = ReferenceDomain("armv7s-mediatek", "arm-v7s-v6.13")
    assert d.map(M1, M1, M1, RW) == 0
    assert d.unmap(M1, K4) == K4
    assert leaves(d) == [(M1 + K4, M1 + K4, K4, 255, RW)]
    assert d.table_listing() == [(M1, M1)]


def test_v7s_v6_13_splits_a_supersection_into_sections_first():
    """v7s up to v6.13: 64K out of a 16M supersection leaves 15 sections and 15 64K large pages."""
    d = ReferenceDomain("armv7s-mediatek", "arm-v7s-v6.13")
    assert d.map(M16, M16, M16, RW) == 0
    assert d.unmap(M16, K64) == K64
    assert leaves(d) == [(M16 + K64, M16 + K64, K64, 15, RW), (M16 + M1, M16 + M1, M1, 15, RW)]


def test_dart_never_checks_the_iova():
    """apple-dart: a map at 2^32 (past ias 32) is accepted and named IOVA_PAST_IAS."""
    d = ReferenceDomain("apple-dart")
    assert d.map(1 << 32, 0, K16, RW) == 0 and "IOVA_PAST_IAS" in d.decided


def test_a_slot_over_a_run_of_smaller_leaves_frees_their_table():
    """UNMAP_TABLE_SLOT: a 2M unmap over a table full of 4K leaves frees the table, not just the leaves."""
    d = ReferenceDomain("arm-lpae-4k", "arm-lpae-v6.13")
    assert d.map(M2, 0x1000, M2, RW) == 0  # incongruent paddr: 512 4K pages
    assert d.unmap_pages(M2, M2, 1) == M2 and d.decided == ["UNMAP_TABLE_SLOT"]
    assert (M2, M2) not in d.table_listing() and leaves(d) == []


def test_v7s_16m_unmap_frees_a_table_among_its_sections():
    """v7s: a 16M unmap over 15 sections and one level-2 table clears all 16 entries and frees the table."""
    d = ReferenceDomain("armv7s-mediatek", "arm-v7s-v6.13")
    assert d.map(M16 - K4, 0xff000, M16, RW) == 0  # misaligned start: a 4K page, 15 sections, 4K pages
    assert d.unmap_pages(M16, M16, 1) == M16 and d.decided == ["UNMAP_TABLE_SLOT"]
    assert [t for t in d.table_listing() if t[0] >= M16] == []
    assert leaves(d) == [(M16 - K4, 0xff000, K4, 1, RW)]
