"""Deciding an obligation with z3, and re-checking a counterexample on ints.

An obligation is proved goal by goal (:func:`prove_goal`): each query asks
for an assignment that satisfies the preconditions and hypotheses and falsifies
that one goal; ``unsat`` is a proof of it.  Before that, :func:`satisfiable`
checks that the preconditions and hypotheses can hold at all, so no proof is
vacuous.  ``unknown`` -- a timeout included -- is reported as such, never as
proved.  :func:`counterexample` asks for a violation of any goal at once (the
necessity and mutant checks, which expect one).

:func:`evaluate` runs the same obligation on plain ints -- the code path the
model executes -- so a counterexample z3 found is confirmed concretely.

z3 pipelines: the default ``QF_BV`` tactic spends most of its time
AC-flattening the long and/or chains of the selection's bit tricks and in
``solve-eqs``; "bits" simplifies without flattening, "arith" with
sum-of-monomials normalisation (which settles the loop's ring identities), and
both then bit-blast to SAT.
"""

import time
from dataclasses import dataclass, field
from types import SimpleNamespace

from spec import bitops as bv

from . import logic as L
from .properties import SPEC, Formula, Obligation, Selection

PROVED = "proved"
REFUTED = "refuted"
UNKNOWN = "unknown"
VACUOUS = "vacuous"
SATISFIABLE = "satisfiable"


@dataclass
class Outcome:
    """What z3 said about one query.

    ``status`` is PROVED, REFUTED (``model`` holds the counterexample: variable
    name -> int), UNKNOWN (``reason`` says why, e.g. "timeout"), VACUOUS (the
    preconditions and hypotheses cannot hold together) or SATISFIABLE (they
    can).  ``seconds`` is wall-clock time.
    """

    status: str
    seconds: float
    model: dict[str, int] | None = None
    reason: str = ""


@dataclass
class Evaluation:
    """An obligation evaluated on ints: the truth of each named pre, hyp and goal."""

    pre: dict[str, bool]
    hyps: dict[str, bool]
    goal: dict[str, bool]
    derived: dict[str, int] = field(default_factory=dict)

    @property
    def violated(self) -> list[str]:
        """The goals that are false."""
        return [name for name, ok in self.goal.items() if not ok]


def _z3():
    import z3
    return z3


def _solver(tactic: str, timeout: float, rlimit: int | None = None):
    z3 = _z3()
    if tactic == "bits":
        simplify = z3.With("simplify", flat=False, bv_sort_ac=False)
    elif tactic == "arith":
        simplify = z3.With("simplify", som=True)
    else:
        raise ValueError(f"unknown tactic {tactic!r}; use 'bits' or 'arith'")
    solver = z3.Then(simplify, "bit-blast", "sat").solver()
    solver.set("timeout", max(1, int(timeout * 1000)))
    if rlimit is not None:  # z3's deterministic work budget, whatever the machine's load
        solver.set("rlimit", rlimit)
    return solver


def _instantiate(obligation: Obligation, sel: Selection, drop: str | None):
    z3 = _z3()
    v = SimpleNamespace(**{n: z3.BitVec(n, L.WIDTH) for n in obligation.variables})
    formula = obligation.build(v, sel)
    if drop is not None and drop not in formula.pre:
        raise KeyError(f"{obligation.name!r} has no precondition {drop!r}; "
                       f"known: {list(formula.pre)}")
    conds = [c for name, c in formula.pre.items() if name != drop] + list(formula.hyps.values())
    return v, formula, [_as_z3(c) for c in conds]


def _as_z3(c):
    return _z3().BoolVal(c) if isinstance(c, bool) else c


def _check(obligation, solver, v, assumptions, negated_goal) -> Outcome:
    z3 = _z3()
    start = time.perf_counter()
    solver.add(*assumptions)
    if negated_goal is not None:
        solver.add(negated_goal)
    answer = solver.check()
    seconds = time.perf_counter() - start
    if answer == z3.unsat:
        return Outcome(PROVED if negated_goal is not None else VACUOUS, seconds,
                       reason="" if negated_goal is not None else
                       "preconditions and hypotheses are unsatisfiable")
    if answer == z3.sat:
        model = solver.model()
        values = {n: model.eval(getattr(v, n), model_completion=True).as_long()
                  for n in obligation.variables}
        return Outcome(REFUTED if negated_goal is not None else SATISFIABLE, seconds, values)
    return Outcome(UNKNOWN, seconds, reason=solver.reason_unknown())


def satisfiable(obligation: Obligation, sel: Selection, *, drop: str | None = None,
                timeout: float = 20.0) -> Outcome:
    """Check that the preconditions (less ``drop``) and hypotheses can hold together,
    also with each of the formula's ``cases``.

    SATISFIABLE (with a witness of the last case in ``model``), VACUOUS (with
    the case in ``reason``) or UNKNOWN.  ``timeout`` is in seconds per query.
    """
    v, formula, assumptions = _instantiate(obligation, sel, drop)
    out = _check(obligation, _solver(obligation.tactic, timeout), v, assumptions, None)
    for name, case in formula.cases.items():
        if out.status != SATISFIABLE:
            break
        more = _check(obligation, _solver(obligation.tactic, timeout), v,
                      assumptions + [_as_z3(case)], None)
        more.seconds += out.seconds
        if more.status == VACUOUS:
            more.reason = f"case {name!r} cannot happen: the goals about it are vacuous"
        out = more
    return out


def prove_goal(obligation: Obligation, sel: Selection, goal: str, *,
               timeout: float = 20.0) -> Outcome:
    """Prove one named goal of ``obligation`` for every 64-bit assignment, or refute it.

    PROVED, REFUTED (``model``: the counterexample) or UNKNOWN.  KeyError for
    an unknown goal name.
    """
    z3 = _z3()
    v, formula, assumptions = _instantiate(obligation, sel, None)
    return _check(obligation, _solver(obligation.tactic, timeout), v, assumptions,
                  z3.Not(_as_z3(formula.goal[goal])))


def counterexample(obligation: Obligation, sel: Selection, *, drop: str | None = None,
                   timeout: float = 20.0, rlimit: int | None = None) -> Outcome:
    """Look for an assignment violating any goal (with precondition ``drop`` left out).

    REFUTED with the counterexample in ``model``, PROVED if there is none, or
    UNKNOWN.  ``rlimit`` optionally caps z3's work (its deterministic counter).
    """
    z3 = _z3()
    v, formula, assumptions = _instantiate(obligation, sel, drop)
    negated = z3.Not(z3.And(*[_as_z3(g) for g in formula.goal.values()]))
    return _check(obligation, _solver(obligation.tactic, timeout, rlimit), v, assumptions,
                  negated)


def goal_names(obligation: Obligation) -> list[str]:
    """The names of the obligation's goals, in order."""
    return list(_on_zeros(obligation).goal)


def precondition_names(obligation: Obligation) -> list[str]:
    """The names of the obligation's preconditions, in order."""
    return list(_on_zeros(obligation).pre)


def _on_zeros(obligation: Obligation) -> Formula:
    return obligation.build(SimpleNamespace(**{n: 0 for n in obligation.variables}), SPEC)


def evaluate(obligation: Obligation, sel: Selection, values: dict[str, int]) -> Evaluation:
    """Evaluate ``obligation`` on concrete ints (the model's code path).

    ``values`` maps every variable of the obligation to an int in [0, 2^64).
    Raises KeyError if one is missing, ValueError if one is out of range.
    """
    for name in obligation.variables:
        x = values[name]
        if type(x) is not int or not 0 <= x <= bv.MASK:
            raise ValueError(f"{name}={x!r} is not a 64-bit unsigned value")
    formula: Formula = obligation.build(
        SimpleNamespace(**{n: values[n] for n in obligation.variables}), sel)
    return Evaluation(pre={k: bool(c) for k, c in formula.pre.items()},
                      hyps={k: bool(c) for k, c in formula.hyps.items()},
                      goal={k: bool(c) for k, c in formula.goal.items()},
                      derived=dict(formula.derived))


#: z3 work budget (its "rlimit" counter) of the quick passes of :func:`find_violation`:
#: about half a second of this project's 2-core machine.
QUICK_RLIMIT = 4_000_000
#: How many random seeds the quick all-goals search tries.
QUICK_SEEDS = 4


def find_violation(obligation: Obligation, sel: Selection, *, drop: str | None = None,
                   timeout: float = 20.0, quick: int = QUICK_RLIMIT) -> Outcome:
    """Find a counterexample to any goal of ``obligation`` (precondition ``drop`` left out).

    First asks for a violation of any goal within a work budget of ``quick``,
    with a few random seeds (z3 finds these models fast but erratically);
    then goal by goal within growing budgets (``quick``, 4x, 16x, then
    ``timeout`` seconds), so that a goal that holds but is costly to prove
    does not hold up the one that fails.  The budgets are z3's resource
    counter rather than seconds, so the search does not depend on the
    machine's load.  REFUTED with ``model``, PROVED if no goal can be
    violated, or UNKNOWN.
    """
    z3 = _z3()
    spent = 0.0
    for seed in range(QUICK_SEEDS):
        v, formula, assumptions = _instantiate(obligation, sel, drop)
        solver = _solver(obligation.tactic, timeout, quick)
        solver.set("random_seed", seed)
        out = _check(obligation, solver, v, assumptions,
                     z3.Not(z3.And(*[_as_z3(g) for g in formula.goal.values()])))
        spent += out.seconds
        if out.status != UNKNOWN:
            out.seconds = spent
            return out
    reason = ""
    undecided = goal_names(obligation)
    for rlimit in (quick, quick * 4, quick * 16, None):
        still = []
        for name in undecided:
            v, formula, assumptions = _instantiate(obligation, sel, drop)
            out = _check(obligation, _solver(obligation.tactic, timeout, rlimit), v,
                         assumptions, z3.Not(_as_z3(formula.goal[name])))
            spent += out.seconds
            if out.status == REFUTED:
                out.seconds = spent
                return out
            if out.status == UNKNOWN:
                still.append(name)
                reason = out.reason or "unknown"
        undecided = still
        if not undecided:
            break
    return Outcome(UNKNOWN if undecided else PROVED, spent,
                   reason=reason if undecided else "")


def is_counterexample(obligation: Obligation, sel: Selection, values: dict[str, int],
                      drop: str | None = None) -> bool:
    """``values`` meet every precondition but ``drop`` (which they break, if given) and
    every hypothesis, and violate a goal -- checked on ints."""
    ev = evaluate(obligation, sel, values)
    pre_ok = all(ok for name, ok in ev.pre.items() if name != drop)
    dropped_broken = drop is None or not ev.pre[drop]
    return pre_ok and dropped_broken and all(ev.hyps.values()) and bool(ev.violated)


def shrink(obligation: Obligation, sel: Selection, values: dict[str, int],
           drop: str | None = None, budget: int = 4000) -> dict[str, int]:
    """A simpler counterexample: shrink each of ``values`` (to 0, to its lowest set bit,
    by halving, or by clearing bits from the top down) while
    :func:`is_counterexample` stays true on ints.

    z3's models are arbitrary; a report should show the smallest case it can.
    ``budget`` caps the number of evaluations.  Returns ``values`` unchanged
    if they are not a counterexample.
    """
    current = dict(values)
    if not is_counterexample(obligation, sel, current, drop):
        return current

    def accept(name, y):
        nonlocal current, budget
        if y == current[name] or budget <= 0:
            return False
        budget -= 1
        trial = dict(current, **{name: y})
        if is_counterexample(obligation, sel, trial, drop):
            current = trial
            return True
        return False

    changed = True
    while changed and budget > 0:
        changed = False
        for name in obligation.variables:
            x = current[name]
            if any(accept(name, y) for y in (0, x & -x, x >> 1)):
                changed = True
                continue
            for b in reversed(range(current[name].bit_length())):
                if current[name] >> b & 1 and accept(name, current[name] & ~(1 << b)):
                    changed = True
    return current
