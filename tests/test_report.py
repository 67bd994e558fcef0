"""The failure report is the product: its shape is pinned here.

Snapshots of :func:`difftest.report.render` pin the first line, the step
block, the mismatch table and the reproducer exactly; end-to-end tests check
that a crash, a hang and a malformed reply of an external driver are reported
as what they are, with the driver calls of the failing step, and that in
``pytest difftest`` output the report is the first thing under the item's
header.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from difftest import DiffFailure, build_machine
from difftest.external import ExternalFactory, ExternalTimeout
from difftest.report import Call, Failure, Text, render

ROOT = Path(__file__).resolve().parent.parent
TARGET = "implementation 'x' on profile intel-vtd (semantics generic-pt, pgsize_bitmap 0x40201000)"
SPEC = "ReferenceDomain('intel-vtd', 'generic-pt', pgsize_bitmap=0x40201000)"

RULE_REPORT = """\
implementation 'x' on profile intel-vtd (semantics generic-pt, pgsize_bitmap 0x40201000): violates IOTLB_STALE: Once an unmap is synced, no IOTLB entry may translate an IOVA differently from the page table.
  (drivers/iommu/iommu.c iommu_unmap -> iommu_iotlb_sync; iommu_unmap_fast + iommu_iotlb_sync)

step 4 of 4: iotlb_sync()
  spec:           0    rules: IOTLB_STALE
  implementation: 0
  mismatch in IOTLB:
    cached iova         cached paddr        page table now
    0x0000000000002000  0x0000000000003000  unmapped

Reproduce (paste into a test file):

    from spec import *
    from spec.errors import *
    from spec.prot import *
    import mod


    def test_repro():
        spec = ReferenceDomain('intel-vtd', 'generic-pt', pgsize_bitmap=0x40201000)
        impl = mod.Impl('intel-vtd', 'generic-pt')
        tlb = Iotlb().bind(spec.min_pagesz)
        assert impl.map(0x0, 0x100000, 0x1000, IOMMU_READ) == spec.map(0x0, 0x100000, 0x1000, IOMMU_READ)
        tlb.apply(impl.take_tlb_commands())
        iotlb_fill(spec, tlb, 0x2000)  # device access
        assert impl.unmap_fast(0x2000, 0x1000) == spec.unmap(0x2000, 0x1000)
        tlb.apply(impl.take_tlb_commands())
        impl.iotlb_sync()  # IOTLB_STALE
        tlb.apply(impl.take_tlb_commands())
        assert iotlb_stale(spec, tlb) is None"""

CRASH_REPORT = """\
implementation 'x' on profile intel-vtd (semantics generic-pt, pgsize_bitmap 0x40201000): the implementation crashed (SIGSEGV) on unmap_pages(iova=0, pgsize=0x1000, pgcount=2)

step 2 of 2: unmap(iova=0x0000000000000000, size=0x0000000000002000)
  spec:           8192    rules: UNMAP_LEAVES
  implementation: no reply
  driver calls of this step (request -> reply):
    unmap_pages(iova=0, pgsize=0x1000, pgcount=2) -> no reply
  what happened:
    external implementation `drv` (pid 1) was killed by SIGSEGV before replying

Reproduce (paste into a test file):

    from spec import *
    from spec.errors import *
    from spec.prot import *
    import difftest.external


    def test_repro():
        spec = ReferenceDomain('intel-vtd', 'generic-pt', pgsize_bitmap=0x40201000)
        impl = difftest.external.ExternalFactory('drv')('intel-vtd', 'generic-pt')
        assert impl.map(0x0, 0x0, 0x2000, IOMMU_READ | IOMMU_WRITE) == spec.map(0x0, 0x0, 0x2000, IOMMU_READ | IOMMU_WRITE)
        assert impl.unmap(0x0, 0x2000) == spec.unmap(0x0, 0x2000)
        # the implementation crashed (SIGSEGV) on unmap_pages(iova=0, pgsize=0x1000, pgcount=2)"""


def test_rule_report_snapshot():
    """A rule violation: the rule and its source, the step, the mismatch table, then the pasteable test."""
    calls = [Call("map", {"iova": 0x0, "paddr": 0x100000, "size": 0x1000, "prot": 1}, 0, 0,
                  ["MAP_PAGES_INSTALL"]),
             Call("dma_access", {"iova": 0x2000}, kind="dma"),
             Call("unmap_fast", {"iova": 0x2000, "size": 0x1000}, 0, 0, ["UNMAP_HOLE"]),
             Call("iotlb_sync", {}, 0, 0, ["IOTLB_STALE"], kind="impl")]
    table = ("cached iova         cached paddr        page table now\n"
             "0x0000000000002000  0x0000000000003000  unmapped")
    text = render(TARGET, Failure("IOTLB_STALE", "IOTLB", table), calls,
                  "mod.Impl('intel-vtd', 'generic-pt')", SPEC,
                  "assert iotlb_stale(spec, tlb) is None", "import mod")
    assert text == RULE_REPORT


def test_crash_report_snapshot():
    """A crash: what happened on which driver call first, the step's driver calls, no rule named."""
    calls = [Call("map", {"iova": 0x0, "paddr": 0x0, "size": 0x2000, "prot": 3}, 0, 0,
                  ["MAP_PAGES_INSTALL"]),
             Call("unmap", {"iova": 0x0, "size": 0x2000}, 0x2000, Text("no reply"), ["UNMAP_LEAVES"])]
    headline = "the implementation crashed (SIGSEGV) on unmap_pages(iova=0, pgsize=0x1000, pgcount=2)"
    text = render(TARGET, Failure(None, "crash", "external implementation `drv` (pid 1) was killed "
                                                 "by SIGSEGV before replying", headline),
                  calls, "difftest.external.ExternalFactory('drv')('intel-vtd', 'generic-pt')", SPEC,
                  f"# {headline}", "import difftest.external",
                  driver_calls=["unmap_pages(iova=0, pgsize=0x1000, pgcount=2) -> no reply"])
    assert text == CRASH_REPORT


BUGGY_DRIVER = '''
import os, signal, sys, time
sys.path.insert(0, {examples!r})
import python_driver


class Buggy(python_driver.Driver):
    def unmap_pages(self, iova, pgsize, pgcount):
        if pgcount > 1 and iova:
            {bug}
        return super().unmap_pages(iova, pgsize, pgcount)


python_driver.Driver = Buggy
python_driver.serve(sys.stdin, sys.stdout)
'''

BUGS = {
    "segv": "os.kill(os.getpid(), signal.SIGSEGV)",
    "hang": "time.sleep(60)",
    "garbage": "sys.stdout.write('not json\\n'); sys.stdout.flush(); return 0",
    "drop": "pgcount -= 1  # the last page stays mapped",
}


def buggy_driver(tmp_path, bug: str) -> str:
    script = tmp_path / f"driver_{bug}.py"
    script.write_text(BUGGY_DRIVER.format(examples=str(ROOT / "examples"), bug=BUGS[bug]))
    return f"{sys.executable} {script}"


def report_of(cmd: str, timeout: float = 5.0, error=DiffFailure, steps: int = 10) -> str:
    with ExternalFactory(cmd, timeout=timeout) as factory:
        machine = build_machine(factory, "intel-vtd", label=factory.hello().name,
                                driver_contract=True)
        with pytest.raises(error) as info:
            run_state_machine_as_test(machine, settings=settings(
                settings.get_profile("ci"), max_examples=300, stateful_step_count=steps))
    return str(info.value)


HEAD = (r"^implementation 'python-driver' on profile intel-vtd \(semantics generic-pt, "
        r"pgsize_bitmap 0x40201000\): ")


@pytest.mark.parametrize("bug, first_line", [
    ("segv", r"the implementation crashed \(SIGSEGV\) on unmap_pages\(iova=0x[0-9a-f]+, "
             r"pgsize=0x1000, pgcount=\d+\)$"),
    ("garbage", r"the implementation broke protocol v1 on unmap_pages\(iova=0x[0-9a-f]+, "
                r"pgsize=0x1000, pgcount=\d+\): it replied with a line that is not JSON"),
])
def test_driver_failure_is_reported_as_what_it_is(tmp_path, bug, first_line):
    """A driver's crash or malformed reply heads the report as such, never as the step's spec rule."""
    report = report_of(buggy_driver(tmp_path, bug))
    assert re.match(HEAD + first_line, report.splitlines()[0]), report
    assert "violates" not in report
    assert re.search(r"^  driver calls of this step \(request -> reply\):\n"
                     r"(    .*\n)*    unmap_pages\(.*\) -> no reply$", report, re.M), report
    assert "\n  what happened:\n    external implementation `" in report
    assert "Traceback" not in report and "\\n" not in report


def test_driver_hang_is_reported_as_a_hang(tmp_path):
    """A driver that stops answering is reported as hanging on that driver call, once, without shrinking."""
    report = report_of(buggy_driver(tmp_path, "hang"), timeout=0.5, error=ExternalTimeout)
    assert re.match(HEAD + r"the implementation hung on unmap_pages\(", report), report
    assert "sent no reply within 0.5 s" in report and "def test_repro():" in report


def test_driver_calls_show_a_dropped_page(tmp_path):
    """A driver's short unmap_pages shows in the report as the request and the bytes it answered."""
    report = report_of(buggy_driver(tmp_path, "drop"))
    assert re.search(r"unmap_pages\(iova=0x[0-9a-f]+, pgsize=0x1000, pgcount=(\d+)\) -> ret 0x[0-9a-f]+",
                     report), report


def test_pytest_output_leads_with_the_report(tmp_path):
    """Under `pytest difftest`, the first line below the failing item's header is the report's first line."""
    cmd = buggy_driver(tmp_path, "segv")
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "difftest", "-p", "no:cacheprovider", "--kernel-src", "none",
         "--impl-cmd", cmd, "--profile", "intel-vtd", "-k", "external"],
        cwd=ROOT, env={**os.environ, "HYPOTHESIS_PROFILE": "ci"}, capture_output=True, text=True,
        timeout=300).stdout
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if "test_external[intel-vtd]" in line
                  and line.startswith("_"))
    assert re.match(HEAD + r"the implementation crashed \(SIGSEGV\) on unmap_pages\(",
                    lines[header + 1]), out[-3000:]
    assert lines[header + 3].startswith("step "), out[-3000:]
    assert "Traceback" not in out and "Falsifying example" not in out
    assert re.search(r"^implementation +profile +semantics +examples +steps +pte_writes +"
                     r"invalidations +set_aside +failures$", out, re.M), out[-3000:]


def test_calls_that_changed_nothing_are_left_out_of_the_reproducer():
    """A call with the same result on both sides that changed nothing is marked no-op, and the
    printed reproducer leaves it out (saying so), but always keeps the failing call."""
    from impls import MapPages
    machine = build_machine(MapPages, "intel-vtd")()
    rw = 3
    machine.do("map", iova=0x1000, paddr=0x1000, size=0x1000, prot=rw)
    machine.do("map", iova=0x1000, paddr=0x5000, size=0x1000, prot=rw)   # -EEXIST: nothing changes
    machine.do("unmap", iova=0x40000, size=0x1000)                        # a hole: nothing changes
    machine.do("unmap", iova=0x1000, size=0x1000)
    machine.do("map", iova=0x1000, paddr=0x1000, size=0x1000, prot=rw)
    machine.do("map", iova=0x1000, paddr=0x1000, size=0x1000, prot=rw)   # the "failing" call
    assert [c.noop for c in machine.calls] == [False, True, True, False, False, True]
    text = machine.report("MAP_EXISTS", "return value", "details")
    assert "Reproduce (paste into a test file); 2 calls that changed nothing are left out:" in text
    assert text.count("impl.map(") == 3 and text.count("impl.unmap(") == 1
    assert "impl.unmap(0x40000, 0x1000)" not in text and "0x5000" not in text
    assert "step 4 of 4: map(iova=0x0000000000001000" in text
    # a difference only a whole-state comparison saw may come from any call: all are kept
    machine.window_check = False
    text = machine.report("UNMAP_LEAVES", "translation state", "details")
    assert "left out" not in text and "impl.unmap(0x40000, 0x1000)" in text
