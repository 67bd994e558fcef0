"""Ranged comparison: a step compares only the window it touched, and still nothing is missed.

The model, the table drivers and the protocol (examples/c-radix) answer
``leaves(iova, end)`` with the leaves that intersect the window; the state
machine compares windows, the whole state every FULL_EVERY comparisons and at
teardown.  Expected values here are written out by hand.
"""

import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from difftest import DiffFailure, build_machine
from difftest.external import ExternalImplementation
from difftest.machine import call_range, clip_translations, window_of
from impls import AmdV1, GenericPt, Lpae, MapPages
from spec import IOMMU_READ, IOMMU_WRITE, ReferenceDomain, canonical_leaves, clip_leaves

RW = IOMMU_READ | IOMMU_WRITE
K4, K64, M2, G1 = 0x1000, 0x10000, 0x200000, 0x40000000
ROOT = Path(__file__).resolve().parent.parent


def test_clip_cuts_runs_at_leaf_boundaries_and_keeps_whole_leaves():
    # 8 x 4K leaves from 0x10000, one 2M leaf at 2M
    leaves = [(0x10000, 0x80000, K4, 8, RW), (M2, 0x40000000, M2, 1, RW)]
    # a window from the middle of the 3rd 4K leaf to inside the 2M leaf
    assert clip_leaves(leaves, 0x12800, M2 + 1) == [(0x12000, 0x82000, K4, 6, RW),
                                                     (M2, 0x40000000, M2, 1, RW)]
    assert clip_leaves(leaves, 0x20000, M2) == []  # the hole between them
    # runs split differently describe the same leaves: the same result
    split = [(0x10000, 0x80000, K4, 3, RW), (0x13000, 0x83000, K4, 5, RW)]
    assert clip_leaves(split, 0x11000, 0x15000) == clip_leaves(leaves, 0x11000, 0x15000) == \
        [(0x11000, 0x81000, K4, 4, RW)]


def test_model_leaves_and_tables_in_a_window():
    d = ReferenceDomain("arm-lpae-4k")
    assert d.map(0, 0x100000, 4 * K4, RW) == 0          # 4 pages in the first 2M
    assert d.map(G1, 0x80000000, M2, RW) == 0           # a 2M block in the second 1G
    assert d.leaves(K4, 2 * K4) == [(K4, 0x101000, K4, 1, RW)]
    assert d.leaves(G1 - 1, G1 + 1) == [(G1, 0x80000000, M2, 1, RW)]
    assert d.leaves(4 * K4, G1) == []
    # tables (base, span): the level-1 table under pgd entry 0, a level-2 table per 1G used,
    # and the level-3 table of the 4K pages
    assert d.table_listing() == [(0, M2), (0, G1), (0, 512 * G1), (G1, G1)]
    assert d.table_listing(G1, G1 + M2) == [(0, 512 * G1), (G1, G1)]
    assert d.table_listing(K4, 2 * K4) == [(0, M2), (0, G1), (0, 512 * G1)]


@pytest.mark.parametrize("cls,profile", [(Lpae, "arm-lpae-4k"), (GenericPt, "intel-vtd"),
                                         (AmdV1, "amd-v1"), (MapPages, "intel-vtd")])
def test_a_drivers_ranged_leaves_are_the_clipped_whole_dump(cls, profile):
    """For random states and windows, leaves(lo, hi) clipped equals the full dump clipped."""
    rng = random.Random(7)
    impl = cls(profile)
    for _ in range(60):
        iova = rng.randrange(0, 1 << 12) * K4 * rng.choice([1, 16, 512])
        size = rng.choice([K4, 3 * K4, K64, M2, M2 + K4, 2 * M2, G1])
        impl.map(iova % (1 << 39), (iova % (1 << 39)) + G1, size, RW)
        if rng.random() < 0.3:
            impl.unmap(rng.randrange(0, 1 << 12) * K4 * 16, rng.choice([K4, M2]))
    whole = impl.leaves()
    assert whole, "the state must not be empty for this test to mean anything"
    for _ in range(200):
        lo = rng.randrange(0, 1 << 27) * K4
        hi = lo + rng.choice([1, K4, K64, M2, G1, 1 << 40])
        assert clip_leaves(impl.leaves(lo, hi), lo, hi) == clip_leaves(whole, lo, hi)
    if hasattr(impl, "tables"):
        tables = impl.tables()
        for _ in range(50):
            lo = rng.randrange(0, 1 << 27) * K4
            hi = lo + rng.choice([K4, M2, G1])
            assert impl.tables(lo, hi) == [t for t in tables if t[0] < hi and t[0] + t[1] > lo]


def test_a_window_is_the_call_widened_to_its_largest_leaf_or_everything_past_the_top():
    top = 1 << 48
    span = call_range("map", {"iova": 0x201000, "paddr": 0, "size": K4, "prot": RW}, K4)
    assert span == (0x201000, 0x202000)
    assert window_of(span, K4, top) == span
    assert window_of(span, M2, top) == (M2, 2 * M2)  # a 2M leaf there: the whole block
    assert call_range("unmap_pages", {"iova": M2, "pgsize": K4, "pgcount": 513}, K4) == \
        (M2, M2 + 513 * K4)
    # a map_sg entry at offset 0x800 of 0x1000 bytes spans two pages
    assert call_range("map_sg", {"iova": 0, "sg": [(0, 0x800, 0x1000), (0x5000, 0, 0x3000)],
                                 "prot": RW}, K4) == (0, 0x5000)
    assert window_of(call_range("iova_to_phys", {"iova": 5}, K4), K64, top) == (0, K64)
    # a range that reaches past 2^ias, or wraps, is compared everywhere
    assert window_of((top - K4, top + K4), K4, top) is None
    assert window_of(((1 << 64) - K4, (1 << 64) + K4), K4, top) is None


def test_translations_are_clipped_to_the_byte():
    trs = [(0, 0x10000, 3 * K4, RW), (M2, G1, M2, RW)]
    assert clip_translations(trs, K4, M2 + K4) == [(K4, 0x11000, 2 * K4, RW), (M2, G1, K4, RW)]
    assert clip_translations(trs, 3 * K4, M2) == []


class _AliasingMapPages(MapPages):
    """Maps correctly, and also writes an alias of every map 64 GiB higher: outside any window."""

    name = "aliasing"

    def map(self, iova, paddr, size, prot):
        ret = super().map(iova, paddr, size, prot)
        alias = iova + (1 << 36)
        if ret == 0 and size <= 16 * K4 and alias + size <= 1 << 48 and \
                not self.driver._overlap(alias, alias + size):
            self.driver.map_pages(alias, paddr, self.pgsize_bitmap & -self.pgsize_bitmap,
                                  size // (self.pgsize_bitmap & -self.pgsize_bitmap), prot)
        return ret


def test_a_change_outside_every_window_is_still_caught():
    """The whole-state comparison (every FULL_EVERY steps and at teardown) sees far-away damage."""
    machine = build_machine(_AliasingMapPages, "intel-vtd")
    with pytest.raises(DiffFailure) as info:
        run_state_machine_as_test(machine, settings=settings(
            settings.get_profile("ci"), max_examples=200, stateful_step_count=10))
    assert "mismatch in translation state" in str(info.value)


def test_c_radix_answers_a_ranged_dump(tmp_path):
    """{"op":"dump","iova":I,"size":S} lists only the leaves that intersect [I, I+S)."""
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler: `cc` is not on PATH, so examples/c-radix cannot be built")
    exe = tmp_path / "radix"
    subprocess.run([cc, "-O2", "-o", str(exe), str(ROOT / "examples" / "c-radix" / "radix.c")],
                   check=True)
    impl = ExternalImplementation(str(exe), "intel-vtd")
    try:
        assert impl.map(0, 0x100000, 2 * K4, RW) == 0
        assert impl.map(M2, 0x40000000, M2, RW) == 0
        assert impl.map(G1, 0x80000000, K4, RW) == 0
        assert canonical_leaves(impl.leaves()) == [(0, 0x100000, K4, 2, RW), (M2, 0x40000000, M2, 1, RW),
                                                   (G1, 0x80000000, K4, 1, RW)]
        assert canonical_leaves(impl.leaves(K4, M2 + 1)) == [(K4, 0x101000, K4, 1, RW),
                                                             (M2, 0x40000000, M2, 1, RW)]
        assert impl.leaves(2 * K4, M2) == []
        assert canonical_leaves(impl.leaves(G1, 1 << 64)) == [(G1, 0x80000000, K4, 1, RW)]
    finally:
        impl.close()
