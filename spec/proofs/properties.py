"""The properties of page-size selection, stated once for z3 and for ints.

Each :class:`Property` is a list of :class:`Obligation` s.  An obligation's
``build(v, sel)`` takes the values of its variables (z3 64-bit bit-vectors to
prove it, ints to re-check a counterexample) and a :class:`Selection` -- the
page-size selection under test, normally :data:`SPEC`, which is exactly
:func:`spec.pgsize.pgsize_and_count` and :func:`spec.pgsize.pgsize` -- and
returns a :class:`Formula`:

* ``pre`` -- the named preconditions on the inputs; each one is necessary (the
  necessity check drops them one at a time and z3 must find a counterexample);
* ``hyps`` -- what the statement quantifies over (a fresh page size, the loop
  invariant assumed before a step, ...); never dropped;
* ``goal`` -- the named conclusions.  Each conclusion is proved by its own z3
  query: no assignment satisfies pre and hyps and falsifies it.

Nothing here re-implements the selection: the conclusions are declarative
("no larger supported page fits", "the run ends at the next larger page's
boundary"), and ``sel`` is called on the very values the model would use.
Where a property is split into lemmas (P4, P5, P6), how they combine is
written next to the property and in docs/proofs.md.
"""

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable

from spec import bitops as bv
from spec.pgsize import best_pgsize, pgsize, pgsize_and_count

from . import logic as L

# -- the selection under test ------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """A page-size selection: ``batched(pgsize_bitmap, iova, paddr, size) -> (pgsize, count)``
    (v5.15+ ``iommu_pgsize`` with a count) and ``single(...) -> pgsize`` (the
    one-page-per-step form before v5.15).  Both take and return 64-bit values
    as ints or z3 bit-vectors."""

    name: str
    batched: Callable
    single: Callable


#: The model's own selection: the code every proof is about.
SPEC = Selection("spec.pgsize", pgsize_and_count, pgsize)

# -- preconditions ------------------------------------------------------------

PRE_IOVA_ALIGNED = "iova aligned to the min page"
PRE_PADDR_ALIGNED = "paddr aligned to the min page"
PRE_SIZE_ALIGNED = "size aligned to the min page"
PRE_SIZE_NONZERO = "size > 0"
PRE_NO_HUGE = "no page size >= 2^63"
PRE_IOVA_END = "iova + size <= 2^64"
PRE_PADDR_END = "paddr + size <= 2^64"
PRE_NO_PAGE_1 = "no page size of 1 byte"


def selection_preconditions(B, I, P, S) -> dict[str, Any]:
    """What ``__iommu_map`` guarantees before it calls ``iommu_pgsize``.

    drivers/iommu/iommu.c ``__iommu_map``: iova, paddr and size are
    multiples of the smallest page size, and the ``while (size)`` loop only
    asks for a non-zero size.  Linux also rejects an empty bitmap (-ENODEV);
    that is no separate precondition here, because the smallest page of an
    empty bitmap is ``lowbit(0) = 0`` and "x is a multiple of 0" means x == 0,
    which size > 0 excludes (P1 proves the bitmap non-empty from the others).
    """
    m = bv.lowbit(B)
    return {
        PRE_IOVA_ALIGNED: L.aligned(I, m),
        PRE_PADDR_ALIGNED: L.aligned(P, m),
        PRE_SIZE_ALIGNED: L.aligned(S, m),
        PRE_SIZE_NONZERO: S != 0,
    }


def no_huge_page(B):
    """The bitmap has no page size of 2^63 (bit 63 clear): then Linux's
    ``offset + pgsize_next`` in ``iommu_pgsize`` cannot wrap (property P3w)."""
    return B & L.TOP_BIT == 0


# -- statements ---------------------------------------------------------------


@dataclass
class Formula:
    """One obligation instantiated on values: ``pre`` / ``hyps`` / ``goal`` map names
    to conditions; ``derived`` holds values worth printing with a counterexample.

    ``cases`` names the conditions the goals are split on (the left sides of
    their implications); each must be satisfiable together with pre and hyps,
    or the goals about it would hold vacuously.
    """

    pre: dict[str, Any]
    hyps: dict[str, Any]
    goal: dict[str, Any]
    derived: dict[str, Any] = field(default_factory=dict)
    cases: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Obligation:
    """A closed statement over 64-bit ``variables``; ``build(v, sel) -> Formula``.

    ``tactic`` picks the z3 pipeline (:mod:`spec.proofs.solve`): "bits" for
    statements dominated by the selection's bit tricks, "arith" for ones
    dominated by additions and comparisons.
    """

    name: str
    variables: tuple[str, ...]
    build: Callable[[SimpleNamespace, Selection], Formula]
    tactic: str = "bits"


@dataclass(frozen=True)
class Property:
    """A numbered property: its obligations, its Linux counterpart and its scope."""

    key: str
    short: str
    title: str
    linux: str
    scope: str
    obligations: tuple[Obligation, ...]
    #: Special cases of the obligations (so not proved again) that the necessity
    #: check tries first: their counterexamples are whole calls, not loop states.
    witnesses: tuple[Obligation, ...] = ()

    def obligation(self, name: str) -> Obligation:
        """The obligation (or witness) called ``name``; KeyError if there is none."""
        for ob in self.obligations + self.witnesses:
            if ob.name == name:
                return ob
        raise KeyError(f"{self.key} has no obligation {name!r}")

    def preconditions(self) -> list[str]:
        """The names of the preconditions its obligations use, in first-use order."""
        names: list[str] = []
        for ob in self.obligations:
            for name in ob.build(SimpleNamespace(**{n: 0 for n in ob.variables}), SPEC).pre:
                if name not in names:
                    names.append(name)
        return names

    def necessity_obligations(self) -> list[Obligation]:
        """The obligations the necessity check searches, witnesses first."""
        return list(self.witnesses + self.obligations)


CALL = ("pgsize_bitmap", "iova", "paddr", "size")


def _call(v):
    return v.pgsize_bitmap, v.iova, v.paddr, v.size


# -- declarative vocabulary ------------------------------------------------------

def feasible(B, q, i, p, r):
    """A page of size q can be mapped at iova i -> paddr p within r bytes:
    q is a page size of the bitmap, i and p are multiples of it, and q <= r."""
    return bv.all_of(L.is_pow2(q), B & q != 0, L.aligned(i | p, q), bv.ule(q, r))


def next_pgsize_is(B, pg, N):
    """N is the next larger page size in the bitmap after pg."""
    return bv.all_of(
        L.is_pow2(N), B & N != 0, bv.ult(pg, N),
        B & bv.wrap(N - 1) & bv.wrap(~bv.fill_down(pg)) == 0)


def no_larger_pgsize(B, pg):
    """The bitmap has no page size larger than pg."""
    return B & bv.wrap(~bv.fill_down(pg)) == 0


def to_boundary(I, N):
    """Bytes from iova up to the next multiple of N (N itself if iova is one)."""
    return bv.wrap(N - (I & bv.wrap(N - 1)))


def stops_at_boundary(I, P, S, N):
    """Linux's condition for cutting a run short, in exact arithmetic: iova and
    paddr have the same offset in a page of N, and a whole N fits after the boundary."""
    return bv.all_of((I ^ P) & bv.wrap(N - 1) == 0, L.sum_le(to_boundary(I, N), N, S))


def batch_bytes(B, I, P, S, pg, N):
    """count * pgsize as Linux intends it, for N the next page size after pg (if any):
    up to N's boundary when the run stops there, else every whole page that fits."""
    return bv.select(bv.all_of(next_pgsize_is(B, pg, N), stops_at_boundary(I, P, S, N)),
                     to_boundary(I, N), S & bv.wrap(~bv.wrap(pg - 1)))


# -- P1 -------------------------------------------------------------------------

def _soundness(v, sel):
    B, I, P, S = _call(v)
    pg, count = sel.batched(B, I, P, S)
    return Formula(
        pre=selection_preconditions(B, I, P, S),
        hyps={},
        goal={
            "pgsize_bitmap != 0 (implied, see selection_preconditions)": B != 0,
            "pgsize != 0 (BUG_ON(!pgsizes) unreachable)": pg != 0,
            "pgsize is a power of two": pg & bv.wrap(pg - 1) == 0,
            "pgsize is in pgsize_bitmap": B & pg == pg,
            "iova aligned to pgsize": L.aligned(I, pg),
            "paddr aligned to pgsize": L.aligned(P, pg),
            "pgsize <= size": bv.ule(pg, S),
            "the single-page form picks the same pgsize": sel.single(B, I, P, S) == pg,
        },
        derived={"pgsize": pg, "count": count})


# -- P2 -------------------------------------------------------------------------

def _maximality(v, sel, *, single=False):
    B, I, P, S = _call(v)
    Q = v.other_pgsize
    pg = sel.single(B, I, P, S) if single else sel.batched(B, I, P, S)[0]
    return Formula(
        pre={},
        hyps={"a page of other_pgsize can be mapped at iova": feasible(B, Q, I, P, S)},
        goal={"other_pgsize <= pgsize": bv.ule(Q, pg)},
        derived={"pgsize": pg})


# -- P3 -------------------------------------------------------------------------

def _count(v, sel):
    B, I, P, S = _call(v)
    N = v.next_pgsize
    pg, count = sel.batched(B, I, P, S)
    k = bv.log2_pow2(pg)
    # count * pgsize == X is stated as count == X >> log2(pgsize) for a multiple
    # X of pgsize: exact, and free of a multiplication.
    every = bv.lshr(S, k)  # how many whole pages fit in size
    tb = to_boundary(I, N)
    has_next = next_pgsize_is(B, pg, N)
    stop = stops_at_boundary(I, P, S, N)
    return Formula(
        pre={**selection_preconditions(B, I, P, S), PRE_NO_HUGE: no_huge_page(B)},
        hyps={},
        goal={
            "pgsize != 0 (P1)": pg != 0,
            "count >= 1": count != 0,
            "count * pgsize <= size, without overflow": bv.ule(count, every),
            "pgsize == 1 << log2(pgsize)": L.shl(1, k) == pg,
            "no larger page size: count is every page that fits":
                L.implies(no_larger_pgsize(B, pg), count == every),
            "Linux's condition fails: count is every page that fits":
                L.implies(bv.all_of(has_next, L.not_(stop)), count == every),
            "Linux's condition holds: the boundary is a whole number of pages away":
                L.implies(bv.all_of(has_next, stop), L.aligned(tb, pg)),
            "... and after the run a page of next_pgsize can be mapped":
                L.implies(bv.all_of(has_next, stop),
                          feasible(B, N, bv.wrap(I + tb), bv.wrap(P + tb), bv.wrap(S - tb))),
            # (the costliest query last: the necessity and mutant searches go in order)
            "Linux's condition holds: the run ends at next_pgsize's boundary":
                L.implies(bv.all_of(has_next, stop), count == bv.lshr(tb, k)),
        },
        derived={"pgsize": pg, "count": count},
        cases={"no larger page size": no_larger_pgsize(B, pg),
               "a next page size, Linux's condition holds": bv.all_of(has_next, stop),
               "a next page size, Linux's condition fails":
                   bv.all_of(has_next, L.not_(stop))})


def _wrap(v, sel):
    I, P, N = v.iova, v.paddr, v.pgsize_next
    offset = bv.wrap(N - ((I | P) & bv.wrap(N - 1)))  # as iommu_pgsize computes it
    wraps = L.not_(bv.ule(offset, bv.wrap(~N)))      # offset + N >= 2^64
    return Formula(
        pre={},
        hyps={"pgsize_next is a page size": L.is_pow2(N)},
        goal={"offset + pgsize_next wraps iff pgsize_next == 2^63 and iova, paddr are "
              "multiples of 2^63":
              wraps == bv.all_of(N == L.TOP_BIT, (I | P) & (L.TOP_BIT - 1) == 0)},
        derived={"offset": offset},
        cases={"the sum wraps": wraps, "the sum does not wrap": L.not_(wraps)})


# -- P4 -------------------------------------------------------------------------

def _loop_preconditions(B, I, P, S, unmap):
    m = bv.lowbit(B)
    pre = {PRE_IOVA_ALIGNED: L.aligned(I, m)}
    if not unmap:
        pre[PRE_PADDR_ALIGNED] = L.aligned(P, m)
    pre[PRE_SIZE_ALIGNED] = L.aligned(S, m)
    pre[PRE_IOVA_END] = L.fits_end(I, S)
    if not unmap:
        pre[PRE_PADDR_END] = L.fits_end(P, S)
    return pre


def loop_invariant(B, I, P, S, i, p, r, c, *, unmap=False) -> dict[str, Any]:
    """The invariant of the core's map/unmap loop over ``(cur_iova, cur_paddr, remaining, mapped)``.

    drivers/iommu/iommu.c ``__iommu_map`` / ``__iommu_unmap``: after ``mapped``
    bytes of the call ``(iova, paddr, size)`` the loop stands at iova + mapped,
    paddr + mapped with size - mapped left, all aligned to the smallest page,
    and what is left ends at or below 2^64.  (For unmap, paddr is iova.)
    """
    m = bv.lowbit(B)
    inv = {
        "mapped <= size": bv.ule(c, S),
        "remaining == size - mapped": r == bv.wrap(S - c),
        "cur_iova == iova + mapped": i == bv.wrap(I + c),
        "cur_paddr == paddr + mapped": p == bv.wrap(P + c),
        "cur_iova, cur_paddr, remaining aligned to the min page": L.aligned(i | p | r, m),
        "cur_iova + remaining <= 2^64": L.fits_end(i, r),
        "cur_paddr + remaining <= 2^64": L.fits_end(p, r),
    }
    if unmap:
        del inv["cur_paddr == paddr + mapped"], inv["cur_paddr + remaining <= 2^64"]
    return inv


def _loop_call(v, unmap):
    P = v.iova if unmap else v.paddr  # __iommu_unmap passes iova twice
    return v.pgsize_bitmap, v.iova, P, v.size


def _loop_state(v, unmap):
    return v.cur_iova, (v.cur_iova if unmap else v.cur_paddr), v.remaining, v.mapped


def _loop_init(v, sel, *, unmap):
    B, I, P, S = _loop_call(v, unmap)
    return Formula(pre=_loop_preconditions(B, I, P, S, unmap), hyps={},
                   goal=loop_invariant(B, I, P, S, I, P, S, 0, unmap=unmap))


def _loop_before(v, unmap, first):
    B, I, P, S = _loop_call(v, unmap)
    if first:  # the first step of a real call: nothing assumed but the preconditions
        return (I, P, S, 0), {}
    i, p, r, c = _loop_state(v, unmap)
    return (i, p, r, c), {f"before: {k}": x for k, x in
                          loop_invariant(B, I, P, S, i, p, r, c, unmap=unmap).items()}


def _loop_select(v, sel, *, unmap, first=False):
    """What the selection gives at a loop state: a page the step can be made of."""
    B, I, P, S = _loop_call(v, unmap)
    (i, p, r, c), hyps = _loop_before(v, unmap, first)
    hyps["remaining != 0 (the loop runs)"] = r != 0
    pg = sel.single(B, i, p, r)
    return Formula(
        pre=_loop_preconditions(B, I, P, S, unmap),
        hyps=hyps,
        goal={
            "pgsize != 0: the step makes progress": pg != 0,
            "pgsize is a multiple of the min page": L.aligned(pg, bv.lowbit(B)),
            "the pages are aligned to pgsize in iova and paddr": L.aligned(i | p, pg),
        },
        derived={"pgsize": pg})


def _loop_step(v, sel, *, unmap, first=False, select=False):
    """One step of the loop by step_bytes; with ``select`` (the necessity witness),
    step_bytes is whole pages of what the selection picks, and its goals are added."""
    B, I, P, S = _loop_call(v, unmap)
    (i, p, r, c), hyps = _loop_before(v, unmap, first)
    d = v.step_bytes
    hyps["remaining != 0 (the loop runs)"] = r != 0
    goal = {}
    if select:
        picked = _loop_select(v, sel, unmap=unmap, first=first)
        pg = picked.derived["pgsize"]
        hyps["step_bytes: whole pages of pgsize, 0 < step_bytes <= remaining"] = L.implies(
            pg != 0, bv.all_of(d != 0, L.aligned(d, pg), bv.ule(d, r)))
        goal.update(picked.goal)
        derived = picked.derived
    else:
        # What the driver reports: whole pages of pgsize (a multiple of the min
        # page, by the select obligation), at most the batch (<= remaining, P3).
        hyps["step_bytes: a multiple of the min page, 0 < step_bytes <= remaining"] = bv.all_of(
            d != 0, L.aligned(d, bv.lowbit(B)), bv.ule(d, r))
        derived = {}
    after = loop_invariant(B, I, P, S, bv.wrap(i + d), bv.wrap(p + d), bv.wrap(r - d),
                           bv.wrap(c + d), unmap=unmap)
    goal["remaining strictly decreases"] = bv.ult(bv.wrap(r - d), r)
    goal["the step ends at or below 2^64 in iova"] = L.fits_end(i, d)
    if not unmap:
        goal["the step ends at or below 2^64 in paddr"] = L.fits_end(p, d)
    goal.update({f"after: {name}": x for name, x in after.items()})
    return Formula(pre=_loop_preconditions(B, I, P, S, unmap), hyps=hyps, goal=goal,
                   derived=derived)


def _loop_exit(v, sel, *, unmap):
    B, I, P, S = _loop_call(v, unmap)
    i, p, r, c = _loop_state(v, unmap)
    return Formula(
        pre=_loop_preconditions(B, I, P, S, unmap),
        hyps={**{f"before: {k}": x
                 for k, x in loop_invariant(B, I, P, S, i, p, r, c, unmap=unmap).items()},
              "remaining == 0 (the loop ends)": r == 0},
        goal={"mapped == size: the steps tile [iova, iova + size)": c == S})


def _loop_property(key, unmap):
    state = ("cur_iova", "remaining", "mapped") if unmap else (
        "cur_iova", "cur_paddr", "remaining", "mapped")
    call = ("pgsize_bitmap", "iova", "size") if unmap else CALL
    what, fn = ("unmap", "__iommu_unmap") if unmap else ("map", "__iommu_map")

    def ob(name, build, variables, tactic="arith", **kw):
        return Obligation(name, variables, lambda v, sel: build(v, sel, unmap=unmap, **kw),
                          tactic=tactic)

    return Property(
        key=key,
        short=f"{what} loop invariant",
        title=f"inductive invariant of the {what} loop: progress, alignment, exact tiling, no wrap",
        linux=f"drivers/iommu/iommu.c {fn} (v5.15+ loop)",
        scope="unbounded (induction on the steps)",
        obligations=(
            ob("init", _loop_init, call),
            ob("select", _loop_select, call + state, tactic="bits"),
            ob("step", _loop_step, call + state + ("step_bytes",)),
            ob("exit", _loop_exit, call + state),
        ),
        witnesses=(ob("first step", _loop_step, call + ("step_bytes",), first=True,
                      select=True),))


# -- P5 -------------------------------------------------------------------------

def _batch_pages(v, sel):
    B, I, P, S = _call(v)
    N, d = v.next_pgsize, v.page_offset
    pg = sel.batched(B, I, P, S)[0]
    i, p, r = bv.wrap(I + d), bv.wrap(P + d), bv.wrap(S - d)
    has_next = next_pgsize_is(B, pg, N)
    return Formula(
        pre={},
        hyps={
            "pgsize != 0 (P1, under the selection preconditions)": pg != 0,
            "next_pgsize is the next page size after pgsize, or there is none":
                L.any_of(no_larger_pgsize(B, pg), has_next),
            "page_offset is a multiple of pgsize inside the batch": bv.all_of(
                L.aligned(d, pg), bv.ult(d, batch_bytes(B, I, P, S, pg, N))),
        },
        goal={
            "a page of pgsize can be mapped at page_offset": feasible(B, pg, i, p, r),
            "a page of next_pgsize cannot": L.implies(has_next, L.not_(feasible(B, N, i, p, r))),
        },
        derived={"pgsize": pg},
        cases={"no larger page size": no_larger_pgsize(B, pg),
               "a next page size, page_offset > 0": bv.all_of(has_next, d != 0)})


def _single_choice(v, sel):
    B, I, P, S = _call(v)
    q, N = v.candidate, v.next_pgsize
    return Formula(
        pre={},
        hyps={
            "a page of candidate can be mapped at iova": feasible(B, q, I, P, S),
            "no larger page size, or the next one (next_pgsize) cannot be mapped": L.any_of(
                no_larger_pgsize(B, q),
                bv.all_of(next_pgsize_is(B, q, N), L.not_(feasible(B, N, I, P, S)))),
        },
        goal={"the single-page form picks candidate": sel.single(B, I, P, S) == q},
        derived={"pgsize": sel.single(B, I, P, S)},
        cases={"no larger page size": no_larger_pgsize(B, q),
               "a next page size that cannot be mapped": next_pgsize_is(B, q, N)})


def _page_offsets(v, sel):
    X, j, k = v.batch_bytes, v.index, v.log2_pgsize
    d = L.shl(j, k)
    return Formula(
        pre={},
        hyps={"log2_pgsize < 64": bv.ult(k, L.WIDTH),
              "batch_bytes is a multiple of 1 << log2_pgsize": L.aligned(X, L.shl(1, k)),
              "index < batch_bytes >> log2_pgsize": bv.ult(j, bv.lshr(X, k))},
        goal={"page index starts inside the batch": bv.ult(d, X),
              "index << log2_pgsize does not overflow": bv.lshr(d, k) == j})


# -- P6 -------------------------------------------------------------------------

def _nesting(v, sel):
    B, I, P, S = _call(v)
    s, z = v.page_iova, v.page_size
    pg = sel.single(B, I, P, S)
    into = bv.wrap(s - I)
    return Formula(
        pre={},
        hyps={
            "page_size is a page size in pgsize_bitmap": bv.all_of(L.is_pow2(z), B & z != 0),
            "page_iova aligned to page_size": L.aligned(s, z),
            "iova < page_iova < iova + pgsize": bv.all_of(bv.ult(I, s), bv.ult(into, pg)),
        },
        goal={"the page ends by iova + pgsize": L.sum_le(into, z, pg)},
        derived={"pgsize": pg})


def _replacement(v, sel):
    B, I, P, S = _call(v)
    pg = sel.single(B, I, P, S)
    return Formula(
        pre=selection_preconditions(B, I, P, S),
        hyps={},
        goal={"one page of pgsize at iova is a page a tiling may use": feasible(B, pg, I, P, S)},
        derived={"pgsize": pg})


# -- P7 -------------------------------------------------------------------------

def _map_range_choice(v, sel):
    B, I, P, S = _call(v)
    last = bv.wrap(I + S - 1)
    best = best_pgsize(B, I, last, P)
    return Formula(
        pre={PRE_SIZE_NONZERO: S != 0, PRE_IOVA_END: L.fits_end(I, S),
             PRE_NO_PAGE_1: B & 1 == 0},
        hyps={},
        goal={"pt_compute_best_pgsize(iova, iova + size - 1, paddr) == iommu_pgsize's pgsize":
              best == sel.single(B, I, P, S)},
        derived={"pgsize": sel.single(B, I, P, S), "best_pgsize": best})


PROPERTIES: tuple[Property, ...] = (
    Property(
        "P1", "soundness", "soundness: one supported page size, aligning iova and paddr, <= size; "
        "BUG_ON(!pgsizes) unreachable",
        "drivers/iommu/iommu.c iommu_pgsize", "unbounded",
        (Obligation("sound", CALL, _soundness),)),
    Property(
        "P2", "maximality", "maximality: no larger supported page size fits",
        "drivers/iommu/iommu.c iommu_pgsize (__fls of the candidates)", "unbounded",
        (Obligation("maximal", CALL + ("other_pgsize",), _maximality),)),
    Property(
        "P3", "(pgsize, count)", "(pgsize, count): count >= 1, count * pgsize <= size, no overflow, the run stops "
        "at the next page's boundary exactly when Linux says",
        "drivers/iommu/iommu.c iommu_pgsize (v5.15+, count)", "unbounded",
        (Obligation("count", CALL + ("next_pgsize",), _count),)),
    Property(
        "P3w", "offset + pgsize_next wrap", "finding: Linux's offset + pgsize_next wraps iff pgsize_next = 2^63 and "
        "iova, paddr are multiples of 2^63",
        "drivers/iommu/iommu.c iommu_pgsize (size_t offset + pgsize_next)", "unbounded",
        (Obligation("wrap", ("iova", "paddr", "pgsize_next"), _wrap, tactic="arith"),)),
    _loop_property("P4", unmap=False),
    _loop_property("P4u", unmap=True),
    Property(
        "P5", "refinement", "refinement: the batched (pgsize, count) loop maps the pages of the "
        "one-page-per-step loop",
        "drivers/iommu/iommu.c __iommu_map: map_pages batches (v5.15) vs one map per page",
        "unbounded (with P3)",
        (Obligation("batch pages", CALL + ("next_pgsize", "page_offset"), _batch_pages),
         Obligation("single choice", CALL + ("candidate", "next_pgsize"), _single_choice),
         Obligation("page offsets", ("batch_bytes", "index", "log2_pgsize"), _page_offsets,
                    tactic="arith"))),
    Property(
        "P6", "minimality", "minimality: no tiling by aligned pages of the bitmap has fewer pages",
        "drivers/iommu/iommu.c __iommu_map / iommu_pgsize",
        "unbounded (exchange lemma; induction in docs)",
        (Obligation("first page", CALL + ("other_pgsize",),
                    lambda v, sel: _maximality(v, sel, single=True)),
         Obligation("nesting", CALL + ("page_iova", "page_size"), _nesting),
         Obligation("replacement", CALL, _replacement))),
    Property(
        "P7", "map_range choice", "the v7.1 core: generic_pt's pt_compute_best_pgsize picks, at "
        "every position, the page size iommu_pgsize picks, so map_range's leaves are the "
        "classic greedy batches (with P5)",
        "drivers/iommu/generic_pt/pt_common.h pt_compute_best_pgsize (map_range, v7.1) vs "
        "iommu.c iommu_pgsize", "unbounded (per leaf; map_range's run length, pt_pgsz_count, "
        "is not proved)",
        (Obligation("best pgsize", CALL, _map_range_choice),)),
)


def get_property(key: str) -> Property:
    """The property numbered ``key`` ("P1", ..., "P7"); KeyError if there is none."""
    for prop in PROPERTIES:
        if prop.key == key:
            return prop
    raise KeyError(f"no property {key!r}; known: {', '.join(p.key for p in PROPERTIES)}")
