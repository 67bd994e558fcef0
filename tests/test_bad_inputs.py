"""Our own battery of bad inputs (issue 12): each gets one line on stderr, a non-zero status, no traceback.

Exit status of ``iommu-spec``: 2 for usage errors and unreadable input
(a check that would check nothing included), 1 for findings.  ``pytest
difftest`` keeps pytest's own: 4 for a usage error.  Everything runs
in-process (``iommu_spec.cli.main.main``), so a traceback would fail the test.
"""

import pytest

from iommu_spec.cli.main import main

HUGE = "1" * 5000


@pytest.fixture
def files(tmp_path):
    """A few bad inputs on disk: an empty file, binary data, text without events, nested JSON."""
    (tmp_path / "empty.log").write_bytes(b"")
    (tmp_path / "binary.log").write_bytes(bytes(range(256)) * 16)
    (tmp_path / "noise.log").write_text("hello\nworld\n")
    nested = tmp_path / "nested"
    nested.mkdir()
    (nested / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "a-file").write_text("x")
    return tmp_path


CASES = [
    # (argv, the error's text)
    (["check-trace", "{d}/empty.log", "--profile", "intel-vtd"], "the log is empty, so nothing was checked"),
    (["check-trace", "{d}/binary.log", "--profile", "intel-vtd"], "not a text log"),
    (["check-trace", "{d}/noise.log", "--profile", "intel-vtd"], "no IOMMU events in this log"),
    (["check-trace", "/dev/zero", "--profile", "intel-vtd"], "longer than 1048576 bytes"),
    (["check-trace", "{d}/missing.log", "--profile", "intel-vtd"], "cannot read"),
    (["check-trace", "{d}/noise.log", "--profile", "bogus"], "unknown profile 'bogus'"),
    (["explain", "--profile", "intel-vtd", "--trace", "{d}/noise.log"], "no maps in this log"),
    (["explain", "--profile", "intel-vtd", HUGE, "0", "0x1000"], "IOVA (5000 digits) is beyond 2^64 - 1"),
    (["explain", "--profile", "intel-vtd", "0x" + "f" * 5000, "0", "0x1000"], "is beyond 2^64 - 1"),
    (["vectors", "--random", "-1", "--out", "{d}/v"], "--random must be 0 or more"),
    (["vectors", "--out", "{d}/a-file"], "exists and is not a directory"),
    (["vectors", "--out", "/proc/no/such/dir"], "cannot create the directory"),
    (["vectors", "--out", "{d}/v", "--profile", "intel-vtd,bogus"], "unknown profile bogus"),
    (["run-vectors", "{d}/nested", "--impl", "pgsize"], "nested too deeply"),
    (["run-vectors", "{d}", "--impl-cmd", "/no/such/program"], "is not an executable program"),
    (["run-vectors", "{d}", "--impl-cmd", "python3 'unbalanced"], "is not a valid command line"),
    (["run-vectors", "{d}", "--impl-cmd", ""], "--impl-cmd is empty"),
    (["run-vectors", "{d}", "--impl", "pgsize", "--impl-timeout", "-1"], "positive number of seconds"),
    (["run-vectors", "{d}", "--impl", "pgsize", "--impl-timeout", "0"], "positive number of seconds"),
    (["run-vectors", "{d}", "--impl", "pgsize", "--impl-timeout", "nan"], "positive number of seconds"),
    (["run-vectors", "{d}", "--impl", "bogus"], "unknown implementation bogus"),
    (["run-vectors", "{d}/a-file", "--impl", "pgsize"], "is not a directory of vectors"),
    (["nonsense"], "unknown command 'nonsense'"),
]


@pytest.mark.parametrize("argv, says", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_is_one_line_and_status_2(files, capsys, argv, says):
    """A bad argument or an input with nothing to check is a one-line error with status 2."""
    argv = [a.format(d=files) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err
    assert "Traceback" not in err
    first = err.splitlines()[0]
    assert first.startswith("iommu-spec"), err


DIFFTEST_CASES = [
    (["--impl", "bogus"], "unknown --impl 'bogus'; known: pagewise, pgsize"),
    (["--impl", ","], "--impl needs at least one name"),
    (["--profile", "bogus"], "unknown --profile 'bogus'; known: arm-lpae-4k"),
    (["--profile", "intel-vtd,inte-vtd"], "unknown --profile 'inte-vtd'"),
    (["--semantics", "bogus"], "unknown --semantics 'bogus'; known: arm-lpae-v6.13"),
    (["--impl-cmd", ""], "--impl-cmd is empty"),
    (["--impl-cmd", "python3 'unbalanced"], "is not a valid command line (No closing quotation)"),
    (["--impl-cmd", "/no/such/program"], "'/no/such/program' is not an executable program"),
    (["--impl-timeout", "-1"], "--impl-timeout must be a positive number of seconds, got -1.0"),
    (["--impl-timeout", "0"], "--impl-timeout must be a positive number of seconds, got 0.0"),
    (["--impl-timeout", "nan"], "--impl-timeout must be a positive number of seconds, got nan"),
    (["--impl", "lpae", "--profile", "intel-vtd"], "no implementation x profile item matches"),
]


@pytest.mark.parametrize("argv, says", DIFFTEST_CASES, ids=[" ".join(a) for a, _ in DIFFTEST_CASES])
def test_bad_difftest_option_is_one_usage_error(capsys, argv, says):
    """A bad difftest option is one usage error before any item runs: never a pass with items skipped."""
    assert main(["difftest", "-p", "no:cacheprovider", "--kernel-src", "none", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.count(says) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    assert " passed" not in captured.out and " skipped" not in captured.out


def test_help_is_status_0(capsys):
    """--help of the command and of a sub-command is status 0, not an error."""
    assert main(["--help"]) == 0
    assert main(["rules", "--help"]) == 0
    assert "usage: iommu-spec rules" in capsys.readouterr().out


def test_closed_pipe_is_one_line(monkeypatch, capsys):
    """Output cut short by a closed pipe (`iommu-spec rules | head`) is a one-line note, not a traceback."""
    import builtins
    real_print = builtins.print

    def closed(*args, **kwargs):
        if kwargs.get("file") is None:  # stdout: its reader has gone
            raise BrokenPipeError(32, "Broken pipe")
        real_print(*args, **kwargs)

    monkeypatch.setattr(builtins, "print", closed)
    assert main(["rules"]) == 2
    assert capsys.readouterr().err == "iommu-spec rules: output stopped: the reader closed the pipe\n"


def test_closed_pipe_in_a_real_pipeline():
    """`iommu-spec rules | head -1` prints the first line; the command ends with one line on stderr."""
    import subprocess
    import sys
    res = subprocess.run(f"{sys.executable} -m iommu_spec rules | head -1", shell=True,
                         capture_output=True, text=True, timeout=60)
    assert res.stdout.startswith("rule")
    assert "Traceback" not in res.stderr
    assert res.stderr.strip() in ("", "iommu-spec rules: output stopped: the reader closed the pipe")
