"""Named input classes: kinds of call the generator can set aside.

Real kernel code has real defects, and one known defect must not stop the
search for the next.  An *input class* names a kind of call by what the model
decides about it (the rules in ``spec.RULES`` it records) or by its
arguments.  ``pytest difftest --set-aside CLASS[,CLASS...]`` makes the state
machine drop every generated call of those classes: the model is rolled back
to before the call and the implementation never sees it.  The summary counts
what was set aside, per item.

Known Linux defects are set aside for the kernel items they apply to
(:data:`KNOWN_LINUX_FINDINGS`, documented in docs/linux-findings.md), unless
``--report-known-findings`` asks for them to be reported.
"""

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class InputClass:
    """``name``; ``rules``: a call is of this class when the model decided any of them; ``doc``."""

    name: str
    rules: frozenset[str]
    doc: str
    matches_args: Callable[[str, dict], bool] | None = None


def _zero_length_sg(op: str, args: dict) -> bool:
    return op == "map_sg" and any(entry[2] == 0 for entry in args["sg"])


INPUT_CLASSES: dict[str, InputClass] = {c.name: c for c in [
    InputClass("iova-past-ias", frozenset({"IOVA_PAST_IAS"}),
               "a driver call accepted with an IOVA range past 2^ias (spec IOVA_PAST_IAS)"),
    InputClass("paddr-past-oas", frozenset({"PADDR_PAST_OAS"}),
               "a driver call accepted with a physical range past 2^oas (spec PADDR_PAST_OAS)"),
    InputClass("unflushed-table-replace", frozenset({"MAP_REPLACE_UNFLUSHED"}),
               "a map that replaces a table and then fails, without a flush (spec "
               "MAP_REPLACE_UNFLUSHED)"),
    InputClass("section-split", frozenset({"UNMAP_SPLIT_SECTION"}),
               "an unmap that splits a v7s section into a level-2 table (spec UNMAP_SPLIT_SECTION)"),
    InputClass("partial-unmap", frozenset({"UNMAP_PARTIAL_LEAF"}),
               "an unmap that covers part of a leaf (spec UNMAP_PARTIAL_LEAF)"),
    InputClass("no-access-prot", frozenset({"MAP_PROT"}),
               "a map whose prot grants neither read nor write (spec MAP_PROT)"),
    InputClass("unaligned-tail", frozenset({"MAP_RANGE_TAIL"}),
               "a v7.1-core map whose length is not a multiple of the smallest page (spec "
               "MAP_RANGE_TAIL)"),
    InputClass("unflushed-leaf-replace", frozenset({"MAP_REPLACE_LEAF_UNFLUSHED"}),
               "an AMD v1 map over live leaves of its own level, which Linux does not flush "
               "(spec MAP_REPLACE_LEAF_UNFLUSHED)"),
    InputClass("teardown-flush-short", frozenset({"MAP_TEARDOWN_FLUSH_SHORT"}),
               "an AMD v1 map that tears down a larger page, which 6.12 flushes only over the "
               "new range (spec MAP_TEARDOWN_FLUSH_SHORT)"),
    InputClass("page-above-top-level", frozenset({"MAP_PAGE_ABOVE_TOP"}),
               "an AMD v1 page above the table's top level, written at the wrong level by 6.1 "
               "(spec MAP_PAGE_ABOVE_TOP)"),
    InputClass("pte-group-overwrite", frozenset({"MAP_REPLACE_PTE_GROUP"}),
               "an AMD v1 map over part of a larger page of replicated PTEs at the same level "
               "(spec MAP_REPLACE_PTE_GROUP)"),
    InputClass("large-page-overwrite", frozenset({"MAP_REPLACE_FREES_PAGE"}),
               "an AMD v2 2M or 1G map over a live page of its size, whose memory Linux frees "
               "(spec MAP_REPLACE_FREES_PAGE)"),
    InputClass("replace-flush-one-page", frozenset({"MAP_REPLACE_FLUSH_ONE_PAGE"}),
               "an AMD v2 map call of at most one page that replaced more than its first 4K, "
               "which 6.1 flushes only there (spec MAP_REPLACE_FLUSH_ONE_PAGE)"),
    InputClass("domain-free-leak", frozenset({"DOMAIN_FREE_LEAK"}),
               "a domain free under a driver that leaves page-table pages allocated (spec "
               "DOMAIN_FREE_LEAK): the pages left are not counted"),
    InputClass("unmap-hole-rounds", frozenset({"UNMAP_HOLE_ROUNDS"}),
               "a VT-d unmap that starts at a hole above the last level, which Linux widens to "
               "the hole's span (spec UNMAP_HOLE_ROUNDS)"),
    InputClass("superpage-partial-unmap", frozenset({"UNMAP_PARTIAL_SUPERPAGE_KEPT"}),
               "a VT-d unmap that covers part of a superpage, which Linux keeps while clearing "
               "its memory (spec UNMAP_PARTIAL_SUPERPAGE_KEPT)"),
    InputClass("map-under-superpage", frozenset({"MAP_UNDER_SUPERPAGE"}),
               "a VT-d map under a live larger superpage, which Linux writes into its memory "
               "(spec MAP_UNDER_SUPERPAGE)"),
    InputClass("fail-uncounted", frozenset({"MAP_FAIL_UNCOUNTED"}),
               "a VT-d map call that fails part-way and reports no page mapped (spec "
               "MAP_FAIL_UNCOUNTED)"),
    InputClass("superpage-replace-leak", frozenset({"MAP_REPLACE_LEAKS_TABLE"}),
               "a VT-d 1G map over a level-2 table with tables after a 2M page, which Linux "
               "leaks (spec MAP_REPLACE_LEAKS_TABLE)"),
    InputClass("paddr-zero-page", frozenset({"MAP_PADDR_ZERO_HOLE"}),
               "a sprd map of physical page 0 (or a multiple of 4G), whose PTE is the same 0 as "
               "no mapping (spec MAP_PADDR_ZERO_HOLE)"),
    InputClass("overwrite-part", frozenset({"MAP_OVERWRITE_PART"}),
               "an omap map over one of a 64K page's or 16M supersection's 16 copies (spec "
               "MAP_OVERWRITE_PART)"),
    InputClass("overwrite-leaks-table", frozenset({"MAP_OVERWRITE_LEAKS_TABLE"}),
               "an omap 1M or 16M map over an L2 table, which Linux leaks (spec "
               "MAP_OVERWRITE_LEAKS_TABLE)"),
    InputClass("overwrite-flush-one", frozenset({"MAP_OVERWRITE_FLUSH_ONE"}),
               "an omap map that overwrites live pages past its first, which Linux does not "
               "flush (spec MAP_OVERWRITE_FLUSH_ONE)"),
    InputClass("zero-length-sg-entry", frozenset(),
               "a map_sg with a zero-length scatterlist entry (spec MAP_SG_COALESCE)",
               _zero_length_sg),
]}


def parse_set_aside(text: str | None) -> frozenset[str]:
    """``"a,b"`` -> the class names; ValueError naming the known ones for an unknown name."""
    names = frozenset(n.strip() for n in (text or "").split(",") if n.strip())
    unknown = sorted(names - INPUT_CLASSES.keys())
    if unknown:
        raise ValueError(f"unknown input class {', '.join(map(repr, unknown))} for --set-aside; "
                         f"known: {', '.join(sorted(INPUT_CLASSES))}")
    return names


def classes_of(op: str, args: dict, rules: list[str], names: frozenset[str]) -> list[str]:
    """The classes among ``names`` that a call (its op, args and the rules the model decided) is in."""
    out = []
    for name in sorted(names):
        c = INPUT_CLASSES[name]
        if c.rules.intersection(rules) or (c.matches_args is not None and c.matches_args(op, args)):
            out.append(name)
    return out


@dataclass(frozen=True)
class LinuxFinding:
    """A known defect in Linux's own page-table code, found by this tester.

    ``input_class`` sets it aside; ``formats`` are kernel-harness formats
    (``lpae-s1``, ``v7s``, ``dart``); ``versions`` the trees it was seen in
    (``(major, minor)`` inclusive bounds); ``anchor`` its section in
    docs/linux-findings.md.
    """

    input_class: str
    formats: frozenset[str]
    versions: tuple[tuple[int, int], tuple[int, int]]
    anchor: str

    def applies(self, fmt: str, version: tuple[int, int]) -> bool:
        lo, hi = self.versions
        return fmt in self.formats and lo <= version[:2] <= hi


#: The known findings (docs/linux-findings.md).  Each is set aside for the
#: kernel items it applies to, and tests/test_linux_findings.py shows it is
#: still found when it is not.
KNOWN_LINUX_FINDINGS: tuple[LinuxFinding, ...] = (
    LinuxFinding("paddr-past-oas", frozenset({"lpae-s1", "lpae-s2", "dart", "amd-v1"}), ((6, 1), (6, 12)),
                 "paddr-past-oas"),
    LinuxFinding("pte-group-overwrite", frozenset({"amd-v1"}), ((6, 1), (6, 12)),
                 "amd-v1-driversiommuamdio_pgtablec"),
    LinuxFinding("unflushed-leaf-replace", frozenset({"amd-v1"}), ((6, 1), (6, 12)),
                 "amd-v1-driversiommuamdio_pgtablec"),
    LinuxFinding("teardown-flush-short", frozenset({"amd-v1"}), ((6, 12), (6, 12)),
                 "amd-v1-driversiommuamdio_pgtablec"),
    LinuxFinding("page-above-top-level", frozenset({"amd-v1"}), ((6, 1), (6, 1)),
                 "amd-v1-driversiommuamdio_pgtablec"),
    LinuxFinding("iova-past-ias", frozenset({"dart", "amd-v2", "rockchip", "exynos"}),
                 ((6, 1), (6, 12)), "iova-past-ias"),
    LinuxFinding("paddr-past-oas", frozenset({"rockchip", "exynos"}), ((6, 1), (6, 12)),
                 "paddr-past-oas"),
    LinuxFinding("paddr-past-oas", frozenset({"amd-v2"}), ((6, 1), (6, 12)), "paddr-past-oas"),
    LinuxFinding("large-page-overwrite", frozenset({"amd-v2"}), ((6, 1), (6, 12)),
                 "amd-v2-driversiommuamdio_pgtable_v2c"),
    LinuxFinding("teardown-flush-short", frozenset({"amd-v2"}), ((6, 12), (6, 12)),
                 "amd-v2-driversiommuamdio_pgtable_v2c"),
    LinuxFinding("replace-flush-one-page", frozenset({"amd-v2"}), ((6, 1), (6, 1)),
                 "amd-v2-driversiommuamdio_pgtable_v2c"),
    # 6.1's mtk_iommu maps one page per call, so v7s's per-call loop never crosses 2^32 there.
    LinuxFinding("iova-past-ias", frozenset({"v7s"}), ((6, 12), (6, 12)), "iova-past-ias"),
    LinuxFinding("section-split", frozenset({"v7s"}), ((6, 1), (6, 13)), "section-split"),
    LinuxFinding("unflushed-table-replace", frozenset({"v7s"}), ((6, 1), (6, 12)),
                 "unflushed-table-replace"),
    LinuxFinding("unmap-hole-rounds", frozenset({"vtd"}), ((6, 1), (6, 12)), 
                 "vt-ds-own-table-driversiommuinteliommuc-before-generic_pt"),
    LinuxFinding("superpage-partial-unmap", frozenset({"vtd"}), ((6, 1), (6, 12)), 
                 "vt-ds-own-table-driversiommuinteliommuc-before-generic_pt"),
    LinuxFinding("map-under-superpage", frozenset({"vtd"}), ((6, 1), (6, 12)), 
                 "vt-ds-own-table-driversiommuinteliommuc-before-generic_pt"),
    LinuxFinding("fail-uncounted", frozenset({"vtd"}), ((6, 1), (6, 12)), 
                 "vt-ds-own-table-driversiommuinteliommuc-before-generic_pt"),
    LinuxFinding("superpage-replace-leak", frozenset({"vtd"}), ((6, 1), (6, 12)), 
                 "vt-ds-own-table-driversiommuinteliommuc-before-generic_pt"),
    LinuxFinding("iova-past-ias", frozenset({"vtd"}), ((6, 1), (6, 12)), 
                 "vt-ds-own-table-driversiommuinteliommuc-before-generic_pt"),
    LinuxFinding("paddr-past-oas", frozenset({"vtd"}), ((6, 1), (6, 12)), 
                 "vt-ds-own-table-driversiommuinteliommuc-before-generic_pt"),
    LinuxFinding("iova-past-ias", frozenset({"s390"}), ((6, 12), (6, 12)), 
                 "s390-driversiommus390-iommuc-612"),
    LinuxFinding("paddr-past-oas", frozenset({"s390"}), ((6, 12), (6, 12)), 
                 "s390-driversiommus390-iommuc-612"),
    LinuxFinding("paddr-zero-page", frozenset({"sprd"}), ((6, 1), (6, 12)), "sprd-driversiommusprd-iommuc"),
    LinuxFinding("paddr-past-oas", frozenset({"sprd"}), ((6, 1), (6, 12)), "sprd-driversiommusprd-iommuc"),
    LinuxFinding("iova-past-ias", frozenset({"sprd"}), ((6, 1), (6, 12)), "sprd-driversiommusprd-iommuc"),
    # msm_iommu's v7s: no ARM_MTK_EXT, so a paddr past 4G is folded as in LPAE's case (6.1 maps
    # one page per call, each checked)
    LinuxFinding("paddr-past-oas", frozenset({"v7s-msm"}), ((6, 12), (6, 12)), "msm_iommus-v7s-v7s-msm"),
    LinuxFinding("section-split", frozenset({"v7s-msm"}), ((6, 1), (6, 12)), "section-split"),
    LinuxFinding("iova-past-ias", frozenset({"v7s-msm"}), ((6, 12), (6, 12)), "iova-past-ias"),
    LinuxFinding("overwrite-part", frozenset({"omap"}), ((6, 1), (6, 12)), "omap-driversiommuomap-iommuc"),
    LinuxFinding("overwrite-leaks-table", frozenset({"omap"}), ((6, 1), (6, 12)), "omap-driversiommuomap-iommuc"),
    LinuxFinding("overwrite-flush-one", frozenset({"omap"}), ((6, 1), (6, 12)), "omap-driversiommuomap-iommuc"),
    LinuxFinding("map-under-superpage", frozenset({"omap"}), ((6, 1), (6, 12)), "omap-driversiommuomap-iommuc"),
    LinuxFinding("iova-past-ias", frozenset({"omap"}), ((6, 1), (6, 12)), "omap-driversiommuomap-iommuc"),
    LinuxFinding("paddr-past-oas", frozenset({"omap"}), ((6, 1), (6, 12)), "omap-driversiommuomap-iommuc"),
    LinuxFinding("domain-free-leak", frozenset({"sun50i", "tegra-smmu"}), ((6, 1), (6, 12)),
                 "sun50i-and-tegra-smmu-the-tables-inside-the-drivers"),
    LinuxFinding("iova-past-ias", frozenset({"sun50i", "tegra-smmu"}), ((6, 1), (6, 12)),
                 "iova-past-ias"),
    LinuxFinding("paddr-past-oas", frozenset({"tegra-smmu"}), ((6, 1), (6, 12)),
                 "paddr-past-oas"),
    # 6.12's sun50i_iommu_map refuses a paddr past 4G (-EINVAL); 6.1 cuts it.
    LinuxFinding("paddr-past-oas", frozenset({"sun50i"}), ((6, 1), (6, 1)), "paddr-past-oas"),
)


def known_set_aside(fmt: str, version: tuple[int, int]) -> frozenset[str]:
    """The input classes set aside by default for a kernel item of ``fmt`` from a tree of ``version``."""
    return frozenset(f.input_class for f in KNOWN_LINUX_FINDINGS if f.applies(fmt, version))
