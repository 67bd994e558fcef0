"""State-machine steps per second beside the ceiling: the same calls with no checks.

For each implementation, in one run:

* **state machine**: ``examples`` derandomized examples of ``--steps`` steps
  (default: the CI settings, 40 x 40) of difftest's machine, every call compared;
* **ceiling**: the very calls those examples made (their call logs), replayed
  on a fresh model and a fresh implementation with nothing drawn and nothing
  compared;
* the **ratio** of the two.

In-process for every implementation in ``impls``; through protocol v1 for
examples/c-radix (built with ``cc``) and, with ``--kernel-src TREE``, Linux's
own io-pgtable-arm (lpae-s1) from that tree.  A step is one API call made on
both sides.  Figures are printed, never asserted.
"""

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test
from tabulate import tabulate

from iommu_spec.bench import BenchParser, positive

from difftest import build_machine
from difftest.machine import NEVER
from impls import IMPLEMENTATIONS
from spec import PROFILES, ReferenceDomain

PREFERRED = ["intel-vtd", "arm-lpae-4k"]
ROOT = Path(__file__).resolve().parents[2]
#: The calls of a log that are made on the model too; the rest go to the implementation only.
BOTH = {"map", "unmap", "map_sg", "iova_to_phys", "map_pages", "unmap_pages", "unmap_fast"}


def profile_for(cls) -> str:
    ok = [p for p in PREFERRED + list(PROFILES) if not hasattr(cls, "supports") or cls.supports(p)]
    return ok[0]


def _recording(machine_class, logs: list):
    """``machine_class``, keeping each finished example's call log in ``logs``."""
    class Recording(machine_class):
        def teardown(self):
            try:
                super().teardown()
            finally:
                logs.append((self.calls, self.spec.semantics.name, self.spec.core))
    Recording.__name__ = Recording.__qualname__ = "DiffMachine"
    return Recording


def run_machine(factory, profile: str, examples: int, steps: int, label: str | None = None,
                **machine_options) -> tuple[int, float, list]:
    """(steps made, seconds, call logs) of ``examples`` derandomized examples of the machine;
    ``machine_options`` go to ``difftest.build_machine``."""
    logs: list = []
    machine = _recording(build_machine(factory, profile, label=label, **machine_options), logs)
    t0 = time.perf_counter()
    run_state_machine_as_test(machine, settings=settings(
        settings.get_profile("ci"), max_examples=examples, stateful_step_count=steps))
    elapsed = time.perf_counter() - t0
    made = sum(1 for calls, _, _ in logs for c in calls if c.kind == "both")
    return made, elapsed, logs


def replay(factory, profile: str, logs: list) -> tuple[int, float]:
    """(steps, seconds) of the logged calls made again on fresh model + implementation, unchecked."""
    made, total = 0, 0.0
    for calls, semantics, core in logs:
        t0 = time.perf_counter()
        impl = factory(profile, semantics)
        spec = ReferenceDomain(profile, semantics, pgsize_bitmap=impl.pgsize_bitmap, core=core)
        for call in calls:
            if call.kind == "both":
                getattr(spec, "unmap" if call.op == "unmap_fast" else call.op)(**call.args)
                getattr(impl, call.op)(**call.args)
                impl.take_tlb_commands()
                made += 1
            elif call.kind == "setup" and call.op == "fail_alloc":
                impl.fail_alloc(**call.args)
                if call.args["after"] < NEVER:
                    spec.fail_alloc(**call.args)
                else:
                    spec.alloc_fail_in = None
            elif call.kind == "impl" and call.op != "domain_free":
                getattr(impl, call.op)(**call.args)
                impl.take_tlb_commands()
            elif call.kind == "restart":
                _close(impl)
                impl = factory(profile, semantics)
                spec = ReferenceDomain(profile, semantics, pgsize_bitmap=impl.pgsize_bitmap, core=core)
        _close(impl)
        total += time.perf_counter() - t0
    return made, total


def _close(impl) -> None:
    close = getattr(impl, "close", None)
    if close is not None:
        close()


def measure(name: str, mode: str, factory, profile: str, examples: int, steps: int,
            **machine_options) -> dict:
    """One row: the machine's steps/s, the ceiling's, and their ratio."""
    made, seconds, logs = run_machine(factory, profile, examples, steps, label=name,
                                      **machine_options)
    replayed, replay_seconds = replay(factory, profile, logs)
    rate = made / seconds if seconds else 0.0
    ceiling = replayed / replay_seconds if replay_seconds else 0.0
    return {"implementation": name, "profile": profile, "mode": mode, "steps": made,
            "steps_per_s": round(rate), "ceiling_steps_per_s": round(ceiling),
            "ratio": round(rate / ceiling, 3) if ceiling else None}


def c_radix(directory: str) -> str | None:
    """examples/c-radix built into ``directory``, or None without a C compiler."""
    cc = shutil.which("cc")
    if cc is None:
        return None
    exe = Path(directory) / "radix"
    subprocess.run([cc, "-O2", "-o", str(exe), str(ROOT / "examples" / "c-radix" / "radix.c")],
                   check=True)
    return str(exe)


def rows(examples: int, steps: int, kernel_src: str | None = None,
         only: list[str] | None = None) -> list[dict]:
    from difftest.external import ExternalFactory
    out = []
    for name, cls in IMPLEMENTATIONS.items():
        if only and name not in only:
            continue
        out.append(measure(name, "in-process", cls, profile_for(cls), examples, steps))
    with tempfile.TemporaryDirectory() as tmp:
        exe = c_radix(tmp) if not only or "c-radix" in only else None
        if exe is not None:
            with ExternalFactory(exe) as factory:
                out.append(measure("c-radix", "protocol", factory, "intel-vtd", examples, steps))
    if kernel_src and (not only or "linux" in only):
        from difftest.inputs import known_set_aside
        from linuxpt.build import build, check_tree, kernel_version
        from linuxpt.formats import semantics_for
        binary = build(kernel_src)
        version = kernel_version(check_tree(kernel_src))[:2]
        label = f"linux-{'.'.join(map(str, kernel_version(check_tree(kernel_src))[:3]))}-lpae-s1"
        with ExternalFactory([str(binary), "--format", "lpae-s1"]) as factory:
            # as the main job's kernel items: the tree's variant, known findings set aside
            out.append(measure(label, "protocol", factory, "arm-lpae-4k", examples, steps,
                               semantics=semantics_for("lpae-s1", version),
                               set_aside=known_set_aside("lpae-s1", version), driver_contract=True))
    return out


HEADERS = ["implementation", "profile", "mode", "steps", "steps/s", "ceiling steps/s", "ratio"]


def table(data: list[dict]) -> str:
    return tabulate([[r["implementation"], r["profile"], r["mode"], r["steps"],
                      f"{r['steps_per_s']:,}", f"{r['ceiling_steps_per_s']:,}",
                      f"{r['ratio']:.0%}" if r["ratio"] is not None else "n/a"] for r in data],
                    headers=HEADERS)


def main(argv=None) -> int:
    p = BenchParser("bench difftest", prog="python -m iommu_spec.bench difftest",
                    description=__doc__.split("\n\n")[0])
    ci = settings.get_profile("ci")
    p.add_argument("--examples", type=positive, default=ci.max_examples,
                   help=f"examples per implementation (default {ci.max_examples}, as CI)")
    p.add_argument("--steps", type=positive, default=ci.stateful_step_count,
                   help=f"steps per example (default {ci.stateful_step_count}, as CI)")
    p.add_argument("--kernel-src", help="a Linux tree: also run its io-pgtable-arm through the harness")
    p.add_argument("--only", help="comma list of implementation names (c-radix, linux included)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = p.parse(argv)
    if isinstance(args, int):
        return args
    only = [n for n in (args.only or "").split(",") if n]
    unknown = [n for n in only if n not in IMPLEMENTATIONS and n not in ("c-radix", "linux")]
    if unknown:
        print(f"bench difftest: unknown implementation {', '.join(unknown)}; known: "
              f"{', '.join([*IMPLEMENTATIONS, 'c-radix', 'linux'])}", file=sys.stderr)
        return 2
    if "linux" in only and not args.kernel_src:
        print("bench difftest: --only linux needs --kernel-src TREE (a Linux source tree)",
              file=sys.stderr)
        return 2
    if args.kernel_src:
        from linuxpt.build import KernelTreeError, check_tree
        try:
            check_tree(args.kernel_src)
        except KernelTreeError as exc:
            print(f"bench difftest: {exc}", file=sys.stderr)
            return 2
    from difftest import DiffFailure
    from difftest.external import ExternalError
    from linuxpt.build import KernelTreeError
    try:
        data = rows(args.examples, args.steps, args.kernel_src, only)
    except (KernelTreeError, ExternalError) as exc:
        print(f"bench difftest: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    except DiffFailure as failure:  # a finding, not a figure: say it, and fail
        print(f"bench difftest: the state machine failed, so there is no figure:\n{failure}",
              file=sys.stderr)
        return 1
    if not data:  # only c-radix asked for, and no C compiler to build it
        print("bench difftest: nothing was measured: c-radix needs a C compiler (`cc`)",
              file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(data, indent=1))
        return 0
    print(f"Difftest throughput: state machine vs ceiling (the same calls, replayed unchecked); "
          f"{args.examples} examples x {args.steps} steps each\n")
    print(table(data))
    return 0
