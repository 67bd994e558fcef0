"""``iommu-spec profiles | semantics | rules | difftest``."""

import argparse
import json
import sys
import textwrap

from tabulate import tabulate

from spec import PROFILES, RULES, SEMANTICS, errno_name


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"iommu-spec {prog}", description=description)
    p.add_argument("--json", action="store_true", help="print JSON for tools")
    return p


def profiles_main(argv: list[str]) -> int:
    args = _parser("profiles", "The page-size profiles of real IOMMUs.").parse_args(argv)
    rows = [{"name": p.name, "pgsize_bitmap": f"{p.pgsize_bitmap:#018x}",
             "page sizes": " ".join(_human(s) for s in p.pgsizes), "ias": p.ias, "oas": p.oas,
             "semantics": p.default_semantics, "source": p.source} for p in PROFILES.values()]
    if args.json:
        json.dump([{**r, "pgsize_bitmap": PROFILES[r["name"]].pgsize_bitmap} for r in rows],
                  sys.stdout, indent=2)
        print()
    else:
        print(tabulate(rows, headers="keys"))
    return 0


def _point_value(sem, point: str) -> str:
    v = getattr(sem, point)
    if point == "exists_errno":
        return errno_name(-v) if v else "-"
    if point == "map_zero_size":
        return errno_name(v)
    if point == "page_sizes":
        return f"{v:#x}" if v else "any"
    return str(v)


def variant_drivers(name: str) -> list[str]:
    """The driver files whose eras (spec.kernels) run variant ``name``."""
    from spec.kernels import DRIVERS
    return sorted({d.source for d in DRIVERS.values() for e in d.eras if e.variant == name})


#: The points the compact table (--table) shows, as the README's variant table does.
TABLE_POINTS = ["exists_errno", "map_zero_size", "partial_unmap", "replace_table",
                "unmap_slots", "per_table_batches", "map_over_live", "hole_unmap",
                "unmap_range_checked", "range_check", "prot_first", "tables"]


def semantics_main(argv: list[str]) -> int:
    p = _parser("semantics", "Every semantic variant: the drivers that run it, its releases, and "
                "each variant point with its value and its source in Linux; with --kernel "
                "and/or --driver, what a kernel release runs for a driver.")
    p.add_argument("--kernel", metavar="X.Y", help="a mainline release, v5.4 to v7.1 (6.12, "
                   "v6.12 or 6.12.118)")
    p.add_argument("--driver", metavar="NAME", help="an IOMMU driver: " + ", ".join(_drivers()))
    p.add_argument("--variant", metavar="NAME[,NAME]", help="only these variants")
    p.add_argument("--table", action="store_true",
                   help="one row per variant with the main points' values (no sources)")
    args = p.parse_args(argv)
    if args.kernel or args.driver:
        return _kernel_semantics(args)
    from spec.semantics import POINTS
    names = list(SEMANTICS)
    if args.variant:
        names = [n.strip() for n in args.variant.split(",") if n.strip()]
        unknown = [n for n in names if n not in SEMANTICS]
        if unknown or not names:
            bad = ", ".join(map(repr, unknown)) or repr(args.variant)
            print(f"iommu-spec semantics: unknown variant {bad}; known: "
                  f"{', '.join(SEMANTICS)}", file=sys.stderr)
            return 2
    if args.json:
        json.dump([{"name": n, "versions": SEMANTICS[n].versions, "source": SEMANTICS[n].source,
                    "drivers": variant_drivers(n),
                    "points": {pt: {"value": getattr(SEMANTICS[n], pt),
                                    "source": SEMANTICS[n].point_source(pt),
                                    "versions": [sp.as_dict() for sp in
                                                 SEMANTICS[n].point_versions(pt)]}
                               for pt in POINTS},
                    "spans": [sp.as_dict() for sp in SEMANTICS[n].spans]}
                   for n in names], sys.stdout, indent=2)
        print()
        return 0
    if args.table:
        rows = [{"name": n, **{pt: _point_value(SEMANTICS[n], pt) for pt in TABLE_POINTS},
                 "versions": textwrap.fill(SEMANTICS[n].versions or "-", 40)} for n in names]
        print(tabulate(rows, headers="keys", disable_numparse=True))
        return 0
    for i, n in enumerate(names):
        sem = SEMANTICS[n]
        if i:
            print()
        print(f"{n}: {sem.versions}")
        print(f"  drivers: {', '.join(variant_drivers(n)) or '-'}")
        print(f"  table code: {sem.source}")
        # wrapped here: tabulate's maxcolwidths turns the text "False" into True
        rows = [[pt, _point_value(sem, pt), textwrap.fill(sem.point_source(pt), 90)]
                for pt in POINTS]
        for line in tabulate(rows, headers=["point", "value", "source"],
                             disable_numparse=True).splitlines():
            print(f"  {line}")
    return 0


def rules_main(argv: list[str]) -> int:
    args = _parser("rules", "The named rules of the model, with the releases and commits "
                   "they hold for.").parse_args(argv)
    from spec.history import fixes_for
    rows = [{"rule": r.name + (" (Linux defect)" if r.defect else ""), "states": r.summary,
             "releases": "; ".join(map(str, r.versions)),
             "fixes": ", ".join(f"{f.hash} ({f.release}, before: {f.before_rule})"
                                for f in fixes_for(r.name)) or "-",
             "source": r.source} for r in RULES.values()]
    if args.json:
        json.dump([{"rule": r.name, "defect": bool(r.defect), "states": r.summary,
                    "versions": [s.as_dict() for s in r.versions],
                    "fixes": [f.hash for f in fixes_for(r.name)],
                    "source": r.source, "doc": r.doc.strip()} for r in RULES.values()],
                  sys.stdout, indent=2)
        print()
    else:
        print(tabulate(rows, headers="keys", maxcolwidths=[None, 50, 36, 30, 40]))
    return 0


def fixes_main(argv: list[str]) -> int:
    args = _parser("fixes", "Linux's fixes of 2024 to 2026 that changed what the API returns: "
                   "the behaviour before each, named, and how the tester catches it.").parse_args(argv)
    from spec.history import FIXES
    if args.json:
        json.dump([f.as_dict() for f in FIXES], sys.stdout, indent=2)
        print()
        return 0
    rows = [{"commit": f.commit, "release": f.release, "introduced by": f.fixes,
             "before (named)": f"{f.before_rule}: {f.before}", "after": f"{f.rule}: {f.after}",
             "caught by": f.caught_by} for f in FIXES]
    print(tabulate(rows, headers="keys", maxcolwidths=[30, None, 18, 40, 30, 36]))
    return 0


def _drivers() -> list[str]:
    from spec.kernels import DRIVERS
    return list(DRIVERS)


def _kernel_semantics(args) -> int:
    """``semantics --kernel X.Y [--driver D]`` / ``--driver D``: the variant and core a release runs."""
    from spec import SpecUsageError
    from spec.kernels import DRIVERS, era_of, for_kernel
    from spec.versions import NEWEST, OLDEST, RELEASES, Version
    try:
        if args.driver and args.driver not in DRIVERS:
            raise SpecUsageError(f"unknown driver {args.driver!r}; known: {', '.join(DRIVERS)}")
        if args.kernel and args.driver:
            k = for_kernel(args.kernel, args.driver)
            if args.json:
                json.dump(k.as_dict(), sys.stdout, indent=2)
                print()
                return 0
            sem = SEMANTICS[k.variant]
            print(f"Linux {k.version}, driver {k.driver}: semantics {k.variant}, core {k.core}")
            print(f"  page table:  {k.table} ({k.era})")
            print(f"  profiles:    {', '.join(k.profiles)}")
            print(f"  variant:     {sem.source}; releases {sem.versions}")
            from spec.cores import get_core
            print(f"  core:        {get_core(k.core).summary}")
            if k.note:
                print(f"  note:        {k.note}")
            for text in k.missing_fixes:
                print(f"  not fixed yet in {k.version}: {text}")
            print(f"  build it:    ReferenceDomain.for_kernel({str(k.version)[1:]!r}, {k.driver!r})")
            return 0
        if args.kernel:
            version = Version.parse(args.kernel)
            era_of(version, next(iter(DRIVERS)))  # the release's range check
            rows = []
            for name in DRIVERS:
                try:
                    k = for_kernel(version, name)
                    rows.append({"driver": name, "semantics": k.variant, "core": k.core,
                                 "page table": k.table, "missing fixes":
                                 ", ".join(t.split()[0] for t in k.missing_fixes) or "-"})
                except SpecUsageError as exc:
                    rows.append({"driver": name, "semantics": "-", "core": "-",
                                 "page table": str(exc).split(": ", 1)[-1], "missing fixes": "-"})
        else:
            rows = []
            for era in DRIVERS[args.driver].eras:
                rows.append({"releases": f"{era.first} to {era.last}", "semantics": era.variant or "-",
                             "core": era.core or "-", "page table": era.table,
                             "note": era.uncovered or era.note})
    except SpecUsageError as exc:
        print(f"iommu-spec semantics: {exc}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
    else:
        print(tabulate(rows, headers="keys", maxcolwidths=[None, None, None, 40, 60]))
    return 0


#: pytest's exit status -> the command's: 0 passed, 1 failures, 2 usage error, interrupted,
#: internal error or nothing collected (a run that checked nothing does not pass).
PYTEST_STATUS = {0: 0, 1: 1, 2: 2, 3: 2, 4: 2, 5: 2}


def difftest_main(argv: list[str]) -> int:
    """``iommu-spec difftest [pytest options]``: ``pytest --pyargs difftest`` from any directory."""
    import pytest
    status = int(pytest.main(["--pyargs", "difftest", *argv]))
    return PYTEST_STATUS.get(status, 2)


def _human(size: int) -> str:
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return str(size)
