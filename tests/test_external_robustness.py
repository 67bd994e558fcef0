"""The external-implementation harness survives implementations that misbehave.

Each fake implementation is a small Python script written to a temporary
directory: it answers hello and domain_alloc properly and then misbehaves on
one operation.  Every misbehaviour must become an ExternalError (or, for a
hang, ExternalTimeout) whose message names the last request and shows the
tail of stderr, with the process group killed.
"""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from difftest.external import (ExternalError, ExternalFactory, ExternalImplementation,
                               ExternalProcess, ExternalTimeout, UnsupportedProfile)

ROOT = Path(__file__).resolve().parent.parent
FULL_OPS = ["hello", "domain_alloc", "domain_free", "map", "unmap", "map_sg", "iova_to_phys", "dump"]

FAKE = '''
import json, os, signal, subprocess, sys, time

def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\\n")
    sys.stdout.flush()

HELLO = {hello}
for line in sys.stdin:
    req = json.loads(line)
    op = req["op"]
    if op == "hello":
        reply(HELLO)
    elif op == "domain_alloc":
        reply({{"ret": 0, "pgsize_bitmap": req["pgsize_bitmap"]}})
    elif op == "domain_free" and {trigger!r} != "domain_free":
        reply({{"ret": 0, "table_pages": 0}})
    elif op == {trigger!r}:
{body}
    elif op == "dump":
        reply({{"ret": 0, "leaves": []}})
    else:
        reply({{"ret": 0}})
'''


def fake(tmp_path, body: str, trigger: str = "map", hello: dict | None = None) -> str:
    """Write a fake implementation that runs ``body`` when it gets ``trigger``; returns its command."""
    hello = hello or {"version": 1, "name": "fake", "ops": FULL_OPS, "semantics": "generic-pt"}
    script = tmp_path / f"fake_{len(list(tmp_path.iterdir()))}.py"
    script.write_text(FAKE.format(hello=repr(hello), trigger=trigger,
                                  body=textwrap.indent(textwrap.dedent(body).strip(), " " * 8)))
    return f"{sys.executable} {script}"


def domain(cmd: str, timeout: float = 5.0) -> ExternalImplementation:
    return ExternalImplementation(ExternalProcess(cmd, timeout=timeout), "intel-vtd")


def failure(cmd: str, call, timeout: float = 5.0, kind=ExternalError) -> str:
    impl = domain(cmd, timeout)
    with pytest.raises(kind) as info:
        call(impl)
    assert not impl.process.alive
    return str(info.value)


MAP = (lambda impl: impl.map(0x1000, 0x2000, 0x1000, 3))


def test_crash_names_exit_status_request_and_stderr(tmp_path):
    """A process that exits while serving a request is reported with its status, the request and its stderr."""
    cmd = fake(tmp_path, """
        print("boom: the page table is on fire", file=sys.stderr, flush=True)
        sys.exit(3)
    """)
    msg = failure(cmd, MAP)
    assert "exited with status 3 before replying" in msg
    assert '"op": "map", "iova": 4096, "paddr": 8192, "size": 4096, "prot": 3' in msg
    assert "| boom: the page table is on fire" in msg


def test_crash_by_signal_names_the_signal(tmp_path):
    """A process killed by a signal (a segfault) is reported by signal name."""
    cmd = fake(tmp_path, "os.kill(os.getpid(), signal.SIGSEGV)")
    assert "was killed by SIGSEGV before replying" in failure(cmd, MAP)


def test_exit_between_requests_is_reported_at_the_next_request(tmp_path):
    """A process that replies and then exits is reported when the next request is due."""
    cmd = fake(tmp_path, """
        reply({"ret": 0})
        sys.exit(0)
    """)
    impl = domain(cmd)
    assert impl.map(0x1000, 0x2000, 0x1000, 3) == 0
    time.sleep(0.3)  # let the EOF arrive first
    with pytest.raises(ExternalError) as info:
        impl.iova_to_phys(0x1000)
    assert "exited with status 0 after its reply to the last request" in str(info.value)
    assert '"op": "map"' in str(info.value)


def test_hang_times_out_and_kills_the_process_group(tmp_path):
    """A hang ends after the timeout with ExternalTimeout, and the process's own children die too."""
    pidfile = tmp_path / "child.pid"
    cmd = fake(tmp_path, f"""
        child = subprocess.Popen(["sleep", "60"])
        open({str(pidfile)!r}, "w").write(str(child.pid))
        print("fake: waiting forever", file=sys.stderr, flush=True)
        time.sleep(60)
    """)
    start = time.monotonic()
    msg = failure(cmd, MAP, timeout=0.5, kind=ExternalTimeout)
    assert time.monotonic() - start < 10
    assert "sent no reply within 0.5 s" in msg and "process group was killed" in msg
    assert '"op": "map"' in msg and "| fake: waiting forever" in msg
    assert not issubclass(ExternalTimeout, Exception)  # Hypothesis must not replay a hang
    child = int(pidfile.read_text())
    for _ in range(100):
        stat = Path(f"/proc/{child}/stat")
        if not stat.exists() or stat.read_text().split(") ")[1].startswith("Z"):
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the fake's child {child} survived the kill of its process group")


@pytest.mark.parametrize("body,expected", [
    ('sys.stdout.write("{not json\\n"); sys.stdout.flush()', "replied with a line that is not JSON"),
    ('reply([1, 2, 3])', "replied with JSON that is not an object (list)"),
    ('sys.stdout.buffer.write(b"\\xff\\xfe\\n"); sys.stdout.flush()', "not JSON"),
    ('sys.stdout.write("[" * 100000 + "\\n"); sys.stdout.flush()', "not JSON (maximum recursion"),
], ids=["malformed", "not-an-object", "not-utf8", "deeply-nested"])
def test_malformed_reply(tmp_path, body, expected):
    """A reply line that is not a JSON object is a failure showing the line."""
    msg = failure(fake(tmp_path, body), MAP)
    assert expected in msg and "last request:" in msg and "reply:" in msg


def test_reply_to_another_request(tmp_path):
    """A reply shaped for another request (here a hello reply to map) is named as such."""
    msg = failure(fake(tmp_path, 'reply({"version": 1, "name": "fake", "ops": []})'), MAP)
    assert "replied to map without 'ret' (is this a reply to another request?)" in msg


def test_two_replies_to_one_request(tmp_path):
    """An extra reply line is caught before the next request, so no reply is matched to the wrong request."""
    cmd = fake(tmp_path, """
        reply({"ret": 0})
        reply({"ret": 0})
    """)
    impl = domain(cmd)
    assert impl.map(0x1000, 0x2000, 0x1000, 3) == 0
    time.sleep(0.2)
    with pytest.raises(ExternalError) as info:
        impl.iova_to_phys(0x1000)
    assert "sent more than one reply" in str(info.value)


U64 = 1 << 64


@pytest.mark.parametrize("trigger,call,ret,expected", [
    ("map", MAP, 0.0, "ret = 0.0: ret must be 0 or a negative errno"),
    ("map", MAP, "0", 'ret = "0": ret must be 0 or a negative errno'),
    ("map", MAP, False, "ret = false: ret must be 0 or a negative errno"),
    ("map", MAP, None, "ret = null"),
    ("map", MAP, 4096, "ret = 4096: ret must be 0 or a negative errno"),
    ("map", MAP, -5000, "ret = -5000"),
    ("unmap", lambda i: i.unmap(0, 0x1000), -22, "ret = -22: ret must be an int in [0, 2^64)"),
    ("unmap", lambda i: i.unmap(0, 0x1000), U64, f"ret = {U64}: ret must be an int in [0, 2^64)"),
    ("iova_to_phys", lambda i: i.iova_to_phys(0), U64 + 5, "ret must be an int in [0, 2^64)"),
    ("map_sg", lambda i: i.map_sg(0, [(0, 0, 0x1000)], 3), 1.5, "ret must be a byte count"),
], ids=["float", "string", "bool", "null", "positive-errno", "below-max-errno", "negative-bytes",
        "2^64", "paddr-2^64", "float-bytes"])
def test_out_of_range_numbers(tmp_path, trigger, call, ret, expected):
    """Non-integers, booleans, negative sizes and values >= 2^64 are protocol failures naming the field."""
    body = f"reply({{'ret': {ret!r}}})".replace("false", "False")
    msg = failure(fake(tmp_path, body, trigger=trigger), call)
    assert expected in msg and f'"op": "{trigger}"' in msg


@pytest.mark.parametrize("tlb,expected", [
    ([["range", -1, 4096]], "tlb[0]"),
    ([["range", U64 - 4096, 8192]], "iova + size <= 2^64"),
    ([["flush"]], 'neither ["all"]'),
    ("all", "tlb must be a list"),
], ids=["negative", "wraps", "unknown-command", "not-a-list"])
def test_malformed_tlb(tmp_path, tlb, expected):
    """A malformed IOTLB command list is a protocol failure."""
    msg = failure(fake(tmp_path, f"reply({{'ret': 0, 'tlb': {tlb!r}}})"), MAP)
    assert "malformed tlb field" in msg and expected in msg


def test_tlb_commands_are_taken_in_order_and_counted(tmp_path):
    """Valid tlb fields become the adapter's invalidation commands, in order, counted once each."""
    cmd = fake(tmp_path, "reply({'ret': 0, 'tlb': [['range', 4096, 4096], ['all']]})")
    impl = domain(cmd)
    assert impl.map(0x1000, 0x2000, 0x1000, 3) == 0
    assert impl.take_tlb_commands() == [("range", 4096, 4096), ("all",)]
    assert impl.take_tlb_commands() == []
    assert impl.counters.invalidations == 2


@pytest.mark.parametrize("leaves,expected", [
    ([[0, 0, 4096, 1, 3], [0, 8192, 4096, 1, 3]], "leaves overlap at iova 0x0"),
    ([[0, 0, 3000, 1, 3]], "must be a power of two"),
    ([[0, 0, 4096, 0, 3]], "count 0 >= 1"),
    ([[0, 0, 4096, 1]], "is not 5 ints"),
    ([[U64 - 4096, 0, 4096, 2, 3]], "runs past 2^64"),
], ids=["overlap", "pgsize", "count", "short", "past-2^64"])
def test_bad_dump(tmp_path, leaves, expected):
    """A dump whose leaves are malformed or overlap is a protocol failure."""
    msg = failure(fake(tmp_path, f"reply({{'ret': 0, 'leaves': {leaves!r}}})", trigger="dump"),
                  lambda impl: impl.leaves())
    assert "bad leaves" in msg and expected in msg


def test_unsupported_answer_to_a_listed_op(tmp_path):
    """{"error": "unsupported"} for an operation the hello listed is a failure."""
    msg = failure(fake(tmp_path, 'reply({"error": "unsupported"})'), MAP)
    assert "but its hello lists it in ops" in msg


def test_error_reply_is_shown(tmp_path):
    """An implementation's own error message reaches the report."""
    msg = failure(fake(tmp_path, 'reply({"error": "page table corrupted at 0x1000"})'), MAP)
    assert "answered map with an error: page table corrupted at 0x1000" in msg


@pytest.mark.parametrize("hello,expected", [
    ({"version": 2, "name": "fake", "ops": FULL_OPS}, "speaks protocol version 2"),
    ({"version": 1, "name": "fake", "ops": FULL_OPS, "semantics": "linux-2.6"},
     "unknown semantics 'linux-2.6'"),
    ({"version": 1, "name": "fake", "ops": ["hello", "domain_alloc", "domain_free", "map"]},
     "a full implementation must also offer unmap, map_sg, iova_to_phys"),
    ({"version": 1, "name": "fake", "ops": ["domain_alloc", "domain_free", "map_pages",
                                            "unmap_pages"]},
     "offers neither dump nor iova_to_phys"),
    ({"version": 1, "ops": FULL_OPS}, "replied to hello without 'name'"),
    ({"version": 1, "name": "fake", "core": "map_range",
      "ops": ["domain_alloc", "domain_free", "map_pages", "unmap_pages", "dump"]},
     "must also offer map_range, unmap_range"),
    ({"version": 1, "name": "fake", "core": "map_range", "semantics": "arm-lpae-v6.14",
      "ops": ["domain_alloc", "domain_free", "map_range", "unmap_range", "dump"]},
     "the v7.1 core runs only generic_pt domains"),
    ({"version": 1, "name": "fake", "core": "map-v7", "ops": FULL_OPS},
     "declares core 'map-v7'; known cores: map_pages, map-v5.15, map, map-v4.16, map_range"),
], ids=["version", "semantics", "missing-ops", "driver-uncheckable", "no-name",
        "range-driver-ops", "range-semantics", "unknown-core"])
def test_bad_hello(tmp_path, hello, expected):
    """A hello with the wrong version, an unknown variant or too few operations is refused at start."""
    process = ExternalProcess(fake(tmp_path, "pass", hello=hello))
    with pytest.raises(ExternalError) as info:
        process.start()
    assert expected in str(info.value)
    assert not process.alive


def test_domain_alloc_must_answer_a_subset(tmp_path):
    """A domain_alloc reply whose pgsize_bitmap is not a subset of the request is a failure."""
    cmd = fake(tmp_path, "pass")
    cmd_path = cmd.split()[-1]
    text = Path(cmd_path).read_text().replace('"pgsize_bitmap": req["pgsize_bitmap"]',
                                              '"pgsize_bitmap": req["pgsize_bitmap"] | 0x800')
    Path(cmd_path).write_text(text)
    with pytest.raises(ExternalError, match="not a non-empty subset"):
        domain(cmd)


def test_domain_alloc_error_means_unsupported_profile(tmp_path):
    """A failing domain_alloc is UnsupportedProfile (a skip), not a protocol failure."""
    cmd = fake(tmp_path, "pass")
    cmd_path = cmd.split()[-1]
    text = Path(cmd_path).read_text().replace('reply({"ret": 0, "pgsize_bitmap"',
                                              'reply({"ret": -19, "pgsize_bitmap"')
    Path(cmd_path).write_text(text)
    with pytest.raises(UnsupportedProfile, match="returned -ENODEV"):
        domain(cmd)


def test_leaked_table_pages_fail_close(tmp_path):
    """close() frees the domain and fails when page-table pages are still allocated."""
    impl = domain(fake(tmp_path, "reply({'ret': 0, 'table_pages': 3})", trigger="domain_free"))
    with pytest.raises(ExternalError, match="still has 3 page-table page"):
        impl.close()
    impl.close()  # idempotent


def test_stderr_flood_does_not_block(tmp_path):
    """An implementation that writes megabytes to stderr is still served (stderr is drained)."""
    cmd = fake(tmp_path, """
        sys.stderr.write("x" * 4000 + "\\n" * 1 + ("noise " * 100 + "\\n") * 5000)
        sys.stderr.flush()
        reply({"ret": 0})
    """)
    assert domain(cmd, timeout=10).map(0x1000, 0x2000, 0x1000, 3) == 0


def test_missing_program(tmp_path):
    """A command that cannot be started is an ExternalError naming it."""
    with pytest.raises(ExternalError, match="could not be started"):
        ExternalProcess(str(tmp_path / "no-such-program")).start()


def test_factory_restarts_after_a_failure(tmp_path):
    """After a protocol failure killed the process, the factory's next domain starts a fresh one."""
    with ExternalFactory(fake(tmp_path, "sys.exit(1)")) as factory:
        first = factory("intel-vtd")
        pid = first.process.proc.pid
        with pytest.raises(ExternalError):
            first.map(0x1000, 0x2000, 0x1000, 3)
        second = factory("intel-vtd")
        assert second.process.alive and second.process.proc.pid != pid


def _run_difftest(cmd: str, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYPOTHESIS_PROFILE": "ci"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "difftest/test_external.py", "-q", "-p", "no:cacheprovider",
         "--impl-cmd", cmd, "--profile", "intel-vtd,arm-lpae-4k", *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_pytest_run_goes_on_after_a_crash(tmp_path):
    """pytest difftest reports a crashing implementation on every profile, each with a fresh process."""
    cmd = fake(tmp_path, """
        print("fake: crashing in", os.getpid(), file=sys.stderr, flush=True)
        sys.exit(7)
    """, trigger="map")
    cmd_path = cmd.split()[-1]
    text = Path(cmd_path).read_text().replace(
        'reply({"ret": 0})\n', 'print("fake: crashing in", os.getpid(), file=sys.stderr, flush=True); '
                                'sys.exit(7)\n')
    Path(cmd_path).write_text(text)  # crash on whatever the first operation is
    out = _run_difftest(cmd)
    assert "2 failed" in out.stdout, out.stdout[-3000:]
    assert out.stdout.count("exited with status 7 before replying") >= 2
    assert "| fake: crashing in" in out.stdout


def test_pytest_hang_is_reported_once_without_shrinking(tmp_path):
    """A hanging implementation fails each profile after about one timeout: the harness never hangs."""
    cmd = fake(tmp_path, "time.sleep(60)")
    cmd_path = cmd.split()[-1]
    text = Path(cmd_path).read_text().replace('reply({"ret": 0})\n', 'time.sleep(60)\n')
    Path(cmd_path).write_text(text)
    start = time.monotonic()
    out = _run_difftest(cmd, "--impl-timeout", "0.5", timeout=120)
    assert time.monotonic() - start < 60
    assert "2 failed" in out.stdout, out.stdout[-3000:]
    assert out.stdout.count("sent no reply within 0.5 s") >= 2


DRIVER_NO_DUMP = '''
import json, sys
leaves = {}
for line in sys.stdin:
    req = json.loads(line)
    op = req["op"]
    if op == "hello":
        out = {"version": 1, "name": "no-dump", "semantics": "generic-pt",
               "ops": ["hello", "domain_alloc", "domain_free", "map_pages", "unmap_pages",
                       "iova_to_phys"]}
    elif op == "domain_alloc":
        leaves.clear()
        out = {"ret": 0, "pgsize_bitmap": req["pgsize_bitmap"]}
    elif op == "domain_free":
        out = {"ret": 0, "table_pages": 0}
    elif op == "map_pages":
        for k in range(req["pgcount"]):
            leaves[req["iova"] + k * req["pgsize"]] = (req["paddr"] + k * req["pgsize"], req["pgsize"])
        out = {"ret": 0, "mapped": req["pgsize"] * req["pgcount"]}
    elif op == "unmap_pages":
        done = 0
        for k in range(req["pgcount"]):
            if leaves.pop(req["iova"] + k * req["pgsize"], None) is None:
                break
            done += req["pgsize"]
        out = {"ret": done}
    elif op == "iova_to_phys":
        out = {"ret": 0}
        for iova, (paddr, size) in leaves.items():
            if iova <= req["iova"] < iova + size:
                out = {"ret": paddr + req["iova"] - iova}
    else:  # iotlb_sync, dump, ...: not offered, so never sent
        sys.exit(7)
    sys.stdout.write(json.dumps(out) + "\\n")
    sys.stdout.flush()
'''


def test_driver_with_iova_to_phys_and_no_dump_is_checked_through_iova_to_phys(tmp_path):
    """A driver offering iova_to_phys but no dump nor iotlb_sync: the tester asks it, never what it lacks."""
    script = tmp_path / "no_dump.py"
    script.write_text(DRIVER_NO_DUMP)
    impl = domain(f"{sys.executable} {script}")
    assert impl.linux_core is not None and impl.leaves() is None
    assert impl.map(0x200000, 0x400000, 0x201000, 3) == 0
    assert impl.iova_to_phys(0x200123) == 0x400123  # sent to the driver, not answered from a dump
    assert impl.unmap(0x200000, 0x201000) == 0x201000  # no iotlb_sync sent: it would exit 7
    assert impl.iova_to_phys(0x200123) == 0
    assert impl.process.alive
    impl.close()


def test_a_direct_map_pages_may_map_nothing(tmp_path):
    """A driver-level map_pages answering ret 0, mapped 0 is a reply like any other; only the core's loop needs progress."""
    cmd = fake(tmp_path, 'reply({"ret": 0, "mapped": 0})', trigger="map_pages",
               hello={"version": 1, "name": "lazy", "semantics": "generic-pt",
                      "ops": ["hello", "domain_alloc", "domain_free", "map_pages", "unmap_pages",
                              "dump"]})
    impl = domain(cmd)
    assert impl.map_pages(0x1000, 0x1000, 0x1000, 1, 3) == (0, 0)
    from impls.core import DriverError
    with pytest.raises(DriverError, match="loop forever"):
        impl.map(0x1000, 0x1000, 0x1000, 3)
    impl.close()
