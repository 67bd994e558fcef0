"""Unit tests of the model's amd-v1 variant (the legacy AMD v1 table), with concrete vectors.

Expected values are worked out by hand from drivers/iommu/amd/io_pgtable.c
(``iommu_v1_map_pages``, ``alloc_pte``, ``free_clear_pte``, ``fetch_pte``,
``iommu_v1_unmap_pages``) and the core's loop in drivers/iommu/iommu.c.  The
last section pins UNMAP_RANGE, the generic-pt rule the generic_pt table's
difftest found.
"""

from spec import IOMMU_READ, IOMMU_WRITE, ReferenceDomain, get_semantics
from spec.errors import EINVAL, ENOMEM

RW = IOMMU_READ | IOMMU_WRITE
K4, K16, K64, M2 = 0x1000, 0x4000, 0x10000, 0x200000


def amd():
    return ReferenceDomain("amd-v1", "amd-v1")


def leaves(d):
    return [tuple(r) for r in d.leaves()]


# -- the variant ------------------------------------------------------------------------

def test_amd_v1_variant_points():
    """amd-v1 replaces on map, unmaps whole PTEs wherever the request starts, and steps over 4K holes in tables."""
    s = get_semantics("amd-v1")
    assert (s.map_over_live, s.partial_unmap, s.hole_in_table) == ("replace", "whole_any", 0x1000)
    assert (s.exists_errno, s.map_zero_size, s.per_table_batches, s.unmap_slots) == (0, 0, False, False)
    assert not s.unmap_range_checked


def test_existing_variants_keep_fail_and_stop():
    """The variants that existed before amd-v1 still fail over live leaves and stop at holes."""
    for name in ("arm-lpae-v6.13", "arm-lpae-v6.14", "arm-v7s", "generic-pt"):
        s = get_semantics(name)
        assert (s.map_over_live, s.hole_in_table) == ("fail", 0)


# -- MAP_REPLACE_LEAVES -----------------------------------------------------------------

def test_map_over_an_equal_leaf_replaces_it():
    """A 4K map over a live 4K leaf succeeds and the new translation and prot win."""
    d = amd()
    assert d.map(0x0, 0x100000, K4, RW) == 0
    assert d.map(0x0, 0x200000, K4, IOMMU_READ) == 0
    assert leaves(d) == [(0x0, 0x200000, K4, 1, IOMMU_READ)]
    # Linux flushes nothing for a same-level overwrite: a defect class of its own
    assert d.decided == ["MAP_REPLACE_LEAVES", "MAP_REPLACE_LEAF_UNFLUSHED", "MAP_PAGES_INSTALL"]


def test_map_inside_a_larger_leaf_removes_all_of_it():
    """A 4K map inside a live 2M leaf removes the whole 2M leaf: the rest of it becomes unmapped."""
    d = amd()
    assert d.map(0x200000, 0x40200000, M2, RW) == 0
    assert d.map(0x201000, 0x5000, K4, RW) == 0
    assert leaves(d) == [(0x201000, 0x5000, K4, 1, RW)]
    assert d.iova_to_phys(0x200000) == 0
    assert d.iova_to_phys(0x201234) == 0x5234


def test_map_of_a_larger_page_over_smaller_leaves_replaces_them():
    """A 16K map over two live 4K leaves and a hole installs one 16K leaf."""
    d = amd()
    assert d.map(0x0, 0x7000, K4, RW) == 0
    assert d.map(0x3000, 0x9000, K4, RW) == 0
    assert d.map(0x0, 0x10000, K16, IOMMU_WRITE) == 0
    assert leaves(d) == [(0x0, 0x10000, K16, 1, IOMMU_WRITE)]


def test_map_pages_over_live_leaves_maps_everything():
    """Driver map_pages over live leaves reports every page mapped, with ret 0."""
    d = amd()
    assert d.map(0x1000, 0x1000, K4, RW) == 0
    assert d.map_pages(0x0, 0x50000, K4, 3, RW) == (0, 0x3000)
    assert leaves(d) == [(0x0, 0x50000, K4, 3, RW)]


# -- UNMAP_PARTIAL_LEAF (whole_any) -------------------------------------------------------

def test_unmap_starting_inside_a_large_page_unmaps_all_of_it():
    """A 4K unmap in the middle of a 64K page clears the page and returns 64K."""
    d = amd()
    assert d.map(K64, K64, K64, RW) == 0
    assert d.unmap(0x14000, K4) == K64
    assert leaves(d) == []
    assert d.decided == ["UNMAP_PARTIAL_LEAF"]


def test_the_core_moves_on_by_the_count_from_where_it_started():
    """unmap(0x2000, 16K) over a 16K page at 0 counts 16K and stops, so the 4K page at 0x5000 stays."""
    d = amd()
    assert d.map(0x0, 0x0, K16, RW) == 0
    assert d.map(0x5000, 0x5000, K4, RW) == 0
    # iommu_pgsize gives (8K, 2): one driver call of 16K; fetch_pte finds the
    # 16K page at 0x2000, clears it and counts 16K, which ends both loops.
    assert d.unmap(0x2000, K16) == K16
    assert leaves(d) == [(0x5000, 0x5000, K4, 1, RW)]


def test_unmap_past_the_end_of_a_leaf_counts_it_whole():
    """A 4K unmap at the base of a 2M page returns 2M."""
    d = amd()
    assert d.map(M2, M2, M2, RW) == 0
    assert d.unmap(M2, K4) == M2
    assert leaves(d) == []


# -- UNMAP_HOLE_IN_TABLE / UNMAP_HOLE ------------------------------------------------------

def test_a_hole_inside_a_last_level_table_counts_as_unmapped():
    """After a 4K page at 0 was mapped and unmapped, unmapping 12K more at 0x1000 returns 12K."""
    d = amd()
    assert d.map(0x0, 0x0, K4, RW) == 0
    assert d.unmap(0x0, K4) == K4
    assert d.unmap(0x1000, 0x3000) == 0x3000
    assert d.decided == ["UNMAP_HOLE_IN_TABLE"] * 2  # iommu_pgsize: (4K, 1), then (8K, 1)


def test_a_hole_above_the_last_level_stops_the_unmap():
    """Where no page smaller than 2M was ever mapped there is no level-0 table, and unmap returns 0."""
    d = amd()
    assert d.map(0x0, 0x0, K4, RW) == 0
    assert d.unmap(M2, K4) == 0
    assert d.decided == ["UNMAP_HOLE"]


def test_unmap_steps_over_holes_to_a_leaf_and_stops_past_the_table():
    """unmap(0x1fe000, 12K) over a 4K page at 0x1ff000 counts the hole and the page, then stops at 2M."""
    d = amd()
    assert d.map(0x1FF000, 0x1FF000, K4, RW) == 0
    assert d.unmap(0x1FE000, 0x3000) == 0x2000
    assert leaves(d) == []
    # iommu_pgsize: (8K, 1) counts the hole at 0x1fe000 and the page; then (4K, 1) at 2M.
    assert d.decided == ["UNMAP_HOLE_IN_TABLE", "UNMAP_LEAVES", "UNMAP_HOLE"]


def test_a_2m_page_frees_the_last_level_table_under_it():
    """A 2M map over a region with a level-0 table frees it: a later hole there stops the unmap."""
    d = amd()
    assert d.map(0x0, 0x0, K4, RW) == 0
    assert list(d.last_level_tables) == [0x0]
    assert d.map(0x0, 0x0, M2, RW) == 0
    assert list(d.last_level_tables) == []
    assert d.unmap(0x0, M2) == M2
    assert d.unmap(0x0, K4) == 0


def test_map_sg_rollback_does_not_undo_replacements():
    """A failed map after a replacing one leaves the replaced leaf gone (rolled back maps unmap only what they mapped)."""
    d = amd()
    assert d.map(0x0, 0x0, M2, RW) == 0
    # The second run (0x800 bytes at 0x300800) is misaligned and fails with -EINVAL;
    # the first run (4K at 0) already replaced the 2M page and is unmapped again.
    assert d.map_sg(0x0, [(0x100000, 0, K4), (0x300800, 0, 0x800)], RW) == -EINVAL
    assert leaves(d) == []


# -- UNMAP_RANGE (generic-pt) ---------------------------------------------------------------

def test_generic_pt_unmap_running_past_ias_unmaps_nothing():
    """Under generic-pt, unmap(2^48 - 4K, 8K) returns 0 and keeps the live leaf: the driver call's range is past 2^48."""
    d = ReferenceDomain("intel-vtd", "generic-pt")
    assert d.map(0xFFFFFFFFF000, 0x0, K4, RW) == 0
    assert d.unmap(0xFFFFFFFFF000, 0x2000) == 0
    assert d.decided == ["UNMAP_RANGE"]
    assert leaves(d) == [(0xFFFFFFFFF000, 0x0, K4, 1, RW)]


def test_arm_unmap_running_past_ias_unmaps_what_is_below():
    """Under arm-lpae, the same unmap clears the last 4K page (only the start is checked) and stops at 2^48."""
    d = ReferenceDomain("arm-lpae-4k", "arm-lpae-v6.14")
    assert d.map(0xFFFFFFFFF000, 0x0, K4, RW) == 0
    assert d.unmap(0xFFFFFFFFF000, 0x2000) == K4
    assert leaves(d) == []



# -- what Linux's own AMD v1 table (Debian 6.1.192, 6.12.118) does differently ----------------
# Each is a defect class of its own: the model states the mapping asked for, names the call,
# and tests/test_linux_findings.py replays it on the trees.

def test_no_range_check_and_the_iova_wraps_in_the_driver():
    """iommu_v1_map_pages checks no range: the table grows to any 64-bit IOVA, and a batch that
    crosses 2^64 wraps to IOVA 0 page by page (unsigned long iova += pgsize)."""
    d = amd()
    assert d.map(1 << 60, 0x1000, K4, RW) == 0 and d.decided == ["MAP_PAGES_INSTALL"]
    assert d.map_pages((1 << 64) - K4, 0x5000, K4, 2, RW) == (0, 2 * K4)
    assert d.iova_to_phys(0) == 0x6000 and d.iova_to_phys((1 << 64) - K4) == 0x5000
    assert d.unmap_pages((1 << 64) - K4, K4, 2) == 2 * K4 and d.iova_to_phys(0) == 0


def test_paddr_past_oas_is_accepted_and_named():
    """No paddr check either: a physical range past 2^52 runs into the PTE's flag bits."""
    d = amd()
    assert d.map(0, (1 << 52) - K4, 2 * K4, RW) == 0 and "PADDR_PAST_OAS" in d.decided


def test_part_of_a_pte_group_is_named():
    """A 4K page over half of an 8K page (two level-0 PTEs): Linux leaves the other copy."""
    d = amd()
    assert d.map(0, 0, 2 * K4, RW) == 0
    assert d.map(0, 0x10000, K4, RW) == 0
    assert "MAP_REPLACE_PTE_GROUP" in d.decided and leaves(d) == [(0, 0x10000, K4, 1, RW)]


def test_tearing_down_a_larger_page_is_named():
    """A 4K page inside a 2M page: 6.12 flushes only the 4K it maps, not the rest of the 2M."""
    d = amd()
    assert d.map(0, 0, M2, RW) == 0
    assert d.map(K4, K4, K4, RW) == 0
    assert "MAP_TEARDOWN_FLUSH_SHORT" in d.decided and "MAP_REPLACE_LEAF_UNFLUSHED" not in d.decided


def test_a_page_above_the_top_level_is_named():
    """6.1's alloc_pte grows the 3-level table by the start address only: a 2^51 page at IOVA 0
    is above its top level; once a high IOVA grew the table, the same page is not."""
    d = amd()
    assert d.map(0, 0, 1 << 51, RW) == 0 and d.decided[0] == "MAP_PAGE_ABOVE_TOP"
    e = amd()
    assert e.map(1 << 60, 0, K4, RW) == 0 and e.amd_mode == 6
    assert e.map(0, 0, 1 << 51, RW) == 0 and "MAP_PAGE_ABOVE_TOP" not in e.decided


def test_fail_alloc_is_predicted_and_the_tables_made_stay():
    """alloc_pte's allocations, in order: the tables on the way down (and a new top level when
    the page needs one).  The (after+1)-th fails: -ENOMEM (MAP_FAIL_ALLOC), the pages before
    are rolled back, the tables made before it stay, so an unmap later steps over the holes in
    a last-level table it made (UNMAP_HOLE_IN_TABLE), as Linux 6.1 and 6.12 do."""
    d = amd()
    assert d.map(0, 0, K4, RW) == 0                       # level-1 and level-0 tables: 2 allocations
    d.fail_alloc(1)
    assert d.map(0x3ff000, 0, 2 * K4, RW) == -ENOMEM      # [2M, 4M) table made, [4M, 6M) fails
    assert d.decided == ["MAP_PAGES_INSTALL", "MAP_FAIL_ALLOC", "UNMAP_LEAVES", "MAP_ROLLBACK"]
    assert list(d.last_level_tables) == [0, M2]
    assert d.unmap_pages(0, 0x100000, 3) == 0x300000      # 4K leaf, then holes counted to 3M


def test_fail_alloc_after_a_level_size_page_was_replaced():
    """A 1G page on the way is replaced by a table once that table is allocated: the next
    allocation failing leaves the 1G page gone (MAP_REPLACE_LEAVES before MAP_FAIL_ALLOC)."""
    d = amd()
    assert d.map_pages(0, 0, 1 << 30, 1, RW) == (0, 1 << 30)
    d.fail_alloc(1)
    assert d.map(K4, 0, K4, RW) == -ENOMEM
    assert d.decided[:3] == ["MAP_REPLACE_LEAVES", "MAP_TEARDOWN_FLUSH_SHORT", "MAP_FAIL_ALLOC"]
    assert leaves(d) == []
