"""What a given kernel runs for a given driver: the semantic variant, the core and the profiles.

``for_kernel("6.12", "arm-smmu-v3")`` answers "what does *my* kernel do?"
from the table ``DRIVERS``: for each driver, the eras of mainline releases
with the page-table code it used, the model's variant for that code and the
core (spec.cores) that hands it work.  A release the model does not cover
for that driver (a page table it does not state yet, or a driver not
present) is an error that says why, never the closest guess.

Sources of the boundaries (commits in spec.history and below): the
map_pages conversions of v5.15 (arm-smmu 808035317b22, arm-smmu-v3
9eec3f9b9e24, VT-d 3f34f1259776, io-pgtable-arm 4a77b12deb25, v7s
23c30bed9c3c), mtk_iommu's in v6.2 (85637380dad6), AMD's in v6.1
(6b080c4e815c), the split removal in v6.13 (33729a5fc0ca, fd50651636fb,
in "IOMMU Updates for Linux v6.13"), generic_pt for AMD and VT-d in v6.19
(789a5913b29c, d373449d8e97) and the v7.1 core (d6c65b0fd621, 99fb8afa16ad).
"""

from dataclasses import dataclass

from .errors import SpecUsageError
from .history import missing_fixes
from .versions import NEWEST, OLDEST, Version, v


@dataclass(frozen=True)
class Era:
    """Releases ``first`` to ``last`` of one driver: its page-table code (``table``), the
    model's ``variant`` and ``core`` for it, or ``uncovered`` (why the model does not state
    it) instead; ``note`` says what else a user should know."""

    first: Version
    last: Version
    table: str
    variant: str | None = None
    core: str | None = None
    uncovered: str = ""
    note: str = ""


@dataclass(frozen=True)
class Driver:
    """An IOMMU driver: its source file, the profiles of its hardware and its eras."""

    name: str
    source: str
    profiles: tuple[str, ...]
    eras: tuple[Era, ...]


def _era(first: str, last: str, table: str, variant: str | None = None, core: str | None = None,
         uncovered: str = "", note: str = "") -> Era:
    return Era(v(first), v(last), table, variant, core, uncovered, note)


_LPAE = "io-pgtable-arm.c (ARM_64_LPAE_S1)"
_LPAE_S2 = "io-pgtable-arm.c (ARM_64_LPAE_S2, concatenated pgd)"
_NAME_NOTE = ("the variant's name keeps the release the model first gave it; the split was "
              "removed in v6.13 (33729a5fc0ca)")

_V7S_MSM = "io-pgtable-arm-v7s.c (ARM_V7S, no quirks, msm_iommu_flush_ops)"
_LPAE32 = "io-pgtable-arm.c (ARM_32_LPAE_S1, own flush ops)"
_MTK_V1_NOT_BUILT = ("not built by the kernel harness: it depends on ARM (arm32's "
                     "arm_iommu_* DMA API) and allocates its table only at attach")
_VIRTIO_TABLE = ("none: the driver's interval tree of mappings, and MAP / UNMAP requests "
                 "to the device (spec.virtio)")
_NOT_READ_RANGE = "not read before 6.1 (the v7s code is arm-v7s-v6.13's)"
_NOT_READ = ("not read: the model states this driver's table as read in Debian 6.1.192 and "
             "6.12.118")


def _in_driver(variant: str, table: str, run: bool = False) -> tuple[Era, ...]:
    """The eras of a driver whose table lives in the driver, read in 6.1 and 6.12: ->map /
    ->unmap (one page per call) up to v6.6, ->map_pages ignoring pgcount from v6.7 (the
    conversion series that removed ->map, bd111e987e76); the releases between 6.1 and 6.12
    are taken to be unchanged (the table code is the same at both ends).  ``run``: the
    kernel harness builds the driver (linuxpt format of the same name)."""
    checked = " and checked through the kernel harness" if run else ""
    return (
        _era("5.4", "6.0", table, uncovered=_NOT_READ),
        _era("6.1", "6.6", table, variant, "map-v5.15", note="->map / ->unmap; read in 6.1.192"
             + checked),
        _era("6.7", "6.12", table, variant, "map_pages",
             note="->map_pages / ->unmap_pages ignoring pgcount (one page per call); read in "
                  "6.12.118" + checked),
        _era("6.13", "7.1", table, uncovered=_NOT_READ),
    )


def _lpae32(file: str, setup: str, conversion: str) -> tuple[Era, ...]:
    """The eras of a driver that runs io-pgtable-arm's ARM_32_LPAE_S1 with its own flush ops
    (``setup``: its quirks and the function that sets them) and kept ->map until
    ``conversion`` (v6.2); read in 6.1.192 and 6.12.118.  The 32-bit format is the 64-bit
    one's code (ias 32, oas 40); the harness does not run it."""
    return (
        _era("5.4", "5.14", _LPAE32, "arm-lpae-v6.13", "map",
             note=f"the 6.1 setup taken to hold; {file} not read before 6.1"),
        _era("5.15", "6.1", _LPAE32, "arm-lpae-v6.13", "map-v5.15",
             note=f"shares io-pgtable-arm: ARM_32_LPAE_S1, {setup}; ->map until {conversion} "
                  f"(v6.2); read in 6.1.192"),
        _era("6.2", "6.12", _LPAE32, "arm-lpae-v6.13", "map_pages",
             note=f"->map_pages from {conversion} (v6.2); read in 6.12.118; " + _NAME_NOTE),
        _era("6.13", "7.1", _LPAE32, "arm-lpae-v6.14", "map_pages",
             note=f"partial unmaps refused from 33729a5fc0ca (v6.13); {file} not read past 6.12"),
    )


DRIVERS: dict[str, Driver] = {d.name: d for d in [
    Driver("arm-smmu-v3", "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c",
           ("arm-lpae-4k", "arm-lpae-16k", "arm-lpae-64k"), (
               _era("5.4", "5.14", _LPAE, "arm-lpae-v6.13", "map"),
               _era("5.15", "6.12", _LPAE, "arm-lpae-v6.13", "map_pages",
                    note="map_pages from 9eec3f9b9e24 (v5.15); " + _NAME_NOTE),
               _era("6.13", "7.1", _LPAE, "arm-lpae-v6.14", "map_pages",
                    note="partial unmaps refused from 33729a5fc0ca (v6.13); " + _NAME_NOTE +
                    "; not an iommupt domain, so the classic core in v7.1 too"),
           )),
    Driver("arm-smmu-v3-s2", "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c (stage-2 domains)",
           ("arm-lpae-4k", "arm-lpae-16k", "arm-lpae-64k"), (
               _era("5.4", "5.14", _LPAE_S2, "arm-lpae-s2-v6.13", "map"),
               _era("5.15", "6.12", _LPAE_S2, "arm-lpae-s2-v6.13", "map_pages",
                    note="map_pages from 9eec3f9b9e24 (v5.15); " + _NAME_NOTE),
               _era("6.13", "7.1", _LPAE_S2, "arm-lpae-s2-v6.14", "map_pages",
                    note="partial unmaps refused from 33729a5fc0ca (v6.13); " + _NAME_NOTE),
           )),
    Driver("arm-smmu", "drivers/iommu/arm/arm-smmu/arm-smmu.c",
           ("arm-lpae-4k", "arm-lpae-16k", "arm-lpae-64k"), (
               _era("5.4", "5.14", _LPAE, "arm-lpae-v6.13", "map",
                    note="AArch32 contexts may use v7s instead (not selected here)"),
               _era("5.15", "6.12", _LPAE, "arm-lpae-v6.13", "map_pages",
                    note="map_pages from 808035317b22 (v5.15); " + _NAME_NOTE),
               _era("6.13", "7.1", _LPAE, "arm-lpae-v6.14", "map_pages",
                    note="partial unmaps refused from 33729a5fc0ca (v6.13); " + _NAME_NOTE),
           )),
    Driver("mtk_iommu", "drivers/iommu/mtk_iommu.c", ("armv7s-mediatek",), (
        _era("5.4", "5.14", "io-pgtable-arm-v7s.c", "arm-v7s-v6.13", "map"),
        _era("5.15", "6.1", "io-pgtable-arm-v7s.c", "arm-v7s-v6.13", "map-v5.15",
             note="the driver kept ->map / ->unmap until 85637380dad6 (v6.2): one page per call "
                  "under the v5.15 core (checked against Debian 6.1.192)"),
        _era("6.2", "6.12", "io-pgtable-arm-v7s.c", "arm-v7s-v6.13", "map_pages",
             note="map_pages from 85637380dad6 (v6.2); checked against Debian 6.12.118"),
        _era("6.13", "7.1", "io-pgtable-arm-v7s.c", "arm-v7s", "map_pages",
             note="partial unmaps refused from fd50651636fb (v6.13)"),
    )),
    Driver("mtk_iommu_v1", "drivers/iommu/mtk_iommu_v1.c", ("mtk-iommu-v1",), (
        _era("5.4", "6.0", "its own flat table", uncovered=_NOT_READ),
        _era("6.1", "6.1", "its own flat table: 1M 4K PTEs", "mtk_iommu_v1-v6.1", "map-v5.15",
             note="->map / ->unmap; read in 6.1.192; " + _MTK_V1_NOT_BUILT),
        _era("6.2", "6.12", "its own flat table: 1M 4K PTEs", "mtk_iommu_v1", "map_pages",
             note="->map_pages from b577f7e679b7 (v6.2); read in 6.12.118; " + _MTK_V1_NOT_BUILT),
        _era("6.13", "7.1", "its own flat table", uncovered=_NOT_READ),
    )),
    Driver("apple-dart", "drivers/iommu/apple-dart.c", ("apple-dart",), (
        _era("5.4", "5.14", "-", uncovered="apple-dart was added in v5.15 (46d1fb072e76)"),
        _era("5.15", "6.0", "the DART format in io-pgtable-arm.c", "apple-dart", "map_pages",
             note="the variant was checked against io-pgtable-dart.c (v6.1+); 892384cd998a "
                  "added the format inside io-pgtable-arm.c"),
        _era("6.1", "7.1", "io-pgtable-dart.c", "apple-dart", "map_pages",
             note="745ef1092bcf (v6.1); checked against Debian 6.1.192 and 6.12.118"),
    )),
    Driver("amd", "drivers/iommu/amd/iommu.c (v1 page table)", ("amd-v1",), (
        _era("5.4", "6.0", "amd io_pgtable.c / in-driver v1 table (->map / ->unmap)",
             uncovered="the ->map / ->unmap form of the AMD v1 table before v6.1 is not stated "
                       "(the model's amd-v1 variant is iommu_v1_map_pages / unmap_pages, "
                       "6b080c4e815c, v6.1)"),
        _era("6.1", "6.18", "amd/io_pgtable.c", "amd-v1", "map_pages",
             note="map_pages from 6b080c4e815c (v6.1)"),
        _era("6.19", "7.0", "generic_pt amdv1 format", "generic-pt", "map_pages",
             note="789a5913b29c (v6.19); the amdv1 format grows its top level "
                  "(PT_FEAT_DYNAMIC_TOP), which the model does not state: it checks ranges "
                  "against the profile's 2^52"),
        _era("7.1", "7.1", "generic_pt amdv1 format", "generic-pt", "map_range",
             note="the v7.1 core (d6c65b0fd621; also in 7.0.y stable); the dynamic top is not "
                  "stated (see v6.19)"),
    )),
    Driver("amd-v2", "drivers/iommu/amd/iommu.c (v2 page table)", ("amd-v2",), (
        _era("5.4", "6.0", "-", uncovered="the v2 page table was added in v6.1 (aaac38f61487)"),
        _era("6.1", "6.18", "amd/io_pgtable_v2.c", "amd-v2", "map_pages",
             note="iommu_v2_map_pages / unmap_pages from aaac38f61487 (v6.1); checked against "
                  "Debian 6.1.192 and 6.12.118"),
        _era("6.19", "7.0", "generic_pt x86_64 format", "generic-pt", "map_pages",
             note="789a5913b29c (v6.19)"),
        _era("7.1", "7.1", "generic_pt x86_64 format", "generic-pt", "map_range",
             note="the v7.1 core (d6c65b0fd621)"),
    )),
    Driver("intel", "drivers/iommu/intel/iommu.c", ("intel-vtd",), (
        _era("5.4", "6.0", "intel/iommu.c's own dma_pte table",
             uncovered="VT-d's own table before v6.1 is not read (the model's vtd variant is "
                       "read in 6.1.192 and 6.12.118)"),
        _era("6.1", "6.18", "intel/iommu.c's own dma_pte table (second level)", "vtd",
             "map_pages", note="intel_iommu_map_pages since 3f34f1259776 (v5.15); checked "
             "against Debian 6.1.192 and 6.12.118 through the kernel harness; releases between "
             "6.12 and 6.18 taken to be unchanged"),
        _era("6.19", "7.0", "generic_pt vtdss / x86_64 formats", "generic-pt", "map_pages",
             note="d373449d8e97 (v6.19)"),
        _era("7.1", "7.1", "generic_pt vtdss / x86_64 formats", "generic-pt", "map_range",
             note="the v7.1 core (d6c65b0fd621; also in 7.0.y stable)"),
    )),
    Driver("rockchip", "drivers/iommu/rockchip-iommu.c", ("rockchip",),
           _in_driver("rockchip", "its own table: a DT of 1024 DTEs, page tables of 1024 4K "
                      "PTEs", run=True)),
    Driver("exynos", "drivers/iommu/exynos-iommu.c", ("exynos",),
           _in_driver("exynos", "its own table: lv1 of 4096 entries (1M sections), lv2 "
                      "tables of 256 (64K as 16 copies, 4K)", run=True)),
    Driver("sun50i", "drivers/iommu/sun50i-iommu.c", ("sun50i",), (
        _era("5.4", "6.0", "its own table", uncovered=_NOT_READ),
        _era("6.1", "6.1", "its own table: a DT of 4096 DTEs, page tables of 256 4K PTEs",
             "sun50i-v6.1", "map-v5.15", note="->map / ->unmap; checked through the kernel "
             "harness"),
        _era("6.2", "6.11", "its own table", uncovered="the paddr check of v6.12 arrived "
             "between 6.1 and 6.12 (commit not pinned); releases in between not read"),
        _era("6.12", "6.12", "its own table: a DT of 4096 DTEs, page tables of 256 4K PTEs",
             "sun50i", "map_pages", note="->map_pages ignoring pgcount (one page per call); "
             "checked through the kernel harness"),
        _era("6.13", "7.1", "its own table", uncovered=_NOT_READ),
    )),
    Driver("tegra-smmu", "drivers/iommu/tegra-smmu.c", ("tegra-smmu",),
           _in_driver("tegra-smmu", "its own table: a PD of 1024 PDEs, page tables of 1024 4K "
                      "PTEs", run=True)),
    Driver("ipmmu-vmsa", "drivers/iommu/ipmmu-vmsa.c", ("arm-lpae-4k",),
           _lpae32("ipmmu-vmsa.c", "only the ARM_NS quirk (it sets NS bits: no result changes), "
                   "ipmmu_domain_init_context", "0a17bbab2330")),
    Driver("qcom_iommu", "drivers/iommu/arm/arm-smmu/qcom_iommu.c", ("arm-lpae-4k",),
           _lpae32("qcom_iommu.c", "no quirks, qcom_iommu_init_domain", "fa8ce5743039")),
    Driver("arm-smmu-v7s", "drivers/iommu/arm/arm-smmu/arm-smmu.c (AArch32-S contexts: ARM_V7S)",
           ("msm",), (
        _era("5.4", "5.14", _V7S_MSM.replace("msm_iommu_flush_ops", "arm-smmu's flush ops"),
             "msm-v6.13", "map", note="the same io-pgtable setup as msm_iommu (ARM_V7S, no "
             "NO_PERMS, flush ops): arm_smmu_init_domain_context; not read before 6.1"),
        _era("5.15", "6.12", _V7S_MSM.replace("msm_iommu_flush_ops", "arm-smmu's flush ops"),
             "msm-v6.13", "map_pages", note="map_pages from 808035317b22 (v5.15); read in 6.1.192 "
             "and 6.12.118"),
        _era("6.13", "7.1", _V7S_MSM.replace("msm_iommu_flush_ops", "arm-smmu's flush ops"),
             "msm", "map_pages", note="partial unmaps refused from fd50651636fb (v6.13)"),
    )),
    Driver("tegra-gart", "drivers/iommu/tegra-gart.c", (), (
        _era("5.4", "7.1", "its own register-backed flat table of 4K PTEs over the GART aperture "
             "(removed before 6.12)",
             uncovered="not stated: read in 6.1.192 only (the driver is gone from 6.12).  Close "
                       "to tegra-smmu (one 4K page size, a live PTE overwritten) but the IOVA "
                       "range is checked (-EINVAL), holes are counted on unmap, and "
                       "iova_to_phys drops the offset and returns (phys_addr_t)-EINVAL outside "
                       "the aperture; the gart_debug module parameter flips maps over live PTEs "
                       "to -EINVAL and holes to 0"),
    )),
    Driver("fsl_pamu", "drivers/iommu/fsl_pamu_domain.c", (), (
        _era("5.4", "7.1", "none (PAMU windows; no map / unmap ops)",
             uncovered="nothing to state: fsl_pamu's ops have no map or unmap (6.1, 6.12), so "
                       "the core's iommu_map fails before any page table is involved"),
    )),
    Driver("virtio-iommu", "drivers/iommu/virtio-iommu.c", ("virtio",), (
        _era("5.4", "5.19", "none (MAP / UNMAP requests, and the driver's interval tree of "
             "mappings)", uncovered="not read: ->map / ->unmap, one mapping per page, until "
             "7e62edd7a33a iommu/virtio: Add map/unmap_pages() callbacks implementation (v6.0)"),
        _era("6.0", "6.0", _VIRTIO_TABLE, uncovered="not read: map_pages from 7e62edd7a33a, "
             "whose detached-domain return 7061b6af3468 corrected; the model states 6.1"),
        _era("6.1", "6.7", _VIRTIO_TABLE, "virtio-iommu-v6.1", "map_pages",
             note="MAP sent synchronously and its status read; read in 6.1.192 against VIRTIO "
                  "1.2, with an endpoint attached, and checked through the kernel harness"),
        _era("6.8", "6.12", _VIRTIO_TABLE, "virtio-iommu", "map_pages",
             note="MAP queued, its status never read (00271ca5cbcd); read in 6.12.118 against "
                  "VIRTIO 1.2, with an endpoint attached, and checked through the kernel "
                  "harness"),
        _era("6.13", "7.1", _VIRTIO_TABLE, uncovered=_NOT_READ),
    )),
    Driver("omap", "drivers/iommu/omap-iommu.c", ("omap",),
           _in_driver("omap", "its own ARM short-descriptor table (omap-iopgtable.h: 1M / 16M "
                      "in the PGD, 4K / 64K in L2 tables), one per attached IOMMU", run=True)),
    Driver("s390", "drivers/iommu/s390-iommu.c", ("s390",), (
        _era("5.4", "6.11", "arch/s390/pci/pci_dma.c's region/segment/page tables (6.1)",
             uncovered="not stated: 6.1's s390-iommu.c maps through arch/s390/pci/pci_dma.c's "
                       "tables with an aperture from the attached function (start_dma, not "
                       "0; the last page of it never maps), and its unmap looks only at each "
                       "call's first page; the model's profiles start at IOVA 0.  6.2 to 6.11 "
                       "not read"),
        _era("6.12", "6.12", "its own region-third / segment / page tables", "s390",
             "map_pages", note="read in 6.12.118 and checked through the kernel harness"),
        _era("6.13", "7.1", "its own tables", uncovered=_NOT_READ),
    )),
    Driver("sprd", "drivers/iommu/sprd-iommu.c", ("sprd",), (
        _era("5.4", "5.12", "-", uncovered="sprd-iommu was added in v5.13"),
        _era("5.13", "6.0", "its own flat table", uncovered=_NOT_READ),
        _era("6.1", "6.1", "its own flat table of u32 PTEs over a 256M aperture", "sprd-v6.1",
             "map-v5.15", note="->map / ->unmap; checked against 6.1.192 through the kernel "
             "harness"),
        _era("6.2", "6.12", "its own flat table of u32 PTEs over a 256M aperture", "sprd",
             "map_pages", note="->map_pages from a05d5857cec3 (v6.2); checked against 6.12.118 "
             "through the kernel harness"),
        _era("6.13", "7.1", "its own flat table", uncovered=_NOT_READ),
    )),
    Driver("msm", "drivers/iommu/msm_iommu.c", ("msm",), (
        _era("5.4", "5.14", _V7S_MSM, "msm-v6.13", "map",
             note="->map / ->unmap; msm_iommu.c " + _NOT_READ_RANGE),
        _era("5.15", "6.1", _V7S_MSM, "msm-v6.13", "map-v5.15",
             note="->map / ->unmap (one page per call) until 8b35cdcf9bf8 (v6.2); checked "
                  "against 6.1.192 through the kernel harness (format v7s-msm)"),
        _era("6.2", "6.12", _V7S_MSM, "msm-v6.13", "map_pages",
             note="->map_pages from 8b35cdcf9bf8 (v6.2), pgcount passed to v7s; checked "
                  "against 6.12.118 through the kernel harness (format v7s-msm)"),
        _era("6.13", "7.1", _V7S_MSM, "msm", "map_pages",
             note="partial unmaps refused from fd50651636fb (v6.13); msm_iommu.c not read "
                  "past 6.12"),
    )),
]}


@dataclass(frozen=True)
class KernelSemantics:
    """The answer of :func:`for_kernel`: ``variant`` and ``core`` to build a
    ReferenceDomain with, the ``profiles`` of the driver's hardware, the page-table code
    (``table``), the releases of the era (``era``) and notes."""

    version: Version
    driver: str
    variant: str
    core: str
    profiles: tuple[str, ...]
    table: str
    era: str
    note: str
    #: Fixes (spec.history.FIXES) this release does not have yet: the model states the
    #: behaviour after them, and the named old behaviour is what this release does.
    missing_fixes: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {"version": str(self.version), "driver": self.driver, "variant": self.variant,
                "core": self.core, "profiles": list(self.profiles), "table": self.table,
                "era": self.era, "note": self.note, "missing_fixes": list(self.missing_fixes)}


def era_of(version: "Version | str", driver: str) -> Era:
    """The era of ``driver`` that contains ``version``; SpecUsageError for an unknown driver or a
    release outside v5.4 to v7.1."""
    version = Version.parse(version)
    if driver not in DRIVERS:
        raise SpecUsageError(f"unknown driver {driver!r}; known: {', '.join(DRIVERS)}")
    if not OLDEST <= version <= NEWEST:
        raise SpecUsageError(f"kernel {version} is outside the releases the model answers for "
                             f"({OLDEST} to {NEWEST})")
    return next(e for e in DRIVERS[driver].eras if e.first <= version <= e.last)


def for_kernel(version: "Version | str", driver: str) -> KernelSemantics:
    """What kernel ``version`` (``"6.12"``, ``"v6.12"``, ``"6.12.118"``) runs for ``driver``.

    Raises SpecUsageError for an unknown driver, a release outside v5.4 to
    v7.1, or a release the model does not cover for that driver (the
    message says why).
    """
    version = Version.parse(version)
    era = era_of(version, driver)
    if era.uncovered:
        raise SpecUsageError(f"{driver} in {version}: not covered by the model: {era.uncovered}")
    d = DRIVERS[driver]
    missing = tuple(f"{f.hash} ({f.release}): {f.before_rule}, {f.before}"
                    for f in missing_fixes(version, driver))
    return KernelSemantics(version, driver, era.variant, era.core, d.profiles, era.table,
                           f"{era.first} to {era.last}", era.note, missing)


#: The driver each profile's hardware runs (profiles with none are not selected by release).
PROFILE_DRIVER = {"arm-lpae-4k": "arm-smmu-v3", "arm-lpae-16k": "arm-smmu-v3",
                  "arm-lpae-64k": "arm-smmu-v3", "armv7s-mediatek": "mtk_iommu",
                  "apple-dart": "apple-dart", "intel-vtd": "intel", "amd-v1": "amd",
                  "amd-v2": "amd-v2", "exynos": "exynos", "rockchip": "rockchip",
                  "sun50i": "sun50i", "tegra-smmu": "tegra-smmu", "mtk-iommu-v1": "mtk_iommu_v1",
                  "msm": "msm", "s390": "s390", "sprd": "sprd", "omap": "omap"}
