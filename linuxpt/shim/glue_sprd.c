/*
 * linuxpt driver glue for the sprd format: the page table of
 * drivers/iommu/sprd-iommu.c (the Unisoc IOMMU), which lives in the driver
 * itself (no io-pgtable): one flat array of u32 PTEs, one per 4K page of the
 * domain's 256M aperture, each holding (u32)paddr >> 12, with no valid bit and
 * no permission bits.  The tree's driver file is compiled whole and
 * unmodified: this file #includes it (through gen/linuxpt/sprd_driver.h, which
 * build.py writes with the file's absolute path), so its static functions,
 * sprd_iommu_ops and sprd_iommu_driver are in reach.  The kernel APIs around
 * it are linuxpt's shim (include/linuxpt/kshim_drv.h); the IOMMU core's calls
 * are glue_drv.h's.
 *
 * What runs is the driver's own code:
 *
 *   once       sprd_iommu_driver.probe (sprd_iommu_probe) on a platform device
 *              with one register window (below): the struct sprd_iommu_device,
 *              its "protect" page (dma_alloc_coherent; kept for the life of
 *              the process: linuxpt_table_keep), the IP version read from the
 *              VERSION register (the model answers SPRD_IOMMU_VAU).  Then, for
 *              one master, as of_iommu_configure does: the fwspec (6.1's
 *              sprd_iommu_probe_device checks fwspec->ops), .of_xlate
 *              (sprd_iommu_of_xlate: the master's iommu_priv is the device)
 *              and .probe_device.  Then the master's default DMA domain, as
 *              iommu_setup_default_domain / iommu_group_alloc_default_domain
 *              make it (6.1 .domain_alloc(IOMMU_DOMAIN_DMA), 6.12
 *              .domain_alloc_paging), attached; its table is kept too.
 *   domain_alloc  6.1 .domain_alloc(IOMMU_DOMAIN_UNMANAGED)
 *              (sprd_iommu_domain_alloc), 6.12 .domain_alloc_paging, with the
 *              core's type / default_domain_ops / pgsize_bitmap (6.1
 *              ~0UL << 12, 6.12 4K).  Then .attach_dev
 *              (sprd_iommu_attach_device), which is where the table is
 *              allocated (dma_alloc_coherent of the aperture's 65536 PTEs,
 *              zeroed: 6.1 at every attach of a domain with no device, 6.12 at
 *              the domain's first attach only) and the IOMMU programmed:
 *              FIRST_PPN, FIRST_VPN, VPN_RANGE, the default PPNs, CFG enable.
 *   map/unmap  6.1 ->map / ->unmap once per page of the request (the pages
 *              are as large as the tester's core cuts them: the 6.1 bitmap
 *              has every power of two from 4K), 6.12 ->map_pages /
 *              ->unmap_pages with pgcount as given (the driver honours it),
 *              as glue_drv.h calls them.
 *   iotlb_sync_map, iotlb_sync  ops->iotlb_sync_map (sprd_iommu_sync_map;
 *              6.1's returns void: reported as 0) and, through the tree's
 *              iommu_iotlb_sync, ops->iotlb_sync (sprd_iommu_sync): both
 *              write the UPDATE register.
 *   iova_to_phys  ops->iova_to_phys (sprd_iommu_iova_to_phys).
 *   domain_free  the core's detach: the master goes back to its default
 *              domain (__iommu_group_set_domain(group, group->default_domain):
 *              .attach_dev of the default domain, in both trees), then .free
 *              (sprd_iommu_domain_free -> sprd_iommu_cleanup, which frees the
 *              table and disables the IOMMU).  In 6.1 that attach fails:
 *              sprd_iommu_attach_device refuses a domain that already has a
 *              device ("There's already a device attached to this domain",
 *              -EINVAL; the core WARNs "iommu driver failed to attach the
 *              default/blocking domain"): stderr says so; .free frees the
 *              table all the same.  In 6.12 the default domain is programmed
 *              again, and then sprd_iommu_cleanup of the freed domain
 *              disables the IOMMU that now serves the default domain (its
 *              dom->sdev is the same device).  No invalidation either way.
 *
 * The TLB: the driver's only invalidation is a write of 0xffffffff to the
 * UPDATE register ("clear IOMMU TLB buffer after page table updated"), the
 * whole TLB: reported as ["all"].  The other registers hold what is written;
 * dump reads FIRST_PPN, FIRST_VPN, VPN_RANGE and CFG's enable bit.
 *
 * This file is our own code: it names the driver functions it follows, it
 * copies none.
 */
#include <linuxpt/kshim_drv.h>

/*
 * The core's per-device fwspec, which 6.1's sprd_iommu_probe_device reads
 * (dev_iommu_fwspec_get(dev)->ops must be sprd_iommu_ops): the master's, set
 * below as iommu_fwspec_init(dev, fwnode, ops) does.  Declared before the
 * driver, which uses it.
 */
struct iommu_fwspec {
	const struct iommu_ops *ops;
};
static struct iommu_fwspec lpt_sprd_fwspec;
static struct device lpt_sprd_master = { .numa_node = NUMA_NO_NODE, .init_name = "master" };
static inline struct iommu_fwspec *dev_iommu_fwspec_get(struct device *dev)
{
	return dev == &lpt_sprd_master && lpt_sprd_fwspec.ops ? &lpt_sprd_fwspec : NULL;
}

#include <linuxpt/sprd_driver.h> /* generated: the tree's drivers/iommu/sprd-iommu.c */

#include "glue_drv.h"
#include "linuxpt.h"

/* ------------------------------------------------------------------------ */
/* The IOMMU's registers (the VAU layout: SPRD_VAU_*)                        */
/* ------------------------------------------------------------------------ */

#define LPT_SPRD_WINDOW 0x40

/*
 * A register file: VERSION (offset 0) reads SPRD_IOMMU_VAU in bits 15:8 and
 * ignores writes; SPRD_VAU_UPDATE drops the whole TLB when written and holds
 * nothing; every other register reads back what was last written.  No
 * faults (no interrupt is requested by this driver).
 */
static u32 lpt_sprd_reg[LPT_SPRD_WINDOW / 4];

static unsigned lpt_sprd_read(void *ctx, unsigned long off)
{
	(void)ctx;
	if (off == SPRD_IOMMU_VERSION)
		return SPRD_IOMMU_VAU << SPRD_VERSION_SHIFT;
	return lpt_sprd_reg[off / 4];
}

static void lpt_sprd_write(void *ctx, unsigned long off, unsigned value)
{
	(void)ctx;
	if (off == SPRD_IOMMU_VERSION)
		return;
	if (off == SPRD_VAU_UPDATE) { /* sprd_iommu_sync_map: "clear IOMMU TLB buffer" */
		linuxpt_tlb_all();
		return;
	}
	lpt_sprd_reg[off / 4] = value;
}

static const struct linuxpt_mmio_ops lpt_sprd_mmio = { .read = lpt_sprd_read, .write = lpt_sprd_write };

/* ------------------------------------------------------------------------ */
/* The IOMMU, its master and the master's default domain                    */
/* ------------------------------------------------------------------------ */

static struct resource lpt_sprd_res;
static struct device_node lpt_sprd_np = { .name = "iommu", .compatible = "sprd,iommu-v1" };
static struct platform_device lpt_sprd_pdev = { .name = "sprd-iommu" };
static int probed, probe_ret;
static struct iommu_domain *lpt_sprd_default; /* the master's default DMA domain */

static struct iommu_domain *sprd_dom;
static struct iommu_iotlb_gather sprd_gather; /* the core's gather (the driver ignores it) */

static int lpt_sprd_probe(void)
{
	struct of_phandle_args args = { .np = &lpt_sprd_np, .args_count = 0 };
	const struct iommu_ops *ops = &sprd_iommu_ops;
	struct sprd_iommu_device *sdev;

	if (probed)
		return probe_ret;
	probed = 1;
	lpt_sprd_res = (struct resource){ .flags = IORESOURCE_MEM, .name = "iommu" };
	lpt_sprd_res.start = (unsigned long)linuxpt_mmio_window(LPT_SPRD_WINDOW, &lpt_sprd_mmio, NULL);
	lpt_sprd_res.end = lpt_sprd_res.start + LPT_SPRD_WINDOW - 1;
	lpt_sprd_pdev.num_resources = 1;
	lpt_sprd_pdev.resource = &lpt_sprd_res;
	lpt_sprd_pdev.dev = (struct device){
		.numa_node = NUMA_NO_NODE,
		.linuxpt_dma_direct = 1,
		.of_node = &lpt_sprd_np,
		.init_name = "sprd-iommu",
	};
	lpt_sprd_np.linuxpt_pdev = &lpt_sprd_pdev;
	if (!lpt_of_match(sprd_iommu_of_match, lpt_sprd_np.compatible)) {
		linuxpt_printk("harness: sprd: sprd_iommu_of_match has no \"%s\" entry\n",
			       lpt_sprd_np.compatible);
		return probe_ret = -ENODEV;
	}
	probe_ret = sprd_iommu_driver.probe(&lpt_sprd_pdev); /* sprd_iommu_probe */
	if (!probe_ret) {
		sdev = platform_get_drvdata(&lpt_sprd_pdev);
		linuxpt_table_keep(sdev->prot_page_va); /* the device's, for good */
		lpt_sprd_fwspec.ops = ops;              /* iommu_fwspec_init(dev, fwnode, ops) */
		probe_ret = ops->of_xlate(&lpt_sprd_master, &args);
	}
	if (!probe_ret) {
		struct iommu_device *iommu = ops->probe_device(&lpt_sprd_master);
		if (IS_ERR(iommu))
			probe_ret = PTR_ERR(iommu);
	}
	if (!probe_ret) {
		/* iommu_setup_default_domain: a DMA domain (6.1 .domain_alloc(IOMMU_DOMAIN_DMA),
		 * 6.12 .domain_alloc_paging), attached */
		struct iommu_domain *d = ops->domain_alloc_paging ? ops->domain_alloc_paging(&lpt_sprd_master)
								   : ops->domain_alloc(IOMMU_DOMAIN_DMA);

		if (!d || IS_ERR(d)) {
			probe_ret = -ENOMEM;
		} else {
			d->type = IOMMU_DOMAIN_DMA;
			if (!d->ops)
				d->ops = ops->default_domain_ops;
			if (!d->pgsize_bitmap)
				d->pgsize_bitmap = ops->pgsize_bitmap;
			probe_ret = d->ops->attach_dev(d, &lpt_sprd_master);
			if (!probe_ret) /* the default domain's table, not a served domain's */
				linuxpt_table_keep(to_sprd_domain(d)->pgt_va);
			lpt_sprd_default = d;
		}
	}
	if (probe_ret)
		linuxpt_printk("harness: sprd: probing the IOMMU failed: %d\n", probe_ret);
	return probe_ret;
}

/* ------------------------------------------------------------------------ */
/* The domain                                                                */
/* ------------------------------------------------------------------------ */

static int sprd_have_domain(void) { return sprd_dom != NULL; }

/* What the IOMMU translates with: the registers sprd_iommu_attach_device programmed. */
static void sprd_refresh(struct lpt_hw *hw)
{
	hw->sprd_first_ppn = lpt_sprd_reg[SPRD_VAU_FIRST_PPN / 4];
	hw->sprd_first_vpn = lpt_sprd_reg[SPRD_VAU_FIRST_VPN / 4];
	hw->sprd_vpn_range = lpt_sprd_reg[SPRD_VAU_VPN_RANGE / 4];
	hw->sprd_enabled = !!(lpt_sprd_reg[SPRD_VAU_CFG / 4] & SPRD_IOMMU_EN);
}

static void sprd_domain_free(void)
{
	struct iommu_domain *domain = sprd_dom;
	int ret;

	if (!domain)
		return;
	sprd_dom = NULL;
	/* the core's detach: back to the default domain (sprd_iommu_attach_device) */
	ret = lpt_sprd_default->ops->attach_dev(lpt_sprd_default, &lpt_sprd_master);
	if (ret)
		linuxpt_printk("harness: sprd: attaching the default domain back failed: %d "
			       "(the core WARNs: iommu driver failed to attach the default/blocking "
			       "domain)\n", ret);
	domain->ops->free(domain); /* sprd_iommu_domain_free: the table, the IOMMU disabled */
}

static int sprd_domain_alloc(unsigned long long pgsize_bitmap, unsigned ias, unsigned oas,
			     struct lpt_hw *hw)
{
	struct iommu_domain *domain;
	int ret;

	(void)pgsize_bitmap; /* the driver's (the harness cuts it to the request) */
	(void)ias;
	(void)oas;
	sprd_domain_free();
	ret = lpt_sprd_probe();
	if (ret)
		return ret;
	domain = lpt_core_domain_alloc(&sprd_iommu_ops, &lpt_sprd_master);
	if (!domain)
		return -ENOMEM;
	ret = domain->ops->attach_dev(domain, &lpt_sprd_master); /* sprd_iommu_attach_device */
	if (ret) {
		domain->ops->free(domain);
		return ret;
	}
	sprd_dom = domain;
	iommu_iotlb_gather_init(&sprd_gather);
	*hw = (struct lpt_hw){
		.format = LPT_SPRD,
		.pgsize_bitmap = domain->pgsize_bitmap,
		/* the aperture the driver sets: [0, SZ_256M - 1] */
		.ias = (unsigned)fls64(domain->geometry.aperture_end),
		/* the PTE: (u32)paddr >> 12 */
		.oas = 32,
	};
	sprd_refresh(hw);
	return 0;
}

static const char *sprd_core(void) { return lpt_core_name(&sprd_iommu_ops); }

static int sprd_has_iotlb_sync(void) { return sprd_iommu_ops.default_domain_ops->iotlb_sync != NULL; }

static int sprd_map_pages(unsigned long long iova, unsigned long long paddr, unsigned long long pgsize,
			  unsigned long long pgcount, int prot, unsigned long long *mapped)
{
	return lpt_core_map_pages(sprd_dom, iova, paddr, pgsize, pgcount, prot, mapped, NULL);
}

static unsigned long long sprd_unmap_pages(unsigned long long iova, unsigned long long pgsize,
					   unsigned long long pgcount)
{
	return lpt_core_unmap_pages(sprd_dom, iova, pgsize, pgcount, &sprd_gather, NULL);
}

/* The tree's iommu_iotlb_sync: ops->iotlb_sync (sprd_iommu_sync: the UPDATE register). */
static void sprd_iotlb_sync(void)
{
	iommu_iotlb_sync(sprd_dom, &sprd_gather);
}

/* 6.1's iotlb_sync_map returns void (int since v6.6/6.7). */
typedef void (*lpt_sprd_sync_map_v61)(struct iommu_domain *, unsigned long, size_t);

static int sprd_iotlb_sync_map(unsigned long long iova, unsigned long long size)
{
	if (__builtin_types_compatible_p(typeof(&sprd_iommu_sync_map), lpt_sprd_sync_map_v61)) {
		((lpt_sprd_sync_map_v61)sprd_dom->ops->iotlb_sync_map)(sprd_dom, iova, size);
		return 0;
	}
	return sprd_dom->ops->iotlb_sync_map(sprd_dom, iova, size);
}

static unsigned long long sprd_iova_to_phys(unsigned long long iova)
{
	return sprd_dom->ops->iova_to_phys(sprd_dom, iova);
}

const struct lpt_driver_format lpt_sprd_format = {
	.domain_alloc = sprd_domain_alloc,
	.domain_free = sprd_domain_free,
	.have_domain = sprd_have_domain,
	.refresh = sprd_refresh,
	.core = sprd_core,
	.has_iotlb_sync = sprd_has_iotlb_sync,
	.map_pages = sprd_map_pages,
	.unmap_pages = sprd_unmap_pages,
	.iotlb_sync = sprd_iotlb_sync,
	.iova_to_phys = sprd_iova_to_phys,
	.iotlb_sync_map = sprd_iotlb_sync_map,
};
