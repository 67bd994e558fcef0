"""Each known Linux defect (docs/linux-findings.md) is still found when it is not set aside.

The kernel items of ``pytest difftest`` set these input classes aside
(difftest.inputs.KNOWN_LINUX_FINDINGS); here each finding's reproducer, as
the state machine printed it, runs against the tree's own code through the
harness and must still disagree with the model, under the finding's rule.
Skipped without a kernel tree (``iommu-spec kernel fetch 6.12``).
"""

import pytest

from difftest.external import ExternalError, ExternalImplementation
from difftest.inputs import KNOWN_LINUX_FINDINGS, known_set_aside
from difftest.kernel import semantics_for
from linuxpt.build import build, kernel_version
from spec import IOMMU_READ, ReferenceDomain, canonical_leaves

from tests.conftest import NO_KERNEL_TREE as HOW, kernel_tree as _tree


#: (finding input class, format) -> (format, profile, calls, rule): the reproducer the state
#: machine printed.
REPRODUCERS = {
    ("paddr-past-oas", "lpae-s1"): ("lpae-s1", "arm-lpae-4k",
                       [("map", dict(iova=0, paddr=(1 << 48) - 0x1000, size=0x2000, prot=IOMMU_READ))],
                       "PADDR_PAST_OAS"),
    ("section-split", "v7s"): ("v7s", "armv7s-mediatek",
                      [("map", dict(iova=0, paddr=0x100000, size=0x100000, prot=IOMMU_READ)),
                       ("unmap", dict(iova=0, size=0x1000))],
                      "UNMAP_SPLIT_SECTION"),
    ("unflushed-table-replace", "v7s"): ("v7s", "armv7s-mediatek",
                                [("map", dict(iova=0x1000, paddr=0x1000, size=0x1000, prot=IOMMU_READ)),
                                 ("map", dict(iova=0x100000, paddr=0x100000, size=0x100000,
                                              prot=IOMMU_READ)),
                                 ("map", dict(iova=0, paddr=0, size=0x1000000, prot=IOMMU_READ))],
                                "MAP_REPLACE_UNFLUSHED"),
    ("iova-past-ias", "dart"): ("dart", "apple-dart",
                      [("map", dict(iova=(1 << 64) - 0x4000, paddr=0x4000, size=0x4000,
                                    prot=IOMMU_READ))],
                      "IOVA_PAST_IAS"),
    ("pte-group-overwrite", "amd-v1"): ("amd-v1", "amd-v1",
                            [("map", dict(iova=0, paddr=0, size=0x2000, prot=IOMMU_READ)),
                             ("map", dict(iova=0, paddr=0x10000, size=0x1000, prot=IOMMU_READ))],
                            "MAP_REPLACE_PTE_GROUP"),
    ("unflushed-leaf-replace", "amd-v1"): ("amd-v1", "amd-v1",
                               [("map", dict(iova=0x200000, paddr=0, size=0x1000, prot=IOMMU_READ)),
                                ("map", dict(iova=0x200000, paddr=0x1000, size=0x1000,
                                             prot=IOMMU_READ))],
                               "MAP_REPLACE_LEAF_UNFLUSHED"),
    ("teardown-flush-short", "amd-v1"): ("amd-v1", "amd-v1",
                             [("map", dict(iova=0, paddr=0, size=0x200000, prot=IOMMU_READ)),
                              ("map", dict(iova=0x1000, paddr=0x1000, size=0x1000,
                                           prot=IOMMU_READ))],
                             "MAP_TEARDOWN_FLUSH_SHORT"),
    ("page-above-top-level", "amd-v1"): ("amd-v1", "amd-v1",
                             [("map", dict(iova=0, paddr=0, size=1 << 51, prot=IOMMU_READ))],
                             "MAP_PAGE_ABOVE_TOP"),
    ("paddr-past-oas", "lpae-s2"): ("lpae-s2", "arm-lpae-4k",
                                    [("map", dict(iova=0, paddr=(1 << 48) - 0x1000, size=0x2000,
                                                  prot=IOMMU_READ))],
                                    "PADDR_PAST_OAS"),
    ("paddr-past-oas", "dart"): ("dart", "apple-dart",
                                 [("map", dict(iova=0, paddr=(1 << 36) - 0x4000, size=0x8000,
                                               prot=IOMMU_READ))],
                                 "PADDR_PAST_OAS"),
    ("paddr-past-oas", "amd-v1"): ("amd-v1", "amd-v1",
                                   [("map", dict(iova=0, paddr=(1 << 52) - 0x1000, size=0x2000,
                                                 prot=IOMMU_READ))],
                                   "PADDR_PAST_OAS"),
    ("iova-past-ias", "v7s"): ("v7s", "armv7s-mediatek",
                               [("map", dict(iova=(1 << 32) - 0x1000, paddr=0x1000, size=0x2000,
                                             prot=IOMMU_READ))],
                               "IOVA_PAST_IAS"),
    ("iova-past-ias", "rockchip"): ("rockchip", "rockchip",
                                    [("map", dict(iova=(1 << 32) + 0x5000, paddr=0x9000,
                                                  size=0x1000, prot=IOMMU_READ))],
                                    "IOVA_PAST_IAS"),
    ("paddr-past-oas", "rockchip"): ("rockchip", "rockchip",
                                     [("map", dict(iova=0, paddr=(1 << 32) + 0x5000,
                                                   size=0x1000, prot=IOMMU_READ))],
                                     "PADDR_PAST_OAS"),
    ("iova-past-ias", "exynos"): ("exynos", "exynos",
                                  [("map", dict(iova=(1 << 32) + 0x5000, paddr=0x9000,
                                                size=0x1000, prot=IOMMU_READ))],
                                  "IOVA_PAST_IAS"),
    ("paddr-past-oas", "exynos"): ("exynos", "exynos",
                                   [("map", dict(iova=0, paddr=(1 << 32) + 0x5000, size=0x1000,
                                                 prot=IOMMU_READ))],
                                   "PADDR_PAST_OAS"),
    ("iova-past-ias", "amd-v2"): ("amd-v2", "amd-v2",
                                  [("map", dict(iova=1 << 48, paddr=0x5000, size=0x1000,
                                                prot=IOMMU_READ))],
                                  "IOVA_PAST_IAS"),
    ("paddr-past-oas", "amd-v2"): ("amd-v2", "amd-v2",
                                   [("map", dict(iova=0, paddr=(1 << 52) - 0x1000, size=0x2000,
                                                 prot=IOMMU_READ))],
                                   "PADDR_PAST_OAS"),
    ("large-page-overwrite", "amd-v2"): ("amd-v2", "amd-v2",
                                         [("map", dict(iova=0, paddr=0x40000000, size=0x200000,
                                                       prot=IOMMU_READ)),
                                          ("map", dict(iova=0, paddr=0x80000000, size=0x200000,
                                                       prot=IOMMU_READ))],
                                         "MAP_REPLACE_FREES_PAGE"),
    ("teardown-flush-short", "amd-v2"): ("amd-v2", "amd-v2",
                                         [("map", dict(iova=0, paddr=0, size=0x200000,
                                                       prot=IOMMU_READ)),
                                          ("map", dict(iova=0x1000, paddr=0x1000, size=0x1000,
                                                       prot=IOMMU_READ))],
                                         "MAP_TEARDOWN_FLUSH_SHORT"),
    ("replace-flush-one-page", "amd-v2"): ("amd-v2", "amd-v2",
                                           [("map", dict(iova=0x1000, paddr=0x1000, size=0x1000,
                                                         prot=IOMMU_READ)),
                                            ("map", dict(iova=0, paddr=0, size=0x200000,
                                                         prot=IOMMU_READ))],
                                           "MAP_REPLACE_FLUSH_ONE_PAGE"),
    ("iova-past-ias", "sun50i"): ("sun50i", "sun50i",
                                  [("map", dict(iova=(1 << 32) + 0x5000, paddr=0x9000,
                                                size=0x1000, prot=IOMMU_READ))],
                                  "IOVA_PAST_IAS"),
    ("paddr-past-oas", "sun50i"): ("sun50i", "sun50i",
                                   [("map", dict(iova=0, paddr=(1 << 32) + 0x5000, size=0x1000,
                                                 prot=IOMMU_READ))],
                                   "PADDR_PAST_OAS"),
    ("iova-past-ias", "tegra-smmu"): ("tegra-smmu", "tegra-smmu",
                                      [("map", dict(iova=(1 << 32) + 0x5000, paddr=0x9000,
                                                    size=0x1000, prot=IOMMU_READ))],
                                      "IOVA_PAST_IAS"),
    ("paddr-past-oas", "tegra-smmu"): ("tegra-smmu", "tegra-smmu",
                                       [("map", dict(iova=0, paddr=(1 << 40) + 0x5000,
                                                     size=0x1000, prot=IOMMU_READ))],
                                       "PADDR_PAST_OAS"),
    ("domain-free-leak", "sun50i"): ("sun50i", "sun50i",
                                     [("map", dict(iova=0x100000, paddr=0x5000, size=0x1000,
                                                   prot=IOMMU_READ)),
                                      ("domain_free", {})],
                                     "DOMAIN_FREE_LEAK"),
    ("domain-free-leak", "tegra-smmu"): ("tegra-smmu", "tegra-smmu", [("domain_free", {})],
                                         "DOMAIN_FREE_LEAK"),
    ("iova-past-ias", "s390"): ("s390", "s390",
                                [("map", dict(iova=(1 << 64) - 0x1000, paddr=0x5000, size=0x3000,
                                              prot=IOMMU_READ))],
                                "IOVA_PAST_IAS"),
    ("paddr-past-oas", "s390"): ("s390", "s390",
                                 [("map", dict(iova=0, paddr=(1 << 64) - 0x1000, size=0x2000,
                                               prot=IOMMU_READ))],
                                 "PADDR_PAST_OAS"),
    ("paddr-zero-page", "sprd"): ("sprd", "sprd",
                                  [("map", dict(iova=0, paddr=0, size=0x1000, prot=IOMMU_READ))],
                                  "MAP_PADDR_ZERO_HOLE"),
    ("paddr-past-oas", "sprd"): ("sprd", "sprd",
                                 [("map", dict(iova=0, paddr=(1 << 32) + 0x5000, size=0x1000,
                                               prot=IOMMU_READ))],
                                 "PADDR_PAST_OAS"),
    ("iova-past-ias", "sprd"): ("sprd", "sprd",
                                [("unmap", dict(iova=(1 << 64) - 0x1000, size=0x1000))],
                                "IOVA_PAST_IAS"),
    ("paddr-past-oas", "v7s-msm"): ("v7s-msm", "msm",
                                    [("map", dict(iova=0, paddr=(1 << 32) - 0x1000, size=0x2000,
                                                  prot=IOMMU_READ))],
                                    "PADDR_PAST_OAS"),
    ("section-split", "v7s-msm"): ("v7s-msm", "msm",
                                   [("map", dict(iova=0, paddr=0x100000, size=0x100000,
                                                 prot=IOMMU_READ)),
                                    ("unmap", dict(iova=0, size=0x1000))],
                                   "UNMAP_SPLIT_SECTION"),
    ("iova-past-ias", "v7s-msm"): ("v7s-msm", "msm",
                                   [("map", dict(iova=(1 << 32) - 0x1000, paddr=0x1000,
                                                 size=0x2000, prot=IOMMU_READ))],
                                   "IOVA_PAST_IAS"),
    ("overwrite-part", "omap"): ("omap", "omap",
                                 [("map", dict(iova=0, paddr=0x100000, size=0x10000, prot=IOMMU_READ)),
                                  ("map", dict(iova=0x1000, paddr=0x200000, size=0x1000,
                                               prot=IOMMU_READ)),
                                  ("unmap", dict(iova=0, size=0x1000))],
                                 "MAP_OVERWRITE_PART"),
    ("overwrite-leaks-table", "omap"): ("omap", "omap",
                                        [("map", dict(iova=0, paddr=0x100000, size=0x1000,
                                                      prot=IOMMU_READ)),
                                         ("map", dict(iova=0, paddr=0x1000000, size=0x100000,
                                                      prot=IOMMU_READ)),
                                         ("domain_free", {})],
                                        "MAP_OVERWRITE_LEAKS_TABLE"),
    ("overwrite-flush-one", "omap"): ("omap", "omap",
                                      [("map", dict(iova=0, paddr=0x100000, size=0x1000,
                                                    prot=IOMMU_READ)),
                                       ("map", dict(iova=0x1000, paddr=0x101000, size=0x1000,
                                                    prot=IOMMU_READ)),
                                       ("map", dict(iova=0, paddr=0x200000, size=0x10000,
                                                    prot=IOMMU_READ))],
                                      "MAP_OVERWRITE_FLUSH_ONE"),
    ("map-under-superpage", "omap"): ("omap", "omap",
                                      [("map", dict(iova=0x100000, paddr=0x1000000, size=0x100000,
                                                    prot=IOMMU_READ)),
                                       ("map", dict(iova=0x105000, paddr=0x900000, size=0x1000,
                                                    prot=IOMMU_READ))],
                                      "MAP_UNDER_SUPERPAGE"),
    ("iova-past-ias", "omap"): ("omap", "omap",
                                [("map", dict(iova=(1 << 32) + 0x5000, paddr=0x9000, size=0x1000,
                                              prot=IOMMU_READ))],
                                "IOVA_PAST_IAS"),
    ("paddr-past-oas", "omap"): ("omap", "omap",
                                 [("map", dict(iova=0, paddr=(1 << 32) + 0x5000, size=0x1000,
                                               prot=IOMMU_READ))],
                                 "PADDR_PAST_OAS"),
    # VT-d's own table (intel/iommu.c before generic_pt)
    ("unmap-hole-rounds", "vtd"): ("vtd", "intel-vtd",
                                   [("map", dict(iova=0, paddr=0x100000, size=0x1000, prot=IOMMU_READ)),
                                    ("map", dict(iova=0x400000, paddr=0x400000, size=0x1000,
                                                 prot=IOMMU_READ)),
                                    ("unmap", dict(iova=0x201000, size=0x1000))],
                                   "UNMAP_HOLE_ROUNDS"),
    ("superpage-partial-unmap", "vtd"): ("vtd", "intel-vtd",
                                         [("map", dict(iova=0x200000, paddr=0x40000000,
                                                       size=0x200000, prot=IOMMU_READ)),
                                          ("unmap", dict(iova=0x201000, size=0x1000))],
                                         "UNMAP_PARTIAL_SUPERPAGE_KEPT"),
    ("map-under-superpage", "vtd"): ("vtd", "intel-vtd",
                                     [("map", dict(iova=0x200000, paddr=0x40000000, size=0x200000,
                                                   prot=IOMMU_READ)),
                                      ("map", dict(iova=0x205000, paddr=0x900000, size=0x1000,
                                                   prot=IOMMU_READ))],
                                     "MAP_UNDER_SUPERPAGE"),
    ("fail-uncounted", "vtd"): ("vtd", "intel-vtd",
                                [("map", dict(iova=0, paddr=0x100000, size=0x1000, prot=IOMMU_READ)),
                                 ("fail_alloc", dict(after=0)),
                                 ("map", dict(iova=0x1ff000, paddr=0x1ff000, size=0x2000,
                                              prot=IOMMU_READ))],
                                "MAP_FAIL_UNCOUNTED"),
    ("superpage-replace-leak", "vtd"): ("vtd", "intel-vtd",
                                        [("map", dict(iova=0, paddr=0x100000, size=0x1000,
                                                      prot=IOMMU_READ)),
                                         ("map", dict(iova=0x200000, paddr=0x40000000,
                                                      size=0x200000, prot=IOMMU_READ)),
                                         ("map", dict(iova=0x400000, paddr=0x400000, size=0x1000,
                                                      prot=IOMMU_READ)),
                                         ("map", dict(iova=0, paddr=0x80000000, size=0x40000000,
                                                      prot=IOMMU_READ)),
                                         ("domain_free", {})],
                                        "MAP_REPLACE_LEAKS_TABLE"),
    ("iova-past-ias", "vtd"): ("vtd", "intel-vtd",
                               [("map", dict(iova=(1 << 48) - 0x1000, paddr=0x100000, size=0x1000,
                                             prot=IOMMU_READ)),
                                ("unmap", dict(iova=(1 << 48) - 0x1000, size=0x2000))],
                               "IOVA_PAST_IAS"),
    ("paddr-past-oas", "vtd"): ("vtd", "intel-vtd",
                                [("map", dict(iova=0, paddr=(1 << 52) - 0x1000, size=0x2000,
                                              prot=IOMMU_READ))],
                                "PADDR_PAST_OAS"),
}

#: IOTLB findings: the IOVA whose stale translation the last call's invalidations miss.
STALE_IOVA = {"unflushed-table-replace": 0x1000, "unflushed-leaf-replace": 0x200000,
              "teardown-flush-short": 0, "replace-flush-one-page": 0x1000,
              "overwrite-flush-one": 0x1000}
#: Findings whose last call kills the harness, by (class, format) -> the trees where it does:
#: the kernel frees memory that was never a table (AMD v2), walks a superpage's memory as a
#: table (VT-d: the harness stops there), or hits a BUG_ON (VT-d 6.1 past 2^48).
CRASHES = {("large-page-overwrite", "amd-v2"): {"6.1", "6.12"},
           ("superpage-partial-unmap", "vtd"): {"6.1", "6.12"},
           ("map-under-superpage", "vtd"): {"6.1", "6.12"},
           ("iova-past-ias", "vtd"): {"6.1"},
           ("iova-past-ias", "sprd"): {"6.1", "6.12"},  # a PTE written past the table
           ("map-under-superpage", "omap"): {"6.1", "6.12"}}


def _cases():
    for finding in KNOWN_LINUX_FINDINGS:
        for fmt in sorted(finding.formats):
            for version in ("6.1", "6.12"):
                major, minor = map(int, version.split("."))
                if (finding.input_class, fmt) in REPRODUCERS and finding.applies(fmt, (major, minor)):
                    yield pytest.param(finding.input_class, fmt, version,
                                       id=f"{finding.input_class}-{fmt}-linux-{version}")


def test_every_known_finding_has_a_reproducer_here():
    """Each known finding has a reproducer here for every format it is set aside on."""
    pairs = {(f.input_class, fmt) for f in KNOWN_LINUX_FINDINGS for fmt in f.formats}
    assert pairs <= REPRODUCERS.keys()


def test_known_findings_apply_by_format_and_version():
    """The v7s wrap is set aside for 6.12 only: 6.1's mtk_iommu maps one page per call."""
    assert known_set_aside("v7s", (6, 12)) == {"iova-past-ias", "section-split",
                                               "unflushed-table-replace"}
    assert known_set_aside("v7s", (6, 1)) == {"section-split", "unflushed-table-replace"}
    assert known_set_aside("lpae-s1", (6, 14)) == set()
    assert known_set_aside("amd-v1", (6, 1)) == {"paddr-past-oas", "pte-group-overwrite",
                                                 "unflushed-leaf-replace", "page-above-top-level"}
    assert known_set_aside("amd-v1", (6, 12)) == {"paddr-past-oas", "pte-group-overwrite",
                                                  "unflushed-leaf-replace", "teardown-flush-short"}
    assert known_set_aside("amd-v2", (6, 1)) == {"iova-past-ias", "paddr-past-oas",
                                                 "large-page-overwrite", "replace-flush-one-page"}
    assert known_set_aside("amd-v2", (6, 12)) == {"iova-past-ias", "paddr-past-oas",
                                                  "large-page-overwrite", "teardown-flush-short"}
    # 6.12's sun50i_iommu_map refuses a paddr past 4G; 6.1 cuts it
    assert known_set_aside("sun50i", (6, 1)) == {"domain-free-leak", "iova-past-ias",
                                                 "paddr-past-oas"}
    assert known_set_aside("sun50i", (6, 12)) == {"domain-free-leak", "iova-past-ias"}


@pytest.mark.parametrize("input_class,fmt,version", list(_cases()))
def test_known_finding_is_still_found(input_class, fmt, version):
    """Run the finding's reproducer on the tree's own code: it still differs from the model, under its rule."""
    tree = _tree(version)
    if not tree:
        pytest.skip(HOW)
    fmt, profile, calls, rule = REPRODUCERS[(input_class, fmt)]
    ver = kernel_version(tree)[:2]
    sem = semantics_for(fmt, ver)
    impl = ExternalImplementation([str(build(tree)), "--format", fmt], profile, sem)
    try:
        spec = ReferenceDomain(profile, sem, pgsize_bitmap=impl.pgsize_bitmap, core=impl.core)
        decided = []
        for i, (op, args) in enumerate(calls):
            last = i == len(calls) - 1
            if last and version in CRASHES.get((input_class, fmt), ()):
                # the harness aborts on this call or at the latest when the domain's tables
                # are freed (a freed data page corrupts its arena; a stray walk stops it)
                getattr(spec, op)(**args)
                assert rule in spec.decided
                with pytest.raises(ExternalError, match="SIGABRT|SIGSEGV"):
                    getattr(impl, op)(**args)
                    impl.domain_free()
                return
            if op == "domain_free":  # a leak: the model says 0 pages are left, Linux leaves some
                assert impl.domain_free() > spec.domain_free(), \
                    f"{input_class} is no longer found on Linux {version}"
                assert rule in decided + spec.decided
                return
            got, want = getattr(impl, op)(**args), getattr(spec, op)(**args)
            if op == "fail_alloc":  # fault injection: the harness answers 0, the model None
                continue
            decided += spec.decided
            if last and got != want:  # the finding shows in the return value
                assert rule in decided, (got, want, decided)
                return
            assert got == want
            last_tlb = impl.take_tlb_commands()
        assert rule in decided
        if input_class in STALE_IOVA:  # an IOTLB finding: the last map flushed nothing there
            at = STALE_IOVA[input_class]
            assert not any(cmd == ("all",) or cmd[1] <= at < cmd[1] + cmd[2]
                           for cmd in last_tlb), \
                f"{input_class} is no longer found on Linux {version}"
            return
        impl_leaves = [(i, p, g, c) for i, p, g, c, _ in canonical_leaves(impl.leaves())]
        spec_leaves = [(i, p, g, c) for i, p, g, c, _ in spec.leaves()]
        assert impl_leaves != spec_leaves, f"{input_class} is no longer found on Linux {version}"
    finally:
        impl.close()


def test_every_known_finding_points_at_its_section():
    """Each finding's anchor is a heading of docs/linux-findings.md (as GitHub makes anchors)."""
    import re
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[1] / "docs" / "linux-findings.md").read_text()
    anchors = {re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
               for line in doc.splitlines() if line.startswith("#")}
    assert {f.anchor for f in KNOWN_LINUX_FINDINGS} <= anchors
