"""64-bit unsigned arithmetic that runs on Python ints *and* on z3 bit-vectors.

The page-size selection in :mod:`spec.pgsize` is written once, against these
helpers, so that the very function the model executes on ints can be handed
64-bit z3 bit-vectors and proved (``python -m spec.proofs``).  Each helper
dispatches on its arguments: plain ints (and bools) take the Python path, and
anything else is assumed to be a z3 expression.  z3 is imported lazily, so the
model never needs it at run time.

Conventions (the same as Linux's ``unsigned long`` on a 64-bit kernel):

* values are in [0, 2^64); ``wrap`` reduces a Python int modulo 2^64, which
  z3 bit-vectors do by themselves;
* comparisons are unsigned (z3's ``<`` is signed, so never use it directly);
* shifts are logical.

Only shifts, masks, additions and subtractions are used: bit-vector
multiplication and division are slow in z3, and page sizes are powers of two,
so none is needed.
"""

WIDTH = 64
MASK = (1 << WIDTH) - 1


def _concrete(*xs) -> bool:
    for x in xs:  # a plain loop: this runs on every helper call of the model
        if not isinstance(x, int):  # bool is an int too
            return False
    return True


def _z3():
    import z3  # deferred: the model itself never needs z3
    return z3


def wrap(x):
    """x modulo 2^64 (what a C ``unsigned long`` holds)."""
    return x & MASK if type(x) is int else x


def ule(a, b):
    """Unsigned a <= b."""
    return a <= b if _concrete(a, b) else _z3().ULE(a, b)


def ult(a, b):
    """Unsigned a < b."""
    return a < b if _concrete(a, b) else _z3().ULT(a, b)


def lshr(a, n):
    """Logical shift right."""
    if type(a) is int and type(n) is int:
        return a >> n
    return _z3().LShR(a, n)


def select(cond, a, b):
    """``a if cond else b``, also for symbolic conditions (z3 ``If``)."""
    if isinstance(cond, bool):
        return a if cond else b
    z3 = _z3()
    if _concrete(a, b):
        # Constant branches must become 64-bit vectors: z3.If would make them
        # unbounded z3 integers, which do not mix with bit-vectors.
        a, b = z3.BitVecVal(a, WIDTH), z3.BitVecVal(b, WIDTH)
    return z3.If(cond, a, b)


def all_of(*conds):
    """Logical and of conditions that may be bools or z3 booleans."""
    for c in conds:
        if not isinstance(c, bool):
            return _z3().And(*conds)
    return all(conds)


def is_zero(x):
    return x == 0


def lowbit(x):
    """The lowest set bit of x, as a value (``x & -x``); 0 for x == 0."""
    return x & wrap(-x)


def _fill_down_shifts(x):
    for shift in (1, 2, 4, 8, 16, 32):
        x = x | lshr(x, shift)
    return x


def fill_down(x):
    """Every bit at or below x's highest set bit: ``GENMASK(__fls(x), 0)``; 0 for 0.

    Symbolic values take the shift-and-or ladder; Python ints take
    ``int.bit_length``, which the tests tie to the ladder exhaustively at small
    widths and by Hypothesis at 64 bits (tests/test_bitops.py).
    """
    if type(x) is int:
        return (1 << x.bit_length()) - 1
    return _fill_down_shifts(x)


def msb(x):
    """The highest set bit of x, as a value: ``BIT(__fls(x))``; 0 for x == 0."""
    if type(x) is int:
        return 1 << (x.bit_length() - 1) if x else 0
    f = fill_down(x)
    return f ^ lshr(f, 1)


def mask_through(bit):
    """Every bit at or below the single bit ``bit``: ``GENMASK(log2(bit), 0)``.

    For ``bit == 0`` this is all ones, which is exactly what Linux's
    ``if (likely(addr_merge))`` guard in ``iommu_pgsize`` achieves: an address
    of 0 is aligned to every page size.
    """
    return bit | wrap(bit - 1)


_LOG2_MASKS = (
    (0xAAAAAAAAAAAAAAAA, 1),
    (0xCCCCCCCCCCCCCCCC, 2),
    (0xF0F0F0F0F0F0F0F0, 4),
    (0xFF00FF00FF00FF00, 8),
    (0xFFFF0000FFFF0000, 16),
    (0xFFFFFFFF00000000, 32),
)


def _log2_masks(p):
    idx = 0
    for mask, weight in _LOG2_MASKS:
        idx = idx | select(p & mask != 0, weight, 0)
    return idx


def log2_pow2(p):
    """log2 of a power of two p (the bit index); 0 for p == 0 or p == 1.

    Symbolic values take the six-mask form; Python ints take ``bit_length``
    (tied to the masks in tests/test_bitops.py).
    """
    if type(p) is int:
        return p.bit_length() - 1 if p else 0
    return _log2_masks(p)
