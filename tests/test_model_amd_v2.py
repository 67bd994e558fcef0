"""Unit tests of the model's amd-v2 variant (AMD's v2 table, v6.1 to v6.18), with concrete vectors.

Expected values are worked out by hand from drivers/iommu/amd/io_pgtable_v2.c
(``iommu_v2_map_pages``, ``v2_alloc_pte``, ``fetch_pte``,
``iommu_v2_unmap_pages``, ``iommu_v2_iova_to_phys``) of Debian's 6.1.192 and
6.12.118, and the core's loop in drivers/iommu/iommu.c.  Each test names
the line it follows.
"""

from spec import IOMMU_READ, IOMMU_WRITE, ReferenceDomain, get_semantics
from spec.errors import EINVAL, ENOMEM

RW = IOMMU_READ | IOMMU_WRITE
K4, M2, G1 = 0x1000, 0x200000, 0x40000000


def v2():
    return ReferenceDomain("amd-v2", "amd-v2")


def leaves(d):
    return [tuple(r) for r in d.leaves()]


def test_amd_v2_variant_points():
    """amd-v2 shares v1's replace-on-map and whole-PTE unmap, on a fixed 4-level table."""
    s = get_semantics("amd-v2")
    assert (s.map_over_live, s.partial_unmap, s.hole_in_table) == ("replace", "whole_any", K4)
    assert (s.fixed_levels, s.teardown_first, s.replace_flush, s.teardown_frees_leaf) == \
        (4, True, "replaced", True)
    assert get_semantics("amd-v1").fixed_levels == 0


def test_prot_without_read_or_write_is_einval():
    """iommu_v2_map_pages: `if (!(prot & IOMMU_PROT_MASK)) return -EINVAL;`"""
    d = v2()
    assert d.map(0, 0, K4, 0) == -EINVAL and leaves(d) == []


def test_4k_over_a_live_4k_is_replaced_and_flushed():
    """v2_alloc_pte "Tear down existing pte entries": a present level-0 PTE is overwritten and
    *updated set, so the map flushes (no MAP_REPLACE_LEAF_UNFLUSHED, unlike v1)."""
    d = v2()
    assert d.map(0, 0x100000, K4, RW) == 0
    assert d.map(0, 0x200000, K4, IOMMU_READ) == 0
    assert leaves(d) == [(0, 0x200000, K4, 1, IOMMU_READ)]
    assert d.decided == ["MAP_REPLACE_LEAVES", "MAP_PAGES_INSTALL"]


def test_4k_inside_a_2m_page_tears_it_down_whole():
    """v2_alloc_pte: a present large PTE on the way down is cleared (`cmpxchg64(pte, *pte,
    0ULL)`) and a table put in its place: the rest of the 2M page is unmapped.  One page
    written: 6.1 flushes only o_iova's 4K (MAP_REPLACE_FLUSH_ONE_PAGE), 6.12 only the new
    range (MAP_TEARDOWN_FLUSH_SHORT)."""
    d = v2()
    assert d.map(M2, 0x40200000, M2, RW) == 0
    assert d.map(M2 + K4, 0x5000, K4, RW) == 0
    assert leaves(d) == [(M2 + K4, 0x5000, K4, 1, RW)]
    assert d.decided == ["MAP_REPLACE_LEAVES", "MAP_TEARDOWN_FLUSH_SHORT", "MAP_PAGES_INSTALL",
                         "MAP_REPLACE_FLUSH_ONE_PAGE"]


def test_2m_over_a_table_of_4k_pages_frees_it():
    """The tear-down frees the level-0 table under a new 2M page (iommu_free_page), with the
    4K leaves in it; a second page in the same call makes 6.1 flush everything."""
    d = v2()
    assert d.map(K4, K4, K4, RW) == 0
    assert d.map(0, 0, 2 * M2, RW) == 0
    assert leaves(d) == [(0, 0, M2, 2, RW)]
    assert "MAP_REPLACE_FLUSH_ONE_PAGE" not in d.decided
    assert list(d.last_level_tables) == []


def test_2m_over_a_live_2m_is_named_frees_page():
    """The tear-down frees get_pgtable_pte(*pte) for a 2M page without checking PSE: over a
    live 2M leaf that is the old page's memory (MAP_REPLACE_FREES_PAGE); the mapping ends as
    the new page."""
    d = v2()
    assert d.map(0, 0, M2, RW) == 0
    assert d.map(0, 0x40000000, M2, RW) == 0
    assert "MAP_REPLACE_FREES_PAGE" in d.decided
    assert leaves(d) == [(0, 0x40000000, M2, 1, RW)]


def test_unmap_inside_a_2m_page_removes_it_and_counts_2m():
    """iommu_v2_unmap_pages: fetch_pte finds the 2M PTE for the address; it is cleared and
    unmap_size (2M) counted, wherever the request starts."""
    d = v2()
    assert d.map(M2, 0, M2, RW) == 0
    assert d.unmap(M2 + 0x3000, K4) == M2
    assert leaves(d) == []


def test_a_hole_in_a_level_0_table_counts_4k_and_a_hole_above_stops():
    """fetch_pte returns the level-0 PTE unchecked (4K counted); a missing level-1 entry
    returns NULL and the unmap stops."""
    d = v2()
    assert d.map(0, 0, K4, RW) == 0
    assert d.unmap_pages(0, K4, 512) == M2         # the 4K leaf and 511 holes in its table
    assert d.unmap_pages(M2, K4, 1) == 0           # no level-0 table for [2M, 4M)


def test_no_range_check_and_the_index_drops_bits_above_48():
    """PM_LEVEL_INDEX keeps 9 bits per level: a map past 2^48 is accepted (IOVA_PAST_IAS),
    and iova_to_phys of 2^48 + x reads x (IOVA_TO_PHYS_WRAP)."""
    d = v2()
    assert d.map(0x5000, 0x9000, K4, RW) == 0
    assert d.iova_to_phys((1 << 48) + 0x5123) == 0x9123
    assert d.decided == ["IOVA_TO_PHYS_WRAP", "IOVA_TO_PHYS"]
    assert d.iova_to_phys(0x5123) == 0x9123 and d.decided == ["IOVA_TO_PHYS"]
    e = v2()
    assert e.map(1 << 48, 0, K4, RW) == 0 and "IOVA_PAST_IAS" in e.decided


def test_fail_alloc_after_a_large_page_was_cleared():
    """v2_alloc_pte clears the 1G page before allocating the table for it: the allocation
    failing leaves the 1G page gone (MAP_REPLACE_LEAVES before MAP_FAIL_ALLOC), v1's order
    reversed."""
    d = v2()
    assert d.map(0, 0, G1, RW) == 0                # pgd entry's level-2 table: 1 allocation
    d.fail_alloc(0)
    assert d.map(K4, K4, K4, RW) == -ENOMEM
    assert d.decided[0] == "MAP_REPLACE_LEAVES" and "MAP_FAIL_ALLOC" in d.decided
    assert leaves(d) == []
