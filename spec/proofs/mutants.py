"""Seeded bugs in page-size selection, which the proofs must each refute.

A mutant is :func:`spec.pgsize.pgsize_and_count` itself -- the same code
object -- run against a modified copy of its :mod:`spec.bitops` helpers (one
helper swapped for a buggy one), or wrapped so that it sees wrong arguments.
The spec's source is never edited or copied.  Each helper swap affects only
the calls made *directly* by ``pgsize_and_count``: the other helpers keep
their own, correct, globals.

Each mutant models a mistake one could make in ``iommu_pgsize``
(drivers/iommu/iommu.c); every one must be refuted with a counterexample,
or ``python -m spec.proofs`` fails.
"""

import types
from dataclasses import dataclass

from spec import bitops as bv
from spec.pgsize import pgsize_and_count

from . import logic as L
from .properties import Selection


@dataclass(frozen=True)
class Mutant:
    """A named seeded bug: ``what`` it models and the buggy ``selection``."""

    name: str
    what: str
    selection: Selection


def _with_helpers(**overrides):
    """``pgsize_and_count`` running against spec.bitops with ``overrides`` swapped in."""
    if pgsize_and_count.__globals__.get("bv") is not bv:
        raise RuntimeError("spec.pgsize no longer reaches spec.bitops as 'bv'; update mutants.py")
    helpers = types.SimpleNamespace(**{n: getattr(bv, n) for n in dir(bv) if not n.startswith("__")})
    for name, fn in overrides.items():
        if not hasattr(helpers, name):
            raise AttributeError(f"spec.bitops has no helper {name!r}")
        setattr(helpers, name, fn)
    code = pgsize_and_count
    return types.FunctionType(code.__code__, dict(code.__globals__, bv=helpers),
                              code.__name__, code.__defaults__, code.__closure__)


def _selection(name, batched):
    return Selection(name, batched, lambda *args: batched(*args)[0])


def _lshr_round_up(a, n):
    """``a >> n`` rounded up: a count that covers a partial page."""
    return bv.wrap(bv.lshr(a, n) + bv.select(a & bv.wrap(L.shl(1, n) - 1) != 0, 1, 0))


def _ashr(a, n):
    """Arithmetic shift right (z3's ``>>`` on bit-vectors), where a logical one was meant."""
    if isinstance(a, int) and isinstance(n, int):
        signed = a - (1 << L.WIDTH) if a & L.TOP_BIT else a
        return bv.wrap(signed >> min(n, L.WIDTH))
    return a >> n


def _paddr_ignored(pgsize_bitmap, iova, paddr, size):
    return pgsize_and_count(pgsize_bitmap, iova, iova, size)


MUTANTS: tuple[Mutant, ...] = (
    Mutant("align-mask-off-by-one",
           "GENMASK(__ffs(addr_merge) + 1, 0): allows a page one size above the alignment",
           _selection("align-mask-off-by-one", _with_helpers(
               mask_through=lambda bit: bv.mask_through(bv.wrap(bit << 1))))),
    Mutant("paddr-ignored",
           "addr_merge = iova: paddr's alignment is not checked",
           _selection("paddr-ignored", _paddr_ignored)),
    Mutant("next-size-check-missing",
           "no pgsize_next logic: the run always takes every page that fits",
           _selection("next-size-check-missing", _with_helpers(all_of=lambda *conds: False))),
    Mutant("congruence-check-missing",
           "the (iova ^ paddr) & (pgsize_next - 1) test is left out",
           _selection("congruence-check-missing", _with_helpers(
               all_of=lambda *conds: bv.all_of(conds[0], conds[2])))),
    Mutant("fit-check-missing",
           "the offset + pgsize_next <= size test is left out",
           _selection("fit-check-missing", _with_helpers(
               all_of=lambda *conds: bv.all_of(conds[0], conds[1])))),
    Mutant("fit-check-strict",
           "offset + pgsize_next < size instead of <=",
           _selection("fit-check-strict", _with_helpers(ule=bv.ult))),
    Mutant("count-rounds-up",
           "count = DIV_ROUND_UP(size, pgsize): the division truncates the wrong way",
           _selection("count-rounds-up", _with_helpers(lshr=_lshr_round_up))),
    Mutant("count-signed-shift",
           "count = size >> idx as an arithmetic (signed) shift",
           _selection("count-signed-shift", _with_helpers(lshr=_ashr))),
)


def get_mutant(name: str) -> Mutant:
    """The mutant called ``name``; KeyError if there is none."""
    for m in MUTANTS:
        if m.name == name:
            return m
    raise KeyError(f"no mutant {name!r}; known: {', '.join(m.name for m in MUTANTS)}")
