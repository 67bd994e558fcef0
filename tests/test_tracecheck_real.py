"""check-trace and explain on the real kernel logs of tests/data/traces (provenance: INDEX.md there).

Expected values are read off the logs and INDEX.md by hand, not computed by
the code under test.
"""

from decimal import Decimal
from pathlib import Path

import pytest

from tracecheck import check_file, explain_map, explain_trace, read_trace

TRACES = Path(__file__).parent / "data" / "traces"

#: Profile per log, from INDEX.md ("Profiles" and the IOMMU column).
PROFILE = {
    "01a_vtd_vfio_qemu-kvm_ftrace_4575.log": "intel-vtd",
    "01c_vtd_dyndbg_dma_alloc_4k_boot236.log": "intel-vtd",
    "01e_vtd_dyndbg_2M_single.log": "intel-vtd",
    "01g_vtd_dyndbg_vfio_vm_start_2M.log": "intel-vtd",
    "02_mediatek_mt8173_vcodec_unmap_then_fault.log": "armv7s-mediatek",
    "03_amdvi_ath12k_map_unmap_then_fault.log": "amd-v1",
    "05a_vfio_bar_mmio_map_msix_hole.log": "intel-vtd",
    "06a_qcom_smmu_ufshc_plain_format.log": "arm-lpae-4k",
    "06b_qcom_smmu_ufshc_dev_format.log": "arm-lpae-4k",
    "08_vtd_qemu_unaligned_pa.log": "intel-vtd",
    "10_vtd_dmar_pte_already_set_same_value_vfio.log": "intel-vtd",
}

#: (line, rule) of every finding a careful reader expects, per INDEX.md.
EXPECTED_FINDINGS = {
    "01a_vtd_vfio_qemu-kvm_ftrace_4575.log": [],
    "01c_vtd_dyndbg_dma_alloc_4k_boot236.log": [],
    "01e_vtd_dyndbg_2M_single.log": [],
    "01g_vtd_dyndbg_vfio_vm_start_2M.log": [],
    "02_mediatek_mt8173_vcodec_unmap_then_fault.log": [(10, "TRACE_USE_AFTER_UNMAP")],
    "03_amdvi_ath12k_map_unmap_then_fault.log": [(5, "TRACE_USE_AFTER_UNMAP")],
    "05a_vfio_bar_mmio_map_msix_hole.log": [],
    "06a_qcom_smmu_ufshc_plain_format.log": [],
    "06b_qcom_smmu_ufshc_dev_format.log": [],
    "08_vtd_qemu_unaligned_pa.log": [(1, "TRACE_MISALIGNED")],
    "10_vtd_dmar_pte_already_set_same_value_vfio.log": [],
}

SZ_4K, SZ_512K, SZ_2M = 0x1000, 0x80000, 0x200000


def check(name, **options):
    return check_file(str(TRACES / name), PROFILE[name], **options)


def test_every_log_has_a_profile():
    """Every log in tests/data/traces is covered by the tables above, and nothing else is."""
    assert sorted(p.name for p in TRACES.glob("*.log")) == sorted(PROFILE) == sorted(EXPECTED_FINDINGS)
    assert (TRACES / "INDEX.md").exists()


@pytest.mark.parametrize("name", sorted(PROFILE))
def test_findings_are_what_a_careful_reader_expects(name):
    """Each real log yields exactly the findings INDEX.md describes, at the right lines."""
    report = check(name)
    assert [(f.loc.line, f.rule) for f in report.findings] == EXPECTED_FINDINGS[name]
    assert report.malformed == []


def test_01a_range_format_consistent_with_two_4k_unmaps_of_an_8k_map():
    """01a: 13 maps and 2 unmaps; the 8 KiB map removed by two 4 KiB unmaps is consistent."""
    report = check("01a_vtd_vfio_qemu-kvm_ftrace_4575.log")
    assert dict(report.events) == {"map": 13, "unmap": 2}
    assert report.findings == []
    # The 2M-aligned 2M maps at lines 10, 11, 13, 14 take one 2M page each.
    assert report.pages_spec[SZ_2M] == 4
    # 4K pages: 8K (2) + 768K (192) + 4K + 12K (3) + 144K (36) + 32K (8) + 64K (16) + 1M (256) + 4K.
    assert report.pages_spec[SZ_4K] == 2 + 192 + 1 + 3 + 36 + 8 + 16 + 256 + 1


def test_01a_complete_is_still_consistent():
    """01a has no overlap even read from an empty domain, so --complete finds nothing either."""
    assert check("01a_vtd_vfio_qemu-kvm_ftrace_4575.log", complete=True).findings == []


def test_01c_counts_the_modules_own_printk_lines_as_skipped():
    """01c: one map:, one mapping: (4K x 1), and the test module's five other lines skipped."""
    report = check("01c_vtd_dyndbg_dma_alloc_4k_boot236.log")
    assert dict(report.events) == {"dyndbg_map": 1, "dyndbg_mapping": 1}
    assert {reason: n for reason, (n, _) in report.skipped.items()} == {"other text": 5}
    assert report.skipped["other text"][1].line == 1
    assert dict(report.pages_kernel) == {SZ_4K: 1}


def test_01g_last_map_without_mapping_line_is_a_note_not_a_finding():
    """01g: seven 2M-count-2 decisions agree; the cut-off last map: (line 15) is only noted."""
    report = check("01g_vtd_dyndbg_vfio_vm_start_2M.log")
    assert report.findings == []
    assert dict(report.pages_kernel) == {SZ_2M: 14}
    assert [loc.line for loc, _ in report.notes if loc] == [15]


def test_02_unknown_state_unmaps_are_not_findings_but_the_fault_is_use_after_unmap():
    """02: nine mid-stream unmaps raise nothing; the fault at 0xebede003 hits line 1's unmap 1.793 ms later."""
    report = check("02_mediatek_mt8173_vcodec_unmap_then_fault.log")
    assert dict(report.events) == {"unmap": 9, "io_page_fault": 1}
    (f,) = report.findings
    assert f.rule == "TRACE_USE_AFTER_UNMAP" and f.loc.line == 10
    assert "0x00000000ebede003" in f.message
    assert "[0x00000000ebede000, 0x00000000ebedf000)" in f.message
    assert "line 1" in f.message
    assert "1.793 ms" in f.message  # 714.636191 - 714.634398


def test_02_complete_turns_every_unmap_into_an_unmapped_size_finding():
    """02 read (wrongly) as complete: every unmap of a never-mapped range contradicts the spec."""
    report = check("02_mediatek_mt8173_vcodec_unmap_then_fault.log", complete=True)
    assert [(f.loc.line, f.rule) for f in report.findings] == (
        [(n, "TRACE_UNMAPPED_SIZE") for n in range(1, 10)] + [(10, "TRACE_USE_AFTER_UNMAP")])
    assert all("UNMAP_HOLE" in f.model_rules for f in report.findings[:9])


def test_03_fault_at_the_base_6_2_ms_after_the_unmap_with_a_reproduction():
    """03: the 512K map is one 512K page on AMD v1; the fault 6.176 ms after its unmap is reported."""
    report = check("03_amdvi_ath12k_map_unmap_then_fault.log")
    assert dict(report.pages_spec) == {SZ_512K: 1}
    assert {reason for reason in report.skipped} == {"other ftrace event dma_alloc",
                                                    "other ftrace event dma_free"}
    (f,) = report.findings
    assert f.loc.line == 5 and "line 4" in f.message and "6.176 ms" in f.message
    assert f.repro.splitlines()[2:] == [
        "d.map(0x00000000fe980000, 0x000000010ec80000, 0x80000, IOMMU_READ | IOMMU_WRITE)"
        "  # line 1: 0",
        "d.unmap(0x00000000fe980000, 0x80000)  # line 4: 524288",
        "d.iova_to_phys(0x00000000fe980000)  # spec: 0 (IOVA_TO_PHYS)",
    ]


def test_03_reproduction_runs():
    """The reproduction printed for 03 is Python that runs and ends in an unmapped IOVA."""
    (f,) = check("03_amdvi_ath12k_map_unmap_then_fault.log").findings
    *setup, last = f.repro.splitlines()
    namespace: dict = {}
    exec("\n".join(setup), namespace)
    assert eval(last.split("  #")[0], namespace) == 0


def test_05a_bar_maps_around_the_msix_hole():
    """05a: five maps consistent; 4K pages: 6 + 505 + 1 + 1, 2M pages: 7 + 8."""
    report = check("05a_vfio_bar_mmio_map_msix_hole.log")
    assert dict(report.events) == {"map": 5}
    assert report.findings == []
    assert dict(report.pages_spec) == {SZ_4K: 6 + 505 + 1 + 1, SZ_2M: 7 + 8}


def test_06b_dev_format_parses_and_is_consistent():
    """06b: the dev= variant is read as one map and its exact unmap."""
    report = check("06b_qcom_smmu_ufshc_dev_format.log")
    assert dict(report.events) == {"map": 1, "unmap": 1}
    assert report.findings == []


def test_08_misaligned_pa_names_map_align():
    """08: the unaligned: line is a misaligned request (pa 0x10be33650), decided by MAP_ALIGN."""
    report = check("08_vtd_qemu_unaligned_pa.log")
    (f,) = report.findings
    assert f.model_rules == ("MAP_ALIGN",)
    assert "pa 0x10be33650" in f.message and "min_pagesz 0x1000" in f.message
    assert report.skipped["other text"][0] == 1  # "dma_mapping_error -12"


def test_10_pte_already_set_lines_are_counted_and_skipped():
    """10: five Intel 'DMA PTE ... already set' lines are counted as such, not replayed, no finding."""
    report = check("10_vtd_dmar_pte_already_set_same_value_vfio.log")
    assert dict(report.events) == {"intel_pte_already_set": 5}
    assert report.findings == [] and report.skipped == {}
    (note,) = report.notes
    assert "5 Intel VT-d" in note[1] and "0x00000000428ec000" in note[1]


def test_timestamps_are_read_from_both_prefixes():
    """ftrace and dmesg timestamps are kept as exact decimals."""
    from tracecheck import parse_lines
    first_ftrace = list(parse_lines(read_trace(str(TRACES / "02_mediatek_mt8173_vcodec_unmap_then_fault.log"))))[0]
    first_dmesg = list(parse_lines(read_trace(str(TRACES / "01e_vtd_dyndbg_2M_single.log"))))[0]
    assert first_ftrace.ts == Decimal("714.634398")
    assert first_dmesg.ts == Decimal("262040.668700")


# -- explain reproduces the kernel's own decisions --------------------------------------------

def steps(profile, iova, paddr, size):
    return [(s.iova, s.paddr, s.pgsize, s.count) for s in explain_map(profile, iova, paddr, size).steps]


def test_explain_01c_4k_decision():
    """01c line 3: mapping: iova 0xfcbbf000 pa 0x8b2f33000 pgsize 0x1000 count 1."""
    assert steps("intel-vtd", 0xfcbbf000, 0x8b2f33000, 0x1000) == [(0xfcbbf000, 0x8b2f33000, 0x1000, 1)]


def test_explain_01e_2m_decision():
    """01e line 2: mapping: iova 0x200000 pa 0x694200000 pgsize 0x200000 count 1."""
    assert steps("intel-vtd", 0x200000, 0x694200000, 0x200000) == [(0x200000, 0x694200000, 0x200000, 1)]


@pytest.mark.parametrize("iova,pa", [
    (0x6e200000, 0x4f4800000), (0x6e600000, 0x4cd800000), (0x6ea00000, 0x4e5400000),
    (0x6ee00000, 0x531400000), (0x6f200000, 0x505000000), (0x6f600000, 0x512800000),
    (0x6fa00000, 0x541400000),
])
def test_explain_01g_4m_maps_split_as_2m_count_2(iova, pa):
    """01g: a 4M map at a 2M- but not 4M-aligned IOVA is pgsize 0x200000 count 2, as logged."""
    assert steps("intel-vtd", iova, pa, 0x400000) == [(iova, pa, 0x200000, 2)]


def test_explain_05a_bar_map_4k_up_to_the_2m_boundary_then_2m():
    """05a line 2: 0xf8007000 takes 4K pages to 0xf8200000 ((0x200000-0x7000)/0x1000 = 505), then 7 x 2M."""
    assert steps("intel-vtd", 0xf8007000, 0xfa007000, 16748544) == [
        (0xf8007000, 0xfa007000, 0x1000, 505),
        (0xf8200000, 0xfa200000, 0x200000, 7),
    ]


@pytest.mark.parametrize("name,lines", [
    ("01c_vtd_dyndbg_dma_alloc_4k_boot236.log", [3]),
    ("01e_vtd_dyndbg_2M_single.log", [2]),
    ("01g_vtd_dyndbg_vfio_vm_start_2M.log", [2, 4, 6, 8, 10, 12, 14]),
])
def test_explain_trace_agrees_with_every_mapping_line(name, lines):
    """explain --trace matches every mapping: line of the log to its map: and agrees with it."""
    maps = explain_trace(read_trace(str(TRACES / name)), PROFILE[name])
    kernel = [k for m in maps for k in m.kernel]
    assert [k.loc.line for k in kernel] == lines
    assert all(k.agrees for k in kernel)
