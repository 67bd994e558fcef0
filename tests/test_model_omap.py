"""Unit tests of the model's ``omap`` variant: drivers/iommu/omap-iommu.c's own table.

Worked out from omap_iommu_map / iopgtable_store_entry and omap_iommu_unmap /
iopgtable_clear_entry as Debian's 6.1.192 and 6.12.118 have them (the same table code), and
the core's loop; they agree with the driver run through the kernel harness
(tests/test_linuxpt_omap.py).
"""

from spec import ReferenceDomain

RW, K4, K64, M1, M16 = 3, 0x1000, 0x10000, 0x100000, 0x1000000


def omap():
    return ReferenceDomain("omap", "omap")


def leaves(d):
    return [tuple(r) for r in d.leaves()]


def test_a_map_overwrites_what_its_level_holds():
    """No check: 4K over 4K and 1M over 1M are overwritten (MAP_OVERWRITE); prot is unread."""
    d = omap()
    assert d.map(0, M1, K4, RW) == 0 and d.map(0, 2 * M1, K4, 0) == 0
    assert "MAP_OVERWRITE" in d.decided and leaves(d) == [(0, 2 * M1, K4, 1, 0)]
    assert d.map(M1, M16, M1, RW) == 0 and d.map(M1, 2 * M16, M1, RW) == 0
    assert d.iova_to_phys(M1 + 0x123) == 2 * M16 + 0x123


def test_a_section_over_small_pages_leaks_their_table():
    """iopgd_alloc_section writes over the L2 table pointer (MAP_OVERWRITE_LEAKS_TABLE)."""
    d = omap()
    d.map(0, M1, K4, RW)
    assert d.map(0, M16, M1, RW) == 0
    assert "MAP_OVERWRITE_LEAKS_TABLE" in d.decided and leaves(d) == [(0, M16, M1, 1, RW)]


def test_a_page_over_one_copy_of_a_large_page_keeps_the_others():
    """4K over one of a 64K page's 16 copies: the other 15 translate as before
    (MAP_OVERWRITE_PART)."""
    d = omap()
    d.map(0, M1, K64, RW)
    assert d.map(K4, 2 * M1, K4, RW) == 0 and "MAP_OVERWRITE_PART" in d.decided
    assert d.iova_to_phys(0) == M1 and d.iova_to_phys(K4) == 2 * M1
    assert d.iova_to_phys(2 * K4) == M1 + 2 * K4


def test_a_small_page_under_a_section_changes_nothing():
    """iopte_alloc takes the section for an L2 table and writes into its memory
    (MAP_UNDER_SUPERPAGE): the call returns 0, the section still translates."""
    d = omap()
    d.map(M1, M16, M1, RW)
    assert d.map(M1 + 5 * K4, 0x900000, K4, RW) == 0 and "MAP_UNDER_SUPERPAGE" in d.decided
    assert d.iova_to_phys(M1 + 5 * K4) == M16 + 5 * K4


def test_unmap_clears_the_whole_leaf_at_its_address_one_per_call():
    """iopgtable_clear_entry: the whole 64K (16 copies) from inside it, returning 64K; a hole
    in a live L2 table is one 4K entry; a hole at the PGD ends the unmap."""
    d = omap()
    d.map(0, M1, K64, RW)
    d.map(K64 + K4, 2 * M1, K4, RW)
    assert d.unmap(K4, K4) == K64 and d.iova_to_phys(0) == 0
    assert d.unmap(K64, K4) == K4 and "UNMAP_HOLE_IN_TABLE" in d.decided
    assert d.unmap(2 * M1, K4) == 0 and "UNMAP_HOLE" in d.decided
    assert leaves(d) == [(K64 + K4, 2 * M1, K4, 1, RW)]
