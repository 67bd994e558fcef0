"""``iommu-spec check-trace`` and ``iommu-spec explain``.

Exit status: 0 consistent, 1 findings (or, for explain, a map the spec refuses
or a kernel decision that differs), 2 usage errors or unreadable input.
"""

import argparse
import json
import re
import sys

from spec import PROFILES, SEMANTICS, SpecUsageError

from . import report as report_mod
from .check import check_files
from .explain import explain_map, explain_trace, render, render_trace
from .parse import FieldError, TraceInputError, parse_u64, read_trace

_NEGATIVE = re.compile(r"-\s*(?:0[xX][0-9a-fA-F]+|[0-9]+)")


class _UsageError(Exception):
    """Bad arguments: the message is printed and the exit status is 2."""


class _ArgparseExit(Exception):
    """argparse has printed help (status 0) or its own usage error (status 2)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"iommu-spec {prog}", description=description)
    p.add_argument("--profile", required=True, metavar="NAME",
                   help=f"the IOMMU's page sizes: {', '.join(PROFILES)}")
    p.add_argument("--semantics", metavar="NAME",
                   help=f"semantic variant (default: the profile's): {', '.join(SEMANTICS)}")
    p.add_argument("--pgsize-bitmap", metavar="BITMAP",
                   help="the page sizes the domain really uses, a subset of the profile's "
                        "(e.g. 0x201000 for 4K|2M on VT-d hardware without 1G pages)")
    p.add_argument("--json", action="store_true", help="print JSON for tools")
    return p


def _parse(p: argparse.ArgumentParser, argv: list[str]):
    for arg in argv:
        if _NEGATIVE.fullmatch(arg):
            raise _UsageError(f"{arg!r} is negative; addresses and sizes are unsigned")
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:
        raise _ArgparseExit(0 if exc.code in (0, None) else 2) from None
    if args.profile not in PROFILES:
        raise _UsageError(f"unknown profile {args.profile!r}; known profiles: "
                          f"{', '.join(PROFILES)}")
    if args.semantics is not None and args.semantics not in SEMANTICS:
        raise _UsageError(f"unknown semantics {args.semantics!r}; known variants: "
                          f"{', '.join(SEMANTICS)}")
    bitmap = None
    if args.pgsize_bitmap is not None:
        try:
            bitmap = parse_u64(args.pgsize_bitmap, "--pgsize-bitmap")
        except FieldError as exc:
            raise _UsageError(str(exc)) from None
        if not bitmap or bitmap & ~PROFILES[args.profile].pgsize_bitmap:
            raise _UsageError(f"--pgsize-bitmap {bitmap:#x} must be a non-empty subset of "
                              f"{args.profile}'s {PROFILES[args.profile].pgsize_bitmap:#x}")
    args.bitmap = bitmap
    return args


def _run(prog: str, body, argv: list[str]) -> int:
    try:
        return body(argv)
    except _ArgparseExit as exc:
        return exc.code
    except (_UsageError, TraceInputError) as exc:
        print(f"iommu-spec {prog}: {exc}", file=sys.stderr)
        return 2


def check_trace_main(argv: list[str]) -> int:
    """``iommu-spec check-trace FILE... --profile NAME [--semantics NAME] [--complete] [--json]``."""
    return _run("check-trace", _check_trace, argv)


def _check_trace(argv: list[str]) -> int:
    p = _parser("check-trace", "Replay kernel IOMMU logs (ftrace map/unmap/io_page_fault "
                               "events, iommu.c dynamic debug) through the spec and report "
                               "where they disagree. Each file is checked on its own.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--complete", action="store_true",
                   help="the logs start from an empty domain: check every IOVA, not only "
                        "those the log maps or unmaps")
    args = _parse(p, argv)
    progress = None
    if sys.stderr.isatty() and not args.json:
        def progress(line: int) -> None:
            print(f"\r... line {line}", end="", file=sys.stderr, flush=True)
    result = check_files(args.files, args.profile, semantics=args.semantics,
                         pgsize_bitmap=args.bitmap, complete=args.complete, progress=progress)
    if progress is not None:
        print("\r", end="", file=sys.stderr)
    if args.json:
        json.dump(report_mod.to_json(result), sys.stdout, indent=2)
        print()
    else:
        sys.stdout.write(report_mod.render(result))
    return result.exit_status


def explain_main(argv: list[str]) -> int:
    """``iommu-spec explain --profile NAME IOVA PADDR SIZE`` or ``--trace FILE`` [--json]."""
    return _run("explain", _explain, argv)


def _explain(argv: list[str]) -> int:
    p = _parser("explain", "Show the pages Linux chooses for a map (iommu_pgsize), what "
                           "capped the page size at each step, and what a better-aligned "
                           "buffer would need. Numbers in 0x… hex or decimal.")
    p.add_argument("numbers", nargs="*", metavar="IOVA PADDR SIZE",
                   help="the map to explain (bytes)")
    p.add_argument("--trace", metavar="FILE", help="explain every map in a kernel log instead")
    args = _parse(p, argv)
    options = dict(semantics=args.semantics, pgsize_bitmap=args.bitmap)
    if args.trace is not None:
        if args.numbers:
            raise _UsageError("give either --trace FILE or IOVA PADDR SIZE, not both")
        maps = explain_trace(read_trace(args.trace), args.profile, file=args.trace, **options)
        if not maps:  # an explanation of nothing must not pass
            raise _UsageError(f"{args.trace}: no maps in this log, so nothing to explain")
        differs = any(not k.agrees for m in maps for k in m.kernel)
        if args.json:
            json.dump([{"line": m.loc.line, **m.explanation.to_json(),
                        "kernel": [{"line": k.loc.line, "iova": k.iova, "pgsize": k.pgsize,
                                    "count": k.count, "spec_pgsize": k.spec_pgsize,
                                    "spec_count": k.spec_count, "agrees": k.agrees}
                                   for k in m.kernel]} for m in maps], sys.stdout, indent=2)
            print()
        else:
            print(f"explain: {len(maps)} maps in {args.trace} on {args.profile}")
            sys.stdout.write(render_trace(maps))
        return 1 if differs else 0
    if len(args.numbers) != 3:
        raise _UsageError(f"expected IOVA PADDR SIZE (3 numbers), got {len(args.numbers)}")
    try:
        iova, paddr, size = (parse_u64(text, name) for text, name
                             in zip(args.numbers, ("IOVA", "PADDR", "SIZE")))
    except FieldError as exc:
        raise _UsageError(str(exc)) from None
    try:
        expl = explain_map(args.profile, iova, paddr, size, **options)
    except SpecUsageError as exc:
        raise _UsageError(str(exc)) from None
    if args.json:
        json.dump(expl.to_json(), sys.stdout, indent=2)
        print()
    else:
        sys.stdout.write(render(expl))
    return 1 if expl.ret else 0
