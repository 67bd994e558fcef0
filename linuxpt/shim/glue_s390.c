/*
 * linuxpt driver glue for the s390 format: the I/O translation tables of
 * drivers/iommu/s390-iommu.c (v6.7+, where the driver keeps its own region,
 * segment and page tables: dma_alloc_cpu_table, dma_walk_cpu_trans,
 * dma_update_cpu_trans, ...).  The tree's driver file is compiled whole and
 * unmodified: this file #includes it (through gen/linuxpt/s390_driver.h,
 * which build.py writes with the file's absolute path); its <asm/pci_dma.h>
 * is the tree's own (gen/asm/pci_dma.h names it), its "dma-iommu.h" the
 * tree's, next to it.  The kernel APIs around it are linuxpt's shim
 * (include/linuxpt/kshim_s390.h: our own struct zpci_dev and the zPCI
 * instructions).
 *
 * 6.1's s390-iommu.c has no tables of its own (arch/s390/pci/pci_dma.c's,
 * behind the whole s390 DMA API): build.py does not build this glue for it,
 * and the harness refuses --format s390 saying so.
 *
 * What runs is the driver's own code:
 *
 *   once       the boot parameter s390_iommu_aperture=0 (the tree's
 *              s390_iommu_aperture_setup: no limit from the memory size),
 *              the subsys_initcall s390_iommu_init (the aperture, the
 *              region/segment-table and page-table kmem_caches), then one
 *              zPCI function as the PCI code creates it: our CLP answer is a
 *              DMA range of [0, 2^64 - 1], tlb_refresh set (a function under
 *              z/VM or KVM, where the hypervisor shadows the table: the case
 *              in which iotlb_sync_map refreshes), not ISM; the tree's
 *              zpci_init_iommu (registers the function's IOMMU and trims
 *              end_dma: min3(s390_iommu_aperture, ZPCI_TABLE_SIZE_RT -
 *              start_dma, ...)) and .probe_device (s390_iommu_probe_device:
 *              end_dma clipped to ZPCI_TABLE_SIZE_RT - 1, the blocking
 *              domain).  So the function's range is [0, 2^42 - 1].
 *   domain_alloc  .domain_alloc_paging (s390_domain_alloc_paging: the
 *              region-third table from the kmem_cache, i.e. the table arena;
 *              aperture [0, ZPCI_TABLE_SIZE_RT - 1], independent of any
 *              device), the core's type / ops / pgsize_bitmap (SZ_4K); then
 *              .attach_dev (s390_iommu_attach_device: off the blocking
 *              domain, s390_iommu_domain_reg_ioat registers the IOTA =
 *              the table's origin | ZPCI_IOTA_RTTO_FLAG for [start_dma,
 *              end_dma], the function joins s390_domain->devices).
 *   map/unmap  .map_pages (s390_iommu_map_pages) / .unmap_pages
 *              (s390_iommu_unmap_pages, with the core's gather); hello's core
 *              is map_pages.
 *   syncs      .iotlb_sync_map (s390_iommu_iotlb_sync_map), .iotlb_sync
 *              (through the tree's iommu_iotlb_sync: s390_iommu_iotlb_sync).
 *   domain_free  the device leaves first: the core's __iommu_group_set_core_domain
 *              to the blocked domain, as for a group with an owner (VFIO; a
 *              DMA default domain is not modelled) (ops->blocked_domain,
 *              blocking_domain_attach_device: the IOAT is deregistered), then
 *              .free (s390_domain_free -> call_rcu ->
 *              s390_iommu_rcu_free_domain -> dma_cleanup_tables).
 *
 * The zPCI instructions are ours (the kernel's are inline assembly in
 * arch/s390/pci/pci_insn.c): zpci_register_ioat / zpci_unregister_ioat keep
 * the IOTA and range dump walks from; zpci_refresh_trans (RPCIT) records the
 * refresh it asks for: ["range", addr, range], or ["all"] when it covers the
 * whole registered range (zpci_refresh_all), which is all the function can
 * translate.  Every instruction completes with condition code 0.
 *
 * This file is our own code: it names the driver functions it follows, it
 * copies none.
 */
#include <linuxpt/kshim_s390.h>
#include <linuxpt/s390_driver.h> /* generated: the tree's drivers/iommu/s390-iommu.c */

#include "glue_drv.h"
#include "linuxpt.h"

/* What s390_iommu_init and the tree's dma-iommu.h name (mm's high_memory; dma-iommu.c's flag). */
void *high_memory;
bool iommu_dma_forcedac;

/* ------------------------------------------------------------------------ */
/* The zPCI function and its instructions                                    */
/* ------------------------------------------------------------------------ */

static struct zpci_dev lpt_zdev;
static struct dev_iommu lpt_zdev_iommu;
static struct device lpt_zdev_dev = { .numa_node = NUMA_NO_NODE, .init_name = "0000:00:00.0" };

/* The IOAT the function holds (MPCIFC): IOTA 0 when none is registered. */
static struct {
	u64 iota, base, limit;
} ioat;

int zpci_register_ioat(struct zpci_dev *zdev, u8 dmaas, u64 base, u64 limit, u64 iota, u8 *status)
{
	(void)zdev;
	(void)dmaas;
	*status = 0;
	ioat.iota = iota;
	ioat.base = base;
	ioat.limit = limit;
	return ZPCI_CC_OK;
}

int zpci_unregister_ioat(struct zpci_dev *zdev, u8 dmaas)
{
	(void)zdev;
	(void)dmaas;
	ioat.iota = 0;
	ioat.base = ioat.limit = 0;
	return ZPCI_CC_OK;
}

/*
 * RPCIT: the function's cached translations of [addr, addr + range) are
 * refreshed from the table.  A refresh of the whole registered range
 * (zpci_refresh_all) is reported as ["all"].
 */
int zpci_refresh_trans(u64 fn, u64 addr, u64 range)
{
	(void)fn;
	if (ioat.iota && addr <= ioat.base && range && addr + range - 1 >= ioat.limit)
		linuxpt_tlb_all();
	else
		linuxpt_tlb_range(addr, range);
	return 0;
}

static int probed, probe_ret;

static int lpt_s390_probe(void)
{
	struct iommu_device *iommu;

	if (probed)
		return probe_ret;
	probed = 1;
	s390_iommu_aperture_setup("0"); /* s390_iommu_aperture=0 */
	high_memory = (void *)(unsigned long)SZ_4G;
	probe_ret = s390_iommu_init();
	if (!probe_ret) {
		/* the CLP answer for our function */
		lpt_zdev = (struct zpci_dev){
			.fid = 0x10, .fh = 0x80000010, .pft = PCI_FUNC_TYPE_OTHER, .tlb_refresh = 1,
			.start_dma = 0, .end_dma = ~0ULL,
		};
		INIT_LIST_HEAD(&lpt_zdev.iommu_list);
		probe_ret = zpci_init_iommu(&lpt_zdev);
	}
	if (!probe_ret) {
		lpt_zdev_dev.driver_data = &lpt_zdev;
		lpt_zdev_dev.iommu = &lpt_zdev_iommu;
		iommu = s390_iommu_ops.probe_device(&lpt_zdev_dev);
		if (IS_ERR(iommu))
			probe_ret = PTR_ERR(iommu);
	}
	if (probe_ret)
		linuxpt_printk("harness: s390: setting up the zPCI function failed: %d\n", probe_ret);
	return probe_ret;
}

/* ------------------------------------------------------------------------ */
/* The domain                                                                */
/* ------------------------------------------------------------------------ */

static struct iommu_domain *lpt_s390_dom;
static struct iommu_iotlb_gather lpt_s390_gather;

static int lpt_s390_have_domain(void) { return lpt_s390_dom != NULL; }

/* What the function translates with: the registered IOAT. */
static void lpt_s390_refresh(struct lpt_hw *hw)
{
	hw->s390_iota = ioat.iota;
	hw->s390_base = ioat.base;
	hw->s390_limit = ioat.limit;
}

static void lpt_s390_domain_free(void)
{
	struct iommu_domain *domain = lpt_s390_dom, *blocked = s390_iommu_ops.blocked_domain;

	if (!domain)
		return;
	lpt_s390_dom = NULL;
	/* __iommu_group_set_core_domain: the blocked domain (blocking_domain_attach_device) */
	blocked->ops->attach_dev(blocked, &lpt_zdev_dev);
	domain->ops->free(domain); /* s390_domain_free */
}

static int lpt_s390_domain_alloc(unsigned long long pgsize_bitmap, unsigned ias, unsigned oas,
			     struct lpt_hw *hw)
{
	struct iommu_domain *domain;
	int ret;

	(void)pgsize_bitmap; /* the driver's: SZ_4K */
	(void)ias;
	(void)oas;
	lpt_s390_domain_free();
	ret = lpt_s390_probe();
	if (ret)
		return ret;
	domain = lpt_core_domain_alloc(&s390_iommu_ops, &lpt_zdev_dev);
	if (!domain)
		return -ENOMEM;
	ret = domain->ops->attach_dev(domain, &lpt_zdev_dev); /* s390_iommu_attach_device */
	if (ret) {
		domain->ops->free(domain);
		return ret;
	}
	lpt_s390_dom = domain;
	iommu_iotlb_gather_init(&lpt_s390_gather);
	*hw = (struct lpt_hw){
		.format = LPT_S390,
		.pgsize_bitmap = domain->pgsize_bitmap,
		/* the aperture s390_domain_alloc_paging sets: [0, ZPCI_TABLE_SIZE_RT - 1] */
		.ias = (unsigned)fls64(domain->geometry.aperture_end),
		/* the PTE keeps every address bit above 11 (set_pt_pfaa: ZPCI_PTE_ADDR_MASK) */
		.oas = 64,
	};
	lpt_s390_refresh(hw);
	return 0;
}

static const char *lpt_s390_core(void) { return lpt_core_name(&s390_iommu_ops); }

static int lpt_s390_has_iotlb_sync(void) { return s390_iommu_ops.default_domain_ops->iotlb_sync != NULL; }

static int lpt_s390_map_pages(unsigned long long iova, unsigned long long paddr,
			  unsigned long long pgsize, unsigned long long pgcount, int prot,
			  unsigned long long *mapped)
{
	return lpt_core_map_pages(lpt_s390_dom, iova, paddr, pgsize, pgcount, prot, mapped, NULL);
}

static unsigned long long lpt_s390_unmap_pages(unsigned long long iova, unsigned long long pgsize,
					   unsigned long long pgcount)
{
	return lpt_core_unmap_pages(lpt_s390_dom, iova, pgsize, pgcount, &lpt_s390_gather, NULL);
}

/* The tree's iommu_iotlb_sync(): s390_iommu_iotlb_sync, then gather_init. */
static void lpt_s390_iotlb_sync(void)
{
	iommu_iotlb_sync(lpt_s390_dom, &lpt_s390_gather);
}

static int lpt_s390_iotlb_sync_map(unsigned long long iova, unsigned long long size)
{
	return lpt_s390_dom->ops->iotlb_sync_map(lpt_s390_dom, iova, size);
}

static unsigned long long lpt_s390_iova_to_phys(unsigned long long iova)
{
	return lpt_s390_dom->ops->iova_to_phys(lpt_s390_dom, iova);
}

const struct lpt_driver_format lpt_s390_format = {
	.domain_alloc = lpt_s390_domain_alloc,
	.domain_free = lpt_s390_domain_free,
	.have_domain = lpt_s390_have_domain,
	.refresh = lpt_s390_refresh,
	.core = lpt_s390_core,
	.has_iotlb_sync = lpt_s390_has_iotlb_sync,
	.map_pages = lpt_s390_map_pages,
	.unmap_pages = lpt_s390_unmap_pages,
	.iotlb_sync = lpt_s390_iotlb_sync,
	.iova_to_phys = lpt_s390_iova_to_phys,
	.iotlb_sync_map = lpt_s390_iotlb_sync_map,
};
