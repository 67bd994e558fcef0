"""Unit tests of every named rule of the model, with concrete vectors.

Expected values are worked out by hand from the Linux sources cited in each
rule's docstring; each test fails if its rule is dropped or changed.
"""

import pytest

from spec import (IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE, RULES, ReferenceDomain,
                  SpecUsageError)
from spec.errors import EADDRINUSE, EEXIST, EINVAL, ERANGE

RW = IOMMU_READ | IOMMU_WRITE
K4, M2, G1 = 0x1000, 0x200000, 0x40000000


def leaves(d):
    return [tuple(r) for r in d.leaves()]


def lpae(version="v6.14"):
    return ReferenceDomain("arm-lpae-4k", f"arm-lpae-{version}")


def gpt():
    return ReferenceDomain("intel-vtd", "generic-pt")


# -- PGSIZE_SELECT ------------------------------------------------------------------

def test_pgsize_select_linux_vector():
    """PGSIZE_SELECT: 0x40201000 and map(0x3fe400000, 0x3fe400000, 0xC2200000) give 14x2M, 3x1G, 3x2M."""
    assert RULES["PGSIZE_SELECT"].fn(lpae(), 0x3FE400000, 0x3FE400000, 0xC2200000) == (M2, 14)
    d = lpae()
    assert d.map(0x3FE400000, 0x3FE400000, 0xC2200000, RW) == 0
    assert leaves(d) == [(0x3FE400000, 0x3FE400000, M2, 14, RW),
                         (0x400000000, 0x400000000, G1, 3, RW),
                         (0x4C0000000, 0x4C0000000, M2, 3, RW)]
    assert "MAP_PAGES_INSTALL" in d.decided


def test_pgsize_select_incongruent_paddr_uses_small_pages():
    """When iova and paddr differ modulo 2M, only 4K pages are possible."""
    d = gpt()
    assert d.map(0x200000, 0x201000, 0x400000, RW) == 0
    assert leaves(d) == [(0x200000, 0x201000, K4, 1024, RW)]


def test_pgsize_select_runs_up_to_the_2m_boundary():
    """The 0xf8007000 BAR map of trace 05a: 505 x 4K up to 0xf8200000, then 7 x 2M."""
    d = gpt()
    assert d.map(0xF8007000, 0xFA007000, 16748544, RW) == 0
    assert leaves(d) == [(0xF8007000, 0xFA007000, K4, 505, RW),
                         (0xF8200000, 0xFA200000, M2, 7, RW)]


# -- map preconditions ------------------------------------------------------------------

@pytest.mark.parametrize("iova,paddr,size", [(0x800, 0, K4), (0, 0x10, K4), (0, 0, 0x1800)])
def test_map_align(iova, paddr, size):
    """A map whose iova, paddr or size is not 4K-aligned is -EINVAL and maps nothing."""
    d = gpt()
    assert d.map(iova, paddr, size, RW) == -EINVAL
    assert d.decided == ["MAP_ALIGN"] and leaves(d) == []


def test_map_zero_size_per_core():
    """Size 0 is 0 under the classic core (its `while (size)` loop never calls the driver, for
    io-pgtable and generic_pt alike, v6.18 to v7.0), and -EINVAL under the v7.1 core, where
    map_range's make_range_ul rejects len == 0; nothing is mapped."""
    a, g = lpae(), gpt()
    r = ReferenceDomain("intel-vtd", "generic-pt", core="map_range")
    assert a.map(0, 0, 0, RW) == 0 and a.decided == ["MAP_ZERO_SIZE"]
    assert g.map(0, 0, 0, RW) == 0 and g.decided == ["MAP_ZERO_SIZE"]
    assert r.map(0, 0, 0, RW) == -EINVAL and r.decided == ["MAP_ZERO_SIZE"]
    assert leaves(a) == leaves(g) == leaves(r) == []


@pytest.mark.parametrize("prot", [0, IOMMU_CACHE])
def test_map_prot(prot):
    """A prot without READ or WRITE is -EINVAL."""
    d = lpae()
    assert d.map(0, 0, K4, prot) == -EINVAL and d.decided == ["MAP_PROT"]
    assert leaves(d) == []


@pytest.mark.parametrize("iova,paddr,size", [
    (1 << 48, 0, K4),                  # starts at 2^ias
    ((1 << 64) - K4, 0, 2 * K4),       # starts far past it
    (0x10000, 1 << 48, K4),            # the physical start is at 2^oas
])
def test_map_range(iova, paddr, size):
    """arm: a driver call starting at or past 2^ias / 2^oas is -ERANGE before anything is mapped."""
    d = lpae()
    assert d.map(0, 0, K4, RW) == 0
    assert d.map(iova, paddr, size, RW) == -ERANGE and d.decided == ["MAP_RANGE"]
    assert leaves(d) == [(0, 0, K4, 1, RW)]


def test_map_range_is_per_driver_call():
    """arm: a map crossing 2^ias maps up to the table end, then its next call is -ERANGE and rolled back.

    arm_lpae_map_pages checks only each call's start (iaext); the core has no
    range check, so the first batch is written and undone (MAP_ROLLBACK).
    """
    d = lpae()
    assert d.map((1 << 48) - K4, 0, 2 * K4, RW) == -ERANGE
    assert d.decided == ["PAGES_TABLE_BATCH", "MAP_PAGES_INSTALL", "MAP_RANGE", "UNMAP_LEAVES",
                         "MAP_ROLLBACK"]
    assert leaves(d) == []


def test_map_range_checks_prot_after_the_range_on_arm():
    """arm: out of range with no access bits is -ERANGE (arm_lpae_map_pages checks the range first)."""
    d = lpae()
    assert d.map(1 << 48, 0, K4, IOMMU_CACHE) == -ERANGE and d.decided == ["MAP_RANGE"]


def test_paddr_past_oas_is_accepted_and_named():
    """arm: a call whose physical range crosses 2^oas is accepted (start only) and named PADDR_PAST_OAS."""
    d = lpae()
    assert d.map(0x10000, (1 << 48) - K4, 2 * K4, RW) == 0
    assert "PADDR_PAST_OAS" in d.decided and RULES["PADDR_PAST_OAS"].defect
    assert leaves(d) == [(0x10000, (1 << 48) - K4, K4, 2, RW)]


def test_iova_past_ias_under_v7s_is_accepted_and_named():
    """v7s: a call crossing 2^32 is accepted (only its start is checked) and named IOVA_PAST_IAS."""
    d = ReferenceDomain("armv7s-mediatek", "arm-v7s")
    assert d.map(0xfffff000, 0x1000, 2 * K4, RW) == 0
    assert d.decided[0] == "IOVA_PAST_IAS" and RULES["IOVA_PAST_IAS"].defect


def test_map_range_accepts_the_last_page():
    """The page just below 2^ias maps fine."""
    d = lpae()
    assert d.map((1 << 48) - K4, 0, K4, RW) == 0


# -- map over live leaves -------------------------------------------------------------

def test_map_exists_arm_eexist_and_rollback():
    """arm: a map whose second page hits a live 4K leaf is -EEXIST and its first page is unmapped again."""
    d = lpae()
    assert d.map(0x1000, 0x1000, K4, RW) == 0
    assert d.map(0x0, 0x5000, 2 * K4, RW) == -EEXIST
    assert d.decided == ["MAP_EXISTS"]  # a per-table batch is written only if all its entries are free
    assert leaves(d) == [(0x1000, 0x1000, K4, 1, RW)]


def test_map_exists_generic_pt_eaddrinuse():
    """generic-pt: a 2M map over a region holding one 4K leaf is -EADDRINUSE; the 4K leaf stays."""
    d = gpt()
    assert d.map(0x201000, 0x201000, K4, IOMMU_READ) == 0
    assert d.map(0x200000, 0x200000, M2, RW) == -EADDRINUSE
    assert leaves(d) == [(0x201000, 0x201000, K4, 1, IOMMU_READ)]


def test_map_exists_arm_larger_leaf():
    """arm: a 4K map inside a live 2M block is -EEXIST."""
    d = lpae()
    assert d.map(0, 0, M2, RW) == 0
    assert d.map(0x3000, 0x3000, K4, RW) == -EEXIST
    assert leaves(d) == [(0, 0, M2, 1, RW)]


def test_map_replace_table():
    """arm: a 2M block over a table of 4K leaves frees that table and its leaves."""
    d = lpae()
    assert d.map(0x201000, 0x9000, K4, IOMMU_READ) == 0
    assert d.map(0x200000, 0x400000, M2, RW) == 0
    assert "MAP_REPLACE_TABLE" in d.decided
    assert leaves(d) == [(0x200000, 0x400000, M2, 1, RW)]


def test_map_replace_table_is_not_undone_by_rollback():
    """arm: leaves a block replaced stay gone when a later page of the same map fails."""
    d = lpae()
    assert d.map(0x201000, 0x9000, K4, IOMMU_READ) == 0
    assert d.map(0x400000, 0x400000, K4, IOMMU_READ) == 0
    # One batch of 3 x 2M: the first two replace the tables holding 0x201000 and
    # 0x400000, the third hits the live 2M block at 0x600000.
    assert d.map(0x600000, 0x600000, M2, IOMMU_READ) == 0
    assert d.map(0x200000, 0x200000, 3 * M2, RW) == -EEXIST
    assert d.decided == ["MAP_REPLACE_TABLE", "MAP_EXISTS"]
    assert leaves(d) == [(0x600000, 0x600000, M2, 1, IOMMU_READ)]


# -- unmap ----------------------------------------------------------------------------

@pytest.mark.parametrize("iova,size", [(0x800, K4), (0, 0x800)])
def test_unmap_align(iova, size):
    """A misaligned unmap returns 0 and unmaps nothing."""
    d = gpt()
    d.map(0, 0, 2 * K4, RW)
    assert d.unmap(iova, size) == 0 and d.decided == ["UNMAP_ALIGN"]
    assert leaves(d) == [(0, 0, K4, 2, RW)]


def test_unmap_zero_size():
    """An unmap of 0 bytes returns 0."""
    d = gpt()
    d.map(0, 0, K4, RW)
    assert d.unmap(0, 0) == 0 and d.decided == ["UNMAP_ZERO_SIZE"]
    assert leaves(d) == [(0, 0, K4, 1, RW)]


def test_unmap_leaves():
    """Unmapping exactly a mapping returns its size and empties the domain."""
    d = gpt()
    d.map(0x200000, 0x200000, M2 + K4, RW)
    assert d.unmap(0x200000, M2 + K4) == M2 + K4
    assert "UNMAP_LEAVES" in d.decided and leaves(d) == []


def test_unmap_stops_at_first_hole():
    """Unmap of 3 pages with a hole in the middle unmaps only the first page."""
    for d in (lpae(), gpt()):
        d.map(0, 0, K4, RW)
        d.map(0x2000, 0x2000, K4, RW)
        assert d.unmap(0, 3 * K4) == K4
        assert "UNMAP_HOLE" in d.decided
        assert leaves(d) == [(0x2000, 0x2000, K4, 1, RW)]


def test_unmap_partial_leaf_split_v613():
    """v6.13: unmapping 4K inside a 2M block splits it and returns 4K."""
    d = lpae("v6.13")
    d.map(0x200000, 0x200000, M2, RW)
    assert d.unmap(0x201000, K4) == K4
    assert d.decided == ["UNMAP_PARTIAL_LEAF"]
    assert leaves(d) == [(0x200000, 0x200000, K4, 1, RW), (0x202000, 0x202000, K4, 510, RW)]


def test_unmap_partial_leaf_split_1g_keeps_2m_blocks():
    """v6.13: unmapping 4K from a 1G block leaves 511 2M blocks and 511 4K pages around the hole."""
    d = lpae("v6.13")
    d.map(G1, G1, G1, RW)
    assert d.unmap(G1 + M2, K4) == K4
    assert leaves(d) == [(G1, G1, M2, 1, RW), (G1 + M2 + K4, G1 + M2 + K4, K4, 511, RW),
                         (G1 + 2 * M2, G1 + 2 * M2, M2, 510, RW)]


def test_unmap_partial_leaf_refuse_v614():
    """v6.14: unmapping part of a 2M block unmaps nothing and returns 0."""
    d = lpae("v6.14")
    d.map(0x200000, 0x200000, M2, RW)
    assert d.unmap(0x200000, K4) == 0 and d.decided == ["UNMAP_PARTIAL_LEAF"]
    assert leaves(d) == [(0x200000, 0x200000, M2, 1, RW)]


def test_unmap_partial_leaf_whole_generic_pt():
    """generic-pt: unmapping 4K at a 2M leaf's base removes the whole leaf and returns 2M."""
    d = gpt()
    d.map(0x200000, 0x200000, M2, RW)
    assert d.unmap(0x200000, K4) == M2
    assert leaves(d) == []


def test_unmap_partial_leaf_inside_generic_pt():
    """generic-pt: an unmap starting inside a 2M leaf unmaps nothing."""
    d = gpt()
    d.map(0x200000, 0x200000, M2, RW)
    assert d.unmap(0x201000, K4) == 0
    assert leaves(d) == [(0x200000, 0x200000, M2, 1, RW)]


def test_unmap_table_slot_frees_holes_too():
    """arm: a 2M unmap over a table with 4K leaves and holes frees it whole and returns 2M."""
    d = lpae()
    d.map(0x200000, 0x200000, K4, RW)
    d.map(0x300000, 0x300000, K4, RW)
    assert d.unmap(0x200000, M2) == M2
    assert d.decided == ["UNMAP_TABLE_SLOT"] and leaves(d) == []


def test_unmap_table_slot_not_in_generic_pt():
    """generic-pt: the same unmap stops at the hole after the first 4K leaf."""
    d = gpt()
    d.map(0x200000, 0x200000, K4, RW)
    d.map(0x300000, 0x300000, K4, RW)
    assert d.unmap(0x200000, M2) == K4
    assert leaves(d) == [(0x300000, 0x300000, K4, 1, RW)]


# -- map_sg ---------------------------------------------------------------------------

def test_map_sg_coalesces_unaligned_entries():
    """Two half-page entries that are physically contiguous form one 4K run (v4.17+)."""
    d = gpt()  # rule "MAP_SG_COALESCE"
    assert d.map_sg(0x10000, [(0x5000, 0, 0x800), (0x5000, 0x800, 0x800)], RW) == K4
    assert d.decided == ["MAP_SG_COALESCE", "MAP_PAGES_INSTALL"]
    assert leaves(d) == [(0x10000, 0x5000, K4, 1, RW)]


def test_map_sg_runs_go_to_consecutive_iovas():
    """Two non-contiguous runs are mapped back to back in IOVA space."""
    d = gpt()
    assert d.map_sg(0, [(0x5000, 0, K4), (0x9000, 0, 2 * K4)], RW) == 3 * K4
    assert leaves(d) == [(0, 0x5000, K4, 1, RW), (K4, 0x9000, K4, 2, RW)]


def test_map_sg_unaligned_run_fails_and_rolls_back():
    """A run of 0x1800 bytes is -EINVAL; the run mapped before it is unmapped again."""
    d = gpt()
    assert d.map_sg(0, [(0x5000, 0, K4), (0x9000, 0, 0x1800)], RW) == -EINVAL
    # the undo is an ordinary iommu_unmap, whose rules come before MAP_SG_ROLLBACK's verdict
    assert d.decided[-3:] == ["MAP_ALIGN", "UNMAP_LEAVES", "MAP_SG_ROLLBACK"]
    assert leaves(d) == []


def test_map_sg_trailing_empty_entry_quirk():
    """A trailing zero-length entry that continues the run suppresses the final flush: 0 bytes mapped."""
    d = gpt()
    assert d.map_sg(0, [(0x5000, 0, K4), (0x6000, 0, 0)], RW) == 0
    assert leaves(d) == []


def test_map_sg_empty_list():
    """An empty scatterlist maps nothing and returns 0."""
    assert gpt().map_sg(0, [], RW) == 0


# -- driver level ---------------------------------------------------------------------

@pytest.mark.parametrize("iova,paddr,pgsize,pgcount", [
    (0, 0, 0x3000, 1),      # not a power of two
    (0, 0, 0x10000, 1),     # 64K is not in 4K|2M|1G
    (0x1000, 0, M2, 1),     # iova not 2M-aligned
    (0, 0, K4, 0),          # pgcount 0
])
def test_pages_args(iova, paddr, pgsize, pgcount):
    """map_pages rejects bad page arguments with (-EINVAL, 0) and unmap_pages with 0."""
    d = gpt()
    assert d.map_pages(iova, paddr, pgsize, pgcount, RW) == (-EINVAL, 0)
    assert d.decided == ["PAGES_ARGS"]
    assert d.unmap_pages(iova, pgsize, pgcount) == 0


def test_pages_table_batch_arm_stops_at_table_end():
    """arm: map_pages of 4 x 4K starting 2 pages before a 2M boundary maps only 2 pages, ret 0."""
    d = lpae()
    assert d.map_pages(M2 - 2 * K4, 0, K4, 4, RW) == (0, 2 * K4)
    assert d.decided == ["PAGES_TABLE_BATCH", "MAP_PAGES_INSTALL"]
    g = gpt()
    assert g.map_pages(M2 - 2 * K4, 0, K4, 4, RW) == (0, 4 * K4)


def test_map_pages_conflict_counts_per_variant():
    """A conflict on the third page: arm reports 0 bytes mapped, generic-pt the 2 pages before it."""
    a, g = lpae(), gpt()
    for d in (a, g):
        d.map(2 * K4, 2 * K4, K4, RW)
    assert a.map_pages(0, 0, K4, 4, RW) == (-EEXIST, 0)
    assert g.map_pages(0, 0, K4, 4, RW) == (-EADDRINUSE, 2 * K4)
    assert leaves(a) == [(2 * K4, 2 * K4, K4, 1, RW)]
    assert leaves(g) == [(0, 0, K4, 3, RW)]


def test_iova_to_phys():
    """iova_to_phys returns the physical address with the in-page offset, or 0 when unmapped."""
    d = gpt()
    d.map(0x200000, 0x40000000, M2, RW)
    assert d.iova_to_phys(0x2abcde) == 0x400abcde
    assert d.iova_to_phys(0x400000) == 0
    assert d.decided == ["IOVA_TO_PHYS"]


def test_every_rule_has_a_test_here():
    """Each rule of the model is named (in upper case) by at least one unit test."""
    import pathlib
    here = pathlib.Path(__file__).parent
    text = "".join(path.read_text() for path in sorted(here.glob("test_*.py")))
    assert [name for name in RULES if f'"{name}"' not in text] == []


# -- misuse -----------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda d: d.map(-1, 0, 0x1000, 1),
    lambda d: d.map(1 << 64, 0, 0x1000, 1),
    lambda d: d.map(0, 0, 0x1000, 1 << 7),
    lambda d: d.map(0.0, 0, 0x1000, 1),
    lambda d: d.unmap(True, 0x1000),
    lambda d: d.map_sg(0, [(0, 0)], 1),
])
def test_misuse_raises_spec_usage_error_and_changes_nothing(call):
    """Malformed calls raise SpecUsageError naming the argument, and the state is unchanged."""
    d = gpt()
    d.map(0, 0, 0x1000, 1)
    with pytest.raises(SpecUsageError):
        call(d)
    assert leaves(d) == [(0, 0, 0x1000, 1, 1)]


def test_unknown_profile_and_semantics_names_list_the_known_ones():
    """An unknown profile or variant name, or a value of the wrong type, is a SpecUsageError naming the valid ones."""
    with pytest.raises(SpecUsageError, match="intel-vtd"):
        ReferenceDomain("intel")
    with pytest.raises(SpecUsageError, match="generic-pt"):
        ReferenceDomain("intel-vtd", "generic")
    for bad in (None, 42):
        with pytest.raises(SpecUsageError, match="profile must be"):
            ReferenceDomain(bad)
    with pytest.raises(SpecUsageError, match="sg must be"):
        ReferenceDomain("intel-vtd").map_sg(0, None, IOMMU_READ)


def test_core_batches_old_core_passes_one_page_per_call():
    """CORE_BATCHES: the v5.14 core batches 4K pages; the v3.3 core passes them one at a time."""
    new = ReferenceDomain("intel-vtd", "generic-pt")
    old = ReferenceDomain("intel-vtd", "generic-pt", core="map")
    assert RULES["CORE_BATCHES"].fn(new, 0x1000, 0x1000, 0x3000) == (K4, 3)
    assert RULES["CORE_BATCHES"].fn(old, 0x1000, 0x1000, 0x3000) == (K4, 1)
    # Observable only where the driver judges a whole call: generic_pt's range check.
    for d in (new, old):
        assert d.map((1 << 48) - K4, 0, K4, RW) == 0
    assert new.unmap((1 << 48) - K4, 2 * K4) == 0
    assert old.unmap((1 << 48) - K4, 2 * K4) == K4


def test_map_sg_per_entry_v416_rejects_unaligned_entries():
    """MAP_SG_PER_ENTRY: before v4.17 two half-page contiguous entries fail (and map_sg returns 0)."""
    old = ReferenceDomain("intel-vtd", "generic-pt", core="map-v4.16")
    sg = [(0x5000, 0, 0x800), (0x5000, 0x800, 0x800)]
    assert old.map_sg(0x10000, sg, RW) == 0
    assert old.decided[-2:] == ["MAP_ALIGN", "MAP_SG_ROLLBACK"] and leaves(old) == []
    assert old.map_sg(0x10000, [(0x4000, 0x1800, 0x800)], RW) == 0
    assert old.decided == ["MAP_SG_PER_ENTRY", "MAP_SG_ROLLBACK"]
    assert old.map_sg(0x10000, [(0x5000, 0, K4), (0x6000, 0, K4)], RW) == 2 * K4
    assert leaves(old) == [(0x10000, 0x5000, K4, 2, RW)]


def test_map_sg_error_is_zero_before_v515():
    """MAP_SG_ROLLBACK: a failed map_sg returns -EINVAL from v5.15 and 0 with the older cores."""
    sg = [(0x5000, 0, K4), (0x9000, 0, 0x1800)]
    assert ReferenceDomain("intel-vtd").map_sg(0, sg, RW) == -EINVAL
    assert ReferenceDomain("intel-vtd", core="map").map_sg(0, sg, RW) == 0
