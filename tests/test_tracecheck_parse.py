"""The log parser: every accepted format, read into typed records, and bad input."""

from decimal import Decimal

import pytest

import tracecheck
from tracecheck import (DbgMap, DbgMapping, DbgUnaligned, DbgUnmapped, DbgUnmapThis, Fault,
                        FieldError, Loc, Malformed, Map, PteAlreadySet, Skipped, Unmap,
                        check_lines, parse_line, parse_u64, split_lines)

L = Loc("t", 1)


def parse(text):
    return parse_line(text, L)


def test_public_names_are_exactly_these():
    """tracecheck exports this list and nothing it does not define."""
    assert sorted(tracecheck.__all__) == sorted([
        "check_lines", "check_file", "check_files", "TraceChecker", "Finding", "FileReport",
        "TraceReport", "render_report", "report_json", "TRACE_RULES", "TraceRule",
        "explain_map", "explain_trace", "Explanation", "Step", "Layout", "TraceMap", "KernelLine",
        "render_explanation", "render_trace_explanation",
        "parse_line", "parse_lines", "read_trace", "split_lines", "parse_u64", "Loc", "Record",
        "Map", "Unmap", "Fault", "DbgMap", "DbgMapping", "DbgUnmapThis", "DbgUnmapped",
        "DbgUnaligned", "PteAlreadySet", "Skipped", "Malformed", "TraceInputError", "FieldError"])
    assert all(hasattr(tracecheck, name) for name in tracecheck.__all__)


# -- ftrace ------------------------------------------------------------------------------------

def test_range_format_map_with_prefix():
    """The range format with the task-pid [cpu] flags timestamp: prefix (01a line 2)."""
    rec = parse("        qemu-kvm-4575    [008] .......   438.308514: map: IOMMU: "
                "iova=0x0000000000000000 - 0x00000000000c0000 paddr=0x00000001a6800000 size=786432")
    assert rec == Map(L, Decimal("438.308514"), 0, 0x1a6800000, 786432, None, "range")


def test_range_format_map_with_blank_prefix():
    """01a line 1: the prefix is only spaces; there is no timestamp."""
    rec = parse(" " * 53 + "map: IOMMU: iova=0x0000000000000000 - 0x0000000000002000 "
                "paddr=0x00000001110f8000 size=8192")
    assert rec == Map(L, None, 0, 0x1110f8000, 8192, None, "range")


def test_old_format_map_with_a_task_name_containing_a_space():
    """05a: 'CPU 0/KVM-3046' is one task name; the old format has no range."""
    rec = parse("        CPU 0/KVM-3046  [051] .... 63113.338894: map: IOMMU: "
                "iova=0x00000000f8000000 paddr=0x00000000fa000000 size=24576")
    assert rec == Map(L, Decimal("63113.338894"), 0xf8000000, 0xfa000000, 24576, None, "old")


def test_range_format_unmap_with_need_resched_flags():
    """02: '.N...' flags and the range format of unmap."""
    rec = parse("    gst-launch-1.0-606     [000] .N...   714.634891: unmap: IOMMU: "
                "iova=0x00000000eb700000 - 0x00000000eb7ff000 size=1044480 unmapped_size=1044480")
    assert rec == Unmap(L, Decimal("714.634891"), 0xeb700000, 1044480, 1044480, None, "range")


def test_old_and_dev_formats_of_unmap():
    """06a and 06b: the old format and the dev= variant, prefix stripped by the author."""
    assert parse("  unmap: IOMMU: iova=0x0000000ffff36000 size=4096 unmapped_size=4096") == \
        Unmap(L, None, 0xffff36000, 4096, 4096, None, "old")
    assert parse("  unmap: IOMMU: dev=1d84000.ufshc iova=0x0000000fffa88000 size=4096 "
                 "unmapped_size=4096") == Unmap(L, None, 0xfffa88000, 4096, 4096, "1d84000.ufshc", "old")
    assert parse("  map: IOMMU: dev=1d84000.ufshc iova=0x0000000fffa88000 "
                 "paddr=0x00000001063db000 size=4096") == \
        Map(L, None, 0xfffa88000, 0x1063db000, 4096, "1d84000.ufshc", "old")


def test_trace_cmd_pads_the_event_name():
    """trace-cmd report pads 'map:' with spaces before 'IOMMU:'; that is still a map."""
    rec = parse("qemu-1 [002] 10.000001: map:                  IOMMU: iova=0x0000000000001000 "
                "paddr=0x0000000000002000 size=4096")
    assert isinstance(rec, Map) and rec.iova == 0x1000


def test_io_page_fault_with_and_without_driver():
    """io_page_fault: 'IOMMU:DRIVER DEVICE'; an unbound device has an empty driver name."""
    rec = parse("irq/26-AMD-Vi-154     [006] .....   327.753942: io_page_fault: "
                "IOMMU:ath12k_pci 0000:c2:00.0 iova=0x00000000fe980000 flags=0x0001")
    assert rec == Fault(L, Decimal("327.753942"), 0xfe980000, 1, "ath12k_pci", "0000:c2:00.0")
    rec = parse("io_page_fault: IOMMU: 0000:c2:00.0 iova=0x0000000000001000 flags=0x0000")
    assert rec == Fault(L, None, 0x1000, 0, "", "0000:c2:00.0")


def test_other_ftrace_events_are_skipped_by_name():
    """03 line 2: a dma_alloc event is counted as 'other ftrace event dma_alloc'."""
    rec = parse("   (udev-worker)-532     [010] .....     4.878079: dma_alloc: 0000:c2:00.0 "
                "dma_addr=fe980000 size=524288 virt_addr=000000006cadbcb1 flags=GFP_KERNEL attrs=")
    assert rec == Skipped(L, Decimal("4.878079"), "other ftrace event dma_alloc")


# -- dynamic debug -----------------------------------------------------------------------------

def test_dyndbg_map_and_mapping_with_count():
    """01g: map: and mapping: ... count N, with the dmesg timestamp."""
    assert parse("[ 1189.113527] iommu: map: iova 0x6e200000 pa 0x00000004f4800000 size 0x400000") == \
        DbgMap(L, Decimal("1189.113527"), 0x6e200000, 0x4f4800000, 0x400000)
    assert parse("[ 1189.113527] iommu: mapping: iova 0x6e200000 pa 0x00000004f4800000 "
                 "pgsize 0x200000 count 2") == \
        DbgMapping(L, Decimal("1189.113527"), 0x6e200000, 0x4f4800000, 0x200000, 2)


def test_dyndbg_older_forms():
    """Before v5.14: mapping: without count; older still: map: with min_pagesz, no iommu: prefix."""
    assert parse("iommu: mapping: iova 0x1000 pa 0x2000 pgsize 0x1000") == \
        DbgMapping(L, None, 0x1000, 0x2000, 0x1000, None)
    assert parse("map: iova 0x1000 pa 0x2000 size 0x1000 min_pagesz 0x1000") == \
        DbgMap(L, None, 0x1000, 0x2000, 0x1000)


def test_dyndbg_unmap_lines():
    """unmap this: and unmapped: lines."""
    assert parse("[ 5.1] iommu: unmap this: iova 0x1000 size 0x2000") == \
        DbgUnmapThis(L, Decimal("5.1"), 0x1000, 0x2000)
    assert parse("[ 5.1] iommu: unmapped: iova 0x1000 size 0x1000") == \
        DbgUnmapped(L, Decimal("5.1"), 0x1000, 0x1000)


def test_unaligned_map_and_unmap_forms():
    """08: the map form with pa; the unmap form has no pa."""
    assert parse("[   43.826627] iommu: unaligned: iova 0xfff7e000 pa 0x000000010be33650 "
                 "size 0x1000 min_pagesz 0x1000") == \
        DbgUnaligned(L, Decimal("43.826627"), 0xfff7e000, 0x10be33650, 0x1000, 0x1000)
    assert parse("iommu: unaligned: iova 0x1800 size 0x1000 min_pagesz 0x1000") == \
        DbgUnaligned(L, None, 0x1800, None, 0x1000, 0x1000)


def test_intel_pte_already_set():
    """10: the VT-d driver's PTE error is read as what it is, vPFN in 4K pages."""
    rec = parse(" DMAR: ERROR: DMA PTE for vPFN 0x428ec already set (to 3f6ec003 not 3f6ec003)")
    assert rec == PteAlreadySet(L, None, 0x428ec, 0x3f6ec003, 0x3f6ec003)
    assert rec.iova == 0x428ec000


def test_printk_lines_that_mention_iova_are_other_text():
    """01c: the test module's 'phys =0x... iova =0x...' is not an IOMMU event."""
    assert parse("[  236.898873] phys =0x002743cc045d9000 iova =0x00000000fcbbf000") == \
        Skipped(L, None, "other text")
    assert parse("   ") == Skipped(L, None, "blank")


# -- numbers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [("0x0", 0), ("0XfF", 255), ("4096", 4096),
                                        ("0xffffffffffffffff", (1 << 64) - 1),
                                        ("00000000000000000000000000001", 1)])
def test_parse_u64_accepts_hex_and_decimal(text, value):
    """0x-prefixed hex (any case) and decimal digits, up to 2^64 - 1."""
    assert parse_u64(text, "x") == value


@pytest.mark.parametrize("text,message", [
    ("", "x is empty"),
    ("-4096", "x '-4096' is negative"),
    ("0x10000000000000000", "x 0x10000000000000000 is beyond 2^64 - 1"),
    ("18446744073709551616", "beyond 2^64 - 1"),
    ("0x", "is not a number"), ("12abc", "is not a number"), ("1e3", "is not a number"),
])
def test_parse_u64_rejects_with_a_message_naming_the_field(text, message):
    """Empty, negative, too large and non-numeric values raise FieldError naming the field."""
    with pytest.raises(FieldError, match=message.replace("^", r"\^")):
        parse_u64(text, "x")


# -- bad input: each gives a clear message with the line number, or a counted skip ----------

def test_truncated_map_line_is_malformed_with_the_missing_fields():
    """A map line cut after the range end says which fields are missing."""
    rec = parse("  qemu-kvm-4575 [008] ....... 438.3: map: IOMMU: iova=0x0000000000000000 - 0x00000")
    assert isinstance(rec, Malformed)
    assert "no paddr=, size=" in rec.message and "truncated" in rec.message


def test_truncated_dyndbg_line_is_malformed():
    """A mapping: line cut before pgsize is malformed, naming the expected form."""
    rec = parse("[ 1.0] iommu: mapping: iova 0x6e200000 pa 0x00000004f48")
    assert isinstance(rec, Malformed) and "iova 0x… pa 0x… pgsize 0x… [count N]" in rec.message


@pytest.mark.parametrize("line,message", [
    ("map: IOMMU: iova=0x1ffffffffffffffffff paddr=0x0 size=4096", "iova 0x1ffffffffffffffffff is beyond 2^64 - 1"),
    ("unmap: IOMMU: iova=0x1000 size=-4096 unmapped_size=0", "size '-4096' is negative"),
    ("unmap: IOMMU: iova=0x1000 size=4096 unmapped_size=99999999999999999999999", "unmapped_size 99999999999999999999999 is beyond"),
    ("map: IOMMU: iova=0x1000 - 0x3000 paddr=0x0 size=4096", "range end 0x3000 is not iova + size (0x2000)"),
    ("io_page_fault: IOMMU:drv dev iova=banana flags=0x1", "iova 'banana' is not a number"),
    ("iommu: map: iova 0x1000 pa -0x2000 size 0x1000", "pa '-0x2000' is negative"),
    ("DMA PTE for vPFN 0x10000000000000 already set (to 1 not 1)", "beyond 2^52"),
])
def test_absurd_numbers_are_malformed_with_the_field_named(line, message):
    """Numbers beyond 2^64, negative, inconsistent or not numbers: a message naming the field."""
    rec = parse(line)
    assert isinstance(rec, Malformed)
    assert message in rec.message


def test_range_end_may_wrap_like_the_kernels_u64_sum():
    """The kernel prints iova + size modulo 2^64; a wrapped end is accepted as printed."""
    rec = parse("unmap: IOMMU: iova=0xfffffffffffff000 - 0x0000000000001000 size=8192 unmapped_size=0")
    assert isinstance(rec, Unmap) and rec.size == 8192


def test_binary_lines_are_skipped_and_text_around_them_is_read():
    """Undecodable bytes and NUL bytes make a line 'binary data'; the lines around it still count."""
    data = (b"map: IOMMU: iova=0x0000000000001000 paddr=0x0000000000002000 size=4096\n"
            b"\xff\xfe\x00garbage\x00\n"
            b"ok \x00 nul\r\n"
            b"unmap: IOMMU: iova=0x0000000000001000 size=4096 unmapped_size=4096\r\n")
    lines = split_lines(data)
    assert lines[1] is None and len(lines) == 4
    report = check_lines(lines, "intel-vtd", file="bin.log")
    assert dict(report.events) == {"map": 1, "unmap": 1}
    assert report.skipped == {"binary data": (2, Loc("bin.log", 2))}
    assert report.findings == []


def test_overlong_line_is_skipped_unread():
    """A line longer than 4096 characters is counted under its own reason."""
    rec = parse("map: IOMMU: " + "x" * 5000)
    assert rec == Skipped(L, None, "longer than 4096 characters")


def test_ansi_colour_codes_are_ignored():
    """dmesg --color codes around a dynamic-debug line do not hide it."""
    rec = parse("\x1b[32m[    1.000000] \x1b[0miommu: map: iova 0x1000 pa 0x2000 size 0x1000")
    assert rec == DbgMap(L, Decimal("1.000000"), 0x1000, 0x2000, 0x1000)


def test_mixed_formats_in_one_file_are_all_read_and_the_mix_is_noted():
    """Old and range ftrace, dyndbg and noise in one file: each line read, the mix noted with lines."""
    lines = ["  map: IOMMU: iova=0x0000000000001000 paddr=0x0000000000101000 size=4096",
             "  map: IOMMU: iova=0x0000000000002000 - 0x0000000000003000 paddr=0x0000000000102000 size=4096",
             "[ 2.0] iommu: map: iova 0x3000 pa 0x103000 size 0x1000",
             "random noise",
             "  unmap: IOMMU: iova=0x0000000000001000 - 0x0000000000004000 size=12288 unmapped_size=12288"]
    report = check_lines(lines, "intel-vtd", file="mix.log")
    assert dict(report.events) == {"map": 2, "dyndbg_map": 1, "unmap": 1}
    assert report.findings == []
    (note,) = [msg for _, msg in report.notes]
    assert "old ftrace format (first at line 1)" in note and "range format (first at line 2)" in note


def test_malformed_lines_are_listed_with_file_and_line_and_not_replayed():
    """A malformed line is reported at its line and does not change the state."""
    lines = ["  map: IOMMU: iova=0x0000000000001000 paddr=0x0000000000002000 size=4096",
             "  map: IOMMU: iova=0x0000000000001000 paddr=0x0000000000002000 size=40x6",
             "  unmap: IOMMU: iova=0x0000000000001000 size=4096 unmapped_size=4096"]
    report = check_lines(lines, "intel-vtd", file="m.log", complete=True)
    assert [(loc.line, msg) for loc, msg in report.malformed] == [
        (2, "map event: size '40x6' is not a number (write 0x… hex or decimal digits)")]
    assert report.findings == []
