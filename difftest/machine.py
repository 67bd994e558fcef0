"""The lockstep state machine: the model and one implementation, call by call.

``build_machine(factory, profile, semantics)`` returns a Hypothesis
``RuleBasedStateMachine`` class.  Each rule draws one API call, makes it on
both the reference model and the implementation, and then compares the
return values, the whole translation state (as maximal runs, not pages) and
the page-table leaves.  The first difference raises :class:`DiffFailure`,
whose message is the failure report (see :mod:`difftest.report`); Hypothesis
then shrinks the call sequence.
"""

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from spec import (ReferenceDomain, canonical_leaves, get_profile, greedy_leaves,
                  translations_of)

from . import stats, strategies as S
from .report import Call, Failure, render, state_table


#: Most leaves one generated map may need: keeps every implementation's work per
#: step small (a misaligned 4 GiB buffer would otherwise be a million 4K pages).
MAX_LEAVES_PER_MAP = 2048


class DiffFailure(AssertionError):
    """The implementation disagreed with the spec; the message is the full report."""


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


def build_machine(factory, profile, semantics: str | None = None, label: str | None = None):
    """A RuleBasedStateMachine class driving ``factory(profile_name, semantics_name)`` against the spec.

    ``factory`` builds a fresh implementation (an :class:`impls.Implementation`
    or anything with the same methods); ``profile`` is a Profile or its name;
    ``semantics`` a variant name, default: the implementation's own choice.
    """
    profile = get_profile(profile) if isinstance(profile, str) else profile

    class DiffMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.impl = factory(profile.name, semantics)
            self.sem = self.impl.semantics
            self.spec = ReferenceDomain(profile, self.sem, pgsize_bitmap=self.impl.pgsize_bitmap)
            self.space = S.Space(profile, self.impl.pgsize_bitmap)
            self.calls: list[Call] = []
            self.key = (label or getattr(self.impl, "name", "?"), profile.name, self.sem.name)
            self.target = (f"implementation {self.key[0]!r} on profile {profile.name} "
                           f"(semantics {self.sem.name}, pgsize_bitmap "
                           f"{self.impl.pgsize_bitmap:#x})")
            stats.record(self.key, examples=1)

        # -- lockstep -----------------------------------------------------------------
        def do(self, op: str, **args):
            spec_ret = getattr(self.spec, op)(**args)
            rules = list(self.spec.decided)
            call = Call(op, args, spec_ret, None, rules)
            self.calls.append(call)
            stats.record(self.key, ops=1, steps=1)
            try:
                call.impl_ret = getattr(self.impl, op)(**args)
            except Exception as exc:  # the implementation crashed: that is a finding
                call.impl_ret = f"raised {type(exc).__name__}: {exc}"
                self.fail(rules[0] if rules else DEFAULT_RULE[op], "behaviour",
                          f"the implementation raised {type(exc).__name__}: {exc}")
            self.impl.take_tlb_commands()
            if call.impl_ret != spec_ret:
                self.fail(rules[0] if rules else DEFAULT_RULE[op], "return value",
                          f"spec returned {spec_ret!r}, implementation {call.impl_ret!r}")
            self.compare_state(rules[-1] if rules else DEFAULT_RULE[op])
            return spec_ret

        def compare_state(self, rule_name: str) -> None:
            impl_leaves = canonical_leaves(self.impl.leaves())
            spec_tr = self.spec.translations()
            impl_tr = translations_of(impl_leaves)
            if spec_tr != impl_tr:
                self.fail(rule_name, "translation state",
                          state_table([tuple(t) for t in spec_tr], [tuple(t) for t in impl_tr],
                                      ["iova", "paddr", "size", "prot"]))
            spec_leaves = self.spec.leaves()
            if list(map(tuple, spec_leaves)) != list(map(tuple, impl_leaves)):
                self.fail("PGSIZE_SELECT" if rule_name == "MAP_PAGES_INSTALL" else rule_name,
                          "leaves (page sizes)",
                          state_table([tuple(x) for x in spec_leaves], [tuple(x) for x in impl_leaves],
                                      ["iova", "paddr", "pgsize", "count", "prot"]))

        def fail(self, rule_name: str, what: str, details: str):
            impl_ctor, imports = _ctor_source(factory, profile.name, self.sem.name)
            spec_ctor = (f"ReferenceDomain({profile.name!r}, {self.sem.name!r}, "
                         f"pgsize_bitmap={self.impl.pgsize_bitmap:#x})")
            check = ("assert canonical_leaves(impl.leaves()) == spec.leaves()"
                     if what == "leaves (page sizes)" else
                     "assert translations_of(canonical_leaves(impl.leaves())) == spec.translations()")
            raise DiffFailure(render(self.target, Failure(rule_name, what, details), self.calls,
                                     impl_ctor, spec_ctor, check, imports))

        def live(self):
            return self.spec.leaves()

        def bounded(self, iova: int, paddr: int, size: int) -> int:
            """size, cut down so the greedy tiling needs at most MAX_LEAVES_PER_MAP leaves."""
            m = self.space.min_page
            if size and not (iova | paddr | size) % m and \
                    greedy_leaves(self.space.pgsize_bitmap, iova, paddr, size) > MAX_LEAVES_PER_MAP:
                return MAX_LEAVES_PER_MAP * m
            return size

        # -- rules ----------------------------------------------------------------------
        @rule(data=st.data())
        def map(self, data):
            iova = data.draw(S.iovas(self.space), label="iova")
            paddr = S.paddr_for(self.space, data.draw(S.paddr_choices(self.space), label="paddr"), iova)
            size = self.bounded(iova, paddr, data.draw(S.sizes(self.space), label="size"))
            self.do("map", iova=iova, paddr=paddr, size=size, prot=data.draw(S.prots(), label="prot"))

        @precondition(lambda self: len(self.spec.state) > 0)
        @rule(data=st.data())
        def map_over_live(self, data):
            run = data.draw(st.sampled_from(self.live()), label="live run")
            m = self.space.min_page
            iova = run.iova + data.draw(st.integers(-2, 2), label="pages before") * m \
                + data.draw(st.integers(0, run.count - 1)) * run.pgsize
            iova = self.space.clamp(iova, self.space.top)
            paddr = S.paddr_for(self.space, data.draw(S.paddr_choices(self.space), label="paddr"), iova)
            size = self.bounded(iova, paddr, data.draw(S.sizes(self.space), label="size"))
            self.do("map", iova=iova, paddr=paddr, size=size, prot=data.draw(S.prots(), label="prot"))

        @rule(data=st.data())
        def unmap(self, data):
            live, m = self.live(), self.space.min_page
            if live and data.draw(st.integers(0, 4), label="from live"):
                run = data.draw(st.sampled_from(live), label="live run")
                k = data.draw(st.integers(0, run.count - 1), label="leaf")
                leaf = run.iova + k * run.pgsize
                how = data.draw(st.sampled_from(["run", "leaf", "part", "inside", "across"]))
                if how == "run":
                    iova, size = run.iova, run.size
                elif how == "leaf":
                    iova, size = leaf, run.pgsize
                elif how == "part":  # the start of a leaf, not all of it
                    iova, size = leaf, max(m, data.draw(st.integers(1, 4)) * m)
                elif how == "inside":  # starts inside a leaf
                    iova = leaf + data.draw(st.integers(0, run.pgsize // m - 1)) * m
                    size = data.draw(st.integers(1, 4)) * m
                else:  # across holes and into neighbours
                    iova = leaf
                    size = data.draw(S.sizes(self.space), label="size") + run.size
            else:
                iova = data.draw(S.iovas(self.space), label="iova")
                size = data.draw(S.sizes(self.space), label="size")
            self.do("unmap", iova=iova, size=size)

        @rule(data=st.data())
        def map_sg(self, data):
            iova = data.draw(S.iovas(self.space), label="iova")
            sg = data.draw(S.scatterlists(self.space), label="sg")
            self.do("map_sg", iova=iova, sg=sg, prot=data.draw(S.prots(), label="prot"))

        @rule(data=st.data())
        def iova_to_phys(self, data):
            live = self.live()
            if live and data.draw(st.booleans()):
                run = data.draw(st.sampled_from(live))
                iova = run.iova + data.draw(st.integers(0, run.size - 1), label="offset")
            else:
                iova = data.draw(S.iovas(self.space), label="iova") + data.draw(
                    st.integers(0, self.space.min_page - 1), label="offset")
            self.do("iova_to_phys", iova=iova)

        @rule(data=st.data())
        def bad_map(self, data):
            m = self.space.min_page
            iova = data.draw(S.iovas(self.space), label="iova")
            paddr = S.paddr_for(self.space, data.draw(S.paddr_choices(self.space), label="paddr"), iova)
            size = data.draw(S.sizes(self.space), label="size")
            prot = data.draw(S.prots(), label="prot")
            how = data.draw(st.sampled_from(
                ["misaligned", "zero", "beyond_ias", "wrap", "prot", "paddr_beyond_oas"]))
            if how == "misaligned" and m > 1:
                which = data.draw(st.sampled_from(["iova", "paddr", "size"]))
                delta = data.draw(st.integers(1, m - 1), label="misalignment")
                iova, paddr, size = (iova + delta * (which == "iova"), paddr + delta * (which == "paddr"),
                                     size + delta * (which == "size"))
            elif how == "zero":
                size = 0
            elif how == "beyond_ias":
                iova = self.space.top - m * data.draw(st.integers(0, 2))
                size = max(size, 3 * m)
            elif how == "wrap":
                iova = (1 << 64) - m * data.draw(st.integers(1, 2))
                size = max(size, 3 * m)
            elif how == "paddr_beyond_oas":
                paddr = (1 << self.space.profile.oas) - m
                size = max(size, 2 * m)
            else:
                prot = data.draw(st.sampled_from(S.BAD_PROTS), label="prot")
            self.do("map", iova=iova, paddr=paddr, size=size, prot=prot)

        @rule(data=st.data())
        def bad_unmap(self, data):
            m = self.space.min_page
            iova = data.draw(S.iovas(self.space), label="iova")
            size = data.draw(S.sizes(self.space), label="size")
            how = data.draw(st.sampled_from(["misaligned", "zero", "wrap"]))
            if how == "misaligned" and m > 1:
                if data.draw(st.booleans()):
                    iova += data.draw(st.integers(1, m - 1))
                else:
                    size += data.draw(st.integers(1, m - 1))
            elif how == "zero":
                size = 0
            else:
                iova = (1 << 64) - m
                size = max(size, 2 * m)
            self.do("unmap", iova=iova, size=size)

        @precondition(lambda self: "map_pages" in getattr(self.impl, "ops", ()))
        @rule(data=st.data())
        def map_pages(self, data):
            sizes_ = self.space.used_sizes
            pgsize = data.draw(st.sampled_from(sizes_) | st.sampled_from(self.space.profile.pgsizes),
                               label="pgsize")
            iova = data.draw(S.iovas(self.space), label="iova") // pgsize * pgsize
            paddr = S.paddr_for(self.space, data.draw(S.paddr_choices(self.space), label="paddr"), iova) // pgsize * pgsize
            pgcount = data.draw(st.integers(1, 3) | st.integers(1, 1100), label="pgcount")
            if pgcount * pgsize // self.space.min_page > 4096:
                pgcount = max(1, 4096 * self.space.min_page // pgsize)
            self.do("map_pages", iova=iova, paddr=paddr, pgsize=pgsize, pgcount=pgcount,
                    prot=data.draw(S.prots(), label="prot"))

        @precondition(lambda self: "unmap_pages" in getattr(self.impl, "ops", ()) and len(self.spec.state))
        @rule(data=st.data())
        def unmap_pages(self, data):
            run = data.draw(st.sampled_from(self.live()), label="live run")
            pgsize = data.draw(st.sampled_from(self.space.used_sizes), label="pgsize")
            iova = (run.iova + data.draw(st.integers(0, run.count - 1)) * run.pgsize) // pgsize * pgsize
            pgcount = data.draw(st.integers(1, 4), label="pgcount")
            self.do("unmap_pages", iova=iova, pgsize=pgsize, pgcount=pgcount)
            if hasattr(self.impl, "iotlb_sync"):
                self.impl.iotlb_sync()
                self.impl.take_tlb_commands()

        def teardown(self):
            counters = getattr(self.impl, "counters", None)
            if counters is not None:
                stats.record(self.key, pte_writes=counters.pte_writes,
                             invalidations=counters.invalidations)

    DiffMachine.__name__ = DiffMachine.__qualname__ = "DiffMachine"
    return DiffMachine
