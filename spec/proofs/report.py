"""``python -m spec.proofs`` / ``iommu-spec prove``: run the proofs and print the report.

Exit status: 0 when every property is proved, every precondition is shown
necessary and every mutant is killed; 1 otherwise (a refutation, a timeout or
``unknown``, a surviving mutant); 2 for bad command-line arguments.
"""

import argparse
import json
import os
import sys

from tabulate import tabulate

from .properties import PROPERTIES, PRE_NO_HUGE
from .runner import Report, Row, run_all

HEADERS = ("property", "status", "seconds", "counterexample")


def _hex(x: int) -> str:
    return f"{x:#018x}"


def counterexample_text(row: Row) -> str:
    """A row's counterexample as lines: the variables (fixed-width hex), what the
    selection returned on them, and the goals they violate."""
    if not row.counterexample:
        return ""
    items = [f"{k}={_hex(v)}" for k, v in row.counterexample.items()]
    lines = ["  ".join(items[i:i + 2]) for i in range(0, len(items), 2)]
    if row.derived:
        lines.append("-> " + "  ".join(f"{k}={_hex(v)}" for k, v in row.derived.items()))
    lines += [f"violates: {v}" for v in row.violates]
    return "\n".join(lines)


def _name(row: Row) -> str:
    if row.kind in ("property", "bounded"):  # the scope under the name
        return f"{row.name}\n  [{row.note}]"
    return row.name


def _detail(row: Row) -> str:
    text = counterexample_text(row)
    if not text and not row.ok and row.kind != "property":
        text = row.note  # why a necessity or mutant search came back empty
    return text


def render_table(report: Report) -> str:
    """The report as a tabulate table, a summary line and the findings."""
    body = [(_name(r), r.status, f"{r.seconds:.2f}", _detail(r)) for r in report.rows]
    table = tabulate(body, headers=HEADERS, tablefmt="simple", disable_numparse=True)
    return "\n".join([table, "", summary(report), *findings(report)])


def summary(report: Report) -> str:
    """One line: how many of each kind of row came out right, and the time taken."""
    def count(kind):
        rows = [r for r in report.rows if r.kind == kind]
        return sum(r.ok for r in rows), len(rows)

    props = [r for r in report.rows if r.kind in ("property", "bounded")]
    nec, mut = count("necessity"), count("mutant")
    verdict = "OK" if report.ok else "FAILED"
    return (f"{verdict}: {sum(r.ok for r in props)}/{len(props)} properties proved, "
            f"{nec[0]}/{nec[1]} preconditions necessary, {mut[0]}/{mut[1]} mutants killed; "
            f"{report.seconds:.1f} s wall, {report.jobs} jobs, {report.timeout:g} s per query")


def findings(report: Report) -> list[str]:
    """Observations about Linux's arithmetic that the run established."""
    out = []
    for r in report.rows:
        if r.kind == "necessity" and r.name.endswith(PRE_NO_HUGE) and r.ok:
            c, d = r.counterexample, r.derived
            out += ["", "Finding: with a 2^63 page size in pgsize_bitmap, iommu_pgsize's size_t sum "
                    "offset + pgsize_next wraps to 0 and the run overshoots size:",
                    f"  pgsize_and_count({_hex(c['pgsize_bitmap'])}, {_hex(c['iova'])}, "
                    f"{_hex(c['paddr'])}, {_hex(c['size'])})",
                    f"  = (pgsize={_hex(d['pgsize'])}, count={_hex(d['count'])}): "
                    f"count * pgsize = {_hex(d['pgsize'] * d['count'])} > size.",
                    "  No IOMMU has such a page size; without one (bit 63 of the bitmap clear) "
                    "the sum never wraps (P3w)."]
    return out


def render_json(report: Report) -> str:
    """The report as JSON: ``ok``, ``seconds``, ``timeout``, ``jobs`` and ``rows``."""
    return json.dumps({"ok": report.ok, "seconds": round(report.seconds, 3),
                       "timeout": report.timeout, "jobs": report.jobs,
                       "rows": [r.as_json() for r in report.rows]}, indent=2)


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}")
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
        return value
    return parse


def _keys(text):
    known = [p.key for p in PROPERTIES]
    keys = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in keys if k not in known]
    if bad or not keys:
        raise argparse.ArgumentTypeError(
            f"unknown property {', '.join(bad) or text!r}; known: {', '.join(known)}")
    return keys


def _bits(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}")
    if not 0 <= value <= 5:
        raise argparse.ArgumentTypeError(f"must be in 0..5 (0 skips the check), got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    """The command line of ``iommu-spec prove``; values are checked here (usage error, exit 2)."""
    p = argparse.ArgumentParser(
        prog="iommu-spec prove",
        description="Prove the page-size selection of spec.pgsize with z3 over 64-bit "
                    "bit-vectors, show each precondition necessary, and refute seeded mutants.")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--timeout", type=_positive(float), default=20.0, metavar="SECONDS",
                   help="time limit per z3 query (default 20); a timeout is 'not proved'")
    p.add_argument("--jobs", type=_positive(int), default=min(2, os.cpu_count() or 1),
                   help="worker processes (default: 2, or 1 on a single CPU)")
    p.add_argument("--only", type=_keys, metavar="P1,P3,...",
                   help="prove only these properties (mutants still run unless --no-mutants)")
    p.add_argument("--no-necessity", action="store_true",
                   help="skip dropping each precondition")
    p.add_argument("--no-mutants", action="store_true", help="skip the seeded mutants")
    p.add_argument("--bound-bits", type=_bits, default=4, metavar="N",
                   help="width of the exhaustive minimality check, 0..5 (default 4; 0 skips)")
    return p


def _progress(done: int, total: int, task: tuple) -> None:
    label = " ".join(str(x) for x in task)[:70]
    sys.stderr.write(f"\r[{done}/{total}] {label:<70}")
    if done == total:
        sys.stderr.write("\r" + " " * 80 + "\r")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m spec.proofs`` and ``iommu-spec prove``; returns the exit status."""
    try:
        args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): argparse has printed it
        return exc.code if isinstance(exc.code, int) else 2
    progress = _progress if sys.stderr.isatty() and not args.json else None
    report = run_all(args.only, timeout=args.timeout, jobs=args.jobs,
                     necessity=not args.no_necessity, mutants=not args.no_mutants,
                     bounded_bits=args.bound_bits or None, progress=progress)
    print(render_json(report) if args.json else render_table(report))
    return 0 if report.ok else 1
