/*
 * The interface between linuxpt's driver glue (glue.c, compiled against the
 * kernel shim with the tree's io-pgtable code) and the protocol server
 * (harness.c, compiled against the C library).  Plain C types only.
 */
#ifndef LINUXPT_H
#define LINUXPT_H

enum lpt_format { LPT_LPAE_S1 = 0, LPT_V7S = 1, LPT_DART = 2, LPT_AMD_V1 = 3, LPT_AMD_V2 = 4,
		  LPT_LPAE_S2 = 5, LPT_ROCKCHIP = 6, LPT_EXYNOS = 7, LPT_SUN50I = 8,
		  LPT_TEGRA_SMMU = 9, LPT_VTD = 10, LPT_S390 = 11, LPT_SPRD = 12, LPT_V7S_MSM = 13,
		  LPT_OMAP = 14, LPT_VIRTIO = 15 };

/* Was the harness built with the tree's drivers/iommu/amd (the amd-v1/amd-v2 formats)? */
int lpt_have_amd(void);

/* The core loop Linux runs over this format's driver in this tree (hello's "core"). */
const char *lpt_core(int format);

/* The driver's iotlb_sync_map after a successful map (mtk_iommu, apple-dart); -1 where none. */
int lpt_iotlb_sync_map(unsigned long long iova, unsigned long long size);
int lpt_has_iotlb_sync_map(int format);
/* Does the driver have an iotlb_sync (hello lists "iotlb_sync")?  rockchip has none. */
int lpt_has_iotlb_sync(int format);
/* Was this format built (the driver formats need their driver file in the tree)? */
int lpt_format_built(int format);
/* Why a format the tree has the file of was not built (one line), or NULL: s390 on a tree
 * whose s390-iommu.c keeps its table in arch/s390/pci/pci_dma.c (6.1). */
const char *lpt_format_refusal(int format);

/* What the hardware is given for a domain: what dump's walker reads. */
struct lpt_hw {
	int format;
	unsigned long long pgsize_bitmap; /* cfg.pgsize_bitmap after the format restricted it */
	unsigned ias, oas;                /* cfg.ias / cfg.oas after alloc */
	unsigned long long quirks;
	int no_perms, mtk_ext;            /* v7s quirks in force */
	/* lpae-s1: TTBR0 and the TCR fields (arm_lpae_s1_cfg); lpae-s2: VTTBR and the VTCR's
	 * T0SZ, TG0, PS and SL0 (arm_lpae_s2_cfg) in the same fields */
	unsigned long long ttbr;
	unsigned tcr_tsz, tcr_tg, tcr_ips, vtcr_sl;
	/* v7s: arm_v7s_cfg.ttbr */
	unsigned long long v7s_ttbr;
	/* dart: apple_dart_cfg */
	unsigned long long dart_ttbr[4];
	unsigned dart_n_ttbrs;
	/* amd-v1: the DTE's root table and mode (levels); amd-v2: GCR3[0] and the levels */
	unsigned long long amd_root;
	int amd_mode;
	/* rockchip: the MMU's RK_MMU_DTE_ADDR register and whether paging is enabled (STATUS) */
	unsigned long long rk_dte_addr;
	int rk_paging;
	/* exynos: the SysMMU's page table base register, whether it translates (MMU_CTRL
	 * enabled), and the driver's shared empty lv2 table (ZERO_LV2LINK points at it) */
	unsigned long long exy_pt_base, exy_zero_lv2;
	int exy_enabled;
	/* sun50i: the IOMMU's IOMMU_TTB_REG (the DT's address) and IOMMU_ENABLE_REG's enable bit */
	unsigned long long sun_ttb;
	int sun_enabled;
	/* tegra-smmu: the page directory of the ASID the master's swgroup uses (SMMU_PTB_DATA),
	 * whether the swgroup and the SMMU translate, and the driver's pfn_mask */
	unsigned long long tg_ptb, tg_pfn_mask;
	int tg_enabled;
	/* vtd: the pgd and the levels (agaw_to_level) the device's context / PASID entry holds */
	unsigned long long vtd_pgd;
	int vtd_levels;
	/* s390: the IOTA the zPCI function's IOAT was registered with (table origin, DT, enable;
	 * 0 when none is) and the registered DMA range [base, limit] */
	unsigned long long s390_iota, s390_base, s390_limit;
	/* sprd: the IOMMU's FIRST_PPN (the table's page number), FIRST_VPN, VPN_RANGE registers
	 * and its CFG register's enable bit */
	unsigned long long sprd_first_ppn, sprd_first_vpn, sprd_vpn_range;
	int sprd_enabled;
	/* omap: the MMU's MMU_TTB register (the PGD's physical address) and whether it
	 * translates (MMU_CNTL's MMU_EN) */
	unsigned long long omap_ttb;
	int omap_enabled;
	/* virtio: the device's mappings, in IOVA order: idx -> {iova, paddr, size, prot};
	 * 0 past the last (glue_virtio.c) */
	int (*virtio_mapping)(unsigned idx, unsigned long long out[4]);
};

/* Before dump: the fields the hardware reads that change after domain_alloc (AMD's DTE). */
void lpt_refresh_hw(struct lpt_hw *hw);

/* The kernel tree's version ("6.12.118") and series ("6.12"). */
const char *lpt_kernel_version(void);
const char *lpt_kernel_series(void);

/* 0 or -errno (-EINVAL when the format refuses the configuration). */
int lpt_domain_alloc(int format, unsigned long long pgsize_bitmap, unsigned ias, unsigned oas,
		     struct lpt_hw *hw);
/* free_io_pgtable_ops; no-op without a domain */
void lpt_domain_free(void);
int lpt_have_domain(void);
int lpt_map_pages(unsigned long long iova, unsigned long long paddr, unsigned long long pgsize,
		  unsigned long long pgcount, int prot, unsigned long long *mapped);
unsigned long long lpt_unmap_pages(unsigned long long iova, unsigned long long pgsize,
				   unsigned long long pgcount);
void lpt_iotlb_sync(void);
unsigned long long lpt_iova_to_phys(unsigned long long iova);

/* glue_amd.c (built when the tree has drivers/iommu/amd); glue.c dispatches to these */
int lpt_amd_domain_alloc(int format, unsigned long long pgsize_bitmap, unsigned ias, unsigned oas,
			 struct lpt_hw *hw);
void lpt_amd_domain_free(void);
int lpt_amd_have_domain(void);
void lpt_amd_refresh(struct lpt_hw *hw);
int lpt_amd_map_pages(unsigned long long iova, unsigned long long paddr, unsigned long long pgsize,
		      unsigned long long pgcount, int prot, unsigned long long *mapped);
unsigned long long lpt_amd_unmap_pages(unsigned long long iova, unsigned long long pgsize,
				       unsigned long long pgcount);
void lpt_amd_iotlb_sync(void);
int lpt_amd_iotlb_sync_map(unsigned long long iova, unsigned long long size);
unsigned long long lpt_amd_iova_to_phys(unsigned long long iova);

/*
 * A format whose page table lives in its IOMMU driver (rockchip: glue_rockchip.c,
 * exynos: glue_exynos.c, sun50i: glue_sun50i.c, tegra-smmu: glue_tegra-smmu.c,
 * vtd: glue_vtd.c, s390: glue_s390.c, sprd: glue_sprd.c, omap: glue_omap.c,
 * virtio: glue_virtio.c),
 * compiled when the tree has the driver; glue.c dispatches to it.
 */
struct lpt_driver_format {
	int (*domain_alloc)(unsigned long long pgsize_bitmap, unsigned ias, unsigned oas,
			    struct lpt_hw *hw);
	void (*domain_free)(void);
	int (*have_domain)(void);
	void (*refresh)(struct lpt_hw *hw);
	const char *(*core)(void);       /* hello's core: the loop Linux runs over the driver */
	int (*has_iotlb_sync)(void);     /* the driver has ops->iotlb_sync */
	int (*map_pages)(unsigned long long iova, unsigned long long paddr, unsigned long long pgsize,
			 unsigned long long pgcount, int prot, unsigned long long *mapped);
	unsigned long long (*unmap_pages)(unsigned long long iova, unsigned long long pgsize,
					  unsigned long long pgcount);
	void (*iotlb_sync)(void);
	unsigned long long (*iova_to_phys)(unsigned long long iova);
	/* the driver's ops->iotlb_sync_map after a successful map; NULL where it has none */
	int (*iotlb_sync_map)(unsigned long long iova, unsigned long long size);
};

#endif
