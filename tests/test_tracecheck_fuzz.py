"""Property tests of tracecheck: no input makes it crash, and it judges spec-made logs rightly.

The Hypothesis strategies for kernel-log lines live here, in one place.
"""

import copy
import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spec import IOMMU_READ, IOMMU_WRITE, ReferenceDomain, greedy_chunks
from tracecheck import check_lines, parse_line, split_lines, Loc
from tracecheck.cli import check_trace_main, explain_main

SZ_4K, SZ_2M = 0x1000, 0x200000
#: Examples per property; raise it (e.g. TRACECHECK_EXAMPLES=5000) for a deeper search.
EXAMPLES = int(os.environ.get("TRACECHECK_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies --------------------------------------------------------------------------------

#: Numbers as a log might print them, including absurd ones.
numbers = st.one_of(
    st.integers(0, 1 << 70).map(hex), st.integers(0, 1 << 70).map(str),
    st.integers(-(1 << 64), -1).map(str), st.sampled_from(["", "0x", "-0x1", "zz", "1e9", "0x00000000"]))

#: Fragments of every accepted format, so random lines often get past the first check.
fragments = st.sampled_from([
    "map: IOMMU: ", "unmap: IOMMU: ", "io_page_fault: IOMMU:drv dev ", "iommu: map: ",
    "iommu: mapping: ", "iommu: unmap this: ", "iommu: unmapped: ", "iommu: unaligned: ",
    "DMA PTE for vPFN ", "iova=", " - ", " paddr=", " size=", " unmapped_size=", " flags=",
    "iova ", " pa ", " size ", " pgsize ", " count ", " min_pagesz ", "dev=x ", " already set (to ",
    " not ", ")", "[ 12.345678] ", "task-1 [000] ..... 1.000001: ", "\x00", "\xff", "\t", " "])

log_like_lines = st.lists(st.one_of(fragments, numbers), max_size=12).map("".join)


def _addr():
    return st.one_of(st.integers(0, 2047).map(lambda p: p * SZ_4K),
                     st.integers(0, 7).map(lambda p: p * SZ_2M),
                     st.integers(0, 7).map(lambda p: p * SZ_2M + 0x7000))


def _size():
    return st.one_of(st.integers(1, 600).map(lambda p: p * SZ_4K),
                     st.sampled_from([SZ_2M, 2 * SZ_2M, SZ_2M + SZ_4K, 0x10000, 0x100000, 0xff9000]))


calls = st.lists(st.tuples(st.sampled_from(["map", "map", "unmap"]), _addr(), _addr(), _size(),
                           st.sampled_from(["old", "range", "prefix", "dyndbg"])),
                 min_size=1, max_size=25)
setups = st.sampled_from([("intel-vtd", None), ("amd-v1", None), ("arm-lpae-4k", None),
                          ("arm-lpae-4k", "arm-lpae-v6.13"), ("armv7s-mediatek", "arm-v7s"),
                          ("armv7s-mediatek", None)])


def spec_log(profile, semantics, calls):
    """Run calls on the spec and write the log a kernel following it would print.

    Returns ``(lines, unmap_lines)``: the log, and the indexes of ftrace unmap lines
    with their unmapped_size.  A map the spec refuses is left out altogether (tried
    on a copy first): ftrace does not log a failed map, but it does log the
    rollback's unmap, and under io-pgtable-arm a failed map can already have
    freed a table (MAP_REPLACE_TABLE) -- a log of such a call is not complete.
    """
    d = ReferenceDomain(profile, semantics)
    lines, unmaps = [], []
    for n, (op, iova, paddr, size, fmt) in enumerate(calls):
        prefix = f"  t-1  [000] .....  {n}.000001: " if fmt == "prefix" else "  "
        rng = f" - {iova + size:#018x}" if fmt != "old" else ""
        if op == "map":
            trial = copy.deepcopy(d)
            if trial.map(iova, paddr, size, IOMMU_READ | IOMMU_WRITE):
                continue
            d = trial
            if fmt == "dyndbg":
                lines.append(f"[ {n}.5] iommu: map: iova {iova:#x} pa {paddr:#018x} size {size:#x}")
                for at, pa, pg, count in greedy_chunks(d.pgsize_bitmap, iova, paddr, size):
                    lines.append(f"[ {n}.5] iommu: mapping: iova {at:#x} pa {pa:#018x} "
                                 f"pgsize {pg:#x} count {count}")
            else:
                lines.append(f"{prefix}map: IOMMU: iova={iova:#018x}{rng} paddr={paddr:#018x} size={size}")
        else:
            got = d.unmap(iova, size)
            if fmt == "dyndbg":
                lines.append(f"[ {n}.5] iommu: unmap this: iova {iova:#x} size {size:#x}")
                if got:
                    lines.append(f"[ {n}.5] iommu: unmapped: iova {iova:#x} size {got:#x}")
            else:
                unmaps.append((len(lines), iova, size, got, prefix, rng))
                lines.append(f"{prefix}unmap: IOMMU: iova={iova:#018x}{rng} size={size} unmapped_size={got}")
    return lines, unmaps


# -- never a traceback -------------------------------------------------------------------------

@FUZZ
@given(st.lists(st.text(max_size=200), max_size=20))
def test_arbitrary_text_never_raises(lines):
    """Any text is parsed and checked without an exception; every line is accounted for."""
    report = check_lines(lines, "intel-vtd", file="fuzz")
    assert report.lines == len(lines)
    accounted = (sum(report.events.values()) + sum(n for n, _ in report.skipped.values())
                 + len(report.malformed))
    assert accounted == len(lines)


@FUZZ
@given(st.lists(log_like_lines, max_size=20), setups, st.booleans())
def test_log_like_garbage_never_raises(lines, setup, complete):
    """Lines built from pieces of the real formats and absurd numbers never crash the checker."""
    profile, semantics = setup
    report = check_lines(lines, profile, semantics=semantics, complete=complete)
    for loc, message in report.malformed:
        assert message and loc.line >= 1


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data):
    """Any bytes, split into lines, are checked without an exception."""
    check_lines(split_lines(data), "armv7s-mediatek", file="bytes", complete=True)
    for number, text in enumerate(split_lines(data), 1):
        parse_line(text, Loc("bytes", number))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=600))
def test_cli_on_arbitrary_bytes_returns_a_status(data):
    """check-trace and explain --trace on any file return 0, 1 or 2, never raise."""
    fd, path = tempfile.mkstemp(suffix=".log")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        assert check_trace_main([path, "--profile", "intel-vtd", "--json"]) in (0, 1, 2)
        assert explain_main(["--profile", "intel-vtd", "--trace", path, "--json"]) in (0, 1, 2)
    finally:
        os.unlink(path)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(numbers, st.text(max_size=8)), min_size=0, max_size=4))
def test_explain_on_arbitrary_arguments_returns_a_status(args):
    """explain with any numbers-or-text arguments exits 0, 1 or 2 without raising."""
    assert explain_main(["--profile", "intel-vtd", "--json", "--", *args]
                        if args and args[0].startswith("-") else
                        ["--profile", "intel-vtd", "--json", *args]) in (0, 1, 2)


# -- spec-made logs are judged rightly ---------------------------------------------------------

@FUZZ
@given(setups, calls)
def test_a_log_the_spec_wrote_is_consistent_from_an_empty_start(setup, calls):
    """A log written by a kernel that follows the spec has no finding, even under --complete."""
    profile, semantics = setup
    lines, _ = spec_log(profile, semantics, calls)
    report = check_lines(lines, profile, semantics=semantics, complete=True)
    assert report.findings == [], [(f.loc.line, f.rule, f.message) for f in report.findings]


@FUZZ
@given(setups, calls, st.data())
def test_any_excerpt_of_a_spec_log_raises_no_false_alarm(setup, calls, data):
    """Cut the start (and end) off a consistent log: mid-stream checking still finds nothing."""
    profile, semantics = setup
    lines, _ = spec_log(profile, semantics, calls)
    start = data.draw(st.integers(0, len(lines)))
    stop = data.draw(st.integers(start, len(lines)))
    report = check_lines(lines[start:stop], profile, semantics=semantics)
    assert report.findings == [], [(f.loc.line, f.rule, f.message) for f in report.findings]


@FUZZ
@given(setups, calls, st.data())
def test_a_wrong_unmapped_size_is_caught_at_its_line(setup, calls, data):
    """Change one traced unmapped_size in a complete log: TRACE_UNMAPPED_SIZE at exactly that line."""
    profile, semantics = setup
    lines, unmaps = spec_log(profile, semantics, calls)
    if not unmaps:
        return
    index, iova, size, got, prefix, rng = data.draw(st.sampled_from(unmaps))
    wrong = got + SZ_4K if data.draw(st.booleans()) or not got else got - SZ_4K
    lines[index] = f"{prefix}unmap: IOMMU: iova={iova:#018x}{rng} size={size} unmapped_size={wrong}"
    report = check_lines(lines, profile, semantics=semantics, complete=True)
    found = [(f.loc.line, f.rule) for f in report.findings]
    # The first finding is at exactly that line.  A size too large also claims a page
    # that a later unmap in the log may then unmap again: that later line contradicts
    # the (wrong) trace too, and is rightly reported after it.
    assert found[:1] == [(index + 1, "TRACE_UNMAPPED_SIZE")]
    assert all(line > index + 1 and rule == "TRACE_UNMAPPED_SIZE" for line, rule in found[1:])
    assert wrong > got or len(found) == 1
