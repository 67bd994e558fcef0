"""Running the whole suite: proofs, necessity of each precondition, mutants, bounded check.

The work is cut into independent tasks -- one z3 query per proof goal, one
search per dropped precondition or mutant, the exhaustive check -- run on a
pool of processes (each builds its own z3 terms: they cannot cross a process
boundary) and gathered into :class:`Row` s in a fixed order: properties,
the bounded check, necessity, mutants.
"""

import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import Callable

from . import bounded
from . import solve as S
from .mutants import MUTANTS, get_mutant
from .properties import PROPERTIES, SPEC, get_property

#: The obligations a mutant is checked against, in order, until one refutes it.
KILL_ORDER = (("P1", "sound"), ("P3", "count"), ("P2", "maximal"), ("P5", "batch pages"),
              ("P5", "single choice"), ("P6", "nesting"), ("P4", "step"))

PROVED = "proved"
NECESSARY = "necessary"


@dataclass
class Row:
    """One line of the report.

    ``kind`` is "property", "bounded", "necessity" or "mutant"; ``ok`` says
    whether it is the outcome the suite needs (proved, necessary, killed);
    ``counterexample`` maps variable names to ints (shrunk from z3's model,
    which ``z3_model`` keeps); ``violates`` names the goals it falsifies,
    ``derived`` what the selection returned on it, ``note`` anything else worth
    a line (the obligation, or why something was not proved).
    """

    kind: str
    key: str
    name: str
    status: str
    ok: bool
    seconds: float
    counterexample: dict[str, int] = field(default_factory=dict)
    violates: list[str] = field(default_factory=list)
    derived: dict[str, int] = field(default_factory=dict)
    note: str = ""
    #: The counterexample as z3 found it, before shrinking (both are checked on ints).
    z3_model: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict:
        out = asdict(self)
        for name in ("counterexample", "derived", "z3_model"):
            out[name] = {k: f"{v:#018x}" for k, v in getattr(self, name).items()}
        out["seconds"] = round(self.seconds, 3)
        return out


@dataclass
class Report:
    """All rows, the wall-clock ``seconds`` and the settings the run used."""

    rows: list[Row]
    seconds: float
    timeout: float
    jobs: int

    @property
    def ok(self) -> bool:
        """Everything proved, every precondition necessary, every mutant killed."""
        return all(row.ok for row in self.rows)


# -- tasks ---------------------------------------------------------------------

def plan(keys: list[str] | None = None, *, necessity: bool = True, mutants: bool = True,
         bounded_bits: int | None = 4) -> list[tuple]:
    """The tasks of a run, most expensive first (they are gathered back in report order)."""
    props = [get_property(k) for k in keys] if keys else list(PROPERTIES)
    tasks: list[tuple] = []
    if bounded_bits:
        tasks.append(("bounded", bounded_bits))
    for prop in sorted(props, key=lambda p: p.key != "P3"):
        for ob in prop.obligations:
            tasks.append(("sat", prop.key, ob.name))
            tasks += [("goal", prop.key, ob.name, g) for g in S.goal_names(ob)]
    if mutants:
        tasks += [("mutant", m.name) for m in MUTANTS]
    if necessity:
        tasks += [("necessity", p.key, pre) for p in props for pre in p.preconditions()]
    return tasks


def run_task(task: tuple, timeout: float) -> dict:
    """Run one task; returns plain data (it may cross a process boundary)."""
    kind = task[0]
    start = time.perf_counter()
    if kind == "bounded":
        result = bounded.exhaustive(task[1])
        return {"ok": result.ok, "cases": result.cases, "seconds": result.seconds,
                "failure": result.failure}
    if kind == "sat":
        out = S.satisfiable(get_property(task[1]).obligation(task[2]), SPEC, timeout=timeout)
        return _outcome(out)
    if kind == "goal":
        ob = get_property(task[1]).obligation(task[2])
        return _outcome(S.prove_goal(ob, SPEC, task[3], timeout=timeout))
    if kind == "necessity":
        return _necessity(task[1], task[2], timeout, start)
    if kind == "mutant":
        return _mutant(task[1], timeout, start)
    raise ValueError(f"unknown task {task!r}")


def _outcome(out: S.Outcome) -> dict:
    return {"status": out.status, "seconds": out.seconds, "model": out.model,
            "reason": out.reason}


def _necessity(key, pre, timeout, start):
    prop = get_property(key)
    reasons = []
    for ob in prop.necessity_obligations():
        if pre not in S.precondition_names(ob):
            continue
        out = S.find_violation(ob, SPEC, drop=pre, timeout=timeout)
        if out.status == S.REFUTED:
            return _refutation(ob, SPEC, out.model, pre, start, found=True)
        reasons.append(f"{ob.name}: {out.status}{' (' + out.reason + ')' if out.reason else ''}")
    return {"found": False, "reasons": reasons, "seconds": time.perf_counter() - start}


def _refutation(ob, sel, model, drop, start, **extra):
    """z3's counterexample, confirmed on ints, then shrunk (and confirmed again)."""
    confirmed = S.is_counterexample(ob, sel, model, drop)
    small = S.shrink(ob, sel, model, drop) if confirmed else model
    ev = S.evaluate(ob, sel, small)
    return {"confirmed": confirmed and S.is_counterexample(ob, sel, small, drop),
            "obligation": ob.name, "z3_model": model, "model": small,
            "violates": ev.violated, "derived": ev.derived,
            "seconds": time.perf_counter() - start, **extra}


def _mutant(name, timeout, start):
    mutant = get_mutant(name)
    reasons = []
    for key, ob_name in KILL_ORDER:
        ob = get_property(key).obligation(ob_name)
        out = S.find_violation(ob, mutant.selection, timeout=timeout)
        if out.status == S.REFUTED:
            return dict(_refutation(ob, mutant.selection, out.model, None, start),
                        killed=True, by=key)
        if out.status == S.UNKNOWN:
            reasons.append(f"{key} {ob_name}: unknown ({out.reason})")
    return {"killed": False, "reasons": reasons, "seconds": time.perf_counter() - start}


# -- running and gathering -----------------------------------------------------------

def execute(tasks: list[tuple], *, timeout: float, jobs: int,
            progress: Callable[[int, int, tuple], None] | None = None) -> dict[tuple, dict]:
    """Run ``tasks`` on ``jobs`` processes (in this process when jobs == 1)."""
    results: dict[tuple, dict] = {}
    if jobs <= 1:
        for n, task in enumerate(tasks, 1):
            results[task] = run_task(task, timeout)
            if progress:
                progress(n, len(tasks), task)
        return results
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_task, task, timeout): task for task in tasks}
        for n, future in enumerate(as_completed(futures), 1):
            task = futures[future]
            results[task] = future.result()
            if progress:
                progress(n, len(tasks), task)
    return results


def gather(tasks: list[tuple], results: dict[tuple, dict]) -> list[Row]:
    """Turn task results into report rows: properties, bounded check, necessity, mutants."""
    rows: list[Row] = []
    keys = [t[1] for t in tasks if t[0] == "sat"]
    for prop in PROPERTIES:
        if prop.key in keys:
            rows.append(_property_row(prop, tasks, results))
    rows += [_bounded_row(t, results[t]) for t in tasks if t[0] == "bounded"]
    rows += [_necessity_row(t, results[t]) for t in tasks if t[0] == "necessity"]
    rows += [_mutant_row(t, results[t]) for t in tasks if t[0] == "mutant"]
    return rows


def _property_row(prop, tasks, results) -> Row:
    mine = [t for t in tasks if t[0] in ("sat", "goal") and t[1] == prop.key]
    seconds = sum(results[t]["seconds"] for t in mine)
    row = Row("property", prop.key, f"{prop.key} {prop.short}", PROVED, True, seconds,
              note=prop.scope)
    for t in mine:
        res = results[t]
        where = f"{t[2]}: " + (t[3] if t[0] == "goal" else "can the preconditions hold?")
        if res["status"] in (S.PROVED, S.SATISFIABLE):
            continue
        row.ok = False
        if res["status"] == S.REFUTED:
            ob = prop.obligation(t[2])
            small = S.shrink(ob, SPEC, res["model"])
            ev = S.evaluate(ob, SPEC, small)
            row.status, row.counterexample, row.z3_model = "REFUTED", small, res["model"]
            row.violates, row.derived = ev.violated, ev.derived
            row.note = where
            return row
        if row.status == PROVED:
            row.status = ("VACUOUS" if res["status"] == S.VACUOUS
                          else f"NOT PROVED ({res['reason'] or 'unknown'})")
            row.note = where
    return row


def _bounded_row(task, res) -> Row:
    bits = task[1]
    name = f"P6b minimality + refinement, exhaustive below 2^{bits}"
    row = Row("bounded", "P6b", name, PROVED if res["ok"] else "REFUTED", res["ok"],
              res["seconds"], note=f"bounded: {res['cases']} cases")
    if not res["ok"]:
        B, I, P, Sz, what = res["failure"]
        row.counterexample = {"pgsize_bitmap": B, "iova": I, "paddr": P, "size": Sz}
        row.violates = [what]
    return row


def _necessity_row(task, res) -> Row:
    key, pre = task[1], task[2]
    name = f"{key} needs {pre}"
    if not res["found"]:
        return Row("necessity", key, name, "NOT SHOWN", False, res["seconds"],
                   note="; ".join(res["reasons"]))
    ok = res["confirmed"]
    return Row("necessity", key, name, NECESSARY if ok else "NOT CONFIRMED ON INTS", ok,
               res["seconds"], res["model"], res["violates"], res["derived"],
               note=res["obligation"], z3_model=res["z3_model"])


def _mutant_row(task, res) -> Row:
    name = f"mutant {task[1]}"
    if not res["killed"]:
        return Row("mutant", task[1], name, "SURVIVED", False, res["seconds"],
                   note="; ".join(res["reasons"]))
    ok = res["confirmed"]
    return Row("mutant", task[1], name, f"killed by {res['by']}" if ok else "NOT CONFIRMED ON INTS",
               ok, res["seconds"], res["model"], res["violates"], res["derived"],
               note=res["obligation"], z3_model=res["z3_model"])


def run_all(keys: list[str] | None = None, *, timeout: float = 20.0, jobs: int = 2,
            necessity: bool = True, mutants: bool = True, bounded_bits: int | None = 4,
            progress: Callable[[int, int, tuple], None] | None = None) -> Report:
    """Run the suite (or the properties in ``keys``) and return the :class:`Report`.

    ``timeout`` is seconds per z3 query, ``jobs`` the number of worker
    processes.  KeyError for an unknown property key.
    """
    start = time.perf_counter()
    tasks = plan(keys, necessity=necessity, mutants=mutants, bounded_bits=bounded_bits)
    results = execute(tasks, timeout=timeout, jobs=jobs, progress=progress)
    return Report(gather(tasks, results), time.perf_counter() - start, timeout, jobs)
