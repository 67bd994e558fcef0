/*
 * linuxpt driver glue for the exynos format: the page table of
 * drivers/iommu/exynos-iommu.c, which lives in the driver itself (no
 * io-pgtable).  The tree's driver file is compiled whole and unmodified: this
 * file #includes it (through gen/linuxpt/exynos_driver.h, which build.py
 * writes with the file's absolute path), so its static functions, its
 * exynos_iommu_ops and its globals (PG_ENT_SHIFT, LV1_PROT, LV2_PROT,
 * dma_dev, lv2table_kmem_cache, zero_lv2_table) are in reach.  The kernel
 * APIs around it are linuxpt's shim (include/linuxpt/kshim_drv.h); the
 * IOMMU core's calls are glue_drv.h's.
 *
 * What runs is the driver's own code:
 *
 *   once       exynos_iommu_init (the core_initcall: the lv2 table
 *              kmem_cache and the shared empty lv2 table, zero_lv2_table,
 *              which stays for good and is not a domain's table), with one
 *              "samsung,exynos-sysmmu" node in the glue's device tree; then
 *              exynos_sysmmu_driver.probe (exynos_sysmmu_probe) on a platform
 *              device with one register window and one interrupt (requested,
 *              never raised); then .of_xlate (exynos_iommu_of_xlate) and
 *              .probe_device for one master device.
 *              The SysMMU reports version 3.3 (REG_MMU_VERSION), so probe
 *              picks sysmmu_v1_variant's registers and PG_ENT_SHIFT 0 with
 *              SYSMMU_LV1_PROT / SYSMMU_LV2_PROT: 32-bit physical addresses,
 *              as the profile "exynos" (oas 32) describes.  3.3 is the last
 *              32-bit SysMMU and the one with the FLPD cache, so the
 *              driver's FLPD invalidations (sysmmu_tlb_invalidate_flpdcache,
 *              for version >= 3.3) run; v2's 64-entry invalidation loop
 *              does not.
 *   domain_alloc  6.1 .domain_alloc (exynos_iommu_domain_alloc), 6.12
 *              .domain_alloc_paging: a 16K lv1 table of ZERO_LV2LINK and the
 *              lv2entcnt pages, from the table arena; then .attach_dev
 *              (exynos_iommu_attach_device): __sysmmu_enable blocks the
 *              SysMMU, sets its page table base (and flushes its whole
 *              TLB: ["all"]) and enables it.
 *   map/unmap  ->map_pages / ->unmap_pages (6.12; pgcount ignored: one
 *              section, 64K page or 4K page per call) or ->map / ->unmap per
 *              page (6.1), as glue_drv.h calls them.
 *   domain_free  6.12 the identity domain's attach (exynos_iommu_identity_attach:
 *              __sysmmu_disable), 6.1 .detach_dev; then .free
 *              (exynos_iommu_domain_free).
 *
 * The driver has no iotlb_sync, iotlb_sync_map or flush_iotlb_all; it
 * invalidates by writing the SysMMU's registers, which the model below
 * reports.  A write to flush_all is ["all"].  A write to flush_entry
 * (__sysmmu_tlb_invalidate_entry: the entry of one IOVA, bit 0 set) drops
 * the TLB entry that translates that IOVA, whatever the size of the page it
 * caches: the driver issues one per unmapped section, 64K page or 4K page
 * (and one per hole it steps over), and one on v3.3 when a new lv2 table
 * replaces ZERO_LV2LINK (the FLPD cache).  It is reported as the range of
 * the translation the page table held at that IOVA when the request began
 * (our own walk of the table: a section 1M, a large page 64K), and as the
 * IOVA's 4K page where the table held none.  Consecutive equal or adjacent
 * ranges are merged.  The registers take the u32 IOVA the driver writes.
 *
 * This file is our own code: it names the driver functions it follows, it
 * copies none.
 */
#include <linuxpt/kshim_drv.h>
#include <linuxpt/exynos_driver.h> /* generated: the tree's drivers/iommu/exynos-iommu.c */

#include "glue_drv.h"
#include "linuxpt.h"

/* ------------------------------------------------------------------------ */
/* The SysMMU's registers (v3.3: sysmmu_v1_variant's layout)                 */
/* ------------------------------------------------------------------------ */

#define LPT_EXY_WINDOW 0x1000
#define LPT_EXY_VERSION MAKE_MMU_VER(3, 3)
#define LPT_EXY_IRQ 42

/*
 * The behaviour the driver relies on: REG_MMU_VERSION holds the version in
 * bits 31:21 (MMU_RAW_VER); writing CTRL_BLOCK blocks at once and
 * REG_MMU_STATUS bit 0 says so (sysmmu_block polls it); the page table base
 * register holds what is written (v1-3: the lv1 table's physical address).
 * No faults: the interrupt status is 0.
 */
struct lpt_exy_regs {
	u32 ctrl, cfg, pt_base;
	/* flush_entry ranges not yet reported: [inv_start, inv_start + inv_len) */
	u64 inv_start, inv_len;
};

static struct lpt_exy_regs regs;

/* The translation at the current request's IOVA before the driver ran (see the top). */
static struct {
	u64 base, size;
	bool valid;
} pre;

static void inv_flush(void)
{
	if (regs.inv_len)
		linuxpt_tlb_range(regs.inv_start, regs.inv_len);
	regs.inv_len = 0;
}

static void inv_add(u64 start, u64 len)
{
	if (regs.inv_len && start >= regs.inv_start &&
	    start + len <= regs.inv_start + regs.inv_len)
		return;                           /* already covered */
	if (regs.inv_len && start == regs.inv_start + regs.inv_len) {
		regs.inv_len += len;
		return;
	}
	inv_flush();
	regs.inv_start = start;
	regs.inv_len = len;
}

/*
 * Our own walk, as the SysMMU v1-3 reads the table (PA bits 31:0): the page
 * holding the IOVA of the driver call about to run (its low 32 bits: the
 * driver's sysmmu_iova_t).
 */
static void lpt_exy_lookup(unsigned long long l_iova)
{
	u32 iova = (u32)l_iova;
	const u32 *lv1 = (const u32 *)(unsigned long)regs.pt_base;
	u32 e, pe;

	pre.valid = false;
	if (!regs.pt_base || (regs.ctrl != CTRL_ENABLE && regs.ctrl != CTRL_BLOCK))
		return;
	e = lv1[iova >> 20];
	if ((e & 3) == 2) {                       /* 1M section */
		pre = (typeof(pre)){ iova & ~(u64)(SZ_1M - 1), SZ_1M, true };
		return;
	}
	if ((e & 3) != 1)
		return;
	pe = ((const u32 *)(unsigned long)(e & 0xfffffc00u))[(iova >> 12) & 0xff];
	if ((pe & 3) == 1)                        /* 64K large page */
		pre = (typeof(pre)){ iova & ~(u64)(SZ_64K - 1), SZ_64K, true };
	else if (pe & 2)                          /* 4K small page */
		pre = (typeof(pre)){ iova & ~(u64)(SZ_4K - 1), SZ_4K, true };
}

static unsigned lpt_exy_read(void *ctx, unsigned long off)
{
	(void)ctx;
	inv_flush();
	if (off == REG_MMU_VERSION)
		return (u32)LPT_EXY_VERSION << 21;
	if (off == REG_MMU_STATUS)
		return regs.ctrl == CTRL_BLOCK;   /* blocked */
	if (off == REG_MMU_CTRL)
		return regs.ctrl;
	if (off == REG_MMU_CFG)
		return regs.cfg;
	if (off == sysmmu_v1_variant.pt_base)
		return regs.pt_base;
	return 0; /* interrupt status, fault addresses: no fault */
}

static void lpt_exy_write(void *ctx, unsigned long off, unsigned value)
{
	(void)ctx;
	if (off == sysmmu_v1_variant.flush_entry) {
		u64 v = value & ~(u64)(SZ_4K - 1);

		if (pre.valid && v >= pre.base && v < pre.base + pre.size)
			inv_add(pre.base, pre.size);
		else
			inv_add(v, SZ_4K);
		return;
	}
	inv_flush();
	if (off == REG_MMU_CTRL)
		regs.ctrl = value;
	else if (off == REG_MMU_CFG)
		regs.cfg = value;
	else if (off == sysmmu_v1_variant.pt_base)
		regs.pt_base = value;
	else if (off == sysmmu_v1_variant.flush_all)
		linuxpt_tlb_all();
	else if (off != sysmmu_v1_variant.int_clear)
		linuxpt_printk("harness: exynos: write of 0x%x to SysMMU register 0x%lx\n", value, off);
}

static const struct linuxpt_mmio_ops lpt_exy_mmio = { .read = lpt_exy_read, .write = lpt_exy_write };

/* ------------------------------------------------------------------------ */
/* The SysMMU and its master                                                 */
/* ------------------------------------------------------------------------ */

static struct resource lpt_exy_res[2];
static struct device_node lpt_exy_np = { .name = "sysmmu", .compatible = "samsung,exynos-sysmmu" };
static struct platform_device lpt_exy_pdev = { .name = "exynos-sysmmu" };
static struct device lpt_exy_master = { .numa_node = NUMA_NO_NODE, .init_name = "master" };
static int probed, probe_ret;

static struct iommu_domain *exy_dom;
static struct iommu_iotlb_gather exy_gather; /* the core's gather for unmap (the driver ignores it) */

static int lpt_exy_probe(void)
{
	struct of_phandle_args args = { .np = &lpt_exy_np, .args_count = 0 };

	if (probed)
		return probe_ret;
	probed = 1;
	linuxpt_dt_nodes[0] = &lpt_exy_np;
	probe_ret = exynos_iommu_init();
	if (!probe_ret && !lv2table_kmem_cache)
		probe_ret = -ENODEV;               /* the node did not match sysmmu_of_match */
	if (probe_ret) {
		linuxpt_printk("harness: exynos: exynos_iommu_init failed: %d\n", probe_ret);
		return probe_ret;
	}
	linuxpt_table_keep(zero_lv2_table);       /* the driver's, shared by every domain */
	lpt_exy_res[0] = (struct resource){ .flags = IORESOURCE_MEM, .name = "sysmmu" };
	lpt_exy_res[0].start = (unsigned long)linuxpt_mmio_window(LPT_EXY_WINDOW, &lpt_exy_mmio, NULL);
	lpt_exy_res[0].end = lpt_exy_res[0].start + LPT_EXY_WINDOW - 1;
	lpt_exy_res[1] = (struct resource){ .start = LPT_EXY_IRQ, .end = LPT_EXY_IRQ,
					    .flags = IORESOURCE_IRQ };
	lpt_exy_pdev.num_resources = 2;
	lpt_exy_pdev.resource = lpt_exy_res;
	lpt_exy_pdev.dev = (struct device){
		.numa_node = NUMA_NO_NODE,
		.linuxpt_dma_direct = 1,
		.of_node = &lpt_exy_np,
		.init_name = "10a60000.sysmmu",
	};
	lpt_exy_np.linuxpt_pdev = &lpt_exy_pdev;
	probe_ret = exynos_sysmmu_driver.probe(&lpt_exy_pdev);
	if (!probe_ret)
		probe_ret = exynos_iommu_ops.of_xlate(&lpt_exy_master, &args);
	if (!probe_ret) {
		struct iommu_device *iommu = exynos_iommu_ops.probe_device(&lpt_exy_master);
		if (IS_ERR(iommu))
			probe_ret = PTR_ERR(iommu);
	}
	if (probe_ret)
		linuxpt_printk("harness: exynos: probing the SysMMU failed: %d\n", probe_ret);
	inv_flush();
	return probe_ret;
}

/* ------------------------------------------------------------------------ */
/* The domain                                                                */
/* ------------------------------------------------------------------------ */

static int exy_have_domain(void) { return exy_dom != NULL; }

static void exy_refresh(struct lpt_hw *hw)
{
	hw->exy_pt_base = regs.pt_base;
	hw->exy_enabled = regs.ctrl == CTRL_ENABLE;
	hw->exy_zero_lv2 = virt_to_phys(zero_lv2_table);
}

static void exy_domain_free(void)
{
	if (!exy_dom)
		return;
	pre.valid = false;
	lpt_core_domain_free(&exynos_iommu_ops, exy_dom, &lpt_exy_master);
	exy_dom = NULL;
	inv_flush();
}

static int exy_domain_alloc(unsigned long long pgsize_bitmap, unsigned ias, unsigned oas,
			    struct lpt_hw *hw)
{
	struct iommu_domain *domain;
	int ret;

	(void)pgsize_bitmap; /* the driver's: SECT_SIZE | LPAGE_SIZE | SPAGE_SIZE */
	(void)ias;
	(void)oas;
	exy_domain_free();
	ret = lpt_exy_probe();
	if (ret)
		return ret;
	domain = lpt_core_domain_alloc(&exynos_iommu_ops, &lpt_exy_master);
	if (!domain)
		return -ENOMEM;
	pre.valid = false;
	ret = domain->ops->attach_dev(domain, &lpt_exy_master); /* exynos_iommu_attach_device */
	if (ret) {
		domain->ops->free(domain);
		inv_flush();
		return ret;
	}
	exy_dom = domain;
	iommu_iotlb_gather_init(&exy_gather);
	inv_flush();
	*hw = (struct lpt_hw){
		.format = LPT_EXYNOS,
		.pgsize_bitmap = domain->pgsize_bitmap,
		/*
		 * sysmmu_iova_t is a u32: the table covers 32 bits of IOVA (the
		 * aperture the driver declares, [0, ~0UL], is wider)
		 */
		.ias = 8 * sizeof(sysmmu_iova_t),
		/* entries hold pa >> PG_ENT_SHIFT in a u32: 32 bits on v1-3 */
		.oas = 8 * sizeof(sysmmu_pte_t) + PG_ENT_SHIFT,
	};
	exy_refresh(hw);
	return 0;
}

static const char *exy_core(void) { return lpt_core_name(&exynos_iommu_ops); }

static int exy_has_iotlb_sync(void) { return exynos_iommu_ops.default_domain_ops->iotlb_sync != NULL; }

static int exy_map_pages(unsigned long long iova, unsigned long long paddr, unsigned long long pgsize,
			 unsigned long long pgcount, int prot, unsigned long long *mapped)
{
	int ret = lpt_core_map_pages(exy_dom, iova, paddr, pgsize, pgcount, prot, mapped,
				     lpt_exy_lookup);

	inv_flush();
	pre.valid = false;
	return ret;
}

static unsigned long long exy_unmap_pages(unsigned long long iova, unsigned long long pgsize,
					  unsigned long long pgcount)
{
	unsigned long long done = lpt_core_unmap_pages(exy_dom, iova, pgsize, pgcount, &exy_gather,
						       lpt_exy_lookup);

	inv_flush();
	pre.valid = false;
	return done;
}

/* The tree's iommu_iotlb_sync: ops->iotlb_sync where there is one (exynos: none). */
static void exy_iotlb_sync(void)
{
	iommu_iotlb_sync(exy_dom, &exy_gather);
	inv_flush();
}

static unsigned long long exy_iova_to_phys(unsigned long long iova)
{
	return exy_dom->ops->iova_to_phys(exy_dom, iova);
}

const struct lpt_driver_format lpt_exynos_format = {
	.domain_alloc = exy_domain_alloc,
	.domain_free = exy_domain_free,
	.have_domain = exy_have_domain,
	.refresh = exy_refresh,
	.core = exy_core,
	.has_iotlb_sync = exy_has_iotlb_sync,
	.map_pages = exy_map_pages,
	.unmap_pages = exy_unmap_pages,
	.iotlb_sync = exy_iotlb_sync,
	.iova_to_phys = exy_iova_to_phys,
};
