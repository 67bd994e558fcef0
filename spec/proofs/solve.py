"""Deciding an obligation with z3, and re-checking a counterexample on ints.

:func:`decide` runs two queries: first that the preconditions and hypotheses
can hold at all (so a proof is never vacuous), then that they cannot hold
together with a false goal.  Only ``unsat`` of the second query is a proof;
``unknown`` (a timeout included) is reported as such, never as proved.

:func:`evaluate` runs the same obligation on plain ints -- the code path the
model executes -- so a counterexample z3 found can be confirmed concretely.
"""

import time
from dataclasses import dataclass, field
from types import SimpleNamespace

from spec import bitops as bv

from . import logic as L
from .properties import Formula, Obligation, Selection

PROVED = "proved"
REFUTED = "refuted"
UNKNOWN = "unknown"
VACUOUS = "vacuous"


@dataclass
class Outcome:
    """What z3 said about one obligation.

    ``status`` is PROVED, REFUTED (``model`` holds the counterexample: variable
    name -> int), UNKNOWN (``reason`` says why, e.g. a timeout) or VACUOUS
    (the preconditions and hypotheses cannot hold together).  ``seconds`` is
    wall-clock time for both queries.
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


def _conditions(formula: Formula, drop: str | None) -> list:
    if drop is not None and drop not in formula.pre:
        raise KeyError(f"no precondition {drop!r}; known: {list(formula.pre)}")
    pre = [c for name, c in formula.pre.items() if name != drop]
    return [c for c in pre + list(formula.hyps.values()) if c is not True]


def decide(obligation: Obligation, sel: Selection, *, drop: str | None = None,
           timeout: float = 20.0) -> Outcome:
    """Prove ``obligation`` for ``sel`` over all 64-bit values, or find a counterexample.

    ``drop`` names a precondition to leave out (for the necessity check).
    ``timeout`` is in seconds, per z3 query.  Raises KeyError for an unknown
    ``drop``.
    """
    z3 = _z3()
    start = time.perf_counter()
    v = SimpleNamespace(**{n: z3.BitVec(n, L.WIDTH) for n in obligation.variables})
    formula = obligation.build(v, sel)
    assumptions = _conditions(formula, drop)
    ms = max(1, int(timeout * 1000))

    sat_check = z3.Solver()
    sat_check.set("timeout", ms)
    sat_check.add(*assumptions)
    first = sat_check.check()
    if first != z3.sat:
        status = VACUOUS if first == z3.unsat else UNKNOWN
        reason = ("preconditions and hypotheses are unsatisfiable" if first == z3.unsat
                  else f"precondition check: {sat_check.reason_unknown()}")
        return Outcome(status, time.perf_counter() - start, reason=reason)

    solver = z3.SolverFor("QF_BV")
    solver.set("timeout", ms)
    solver.add(*assumptions)
    solver.add(z3.Not(z3.And(*[z3.BoolVal(g) if isinstance(g, bool) else g
                               for g in formula.goal.values()])))
    answer = solver.check()
    seconds = time.perf_counter() - start
    if answer == z3.unsat:
        return Outcome(PROVED, seconds)
    if answer == z3.sat:
        model = solver.model()
        values = {n: model.eval(getattr(v, n), model_completion=True).as_long()
                  for n in obligation.variables}
        return Outcome(REFUTED, seconds, model=values)
    return Outcome(UNKNOWN, seconds, reason=solver.reason_unknown())


def evaluate(obligation: Obligation, sel: Selection, values: dict[str, int]) -> Evaluation:
    """Evaluate ``obligation`` on concrete ints (the model's code path).

    ``values`` maps every variable of the obligation to an int in [0, 2^64).
    Raises KeyError if one is missing, ValueError if one is out of range.
    """
    for name in obligation.variables:
        x = values[name]
        if not 0 <= x <= bv.MASK:
            raise ValueError(f"{name}={x!r} is not a 64-bit unsigned value")
    formula = obligation.build(SimpleNamespace(**{n: values[n] for n in obligation.variables}),
                               sel)
    as_bool = {k: bool(c) for k, c in formula.pre.items()}
    return Evaluation(pre=as_bool,
                      hyps={k: bool(c) for k, c in formula.hyps.items()},
                      goal={k: bool(c) for k, c in formula.goal.items()},
                      derived=dict(formula.derived))

