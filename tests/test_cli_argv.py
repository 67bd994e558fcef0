"""Random argv for every ``iommu-spec`` sub-command and the difftest options: no traceback, a documented status.

The documented statuses: 0 success (or --help), 1 a check found problems
(printed on stdout), 2 usage error or unreadable input (said on stderr).
Each command gets tokens from a pool of its own options, names that exist
and names that do not, numbers at and past every edge, and paths to bad
files; a few arguments keep each run short (one small profile, collect-only
for difftest, no kernel downloads).  Any exception escaping ``main`` fails
the test, and Hypothesis shrinks it to the argv that caused it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from iommu_spec.cli.main import COMMANDS, main

OPTIONS = {
    "profiles": ["--json"],
    "semantics": ["--json", "--kernel", "--driver", "--variant", "--table"],
    "rules": ["--json"],
    "fixes": ["--json"],
    "check-trace": ["--profile", "--semantics", "--pgsize-bitmap", "--complete", "--json"],
    "explain": ["--profile", "--semantics", "--pgsize-bitmap", "--trace", "--json"],
    "vectors": ["--out", "--profile", "--semantics", "--random", "--json"],
    "run-vectors": ["--impl", "--impl-cmd", "--profile", "--semantics", "--impl-timeout",
                    "--max-failures", "--no-validate", "--json"],
    "difftest": ["--impl", "--profile", "--semantics", "--impl-cmd", "--impl-timeout",
                 "--set-aside", "--kernel-format", "--kernel-semantics", "--save-failure",
                 "--kernel-version"],
    "prove": ["--json", "--timeout", "--jobs", "--only", "--bound-bits"],
    "bench": [],
    "kernel": ["build", "serve", "--src", "--format"],
}

#: Arguments that keep a valid run short; random tokens come after them (and may override).
PREFIX = {
    "vectors": ["--profile", "apple-dart", "--semantics", "apple-dart", "--random", "0"],
    "run-vectors": ["--profile", "apple-dart"],
    "difftest": ["-p", "no:cacheprovider", "--kernel-src", "none", "--collect-only", "-q"],
    "prove": ["--only", "P1", "--no-necessity", "--no-mutants", "--bound-bits", "4"],
}

#: Tokens that would start long work or reach the network: never drawn for that command.
EXCLUDED = {"bench": {"model", "difftest", "costs", "mutants", "all"}, "kernel": {"fetch"}}

NAMES = ["intel-vtd", "apple-dart", "bogus", "generic-pt", "apple-dart,bogus", "pgsize", "lpae",
         "lpae-s1", "", ",", "P1", "P9", "arm-smmu-v3", "intel", "virtio-iommu", "6.12", "v7.1",
         "5.3", "9.0", "6.12.118"]
NUMBERS = ["0", "1", "-1", "0x1000", "0x201000", "nan", "inf", "-inf", "1e400", "1" * 5000,
           "0x" + "f" * 17, "18446744073709551616", "007"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A directory with bad files, a small vector directory, and room for --out."""
    d = tmp_path_factory.mktemp("argv")
    (d / "empty.log").write_bytes(b"")
    (d / "binary.log").write_bytes(bytes(range(256)))
    (d / "ok.log").write_text("iommu: map: iova 0x1000 pa 0x1000 size 0x1000\n")
    assert main(["vectors", "--out", str(d / "vec"), "--profile", "apple-dart",
                 "--semantics", "apple-dart", "--random", "0"]) in (0, 1)
    return d


def tokens(command: str, d) -> st.SearchStrategy:
    paths = [str(d / n) for n in ("empty.log", "binary.log", "ok.log", "vec", "missing", "out")]
    pool = OPTIONS[command] + NAMES + NUMBERS + paths + ["--help", "--bogus", "-", "'", "a b"]
    pool = [t for t in pool if t not in EXCLUDED.get(command, ())]
    # bench with no argument runs every benchmark: it always gets one
    # Free text never starts with "-": pytest's own short options (-s, -c FILE, -x, ...) would
    # reconfigure the in-process session running this test rather than exercise ours.
    return st.lists(st.sampled_from(pool) | st.text(max_size=8).filter(
        lambda t: t not in EXCLUDED.get(command, ()) and not t.startswith("-")),
        min_size=command == "bench", max_size=6)


#: Set in the child process that runs the per-command properties (see below).
CHILD = "IOMMU_SPEC_ARGV_CHILD"


def test_random_argv_never_tracebacks():
    """Whatever the argv, every command returns 0, 1 or 2: 1 says its findings, 2 says what is wrong.

    The per-command properties run in one child pytest process: commands run
    in-process here (pytest sessions, z3, the benchmarks' imports) leave
    global state behind that changed which examples later tests of this
    suite shrank to; the child keeps it away from them.
    """
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__],
                         env={**os.environ, CHILD: "1"}, capture_output=True, text=True,
                         timeout=600, cwd=Path(__file__).resolve().parent.parent)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert f"{len(COMMANDS)} passed" in res.stdout, res.stdout[-2000:]


if os.environ.get(CHILD):
    @pytest.mark.parametrize("command", list(COMMANDS))
    def test_random_argv_of(command, workdir, capsys, monkeypatch):
        """Random argv for one command: no traceback, status 0, 1 or 2 with its meaning."""
        check_random_argv(command, workdir, capsys, monkeypatch)

    del test_random_argv_never_tracebacks  # the child runs the properties only


def check_random_argv(command, workdir, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    examples = 10 if command in ("difftest", "prove", "vectors", "run-vectors") else 40

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(argv=tokens(command, workdir))
    def run(argv):
        status = main([command, *PREFIX.get(command, []), *argv])
        out, err = capsys.readouterr()
        assert status in (0, 1, 2), (argv, status, err[-2000:])
        assert "Traceback" not in out + err, (argv, err[-2000:])
        if status == 2:
            assert err.strip() or "usage" in out.lower(), (argv, out[-500:])

    run()
