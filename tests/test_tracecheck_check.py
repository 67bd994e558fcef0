"""Unit tests of each trace rule, on short hand-written logs."""

import pytest

from spec import RULES
from tracecheck import TRACE_RULES, check_lines


def M(iova, paddr, size, ts=None, dev=None):
    """An ftrace map line in the range format, with a prefix when ts is given."""
    prefix = f"  task-1  [000] .....  {ts}: " if ts else "  "
    d = f"dev={dev} " if dev else ""
    return (f"{prefix}map: IOMMU: {d}iova={iova:#018x} - {iova + size:#018x} "
            f"paddr={paddr:#018x} size={size}")


def U(iova, size, unmapped, ts=None, dev=None):
    """An ftrace unmap line in the old format."""
    prefix = f"  task-1  [000] .....  {ts}: " if ts else "  "
    d = f"dev={dev} " if dev else ""
    return f"{prefix}unmap: IOMMU: {d}iova={iova:#018x} size={size} unmapped_size={unmapped}"


def F(iova, ts, device="0000:01:00.0", driver="nvme"):
    """An ftrace io_page_fault line (a write)."""
    return (f"  irq-9  [001] d.h..  {ts}: io_page_fault: IOMMU:{driver} {device} "
            f"iova={iova:#018x} flags=0x0001")


def run(lines, profile="intel-vtd", **options):
    return check_lines(lines, profile, **options)


def found(report):
    return [(f.loc.line, f.rule) for f in report.findings]


# -- the rule table ----------------------------------------------------------------------------

def test_trace_rules_have_docs_and_name_real_model_rules():
    """Every trace rule has a docstring, a Linux source, and names only rules the spec defines."""
    assert list(TRACE_RULES) == [
        "TRACE_MAP_OVER_LIVE", "TRACE_MAP_OUTCOME", "TRACE_MISALIGNED", "TRACE_UNMAPPED_SIZE",
        "TRACE_PGSIZE_DECISION", "TRACE_USE_AFTER_UNMAP", "TRACE_STALE_PTE"]
    for rule in TRACE_RULES.values():
        assert rule.doc.strip() and rule.summary and "drivers/iommu" in rule.source
        assert set(rule.model_rules) <= set(RULES), rule.name


# -- TRACE_UNMAPPED_SIZE -----------------------------------------------------------------------

def test_unmapped_size_matching_the_state_is_consistent():
    """Map 8K, unmap it as two 4K halves with unmapped_size 4096 each: consistent (4K leaves)."""
    assert found(run([M(0, 0x100000, 0x2000), U(0, 0x1000, 0x1000), U(0x1000, 0x1000, 0x1000)])) == []


def test_unmapped_size_contradicting_known_state_is_reported():
    """Map 8K (two 4K leaves) then unmap 4K claiming 8192 bytes: the spec unmaps 4096."""
    report = run([M(0, 0x100000, 0x2000), U(0, 0x1000, 0x2000)])
    assert found(report) == [(2, "TRACE_UNMAPPED_SIZE")]
    f = report.findings[0]
    assert f.expected.startswith("0x1000 bytes") and f.observed == "unmapped 0x2000 bytes"
    assert "mapped by [0x0000000000000000, 0x0000000000002000) at line 1" in f.message


def test_unmap_of_unknown_state_is_not_checked_mid_stream():
    """An unmap of a range the log never showed is unknown state: no finding."""
    assert found(run([U(0x40000000, 0x1000, 0x1000)])) == []


def test_complete_makes_never_mapped_ranges_known_empty():
    """With complete=True the same unmap contradicts the empty domain (UNMAP_HOLE)."""
    report = run([U(0x40000000, 0x1000, 0x1000)], complete=True)
    assert found(report) == [(1, "TRACE_UNMAPPED_SIZE")]
    assert "UNMAP_HOLE" in report.findings[0].model_rules


def test_partly_known_unmap_is_only_checked_under_complete():
    """Map 4K, unmap 8K claiming 8K: the second 4K is unknown mid-stream, a hole under complete."""
    lines = [M(0, 0x100000, 0x1000), U(0, 0x2000, 0x2000)]
    assert found(run(lines)) == []
    assert found(run(lines, complete=True)) == [(2, "TRACE_UNMAPPED_SIZE")]


def test_unmapped_size_not_a_page_multiple_is_reported_even_mid_stream():
    """unmapped_size 6000 is no multiple of 4K: impossible whatever the state."""
    assert found(run([U(0x40000000, 0x2000, 6000)])) == [(1, "TRACE_UNMAPPED_SIZE")]


def test_more_unmapped_than_asked_depends_on_the_variant():
    """Unmapping 8K when 4K was asked is legal under 'whole' (VT-d) but not under arm-lpae refuse."""
    lines = [U(0x40000000, 0x1000, 0x2000)]
    assert found(run(lines, "intel-vtd")) == []
    report = run(lines, "arm-lpae-4k")
    assert found(report) == [(1, "TRACE_UNMAPPED_SIZE")]
    assert report.findings[0].model_rules == ("UNMAP_PARTIAL_LEAF",)


def test_partial_unmap_of_a_2m_leaf_follows_the_variant():
    """A 4K unmap at the base of a 2M leaf: 'whole' removes 2M, arm-lpae v6.14 refuses (0)."""
    m = M(0x200000, 0x40000000, 0x200000)
    assert found(run([m, U(0x200000, 0x1000, 0x200000)], "intel-vtd")) == []
    assert found(run([m, U(0x200000, 0x1000, 0x1000)], "intel-vtd")) == [(2, "TRACE_UNMAPPED_SIZE")]
    assert found(run([m, U(0x200000, 0x1000, 0)], "arm-lpae-4k")) == []
    assert found(run([m, U(0x200000, 0x1000, 0x1000)], "arm-lpae-4k", semantics="arm-lpae-v6.13")) == []


def test_after_a_disagreement_the_checker_believes_the_trace():
    """After a contradicted unmap the range is unmapped per the trace, so remapping it is clean."""
    lines = [M(0, 0x100000, 0x2000), U(0, 0x1000, 0x2000), M(0, 0x200000, 0x2000)]
    assert found(run(lines)) == [(2, "TRACE_UNMAPPED_SIZE")]


# -- TRACE_MAP_OVER_LIVE / TRACE_MAP_OUTCOME ---------------------------------------------------

def test_map_over_a_live_mapping_is_reported_with_the_earlier_line():
    """Mapping [0x1000, 0x3000) while line 1's [0, 0x2000) is live: MAP_EXISTS, naming line 1."""
    report = run([M(0, 0x100000, 0x2000), M(0x1000, 0x300000, 0x2000)])
    assert found(report) == [(2, "TRACE_MAP_OVER_LIVE")]
    f = report.findings[0]
    assert "MAP_EXISTS" in f.model_rules and "at line 1" in f.message
    assert f.expected.startswith("-EADDRINUSE")


def test_map_over_live_then_unmap_of_the_new_map_is_consistent():
    """After the finding the new map is believed: unmapping it whole returns its size."""
    lines = [M(0, 0x100000, 0x2000), M(0, 0x300000, 0x2000), U(0, 0x2000, 0x2000)]
    assert found(run(lines)) == [(2, "TRACE_MAP_OVER_LIVE")]


def test_map_after_unmap_is_fine():
    """Map, unmap, map the same IOVA again: nothing to report."""
    assert found(run([M(0, 0x100000, 0x1000), U(0, 0x1000, 0x1000), M(0, 0x100000, 0x1000)])) == []


def test_devices_have_their_own_domains():
    """Two devices mapping the same IOVA (dev= variant) do not collide; one device twice does."""
    assert found(run([M(0, 0x100000, 0x1000, dev="a"), M(0, 0x200000, 0x1000, dev="b")])) == []
    assert found(run([M(0, 0x100000, 0x1000, dev="a"), M(0, 0x200000, 0x1000, dev="a")])) == \
        [(2, "TRACE_MAP_OVER_LIVE")]


def test_map_beyond_the_input_address_size_is_a_map_outcome_finding():
    """A traced map at 2^48 cannot succeed on a 48-bit VT-d domain (MAP_RANGE)."""
    report = run([M(1 << 48, 0x100000, 0x1000)])
    assert found(report) == [(1, "TRACE_MAP_OUTCOME")]
    assert "MAP_RANGE" in report.findings[0].model_rules


def test_zero_size_map_is_not_a_finding_under_the_classic_core():
    """A traced map of 0 bytes: the classic core returns 0 for generic-pt and arm-lpae alike
    (MAP_ZERO_SIZE; __iommu_map's loop never runs), so the trace is consistent."""
    line = "  map: IOMMU: iova=0x0000000000001000 paddr=0x0000000000002000 size=0"
    assert found(run([line], "intel-vtd")) == []
    assert found(run([line], "arm-lpae-4k")) == []


# -- TRACE_MISALIGNED --------------------------------------------------------------------------

def test_misaligned_map_event_contradicts_the_profile():
    """A traced map at iova 0x800 cannot pass __iommu_map's alignment check on a 4K domain."""
    report = run(["  map: IOMMU: iova=0x0000000000000800 paddr=0x0000000000100000 size=4096"])
    assert found(report) == [(1, "TRACE_MISALIGNED")]
    assert report.findings[0].model_rules[0] == "MAP_ALIGN"
    assert "iova 0x800 is not a multiple" in report.findings[0].message


def test_misaligned_unmap_event_names_unmap_align():
    """A traced unmap of 0x800 bytes is refused by UNMAP_ALIGN before the kernel could trace it."""
    report = run([U(0x1000, 0x800, 0x800)])
    assert found(report) == [(1, "TRACE_MISALIGNED")]
    assert report.findings[0].model_rules == ("UNMAP_ALIGN",)


def test_unaligned_unmap_line_names_unmap_align():
    """The unmap form of unaligned: (no pa) is a refused unmap: UNMAP_ALIGN."""
    report = run(["[ 1.000000] iommu: unaligned: iova 0x1800 size 0x1000 min_pagesz 0x1000"])
    assert found(report) == [(1, "TRACE_MISALIGNED")]
    assert report.findings[0].model_rules == ("UNMAP_ALIGN",)
    assert "iova 0x1800 is not a multiple of min_pagesz 0x1000" in report.findings[0].message


def test_unaligned_line_with_another_min_pagesz_questions_the_profile():
    """An unaligned: line whose min_pagesz is 16K on a 4K profile says so."""
    report = run(["iommu: unaligned: iova 0x1000 pa 0x1000 size 0x1000 min_pagesz 0x4000"], "arm-lpae-4k")
    (f,) = report.findings
    assert f.model_rules == () and "is not the profile's 0x1000" in f.message
    assert "would accept it" in f.message


# -- TRACE_PGSIZE_DECISION ---------------------------------------------------------------------

def test_mapping_line_that_agrees_is_silent():
    """map: 4M at 2M-aligned addresses, mapping: pgsize 0x200000 count 2: as the spec chooses."""
    lines = ["iommu: map: iova 0x200000 pa 0x400000 size 0x400000",
             "iommu: mapping: iova 0x200000 pa 0x400000 pgsize 0x200000 count 2"]
    assert found(run(lines)) == []


def test_mapping_line_that_differs_is_reported_with_the_spec_choice():
    """A kernel that used 4K x 1024 where 2M x 2 fits is reported; the spec's choice is named."""
    lines = ["iommu: map: iova 0x200000 pa 0x400000 size 0x400000",
             "iommu: mapping: iova 0x200000 pa 0x400000 pgsize 0x1000 count 1024"]
    report = run(lines)
    assert found(report) == [(2, "TRACE_PGSIZE_DECISION")]
    f = report.findings[0]
    assert f.model_rules == ("PGSIZE_SELECT",)
    assert f.expected == "pgsize 0x200000 count 2" and f.observed == "pgsize 0x1000 count 1024"
    assert "pgsize_and_count(0x40201000, 0x0000000000200000, 0x0000000000400000, 0x400000)" in f.repro


def test_old_mapping_lines_without_count_are_one_page_each():
    """Before v5.14 each page had its own mapping: line without count; both pages agree."""
    lines = ["map: iova 0x200000 pa 0x400000 size 0x400000",
             "mapping: iova 0x200000 pa 0x400000 pgsize 0x200000",
             "mapping: iova 0x400000 pa 0x600000 pgsize 0x200000"]
    report = run(lines)
    assert found(report) == []
    assert dict(report.pages_kernel) == {0x200000: 2}


def test_mapping_line_after_a_short_driver_batch_uses_the_bytes_left():
    """io-pgtable-arm maps 511 of 1024 pages (table end); the core's next mapping: asks for the rest."""
    lines = ["iommu: map: iova 0x1000 pa 0x2000 size 0x400000",
             "iommu: mapping: iova 0x1000 pa 0x2000 pgsize 0x1000 count 1024",
             "iommu: mapping: iova 0x200000 pa 0x201000 pgsize 0x1000 count 513"]
    assert found(run(lines, "arm-lpae-4k")) == []
    wrong = lines[:2] + ["iommu: mapping: iova 0x200000 pa 0x201000 pgsize 0x1000 count 512"]
    assert found(run(wrong, "arm-lpae-4k")) == [(3, "TRACE_PGSIZE_DECISION")]


def test_orphan_mapping_line_must_name_a_supported_aligned_page():
    """A mapping: line whose map: is not in the excerpt is checked for size and alignment only."""
    assert found(run(["iommu: mapping: iova 0x200000 pa 0x400000 pgsize 0x200000 count 3"])) == []
    assert found(run(["iommu: mapping: iova 0x201000 pa 0x401000 pgsize 0x200000 count 1"])) == \
        [(1, "TRACE_PGSIZE_DECISION")]
    assert found(run(["iommu: mapping: iova 0x0 pa 0x0 pgsize 0x3000 count 1"])) == \
        [(1, "TRACE_PGSIZE_DECISION")]


# -- TRACE_USE_AFTER_UNMAP ---------------------------------------------------------------------

def test_fault_after_unmap_reports_the_unmap_and_the_time():
    """A fault 2.5 ms after the unmap of its page is a use after unmap naming line 2."""
    report = run([M(0x10000, 0x100000, 0x1000, ts="1.000000"),
                  U(0x10000, 0x1000, 0x1000, ts="2.000000"),
                  F(0x10ff8, ts="2.002500")])
    assert found(report) == [(3, "TRACE_USE_AFTER_UNMAP")]
    msg = report.findings[0].message
    assert "line 2" in msg and "2.500 ms" in msg and "0000:01:00.0 (nvme)" in msg and "write" in msg


def test_fault_on_live_unknown_or_remapped_iova_is_not_reported():
    """Faults at a mapped IOVA, at a never-seen IOVA, or after a remap are no use after unmap."""
    lines = [M(0x10000, 0x100000, 0x1000, ts="1.0"), F(0x10000, ts="1.1"), F(0x90000, ts="1.2"),
             U(0x10000, 0x1000, 0x1000, ts="1.3"), M(0x10000, 0x100000, 0x1000, ts="1.4"),
             F(0x10000, ts="1.5")]
    assert found(run(lines)) == []
    assert found(run(lines, complete=True)) == []


def test_fault_without_timestamps_still_names_the_unmap():
    """Without timestamps the elapsed time is unknown but the finding stands."""
    report = run([U(0x10000, 0x1000, 0x1000),
                  "io_page_fault: IOMMU:drv dev iova=0x0000000000010000 flags=0x0000"])
    assert found(report) == [(2, "TRACE_USE_AFTER_UNMAP")]
    assert "an unknown time" in report.findings[0].message and "read" in report.findings[0].message


# -- dynamic debug unmaps, and ftrace + dyndbg of one call -------------------------------------

def test_unmap_this_and_unmapped_lines_form_one_unmap():
    """unmap this: 8K then two unmapped: 4K lines is one unmap of 8K, consistent with a 4K x 2 map."""
    lines = ["iommu: map: iova 0x0 pa 0x100000 size 0x2000",
             "iommu: unmap this: iova 0x0 size 0x2000",
             "iommu: unmapped: iova 0x0 size 0x1000",
             "iommu: unmapped: iova 0x1000 size 0x1000"]
    report = run(lines, complete=True)
    assert found(report) == [] and report.events["dyndbg_unmapped"] == 2


def test_unmap_this_that_stops_short_is_checked_when_the_next_call_touches_the_range():
    """unmap this: 8K with only 4K unmapped, then a map there: the short count is checked then."""
    lines = ["iommu: map: iova 0x0 pa 0x100000 size 0x2000",
             "iommu: unmap this: iova 0x0 size 0x2000",
             "iommu: unmapped: iova 0x0 size 0x1000",
             "iommu: map: iova 0x0 pa 0x100000 size 0x1000"]
    report = run(lines, complete=True)
    # The trace is believed after the finding: [0, 0x1000) is unmapped, so line 4 is clean.
    assert found(report) == [(2, "TRACE_UNMAPPED_SIZE")]


def test_unmap_this_cut_by_the_end_of_the_log_is_only_noted():
    """An unmap this: whose unmapped: lines stop at the end of the excerpt is not judged."""
    lines = ["iommu: map: iova 0x0 pa 0x100000 size 0x2000",
             "iommu: unmap this: iova 0x0 size 0x2000",
             "iommu: unmapped: iova 0x0 size 0x1000"]
    report = run(lines, complete=True)
    assert found(report) == []
    assert [loc.line for loc, _ in report.notes if loc] == [2]


def test_ftrace_and_dyndbg_of_the_same_call_count_once():
    """A map: line and the ftrace map event of the same call are one map, not a map over itself."""
    lines = ["iommu: map: iova 0x0 pa 0x100000 size 0x1000",
             "iommu: mapping: iova 0x0 pa 0x100000 pgsize 0x1000 count 1",
             "  map: IOMMU: iova=0x0000000000000000 paddr=0x0000000000100000 size=4096",
             "iommu: unmap this: iova 0x0 size 0x1000",
             "iommu: unmapped: iova 0x0 size 0x1000",
             "  unmap: IOMMU: iova=0x0000000000000000 size=4096 unmapped_size=4096"]
    assert found(run(lines, complete=True)) == []


# -- TRACE_STALE_PTE ---------------------------------------------------------------------------

def test_pte_already_set_inside_a_traced_unmap_is_a_stale_pte():
    """A DMA PTE for vPFN 0x428ec still set after the unmap of 0x428ec000 claimed it removed."""
    lines = [U(0x428ec000, 0x5000, 0x5000),
             " DMAR: ERROR: DMA PTE for vPFN 0x428ec already set (to 3f6ec003 not 3f6ec003)"]
    report = run(lines)
    assert found(report) == [(2, "TRACE_STALE_PTE")]
    assert "the same value" in report.findings[0].message and "line 1" in report.findings[0].message


# -- reproductions -----------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["intel-vtd", "arm-lpae-4k"])
def test_reproduction_replays_to_the_spec_answer(profile):
    """The repro of an unmapped_size finding is runnable code whose last call gives the spec's count."""
    report = run([M(0, 0x100000, 0x2000), M(0x10000, 0x200000, 0x1000), U(0, 0x1000, 0x2000)],
                 profile)
    (f,) = report.findings
    *setup, last = f.repro.splitlines()
    assert len(setup) == 3  # import, domain, the one map that touches [0, 0x1000)
    namespace: dict = {}
    exec("\n".join(setup), namespace)
    assert eval(last.split("  #")[0], namespace) == 0x1000


def test_rollback_of_a_failed_map_is_flagged_only_under_complete_with_a_hint():
    """ftrace logs a failed map's rollback unmap but not the map: mid-stream it is unknown state,
    under --complete it contradicts the empty start and the finding says it may be a rollback."""
    lines = [M(0x1000, 0x101000, 0x1000),    # [4K, 8K) live
             U(0x0, 0x1000, 0x1000)]         # rollback of a failed map of [0, 8K)
    assert found(run(lines)) == []
    report = run(lines, complete=True)
    assert found(report) == [(2, "TRACE_UNMAPPED_SIZE")]
    assert "rollback" in report.findings[0].message


def test_pgsize_bitmap_option_restricts_the_replayed_pages():
    """With pgsize_bitmap 4K|2M a 1G-aligned 1G map is 512 x 2M, so a 2M unmap inside it is consistent."""
    lines = [M(0x40000000, 0x80000000, 0x40000000), U(0x40000000, 0x200000, 0x200000)]
    assert found(run(lines)) == [(2, "TRACE_UNMAPPED_SIZE")]  # 1G leaf: 'whole' removes 1G
    report = run(lines, pgsize_bitmap=0x201000)
    assert found(report) == [] and dict(report.pages_spec) == {0x200000: 512}
