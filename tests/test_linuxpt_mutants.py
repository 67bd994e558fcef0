"""linuxpt.mutants: the mutation operators on a small C text of our own, and one real mutant killed.

The enumerator tests need nothing.  The real mutant needs a kernel tree:
$IOMMU_SPEC_KERNEL_6_12 (the root of a Linux source tree) or one fetched with
``iommu-spec kernel fetch 6.12``; without one it is skipped.
"""

import os

import pytest

from linuxpt import mutants
from linuxpt.build import KernelTreeError, build
from linuxpt.cli import kernel_main
from linuxpt.fetch import cached_tree

SNIPPET = """\
static int helper(int a) { return a < 1; }

static int walk(struct ctx *d, unsigned long iova, size_t size, size_t count);

/* walk(): a comment with a < b, x - 1 and return 1; none of it is code */
static int walk(struct ctx *d, unsigned long iova, size_t size, size_t count)
{
	int i, n = 0;
	const char *msg = "i < count; return 2;";

	for (i = 0; i < count; i++)
		n += step(size, count);
	if (iova >> SHIFT)
		return -ERANGE;
	d->mask = iova & (size - 1);
	note(d, NULL);
	return n;
}
"""


def changes(found, operator=None):
    return sorted((m.operator, m.change) for m in found if operator in (None, m.operator))


def test_each_operator_gives_its_mutants_of_the_named_function_only():
    found = mutants.enumerate_mutants(SNIPPET, functions=("walk",))
    assert {m.function for m in found} == {"walk"}  # not helper(), not the prototype
    assert changes(found, "flip-comparison") == [
        ("flip-comparison", "< -> <="), ("flip-comparison", "< -> >=")]
    assert changes(found, "off-by-one") == [
        ("off-by-one", "- 1 -> - 0"), ("off-by-one", "- 1 -> - 2"),
        ("off-by-one", "SHIFT -> (SHIFT + 1)"), ("off-by-one", "SHIFT -> (SHIFT - 1)")]
    assert changes(found, "drop-statement") == [
        ("drop-statement", "d->mask = iova & (size - 1) -> (removed)"),
        ("drop-statement", "n += step(size, count) -> (removed)"),
        ("drop-statement", "note(d, NULL) -> (removed)")]
    assert changes(found, "swap-args") == [
        ("swap-args", "note(): swap d and NULL"), ("swap-args", "step(): swap size and count")]
    assert changes(found, "wrong-return") == [
        ("wrong-return", "-ERANGE -> -EINVAL"), ("wrong-return", "-ERANGE -> 0"),
        ("wrong-return", "n -> -EINVAL"), ("wrong-return", "n -> 0")]
    assert len(found) == 2 + 4 + 3 + 2 + 4
    # numbered in file order, each one change at its line
    assert [m.id for m in found] == [f"M{i:03d}" for i in range(1, len(found) + 1)]
    assert [m.line for m in found] == sorted(m.line for m in found)
    lines = SNIPPET.splitlines()
    for m in found:
        after = m.apply(SNIPPET).splitlines()
        assert len(after) == len(lines)
        assert [k + 1 for k, (a, b) in enumerate(zip(lines, after)) if a != b] == [m.line]


def test_applied_text_and_diff():
    found = {m.change: m for m in mutants.enumerate_mutants(SNIPPET, functions=("walk",))}
    swap = found["step(): swap size and count"]
    assert "n += step(count, size);" in swap.apply(SNIPPET)
    drop = found["note(d, NULL) -> (removed)"]
    assert "\t;\n\treturn n;" in drop.apply(SNIPPET)
    diff = mutants.unified_diff(SNIPPET, found["n -> 0"], path="walk.c")
    assert "-\treturn n;\n+\treturn 0;\n" in diff
    assert diff.startswith("--- a/walk.c\n+++ b/walk.c (M")


def test_sampling_is_deterministic():
    found = mutants.enumerate_mutants(SNIPPET, functions=("walk",))
    a = mutants.sample(found, 5, seed=3)
    assert a == mutants.sample(found, 5, seed=3)
    assert len(a) == 5 and [m.id for m in a] == sorted(m.id for m in a)
    assert mutants.sample(found, None, 0) == found == mutants.sample(found, 100, 0)


def test_replace_hook_refuses_a_file_that_is_not_compiled(tmp_path):
    with pytest.raises(KernelTreeError, match="not a compiled kernel file"):
        build(_tree_or_skip(), cache_dir=tmp_path, replace={"Makefile": ""})


@pytest.mark.parametrize("argv, message", [
    (["mutants"], "the following arguments are required: --src"),
    (["mutants", "--src", "/nonexistent/tree"], "kernel tree /nonexistent/tree does not exist"),
    (["mutants", "--src", ".", "--format", "v7s"], "unsupported format 'v7s'"),
    (["mutants", "--src", ".", "--examples", "0"], "--examples must be >= 1"),
    (["mutants", "--src", ".", "--max", "-1"], "--max must be >= 0"),
    (["mutants", "--src", ".", "--seed", "x"], "invalid int value"),
])
def test_usage_errors_exit_2_with_one_line(argv, message, capsys):
    assert kernel_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_bench_command_usage_errors_exit_2(capsys):
    from iommu_spec.bench.__main__ import main
    assert main(["mutants-kernel"]) == 2
    assert main(["mutants-kernel", "--src", "/nonexistent/tree"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["bench mutants-kernel: the following arguments are required: --src",
                   "bench mutants-kernel: kernel tree /nonexistent/tree does not exist (or is not "
                   "a directory)"]


# -- a real tree ---------------------------------------------------------------------------

def _tree_or_skip():
    tree = os.environ.get("IOMMU_SPEC_KERNEL_6_12") or cached_tree("6.12")
    if not tree:
        pytest.skip("no kernel tree: set IOMMU_SPEC_KERNEL_6_12 to a Linux source tree, "
                    "or run `iommu-spec kernel fetch 6.12`")
    return str(tree)


def test_iova_to_phys_returning_zero_is_killed():
    tree = _tree_or_skip()
    text = open(os.path.join(tree, mutants.TARGET)).read()
    found = mutants.enumerate_mutants(text)
    assert {m.function for m in found} == set(mutants.FUNCTIONS)
    assert {m.operator for m in found} == set(mutants.OPERATORS)
    target = [m for m in found if m.function == "arm_lpae_iova_to_phys"
              and m.operator == "wrong-return" and m.replacement == "0"
              and "iopte_to_paddr" in m.original]
    assert len(target) == 1
    result = mutants.run(tree, "lpae-s1", only=[target[0].id], examples=5, jobs=1)
    (out,) = result.outcomes
    assert out.outcome == "killed", out
    assert "IOVA_TO_PHYS" in out.reason
    assert result.totals()["kill_rate"] == 1.0
    assert open(os.path.join(tree, mutants.TARGET)).read() == text  # the tree is untouched


def test_unknown_mutant_id_is_a_usage_error(capsys):
    tree = _tree_or_skip()
    assert kernel_main(["mutants", "--src", tree, "--only", "M999999"]) == 2
    assert "no mutant M999999" in capsys.readouterr().err
