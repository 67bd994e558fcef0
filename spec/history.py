"""The version axis: which releases each rule holds for, and the fixes that moved it.

``RULE_SPANS`` gives every named rule (spec.rules, spec.iotlb,
spec.lifetime) the mainline releases it states, with the commits that
started and ended it; :func:`spec.rules.rule` refuses a rule that has no
entry here.  ``FIXES`` lists Linux's fixes of 2024 to 2026 that changed
what the API returns: for each, the behaviour before it as a named point
(``before_rule``), and how the tester shows that it catches the old
behaviour (``caught_by``: a test in tests/test_history.py that runs a
planted copy of the old behaviour, tests/mutants.py) -- or why it is out of
the model's scope.

Sources of the releases: the iommu pull requests ("IOMMU Updates for Linux
v6.13" lists 33729a5fc0ca and fd50651636fb), the fixes' own "Fixes:" tags
and the kernel.org push logs; where a release is inferred, the note says so.
"""

from dataclasses import dataclass

from .versions import Span, Version, span

_D6C = "d6c65b0fd621 iommupt: Avoid rewalking during map"
_99F = "99fb8afa16ad iommupt: Directly call iommupt's unmap_range()"
_MAP_PAGES = "647c57764b37 iommu: Add support for the map_pages() callback"
_GENPT = "dcd6a011a8d5 iommupt: Add map_pages op (generic_pt's first release)"
_AMD_GENPT = "789a5913b29c iommu/amd: Use the generic iommu page table"
SPLIT_REMOVAL = "33729a5fc0ca iommu/io-pgtable-arm: Remove split on unmap behavior"
SPLIT_REMOVAL_V7S = "fd50651636fb iommu/io-pgtable-arm-v7s: Remove split on unmap behavior"
_OLDER = "older than the releases the model states (v5.4)"

_VIRTIO_NOTE = ("virtio-iommu, read in Debian 6.1.192 and 6.12.118 against the VIRTIO 1.2 "
                "device specification and run through the kernel harness")

#: rule name -> the releases it states.
RULE_SPANS: dict[str, tuple[Span, ...]] = {
    "MAP_ALIGN": (span("3.3", note="every domain up to v7.0; from v7.1 not iommupt domains, "
                       "which get MAP_NO_PGSIZE instead (" + _D6C + ")"),),
    "MAP_ZERO_SIZE": (span("3.3", note="0 under the classic core (its while (size) loop)"),
                      span("7.1", since=_D6C, note="-EINVAL for iommupt domains "
                           "(make_range_ul); 6ec91df8aff7 (dma-iommu) stopped calling it so")),
    "MAP_RANGE_OA": (span("7.1", since=_D6C),),
    "MAP_OVERFLOW": (span("7.1", since=_D6C),),
    "MAP_RANGE_TAIL": (span("7.1", since=_D6C, note="no fix through v7.1"),),
    "MAP_NO_PGSIZE": (span("7.1", since=_D6C, note="the 4K fast path checks the bitmap since "
                           "8ef3f77c4400 (v7.1, 7.0.11)"),),
    "MAP_PROT": (span("6.11", since="6093cd582f8e iommu: Do not return 0 from map_pages if it "
                      "doesn't do anything", note="io-pgtable-arm, v7s, DART; generic_pt from "
                      "its first release (v6.19); before: FIXES 6093cd582f8e"),),
    "MAP_RANGE": (span("5.4", note="each driver call checks its own range: io-pgtable since "
                       + _OLDER + "; generic_pt's whole range from v6.19; the v7.1 core checks "
                       "the whole request once"),),
    "IOVA_PAST_IAS": (span("5.15", note="v7s's per-page loop from 23c30bed9c3c (v5.15), DART "
                           "from its first release (v5.15); seen in 6.1.192 and 6.12.118, no "
                           "fix known through v7.1"),),
    "PADDR_PAST_OAS": (span("5.4", note="io-pgtable-arm and DART check only paddr >> oas; seen "
                            "in 6.1.192 and 6.12.118; generic_pt map_range (v7.1) checks only "
                            "the start paddr too (by reading)"),),
    "PGSIZE_SELECT": (span("3.3", note="the (pgsize, count) form from v5.15 (" + _MAP_PAGES +
                           "; 89d5b9601f70)"),),
    "CORE_BATCHES": (span("3.3", note="which core, by release: spec.cores"),),
    "MAP_PAGES_INSTALL": (span("5.15", since=_MAP_PAGES),),
    "MAP_EXISTS": (span("5.4", note="-EEXIST from io-pgtable since " + _OLDER + "; "
                        "-EADDRINUSE from generic_pt since v6.19 (" + _GENPT + ")"),),
    "MAP_REPLACE_TABLE": (span("5.4", note="io-pgtable-arm / v7s arm_*_init_pte, " + _OLDER),),
    "MAP_REPLACE_LEAVES": (span("5.4", "6.18", until=_AMD_GENPT + " (v6.19)",
                                note="the AMD v1 table"),),
    "MAP_REPLACE_PTE_GROUP": (span("5.4", "6.18", until=_AMD_GENPT + " (v6.19)",
                                   note="seen in Debian 6.1.192 and 6.12.118 through the kernel "
                                        "harness"),),
    "MAP_ROLLBACK": (span("3.3", note="from v7.1 the core unmaps the bytes map_range reports "
                          "(" + _D6C + "); v7.1-rc1 to rc4 lost the errno on classic domains "
                          "(FIXES 6fc7e8a3b811)"),),
    "UNMAP_ALIGN": (span("3.3", note="every domain up to v7.0; from v7.1 not iommupt domains "
                         "(" + _99F + ")"),),
    "UNMAP_ZERO_SIZE": (span("3.3"),),
    "UNMAP_LEAVES": (span("3.3"),),
    "UNMAP_HOLE": (span("3.3", note="io-pgtable-arm v6.16 to v6.18 returned -ENOENT through "
                        "size_t for a hole (FIXES 374e7af67d9d)"),),
    "UNMAP_HOLE_IN_TABLE": (span("6.1", "6.18", since="251c4db699ca iommu/amd/io-pgtable: "
                                 "Implement unmap_pages io_pgtable_ops callback",
                                 until=_AMD_GENPT + " (v6.19)"),),
    "UNMAP_RANGE": (span("5.15", note="io-pgtable unmap_pages (v5.15); generic_pt make_range "
                         "from v6.19"),),
    "UNMAP_PARTIAL_LEAF": (span("5.4", note="split up to v6.12 (io-pgtable-arm, v7s), refused "
                                "from v6.13 (" + SPLIT_REMOVAL + "; " + SPLIT_REMOVAL_V7S + "); whole leaf "
                                "under generic_pt (v6.19+) and AMD v1"),),
    "UNMAP_SPLIT_SECTION": (span("4.6", "6.12", until=SPLIT_REMOVAL_V7S + " (v6.13)"),),
    "UNMAP_TABLE_SLOT": (span("5.4", note="__arm_lpae_unmap / __arm_v7s_unmap, " + _OLDER),),
    "MAP_SG_COALESCE": (span("4.17", note="its commit is not pinned; present before v5.4"),),
    "MAP_SG_ROLLBACK": (span("4.17", note="returns -errno from v5.15 (ad8f36e4b6b1 iommu: "
                             "return full error code from iommu_map_sg[_atomic]()), size_t 0 "
                             "before"),),
    "MAP_SG_PER_ENTRY": (span("3.19", "4.16"),),
    "PAGES_ARGS": (span("5.15", since=_MAP_PAGES),),
    "PAGES_TABLE_BATCH": (span("5.15", since="4a77b12deb25 iommu/io-pgtable-arm: Implement "
                               "arm_lpae_map_pages()"),),
    "IOVA_TO_PHYS_RANGE": (span("6.19", since=_GENPT, note="no fix through v7.1"),),
    "IOVA_TO_PHYS": (span("3.3", note="a mapping to PA 0 also reads 0; 0a4d00e2e99a (v7.0) "
                          "changed a caller only (FIXES)"),),
    "IOTLB_FILL": (span("3.3"),),
    "IOTLB_STALE": (span("3.3", note="generic_pt v6.19 gathered only the bytes asked for "
                         "(FIXES ee6e69d03255); v7.0-rc skipped iotlb_sync for an empty "
                         "gather (FIXES 7e0548525abd)"),),
    "MAP_REPLACE_LEAF_UNFLUSHED": (span("5.4", "6.18", until=_AMD_GENPT + " (v6.19)",
                                        note="seen in Debian 6.1.192 and 6.12.118 through the "
                                             "kernel harness"),),
    "MAP_TEARDOWN_FLUSH_SHORT": (span("6.12", "6.18", until=_AMD_GENPT + " (v6.19)",
                                      note="seen in Debian 6.12.118; 6.1.192 flushes the domain; "
                                           "the commit that narrowed the flush is not pinned"),),
    "MAP_REPLACE_FREES_PAGE": (span("6.1", "6.18", since="aaac38f61487 iommu/amd: Initial "
                                    "support for AMD IOMMU v2 page table",
                                    until=_AMD_GENPT + " (v6.19)",
                                    note="seen in Debian 6.1.192 and 6.12.118 through the kernel "
                                         "harness"),),
    "MAP_REPLACE_FLUSH_ONE_PAGE": (span("6.1", "6.1", note="seen in Debian 6.1.192; 6.12.118 "
                                        "flushes the call's range instead (MAP_TEARDOWN_FLUSH_"
                                        "SHORT); the release that changed it is not pinned"),),
    "IOVA_TO_PHYS_WRAP": (span("6.1", "6.18", since="aaac38f61487 (AMD v2)",
                               until=_AMD_GENPT + " (v6.19)"),),
    "IOVA_TO_PHYS_NO_OFFSET": (span("6.1", "6.12", note="mtk_iommu_v1, read in Debian 6.1.192 "
                                    "and 6.12.118; s390, checked in 6.12.118 through the kernel "
                                    "harness"),),
    "MAP_OVERWRITE": (span("6.1", "6.12", note="tegra-smmu, read in Debian 6.1.192 and "
                           "6.12.118"),),
    "UNMAP_HOLE_COUNTED": (span("6.1", "6.12", note="exynos-iommu, read in Debian 6.1.192 "
                                "and 6.12.118"),),
    "MAP_PAGE_ABOVE_TOP": (span("5.4", "6.1", note="seen in Debian 6.1.192; 6.12.118 grows the "
                                "table by the last address and the page's level (the fixing "
                                "commit is not pinned)"),),
    "MAP_REPLACE_UNFLUSHED": (span("6.1", note="mtk_iommu on v7s; seen in 6.1.192 and "
                                   "6.12.118, no fix known"),),
    "TABLE_LIFETIME": (span("5.4", note="io-pgtable, " + _OLDER),),
    "MAP_FAIL_ALLOC": (span("5.4"),),
    "DOMAIN_FREE": (span("3.3"),),
    "MAP_KEEPS_LIVE": (span("6.1", "6.18", note="VT-d's own table, read in Debian 6.1.192 and 6.12.118 and run through the kernel harness"),),
    "MAP_SUPERPAGE_REPLACES": (span("6.1", "6.18", note="VT-d's own table, read in Debian 6.1.192 and 6.12.118 and run through the kernel harness"),),
    "MAP_UNDER_SUPERPAGE": (span("6.1", "6.18", note="VT-d's own table, read in Debian 6.1.192 and 6.12.118 and run through the kernel harness"),),
    "MAP_FAIL_UNCOUNTED": (span("6.1", "6.18", note="VT-d's own table, read in Debian 6.1.192 and 6.12.118 and run through the kernel harness"),),
    "MAP_REPLACE_LEAKS_TABLE": (span("6.1", "6.18", note="VT-d's own table, read in Debian 6.1.192 and 6.12.118 and run through the kernel harness"),),
    "UNMAP_HOLE_ROUNDS": (span("6.1", "6.18", note="VT-d's own table, read in Debian 6.1.192 and 6.12.118 and run through the kernel harness"),),
    "UNMAP_PARTIAL_SUPERPAGE_KEPT": (span("6.1", "6.18", note="VT-d's own table, read in Debian 6.1.192 and 6.12.118 and run through the kernel harness"),),
    "IOVA_TO_PHYS_PAGE_ZERO": (span("5.13", "6.12", note="sprd, read in Debian 6.1.192 and "
                                    "6.12.118 and run through the kernel harness"),),
    "MAP_PADDR_ZERO_HOLE": (span("5.13", "6.12", note="sprd, read in Debian 6.1.192 and "
                                 "6.12.118 and run through the kernel harness"),),
    "UNMAP_RETURNS_ZERO": (span("5.13", "6.1", until="a05d5857cec3 iommu/sprd: Update to "
                                "{map,unmap}_pages (v6.2)", note="sprd, seen in Debian "
                                "6.1.192 through the kernel harness"),),
    "MAP_OVERWRITE_FLUSH_ONE": (span("6.1", "6.12", note="omap-iommu, read in Debian 6.1.192 and 6.12.118 and run through the kernel harness"),),
    "MAP_OVERWRITE_LEAKS_TABLE": (span("6.1", "6.12", note="omap-iommu, read in Debian 6.1.192 and 6.12.118 and run through the kernel harness"),),
    "MAP_OVERWRITE_PART": (span("6.1", "6.12", note="omap-iommu, read in Debian 6.1.192 and 6.12.118 and run through the kernel harness"),),
    "MAP_CALL_MAPPING": (span("6.1", "6.12", note=_VIRTIO_NOTE),),
    "UNMAP_WHOLE_MAPPINGS": (span("6.1", "6.12", note=_VIRTIO_NOTE),),
    "UNMAP_HOLE_DROPS": (span("6.1", "6.12", note=_VIRTIO_NOTE),),
    "RANGE_END_WRAPS": (span("6.1", "6.12", note=_VIRTIO_NOTE),),
    "UNMAP_SUM_RANGE": (span("6.1", "6.12", note=_VIRTIO_NOTE),),
    "MAP_FAIL_SWEEP": (span("6.1", "6.7", until="00271ca5cbcd iommu/virtio: Make use of "
                            "ops->iotlb_sync_map (v6.8), which stopped reading the MAP's "
                            "status", note=_VIRTIO_NOTE),),
    "MAP_STATUS_LOST": (span("6.8", "6.12", since="00271ca5cbcd iommu/virtio: Make use of "
                             "ops->iotlb_sync_map", note=_VIRTIO_NOTE),),
    "DOMAIN_FREE_LEAK": (span("6.1", "6.12", note="sun50i-iommu (the refcount that never reaches "
                              "0) and tegra-smmu (the TODO in tegra_smmu_domain_free), seen in "
                              "Debian 6.1.192 and 6.12.118 through the kernel harness"),),
}


@dataclass(frozen=True)
class Fix:
    """A Linux fix that changed what the API returns.

    ``commit`` (12 hex + title), ``release`` (the first mainline release
    with it), ``fixes`` (the commit that introduced the behaviour, and its
    release), ``where`` (file: function), ``rule`` (the model's rule for the
    behaviour after the fix), ``before_rule`` (the name of the behaviour
    before it), ``before`` / ``after`` (what the API returned), and
    ``caught_by``: the test that shows the tester flags the old behaviour,
    or "out of scope: why".
    """

    commit: str
    release: str
    fixes: str
    where: str
    rule: str
    before_rule: str
    before: str
    after: str
    caught_by: str
    #: The first release with the old behaviour, and the drivers (spec.kernels) it reaches.
    introduced: str = ""
    drivers: tuple[str, ...] = ()
    #: Stable trees seen to carry the fix before ``release`` (the model answers by mainline
    #: release: such a tree has the new behaviour though ``missing_in`` says otherwise).
    backports: str = ""

    def missing_in(self, version, driver: str) -> bool:
        """True when release ``version`` of ``driver`` still has the old behaviour."""
        version = Version.parse(version)
        return (driver in self.drivers and Version.parse(self.introduced) <= version
                < Version.parse(self.release))

    @property
    def hash(self) -> str:
        return self.commit.split()[0]

    def as_dict(self) -> dict:
        return dict(self.__dict__)


FIXES: tuple[Fix, ...] = (
    Fix("6093cd582f8e iommu: Do not return 0 from map_pages if it doesn't do anything", "v6.11",
        "e1d3c0fd701d (v4.0), e5fc9753b1a8 (v4.2), 745ef1092bcf (v6.1)",
        "io-pgtable-arm.c arm_lpae_map_pages; io-pgtable-arm-v7s.c arm_v7s_map_pages; "
        "io-pgtable-dart.c dart_map_pages", "MAP_PROT", "MAP_PROT_NOOP",
        "a prot without IOMMU_READ / IOMMU_WRITE: map_pages returns 0 with *mapped 0, so "
        "__iommu_map's loop never ends (under the one-page ->map core: 0, nothing mapped)",
        "-EINVAL, nothing mapped",
        "tests/test_history.py::test_map_prot_noop_is_caught", "4.0",
        ("arm-smmu-v3", "arm-smmu", "mtk_iommu", "apple-dart"),
        backports="6.1.y: Debian 6.1.192's io-pgtable-arm.c, io-pgtable-arm-v7s.c and "
                  "io-pgtable-dart.c already return -EINVAL (the kernel items hold 6.1 to it)"),
    Fix("374e7af67d9d iommu/io-pgtable-arm: fix size_t signedness bug in unmap path", "v6.19",
        "3318f7b5cefb (v6.16)", "io-pgtable-arm.c __arm_lpae_unmap", "UNMAP_HOLE",
        "UNMAP_HOLE_ENOENT",
        "an unmap that meets an empty entry returns -ENOENT through size_t "
        "(0xfffffffffffffffe), which iommu_unmap adds to its count",
        "0 for the empty entry: iommu_unmap returns the bytes unmapped before it",
        "tests/test_history.py::test_unmap_hole_enoent_is_caught", "6.16", ("arm-smmu-v3", "arm-smmu")),
    Fix("ee6e69d03255 iommupt: Fix short gather if the unmap goes into a large mapping "
        "(CVE-2026-31735)", "v7.0", "7c53f4238aa8 (v6.19)",
        "generic_pt/iommu_pt.h unmap_pages", "IOTLB_STALE", "UNMAP_SHORT_GATHER",
        "an unmap that removes a whole leaf larger than asked adds only [iova, iova + len) "
        "to the gather, so the rest of the leaf stays in the IOTLB after the sync",
        "the gather gets [iova, iova + unmapped)",
        "tests/test_history.py::test_short_gather_is_caught", "6.19", ("amd", "amd-v2", "intel")),
    Fix("7e0548525abd iommu: Ensure .iotlb_sync is called correctly", "v7.0",
        "90c5def10bea (v7.0-rc)", "iommu.c __iommu_unmap", "IOTLB_STALE", "UNMAP_SYNC_SKIPPED",
        "iotlb_sync was skipped when the gather stayed empty, so drivers that never fill it "
        "(arm-smmu, qcom_iommu, ipmmu-vmsa, sun50i, sprd, virtio-iommu, apple-dart) flushed "
        "nothing after an unmap",
        "an empty gather after a successful unmap is given [iova, iova + size) and synced",
        "tests/test_history.py::test_skipped_sync_is_caught", "7.0",
        ("arm-smmu", "apple-dart", "virtio-iommu")),
    Fix("0a4d00e2e99a iommu: Fix mapping check for 0x0 to avoid re-mapping it", "v7.0",
        "789a5913b29c (v6.19)", "iommu.c iommu_create_device_direct_mappings",
        "IOVA_TO_PHYS", "DIRECT_MAPPING_AT_0",
        "a direct mapping at IOVA 0 read iova_to_phys(0) == 0 as unmapped and mapped it again "
        "(-EADDRINUSE at probe)",
        "it asks about IOVA 1 instead; iova_to_phys itself is unchanged (0 for PA 0 and for "
        "unmapped alike)",
        "out of scope: the fix is in device probe, not in the API the model states; "
        "tests/test_history.py::test_iova_to_phys_of_pa_0_reads_0 pins the unchanged answer", "6.19",
        ("amd",)),
    Fix("6fc7e8a3b811 iommu: Fix loss of errno on map failure for classic ops", "v7.1",
        "d6c65b0fd621 (v7.1-rc1)", "iommu.c iommu_map_nosync", "MAP_ROLLBACK",
        "MAP_ERRNO_LOST",
        "on a classic (non-iommupt) domain a failed map was rolled back and iommu_map "
        "returned 0",
        "the driver's errno, after the rollback",
        "tests/test_history.py::test_lost_map_errno_is_caught", "7.1",
        ("arm-smmu-v3", "arm-smmu", "mtk_iommu", "apple-dart")),
    Fix("8ef3f77c4400 iommupt: Check for missing PAGE_SIZE in the pgsize_bitmap "
        "(CVE-2026-64151)", "v7.1", "dcd6a011a8d5 (v6.19)", "generic_pt/iommu_pt.h map_range",
        "MAP_NO_PGSIZE", "MAP_4K_FAST_PATH",
        "a 4K map took the 4K fast path even when 4K is not in the domain's pgsize_bitmap: "
        "a 4K leaf, 0",
        "-ENXIO when no page size of the bitmap fits",
        "tests/test_history.py::test_4k_fast_path_without_4k_is_caught", "6.19",
        ("amd", "amd-v2", "intel")),
    Fix("6ec91df8aff7 iommu/dma: Do not try to iommu_map a 0 length region in swiotlb", "v7.1",
        "433a76207dcf", "dma-iommu.c iommu_dma_iova_link_swiotlb", "MAP_ZERO_SIZE",
        "SWIOTLB_ZERO_MIDDLE",
        "dma-iommu mapped an empty middle piece: iommu_map(size 0) is -EINVAL on iommupt "
        "domains from v7.1, and the unwind started at offset 0",
        "the empty middle is skipped",
        "out of scope: the fix is in a caller (dma-iommu); the API-level cause, iommu_map of "
        "0 bytes, is MAP_ZERO_SIZE's v7.1 span, pinned by "
        "tests/test_history.py::test_zero_size_map_by_release", "7.1", ("amd", "amd-v2", "intel")),
)


def missing_fixes(version, driver: str) -> list[Fix]:
    """The fixes release ``version`` of ``driver`` does not have yet, though it has the bug."""
    return [f for f in FIXES if f.missing_in(version, driver)]


def fixes_for(rule_name: str) -> list[Fix]:
    """The fixes that changed the behaviour ``rule_name`` states."""
    return [f for f in FIXES if f.rule == rule_name]
