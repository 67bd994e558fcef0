"""Linux's fixes of 2024 to 2026 (spec.history.FIXES): the tester reports each old behaviour.

Each fix's behaviour before it is planted in tests/mutants.py under its
before_rule name; the state machine (or a vector, where the generator
cannot reach the input) must report it under the rule the fix restored.
The two fixes outside the API the model states pin the unchanged API answer.
"""

import re

import pytest
from hypothesis.stateful import run_state_machine_as_test

from difftest import build_machine
from difftest.vectors import InProcessTarget, build_vector, run_vector
from spec import IOMMU_READ, IOMMU_WRITE, ReferenceDomain, get_profile
from spec.errors import EINVAL, ENXIO
from spec.history import FIXES, RULE_SPANS
from spec.kernels import for_kernel

from . import mutants
from .test_mutants import QUALITY, catch

RW = IOMMU_READ | IOMMU_WRITE


def test_map_prot_noop_is_caught():
    """6093cd582f8e: map_pages returning 0 for a prot without access hangs __iommu_map; the
    tester reports the driver that made no progress on the no-access map (MAP_PROT)."""
    report = catch(mutants.MapProtNoop, "arm-lpae-4k")
    assert "mapped nothing: the core cannot make progress" in report
    assert re.search(r"spec: +-EINVAL +rules: MAP_PROT", report), report


def test_unmap_hole_enoent_is_caught():
    """374e7af67d9d: -ENOENT through size_t for an unmap of a hole is a return-value
    difference under UNMAP_HOLE."""
    report = catch(mutants.UnmapHoleEnoent, "arm-lpae-4k")
    assert "UNMAP_HOLE" in report and "0xfffffffffffffffe" in report.lower(), report


def test_short_gather_is_caught():
    """ee6e69d03255 (CVE-2026-31735): the rest of a whole-leaf unmap stays cached: IOTLB_STALE."""
    report = catch(mutants.ShortGather, "intel-vtd")
    assert "violates IOTLB_STALE" in report, report


def test_skipped_sync_is_caught():
    """7e0548525abd: no iotlb_sync for a driver that never fills the gather: IOTLB_STALE; with
    the fix the same driver passes."""
    report = catch(mutants.SyncSkippedOnEmptyGather, "intel-vtd")
    assert "violates IOTLB_STALE" in report, report
    run_state_machine_as_test(build_machine(mutants.SyncOnEmptyGather, "intel-vtd"),
                              settings=QUALITY)


def test_lost_map_errno_is_caught():
    """6fc7e8a3b811: iommu_map returning 0 after rolling back a failed map."""
    report = catch(mutants.MapErrnoLost, "arm-lpae-4k")
    assert "mismatch in return value" in report and re.search(r"implementation: +0\n", report), \
        report


def test_4k_fast_path_without_4k_is_caught():
    """8ef3f77c4400: the generator never asks a 2M-page domain for 4K, so a vector does: the
    model says -ENXIO, the old fast path maps a 4K leaf and fails the vector."""
    profile = get_profile("intel-vtd")
    bitmap = (1 << 21) | (1 << 30)
    vector = build_vector("history/4k-fast-path", "a 4K map on a domain without 4K pages",
                          profile, "generic-pt", bitmap,
                          [{"op": "map", "iova": 0, "paddr": 0, "size": 1 << 12, "prot": RW}],
                          core="map_range")
    assert vector["steps"][1]["expect"] == {"ret": -ENXIO}
    assert run_vector(vector, InProcessTarget(mutants.FastPath4kIgnoresBitmap)).status == "fail"
    from impls import MapRange
    assert run_vector(vector, InProcessTarget(MapRange)).status == "pass"


def test_iova_to_phys_of_pa_0_reads_0():
    """0a4d00e2e99a changed a caller only: iova_to_phys of a mapping to PA 0 is 0, as for a hole."""
    d = ReferenceDomain("intel-vtd", "generic-pt")
    assert d.map(0x10000, 0, 0x1000, RW) == 0
    assert d.iova_to_phys(0x10000) == 0 == d.iova_to_phys(0x20000)
    assert d.iova_to_phys(0x10004) == 4


def test_zero_size_map_by_release():
    """6ec91df8aff7's cause: iommu_map of 0 bytes is 0 on v7.0's classic core and -EINVAL on
    v7.1's iommupt core (MAP_ZERO_SIZE)."""
    assert ReferenceDomain.for_kernel("7.0", "intel").map(0x1000, 0x1000, 0, RW) == 0
    assert ReferenceDomain.for_kernel("7.1", "intel").map(0x1000, 0x1000, 0, RW) == -EINVAL
    assert ReferenceDomain.for_kernel("7.1", "arm-smmu-v3").map(0x1000, 0x1000, 0, RW) == 0


def test_every_fix_names_a_test_here_and_a_known_rule():
    """FIXES and this file agree: each caught_by names a test of this module, each rule exists."""
    from spec import RULES
    here = globals()
    for fix in FIXES:
        assert fix.rule in RULES and fix.rule in RULE_SPANS, fix.commit
        test = re.search(r"tests/test_history.py::(\w+)", fix.caught_by).group(1)
        assert test in here, fix.caught_by
        assert fix.before_rule not in RULES  # the old behaviour is a name, not a current rule


def test_missing_fixes_by_release():
    """A release before a fix lists it; the fix's release does not."""
    assert any("6093cd582f8e" in t for t in for_kernel("6.10", "arm-smmu-v3").missing_fixes)
    assert not for_kernel("6.11", "arm-smmu-v3").missing_fixes
    assert [t.split()[0] for t in for_kernel("6.19", "intel").missing_fixes] == \
        ["ee6e69d03255", "8ef3f77c4400"]
    assert [t.split()[0] for t in for_kernel("7.0", "intel").missing_fixes] == ["8ef3f77c4400"]
