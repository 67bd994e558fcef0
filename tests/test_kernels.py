"""What each release runs per driver (spec.kernels), pinned release by release from v5.4 to v7.1.

The expected table is written out here from the sources named in
spec/kernels.py (the map_pages conversions of v5.15, mtk_iommu's of v6.2,
AMD's of v6.1 (v1 and the new v2 table), the split removal in the v6.13 iommu pull, generic_pt for
AMD and VT-d in v6.19, the v7.1 core), not computed from DRIVERS.
"""

import json

import pytest

from iommu_spec.cli.main import main as cli_main
from spec import ReferenceDomain, SpecUsageError
from spec.kernels import DRIVERS, for_kernel
from spec.versions import RELEASES, Version

L13, L14 = "arm-lpae-v6.13", "arm-lpae-v6.14"
S13, S14 = "arm-lpae-s2-v6.13", "arm-lpae-s2-v6.14"
V13, V14 = "arm-v7s-v6.13", "arm-v7s"
GPT, DART, AMD, AMD2 = "generic-pt", "apple-dart", "amd-v1", "amd-v2"
NO = None  # not covered: an error that says why

#: The tables inside drivers, read in 6.1.192 and 6.12.118: ->map up to v6.6, ->map_pages
#: (one page per call) from v6.7; other releases not covered.
def _in_driver(minor_6: int | None, variant: str):
    if minor_6 is None or not 1 <= minor_6 <= 12:
        return NO
    return (variant, "map-v5.15" if minor_6 < 7 else "map_pages")


def _mtk_v1(minor_6: int | None):
    if minor_6 == 1:
        return ("mtk_iommu_v1-v6.1", "map-v5.15")
    return ("mtk_iommu_v1", "map_pages") if minor_6 is not None and 2 <= minor_6 <= 12 else NO


def _sun50i(minor_6: int | None):
    return {1: ("sun50i-v6.1", "map-v5.15"), 12: ("sun50i", "map_pages")}.get(minor_6, NO)


#: Drivers whose tables the model does not state in any release (spec.kernels says why).
UNSTATED = {"tegra-gart": NO, "fsl_pamu": NO}

#: release -> driver -> (variant, core) or NO.
EXPECTED = {}
for minor in range(4, 20):
    v = f"5.{minor}"
    classic = "map" if minor < 15 else "map_pages"
    classic_1 = "map" if minor < 15 else "map-v5.15"  # drivers that kept ->map until v6.2
    EXPECTED[v] = {
        "arm-smmu-v3": (L13, classic), "arm-smmu-v3-s2": (S13, classic),
        "arm-smmu": (L13, classic),
        "mtk_iommu": (V13, "map" if minor < 15 else "map-v5.15"),
        "apple-dart": (DART, "map_pages") if minor >= 15 else NO,
        "amd": NO, "amd-v2": NO, "intel": NO, "virtio-iommu": NO, "mtk_iommu_v1": NO,
        "rockchip": NO, "exynos": NO, "sun50i": NO, "tegra-smmu": NO, "omap": NO,
        "msm": ("msm-v6.13", "map" if minor < 15 else "map-v5.15"), "s390": NO, "sprd": NO,
        # 32-bit LPAE users of io-pgtable-arm; arm-smmu's AArch32-S (v7s) contexts
        "ipmmu-vmsa": (L13, classic_1), "qcom_iommu": (L13, classic_1),
        "arm-smmu-v7s": ("msm-v6.13", "map" if minor < 15 else "map_pages"), **UNSTATED}
for minor in range(0, 20):
    v = f"6.{minor}"
    lpae = L13 if minor < 13 else L14
    EXPECTED[v] = {
        "arm-smmu-v3": (lpae, "map_pages"), "arm-smmu": (lpae, "map_pages"),
        "arm-smmu-v3-s2": (S13 if minor < 13 else S14, "map_pages"),
        "mtk_iommu": ((V13 if minor < 13 else V14), "map-v5.15" if minor < 2 else "map_pages"),
        "apple-dart": (DART, "map_pages"),
        "amd": NO if minor == 0 else ((AMD, "map_pages") if minor < 19 else (GPT, "map_pages")),
        "amd-v2": NO if minor == 0 else ((AMD2, "map_pages") if minor < 19 else (GPT, "map_pages")),
        # VT-d's own dma_pte table, read in 6.1.192 and 6.12.118; generic_pt from v6.19
        "intel": (GPT, "map_pages") if minor == 19 else (("vtd", "map_pages") if minor else NO),
        # virtio-iommu: map_pages from 7e62edd7a33a (v6.0, not read); MAP status read until
        # 00271ca5cbcd (v6.8); read in 6.1.192 and 6.12.118
        "virtio-iommu": NO if not 1 <= minor <= 12 else (
            ("virtio-iommu-v6.1" if minor < 8 else "virtio-iommu"), "map_pages"),
        "mtk_iommu_v1": _mtk_v1(minor),
        "rockchip": _in_driver(minor, "rockchip"), "exynos": _in_driver(minor, "exynos"),
        "tegra-smmu": _in_driver(minor, "tegra-smmu"), "sun50i": _sun50i(minor),
        "omap": _in_driver(minor, "omap"),
        # msm_iommu: ->map until 8b35cdcf9bf8 (v6.2); v7s's split removal in v6.13
        "msm": ("msm" if minor >= 13 else "msm-v6.13", "map-v5.15" if minor < 2 else "map_pages"),
        # s390's own tables: read in 6.12 only (6.1 uses arch/s390/pci/pci_dma.c's)
        "s390": ("s390", "map_pages") if minor == 12 else NO,
        "ipmmu-vmsa": (lpae, "map-v5.15" if minor < 2 else "map_pages"),
        "qcom_iommu": (lpae, "map-v5.15" if minor < 2 else "map_pages"),
        "arm-smmu-v7s": ("msm" if minor >= 13 else "msm-v6.13", "map_pages"),
        # sprd: ->map until a05d5857cec3 (v6.2); read in 6.1 and 6.12
        "sprd": NO if not 1 <= minor <= 12 else (("sprd-v6.1", "map-v5.15") if minor == 1
                                                  else ("sprd", "map_pages")),
        **UNSTATED}
EXPECTED["7.0"] = {
    "arm-smmu-v3": (L14, "map_pages"), "arm-smmu": (L14, "map_pages"),
    "arm-smmu-v3-s2": (S14, "map_pages"), "mtk_iommu": (V14, "map_pages"), "apple-dart": (DART, "map_pages"),
    "amd": (GPT, "map_pages"), "amd-v2": (GPT, "map_pages"), "intel": (GPT, "map_pages"),
    "virtio-iommu": NO, "mtk_iommu_v1": NO,
    "rockchip": NO, "exynos": NO, "sun50i": NO, "tegra-smmu": NO, "omap": NO,
    "msm": ("msm", "map_pages"),
    "s390": NO, "sprd": NO, "ipmmu-vmsa": (L14, "map_pages"), "qcom_iommu": (L14, "map_pages"),
    "arm-smmu-v7s": ("msm", "map_pages"), **UNSTATED}
EXPECTED["7.1"] = {**EXPECTED["7.0"], "amd": (GPT, "map_range"), "amd-v2": (GPT, "map_range"),
                   "intel": (GPT, "map_range")}


def test_the_table_covers_every_release_and_driver():
    """Every release from v5.4 to v7.1 and every driver of spec.kernels is pinned below."""
    want = [str(r)[1:] for r in RELEASES if Version(5, 4) <= r <= Version(7, 1)]
    assert list(EXPECTED) == want
    assert all(set(row) == set(DRIVERS) for row in EXPECTED.values())


@pytest.mark.parametrize("version", list(EXPECTED))
def test_for_kernel_per_release(version):
    for driver, want in EXPECTED[version].items():
        if want is NO:
            with pytest.raises(SpecUsageError, match="not covered by the model"):
                for_kernel(version, driver)
        else:
            k = for_kernel(version, driver)
            assert (k.variant, k.core) == want, (version, driver)
            d = ReferenceDomain.for_kernel(version, driver)
            assert (d.semantics.name, d.core) == want


def test_versions_are_parsed_like_uname_and_checked():
    assert for_kernel("v6.12", "arm-smmu-v3") == for_kernel("6.12.118", "arm-smmu-v3")
    for bad in ("5.3", "7.2", "6", "six.twelve", ""):
        with pytest.raises(SpecUsageError):
            for_kernel(bad, "arm-smmu-v3")
    with pytest.raises(SpecUsageError, match="unknown driver 'smmu'"):
        for_kernel("6.12", "smmu")
    with pytest.raises(SpecUsageError, match="is not arm-smmu-v3's hardware"):
        ReferenceDomain.for_kernel("6.12", "arm-smmu-v3", profile="intel-vtd")


def test_cli_answers_and_refuses(capsys):
    assert cli_main(["semantics", "--kernel", "6.12", "--driver", "arm-smmu-v3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["variant"], out["core"]) == (L13, "map_pages")
    assert cli_main(["semantics", "--kernel", "6.10", "--driver", "arm-smmu"]) == 0
    assert "not fixed yet in v6.10: 6093cd582f8e" in capsys.readouterr().out
    assert cli_main(["semantics", "--kernel", "6.0", "--driver", "intel"]) == 2
    assert "not covered by the model" in capsys.readouterr().err
    assert cli_main(["semantics", "--kernel", "4.19", "--driver", "intel"]) == 2
    assert cli_main(["semantics", "--kernel", "7.1"]) == 0
    assert "map_range" in capsys.readouterr().out


def test_rules_show_releases_and_commits(capsys):
    assert cli_main(["rules", "--json"]) == 0
    rules = {r["rule"]: r for r in json.loads(capsys.readouterr().out)}
    assert all(r["versions"] for r in rules.values())
    assert rules["MAP_PROT"]["versions"][0]["first"] == "v6.11"
    assert rules["MAP_PROT"]["versions"][0]["since"].startswith("6093cd582f8e")
    assert rules["MAP_PROT"]["fixes"] == ["6093cd582f8e"]
    assert rules["UNMAP_SPLIT_SECTION"]["versions"][0]["last"] == "v6.12"
    assert [s["first"] for s in rules["MAP_ZERO_SIZE"]["versions"]] == ["v3.3", "v7.1"]
    assert cli_main(["fixes", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 8
