"""Time to catch: how long the state machine takes to find each planted bug of tests/mutants.py.

For each mutant and each of ``--seeds`` seeds (0, 1, ...), the machine runs
with the CI settings (40 steps per example) but random rather than
derandomized generation from that seed, until the first failure: the time to
catch.  Then one more run per mutant (seed 0) shrinks it, and the table gives
the rule the shrunk report names and its number of calls.  A mutant not
caught within ``--max-examples`` examples counts as not caught.  Needs a
checkout (tests/mutants.py is not installed): run it from the repository's root.
"""

import json
import re
import statistics
import sys
import time

from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from tabulate import tabulate

from iommu_spec.bench import BenchParser, positive

from difftest import DiffFailure, build_machine

#: The mutants of tests/mutants.py and the profile each is checked on (as tests/test_mutants.py).
MUTANTS = [("NoRollback", "intel-vtd"), ("NoRollback", "arm-lpae-4k"),
           ("StaleAfterUnmap", "intel-vtd"), ("WrongRollbackSize", "intel-vtd"),
           ("SplitWrongRemainder", "arm-lpae-4k"), ("GatherMergesDisjoint", "intel-vtd"),
           ("LeakOnFree", "arm-lpae-4k")]


def _settings(max_examples: int, shrink: bool) -> settings:
    phases = [Phase.generate, Phase.shrink] if shrink else [Phase.generate]
    return settings(settings.get_profile("ci"), derandomize=False, database=None,
                    max_examples=max_examples, phases=phases)


def catch(cls, profile: str, seed: int, max_examples: int, shrink: bool = False):
    """(seconds, report or None) of one run of the machine from ``seed``."""
    machine = build_machine(cls, profile)
    machine._hypothesis_internal_use_seed = seed
    t0 = time.perf_counter()
    try:
        run_state_machine_as_test(machine, settings=_settings(max_examples, shrink))
    except DiffFailure as failure:
        return time.perf_counter() - t0, str(failure)
    return time.perf_counter() - t0, None


def reproducer_calls(report: str) -> int:
    """Calls in a report's reproducer (as tests/test_mutants.py counts them)."""
    return len(re.findall(r"^        (?:assert impl\.|impl\.|iotlb_fill)", report, re.M))


def rows(seeds: int, max_examples: int) -> list[dict]:
    try:
        from tests import mutants
    except ImportError:
        raise SystemExit("bench mutants: tests/mutants.py is not importable: run from the "
                         "repository's root (python -m iommu_spec.bench mutants)") from None
    out = []
    for name, profile in MUTANTS:
        cls = getattr(mutants, name)
        times, missed = [], 0
        for seed in range(seeds):
            seconds, report = catch(cls, profile, seed, max_examples)
            if report is None:
                missed += 1
            else:
                times.append(seconds)
        _, shrunk = catch(cls, profile, 0, max_examples, shrink=True)
        rule = re.search(r"violates (\w+)", shrunk).group(1) if shrunk and "violates" in shrunk else None
        out.append({"mutant": name, "profile": profile, "seeds": seeds, "caught": len(times),
                    "median_s": round(statistics.median(times), 2) if times else None,
                    "max_s": round(max(times), 2) if times else None,
                    "rule": rule, "reproducer_calls": reproducer_calls(shrunk) if shrunk else None})
    return out


def table(data: list[dict]) -> str:
    return tabulate([[r["mutant"], r["profile"], f"{r['caught']}/{r['seeds']}",
                      r["median_s"] if r["median_s"] is not None else "-",
                      r["max_s"] if r["max_s"] is not None else "-",
                      r["rule"] or "-",
                      "-" if r["reproducer_calls"] is None else r["reproducer_calls"]]
                     for r in data],
                    headers=["mutant", "profile", "caught", "median s", "max s", "rule (shrunk)",
                             "reproducer calls"])


def main(argv=None) -> int:
    p = BenchParser("bench mutants", prog="python -m iommu_spec.bench mutants",
                    description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=positive, default=5, help="seeds per mutant (default 5)")
    p.add_argument("--max-examples", type=positive, default=1000,
                   help="examples before a seed counts as not caught (default 1000)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = p.parse(argv)
    if isinstance(args, int):
        return args
    try:
        data = rows(args.seeds, args.max_examples)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(data, indent=1))
        return 0
    print(f"Time to catch each planted bug (tests/mutants.py): {args.seeds} seeds, CI settings "
          f"({settings.get_profile('ci').stateful_step_count} steps per example), random "
          f"generation, first failure; then one shrunk run\n")
    print(table(data))
    return 0
