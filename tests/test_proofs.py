"""Tests of spec.proofs: the z3 proofs hold, have teeth, and talk about the code the model runs."""

import json

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

import spec.proofs
from spec import bitops as bv
from spec.pgsize import greedy_chunks, pgsize, pgsize_and_count
from spec.proofs import logic as L
from spec.proofs import solve as S
from spec.proofs.bounded import exhaustive, fewest_pages
from spec.proofs.mutants import MUTANTS, get_mutant
from spec.proofs.properties import (PRE_NO_HUGE, PROPERTIES, SPEC, Formula, Obligation,
                                    get_property)
from spec.proofs.report import main, render_json, render_table
from spec.proofs.runner import run_all

U64 = (1 << 64) - 1


@pytest.fixture(scope="module")
def report():
    """One full run of the suite (its exhaustive check at 3 bits, to keep the tests
    quick; the command's default is 4), shared by the tests that read its rows."""
    return run_all(timeout=30.0, jobs=2, bounded_bits=3)


def _rows(report, kind):
    return [r for r in report.rows if r.kind == kind]


# -- the suite's verdicts ---------------------------------------------------------

def test_every_property_is_proved(report):
    """Every property, and the bounded cross-check, comes out "proved"."""
    rows = _rows(report, "property") + _rows(report, "bounded")
    assert [r.key for r in rows] == [p.key for p in PROPERTIES] + ["P6b"]
    assert {r.key: r.status for r in rows} == {r.key: "proved" for r in rows}


def test_every_precondition_is_necessary(report):
    """Dropping any precondition of any property gives a counterexample."""
    expected = {(p.key, pre) for p in PROPERTIES for pre in p.preconditions()}
    rows = _rows(report, "necessity")
    assert {(r.key, r.name.split(" needs ", 1)[1]) for r in rows} == expected
    assert all(r.status == "necessary" for r in rows), [(r.name, r.status, r.note) for r in rows]


def test_every_mutant_is_killed(report):
    """Each seeded mutant of the selection is refuted with a counterexample."""
    rows = _rows(report, "mutant")
    assert [r.key for r in rows] == [m.name for m in MUTANTS]
    assert all(r.status.startswith("killed by P") and r.counterexample for r in rows), \
        [(r.name, r.status, r.note) for r in rows]


def test_report_is_ok_and_main_would_exit_zero(report):
    """A run where everything holds is ok, so the command exits 0."""
    assert report.ok


def test_necessity_counterexamples_violate_on_ints(report):
    """Each necessity counterexample, z3's and the shrunk one, breaks only the dropped
    precondition and falsifies a goal when evaluated with the int code path."""
    for row in _rows(report, "necessity"):
        pre = row.name.split(" needs ", 1)[1]
        ob = get_property(row.key).obligation(row.note)
        for values in (row.z3_model, row.counterexample):
            ev = S.evaluate(ob, SPEC, values)
            assert not ev.pre[pre], row.name
            assert all(ok for name, ok in ev.pre.items() if name != pre), row.name
            assert all(ev.hyps.values()) and ev.violated, row.name


def test_mutant_counterexamples_violate_on_ints_but_the_spec_does_not(report):
    """Each mutant's counterexample falsifies a goal on ints with the mutant, and the
    spec's own selection satisfies every goal wherever the hypotheses hold."""
    for row in _rows(report, "mutant"):
        mutant = get_mutant(row.key)
        ob = get_property(row.status.split()[-1]).obligation(row.note)
        ev = S.evaluate(ob, mutant.selection, row.counterexample)
        assert all(ev.pre.values()) and all(ev.hyps.values()) and ev.violated, row.name
        spec_ev = S.evaluate(ob, SPEC, row.counterexample)
        if all(spec_ev.pre.values()) and all(spec_ev.hyps.values()):
            assert not spec_ev.violated, row.name


def test_table_and_json_render_the_report(report):
    """The table has the four columns and a verdict line; --json carries every row."""
    table = render_table(report)
    for header in ("property", "status", "seconds", "counterexample"):
        assert header in table.splitlines()[0]
    assert "OK: 10/10 properties proved" in table
    data = json.loads(render_json(report))
    assert data["ok"] is True and len(data["rows"]) == len(report.rows)
    assert all(v.startswith("0x") and len(v) == 18
               for row in data["rows"] for v in row["counterexample"].values())


# -- the finding about Linux's arithmetic ------------------------------------------

def test_wrap_finding_on_ints():
    """With a 2^63 page size, offset + pgsize_next wraps and count * pgsize exceeds size."""
    pg, count = pgsize_and_count(1 << 63 | 1, 0, 0, 1)
    assert (pg, count) == (1, 1 << 63)
    assert pg * count > 1


def test_without_a_huge_page_the_same_call_is_fine():
    """Without the 2^63 page size the same call maps exactly the one page asked for."""
    assert pgsize_and_count(1, 0, 0, 1) == (1, 1)


# -- one source of truth: the z3 path and the int path are the same function ---------

def _z3_value(expr) -> int:
    return z3.simplify(expr).as_long()


def _run_both(fn, *args):
    ints = fn(*args)
    syms = fn(*[z3.BitVecVal(a, 64) for a in args])
    if isinstance(ints, tuple):
        return ints, tuple(_z3_value(x) for x in syms)
    return ints, _z3_value(syms)


u64 = st.one_of(st.integers(0, U64), st.integers(0, 63).map(lambda b: 1 << b),
                st.integers(0, 63).flatmap(lambda b: st.integers(0, U64 >> b).map(lambda x: x << b)))


@settings(max_examples=150, deadline=None)
@given(u64, u64, u64, u64)
def test_pgsize_and_count_agrees_on_ints_and_z3(bitmap, iova, paddr, size):
    """pgsize_and_count gives the same (pgsize, count) on ints and on z3 constants."""
    ints, syms = _run_both(pgsize_and_count, bitmap, iova, paddr, size)
    assert ints == syms


def test_pgsize_and_count_agrees_on_ints_and_z3_exhaustively_below_8():
    """On every input below 2^3 the int path and the z3 path agree."""
    B, I, P, Sz = z3.BitVecs("B I P S", 64)
    pg, count = pgsize_and_count(B, I, P, Sz)
    for bitmap in range(8):
        for iova in range(8):
            for paddr in range(8):
                for size in range(9):
                    subst = [(B, z3.BitVecVal(bitmap, 64)), (I, z3.BitVecVal(iova, 64)),
                             (P, z3.BitVecVal(paddr, 64)), (Sz, z3.BitVecVal(size, 64))]
                    got = tuple(_z3_value(z3.substitute(x, *subst)) for x in (pg, count))
                    assert got == pgsize_and_count(bitmap, iova, paddr, size)


@settings(max_examples=150, deadline=None)
@given(u64, u64, u64, st.integers(0, 70))
def test_logic_helpers_agree_with_exact_arithmetic(a, b, c, n):
    """The proofs' exact-arithmetic helpers mean the same on ints, on z3, and in Python."""
    assert L.sum_le(a, b, c) == (a + b <= c)
    assert L.fits_end(a, b) == (a + b <= 1 << 64)
    assert L.shl(a, n) == ((a << n) & U64)
    for fn, args in ((L.sum_le, (a, b, c)), (L.fits_end, (a, b))):
        sym = z3.simplify(fn(*[z3.BitVecVal(x, 64) for x in args]))
        assert z3.is_true(sym) == fn(*args)
    assert _z3_value(L.shl(z3.BitVecVal(a, 64), z3.BitVecVal(n, 64))) == L.shl(a, n)


def test_concrete_greedy_run_is_unchanged():
    """The model's greedy chunks of the reference example stay 14x2M, 3x1G, 3x2M."""
    chunks = list(greedy_chunks(0x40201000, 0x3fe400000, 0x3fe400000, 0xC2200000))
    assert [(pg, count) for _, _, pg, count in chunks] == [(2 << 20, 14), (1 << 30, 3),
                                                           (2 << 20, 3)]


def test_single_page_form_is_the_first_of_the_batched_form():
    """pgsize is pgsize_and_count's page size (the same code, not a copy)."""
    assert pgsize(0x40201000, 0x3fe400000, 0x3fe400000, 0xC2200000) == 2 << 20


# -- the machinery -------------------------------------------------------------------

def test_timeout_is_reported_as_not_proved():
    """A query that runs out of time makes the property "NOT PROVED", never "proved"."""
    rep = run_all(["P3"], timeout=0.001, jobs=1, necessity=False, mutants=False,
                  bounded_bits=None)
    (row,) = rep.rows
    assert row.status.startswith("NOT PROVED") and not row.ok and not rep.ok


def test_a_mutant_no_property_refutes_survives_and_fails_the_run(monkeypatch):
    """A "mutant" that is the spec itself survives, and its row is not ok."""
    import spec.proofs.runner as runner
    from spec.proofs.mutants import Mutant
    monkeypatch.setattr(runner, "KILL_ORDER", (("P2", "maximal"),))
    monkeypatch.setattr(runner, "get_mutant", lambda name: Mutant(name, "no bug", SPEC))
    res = runner.run_task(("mutant", "equivalent"), 20.0)
    row = runner._mutant_row(("mutant", "equivalent"), res)
    assert row.status == "SURVIVED" and not row.ok


def test_vacuous_obligation_is_detected():
    """An obligation whose hypotheses contradict each other is VACUOUS, not proved."""
    ob = Obligation("contradiction", ("x",),
                    lambda v, sel: Formula(pre={}, hyps={"x < 1": bv.ult(v.x, 1),
                                                         "x > 1": bv.ult(1, v.x)},
                                           goal={"anything": v.x == 5}))
    assert S.satisfiable(ob, SPEC).status == S.VACUOUS
    assert S.prove_goal(ob, SPEC, "anything").status == S.PROVED  # hence the check


def test_impossible_case_is_detected():
    """A goal split on a case that cannot happen makes the obligation VACUOUS."""
    ob = Obligation("dead case", ("x",),
                    lambda v, sel: Formula(pre={}, hyps={"x < 4": bv.ult(v.x, 4)},
                                           goal={"x > 9 -> x == 5":
                                                 L.implies(bv.ult(9, v.x), v.x == 5)},
                                           cases={"x > 9": bv.ult(9, v.x)}))
    out = S.satisfiable(ob, SPEC)
    assert out.status == S.VACUOUS and "x > 9" in out.reason


def test_shrink_keeps_a_counterexample():
    """Shrinking z3's counterexample keeps it a counterexample and makes it smaller."""
    ob = get_property("P3").obligation("count")
    big = {"pgsize_bitmap": 0x81e8018200790427, "iova": 0, "paddr": 1 << 63,
           "size": 0x50f0cb0033420400, "next_pgsize": 0}
    assert S.is_counterexample(ob, SPEC, big, PRE_NO_HUGE)
    small = S.shrink(ob, SPEC, big, PRE_NO_HUGE)
    assert S.is_counterexample(ob, SPEC, small, PRE_NO_HUGE)
    assert small == {"pgsize_bitmap": 1 << 63 | 1, "iova": 0, "paddr": 0, "size": 1,
                     "next_pgsize": 0}


def test_fewest_pages_dynamic_programme():
    """The bounded check's optimum is right on a hand-worked case (pages 1 and 4)."""
    # [3, 9) with pages of 1 and 4: 1 at 3, 4 at 4, 1 at 8.
    assert fewest_pages(0b101, 3, 3, 6)[6] == 3
    # paddr at a different offset mod 4 forbids the 4-page: six 1-pages.
    assert fewest_pages(0b101, 3, 4, 6)[6] == 6


def test_exhaustive_check_small_width():
    """The exhaustive minimality and refinement check passes below 2^3."""
    result = exhaustive(3)
    assert result.ok and result.cases == 2184


def test_mutants_are_the_spec_code_with_one_helper_swapped():
    """A helper-swap mutant runs spec.pgsize's own code object, not a copy of its source."""
    mutant = get_mutant("fit-check-strict").selection.batched
    assert mutant.__code__ is pgsize_and_count.__code__
    assert mutant(0x40201000, 0x3fe400000, 0x3fe400000, 0xC2200000) == (2 << 20, 14)


def test_public_names():
    """spec.proofs exports exactly its documented public names."""
    assert spec.proofs.__all__ == ["main", "run_all", "Report", "Row", "PROPERTIES", "MUTANTS"]


def test_every_property_cites_linux():
    """Every property names its Linux counterpart in drivers/iommu."""
    assert all(p.linux.startswith("drivers/iommu/") for p in PROPERTIES)


# -- the command line ----------------------------------------------------------------

@pytest.mark.parametrize("argv", [["--timeout", "0"], ["--timeout", "soon"], ["--jobs", "0"],
                                  ["--only", "P9"], ["--bound-bits", "9"], ["--bogus"]])
def test_bad_arguments_exit_2_without_traceback(argv, capsys):
    """Bad command-line arguments give an argparse usage error and exit status 2."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "usage: iommu-spec prove" in err and "Traceback" not in err


def test_help_exits_0(capsys):
    """--help prints the usage and exits 0."""
    assert main(["--help"]) == 0
    assert "--json" in capsys.readouterr().out


def test_json_subset_run(capsys):
    """--json --only P2 prints a parseable report of one proved property and exits 0."""
    assert main(["--json", "--only", "P2", "--no-mutants", "--no-necessity",
                 "--bound-bits", "0"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and [r["key"] for r in data["rows"]] == ["P2"]
    assert data["rows"][0]["status"] == "proved"


def test_cli_dispatch_reaches_prove(capsys):
    """iommu-spec prove is wired to spec.proofs.main (a usage error comes back as 2)."""
    from iommu_spec.cli.main import main as cli_main
    assert cli_main(["prove", "--bogus"]) == 2
