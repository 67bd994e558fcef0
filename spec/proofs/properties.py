"""The properties of page-size selection, stated once for z3 and for ints.

Each :class:`Property` is a list of :class:`Obligation` s.  An obligation's
``build(v, sel)`` takes the values of its variables (z3 64-bit bit-vectors to
prove it, ints to re-check a counterexample) and a :class:`Selection` -- the
page-size selection under test, normally :data:`SPEC`, which is exactly
:func:`spec.pgsize.pgsize_and_count` and :func:`spec.pgsize.pgsize` -- and
returns a :class:`Formula`:

* ``pre`` -- the named preconditions on the inputs; each is necessary (the
  necessity check drops them one at a time and z3 must find a counterexample);
* ``hyps`` -- what the statement quantifies over (a fresh page size, the loop
  invariant assumed before a step, ...); never dropped;
* ``goal`` -- the named conclusions; an obligation is proved when no
  assignment satisfies pre and hyps but falsifies a goal.

Nothing here re-implements the selection: the conclusions are declarative
("no larger supported page fits", "the run ends at the next larger page's
boundary"), and ``sel`` is called on the very values the model would use.
"""

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable

from spec import bitops as bv
from spec.pgsize import pgsize, pgsize_and_count

from . import logic as L

# -- the selection under test ------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """A page-size selection: ``batched(pgsize_bitmap, iova, paddr, size) -> (pgsize, count)``
    (v5.14+ ``iommu_pgsize`` with a count) and ``single(...) -> pgsize`` (the
    one-page-per-step form before v5.14).  Both take and return 64-bit values
    as ints or z3 bit-vectors."""

    name: str
    batched: Callable
    single: Callable


#: The model's own selection: the code every proof is about.
SPEC = Selection("spec.pgsize", pgsize_and_count, pgsize)

# -- preconditions ------------------------------------------------------------

PRE_NONEMPTY = "pgsize_bitmap != 0"
PRE_IOVA_ALIGNED = "iova aligned to the min page"
PRE_PADDR_ALIGNED = "paddr aligned to the min page"
PRE_SIZE_ALIGNED = "size aligned to the min page"
PRE_SIZE_NONZERO = "size > 0"
PRE_NO_HUGE = "no page size >= 2^63"
PRE_IOVA_END = "iova + size <= 2^64"
PRE_PADDR_END = "paddr + size <= 2^64"


def selection_preconditions(B, I, P, S) -> dict[str, Any]:
    """What ``__iommu_map`` guarantees before it calls ``iommu_pgsize``.

    drivers/iommu/iommu.c ``__iommu_map``: the domain has page sizes, iova,
    paddr and size are multiples of the smallest one, and the ``while (size)``
    loop only asks for a non-zero size.
    """
    m = bv.lowbit(B)
    return {
        PRE_NONEMPTY: B != 0,
        PRE_IOVA_ALIGNED: L.aligned(I, m),
        PRE_PADDR_ALIGNED: L.aligned(P, m),
        PRE_SIZE_ALIGNED: L.aligned(S, m),
        PRE_SIZE_NONZERO: S != 0,
    }


def no_huge_page(B):
    """The bitmap has no page size of 2^63 (bit 63 clear): Linux's ``offset + pgsize_next``
    in ``iommu_pgsize`` cannot wrap then (property P3w)."""
    return B & L.TOP_BIT == 0


# -- statements ---------------------------------------------------------------


@dataclass
class Formula:
    """One obligation instantiated on values: ``pre`` / ``hyps`` / ``goal`` map names
    to conditions; ``derived`` holds values worth printing with a counterexample."""

    pre: dict[str, Any]
    hyps: dict[str, Any]
    goal: dict[str, Any]
    derived: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Obligation:
    """A closed statement over 64-bit ``variables``; ``build(v, sel) -> Formula``."""

    name: str
    variables: tuple[str, ...]
    build: Callable[[SimpleNamespace, Selection], Formula]


@dataclass(frozen=True)
class Property:
    """A numbered property: its obligations, its Linux counterpart and its scope."""

    key: str
    title: str
    linux: str
    scope: str
    obligations: tuple[Obligation, ...]
    #: Which obligation the necessity check tries first for each dropped precondition.
    necessity_order: tuple[str, ...] = ()

    def obligation(self, name: str) -> Obligation:
        for ob in self.obligations:
            if ob.name == name:
                return ob
        raise KeyError(f"{self.key} has no obligation {name!r}")

    def preconditions(self) -> list[str]:
        """The names of the preconditions any obligation uses, in first-use order."""
        names: list[str] = []
        for ob in self.obligations:
            values = SimpleNamespace(**{n: 0 for n in ob.variables})
            for name in ob.build(values, SPEC).pre:
                if name not in names:
                    names.append(name)
        return names


CALL = ("pgsize_bitmap", "iova", "paddr", "size")


def _call(v):
    return v.pgsize_bitmap, v.iova, v.paddr, v.size


def _next_pgsize(B, pg, N):
    """N is the next larger page size in the bitmap after pg (declaratively)."""
    return bv.all_of(
        L.is_pow2(N), B & N != 0, bv.ult(pg, N),
        B & bv.wrap(N - 1) & bv.wrap(~bv.fill_down(pg)) == 0)


def _no_larger_pgsize(B, pg):
    return B & bv.wrap(~bv.fill_down(pg)) == 0


# P1 ---------------------------------------------------------------------------

def _soundness(v, sel):
    B, I, P, S = _call(v)
    pg, count = sel.batched(B, I, P, S)
    return Formula(
        pre=selection_preconditions(B, I, P, S),
        hyps={},
        goal={
            "pgsize != 0 (BUG_ON(!pgsizes) unreachable)": pg != 0,
            "pgsize is a power of two": pg & bv.wrap(pg - 1) == 0,
            "pgsize is in pgsize_bitmap": B & pg == pg,
            "iova aligned to pgsize": L.aligned(I, pg),
            "paddr aligned to pgsize": L.aligned(P, pg),
            "pgsize <= size": bv.ule(pg, S),
            "the single-page form picks the same pgsize": sel.single(B, I, P, S) == pg,
        },
        derived={"pgsize": pg, "count": count})


# P2 ---------------------------------------------------------------------------

def _maximality(v, sel, *, single=False):
    B, I, P, S = _call(v)
    Q = v.other_pgsize
    pg = sel.single(B, I, P, S) if single else sel.batched(B, I, P, S)[0]
    return Formula(
        pre={},
        hyps={
            "other_pgsize is a page size in pgsize_bitmap": bv.all_of(L.is_pow2(Q), B & Q != 0),
            "iova and paddr aligned to other_pgsize": bv.all_of(L.aligned(I, Q), L.aligned(P, Q)),
            "other_pgsize <= size": bv.ule(Q, S),
        },
        goal={"other_pgsize <= pgsize": bv.ule(Q, pg)},
        derived={"pgsize": pg})


# P3 ---------------------------------------------------------------------------

def _count(v, sel):
    B, I, P, S = _call(v)
    N = v.next_pgsize
    pg, count = sel.batched(B, I, P, S)
    k = bv.log2_pow2(pg)
    run = L.shl(count, k)                      # count * pgsize, exact by the 2nd goal
    every_page = S & bv.wrap(~bv.wrap(pg - 1))  # the most whole pages that fit
    # Linux's condition, in exact arithmetic: a larger page N exists, iova and
    # paddr have the same offset in it, and a whole N fits after the boundary.
    to_boundary = bv.wrap(N - (I & bv.wrap(N - 1)))
    stop = bv.all_of((I ^ P) & bv.wrap(N - 1) == 0, L.sum_le(to_boundary, N, S))
    has_next = _next_pgsize(B, pg, N)
    return Formula(
        pre={**selection_preconditions(B, I, P, S), PRE_NO_HUGE: no_huge_page(B)},
        hyps={},
        goal={
            "count >= 1": count != 0,
            "count * pgsize <= size, without overflow": bv.ule(count, bv.lshr(S, k)),
            "pgsize == 1 << log2(pgsize)": L.shl(1, k) == pg,
            "no larger page size: the run takes every page that fits":
                L.implies(_no_larger_pgsize(B, pg), run == every_page),
            "next_pgsize is next and Linux's condition holds: the run ends at its boundary":
                L.implies(bv.all_of(has_next, stop), run == to_boundary),
            "next_pgsize is next and Linux's condition fails: every page that fits":
                L.implies(bv.all_of(has_next, L.not_(stop)), run == every_page),
            "after a run that stops, the next step can map a next_pgsize page":
                L.implies(bv.all_of(has_next, stop), bv.all_of(
                    L.aligned(bv.wrap(I + run), N), L.aligned(bv.wrap(P + run), N),
                    bv.ule(N, bv.wrap(S - run)))),
        },
        derived={"pgsize": pg, "count": count})


def _wrap(v, sel):
    B, I, P, S = _call(v)
    N = v.next_pgsize
    pg = sel.batched(B, I, P, S)[0]
    offset = bv.wrap(N - ((I | P) & bv.wrap(N - 1)))  # as iommu_pgsize computes it
    wraps = L.not_(bv.ule(offset, bv.wrap(~N)))      # offset + N >= 2^64
    return Formula(
        pre={},
        hyps={"next_pgsize is the next larger page size after pgsize": _next_pgsize(B, pg, N)},
        goal={"offset + pgsize_next wraps iff pgsize_next == 2^63 and iova, paddr are "
              "multiples of 2^63":
              wraps == bv.all_of(N == L.TOP_BIT, (I | P) & (L.TOP_BIT - 1) == 0)},
        derived={"pgsize": pg, "offset": offset})


# P4 ---------------------------------------------------------------------------

def _loop_preconditions(B, I, P, S, unmap):
    m = bv.lowbit(B)
    pre = {PRE_IOVA_ALIGNED: L.aligned(I, m)}
    if not unmap:
        pre[PRE_PADDR_ALIGNED] = L.aligned(P, m)
    pre[PRE_SIZE_ALIGNED] = L.aligned(S, m)
    pre[PRE_NO_HUGE] = no_huge_page(B)
    pre[PRE_IOVA_END] = L.fits_end(I, S)
    if not unmap:
        pre[PRE_PADDR_END] = L.fits_end(P, S)
    return pre


def loop_invariant(B, I, P, S, i, p, r, c) -> dict[str, Any]:
    """The invariant of the core's map/unmap loop over ``(cur_iova, cur_paddr, remaining, mapped)``.

    drivers/iommu/iommu.c ``__iommu_map`` / ``__iommu_unmap``: after mapping
    ``mapped`` bytes of the call ``(iova, paddr, size)`` the loop stands at
    iova + mapped, paddr + mapped with size - mapped left, all aligned to the
    smallest page.
    """
    m = bv.lowbit(B)
    return {
        "mapped <= size": bv.ule(c, S),
        "remaining == size - mapped": r == bv.wrap(S - c),
        "cur_iova == iova + mapped": i == bv.wrap(I + c),
        "cur_paddr == paddr + mapped": p == bv.wrap(P + c),
        "cur_iova, cur_paddr, remaining aligned to the min page": L.aligned(i | p | r, m),
    }


def _loop_vars(unmap, *extra):
    call = ("pgsize_bitmap", "iova", "size") if unmap else CALL
    return call + tuple(n for n in extra if not (unmap and n == "cur_paddr"))


def _loop_call(v, unmap):
    P = v.iova if unmap else v.paddr  # __iommu_unmap passes iova twice
    return v.pgsize_bitmap, v.iova, P, v.size


def _loop_init(v, sel, *, unmap):
    B, I, P, S = _loop_call(v, unmap)
    return Formula(pre=_loop_preconditions(B, I, P, S, unmap), hyps={},
                   goal=loop_invariant(B, I, P, S, I, P, S, 0))


def _loop_step(v, sel, *, unmap, first=False):
    B, I, P, S = _loop_call(v, unmap)
    if first:  # the first step of a real call: no invariant assumed
        i, p, r, c = I, P, S, 0
        hyps = {}
    else:
        i, r, c = v.cur_iova, v.remaining, v.mapped
        p = i if unmap else v.cur_paddr
        hyps = {f"before: {k}": x for k, x in loop_invariant(B, I, P, S, i, p, r, c).items()}
    pg, count = sel.batched(B, i, p, r)
    k = bv.log2_pow2(pg)
    done = v.pages_done  # the driver may report fewer pages than asked for
    step = L.shl(done, k)
    hyps["remaining != 0 (the loop runs)"] = r != 0
    hyps["1 <= pages_done <= count"] = bv.all_of(done != 0, bv.ule(done, count))
    after = loop_invariant(B, I, P, S, bv.wrap(i + step), bv.wrap(p + step),
                           bv.wrap(r - step), bv.wrap(c + step))
    return Formula(
        pre=_loop_preconditions(B, I, P, S, unmap),
        hyps=hyps,
        goal={
            "pgsize == 1 << log2(pgsize)": L.shl(1, k) == pg,
            "pages_done * pgsize <= remaining, without overflow": bv.ule(done, bv.lshr(r, k)),
            "remaining strictly decreases": bv.ult(bv.wrap(r - step), r),
            "the pages are aligned to pgsize in iova and paddr": L.aligned(i | p, pg),
            "the batch ends at or below 2^64 in iova": L.fits_end(i, step),
            "the batch ends at or below 2^64 in paddr": L.fits_end(p, step),
            **{f"after: {name}": x for name, x in after.items()},
        },
        derived={"pgsize": pg, "count": count})


def _loop_exit(v, sel, *, unmap):
    B, I, P, S = _loop_call(v, unmap)
    i, r, c = v.cur_iova, v.remaining, v.mapped
    p = i if unmap else v.cur_paddr
    return Formula(
        pre=_loop_preconditions(B, I, P, S, unmap),
        hyps={**{f"before: {k}": x for k, x in loop_invariant(B, I, P, S, i, p, r, c).items()},
              "remaining == 0 (the loop ends)": r == 0},
        goal={"mapped == size: the batches tile [iova, iova + size)": c == S})


def _loop_property(key, unmap):
    state = ("cur_iova", "cur_paddr", "remaining", "mapped")
    what = "unmap" if unmap else "map"
    fn = "__iommu_unmap" if unmap else "__iommu_map"

    def ob(name, build, *extra, **kw):
        return Obligation(name, _loop_vars(unmap, *extra),
                          lambda v, sel: build(v, sel, unmap=unmap, **kw))

    return Property(
        key=key,
        title=f"loop invariant of the {what} loop (inductive)",
        linux=f"drivers/iommu/iommu.c {fn} (v5.14+)",
        scope="unbounded",
        obligations=(
            ob("init", _loop_init),
            ob("step", _loop_step, *state, "pages_done"),
            ob("exit", _loop_exit, *state),
            ob("first step", _loop_step, "pages_done", first=True),
        ),
        necessity_order=("first step", "step", "init", "exit"))


# P5 ---------------------------------------------------------------------------

def _refinement(v, sel):
    B, I, P, S = _call(v)
    j = v.position
    pg, count = sel.batched(B, I, P, S)
    k = bv.log2_pow2(pg)
    offset = L.shl(j, k)
    return Formula(
        pre={**selection_preconditions(B, I, P, S), PRE_NO_HUGE: no_huge_page(B)},
        hyps={"position < count": bv.ult(j, count)},
        goal={
            "the page at position lies inside [iova, iova + size)": L.sum_le(offset, pg, S),
            "the single-page form picks pgsize at position":
                sel.single(B, bv.wrap(I + offset), bv.wrap(P + offset),
                           bv.wrap(S - offset)) == pg,
            "one more single step lands on position + 1":
                bv.wrap(offset + pg) == L.shl(bv.wrap(j + 1), k),
        },
        derived={"pgsize": pg, "count": count})


# P6 ---------------------------------------------------------------------------

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
        goal={"one page of pgsize at iova is a valid page of the tiling": bv.all_of(
            L.is_pow2(pg), B & pg != 0, L.aligned(I | P, pg), bv.ule(pg, S))},
        derived={"pgsize": pg})


PROPERTIES: tuple[Property, ...] = (
    Property(
        "P1", "soundness: one supported, aligned page <= size; BUG_ON unreachable",
        "drivers/iommu/iommu.c iommu_pgsize (BUG_ON(!pgsizes))", "unbounded",
        (Obligation("sound", CALL, _soundness),)),
    Property(
        "P2", "maximality: no larger supported page size fits",
        "drivers/iommu/iommu.c iommu_pgsize (__fls of the candidates)", "unbounded",
        (Obligation("maximal", CALL + ("other_pgsize",), _maximality),)),
    Property(
        "P3", "(pgsize, count): count >= 1, no overflow, stops at the next page exactly as Linux",
        "drivers/iommu/iommu.c iommu_pgsize (v5.14+, count)", "unbounded",
        (Obligation("count", CALL + ("next_pgsize",), _count),)),
    Property(
        "P3w", "Linux's offset + pgsize_next wraps iff pgsize_next = 2^63, iova = paddr = 0 mod 2^63",
        "drivers/iommu/iommu.c iommu_pgsize (size_t offset + pgsize_next)", "unbounded",
        (Obligation("wrap", CALL + ("next_pgsize",), _wrap),)),
    _loop_property("P4", unmap=False),
    _loop_property("P4u", unmap=True),
    Property(
        "P5", "refinement: the batched loop maps the pages the one-page loop maps",
        "drivers/iommu/iommu.c __iommu_map: iommu_pgsize + map_pages (v5.14) vs map (v3.3)",
        "unbounded",
        (Obligation("batch", CALL + ("position",), _refinement),)),
    Property(
        "P6", "minimality: the greedy tiling uses the fewest pages (exchange lemma)",
        "drivers/iommu/iommu.c __iommu_map / iommu_pgsize", "unbounded (with the induction in docs)",
        (Obligation("first page", CALL + ("other_pgsize",),
                    lambda v, sel: _maximality(v, sel, single=True)),
         Obligation("nesting", CALL + ("page_iova", "page_size"), _nesting),
         Obligation("replacement", CALL, _replacement))),
)


def get_property(key: str) -> Property:
    """The property numbered ``key`` ("P1", ..., "P6"); KeyError if there is none."""
    for prop in PROPERTIES:
        if prop.key == key:
            return prop
    raise KeyError(f"no property {key!r}; known: {', '.join(p.key for p in PROPERTIES)}")
