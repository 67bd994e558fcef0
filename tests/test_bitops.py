"""The int fast paths of spec.bitops compute exactly what the symbolic formulas compute.

The model runs fill_down, msb and log2_pow2 on Python ints with bit_length;
the proofs run the shift ladders and masks on z3 bit-vectors.  These tests tie
the two: exhaustively for every 12-bit value, and by Hypothesis at 64 bits.
"""

from hypothesis import given, strategies as st

from spec import bitops as bv

U64 = st.integers(0, (1 << 64) - 1)


def test_fill_down_matches_the_shift_ladder_exhaustively_at_12_bits():
    """fill_down(x) == the shift-and-or ladder for every x < 2^12."""
    assert all(bv.fill_down(x) == bv._fill_down_shifts(x) for x in range(1 << 12))


def test_msb_matches_the_ladder_form_exhaustively_at_12_bits():
    """msb(x) == ladder ^ (ladder >> 1) for every x < 2^12."""
    for x in range(1 << 12):
        f = bv._fill_down_shifts(x)
        assert bv.msb(x) == f ^ (f >> 1)


def test_log2_matches_the_masks_for_every_power_of_two():
    """log2_pow2(p) == the six-mask form for p = 0 and every power of two below 2^64."""
    for p in [0] + [1 << k for k in range(64)]:
        assert bv.log2_pow2(p) == bv._log2_masks(p)


@given(U64)
def test_fill_down_and_msb_match_at_64_bits(x):
    """At 64 bits the fast paths equal the symbolic formulas evaluated on ints."""
    f = bv._fill_down_shifts(x)
    assert bv.fill_down(x) == f
    assert bv.msb(x) == f ^ (f >> 1)


def test_fast_paths_agree_with_z3_on_sample_values():
    """The symbolic path, evaluated by z3 on constants, gives the same numbers as the int path."""
    import z3
    for x in [0, 1, 2, 3, 0x1000, 0x40201000, (1 << 63) | 5, (1 << 64) - 1]:
        v = z3.BitVecVal(x, 64)
        assert z3.simplify(bv.fill_down(v)).as_long() == bv.fill_down(x)
        assert z3.simplify(bv.msb(v)).as_long() == bv.msb(x)
        p = bv.msb(x)
        assert z3.simplify(bv.log2_pow2(z3.BitVecVal(p, 64))).as_long() == bv.log2_pow2(p)
