"""Unit tests of the model's variants for the page tables inside drivers, with concrete vectors.

rockchip-iommu.c, exynos-iommu.c, sun50i-iommu.c and tegra-smmu.c keep their
own tables.  Each expected value below is worked out by hand from the
function the test names, as Debian's 6.1.192 and 6.12.118 have it (line
numbers 6.1 / 6.12), and the core's loop in drivers/iommu/iommu.c.
"""

import pytest

from spec import IOMMU_READ, IOMMU_WRITE, ReferenceDomain, get_semantics
from spec.errors import EADDRINUSE, EBUSY, EINVAL
from spec.kernels import for_kernel

RW = IOMMU_READ | IOMMU_WRITE
K4, K64, M1, M2, M4 = 0x1000, 0x10000, 0x100000, 0x200000, 0x400000


def leaves(d):
    return [tuple(r) for r in d.leaves()]


# -- rockchip -------------------------------------------------------------------------

def test_rockchip_writes_4k_ptes_for_every_page_size():
    """rk_iommu_map_iova writes size / SPAGE_SIZE PTEs: a 2M map is 512 4K leaves."""
    d = ReferenceDomain("rockchip", "rockchip")
    assert d.map(0, M2, M2, RW) == 0
    assert leaves(d) == [(0, M2, K4, 512, RW)]
    assert d.unmap(K4 * 3, K4) == K4                      # any 4K of it can go
    assert d.iova_to_phys(K4 * 3) == 0 and d.iova_to_phys(K4 * 4) == M2 + K4 * 4


def test_rockchip_map_over_a_live_pte_is_eaddrinuse_and_writes_nothing():
    """rk_iommu_map_iova: a valid PTE -> unwind what this call wrote, -EADDRINUSE; the core
    rolls back the calls before (a 4M map at 0 is one call; at 2M it is two)."""
    d = ReferenceDomain("rockchip", "rockchip")
    assert d.map(M2 + K4 * 10, 0, K4, RW) == 0
    assert d.map(0, 0, M4, RW) == -EADDRINUSE
    assert leaves(d) == [(M2 + K4 * 10, 0, K4, 1, RW)]
    assert d.map_pages(M2, 0, M2, 1, RW) == (-EADDRINUSE, 0)


def test_rockchip_maps_prot_0_and_a_hole_ends_the_unmap():
    """prot is never checked (a valid entry with no access); rk_iommu_unmap_iova breaks at the
    first invalid PTE and returns what it cleared."""
    d = ReferenceDomain("rockchip", "rockchip")
    assert d.map(0, 0, 2 * K4, 0) == 0 and leaves(d) == [(0, 0, K4, 2, 0)]
    assert d.unmap(0, 4 * K4) == 2 * K4
    assert d.unmap(0, K4) == 0 and d.decided == ["UNMAP_HOLE"]


def test_rockchip_driver_handles_one_page_per_call():
    """6.12 rk_iommu_map (->map_pages) ignores count: one pgsize, *mapped = size."""
    d = ReferenceDomain("rockchip", "rockchip")
    assert d.map_pages(0, 0, K4, 3, RW) == (0, K4)
    assert leaves(d) == [(0, 0, K4, 1, RW)]
    assert d.unmap_pages(0, K4, 3) == K4


def test_rockchip_index_keeps_32_iova_bits():
    """rk_iova_dte_index: (u32)(iova & 0xffc00000) >> 22: an IOVA past 4G aliases
    (IOVA_PAST_IAS; iova_to_phys reads the alias, IOVA_TO_PHYS_WRAP)."""
    d = ReferenceDomain("rockchip", "rockchip")
    assert d.map(K4, 0x9000, K4, RW) == 0
    assert d.iova_to_phys((1 << 32) + K4 + 0x12) == 0x9012
    assert "IOVA_TO_PHYS_WRAP" in d.decided
    assert d.map(1 << 32, 0, K4, RW) == 0 and "IOVA_PAST_IAS" in d.decided


# -- exynos ---------------------------------------------------------------------------

def test_exynos_any_overlap_is_eaddrinuse():
    """lv1set_section, alloc_lv2entry, lv2set_page: -EADDRINUSE for a section over a section,
    a page under a section, a page over any live lv2 entry (its own level included)."""
    d = ReferenceDomain("exynos", "exynos")
    assert d.map(0, 0, M1, RW) == 0
    assert d.map(K4, 0, K4, RW) == -EADDRINUSE
    assert d.map(M1, 0, K64, RW) == 0
    assert d.map(M1, 0, K4, RW) == -EADDRINUSE
    assert d.map(M1 + K64, 0, K4, RW) == 0
    assert d.map(M1, 0, M1, RW) == -EADDRINUSE           # the lv2 table has live entries


def test_exynos_section_over_an_empty_table_replaces_it():
    """lv1set_section frees an lv2 table whose entries are all free (lv2entcnt == 256)."""
    d = ReferenceDomain("exynos", "exynos")
    assert d.map(0, 0, K4, RW) == 0
    assert d.unmap(0, K4) == K4
    assert d.table_listing() == [(0, M1)]                 # the lv2 table outlives its leaf
    assert d.map(0, 0, M1, RW) == 0 and "MAP_REPLACE_TABLE" in d.decided
    assert d.table_listing() == [] and leaves(d) == [(0, 0, M1, 1, RW)]


def test_exynos_refuses_a_partial_unmap_and_counts_holes():
    """exynos_iommu_unmap: WARN_ON(size < SECT_SIZE / LPAGE_SIZE) -> 0; an lv1 or lv2 fault
    is `goto done` with the size counted, so an unmapped range unmaps in full."""
    d = ReferenceDomain("exynos", "exynos")
    assert d.map(0, 0, M1, RW) == 0
    assert d.unmap(K64, K64) == 0 and "UNMAP_PARTIAL_LEAF" in d.decided
    assert d.unmap(M1, 2 * M1) == 2 * M1 and "UNMAP_HOLE_COUNTED" in d.decided
    assert d.unmap(0, 2 * M1) == 2 * M1 and leaves(d) == []


def test_exynos_unmap_call_clears_one_leaf():
    """6.12 exynos_iommu_unmap (->unmap_pages ignoring count): one 4K page, whatever pgsize;
    an lv2 hole is one 4K entry, an lv1 hole min(pgsize, 1M)."""
    d = ReferenceDomain("exynos", "exynos")
    assert d.map(0, 0, 2 * K4, RW) == 0
    assert d.unmap_pages(0, K64, 1) == K4
    assert d.unmap_pages(K64, K64, 1) == K4               # a hole in the lv2 table: one entry
    assert d.unmap_pages(M1, M1, 1) == M1                 # no lv2 table there


# -- sun50i ---------------------------------------------------------------------------

def test_sun50i_ebusy_and_the_612_paddr_check():
    """sun50i_iommu_map: -EBUSY over a valid PTE; 6.12 checks `(uint64_t)paddr >> 32` first
    (-EINVAL), 6.1 cuts the paddr (PADDR_PAST_OAS)."""
    d = ReferenceDomain("sun50i", "sun50i")
    assert d.map(0, 0, K4, RW) == 0
    assert d.map(0, K4, K4, RW) == -EBUSY
    assert d.map(K4, 1 << 32, K4, RW) == -EINVAL and "MAP_RANGE" in d.decided
    old = ReferenceDomain("sun50i", "sun50i-v6.1")
    assert old.map(K4, 1 << 32, K4, RW) == 0 and "PADDR_PAST_OAS" in old.decided


def test_sun50i_kernels():
    """spec.kernels: sun50i-v6.1 in 6.1, sun50i in 6.12; the releases between are not read."""
    assert for_kernel("6.1", "sun50i").variant == "sun50i-v6.1"
    assert for_kernel("6.12", "sun50i").variant == "sun50i"
    with pytest.raises(Exception, match="not covered"):
        for_kernel("6.5", "sun50i")


# -- tegra-smmu -----------------------------------------------------------------------

def test_tegra_overwrites_a_live_pte():
    """__tegra_smmu_map writes the PTE whatever it held: the map succeeds (MAP_OVERWRITE)."""
    d = ReferenceDomain("tegra-smmu", "tegra-smmu")
    assert d.map(K4, 0x80000000, K4, RW) == 0
    assert d.map(K4, 0x90000000, K4, IOMMU_READ) == 0
    assert d.decided[:1] == ["MAP_OVERWRITE"]
    assert leaves(d) == [(K4, 0x90000000, K4, 1, IOMMU_READ)]


def test_tegra_hole_returns_0():
    """__tegra_smmu_unmap: `if (!pte || !*pte) return 0;`: the core stops at the hole."""
    d = ReferenceDomain("tegra-smmu", "tegra-smmu")
    assert d.map(0, 0, K4, RW) == 0
    assert d.unmap(0, 3 * K4) == K4


def test_in_driver_points():
    """The points the four variants set, as the fields say."""
    rk, ex, sun, te = (get_semantics(n) for n in ("rockchip", "exynos", "sun50i", "tegra-smmu"))
    assert (rk.pte_size, rk.iova_bits, rk.prot_checked, rk.map_fail_keeps) == (K4, 32, False, False)
    assert (ex.hole_unmap, ex.unmap_one_leaf, ex.replace_nonempty_table, ex.tables) == \
        ("count", True, False, "v7s")
    assert (sun.exists_errno, sun.range_check) == (EBUSY, "paddr_einval")
    assert te.map_over_live == "overwrite" and te.pages_per_call == "one"


# -- mtk_iommu_v1 ---------------------------------------------------------------------

def test_mtk_v1_iova_to_phys_drops_the_offset():
    """mtk_iommu_v1_iova_to_phys: `pte & ~(MT2701_IOMMU_PAGE_SIZE - 1)` (IOVA_TO_PHYS_NO_OFFSET)."""
    d = ReferenceDomain("mtk-iommu-v1", "mtk_iommu_v1")
    assert d.map(0x3000, 0x80003000, K4, RW) == 0
    assert d.iova_to_phys(0x3123) == 0x80003000
    assert d.decided == ["IOVA_TO_PHYS_NO_OFFSET", "IOVA_TO_PHYS"]


def test_mtk_v1_eexist_keeps_the_pages_before_in_612_not_in_61():
    """6.12 mtk_iommu_v1_map breaks at the live PTE and reports the PTEs before it as mapped;
    6.1 memsets them away first.  Either way iommu_map ends with nothing of the call."""
    new = ReferenceDomain("mtk-iommu-v1", "mtk_iommu_v1")
    assert new.map(3 * K4, 0, K4, RW) == 0
    assert new.map_pages(0, 0x10000, K4, 4, RW) == (-17, 3 * K4)       # -EEXIST
    old = ReferenceDomain("mtk-iommu-v1", "mtk_iommu_v1-v6.1")
    assert old.map(3 * K4, 0, K4, RW) == 0
    assert old.map(0, 0x10000, 4 * K4, RW) == -17
    assert [tuple(r)[:4] for r in old.leaves()] == [(3 * K4, 0, K4, 1)]
    assert get_semantics("mtk_iommu_v1-v6.1").map_fail_keeps is False


def test_mtk_v1_unmap_counts_holes_and_prot_0_maps():
    """mtk_iommu_v1_unmap memsets the range and returns its size; prot is ignored."""
    d = ReferenceDomain("mtk-iommu-v1", "mtk_iommu_v1")
    assert d.unmap(0x10000, 0x4000) == 0x4000 and "UNMAP_HOLE_COUNTED" in d.decided
    assert d.map(0, 0, K4, 0) == 0 and leaves(d) == [(0, 0, K4, 1, 0)]


# -- domain free: the drivers that leak (DOMAIN_FREE_LEAK) -----------------------------

@pytest.mark.parametrize("variant,leaks", [("sun50i", True), ("sun50i-v6.1", True),
                                           ("tegra-smmu", True), ("rockchip", False),
                                           ("exynos", False), ("arm-lpae-v6.14", False)])
def test_domain_free_names_the_drivers_that_leak(variant, leaks):
    """The model states 0 pages left (DOMAIN_FREE); under sun50i (refcnt never 0, so
    sun50i_iommu_detach_domain never runs) and tegra-smmu (tegra_smmu_domain_free's TODO)
    it also decides the Linux defect DOMAIN_FREE_LEAK, under which a leak is reported."""
    profile = {"sun50i-v6.1": "sun50i", "arm-lpae-v6.14": "arm-lpae-4k"}.get(variant, variant)
    d = ReferenceDomain(profile, variant)
    assert d.domain_free() == 0
    assert d.decided == (["DOMAIN_FREE", "DOMAIN_FREE_LEAK"] if leaks else ["DOMAIN_FREE"])
    assert bool(get_semantics(variant).domain_free_leaks) == leaks


def _leaking(pages):
    """A factory of the map_pages implementation whose domain_free leaves ``pages`` pages."""
    from impls import IMPLEMENTATIONS

    class Leaky(IMPLEMENTATIONS["map_pages"]):
        def domain_free(self):
            super().domain_free()
            return pages
    return lambda profile, sem=None: Leaky(profile, sem)


@pytest.mark.parametrize("profile,rule", [("tegra-smmu", "DOMAIN_FREE_LEAK"),
                                          ("sun50i", "DOMAIN_FREE_LEAK"),
                                          ("rockchip", "DOMAIN_FREE")])
def test_a_leak_at_domain_free_is_reported_under_its_rule(profile, rule):
    """The state machine's domain_free check: pages left are a failure, named DOMAIN_FREE_LEAK
    where the model knows the Linux driver leaks; set aside (`domain-free-leak`) it passes."""
    from hypothesis import settings
    from hypothesis.stateful import run_state_machine_as_test

    from difftest import DiffFailure, build_machine
    small = settings(settings.get_profile("ci"), max_examples=3, stateful_step_count=3)
    with pytest.raises(DiffFailure, match=f"violates {rule}:"):
        run_state_machine_as_test(build_machine(_leaking(2), profile), settings=small)
    if rule == "DOMAIN_FREE_LEAK":
        run_state_machine_as_test(build_machine(_leaking(2), profile,
                                                set_aside=frozenset({"domain-free-leak"})),
                                  settings=small)
