/*
 * linuxpt driver glue for the tegra-smmu format: the page table of
 * drivers/iommu/tegra-smmu.c (the NVIDIA Tegra30-Tegra210 SMMU), which lives
 * in the driver itself (no io-pgtable).  The tree's driver file is compiled
 * whole and unmodified: this file #includes it (through
 * gen/linuxpt/tegra-smmu_driver.h, which build.py writes with the file's
 * absolute path).  The kernel APIs around it are linuxpt's shim
 * (include/linuxpt/kshim_drv.h, kshim_tegra.h: our own <soc/tegra/mc.h>
 * types); the IOMMU core's calls are glue_drv.h's.
 *
 * What runs is the driver's own code:
 *
 *   once       tegra_smmu_probe (which the memory-controller driver calls on
 *              a board) with our memory controller: one register window,
 *              num_address_bits 32 (the profile's oas: Tegra30/114; Tegra124+
 *              have 34), atom_size 32, and an SMMU description with 4 ASIDs,
 *              32 TLB lines, one swgroup (ASID register 0x240) and one client
 *              of it (enable bit 0 of register 0x228).  Then, as
 *              of_iommu_configure does, iommu_fwspec_init and .of_xlate
 *              (tegra_smmu_of_xlate: swgroup 0) for one master, and
 *              .probe_device (its device-tree walk finds no "iommus" on the
 *              master, which of_xlate already configured).
 *   domain_alloc  6.1 .domain_alloc(IOMMU_DOMAIN_UNMANAGED), 6.12
 *              .domain_alloc_paging: the 4K page directory from the table
 *              arena; then .attach_dev (tegra_smmu_attach_dev:
 *              tegra_smmu_as_prepare takes an ASID and writes SMMU_PTB_ASID /
 *              SMMU_PTB_DATA; tegra_smmu_enable writes the swgroup's ASID
 *              register and the client's enable bit).
 *   map/unmap  6.12 ->map_pages / ->unmap_pages (pgcount ignored: one 4K
 *              page per call), 6.1 ->map / ->unmap per page.
 *   domain_free  6.12 the identity domain's attach (tegra_smmu_identity_attach,
 *              which asks the core for the device's domain:
 *              iommu_get_domain_for_dev is the glue's), 6.1 .detach_dev; then
 *              .free (tegra_smmu_domain_free).  That leaves the page
 *              directory and every page table still holding a mapping
 *              allocated ("TODO: free page directory and page tables"): a
 *              driver leak (a PT emptied by unmap is freed at once: its use
 *              count reaches 0).  The glue leaves them as the driver does:
 *              domain_free's table_pages counts them, and the tester reports
 *              them under DOMAIN_FREE_LEAK (docs/linux-findings.md).  The
 *              harness counts table_pages per domain, so they do not carry
 *              over to the next one.
 *
 * The driver has no iotlb_sync, iotlb_sync_map or flush_iotlb_all.  Every
 * PTE and PDE write is followed by register writes, which the model below
 * reports: SMMU_TLB_FLUSH with VA_MATCH_ALL is ["all"], VA_MATCH_SECTION
 * (a PDE: smmu_flush_tlb_section) ["range", 4M section, 4M], VA_MATCH_GROUP
 * (a PTE: smmu_flush_tlb_group) ["range", 16K group, 16K]; equal or
 * adjacent ranges merged.  SMMU_PTC_FLUSH (the page table cache: table
 * entries, not translations) is not reported.  Registers read back what was
 * written (smmu_flush's read of SMMU_PTB_ASID is the barrier).
 *
 * This file is our own code: it names the driver functions it follows, it
 * copies none.
 */
#include <linuxpt/kshim_tegra.h>
#include <linuxpt/tegra-smmu_driver.h> /* generated: the tree's drivers/iommu/tegra-smmu.c */

#include "glue_drv.h"
#include "linuxpt.h"

/* ------------------------------------------------------------------------ */
/* The memory controller's registers (the SMMU's are among them)             */
/* ------------------------------------------------------------------------ */

#define LPT_TG_WINDOW 0x1000
#define LPT_TG_ASID_REG 0x240   /* the swgroup's ASID register */
#define LPT_TG_CLIENT_REG 0x228 /* the client's SMMU enable register */
#define LPT_TG_NUM_ASIDS 4

static struct {
	u32 reg[LPT_TG_WINDOW / 4];
	u32 ptb_asid, ptb_data[LPT_TG_NUM_ASIDS];
	/* TLB invalidations not yet reported: [inv_start, inv_start + inv_len) */
	u64 inv_start, inv_len;
} regs;

static void inv_flush(void)
{
	if (regs.inv_len)
		linuxpt_tlb_range(regs.inv_start, regs.inv_len);
	regs.inv_len = 0;
}

static void inv_add(u64 start, u64 len)
{
	if (regs.inv_len && start >= regs.inv_start && start + len <= regs.inv_start + regs.inv_len)
		return;
	if (regs.inv_len && start == regs.inv_start + regs.inv_len) {
		regs.inv_len += len;
		return;
	}
	inv_flush();
	regs.inv_start = start;
	regs.inv_len = len;
}

static unsigned lpt_tg_read(void *ctx, unsigned long off)
{
	(void)ctx;
	if (off == SMMU_PTB_DATA)
		return regs.ptb_data[regs.ptb_asid % LPT_TG_NUM_ASIDS];
	return regs.reg[off / 4];
}

static void lpt_tg_write(void *ctx, unsigned long off, unsigned value)
{
	(void)ctx;
	if (off == SMMU_TLB_FLUSH) {
		switch (value & 3) {
		case SMMU_TLB_FLUSH_VA_MATCH_SECTION:
			inv_add((u64)(value & 0xffc00) << 12, SZ_4M);
			return;
		case SMMU_TLB_FLUSH_VA_MATCH_GROUP:
			inv_add((u64)(value & 0xffffc) << 12, SZ_16K);
			return;
		default: /* VA_MATCH_ALL, with or without an ASID */
			inv_flush();
			linuxpt_tlb_all();
			return;
		}
	}
	if (off == SMMU_PTC_FLUSH || off == SMMU_PTC_FLUSH_HI)
		return; /* the page table cache: no translation dropped */
	inv_flush();
	if (off == SMMU_PTB_DATA)
		regs.ptb_data[regs.ptb_asid % LPT_TG_NUM_ASIDS] = value;
	else if (off == SMMU_PTB_ASID)
		regs.ptb_asid = value;
	regs.reg[off / 4] = value;
}

static const struct linuxpt_mmio_ops lpt_tg_mmio = { .read = lpt_tg_read, .write = lpt_tg_write };

/* ------------------------------------------------------------------------ */
/* The memory controller, its SMMU and a master                              */
/* ------------------------------------------------------------------------ */

static const struct tegra_mc_soc lpt_tg_mc_soc = { .num_address_bits = 32, .atom_size = 32 };
static const struct tegra_smmu_swgroup lpt_tg_swgroups[] = {
	{ .name = "lpt", .swgroup = 0, .reg = LPT_TG_ASID_REG },
};
static const struct tegra_mc_client lpt_tg_clients[] = {
	{ .id = 0, .name = "lptr", .swgroup = 0,
	  .regs = { .smmu = { .reg = LPT_TG_CLIENT_REG, .bit = 0 } } },
};
static const struct tegra_smmu_soc lpt_tg_smmu_soc = {
	.clients = lpt_tg_clients,
	.num_clients = ARRAY_SIZE(lpt_tg_clients),
	.swgroups = lpt_tg_swgroups,
	.num_swgroups = ARRAY_SIZE(lpt_tg_swgroups),
	.num_tlb_lines = 32,
	.num_asids = LPT_TG_NUM_ASIDS,
};

static struct tegra_mc lpt_tg_mc;
static struct device_node lpt_tg_np = { .name = "memory-controller" };
static struct platform_device lpt_tg_pdev = { .name = "tegra-mc" };
static struct device lpt_tg_master = { .numa_node = NUMA_NO_NODE, .init_name = "master" };
static int probed, probe_ret;

static struct iommu_domain *tg_dom;
static struct iommu_iotlb_gather tg_gather; /* the core's gather for unmap (the driver ignores it) */

static int lpt_tg_probe(void)
{
	struct of_phandle_args args = { .np = &lpt_tg_np, .args_count = 1, .args = { 0 } };
	struct tegra_smmu *smmu;

	if (probed)
		return probe_ret;
	probed = 1;
	lpt_tg_pdev.dev = (struct device){
		.numa_node = NUMA_NO_NODE,
		.linuxpt_dma_direct = 1,
		.of_node = &lpt_tg_np,
		.init_name = "70019000.memory-controller",
	};
	lpt_tg_np.linuxpt_pdev = &lpt_tg_pdev;
	lpt_tg_mc = (struct tegra_mc){
		.dev = &lpt_tg_pdev.dev,
		.regs = linuxpt_mmio_window(LPT_TG_WINDOW, &lpt_tg_mmio, NULL),
		.soc = &lpt_tg_mc_soc,
	};
	platform_set_drvdata(&lpt_tg_pdev, &lpt_tg_mc);
	smmu = tegra_smmu_probe(&lpt_tg_pdev.dev, &lpt_tg_smmu_soc, &lpt_tg_mc);
	probe_ret = IS_ERR(smmu) ? (int)PTR_ERR(smmu) : 0;
	if (!probe_ret)
		probe_ret = iommu_fwspec_init(&lpt_tg_master, dev_fwnode(&lpt_tg_pdev.dev));
	if (!probe_ret)
		probe_ret = tegra_smmu_ops.of_xlate(&lpt_tg_master, &args);
	if (!probe_ret) {
		struct iommu_device *iommu = tegra_smmu_ops.probe_device(&lpt_tg_master);
		if (IS_ERR(iommu))
			probe_ret = PTR_ERR(iommu);
	}
	if (probe_ret)
		linuxpt_printk("harness: tegra-smmu: probing the SMMU failed: %d\n", probe_ret);
	inv_flush();
	return probe_ret;
}

/* ------------------------------------------------------------------------ */
/* The domain                                                                */
/* ------------------------------------------------------------------------ */

static int tg_have_domain(void) { return tg_dom != NULL; }

/* What the SMMU translates the master's swgroup with: its ASID's page directory. */
static void tg_refresh(struct lpt_hw *hw)
{
	u32 asid = regs.reg[LPT_TG_ASID_REG / 4];

	hw->tg_enabled = (asid & SMMU_ASID_ENABLE) && (regs.reg[SMMU_CONFIG / 4] & SMMU_CONFIG_ENABLE);
	hw->tg_ptb = hw->tg_enabled ? regs.ptb_data[(asid & SMMU_ASID_MASK) % LPT_TG_NUM_ASIDS] : 0;
}

static void tg_domain_free(void)
{
	struct iommu_domain *domain = tg_dom;

	if (!domain)
		return;
	tg_dom = NULL;
	lpt_core_domain_free(&tegra_smmu_ops, domain, &lpt_tg_master);
	linuxpt_dev_domain = NULL;
	inv_flush();
}

static int tg_domain_alloc(unsigned long long pgsize_bitmap, unsigned ias, unsigned oas,
			   struct lpt_hw *hw)
{
	struct iommu_domain *domain;
	int ret;

	(void)pgsize_bitmap; /* the driver's: SZ_4K */
	(void)ias;
	(void)oas;
	tg_domain_free();
	ret = lpt_tg_probe();
	if (ret)
		return ret;
	domain = lpt_core_domain_alloc(&tegra_smmu_ops, &lpt_tg_master);
	if (!domain)
		return -ENOMEM;
	ret = domain->ops->attach_dev(domain, &lpt_tg_master); /* tegra_smmu_attach_dev */
	if (ret) {
		domain->ops->free(domain); /* which leaves the page directory, as in Linux */
		inv_flush();
		return ret;
	}
	linuxpt_dev_domain = domain;
	tg_dom = domain;
	iommu_iotlb_gather_init(&tg_gather);
	inv_flush();
	*hw = (struct lpt_hw){
		.format = LPT_TEGRA_SMMU,
		.pgsize_bitmap = domain->pgsize_bitmap,
		/* the aperture the driver sets: [0, 0xffffffff] */
		.ias = (unsigned)fls64(domain->geometry.aperture_end),
		/* the memory controller's num_address_bits (pfn_mask) */
		.oas = lpt_tg_mc_soc.num_address_bits,
	};
	hw->tg_pfn_mask = to_smmu_as(domain)->smmu->pfn_mask;
	tg_refresh(hw);
	return 0;
}

static const char *tg_core(void) { return lpt_core_name(&tegra_smmu_ops); }

static int tg_has_iotlb_sync(void) { return tegra_smmu_ops.default_domain_ops->iotlb_sync != NULL; }

static int tg_map_pages(unsigned long long iova, unsigned long long paddr, unsigned long long pgsize,
			unsigned long long pgcount, int prot, unsigned long long *mapped)
{
	int ret = lpt_core_map_pages(tg_dom, iova, paddr, pgsize, pgcount, prot, mapped, NULL);

	inv_flush();
	return ret;
}

static unsigned long long tg_unmap_pages(unsigned long long iova, unsigned long long pgsize,
					 unsigned long long pgcount)
{
	unsigned long long done = lpt_core_unmap_pages(tg_dom, iova, pgsize, pgcount, &tg_gather, NULL);

	inv_flush();
	return done;
}

static void tg_iotlb_sync(void)
{
	iommu_iotlb_sync(tg_dom, &tg_gather);
	inv_flush();
}

static unsigned long long tg_iova_to_phys(unsigned long long iova)
{
	return tg_dom->ops->iova_to_phys(tg_dom, iova);
}

const struct lpt_driver_format lpt_tegra_smmu_format = {
	.domain_alloc = tg_domain_alloc,
	.domain_free = tg_domain_free,
	.have_domain = tg_have_domain,
	.refresh = tg_refresh,
	.core = tg_core,
	.has_iotlb_sync = tg_has_iotlb_sync,
	.map_pages = tg_map_pages,
	.unmap_pages = tg_unmap_pages,
	.iotlb_sync = tg_iotlb_sync,
	.iova_to_phys = tg_iova_to_phys,
};
