"""Page-size profiles of real IOMMUs.

A profile is what a domain's hardware offers: the page sizes (``pgsize_bitmap``,
bit n set means pages of 2^n bytes), the input address size ``ias`` (IOVAs are
below 2^ias) and the output address size ``oas`` (physical addresses are below
2^oas), all as the named Linux driver sets them up.  ``default_semantics`` names
the semantic variant (:mod:`spec.semantics`) that the profile's driver runs in
the newest release the model states for it (never a "closest" one:
``spec.kernels`` gives the variant per release); ``notes`` says more.
"""

from dataclasses import dataclass

SZ_4K, SZ_16K, SZ_64K = 1 << 12, 1 << 14, 1 << 16
SZ_1M, SZ_2M, SZ_4M, SZ_16M, SZ_32M = 1 << 20, 1 << 21, 1 << 22, 1 << 24, 1 << 25
SZ_512M, SZ_1G, SZ_512G = 1 << 29, 1 << 30, 1 << 39


@dataclass(frozen=True)
class Profile:
    """One IOMMU's page-size profile.

    Attributes: ``name`` (the id used on the command line and in test ids),
    ``pgsize_bitmap`` (bytes, a bitmap of page sizes), ``ias`` / ``oas`` (bits),
    ``source`` (Linux file and symbol the values come from), ``default_semantics``
    (a name in :data:`spec.semantics.SEMANTICS`) and ``notes``.
    """

    name: str
    pgsize_bitmap: int
    ias: int
    oas: int
    source: str
    default_semantics: str
    notes: str = ""

    @property
    def min_pagesz(self) -> int:
        """The smallest page size, in bytes: ``1 << __ffs(pgsize_bitmap)``."""
        return self.pgsize_bitmap & -self.pgsize_bitmap

    @property
    def pgsizes(self) -> list[int]:
        """The page sizes in bytes, smallest first."""
        return [1 << b for b in range(64) if self.pgsize_bitmap >> b & 1]


def _amd_v1_bitmap() -> int:
    # Every power of two from 4K up, except 512G, below 2^52.
    return ((1 << 52) - 1) & ~(SZ_4K - 1) & ~SZ_512G


PROFILES: dict[str, Profile] = {p.name: p for p in [
    Profile("arm-lpae-4k", SZ_4K | SZ_2M | SZ_1G, 48, 48,
            "drivers/iommu/io-pgtable-arm.c arm_lpae_restrict_pgsizes (4K granule)",
            "arm-lpae-v6.14"),
    Profile("arm-lpae-16k", SZ_16K | SZ_32M, 48, 48,
            "drivers/iommu/io-pgtable-arm.c arm_lpae_restrict_pgsizes (16K granule)",
            "arm-lpae-v6.14"),
    Profile("arm-lpae-64k", SZ_64K | SZ_512M, 48, 48,
            "drivers/iommu/io-pgtable-arm.c arm_lpae_restrict_pgsizes (64K granule)",
            "arm-lpae-v6.14"),
    Profile("armv7s-mediatek", SZ_4K | SZ_64K | SZ_1M | SZ_16M, 32, 32,
            "drivers/iommu/io-pgtable-arm-v7s.c arm_v7s_alloc_pgtable; drivers/iommu/mtk_iommu.c",
            "arm-v7s",
            "v7s short descriptors; like io-pgtable-arm it answers -EEXIST, replaces a "
            "table by a block, and refuses partial unmaps since v6.14."),
    Profile("msm", SZ_4K | SZ_64K | SZ_1M | SZ_16M, 32, 32,
            "drivers/iommu/msm_iommu.c MSM_IOMMU_PGSIZES, msm_iommu_domain_config (ARM_V7S, "
            "ias 32, oas 32)",
            "msm",
            "v7s as msm_iommu sets it up: no quirks and its own flush ops, so a table a "
            "section replaces is invalidated at once."),
    Profile("s390", SZ_4K, 42, 64,
            "drivers/iommu/s390-iommu.c (6.12: 4K pages, the aperture [0, ZPCI_TABLE_SIZE_RT - "
            "1] of three table levels; the PTE keeps address bits 63:12)",
            "s390",
            "Its own tables since the driver stopped using arch/s390/pci/pci_dma.c's: a map "
            "over a live PTE overwrites it, an unmap counts holes."),
    Profile("sprd", SZ_4K, 28, 32,
            "drivers/iommu/sprd-iommu.c (6.2+: SPRD_IOMMU_PAGE_SIZE; the aperture [0, 256M); "
            "the PTE holds paddr >> 12 of a 32-bit paddr)",
            "sprd",
            "One flat table of PTEs with no valid bit: a map overwrites, an unmap clears "
            "whatever is there; 6.1's unmap returns 0 (sprd-v6.1)."),
    Profile("omap", SZ_4K | SZ_64K | SZ_1M | SZ_16M, 32, 32,
            "drivers/iommu/omap-iommu.c OMAP_IOMMU_PGSIZES (the ARM short-descriptor table the "
            "OMAP MMU walks; 32-bit IOVA and PA)",
            "omap",
            "Nothing is checked: a map overwrites whatever its level holds, an unmap clears "
            "one whole leaf per call."),
    Profile("intel-vtd", SZ_4K | SZ_2M | SZ_1G, 48, 52,
            "drivers/iommu/intel/iommu.c (4-level, 2M and 1G super pages)",
            "generic-pt",
            "The VT-d driver moved to generic_pt in v6.19; before, its own table (variant "
            "vtd, v6.1 to v6.18: --kernel-version) kept a live 4K PTE under a new map and "
            "removed a whole large page on an unmap from its base."),
    Profile("amd-v1", _amd_v1_bitmap(), 52, 52,
            "drivers/iommu/amd/amd_iommu_types.h AMD_IOMMU_PGSIZES",
            "generic-pt",
            "Every power of two from 4K to 2^51 except 512G."),
    Profile("amd-v2", SZ_4K | SZ_2M | SZ_1G, 48, 52,
            "drivers/iommu/amd/io_pgtable_v2.c AMD_IOMMU_PGSIZES_V2",
            "generic-pt"),
    Profile("apple-dart", SZ_16K, 32, 36,
            "drivers/iommu/apple-dart.c apple_dart_hw_t8103 (16K pages only)",
            "apple-dart",
            "io-pgtable-dart: one page size, so partial-leaf rules never apply."),
    Profile("exynos", SZ_4K | SZ_64K | SZ_1M, 32, 32,
            "drivers/iommu/exynos-iommu.c SECT_SIZE | LPAGE_SIZE | SPAGE_SIZE (SysMMU v1-3: "
            "32-bit PA)",
            "exynos",
            "The driver's own two-level table: -EADDRINUSE for any overlap, holes counted "
            "on unmap, partial unmaps refused."),
    Profile("rockchip", 0x007ff000, 32, 32,
            "drivers/iommu/rockchip-iommu.c RK_IOMMU_PGSIZE_BITMAP (4K to 4M; the v1 "
            "table's 32-bit PA)",
            "rockchip",
            "The driver writes 4K PTEs for every size: any 4K of a mapping can be unmapped."),
    Profile("sun50i", SZ_4K, 32, 32,
            "drivers/iommu/sun50i-iommu.c (4K pages, 32-bit IOVA and PA)",
            "sun50i",
            "v6.12's variant; 6.1 truncates a paddr past 4G (sun50i-v6.1)."),
    Profile("mtk-iommu-v1", SZ_4K, 32, 32,
            "drivers/iommu/mtk_iommu_v1.c MT2701_IOMMU_PAGE_SIZE (6.2+; 6.1 offered every "
            "power of two from 4K)",
            "mtk_iommu_v1",
            "MT2701's M4U gen1: one flat table of 4K PTEs."),
    Profile("virtio", ((1 << 64) - 1) & ~(SZ_4K - 1), 64, 64,
            "drivers/iommu/virtio-iommu.c viommu_probe (page_size_mask, input_range) with "
            "QEMU's device: page_size_mask TARGET_PAGE_MASK (every power of two from 4K), "
            "input_range [0, UINT64_MAX], VIRTIO_IOMMU_F_MMIO offered "
            "(hw/virtio/virtio-iommu.c virtio_iommu_device_realize)",
            "virtio-iommu",
            "No page table: one mapping per map_pages call in the driver's tree, one MAP to "
            "the device; an unmap removes mappings only whole, and a hole in its range drops "
            "them from the tree alone.  6.1 to 6.7 read the MAP's status (virtio-iommu-v6.1)."),
    Profile("tegra-smmu", SZ_4K, 32, 32,
            "drivers/iommu/tegra-smmu.c (4K pages; 32-bit PA as on Tegra30/114)",
            "tegra-smmu",
            "A map over a live PTE overwrites it."),
]}


def get_profile(name: str) -> Profile:
    """Look a profile up by name; ``KeyError`` lists the known names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; known profiles: "
                       f"{', '.join(sorted(PROFILES))}") from None
