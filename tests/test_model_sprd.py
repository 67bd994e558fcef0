"""Unit tests of the model's ``sprd`` and ``sprd-v6.1`` variants: drivers/iommu/sprd-iommu.c.

One flat table of 65536 u32 PTEs over a 256M aperture; a PTE is ``(u32)paddr >> 12`` with no
valid bit and no permissions.  Each expected value is worked out by hand from
sprd_iommu_map / sprd_iommu_unmap / sprd_iommu_iova_to_phys as Debian's 6.1.192 and 6.12.118
have them, and the core's loop in iommu.c, and agrees with the driver run through the kernel
harness (tests/test_linuxpt_sprd.py).
"""

from spec import ReferenceDomain
from spec.errors import EINVAL
from spec.kernels import for_kernel

RW, K4, M256 = 3, 0x1000, 0x10000000
SIZE_T_EINVAL = (1 << 64) - EINVAL


def leaves(d):
    return [tuple(r) for r in d.leaves()]


def test_the_releases_that_run_them():
    assert (for_kernel("6.1", "sprd").variant, for_kernel("6.12", "sprd").variant) == \
        ("sprd-v6.1", "sprd")


def test_a_map_overwrites_and_an_unmap_clears_holes_too():
    """sprd_iommu_map writes every PTE of the range with no check (MAP_OVERWRITE);
    sprd_iommu_unmap memsets the range and returns its size (UNMAP_HOLE_COUNTED)."""
    d = ReferenceDomain("sprd", "sprd")
    assert d.map(0, 0x5000, 3 * K4, RW) == 0
    assert d.map(K4, 0x9000, K4, 0) == 0 and "MAP_OVERWRITE" in d.decided   # prot unread
    assert leaves(d)[1] == (K4, 0x9000, K4, 1, 0)
    assert d.unmap(0, 8 * K4) == 8 * K4 and "UNMAP_HOLE_COUNTED" in d.decided
    assert leaves(d) == []


def test_the_aperture_check_and_a_cut_paddr():
    """The call's IOVA range must lie in [0, 256M) (-EINVAL, nothing written); paddr is cut to
    32 bits (PADDR_PAST_OAS), and physical page 0 is a PTE of 0 (MAP_PADDR_ZERO_HOLE)."""
    d = ReferenceDomain("sprd", "sprd")
    assert d.map(M256 - K4, 0x5000, 2 * K4, RW) == -EINVAL and leaves(d) == []
    assert d.map(0, 1 << 32, K4, RW) == 0
    assert {"PADDR_PAST_OAS", "MAP_PADDR_ZERO_HOLE"} <= set(d.decided)
    assert d.unmap(M256, K4) == 0 and "UNMAP_RANGE" in d.decided


def test_a_hole_reads_as_physical_page_zero():
    """No valid bit: sprd_iommu_iova_to_phys returns (0 << 12) + the offset for a hole in the
    aperture (IOVA_TO_PHYS_PAGE_ZERO), 0 outside it (a WARN)."""
    d = ReferenceDomain("sprd", "sprd")
    assert d.iova_to_phys(0x3456) == 0x456 and "IOVA_TO_PHYS_PAGE_ZERO" in d.decided
    assert d.iova_to_phys(M256 + 0x456) == 0


def test_the_61_unmap_returns_zero():
    """6.1's sprd_iommu_unmap clears its chunk and returns 0, so iommu_unmap stops after the
    first chunk and reports 0 (UNMAP_RETURNS_ZERO); outside the aperture it returns
    (size_t)-EINVAL, which the core returns."""
    d = ReferenceDomain("sprd", "sprd-v6.1")
    assert d.map(0, 0x5000, 3 * K4, RW) == 0
    assert d.unmap(0, 3 * K4) == 0 and "UNMAP_RETURNS_ZERO" in d.decided
    assert leaves(d) == [(K4, 0x6000, K4, 2, RW)]
    assert d.unmap(M256, K4) == SIZE_T_EINVAL
