"""``iommu-spec profiles | semantics | rules | difftest``."""

import argparse
import json
import sys

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


def semantics_main(argv: list[str]) -> int:
    args = _parser("semantics", "The semantic variants and every point where they differ.").parse_args(argv)
    points = ["exists_errno", "map_zero_size", "partial_unmap", "replace_table",
              "unmap_slots", "per_table_batches", "map_over_live", "hole_in_table",
              "unmap_range_checked", "range_check", "prot_first", "tables"]
    rows = []
    for s in SEMANTICS.values():
        row = {"name": s.name}
        for pt in points:
            v = getattr(s, pt)
            if pt == "exists_errno":
                v = errno_name(-v) if v else "-"
            elif pt == "map_zero_size":
                v = errno_name(v)
            row[pt] = v
        row["versions"] = s.versions or "-"
        row["source"] = s.source
        rows.append(row)
    if args.json:
        json.dump([{**r, "differences": SEMANTICS[r["name"]].differences} for r in rows],
                  sys.stdout, indent=2)
        print()
    else:
        print(tabulate(rows, headers="keys"))
    return 0


def rules_main(argv: list[str]) -> int:
    args = _parser("rules", "The named rules of the model.").parse_args(argv)
    rows = [{"rule": r.name + (" (Linux defect)" if r.defect else ""), "states": r.summary,
             "source": r.source} for r in RULES.values()]
    if args.json:
        json.dump([{"rule": r.name, "defect": bool(r.defect), "states": r.summary,
                    "source": r.source, "doc": r.doc.strip()} for r in RULES.values()],
                  sys.stdout, indent=2)
        print()
    else:
        print(tabulate(rows, headers="keys", maxcolwidths=[None, 70, 50]))
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
