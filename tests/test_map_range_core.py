"""The v7.1 core for iommupt domains (``core="map_range"``), check by check, from the source.

Source: drivers/iommu/generic_pt/iommu_pt.h at joergroedel/linux-iommu
8ef3f77c4400 (``map_range``, ``make_range_ul``, ``check_map_range``,
``__map_range_leaf``, ``__unmap_range``, ``unmap_range``, ``iova_to_phys``)
and drivers/iommu/iommu.c ``iommu_map_nosync`` / ``__iommu_unmap`` after
d6c65b0fd621 ("iommupt: Avoid rewalking during map") and 99fb8afa16ad
("iommupt: Directly call iommupt's unmap_range()"), v7.1.  Each expected
value below is read off that source, not computed by the model.
"""

import pytest

from impls import IMPLEMENTATIONS
from spec import IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE, ReferenceDomain, SpecUsageError
from spec.errors import EADDRINUSE, EINVAL, ENXIO, EOVERFLOW, ERANGE

RW = IOMMU_READ | IOMMU_WRITE
K4, M2, G1 = 1 << 12, 1 << 21, 1 << 30
U64 = 1 << 64


def v71(bitmap=None):
    return ReferenceDomain("intel-vtd", "generic-pt", pgsize_bitmap=bitmap, core="map_range")


def v70():
    return ReferenceDomain("intel-vtd", "generic-pt")


def runs(d):
    return [(r.iova, r.paddr, r.pgsize, r.count) for r in d.leaves()]


# -- map: the checks in map_range's order -------------------------------------------------

def test_prot_without_access_is_einval_before_anything_else():
    """`if (WARN_ON(!(prot & (IOMMU_READ | IOMMU_WRITE)))) return -EINVAL;` comes first: even
    a zero-length map at a paddr past the OA size gets -EINVAL."""
    d = v71()
    assert d.map(0, 1 << 52, 0, IOMMU_CACHE) == -EINVAL and d.decided == ["MAP_PROT"]


def test_start_paddr_past_oas_is_erange_before_the_length():
    """`oalog2_div(paddr, common->max_oasz_lg2)` -> -ERANGE, checked before make_range_no_check,
    so a length of 0 there is -ERANGE, not -EINVAL."""
    d = v71()
    assert d.map(0, 1 << 52, 0, RW) == -ERANGE and d.decided == ["MAP_RANGE_OA"]
    assert d.map(0, 1 << 52, K4, RW) == -ERANGE


def test_zero_length_is_einval():
    """make_range_ul: `if (unlikely(len == 0)) return -EINVAL;` (the classic core returned 0)."""
    assert v71().map(K4, K4, 0, RW) == -EINVAL
    assert v70().map(K4, K4, 0, RW) == 0


def test_wrap_past_2_64_is_eoverflow():
    """make_range_ul: `check_add_overflow(iova, len - 1, &last)` -> -EOVERFLOW, before the
    range check; a range ending exactly at 2^64 does not overflow (and is -ERANGE)."""
    d = v71()
    assert d.map(U64 - K4, 0, 2 * K4, RW) == -EOVERFLOW and d.decided == ["MAP_OVERFLOW"]
    assert d.map(U64 - K4, 0, K4, RW) == -ERANGE and d.decided == ["MAP_RANGE"]


@pytest.mark.parametrize("iova,paddr,size", [(0x800, 0, K4), (0, 0x800, K4), (0, 0, 0x800),
                                             (0, 0, 1), (K4 + 1, 0, 2 * K4)])
def test_misalignment_is_enxio_not_einval(iova, paddr, size):
    """No core alignment check any more: the 4K fast path's `log2_mod(iova | paddr,
    PAGE_SHIFT)` or `pt_compute_best_pgsize(...) == 0` -> -ENXIO (the classic core: -EINVAL)."""
    d = v71()
    assert d.map(iova, paddr, size, RW) == -ENXIO and d.decided == ["MAP_NO_PGSIZE"]
    assert runs(d) == []
    assert v70().map(iova, paddr, size, RW) == -EINVAL


def test_aligned_start_with_a_ragged_length_maps_then_rolls_back():
    """len 6K at 0: one 4K leaf is written, the 2K tail has no page size (-ENXIO with
    *mapped = 4K), and iommu_map_nosync's `iommu_unmap(domain, iova, mapped)` removes it."""
    d = v71()
    assert d.map(0, 0, 0x1800, RW) == -ENXIO
    assert d.decided == ["MAP_PAGES_INSTALL", "MAP_NO_PGSIZE", "MAP_RANGE_TAIL", "UNMAP_LEAVES",
                         "MAP_ROLLBACK"]
    assert runs(d) == []


def test_the_range_check_covers_the_whole_request_before_any_write():
    """check_map_range: pt_check_range over [iova, iova + len - 1] -> -ERANGE, before do_map,
    so a live leaf inside the range does not get its -EADDRINUSE first."""
    d = v71()
    top = 1 << 48
    assert d.map(top - K4, 0, K4, RW) == 0
    assert d.map(top - 2 * K4, K4, 3 * K4, RW) == -ERANGE and d.decided == ["MAP_RANGE"]
    c = v70()  # the classic core's first map_pages call meets the live leaf first
    assert c.map(top - K4, 0, K4, RW) == 0
    assert c.map(top - 2 * K4, K4, 2 * K4, RW) == -EADDRINUSE


def test_only_the_start_paddr_is_checked():
    """map_range checks paddr, not paddr + len: a physical range crossing 2^oas is accepted
    (PADDR_PAST_OAS names what the table then holds)."""
    d = v71()
    assert d.map(0, (1 << 52) - K4, 2 * K4, RW) == 0
    assert "PADDR_PAST_OAS" in d.decided


def test_a_live_leaf_is_eaddrinuse_and_the_pages_before_it_are_rolled_back():
    """__map_range_leaf: clear_contig returns -EADDRINUSE for a present leaf; map->oa counts
    the leaves written before it, which the core unmaps again."""
    d = v71()
    assert d.map(2 * K4, 0x100000, K4, RW) == 0
    assert d.map(0, 0, 4 * K4, RW) == -EADDRINUSE
    assert runs(d) == [(2 * K4, 0x100000, K4, 1)]


def test_the_leaves_are_the_classic_greedy_batches():
    """pt_compute_best_pgsize / pt_pgsz_count choose what iommu_pgsize chose: 4K up to the 2M
    boundary, a 2M page, 4K after."""
    d, c = v71(), v70()
    for x in (d, c):
        assert x.map(M2 - K4, M2 - K4, M2 + 2 * K4, RW) == 0
    assert runs(d) == runs(c) == [(M2 - K4, M2 - K4, K4, 1), (M2, M2, M2, 1),
                                  (2 * M2, 2 * M2, K4, 1)]


def test_4k_without_4k_in_the_bitmap_is_enxio():
    """8ef3f77c4400 (v7.1): the 4K fast path needs `pgsize_bitmap & PAGE_SIZE`; without it
    pt_compute_best_pgsize finds no page for 4K: -ENXIO (before the fix a 4K leaf was written)."""
    d = v71(bitmap=M2 | G1)
    assert d.map(0, 0, K4, RW) == -ENXIO and runs(d) == []


# -- unmap: one unmap_range call, no alignment check -----------------------------------------

def test_unmap_has_no_alignment_check():
    """99fb8afa16ad: `unmap(0, 6K)` over 4K pages removes both (the partly covered one whole)
    and returns 8K; the classic core's IS_ALIGNED check returned 0."""
    d, c = v71(), v70()
    assert d.map(0, 0, 2 * K4, RW) == 0 and c.map(0, 0, 2 * K4, RW) == 0
    assert d.unmap(0, 0x1800) == 2 * K4 and runs(d) == []
    assert c.unmap(0, 0x1800) == 0 and c.decided == ["UNMAP_ALIGN"]


def test_unmap_inside_a_leaf_or_of_nothing_returns_0():
    """__unmap_range: a start inside a leaf is -EINVAL (0 bytes); make_range failures (len 0,
    a range past the table) return 0 before the walk."""
    d = v71()
    assert d.map(M2, M2, M2, RW) == 0
    assert d.unmap(M2 + K4, K4) == 0
    assert d.unmap(M2 + 0x800, K4) == 0
    assert d.unmap(M2, 0) == 0 and d.decided == ["UNMAP_ZERO_SIZE"]
    assert d.unmap((1 << 48) - K4, 2 * K4) == 0 and d.decided == ["UNMAP_RANGE"]
    assert d.unmap(U64 - K4, 2 * K4) == 0 and d.decided == ["UNMAP_RANGE"]
    assert runs(d) == [(M2, M2, M2, 1)]


def test_unmap_stops_at_a_hole_and_takes_a_partly_covered_last_leaf_whole():
    """An empty entry ends the walk; the last leaf the range reaches is cleared whole."""
    d = v71()
    assert d.map(0, 0, K4, RW) == 0 and d.map(2 * K4, 2 * K4, K4, RW) == 0
    assert d.unmap(0, 3 * K4) == K4
    assert d.map(M2, M2, M2, RW) == 0
    assert d.unmap(M2, K4) == M2 and runs(d) == [(2 * K4, 2 * K4, K4, 1)]


# -- iova_to_phys ------------------------------------------------------------------------------

def test_iova_to_phys_past_the_table_is_erange_as_an_address():
    """iova_to_phys: `ret = make_range(...); if (ret) return ret;` returns -ERANGE through
    phys_addr_t (0xffffffffffffffde); a hole inside the range is 0."""
    for d in (v71(), v70()):
        assert d.iova_to_phys(1 << 48) == 0xffffffffffffffde
        assert d.decided == ["IOVA_TO_PHYS_RANGE", "IOVA_TO_PHYS"]
        assert d.iova_to_phys((1 << 48) - 1) == 0
    assert ReferenceDomain("arm-lpae-4k").iova_to_phys(1 << 48) == 0


# -- where the core applies ----------------------------------------------------------------------

def test_map_range_core_runs_only_generic_pt_domains():
    with pytest.raises(SpecUsageError, match="only generic_pt"):
        ReferenceDomain("arm-lpae-4k", core="map_range")


@pytest.mark.parametrize("name", ["map_range", "generic_pt-map_range"])
def test_the_implementations_follow_the_same_checks(name):
    """The in-process v7.1 cores give the same answers as the source above."""
    impl = IMPLEMENTATIONS[name]("intel-vtd")
    assert impl.core == "map_range"
    assert impl.map(0, 0, 0x1800, RW) == -ENXIO and impl.leaves() == []
    assert impl.map(0x800, 0, K4, RW) == -ENXIO
    assert impl.map(K4, K4, 0, RW) == -EINVAL
    assert impl.map(U64 - K4, 0, 2 * K4, RW) == -EOVERFLOW
    assert impl.map(0, 1 << 52, K4, RW) == -ERANGE
    assert impl.map(0, 0, 2 * K4, RW) == 0
    assert impl.unmap(0, 0x1800) == 2 * K4 and impl.leaves() == []
    assert impl.iova_to_phys(1 << 48) == 0xffffffffffffffde


def test_best_pgsize_is_generic_pts_choice():
    """pt_compute_best_pgsize: the largest page of the bitmap that va and oa are aligned to and
    that fits below last_va; 0 for none and for a one-byte range (proof P7 ties it to
    iommu_pgsize for every input)."""
    from spec.pgsize import best_pgsize
    B = K4 | M2 | G1
    assert best_pgsize(B, 0, M2 - 1, 0) == M2
    assert best_pgsize(B, 0, M2 - 2, 0) == K4
    assert best_pgsize(B, M2, M2 + G1 - 1, M2 + K4) == K4   # oa only 4K-aligned
    assert best_pgsize(B, 0, 0x7ff, 0) == 0                 # shorter than the smallest page
    assert best_pgsize(B, 0x800, 0x800 + 2 * K4 - 1, 0) == 0  # misaligned va
    assert best_pgsize(B, 5, 5, 0) == 0                     # PT_WARN_ON(va >= last_va)
