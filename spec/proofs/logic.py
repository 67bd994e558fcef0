"""Logic and exact-arithmetic helpers that, like :mod:`spec.bitops`, run on ints and on z3.

The properties in :mod:`spec.proofs.properties` are written once with these
helpers.  z3 proves them over 64-bit bit-vectors; the same property code run
on plain ints re-checks a counterexample concretely, with the int code path
of :mod:`spec.pgsize` that the model executes.

Every value is a 64-bit unsigned quantity.  Where a property must talk about
a sum that could exceed 2^64 (a range's end, ``offset + pgsize_next``), the
comparison is rewritten so that nothing is ever computed modulo 2^64 by
accident: :func:`sum_le` and :func:`fits_end` are exact.
"""

from spec import bitops as bv

WIDTH = bv.WIDTH
TOP_BIT = 1 << (WIDTH - 1)


def _z3():
    import z3  # deferred, as in spec.bitops
    return z3


def _symbolic(*xs) -> bool:
    return not all(isinstance(x, int) for x in xs)  # bool is an int too


def not_(c):
    """Logical not of a bool or a z3 boolean."""
    return (not c) if isinstance(c, bool) else _z3().Not(c)


def any_of(*conds):
    """Logical or of bools or z3 booleans."""
    if all(isinstance(c, bool) for c in conds):
        return any(conds)
    return _z3().Or(*conds)


def implies(a, b):
    """``a -> b`` for bools or z3 booleans."""
    if isinstance(a, bool) and isinstance(b, bool):
        return (not a) or b
    return _z3().Implies(a, b)


def shl(x, n):
    """``x << n`` modulo 2^64; 0 when ``n >= 64`` (z3's bit-vector shift does the same)."""
    if not _symbolic(x, n):
        return bv.wrap(x << n) if n < WIDTH else 0
    z3 = _z3()
    if isinstance(x, int):
        x = z3.BitVecVal(x, WIDTH)
    return x << n


def is_pow2(x):
    """x is a single page size: a power of two (not 0)."""
    return bv.all_of(x != 0, x & bv.wrap(x - 1) == 0)


def aligned(x, pgsize):
    """x is a multiple of the power of two ``pgsize`` (every x, for pgsize 0 ... only 0)."""
    return x & bv.wrap(pgsize - 1) == 0


def sum_le(a, b, c):
    """Exactly ``a + b <= c`` (no wrap at 2^64), for 64-bit a, b, c."""
    return bv.all_of(bv.ule(b, c), bv.ule(a, bv.wrap(c - b)))


def fits_end(start, length):
    """Exactly ``start + length <= 2^64``: the range ends at or below the top of the space."""
    return any_of(length == 0, bv.ule(start, bv.wrap(-length)))
