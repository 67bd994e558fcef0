"""The README's and the docs' examples run, and print what they show, so the docs cannot drift.

* the README's model example runs line by line, and each ``# -> value``
  comment is what the line evaluates to;
* every ``$ iommu-spec ...`` transcript in docs/traces.md is re-run in
  tests/data/traces: the output is the documented one, line for line, and a
  following ``$ echo $?`` shows the exit status;
* every ``pytest difftest ...`` command of the README's variations table
  and its "Checking your own implementation" section is accepted (collect-only);
* the coverage table of docs/vectors.md has one row per rule and one
  column per variant; the summary columns the README explains are the ones
  the plugin prints; ``iommu-spec COMMAND`` named in the README exists.
"""

import ast
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from iommu_spec.cli.main import COMMANDS, main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def fenced(text: str, lang: str = r"[a-z]*") -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def test_readme_model_example_prints_what_it_says():
    """Each `# -> value` in the README's six-line model example is what that line gives."""
    block = next(b for b in fenced(README, "python") if "ReferenceDomain(" in b)
    env: dict = {}
    checked = 0
    for line in block.splitlines():
        code, _, comment = line.partition("#")
        if "->" not in comment:
            exec(code, env)
            continue
        want = comment.split("->", 1)[1].strip()
        want = re.sub(r"\s*\(.*?\)\s*$", "", want) if want.endswith(")") and "[" not in want[-3:] \
            and not want.startswith(("[", "(")) else want
        got = eval(code, env)
        if isinstance(got, tuple) and not want.startswith("("):
            want = f"({want})"
        assert got == ast.literal_eval(want), line
        checked += 1
    assert checked == 4


def transcripts(text: str):
    """``(command, documented output lines, documented status or None)`` for each ``$ iommu-spec``."""
    for block in fenced(text):
        lines = block.splitlines()
        for i, line in enumerate(lines):
            if not line.startswith("$ iommu-spec "):
                continue
            out = []
            j = i + 1
            while j < len(lines) and not lines[j].startswith("$ "):
                out.append(lines[j])
                j += 1
            status = None
            if j < len(lines) and lines[j] == "$ echo $?":
                status = int(lines[j + 1])
            yield line[2:], out, status


TRACE_EXAMPLES = list(transcripts((ROOT / "docs" / "traces.md").read_text()))


@pytest.mark.parametrize("command, documented, status", TRACE_EXAMPLES,
                         ids=[c[:70] for c, _, _ in TRACE_EXAMPLES])
def test_traces_doc_transcripts_are_current(command, documented, status, monkeypatch):
    """docs/traces.md's transcripts print exactly what the command prints now."""
    monkeypatch.chdir(ROOT / "tests" / "data" / "traces")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        got_status = main(shlex.split(command)[1:])
    got = out.getvalue().rstrip("\n").splitlines()
    while documented and not documented[-1].strip():
        documented = documented[:-1]
    assert got == documented
    if status is not None:
        assert got_status == status


def test_traces_doc_has_transcripts():
    """The transcript check is not vacuous: docs/traces.md shows check-trace and explain runs."""
    assert {c.split()[1] for c, _, _ in TRACE_EXAMPLES} == {"check-trace", "explain"}
    assert len(TRACE_EXAMPLES) >= 5


def readme_pytest_commands() -> list[list[str]]:
    found = re.findall(r"`pytest ([^`]*difftest[^`]*)`", README)
    for block in fenced(README, "sh"):
        found += [line.split("#")[0].strip().removeprefix("pytest ")
                  for line in block.splitlines() if line.startswith("pytest ")]
    commands = []
    for text in found:
        argv = shlex.split(text)
        if "DIR" in argv or any("./my-iommu" in a or "c-radix" in a for a in argv):
            continue  # placeholders, and a binary that `make -C examples/c-radix` builds
        commands.append(argv)
    return commands


README_PYTEST = readme_pytest_commands()


@pytest.mark.parametrize("argv", README_PYTEST, ids=[" ".join(a)[:60] for a in README_PYTEST])
def test_readme_pytest_commands_are_accepted(argv, monkeypatch):
    """Each `pytest difftest ...` command the README shows is valid: it collects items, no usage error."""
    monkeypatch.chdir(ROOT)
    argv = [a for a in argv if a not in ("-n", "auto")]  # collection alone needs no workers
    status = pytest.main([*argv, "--collect-only", "-q", "-p", "no:cacheprovider",
                          "--kernel-src", "none"])
    assert status == 0, argv


def test_readme_lists_the_commands_it_names():
    """Every `iommu-spec COMMAND` the README names is a real sub-command."""
    named = set(re.findall(r"`iommu-spec ([a-z][a-z-]+)", README))
    assert named and named <= set(COMMANDS), named - set(COMMANDS)


def test_readme_explains_the_summary_columns():
    """The README's summary-table explanation names exactly the columns the plugin prints."""
    from difftest.plugin import COLUMNS
    section = README[README.index("| column | meaning |"):]
    section = section[:section.index("\n\n")]
    explained = [name for row in section.splitlines()[2:]
                 for name in re.findall(r"`([a-z_]+)`", row.split("|")[1])]
    assert explained == COLUMNS


def test_vectors_doc_coverage_table_has_every_rule_and_variant():
    """docs/vectors.md's coverage table has a row per rule of spec.RULES and a column per variant."""
    from spec import RULES, SEMANTICS
    text = (ROOT / "docs" / "vectors.md").read_text()
    table = next(b for b in fenced(text) if b.startswith("rule "))
    lines = table.splitlines()
    assert lines[0].split()[1:] == list(SEMANTICS)
    rows = [line.split()[0] for line in lines[2:] if line and not line.startswith("*")]
    assert rows == list(RULES)
    total = re.search(r"the full set \((\d+) vectors\)", text)
    assert total is not None


def test_bench_tables_as_the_readme_says():
    """The README says bench prints six tables: the benchmarks' print calls make six."""
    assert "prints six tables" in README
    sources = "".join((ROOT / "iommu_spec" / "bench" / f).read_text()
                      for f in ("model.py", "difftest_speed.py", "costs.py", "catch.py"))
    assert len(re.findall(r"print\((?:tabulate\(|table\(|growth_table\()", sources)) == 6


def test_readme_variant_table_has_a_row_per_variant():
    """The README's "Semantic variants" table has one row per variant of spec.SEMANTICS, in
    order, with the releases the variant states."""
    from spec import SEMANTICS
    section = README.split("### Semantic variants", 1)[1].split("\n\n", 2)[1]
    rows = [line.split("|")[1:3] for line in section.splitlines()[2:] if line.startswith("| ")]
    assert [name.strip() for name, _ in rows] == list(SEMANTICS)
    for name, releases in rows:
        first = SEMANTICS[name.strip()].spans[0].first
        assert str(first) in releases or f"v{first}" in releases, name
