"""What each of linuxpt's formats is: the profiles it serves, the variant a tree runs, the prot it records.

These are facts about Linux's io-pgtable formats and the drivers that use
them, per kernel version; the tester (difftest.kernel) and ``iommu-spec
kernel serve`` read them.  Version ranges cite the commits that changed them.
"""

#: io-pgtable format (the harness's --format) -> the profiles it serves.
FORMAT_PROFILES = {
    "lpae-s1": ("arm-lpae-4k", "arm-lpae-16k", "arm-lpae-64k"),
    "lpae-s2": ("arm-lpae-4k", "arm-lpae-16k", "arm-lpae-64k"),
    "v7s": ("armv7s-mediatek",),
    "dart": ("apple-dart",),
    "amd-v1": ("amd-v1",),
    "amd-v2": ("amd-v2",),
    "rockchip": ("rockchip",),
    "exynos": ("exynos",),
    "sun50i": ("sun50i",),
    "tegra-smmu": ("tegra-smmu",),
    "vtd": ("intel-vtd",),
    "s390": ("s390",),
    # sprd-iommu.c: 4K PTEs over a 256M aperture (ias 28), (u32)paddr >> 12 (oas 32); the
    # profile is named for the driver, as rockchip's and sun50i's are
    "sprd": ("sprd",),
    # msm_iommu's v7s (msm_iommu_domain_config: MSM_IOMMU_PGSIZES, ias 32, oas 32)
    "v7s-msm": ("msm",),
    "omap": ("omap",),
    # virtio-iommu.c over a VIRTIO 1.2 device (the profile: QEMU's page_size_mask and input range)
    "virtio": ("virtio",),
}
#: The formats a run checks unless --kernel-format names others.
DEFAULT_FORMATS = ("lpae-s1", "lpae-s2", "v7s", "dart", "amd-v1", "amd-v2", "rockchip", "exynos",
                   "sun50i", "tegra-smmu", "vtd", "s390", "sprd", "v7s-msm", "omap", "virtio")
#: The file a default format needs in the tree: a tree without it (an ARM-only tree, or
#: v6.19+, where AMD moved to generic_pt) gets no item of that format unless asked for.
FORMAT_FILES = {"amd-v1": "drivers/iommu/amd/io_pgtable.c",
                "amd-v2": "drivers/iommu/amd/io_pgtable_v2.c",
                "rockchip": "drivers/iommu/rockchip-iommu.c",
                "exynos": "drivers/iommu/exynos-iommu.c",
                "sun50i": "drivers/iommu/sun50i-iommu.c",
                "tegra-smmu": "drivers/iommu/tegra-smmu.c",
                "vtd": "drivers/iommu/intel/iommu.c",
                # 6.7+ only: 6.1's s390-iommu.c uses pci_dma.c's tables (the harness refuses it)
                "s390": "drivers/iommu/s390-iommu.c",
                "sprd": "drivers/iommu/sprd-iommu.c",
                "omap": "drivers/iommu/omap-iommu.c",
                "virtio": "drivers/iommu/virtio-iommu.c"}
R, W, CACHE, NOEXEC, MMIO, PRIV = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20


def recorded_prot(fmt: str, prot: int) -> int:
    """The prot a leaf of ``fmt`` records for a map with ``prot``: what its descriptor can say.

    * lpae-s1 (arm_lpae_prot_to_pte, stage 1): no write-only permission (AP
      is read-only or read-write), and MMIO's device memory type wins over
      CACHE's;
    * lpae-s2 (arm_lpae_prot_to_pte, stage 2): HAP has a read and a write bit,
      so write-only is recorded as such; no PRIV; MMIO wins over CACHE;
    * v7s as mtk_iommu sets it up (IO_PGTABLE_QUIRK_NO_PERMS, which
      arm_v7s_prot_to_pte honours by writing no AP and no XN): always read-write,
      no NOEXEC or PRIV; MMIO wins over CACHE;
    * v7s-msm (msm_iommu_domain_config: no quirks, so arm_v7s_prot_to_pte writes
      AF, AP_UNPRIV unless PRIV, AP_RDONLY unless WRITE, XN for NOEXEC): as
      lpae-s1, READ always (no write-only), NOEXEC and PRIV kept, MMIO wins over
      CACHE;
    * dart (dart_prot_to_pte, APPLE_DART) and amd-v1 (iommu_v1_map_pages:
      IOMMU_PTE_IR / IW): read and write bits only;
    * amd-v2 (io_pgtable_v2.c set_pte_attr): a present entry is readable, R/W
      makes it writable; nothing else is encoded;
    * rockchip (rk_mk_pte, the v1 table): read and write bits only;
    * exynos (LV1_PROT / LV2_PROT of SysMMU v3.3): READ and WRITE only, and a
      WRITE-only map is read-write;
    * sun50i (sun50i_mk_pte: the ACI of READ|WRITE, READ, WRITE or none): read
      and write only, each on its own;
    * tegra-smmu (__tegra_smmu_map: SMMU_PTE_READABLE / _WRITABLE): likewise;
    * vtd (intel/iommu.c __domain_mapping, second level): DMA_PTE_READ /
      DMA_PTE_WRITE only, and every PTE also gets DMA_FL_PTE_PRESENT, which is
      bit 0 = DMA_PTE_READ: a WRITE-only map is read-write.  (A map with
      neither READ nor WRITE is -EINVAL: nothing is recorded.)
    * s390 (s390-iommu.c s390_iommu_map_pages, v6.7+): a valid zPCI PTE is
      readable; without IOMMU_WRITE it gets ZPCI_TABLE_PROTECTED.  prot is not
      checked: prot 0 maps read-only, WRITE alone read-write.
    * sprd (sprd_iommu_map: the PTE is paddr >> 12, prot is never read):
      nothing, every leaf records 0.
    * omap (omap-iommu.c omap_iommu_map): prot is never read, and the OMAP
      MMU's entries have no permission bits (their attribute bits, endianness,
      element size and mixed, are 0 from iotlb_init_entry): every leaf is
      read-write, prot 0 included.
    * virtio (viommu_map_pages): the MAP's flags are VIRTIO_IOMMU_MAP_F_READ / _WRITE /
      _MMIO from IOMMU_READ / _WRITE / _MMIO, each on its own; the rest is dropped.
    """
    if fmt in ("lpae-s1", "v7s-msm"):  # v7s-msm: AP[2] read-only, AP[1] unprivileged, XN
        out = R | (W if prot & W else 0) | (prot & (NOEXEC | PRIV))
        return out | (MMIO if prot & MMIO else prot & CACHE)
    if fmt == "lpae-s2":  # S2AP read / write each on its own, XN, MemAttr; no PRIV
        return (prot & (R | W | NOEXEC)) | (MMIO if prot & MMIO else prot & CACHE)
    if fmt == "v7s":
        return R | W | (MMIO if prot & MMIO else prot & CACHE)
    if fmt in ("dart", "amd-v1"):  # dart_prot_to_pte; iommu_v1_map_pages: IR / IW only
        return prot & (R | W)
    if fmt == "amd-v2":  # x86-64 long-mode PTEs: present is readable, R/W writable
        return R | (prot & W)
    if fmt in ("rockchip", "sun50i", "tegra-smmu"):  # rk_mk_pte: RK_PTE_PAGE_READABLE / _WRITABLE; sun50i's ACI
        return prot & (R | W)
    if fmt == "exynos":  # SysMMU v3.3's LV2_PROT: WRITE implies READ|WRITE, READ alone read-only
        return (R | W) if prot & W else prot & R
    if fmt == "vtd":  # attr |= DMA_FL_PTE_PRESENT (bit 0, DMA_PTE_READ) on every PTE
        return R | (prot & W)
    if fmt == "s390":  # s390_iommu_map_pages: ZPCI_TABLE_PROTECTED unless IOMMU_WRITE
        return R | (prot & W)
    if fmt == "sprd":  # no permission bits at all
        return 0
    if fmt == "omap":  # no permission bits: the MMU lets every access through
        return R | W
    if fmt == "virtio":  # VIRTIO_IOMMU_MAP_F_READ / _WRITE / _MMIO
        return prot & (R | W | MMIO)
    raise ValueError(f"unknown io-pgtable format {fmt!r}")


def semantics_for(fmt: str, version: tuple[int, int]) -> str | None:
    """The variant a tree of ``version`` runs for ``fmt``, from spec.kernels' driver table.

    lpae-s1 is what arm-smmu-v3 runs (lpae-s2 its stage-2 domains), v7s mtk_iommu, v7s-msm
    msm_iommu, dart apple-dart, amd-v1 the AMD driver, sprd sprd-iommu; the split removal of v6.13 (33729a5fc0ca, fd50651636fb)
    decides arm and v7s.  None where the model states no variant for that
    release.
    """
    from spec.kernels import era_of
    driver = {"lpae-s1": "arm-smmu-v3", "lpae-s2": "arm-smmu-v3-s2", "v7s": "mtk_iommu",
              "dart": "apple-dart", "amd-v1": "amd", "amd-v2": "amd-v2",
              "rockchip": "rockchip", "exynos": "exynos", "sun50i": "sun50i",
              "tegra-smmu": "tegra-smmu", "vtd": "intel", "s390": "s390", "v7s-msm": "msm",
              "sprd": "sprd", "omap": "omap", "virtio": "virtio-iommu"}.get(fmt)
    if driver is not None:
        era = era_of(f"{version[0]}.{version[1]}", driver)
        if fmt in ("amd-v1", "amd-v2") and era.variant is None:  # an older tree's AMD files
            return fmt
        return era.variant
    raise ValueError(f"unknown io-pgtable format {fmt!r}; known: {', '.join(FORMAT_PROFILES)}")
