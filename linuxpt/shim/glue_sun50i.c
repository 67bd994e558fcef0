/*
 * linuxpt driver glue for the sun50i format: the page table of
 * drivers/iommu/sun50i-iommu.c (the Allwinner H6 IOMMU), which lives in the
 * driver itself (no io-pgtable).  The tree's driver file is compiled whole and
 * unmodified: this file #includes it (through gen/linuxpt/sun50i_driver.h,
 * which build.py writes with the file's absolute path), so its static
 * functions and sun50i_iommu_ops are in reach.  The kernel APIs around it are
 * linuxpt's shim (include/linuxpt/kshim_drv.h); the IOMMU core's calls are
 * glue_drv.h's.
 *
 * What runs is the driver's own code:
 *
 *   once       sun50i_iommu_probe (the driver registers it with
 *              builtin_platform_driver_probe; the glue calls it) on a
 *              platform device with one register window (below) and one
 *              interrupt (requested, never raised): the struct sun50i_iommu
 *              instance, its pt_pool kmem_cache and its register base.  Then
 *              .of_xlate (sun50i_iommu_of_xlate: the master's iommu_priv is
 *              that instance) and .probe_device for one master device.
 *   domain_alloc  6.1 .domain_alloc(IOMMU_DOMAIN_UNMANAGED)
 *              (sun50i_iommu_domain_alloc), 6.12 .domain_alloc_paging: the
 *              16K DT from the table arena.  Then .attach_dev
 *              (sun50i_iommu_attach_device), which sets the domain's
 *              `iommu` pointer (sun50i_iommu_attach_domain: map, unmap and
 *              iotlb_sync_map dereference it) and enables the IOMMU
 *              (sun50i_iommu_enable: IOMMU_TTB_REG = DT, a full TLB flush,
 *              IOMMU_ENABLE_REG).
 *   map/unmap  6.12 ->map_pages / ->unmap_pages (pgcount ignored: one 4K
 *              page per call), 6.1 ->map / ->unmap per page, as glue_drv.h
 *              calls them.  PTs come from pt_pool with the caller's gfp.
 *   iotlb_sync_map  ops->iotlb_sync_map (sun50i_iommu_iotlb_sync_map ->
 *              sun50i_iommu_zap_range), after every successful map, as the
 *              core runs it (6.1's returns void: reported as 0).
 *   iotlb_sync ops->iotlb_sync (sun50i_iommu_iotlb_sync ->
 *              sun50i_iommu_flush_iotlb_all), through the tree's
 *              iommu_iotlb_sync.
 *   iova_to_phys  ops->iova_to_phys (sun50i_iommu_iova_to_phys).
 *   default domain  once, after probe: the core's default DMA domain for the
 *              master (iommu_setup_default_domain: .domain_alloc(IOMMU_DOMAIN_DMA)
 *              on 6.1, .domain_alloc_paging on 6.12), attached.  Its DT belongs
 *              to it for the life of the process (linuxpt_table_keep), not to
 *              the domains the harness serves.
 *   domain_free  the core's detach: the master goes back to its default domain
 *              (__iommu_group_set_domain(group, group->default_domain):
 *              .attach_dev of the default domain, in both trees), then .free
 *              (sun50i_iommu_domain_free).  That is where sun50i leaks: the
 *              domain's refcnt starts at 1 (sun50i_iommu_domain_alloc) and
 *              attach adds 1, so the detach inside the default domain's attach
 *              (6.1 sun50i_iommu_detach_device, 6.12
 *              sun50i_iommu_identity_attach) takes it to 1, never 0, and
 *              sun50i_iommu_detach_domain -- the only code that frees page
 *              tables -- does not run; sun50i_iommu_domain_free frees the DT
 *              only.  The glue does nothing about it: domain_free's
 *              table_pages counts the page tables left, and the tester
 *              reports them under DOMAIN_FREE_LEAK (docs/linux-findings.md).
 *              (With the identity domain as the default instead, the
 *              instance would be left pointing at the freed domain, and the
 *              next attach would read it: not run.)
 *
 * The TLB: the driver invalidates by writing the IOMMU's registers, which the
 * model below reports.  A write to IOMMU_TLB_FLUSH_REG (sun50i_iommu_flush_all_tlb)
 * is ["all"].  A write to IOMMU_TLB_IVLD_ENABLE_REG (sun50i_iommu_zap_iova)
 * drops the TLB entries of the address in IOMMU_TLB_IVLD_ADDR_REG under
 * IOMMU_TLB_IVLD_ADDR_MASK_REG (the driver: GENMASK(31, 12), one 4K page): a
 * ["range", addr & mask, ~mask + 1], merged with the previous one while they
 * are equal or adjacent, and reported when the zap ends (the driver's write
 * of IOMMU_AUTO_GATING_REG) or the request does.  The registers take the u32
 * the driver writes: an IOVA at or above 2^32 is reported at its low 32
 * bits.  The page-table-walk cache invalidations (IOMMU_PC_IVLD_*: the DTE
 * cached for a 1M region) drop no translation and are not reported.  All
 * invalidation polls read 0 (done).
 *
 * This file is our own code: it names the driver functions it follows, it
 * copies none.
 */
#include <linuxpt/kshim_drv.h>
#include <linuxpt/sun50i_driver.h> /* generated: the tree's drivers/iommu/sun50i-iommu.c */

#include "glue_drv.h"
#include "linuxpt.h"

/* ------------------------------------------------------------------------ */
/* The IOMMU's registers                                                     */
/* ------------------------------------------------------------------------ */

#define LPT_SUN_WINDOW 0x400 /* IOMMU_RESET_REG .. IOMMU_L2PG_INT_REG and beyond */
#define LPT_SUN_IRQ 43

struct lpt_sun_regs {
	u32 ttb, enable, ivld_addr, ivld_mask, pc_addr;
	/* TLB invalidations not yet reported: [inv_start, inv_start + inv_len) */
	u64 inv_start, inv_len;
};

static struct lpt_sun_regs regs;

static void inv_flush(void)
{
	if (regs.inv_len)
		linuxpt_tlb_range(regs.inv_start, regs.inv_len);
	regs.inv_len = 0;
}

static void inv_add(u64 start, u64 len)
{
	if (regs.inv_len && start >= regs.inv_start && start + len <= regs.inv_start + regs.inv_len)
		return; /* already covered */
	if (regs.inv_len && start == regs.inv_start + regs.inv_len) {
		regs.inv_len += len;
		return;
	}
	inv_flush();
	regs.inv_start = start;
	regs.inv_len = len;
}

static unsigned lpt_sun_read(void *ctx, unsigned long off)
{
	(void)ctx;
	switch (off) {
	case IOMMU_TTB_REG:
		return regs.ttb;
	case IOMMU_ENABLE_REG:
		return regs.enable;
	default: /* the invalidation and flush polls: done; interrupt status: no fault */
		return 0;
	}
}

static void lpt_sun_write(void *ctx, unsigned long off, unsigned value)
{
	(void)ctx;
	switch (off) {
	case IOMMU_TLB_IVLD_ADDR_REG:
		regs.ivld_addr = value;
		return;
	case IOMMU_TLB_IVLD_ADDR_MASK_REG:
		regs.ivld_mask = value;
		return;
	case IOMMU_TLB_IVLD_ENABLE_REG:
		if (value & IOMMU_TLB_IVLD_ENABLE_ENABLE)
			inv_add(regs.ivld_addr & regs.ivld_mask, (u64)(u32)~regs.ivld_mask + 1);
		return;
	case IOMMU_PC_IVLD_ADDR_REG:
		regs.pc_addr = value;
		return;
	case IOMMU_PC_IVLD_ENABLE_REG: /* the walk cache's DTE for pc_addr: no translation dropped */
		return;
	}
	inv_flush();
	switch (off) {
	case IOMMU_TTB_REG:
		regs.ttb = value;
		break;
	case IOMMU_ENABLE_REG:
		regs.enable = value;
		break;
	case IOMMU_TLB_FLUSH_REG:
		if (value)
			linuxpt_tlb_all();
		break;
	case IOMMU_RESET_REG:
	case IOMMU_BYPASS_REG:
	case IOMMU_AUTO_GATING_REG:
	case IOMMU_TLB_PREFETCH_REG:
	case IOMMU_INT_ENABLE_REG:
	case IOMMU_INT_CLR_REG:
		break;
	default:
		if (off >= IOMMU_DM_AUT_CTRL_REG(0) && off <= IOMMU_DM_AUT_CTRL_REG(15))
			break;
		linuxpt_printk("harness: sun50i: write of 0x%x to IOMMU register 0x%lx\n", value, off);
	}
}

static const struct linuxpt_mmio_ops lpt_sun_mmio = { .read = lpt_sun_read, .write = lpt_sun_write };

/* ------------------------------------------------------------------------ */
/* The IOMMU and its master                                                  */
/* ------------------------------------------------------------------------ */

static struct resource lpt_sun_res[2];
static struct device_node lpt_sun_np = { .name = "iommu", .compatible = "allwinner,sun50i-h6-iommu" };
static struct platform_device lpt_sun_pdev = { .name = "sun50i-iommu" };
static struct device lpt_sun_master = { .numa_node = NUMA_NO_NODE, .init_name = "master" };
static int probed, probe_ret;
static struct iommu_domain *lpt_sun_default; /* the master's default DMA domain */

static struct iommu_domain *sun_dom;
static struct iommu_iotlb_gather sun_gather; /* the core's gather for unmap (the driver ignores it) */

static int lpt_sun_probe(void)
{
	struct of_phandle_args args = { .np = &lpt_sun_np, .args_count = 1, .args = { 0 } };

	if (probed)
		return probe_ret;
	probed = 1;
	lpt_sun_res[0] = (struct resource){ .flags = IORESOURCE_MEM, .name = "iommu" };
	lpt_sun_res[0].start = (unsigned long)linuxpt_mmio_window(LPT_SUN_WINDOW, &lpt_sun_mmio, NULL);
	lpt_sun_res[0].end = lpt_sun_res[0].start + LPT_SUN_WINDOW - 1;
	lpt_sun_res[1] = (struct resource){ .start = LPT_SUN_IRQ, .end = LPT_SUN_IRQ,
					    .flags = IORESOURCE_IRQ };
	lpt_sun_pdev.num_resources = 2;
	lpt_sun_pdev.resource = lpt_sun_res;
	lpt_sun_pdev.dev = (struct device){
		.numa_node = NUMA_NO_NODE,
		.linuxpt_dma_direct = 1,
		.of_node = &lpt_sun_np,
		.init_name = "30f0000.iommu",
	};
	lpt_sun_np.linuxpt_pdev = &lpt_sun_pdev;
	if (!lpt_of_match(sun50i_iommu_dt, lpt_sun_np.compatible)) {
		linuxpt_printk("harness: sun50i: sun50i_iommu_dt has no \"%s\" entry\n",
			       lpt_sun_np.compatible);
		return probe_ret = -ENODEV;
	}
	probe_ret = sun50i_iommu_probe(&lpt_sun_pdev);
	if (!probe_ret) {
		probe_ret = sun50i_iommu_ops.of_xlate(&lpt_sun_master, &args);
	}
	if (!probe_ret) {
		struct iommu_device *iommu = sun50i_iommu_ops.probe_device(&lpt_sun_master);
		if (IS_ERR(iommu))
			probe_ret = PTR_ERR(iommu);
	}
	if (!probe_ret) {
		/* iommu_setup_default_domain: a DMA domain (6.1 .domain_alloc(IOMMU_DOMAIN_DMA),
		 * 6.12 .domain_alloc_paging), attached */
		const struct iommu_ops *ops = &sun50i_iommu_ops;
		struct iommu_domain *d = ops->domain_alloc_paging ? ops->domain_alloc_paging(&lpt_sun_master)
								   : ops->domain_alloc(IOMMU_DOMAIN_DMA);

		if (!d || IS_ERR(d)) {
			probe_ret = -ENOMEM;
		} else {
			d->type = IOMMU_DOMAIN_DMA;
			if (!d->ops)
				d->ops = ops->default_domain_ops;
			linuxpt_table_keep(to_sun50i_domain(d)->dt); /* the default domain's, not a served one's */
			probe_ret = d->ops->attach_dev(d, &lpt_sun_master);
			lpt_sun_default = d;
		}
	}
	if (probe_ret)
		linuxpt_printk("harness: sun50i: probing the IOMMU failed: %d\n", probe_ret);
	inv_flush();
	return probe_ret;
}

/* ------------------------------------------------------------------------ */
/* The domain                                                                */
/* ------------------------------------------------------------------------ */

static int sun_have_domain(void) { return sun_dom != NULL; }

static void sun_refresh(struct lpt_hw *hw)
{
	hw->sun_ttb = regs.ttb;
	hw->sun_enabled = regs.enable & IOMMU_ENABLE_ENABLE;
}

static void sun_domain_free(void)
{
	struct iommu_domain *domain = sun_dom;

	if (!domain)
		return;
	sun_dom = NULL;
	/* the core's detach: back to the default domain (sun50i_iommu_attach_device) */
	lpt_sun_default->ops->attach_dev(lpt_sun_default, &lpt_sun_master);
	inv_flush();
	domain->ops->free(domain); /* sun50i_iommu_domain_free: the DT only */
	inv_flush();
}

static int sun_domain_alloc(unsigned long long pgsize_bitmap, unsigned ias, unsigned oas,
			    struct lpt_hw *hw)
{
	struct iommu_domain *domain;
	int ret;

	(void)pgsize_bitmap; /* the driver's: SZ_4K (the harness cuts it to the request) */
	(void)ias;
	(void)oas;
	sun_domain_free();
	ret = lpt_sun_probe();
	if (ret)
		return ret;
	domain = lpt_core_domain_alloc(&sun50i_iommu_ops, &lpt_sun_master);
	if (!domain)
		return -ENOMEM;
	ret = domain->ops->attach_dev(domain, &lpt_sun_master); /* sun50i_iommu_attach_device */
	if (ret) {
		domain->ops->free(domain);
		inv_flush();
		return ret;
	}
	sun_dom = domain;
	iommu_iotlb_gather_init(&sun_gather);
	inv_flush();
	*hw = (struct lpt_hw){
		.format = LPT_SUN50I,
		.pgsize_bitmap = domain->pgsize_bitmap,
		/* the aperture sun50i's domain_alloc sets: [0, DMA_BIT_MASK(32)] */
		.ias = (unsigned)fls64(domain->geometry.aperture_end),
		/* what the PTE holds: SUN50I_PTE_PAGE_ADDRESS_MASK, bits 31:12 */
		.oas = (unsigned)fls64(SUN50I_PTE_PAGE_ADDRESS_MASK),
	};
	sun_refresh(hw);
	return 0;
}

static const char *sun_core(void) { return lpt_core_name(&sun50i_iommu_ops); }

static int sun_has_iotlb_sync(void) { return sun50i_iommu_ops.default_domain_ops->iotlb_sync != NULL; }

static int sun_map_pages(unsigned long long iova, unsigned long long paddr, unsigned long long pgsize,
			 unsigned long long pgcount, int prot, unsigned long long *mapped)
{
	int ret = lpt_core_map_pages(sun_dom, iova, paddr, pgsize, pgcount, prot, mapped, NULL);

	inv_flush();
	return ret;
}

static unsigned long long sun_unmap_pages(unsigned long long iova, unsigned long long pgsize,
					  unsigned long long pgcount)
{
	unsigned long long done = lpt_core_unmap_pages(sun_dom, iova, pgsize, pgcount, &sun_gather, NULL);

	inv_flush();
	return done;
}

/* The tree's iommu_iotlb_sync: ops->iotlb_sync (sun50i_iommu_iotlb_sync: a full flush). */
static void sun_iotlb_sync(void)
{
	iommu_iotlb_sync(sun_dom, &sun_gather);
	inv_flush();
}

/* 6.1's iotlb_sync_map returns void (int since v6.7). */
typedef void (*lpt_sun_sync_map_v61)(struct iommu_domain *, unsigned long, size_t);

static int sun_iotlb_sync_map(unsigned long long iova, unsigned long long size)
{
	int ret = 0;

	if (__builtin_types_compatible_p(typeof(&sun50i_iommu_iotlb_sync_map), lpt_sun_sync_map_v61))
		((lpt_sun_sync_map_v61)sun_dom->ops->iotlb_sync_map)(sun_dom, iova, size);
	else
		ret = sun_dom->ops->iotlb_sync_map(sun_dom, iova, size);
	inv_flush();
	return ret;
}

static unsigned long long sun_iova_to_phys(unsigned long long iova)
{
	return sun_dom->ops->iova_to_phys(sun_dom, iova);
}

const struct lpt_driver_format lpt_sun50i_format = {
	.domain_alloc = sun_domain_alloc,
	.domain_free = sun_domain_free,
	.have_domain = sun_have_domain,
	.refresh = sun_refresh,
	.core = sun_core,
	.has_iotlb_sync = sun_has_iotlb_sync,
	.map_pages = sun_map_pages,
	.unmap_pages = sun_unmap_pages,
	.iotlb_sync = sun_iotlb_sync,
	.iova_to_phys = sun_iova_to_phys,
	.iotlb_sync_map = sun_iotlb_sync_map,
};
