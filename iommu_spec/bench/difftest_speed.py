"""State-machine steps per second, per implementation, in lockstep with the model.

Each implementation runs on one profile it supports (intel-vtd, else
arm-lpae-4k, else its first) for a fixed, deterministic number of examples;
a step is one API call made on both sides and compared.
"""

import time

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test
from tabulate import tabulate

from difftest import build_machine, stats
from impls import IMPLEMENTATIONS
from spec import PROFILES

PREFERRED = ["intel-vtd", "arm-lpae-4k"]


def profile_for(cls) -> str:
    ok = [p for p in PREFERRED + list(PROFILES) if not hasattr(cls, "supports") or cls.supports(p)]
    return ok[0]


def steps_per_second(factory, profile: str, examples: int = 20, label: str | None = None) -> tuple[int, float]:
    """(steps, steps per second) for ``examples`` derandomized examples of the machine."""
    machine = build_machine(factory, profile, label=label)
    key_before = dict(stats.STATS)
    t0 = time.perf_counter()
    run_state_machine_as_test(machine, settings=settings(
        settings.get_profile("ci"), max_examples=examples, stateful_step_count=30))
    elapsed = time.perf_counter() - t0
    steps = sum(v["steps"] for k, v in stats.STATS.items()) - sum(v["steps"] for v in key_before.values())
    return steps, steps / elapsed


def rows(examples: int = 20) -> list[list]:
    out = []
    for name, cls in IMPLEMENTATIONS.items():
        profile = profile_for(cls)
        steps, rate = steps_per_second(cls, profile, examples)
        out.append([name, profile, "in-process", steps, f"{rate:,.0f}"])
    return out


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m iommu_spec.bench difftest", description=__doc__.split("\n\n")[0])
    p.add_argument("--examples", type=int, default=20)
    args = p.parse_args(argv)
    print("Difftest throughput (state-machine steps per second, model + implementation)\n")
    print(tabulate(rows(args.examples), headers=["implementation", "profile", "mode", "steps", "steps/s"]))
    return 0
