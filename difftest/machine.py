"""The lockstep state machine: the model and one implementation, call by call.

``build_machine(factory, profile, semantics)`` returns a Hypothesis
``RuleBasedStateMachine`` class.  Each rule draws one API call, makes it on
both the reference model and the implementation, and then compares the
return values, the translation state (as maximal runs, not pages), the
page-table leaves, the tables and the IOTLB.  A step compares only the
window it touched (its IOVA range widened to the largest leaf the model had
or has there, see :func:`window_of`); every :data:`FULL_EVERY` comparisons
and at teardown the whole state is compared.  The first difference raises :class:`DiffFailure`,
whose message is the failure report (see :mod:`difftest.report`); Hypothesis
then shrinks the call sequence.
"""

import functools
import inspect
import os
import zlib

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from tabulate import tabulate

from spec import (RULES, Iotlb, ReferenceDomain, canonical_leaves, clip_leaves, get_profile,
                  greedy_leaves, iotlb_fill, iotlb_stale, translations_of)
from spec import rules as R
from spec.errors import ENOMEM
from spec.leafmap import LeafMap, LeafRun

from . import stats, strategies as S
from .inputs import classes_of
from .settings import ENV_DB
from .external import ExternalError, ExternalTimeout
from .report import Call, Failure, Text, hx, render, state_table


#: fail_alloc(NEVER) disarms fault injection (protocol v1 has no separate disarm).
NEVER = (1 << 62) - 1

#: Most leaves one generated map may need: keeps every implementation's work per
#: step small (a misaligned 4 GiB buffer would otherwise be a million 4K pages).
MAX_LEAVES_PER_MAP = 256


#: Every this many comparisons, and at teardown, the whole state is compared, not a window.
FULL_EVERY = 8


def call_range(op: str, args: dict, page: int) -> tuple[int, int] | None:
    """The IOVA range ``[iova, end)`` a call names, or None; a map_sg's is the most its entries
    can fill, each rounded up to ``page`` bytes (the smallest page size)."""
    iova = args.get("iova")
    if iova is None:
        return None
    if op in ("map_pages", "unmap_pages"):
        size = args["pgsize"] * args["pgcount"]
    elif op == "map_sg":
        size = sum(-(-(offset + length) // page) * page for _, offset, length in args["sg"])
    else:
        size = args.get("size", 1)
    return iova, iova + max(size, 1)


def window_of(span: tuple[int, int] | None, align: int, top: int) -> tuple[int, int] | None:
    """The IOVA window ``[lo, hi)`` a call can change, or None for "compare everything".

    ``span`` is the call's range (:func:`call_range`), widened to ``align``:
    the largest leaf the model had or has in that range, so a split or a
    replaced block is inside (the state machine passes it).  A range that
    leaves [0, ``top``) (``top`` = 2^ias) gives None: an implementation that
    wraps or truncates the IOVA writes somewhere else, and only a full
    comparison sees where.
    """
    if span is None or span[1] > top:
        return None
    iova, end = span
    return iova - iova % align, min(top, -(-end // align) * align)


def clip_translations(translations, lo: int, hi: int) -> list[tuple[int, int, int, int]]:
    """The part of each translation ``(iova, paddr, size, prot)`` inside [lo, hi), byte-exact."""
    out = []
    for iova, paddr, size, prot in translations:
        start, end = max(iova, lo), min(iova + size, hi)
        if start < end:
            out.append((start, paddr + start - iova, end - start, prot))
    return out


def _step_rule(op: str, needs: frozenset[str]):
    """The Hypothesis rule of step ``op``: enabled when the implementation offers ``needs``."""
    def run(self, data):
        getattr(self, op)(data.draw(self.plans[op]))
    run.__name__ = run.__qualname__ = f"step_{op}"
    run = rule(data=st.data())(run)
    return precondition(lambda self: needs <= self.ops)(run) if needs else run


#: An implementation's leaves/tables function -> whether it takes a range (DiffMachine.ranged).
_RANGED: dict = {}


def _takes_range(method) -> bool:
    """True when ``method(iova, end)`` is accepted: an implementation's ranged leaves/tables."""
    try:
        inspect.signature(method).bind(0, 1)
    except (TypeError, ValueError):
        return False
    return True


class DiffFailure(AssertionError):
    """The implementation disagreed with the spec, or crashed; the message is the full report."""


def step(rule_function):
    """A state-machine step: marks where its requests start, and turns a protocol failure into a report.

    An external implementation's crash, malformed reply or hang can surface
    in any request of the step (the call itself, a dump, iova_to_phys
    probes); it is reported as what it is, never as the step's spec rule.
    """
    @functools.wraps(rule_function)
    def run(self, *args, **kwargs):
        self.step_start = self.requests_made()
        try:
            return rule_function(self, *args, **kwargs)
        except (ExternalError, ExternalTimeout) as exc:
            error = exc
        self.fail_external(error)  # outside the handler: no chained traceback
    return run


def _defect_in(rules: list[str]) -> str | None:
    """The first Linux defect rule (spec ``Rule.defect``) among ``rules``, or None."""
    return next((name for name in rules if RULES[name].defect), None)


#: The rule named when the spec recorded none for a call.
DEFAULT_RULE = {"map": "MAP_PAGES_INSTALL", "unmap": "UNMAP_LEAVES", "map_sg": "MAP_SG_COALESCE",
                "iova_to_phys": "IOVA_TO_PHYS", "map_pages": "MAP_PAGES_INSTALL",
                "unmap_pages": "UNMAP_LEAVES"}


def _ctor_source(factory, profile_name: str, semantics_name: str) -> tuple[str, str]:
    from impls import IMPLEMENTATIONS
    for name, cls in IMPLEMENTATIONS.items():
        if cls is factory:
            return (f"IMPLEMENTATIONS[{name!r}]({profile_name!r}, {semantics_name!r})",
                    "from impls import IMPLEMENTATIONS")
    module = getattr(factory, "__module__", "your_module")
    qual = getattr(factory, "__qualname__", "make_implementation")
    return f"{module}.{qual}({profile_name!r}, {semantics_name!r})", f"import {module}"


def build_machine(factory, profile, semantics: str | None = None, label: str | None = None,
                  set_aside: frozenset[str] = frozenset(), driver_contract: bool = False):
    """A RuleBasedStateMachine class driving ``factory(profile_name, semantics_name)`` against the spec.

    ``factory`` builds a fresh implementation (an :class:`impls.Implementation`
    or anything with the same methods); ``profile`` is a Profile or its name;
    ``semantics`` a variant name, default: the implementation's own choice.
    ``set_aside`` names input classes (:mod:`difftest.inputs`) whose calls are
    dropped; ``driver_contract`` keeps direct driver calls within what Linux's
    core ever passes (page sizes of the domain's bitmap only), as for outside
    implementations.
    """
    profile = get_profile(profile) if isinstance(profile, str) else profile

    class DiffMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.step_start = 0
            self.impl = factory(profile.name, semantics)
            self.sem = self.impl.semantics
            self.spec = ReferenceDomain(profile, self.sem, pgsize_bitmap=self.impl.pgsize_bitmap,
                                        core=getattr(self.impl, "core", "map_pages"))
            self.space = S.Space(profile, self.impl.pgsize_bitmap)
            self.tlb = Iotlb().bind(self.space.min_page)
            self.ops = frozenset(getattr(self.impl, "ops", ()))
            self.calls: list[Call] = []
            self.key = (label or getattr(self.impl, "name", "?"), profile.name, self.sem.name)
            self.compares = 0  # comparisons made: every FULL_EVERY-th is of the whole state
            self.window_check = True  # the check running now looks at one call's window only
            self.dirty: tuple[int, int] | None = None  # the IOVA hull changed since the IOTLB check
            self.full_tlb = False  # a change with no window since the last IOTLB check
            self.plans = {op: S.plans(self.space, op, driver_contract) for op in S.STEPS}
            self.target = (f"implementation {self.key[0]!r} on profile {profile.name} "
                           f"(semantics {self.sem.name}, pgsize_bitmap "
                           f"{self.impl.pgsize_bitmap:#x})")
            stats.record(self.key, examples=1)

        # -- lockstep -----------------------------------------------------------------
        def requests_made(self) -> int:
            """Requests sent so far to an external implementation's process (0 in-process)."""
            process = getattr(getattr(self, "impl", None), "process", None)
            return getattr(process, "requests", 0)

        def call_impl(self, call: Call, rule_name: str):
            """Make ``call`` on the implementation; a crash is a finding, not a traceback."""
            try:
                call.impl_ret = getattr(self.impl, call.op)(**call.args)
            except (ExternalError, ExternalTimeout):
                call.impl_ret = Text("no reply")
                raise  # reported by @step as what it is
            except Exception as exc:
                error = exc
            else:
                return call.impl_ret
            call.impl_ret = Text(f"raised {type(error).__name__}")
            self.fail(rule_name, "behaviour", f"{type(error).__name__}: {error}",
                      headline=f"the implementation raised {type(error).__name__}: {error} "
                               f"on {call.pretty()}")

        def take_invalidations(self, rule_name: str) -> list:
            try:
                commands = list(self.impl.take_tlb_commands())
                self.tlb.apply(commands)
            except Exception as exc:
                self.fail(rule_name, "behaviour", f"bad IOTLB invalidation report: {exc}")
            return commands

        def spec_call(self, op: str, args: dict):
            """Make the call on the model: ``(ret, rules)``, or None when its input class is set aside
            (the model is then as before the call)."""
            before = self.spec.copy() if set_aside else None
            ret = getattr(self.spec, op)(**args)
            rules = list(self.spec.decided)
            if before is not None and classes_of(op, args, rules, set_aside):
                self.spec = before
                stats.record(self.key, set_aside=1)
                return None
            return ret, rules

        @staticmethod
        def blame(rules: list[str], default: str) -> str:
            """The rule a difference on this call is reported under: a Linux defect class first."""
            return _defect_in(rules) or (rules[0] if rules else default)

        def do(self, op: str, check_tlb: bool = True, **args):
            before = self.spec.fingerprint(), self.pte_writes()
            span = call_range(op, args, self.space.min_page)
            align = self.leaf_span(span)
            made = self.spec_call(op, args)
            if made is None:
                return None
            spec_ret, rules = made
            first = self.blame(rules, DEFAULT_RULE[op])
            call = Call(op, args, spec_ret, None, rules)
            self.calls.append(call)
            stats.record(self.key, steps=1)
            self.call_impl(call, first)
            commands = self.take_invalidations(first)
            if call.impl_ret != spec_ret:
                self.fail(first, "return value",
                          f"spec returned {spec_ret!r}, implementation {call.impl_ret!r}")
            call.noop = not commands and before == (self.spec.fingerprint(), self.pte_writes())
            last = rules[-1] if rules else DEFAULT_RULE[op]
            if last == "MAP_SG_ROLLBACK" and "MAP_ROLLBACK" in rules:
                # the failing run's own map rolled back part of it first: what is left over
                # is most often that run's pages (MAP_ROLLBACK), not an earlier run's
                last = "MAP_ROLLBACK"
            self.compare_state(first if RULES[first].defect else last, self.touch(span, align))
            if check_tlb:
                self.check_tlb(commands)
            return spec_ret

        def pte_writes(self) -> int | None:
            counters = getattr(self.impl, "counters", None)
            return getattr(counters, "pte_writes", None)

        def leaf_span(self, span: tuple[int, int] | None) -> int:
            """The largest leaf the model has in ``span`` (at least the smallest page size)."""
            if span is None:
                return self.space.min_page
            runs = self.spec.state.overlapping(*span)
            return max([self.space.min_page, *(run.pgsize for run in runs)])

        def touch(self, span: tuple[int, int] | None, align: int) -> tuple[int, int] | None:
            """The window of a call made on both sides, over ``span`` (:func:`call_range`;
            ``align``: the largest leaf there before the call); it also widens what the IOTLB
            check looks at."""
            align = max(align, self.leaf_span(span))
            window = window_of(span, align, self.space.top)
            if window is None:
                self.full_tlb = True
            elif self.dirty is None:
                self.dirty = window
            else:
                self.dirty = (min(self.dirty[0], window[0]), max(self.dirty[1], window[1]))
            return window

        def check_tlb(self, commands) -> None:
            """No IOTLB entry may be stale: those in the window changed since the last check."""
            dirty, full = self.dirty, self.full_tlb or self.compares % FULL_EVERY == 0
            self.dirty, self.full_tlb = None, False
            self.window_check = not full
            if full:
                stale = iotlb_stale(self.spec, self.tlb)
            elif dirty is None:
                return
            else:
                stale = iotlb_stale(self.spec, self.tlb, *dirty)
            if stale:
                rows = [(hx(s.iova), hx(s.cached), hx(s.current) if s.current else "unmapped")
                        for s in stale[:10]]
                issued = ", ".join(
                    "(" + ", ".join(repr(c) if isinstance(c, str) else f"{c:#x}" for c in cmd) + ")"
                    for cmd in commands) or "none"
                self.fail(_defect_in(self.calls[-1].rules if self.calls else []) or "IOTLB_STALE",
                          "IOTLB",
                          tabulate(rows, headers=["cached iova", "cached paddr", "page table now"])
                          + f"\ninvalidations issued by the last call: {issued}")

        def compare_state(self, rule_name: str, window: tuple[int, int] | None = None) -> None:
            """Compare translations, leaves and tables: in ``window`` (``[lo, hi)``), or everywhere
            when it is None and on every FULL_EVERY-th comparison."""
            self.compares += 1
            if self.compares % FULL_EVERY == 0:
                window = None
            # a difference only a whole comparison sees may come from any earlier call:
            # then the reproducer keeps every call (see report)
            self.window_check = window is not None
            impl_leaves = self.impl_leaves(window)
            if impl_leaves is None:  # no dump: probe translations instead
                return self.probe(rule_name)
            if window is None:
                impl_leaves = canonical_leaves(impl_leaves)
                spec_leaves = self.spec.leaves()
            else:
                impl_leaves = clip_leaves(impl_leaves, *window)
                spec_leaves = self.spec.leaves(*window)
            view = getattr(self.impl, "recorded_prot", None)
            if view is not None:  # what the implementation's descriptors can record of prot
                spec_leaves = canonical_leaves((i, p, g, c, view(r)) for i, p, g, c, r in spec_leaves)
            spec_tr = translations_of(spec_leaves)
            impl_tr = translations_of(impl_leaves)
            if window is not None:  # leaves are whole; translations only inside the window
                spec_tr = clip_translations(spec_tr, *window)
                impl_tr = clip_translations(impl_tr, *window)
            if spec_tr != impl_tr:
                self.fail(rule_name, "translation state",
                          state_table([tuple(t) for t in spec_tr], [tuple(t) for t in impl_tr],
                                      ["iova", "paddr", "size", "prot"]))
            if list(map(tuple, spec_leaves)) != list(map(tuple, impl_leaves)):
                self.fail("PGSIZE_SELECT" if rule_name == "MAP_PAGES_INSTALL" else rule_name,
                          "leaves (page sizes)",
                          state_table([tuple(x) for x in spec_leaves], [tuple(x) for x in impl_leaves],
                                      ["iova", "paddr", "pgsize", "count", "prot"]))
            self.compare_tables(rule_name, window)

        def ranged(self, what: str) -> bool:
            """Does the implementation take ``leaves(iova, end)`` / ``tables(iova, end)``?  Asked
            once per function."""
            method = getattr(self.impl, what, None)
            if not callable(method):
                return False
            key = getattr(method, "__func__", type(method))
            if key not in _RANGED:
                _RANGED[key] = _takes_range(method)
            return _RANGED[key]

        def impl_leaves(self, window):
            """The implementation's leaves: ranged where it takes ``leaves(iova, end)``."""
            if window is not None and self.ranged("leaves"):
                return self.impl.leaves(*window)
            return self.impl.leaves()

        def compare_tables(self, rule_name: str, window: tuple[int, int] | None = None) -> None:
            """Where both track them, the tables below the root must be the same (TABLE_LIFETIME)."""
            spec_tables = self.spec.table_listing(*(window or ()))
            impl_tables = getattr(self.impl, "tables", None)
            if spec_tables is None or not callable(impl_tables):
                return
            ranged = window is not None and self.ranged("tables")
            impl_tables = impl_tables(*window) if ranged else impl_tables()
            if impl_tables is None:
                return
            impl_tables = sorted(map(tuple, impl_tables))
            if window is not None:
                lo, hi = window
                impl_tables = [t for t in impl_tables if t[0] < hi and t[0] + t[1] > lo]
            if spec_tables != impl_tables:
                self.fail(rule_name if RULES[rule_name].defect else "TABLE_LIFETIME", "tables",
                          state_table(spec_tables, impl_tables, ["iova", "span"]))

        def probe(self, rule_name: str) -> None:
            """Compare iova_to_phys at the edges of every live run and of the last call's range."""
            points = set()
            for run in self.spec.leaves()[:64]:
                points.update((run.iova, run.end - 1, run.iova - 1, run.end))
            last = self.calls[-1].args if self.calls else {}
            if "iova" in last:
                points.update((last["iova"], last["iova"] + last.get("size", 1) - 1))
            for iova in sorted(p for p in points if 0 <= p < 1 << 64):
                want = R.iova_to_phys.fn(self.spec, iova)
                try:
                    got = self.impl.iova_to_phys(iova)
                except (ExternalError, ExternalTimeout):
                    raise
                except Exception as exc:
                    got = f"raised {exc!r}"
                if got != want:
                    self.fail(rule_name, "translation state",
                              f"iova_to_phys({hx(iova)}): spec {hx(want)}, implementation "
                              f"{got if isinstance(got, str) else hx(got)}")

        def fail_external(self, error) -> None:
            """Report a crash, hang or protocol failure of an external implementation as such."""
            if isinstance(error, ExternalTimeout):  # not shrunk: each replay would hang again
                self.failed = True
                raise ExternalTimeout(self.report(None, "hang", str(error),
                                                  headline=error.headline()),
                                      what=error.what, request=error.request)
            self.fail(None, error.kind, str(error), headline=error.headline())

        def fail(self, rule_name: str | None, what: str, details: str, headline: str | None = None):
            """Stop with the failure report: ``rule_name`` violated (or ``headline``: what went wrong)."""
            self.failed = True  # teardown then only cleans up, so one failure is reported once
            raise DiffFailure(self.report(rule_name, what, details, headline))

        def driver_calls(self) -> list[str] | None:
            """The driver requests of the failing step and their replies (driver-only implementations)."""
            process = getattr(self.impl, "process", None)
            if getattr(self.impl, "linux_core", None) is None or process is None:
                return None
            return [e.text() for e in process.exchanges_since(self.step_start)]

        def report(self, rule_name: str | None, what: str, details: str,
                   headline: str | None = None) -> str:
            impl_ctor, imports = _ctor_source(factory, profile.name, self.sem.name)
            spec_ctor = repr(self.spec)
            if headline is not None:
                check = f"# {headline}"
            elif what == "IOTLB":
                check = "assert iotlb_stale(spec, tlb) is None"
            elif what == "leaves (page sizes)":
                check = "assert canonical_leaves(impl.leaves()) == spec.leaves()"
            elif what == "table pages":
                check = "assert impl.domain_free() == 0"
            else:
                check = "assert translations_of(canonical_leaves(impl.leaves())) == spec.translations()"
            calls = self.calls
            if self.window_check or what not in ("translation state", "leaves (page sizes)",
                                                 "tables", "IOTLB"):
                calls = [c for c in calls[:-1] if not c.noop] + calls[-1:]
            return render(self.target, Failure(rule_name, what, details, headline), calls,
                          impl_ctor, spec_ctor, check, imports, driver_calls=self.driver_calls(),
                          left_out=len(self.calls) - len(calls))

        def some_run(self, raw: int) -> LeafRun:
            """The live run a plan's raw index picks (``raw % runs``), or (when nothing is
            mapped) a one-page stand-in at a low IOVA.

            Steps never depend on preconditions about the state: a precondition
            that flips when an earlier step is deleted changes which step later
            choices select, and the shrinker could then not delete steps.
            """
            state = self.spec.state
            if len(state):
                return state.nth(raw % len(state))
            iova = raw % 32 * self.space.min_page
            return LeafRun(iova, iova, self.space.min_page, 1, 1)

        def bounded(self, iova: int, paddr: int, size: int) -> int:
            """size, cut down so the greedy tiling needs at most MAX_LEAVES_PER_MAP leaves."""
            m = self.space.min_page
            if size and not (iova | paddr | size) % m and \
                    greedy_leaves(self.space.pgsize_bitmap, iova, paddr, size) > MAX_LEAVES_PER_MAP:
                return MAX_LEAVES_PER_MAP * m
            return size

        def paddr(self, plan: dict, iova: int) -> int:
            return S.paddr_for(self.space, plan["paddr"], iova)

        # -- steps ------------------------------------------------------------------------
        # One Hypothesis rule per step (made below the class): its only draw is the step's
        # whole plan (difftest.strategies.STEPS), which the step resolves against the state.

        @step
        def map(self, plan):
            iova = plan["iova"]
            paddr = self.paddr(plan, iova)
            self.do("map", iova=iova, paddr=paddr, size=self.bounded(iova, paddr, plan["size"]),
                    prot=plan["prot"])

        @step
        def map_over_live(self, plan):
            run = self.some_run(plan["run"])
            m = self.space.min_page
            iova = run.iova + plan["pages_before"] * m + plan["leaf"] % run.count * run.pgsize
            iova = self.space.clamp(iova, self.space.top)
            paddr = self.paddr(plan, iova)
            self.do("map", iova=iova, paddr=paddr, size=self.bounded(iova, paddr, plan["size"]),
                    prot=plan["prot"])

        @step
        def unmap(self, plan):
            m = self.space.min_page
            if "how" not in plan or not len(self.spec.state):
                self.do("unmap", iova=plan.get("iova", plan.get("run", 0) % 32 * m),
                        size=plan.get("size", m))
                return
            run = self.some_run(plan["run"])
            leaf = run.iova + plan["leaf"] % run.count * run.pgsize
            how = plan["how"]
            if how == "run":
                iova, size = run.iova, run.size
            elif how == "leaf":
                iova, size = leaf, run.pgsize
            elif how == "part":  # the start of a leaf, not all of it
                iova, size = leaf, plan["pages"] * m
            elif how == "inside":  # starts inside a leaf
                iova = leaf + plan["offset"] % (run.pgsize // m) * m
                size = plan["pages"] * m
            else:  # across holes and into neighbours (a size_t: below 2^64)
                iova, size = leaf, min(plan["size"] + run.size, (1 << 64) - m)
            if plan["used"]:
                self.access(leaf)
                if how in ("part", "inside") and run.pgsize > m:
                    # the leaf's last page too: a driver that removes the whole leaf must
                    # invalidate all of it, not just the part asked for (ee6e69d03255)
                    self.access(leaf + run.pgsize - m)
            self.do("unmap", iova=iova, size=size)

        @step
        def map_sg(self, plan):
            self.do("map_sg", iova=plan["iova"], sg=plan["sg"], prot=plan["prot"])

        @step
        def iova_to_phys(self, plan):
            if "run" in plan and len(self.spec.state):
                run = self.some_run(plan["run"])
                iova = run.iova + plan["offset"] % run.size
            else:
                iova = plan.get("iova", 0) + plan["offset"] % self.space.min_page
            self.do("iova_to_phys", iova=iova)

        @step
        def bad_map(self, plan):
            m = self.space.min_page
            iova, size, prot, how = plan["iova"], plan["size"], plan["prot"], plan["how"]
            paddr = self.paddr(plan, iova)
            if how == "misaligned" and m > 1:
                which, delta = plan["which"], plan["delta"]
                if which == "size":  # the v7.1 core maps the pages that fit before the tail fails
                    size = self.bounded(iova, paddr, size)
                iova, paddr, size = (iova + delta * (which == "iova"), paddr + delta * (which == "paddr"),
                                     size + delta * (which == "size"))
            elif how == "zero":
                size = 0
            elif how == "beyond_ias":  # with a 64-bit ias (virtio), the last pages below 2^64
                iova = min(self.space.top - m * plan["k"], (1 << 64) - m)
                size = max(size, 3 * m)
            elif how == "wrap":
                iova = (1 << 64) - m * plan["k"]
                size = max(size, 3 * m)
            elif how == "paddr_beyond_oas":
                paddr = (1 << self.space.profile.oas) - m
                size = max(size, 2 * m)
            if how in ("beyond_ias", "wrap", "paddr_beyond_oas", "prot"):
                # a driver that checks no range (the legacy AMD v1 table), or no prot
                # (virtio-iommu), maps it all, page by page
                size = self.bounded(iova, paddr, size)
            self.do("map", iova=iova, paddr=paddr, size=size, prot=prot)

        @step
        def bad_unmap(self, plan):
            m = self.space.min_page
            iova, size, how = plan["iova"], plan["size"], plan["how"]
            if how == "misaligned" and m > 1:
                if plan["which"] == "iova":
                    iova += plan["delta"]
                else:
                    size += plan["delta"]
            elif how == "zero":
                size = 0
            elif how == "wrap":
                iova = (1 << 64) - m
                size = max(size, 2 * m)
            self.do("unmap", iova=iova, size=size)

        @step
        def map_pages(self, plan):
            pgsize = plan["pgsize"]
            iova = plan["iova"] // pgsize * pgsize
            paddr = self.paddr(plan, iova) // pgsize * pgsize
            pgcount = plan["pgcount"]
            if self.spec.core == "map-v5.15":  # the driver has only ->map: one page per call
                pgcount = 1
            if pgcount * pgsize // self.space.min_page > 4096:
                pgcount = max(1, 4096 * self.space.min_page // pgsize)
            ret = self.do("map_pages", check_tlb=False, iova=iova, paddr=paddr, pgsize=pgsize,
                          pgcount=pgcount, prot=plan["prot"])
            if ret is not None:
                self.sync_map(iova, ret[1])

        def sync_map(self, iova: int, size: int):
            """``iotlb_sync_map`` where the driver has one, as the core calls it after a map; then no
            entry may be stale.  Without one the driver flushed what it had to itself."""
            sync_map = getattr(self.impl, "iotlb_sync_map", None)
            call = None
            if sync_map is not None and size:
                call = Call("iotlb_sync_map", {"iova": iova, "size": size}, 0, None,
                            ["IOTLB_STALE"], kind="impl")
                self.calls.append(call)
                self.call_impl(call, "IOTLB_STALE")
            commands = self.take_invalidations("IOTLB_STALE")
            if call is not None:
                call.noop = not commands and call.impl_ret == 0
            self.check_tlb(commands)

        @step
        def unmap_pages(self, plan):
            run = self.some_run(plan["run"])
            pgsize = plan["pgsize"]
            iova = (run.iova + plan["leaf"] % run.count * run.pgsize) // pgsize * pgsize
            pgcount = plan["pgcount"]
            if self.spec.core == "map-v5.15":  # the driver has only ->unmap: one page per call
                pgcount = 1
            # the core's request is a size_t: it never asks for pgsize * pgcount >= 2^64 (pages
            # of 2^62 on a 64-bit ias, virtio), which a driver's own size_t product wraps
            pgcount = max(1, min(pgcount, ((1 << 64) - 1) // pgsize))
            self.do("unmap_pages", check_tlb=False, iova=iova, pgsize=pgsize, pgcount=pgcount)
            self.sync()

        def sync(self):
            """``iotlb_sync`` on the implementation; afterwards no entry may be stale."""
            if "iotlb_sync" not in self.ops:
                return
            call = Call("iotlb_sync", {}, 0, None, ["IOTLB_STALE"], kind="impl")
            self.calls.append(call)
            self.call_impl(call, "IOTLB_STALE")
            commands = self.take_invalidations("IOTLB_STALE")
            call.noop = not commands  # a sync with nothing gathered
            self.check_tlb(commands)

        @step
        def dma_access(self, plan):
            """A device reads or writes through a live mapping: the IOTLB caches its translation."""
            run = self.some_run(plan["run"])
            self.access(run.iova + plan["offset"] % run.size)

        def access(self, iova: int) -> None:
            iotlb_fill(self.spec, self.tlb, iova)
            self.calls.append(Call("dma_access", {"iova": iova}, kind="dma"))

        @step
        def unmap_fast_then_sync(self, plan):
            """One or two iommu_unmap_fast calls into one gather, then iotlb_sync.

            Stale entries are allowed between the unmaps and the sync, not after it.
            """
            for one in plan["unmaps"]:
                run = self.some_run(one["run"])
                iova = run.iova + one["leaf"] % run.count * run.pgsize
                if one["used"]:
                    self.access(iova)
                size = one["pages"] * self.space.min_page
                span = (iova, iova + size)
                align = self.leaf_span(span)
                made = self.spec_call("unmap", {"iova": iova, "size": size})
                if made is None:
                    continue
                spec_ret, rules = made
                call = Call("unmap_fast", {"iova": iova, "size": size}, spec_ret, None, rules)
                self.calls.append(call)
                stats.record(self.key, steps=1)
                first = self.blame(rules, "UNMAP_LEAVES")
                self.call_impl(call, first)
                self.take_invalidations(first)
                if call.impl_ret != spec_ret:
                    self.fail(first, "return value",
                              f"spec returned {spec_ret!r}, implementation {call.impl_ret!r}")
                self.compare_state(rules[-1] if rules else "UNMAP_LEAVES",
                                   self.touch(span, align))
            self.sync()

        @step
        def map_with_alloc_failure(self, plan):
            """The k-th next page-table allocation fails: the map must roll back to the state before."""
            after, iova, prot = plan["after"], plan["iova"], plan["prot"]
            paddr = self.paddr(plan, iova)
            size = self.bounded(iova, paddr, plan["size"])
            if self.spec.predicts_alloc:  # the model knows the tables: it predicts the failure
                return self.map_failing_alloc(after, iova, paddr, size, prot)
            args = {"iova": iova, "paddr": paddr, "size": size, "prot": prot}
            if set_aside:  # the map's input class, as the model would decide it without a failure
                trial = self.spec.copy()
                trial.map(**args)
                if classes_of("map", args, trial.decided, set_aside):
                    stats.record(self.key, set_aside=1)
                    return
            arm = Call("fail_alloc", {"after": after}, 0, None, [], kind="impl")
            self.calls.append(arm)
            self.call_impl(arm, "MAP_ROLLBACK")
            before = [tuple(r) for r in self.spec.leaves()]
            span = (iova, iova + max(size, 1))
            align = self.leaf_span(span)
            call = Call("map", {"iova": iova, "paddr": paddr, "size": size, "prot": prot},
                        None, None, ["MAP_ROLLBACK"], kind="impl")
            self.calls.append(call)
            self.call_impl(call, "MAP_ROLLBACK")
            self.take_invalidations("MAP_ROLLBACK")
            disarm = Call("fail_alloc", {"after": NEVER}, 0, None, [], kind="impl")
            self.calls.append(disarm)
            self.call_impl(disarm, "MAP_ROLLBACK")
            if call.impl_ret != -ENOMEM:  # no allocation failed: an ordinary map
                call.spec_ret = self.spec.map(iova, paddr, size, prot)
                call.kind, call.rules = "both", list(self.spec.decided)
                if call.impl_ret != call.spec_ret:
                    self.fail(call.rules[0] if call.rules else "MAP_PAGES_INSTALL", "return value",
                              f"spec returned {call.spec_ret!r}, implementation {call.impl_ret!r}")
                self.compare_state(call.rules[-1] if call.rules else "MAP_PAGES_INSTALL",
                                   self.touch(span, align))
                self.check_tlb(())
                return
            self.touch(span, align)
            self.check_rollback(before, iova, size)

        def map_failing_alloc(self, after, iova, paddr, size, prot):
            """fail_alloc(after) on the model and the implementation, then a map compared as any other."""
            self.spec.fail_alloc(after)
            arm = Call("fail_alloc", {"after": after}, None, None, ["MAP_FAIL_ALLOC"], kind="setup")
            self.calls.append(arm)
            self.call_impl(arm, "MAP_FAIL_ALLOC")
            try:
                self.do("map", iova=iova, paddr=paddr, size=size, prot=prot)
            finally:
                self.spec.alloc_fail_in = None
                disarm = Call("fail_alloc", {"after": NEVER}, None, None, [], kind="setup")
                self.calls.append(disarm)
                self.call_impl(disarm, "MAP_FAIL_ALLOC")

        def check_rollback(self, before, iova, size):
            """After -ENOMEM the state is the one before, less the leaves the variant lets go.

            Under MAP_REPLACE_TABLE a block may already have freed a table of
            smaller leaves inside the map's range; under MAP_OVERWRITE a leaf
            inside it may have been overwritten, and the rollback's unmap then
            removed it; under MAP_REPLACE_LEAVES (amd-v1) any leaf overlapping
            the range may already be gone.  Every leaf left must be exactly one
            that was there before.
            """
            impl_leaves = self.impl.leaves()
            if impl_leaves is None:
                return self.probe("MAP_ROLLBACK")
            impl_leaves = [tuple(r) for r in canonical_leaves(impl_leaves)]
            view = getattr(self.impl, "recorded_prot", None)
            if view is not None:  # what the implementation's descriptors can record of prot
                before = [tuple(r) for r in canonical_leaves(
                    (i, p, g, c, view(r)) for i, p, g, c, r in before)]
            if impl_leaves == before:
                return
            sem, end = self.sem, iova + size
            if not sem.replace_table and getattr(sem, "map_over_live", "fail") not in (
                    "replace", "overwrite"):
                self.fail("MAP_ROLLBACK", "translation state",
                          "after -ENOMEM the leaves must be exactly those before the call\n"
                          + state_table(before, impl_leaves, ["iova", "paddr", "pgsize", "count", "prot"]))
            kept = LeafMap()
            for run in impl_leaves:
                kept.insert(*run)
            old = LeafMap()
            for run in before:
                old.insert(*run)
            for run in impl_leaves:  # nothing new, nothing changed
                for i in range(run[3]):
                    leaf_iova = run[0] + i * run[2]
                    was = old.leaf_at(leaf_iova)
                    if was is None or (was.iova, was.paddr, was.pgsize, was.prot) != \
                            (leaf_iova, run[1] + i * run[2], run[2], run[4]):
                        self.fail("MAP_ROLLBACK", "translation state",
                                  f"a failed map left a leaf at {hx(leaf_iova)} that was not there before")
            for run in before:  # only leaves the variant may replace are gone
                for i in range(run[3]):
                    lo = run[0] + i * run[2]
                    hi = lo + run[2]
                    if kept.find(lo) is not None:
                        continue
                    may_go = (lo < end and hi > iova) if getattr(sem, "map_over_live", "fail") == "replace" \
                        else (iova <= lo and hi <= end)
                    if not may_go:
                        self.fail("MAP_ROLLBACK", "translation state",
                                  f"the leaf at {hx(lo)} ({hx(run[2])} bytes) was lost by a failed map "
                                  f"of [{hx(iova)}, {hx(end)})")
            self.spec.state = kept  # follow the implementation within what the spec allows

        @step
        def domain_free_and_start_over(self, plan):
            """Free the domain (every table page must be gone), then continue on a fresh one."""
            self.check_domain_free()
            close = getattr(self.impl, "close", None)
            if close is not None:
                close()
            self.impl = factory(profile.name, self.sem.name)
            self.spec = ReferenceDomain(profile, self.sem, pgsize_bitmap=self.impl.pgsize_bitmap,
                                        core=getattr(self.impl, "core", "map_pages"))
            self.tlb = Iotlb().bind(self.space.min_page)
            self.calls.append(Call("fresh domain", {}, kind="restart"))

        def compare_everything(self):
            """At teardown: the whole state and the whole IOTLB, whatever the windows saw."""
            last = next((c for c in reversed(self.calls) if c.kind == "both"), None)
            if last is None:
                return
            rule_name = _defect_in(last.rules) or (last.rules[-1] if last.rules else DEFAULT_RULE.get(last.op, "UNMAP_LEAVES"))
            self.compares = FULL_EVERY - 1  # the next comparison is a whole one
            self.compare_state(rule_name)
            self.full_tlb = True
            self.check_tlb(())

        def check_domain_free(self):
            """Free the implementation's domain: no page-table page may be left (DOMAIN_FREE).

            Under a variant whose Linux driver leaks (DOMAIN_FREE_LEAK), pages left are
            reported under that defect; with its input class set aside the count is not
            checked (and the summary counts the call as set aside)."""
            want = self.spec.domain_free()
            rules = list(self.spec.decided)
            call = Call("domain_free", {}, want, None, rules, kind="impl")
            self.calls.append(call)
            left = self.call_impl(call, "DOMAIN_FREE")
            if set_aside and classes_of("domain_free", {}, rules, set_aside):
                stats.record(self.key, set_aside=1)
                return
            if left != want:
                self.fail(self.blame(rules, "DOMAIN_FREE"), "table pages",
                          f"domain_free left {left!r} page-table pages allocated (must be {want})")

        def teardown(self):
            self.step_start = self.requests_made()
            try:
                self.finish()
            except (ExternalError, ExternalTimeout) as exc:
                error = exc
            else:
                return
            self.fail_external(error)

        def finish(self):
            counters = getattr(self.impl, "counters", None)
            if counters is not None:
                stats.record(self.key, pte_writes=counters.pte_writes,
                             invalidations=counters.invalidations)
            try:
                if not getattr(self, "failed", False):
                    self.compare_everything()
                if "domain_free" in self.ops and not getattr(self, "failed", False):
                    self.check_domain_free()
            finally:
                close = getattr(self.impl, "close", None)
                if close is not None:
                    close()

    for op, (needs, _) in S.STEPS.items():
        setattr(DiffMachine, f"step_{op}", _step_rule(op, needs))
    DiffMachine.__name__ = DiffMachine.__qualname__ = "DiffMachine"
    # Every machine shares this class's source, from which Hypothesis derives
    # the example-database key; add what makes this one distinct, so a saved
    # failure replays for the same implementation x profile x semantics only.
    identity = f"{label or getattr(factory, 'name', factory)}|{profile.name}|{semantics}"
    DiffMachine._hypothesis_internal_add_digest = identity.encode()
    # A database and derandomize exclude each other; CI with a shared database
    # (see difftest.settings) is seeded from the identity to stay reproducible.
    if os.environ.get("CI") and os.environ.get(ENV_DB):
        DiffMachine._hypothesis_internal_use_seed = zlib.crc32(identity.encode())
    return DiffMachine


def saving_failures(machine_class, directory: str, label: str):
    """``machine_class``, also writing each failure's call log as a conformance vector in ``directory``.

    Every failing example Hypothesis tries overwrites the same file, so the one
    left is the shrunk example the report shows (see difftest.vectors).
    """
    from .vectors import save_failure

    class DiffMachine(machine_class):
        def fail(self, rule_name, what, details, headline=None):
            try:
                save_failure(directory, self.calls, self.spec.profile, self.sem,
                             self.impl.pgsize_bitmap, label,
                             headline or f"violates {rule_name} ({what})", core=self.spec.core)
            finally:
                super().fail(rule_name, what, details, headline)

    DiffMachine.__name__ = DiffMachine.__qualname__ = "DiffMachine"
    return DiffMachine
