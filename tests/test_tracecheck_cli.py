"""``iommu-spec check-trace`` and ``iommu-spec explain``: output, JSON, exit status, bad arguments."""

import json
from pathlib import Path

import pytest

from iommu_spec.cli.main import main
from tracecheck.cli import check_trace_main, explain_main

TRACES = Path(__file__).parent / "data" / "traces"


@pytest.fixture
def in_traces(monkeypatch):
    """Run from tests/data/traces so reports show bare file names."""
    monkeypatch.chdir(TRACES)


SNAPSHOT_03 = """\
check-trace: profile amd-v1 (pages 4K-256G 1T-2P), semantics generic-pt; mid-stream: only IOVA ranges the log maps or unmaps are checked

file                                        lines    events    skipped    malformed    findings
----------------------------------------  -------  --------  ---------  -----------  ----------
03_amdvi_ath12k_map_unmap_then_fault.log        5         3          2            0           1

event            count  what it is
-------------  -------  ------------------------------------------------
map                  1  ftrace map (an iommu_map that succeeded)
unmap                1  ftrace unmap (iommu_unmap and its unmapped_size)
io_page_fault        1  ftrace io_page_fault (a device fault)

  pgsize    pages (spec, replayed maps)    pages (kernel, mapping: lines)
--------  -----------------------------  --------------------------------
    512K                              1                                 -

rule                     findings  model rules    states
---------------------  ----------  -------------  --------------------------------------------------------
TRACE_USE_AFTER_UNMAP           1  -              A device faulted at an IOVA that an unmap earlier in the
                                                  trace removed.

findings:
03_amdvi_ath12k_map_unmap_then_fault.log:5: TRACE_USE_AFTER_UNMAP: 0000:c2:00.0 (ath12k_pci) faulted on a write at iova 0x00000000fe980000, inside [0x00000000fe980000, 0x00000000fea00000) which the unmap at line 4 removed 6.176 ms earlier
    spec  iova_to_phys(0x00000000fe980000) = 0 since line 4
    log   the device still used it
    reproduce:
        from spec import ReferenceDomain, IOMMU_READ, IOMMU_WRITE
        d = ReferenceDomain('amd-v1', 'generic-pt')
        d.map(0x00000000fe980000, 0x000000010ec80000, 0x80000, IOMMU_READ | IOMMU_WRITE)  # line 1: 0
        d.unmap(0x00000000fe980000, 0x80000)  # line 4: 524288
        d.iova_to_phys(0x00000000fe980000)  # spec: 0 (IOVA_TO_PHYS)

file                                      skipped lines                   count    first line
----------------------------------------  ----------------------------  -------  ------------
03_amdvi_ath12k_map_unmap_then_fault.log  other ftrace event dma_alloc        1             2
03_amdvi_ath12k_map_unmap_then_fault.log  other ftrace event dma_free         1             3

result: 1 finding in 1 log
"""


def test_check_trace_report_snapshot(in_traces, capsys):
    """The text report for 03 is stable: summary tables, the finding with file:line, its repro."""
    assert check_trace_main(["03_amdvi_ath12k_map_unmap_then_fault.log", "--profile", "amd-v1"]) == 1
    assert capsys.readouterr().out == SNAPSHOT_03


def test_check_trace_is_dispatched_by_the_main_cli(in_traces, capsys):
    """iommu-spec check-trace runs tracecheck; a consistent log exits 0 and says so."""
    assert main(["check-trace", "06a_qcom_smmu_ufshc_plain_format.log", "--profile", "arm-lpae-4k"]) == 0
    assert "result: consistent with the spec (1 log, no findings)" in capsys.readouterr().out


def test_check_trace_json(in_traces, capsys):
    """--json gives the findings with file, line, rule and model rules, and the exit status."""
    status = check_trace_main(["08_vtd_qemu_unaligned_pa.log", "10_vtd_dmar_pte_already_set_same_value_vfio.log",
                               "--profile", "intel-vtd", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert status == 1 and data["exit_status"] == 1
    assert [(f["file"], f["line"], f["rule"], f["model_rules"]) for f in data["findings"]] == [
        ("08_vtd_qemu_unaligned_pa.log", 1, "TRACE_MISALIGNED", ["MAP_ALIGN"])]
    assert data["events"] == {"dyndbg_unaligned": 1, "intel_pte_already_set": 5}
    assert data["files"][0]["skipped"] == {"other text": {"count": 1, "first_line": 2}}


def test_check_trace_all_intel_logs_at_once(in_traces, capsys):
    """Several files in one run: each checked on its own, one summary, 08's finding only."""
    names = sorted(p.name for p in TRACES.glob("0[1-9]*vtd*.log")) + ["05a_vfio_bar_mmio_map_msix_hole.log"]
    assert check_trace_main([*names, "--profile", "intel-vtd"]) == 1
    out = capsys.readouterr().out
    assert "08_vtd_qemu_unaligned_pa.log:1: TRACE_MISALIGNED [MAP_ALIGN]" in out
    assert out.count(": TRACE_") == 1


@pytest.mark.parametrize("argv,message", [
    (["x.log"], "required: --profile"),
    (["x.log", "--profile", "nope"], "unknown profile 'nope'; known profiles: arm-lpae-4k"),
    (["x.log", "--profile", "intel-vtd", "--semantics", "nope"], "unknown semantics 'nope'"),
    (["x.log", "--profile", "intel-vtd", "--pgsize-bitmap", "0x3"], "must be a non-empty subset"),
    (["missing.log", "--profile", "intel-vtd"], "missing.log: cannot read: No such file or directory"),
    ([".", "--profile", "intel-vtd"], ".: cannot read: Is a directory"),
])
def test_check_trace_usage_and_unreadable_input_exit_2(in_traces, capsys, argv, message):
    """Bad arguments and unreadable files exit 2 with a message on stderr."""
    assert check_trace_main(argv) == 2
    assert message in capsys.readouterr().err


def test_binary_file_is_unreadable_input(tmp_path, capsys):
    """A file of nothing but binary data is not a log: exit 2, with a clear message."""
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 4)
    assert check_trace_main([str(path), "--profile", "intel-vtd"]) == 2
    assert "not a text log: every line is binary data" in capsys.readouterr().err


def test_truncated_copy_of_a_real_log_reports_the_line(tmp_path, capsys):
    """01a cut in the middle of line 5: the line is listed as malformed, the rest is checked."""
    text = (TRACES / "01a_vtd_vfio_qemu-kvm_ftrace_4575.log").read_text()
    cut = tmp_path / "cut.log"
    cut.write_text(text[: text.index("paddr=0x00000001a68c0000")])
    assert check_trace_main([str(cut), "--profile", "intel-vtd"]) == 0
    out = capsys.readouterr().out
    assert f"{cut}:5: map event: no paddr=, size= (truncated line?)" in out


def test_complete_flag_changes_the_verdict(in_traces, capsys):
    """--complete declares an empty start: 02's unmaps of never-mapped ranges become findings."""
    assert check_trace_main(["02_mediatek_mt8173_vcodec_unmap_then_fault.log",
                             "--profile", "armv7s-mediatek", "--complete", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["findings_by_rule"] == {"TRACE_UNMAPPED_SIZE": 9, "TRACE_USE_AFTER_UNMAP": 1}


# -- explain -----------------------------------------------------------------------------------

def test_explain_numbers_in_hex_or_decimal(capsys):
    """IOVA PADDR SIZE may be hex or decimal; the answer is the same."""
    assert explain_main(["--profile", "intel-vtd", "0xf8007000", "0xfa007000", "16748544"]) == 0
    hex_out = capsys.readouterr().out
    assert explain_main(["--profile", "intel-vtd", str(0xf8007000), str(0xfa007000), "0xff9000"]) == 0
    assert capsys.readouterr().out == hex_out
    assert "     1  0x00000000f8007000  0x00000000fa007000        4K      505" in hex_out


def test_explain_json(capsys):
    """explain --json gives the steps of 01e's 2M map."""
    assert main(["explain", "--profile", "intel-vtd", "0x200000", "0x694200000", "0x200000", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(s["pgsize"], s["count"]) for s in data["steps"]] == [(0x200000, 1)]


def test_explain_refused_map_exits_1(capsys):
    """A map the spec refuses (08's misaligned pa) is explained and exits 1."""
    assert explain_main(["--profile", "intel-vtd", "0xfff7e000", "0x10be33650", "0x1000"]) == 1
    assert "-EINVAL (MAP_ALIGN" in capsys.readouterr().out


@pytest.mark.parametrize("numbers,message", [
    (["0x1000", "0x2000"], "expected IOVA PADDR SIZE (3 numbers), got 2"),
    (["0x1000", "0x2000", "zz"], "SIZE 'zz' is not a number"),
    (["0x1000", "-4096", "0x1000"], "'-4096' is negative"),
    (["0x1000", "-0x1000", "0x1000"], "'-0x1000' is negative"),
    (["0x10000000000000000", "0", "0x1000"], "IOVA 0x10000000000000000 is beyond 2^64 - 1"),
    (["1e3", "0", "0x1000"], "IOVA '1e3' is not a number"),
])
def test_explain_bad_numbers_exit_2_with_a_message(capsys, numbers, message):
    """Bad numbers are a usage error: exit 2 and a message naming the argument."""
    assert explain_main(["--profile", "intel-vtd", *numbers]) == 2
    assert message in capsys.readouterr().err


def test_explain_trace_agrees_with_01g(in_traces, capsys):
    """explain --trace on 01g: eight maps, seven mapping: lines that agree, exit 0."""
    assert explain_main(["--profile", "intel-vtd", "--trace", "01g_vtd_dyndbg_vfio_vm_start_2M.log"]) == 0
    out = capsys.readouterr().out
    assert out.count("agrees") == 7 and "DIFFERS" not in out


def test_explain_trace_reports_a_differing_kernel_decision(tmp_path, capsys):
    """A log whose mapping: line differs from the spec makes explain --trace exit 1."""
    log = tmp_path / "k.log"
    log.write_text("iommu: map: iova 0x200000 pa 0x400000 size 0x400000\n"
                   "iommu: mapping: iova 0x200000 pa 0x400000 pgsize 0x1000 count 1024\n")
    assert explain_main(["--profile", "intel-vtd", "--trace", str(log)]) == 1
    assert "line 2: pgsize 0x1000 count 1024 DIFFERS" in capsys.readouterr().out


def test_explain_trace_and_numbers_together_is_a_usage_error(in_traces, capsys):
    """--trace and IOVA PADDR SIZE exclude each other."""
    assert explain_main(["--profile", "intel-vtd", "--trace", "01e_vtd_dyndbg_2M_single.log", "1", "2", "3"]) == 2
    assert "not both" in capsys.readouterr().err


def test_help_exits_0(capsys):
    """--help prints usage and exits 0."""
    assert explain_main(["--help"]) == 0
    assert "IOVA PADDR SIZE" in capsys.readouterr().out


def test_data_copies_match_the_index():
    """tests/data/traces holds the INDEX and the eleven logs it lists."""
    index = (TRACES / "INDEX.md").read_text()
    names = sorted(path.name for path in TRACES.glob("*.log"))
    assert len(names) == 11
    for name in names:
        assert f"| {name} |" in index


@pytest.mark.parametrize("content, says", [
    (b"", "the log is empty, so nothing was checked"),
    (b"hello\n\nworld\n", "no IOMMU events in this log, so nothing was checked"),
    (bytes(range(256)) * 8, "not a text log"),
])
def test_a_log_with_nothing_to_check_is_an_error(tmp_path, capsys, content, says):
    """An empty file, a file without IOMMU events and binary data exit 2 with one line: nothing was checked."""
    log = tmp_path / "x.log"
    log.write_bytes(content)
    assert check_trace_main([str(log), "--profile", "intel-vtd"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"iommu-spec check-trace: {log}: {says}\n" or (
        says in captured.err and captured.err.count("\n") == 1)


def test_explain_of_a_log_without_maps_is_an_error(tmp_path, capsys):
    """explain --trace on a log with no maps exits 2 instead of explaining 0 maps."""
    log = tmp_path / "x.log"
    log.write_text("garbage\n")
    assert explain_main(["--profile", "intel-vtd", "--trace", str(log)]) == 2
    assert capsys.readouterr().err == f"iommu-spec explain: {log}: no maps in this log, so nothing to explain\n"


def test_an_endless_line_stops_reading_with_an_error(capsys):
    """/dev/zero is read up to the line cap, not into memory: one line, exit 2."""
    assert check_trace_main(["/dev/zero", "--profile", "intel-vtd"]) == 2
    assert "line 1 is longer than 1048576 bytes: not a kernel log" in capsys.readouterr().err
