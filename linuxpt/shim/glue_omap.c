/*
 * linuxpt driver glue for the omap format: the page table of
 * drivers/iommu/omap-iommu.c (OMAP2+/DRA7 IOMMU), which lives in the driver
 * itself (no io-pgtable).  The tree's driver file is compiled whole and
 * unmodified: this file #includes it (through gen/linuxpt/omap_driver.h,
 * which build.py writes with the file's absolute path); it includes
 * "omap-iopgtable.h" and "omap-iommu.h" from its own directory in the tree.
 * Its static functions, omap_iommu_ops, omap_iommu_driver, omap_iommu_pm_ops
 * and iopte_cachep are in reach.  The kernel APIs around it are linuxpt's
 * shim (include/linuxpt/kshim_drv.h, kshim_omap.h); the IOMMU core's calls
 * are glue_drv.h's.
 *
 * What runs is the driver's own code:
 *
 *   once       omap_iommu_init (the subsys_initcall: the "iopte_cache" of
 *              1K L2 tables), with one "ti,omap4-iommu" node in the glue's
 *              device tree; then omap_iommu_driver.probe (omap_iommu_probe)
 *              on a platform device with one register window and one
 *              interrupt (requested, never raised), no optional properties
 *              (32 TLB entries, no bus-error back-off); then .probe_device
 *              (omap_iommu_probe_device) for one master whose "iommus"
 *              names that node.  (omap_iommu_ops has no .of_xlate: the
 *              driver reads the "iommus" phandles itself.)
 *   domain_alloc  6.1 .domain_alloc(IOMMU_DOMAIN_UNMANAGED), 6.12
 *              .domain_alloc_paging; then .attach_dev (omap_iommu_attach_dev):
 *              omap_iommu_attach_init allocates the PGD of the attached
 *              IOMMU (kzalloc of IOPGD_TABLE_SIZE, 16K-aligned: see
 *              lpt_omap_kzalloc), omap_iommu_attach makes it the IOMMU's and
 *              iommu_enable's pm_runtime_get_sync resumes the IOMMU
 *              (omap_iommu_runtime_resume -> omap2_iommu_enable: MMU_TTB,
 *              MMU_CNTL's MMU_EN | TWL_EN), then flush_iotlb_all (MMU_GFLUSH:
 *              ["all"]).
 *   map/unmap  ->map_pages / ->unmap_pages (6.12; the driver ignores count:
 *              one page per call, one leaf per unmap call) or ->map /
 *              ->unmap per page (6.1), as glue_drv.h calls them.
 *   domain_free  6.12 the identity domain's attach (omap_iommu_identity_attach),
 *              6.1 .detach_dev (omap_iommu_detach_dev): _omap_iommu_detach_dev
 *              (iopgtable_clear_entry_all: the L2 tables the PGD links to
 *              are freed, MMU_GFLUSH; omap_iommu_detach: the runtime PM
 *              reference is dropped, omap_iommu_runtime_suspend clears
 *              MMU_CNTL; omap_iommu_detach_fini frees the PGD); then .free
 *              (omap_iommu_domain_free).
 *
 * Runtime PM: the kernel's pm_runtime_get_sync / pm_runtime_put_sync run the
 * IOMMU's runtime_resume / runtime_suspend callbacks when its usage count
 * goes 0 -> 1 / 1 -> 0; the glue counts them for the IOMMU's device and calls
 * omap_iommu_pm_ops' callbacks the same way (for other devices they do
 * nothing).
 *
 * The TLB and its flushes.  The driver has no iotlb_sync, iotlb_sync_map or
 * flush_iotlb_all op.  flush_iotlb_page (before each map, after each unmap)
 * reads the TLB's entries one by one (MMU_LOCK's victim field selects one,
 * MMU_READ_CAM / MMU_READ_RAM read it) and, for the first valid one whose
 * range holds the IOVA, loads it back (MMU_CAM, MMU_RAM) and writes
 * MMU_FLUSH_ENTRY.  The model below holds at most one entry, at victim 0: the
 * translation the page table held at the IOVA of the driver call about to
 * run (our own walk from MMU_TTB, as if the device had used it), and none
 * where the table held none -- so a map into a hole flushes nothing.  A
 * write to MMU_FLUSH_ENTRY is reported as ["range", va, size] of the CAM
 * last written, as the driver computed it (iotlb_cr_to_virt's va, the CAM's
 * page size), and drops the entry; equal or adjacent consecutive ranges
 * are merged (iotlb_load_cr writes MMU_FLUSH_ENTRY, then flush_iotlb_page
 * again).  MMU_LD_TLB (the load between the two) is not modelled.  A write to
 * MMU_GFLUSH is ["all"].
 *
 * Memory.  The PGD is a kzalloc'd buffer whose virt_to_phys is written to
 * MMU_TTB (a u32); L2 tables come from iopte_cachep; table entries hold u32
 * physical addresses and iopgd_page_vaddr reads them back with phys_to_virt.
 * lpt_omap_kzalloc hands the PGD out of the table arena (below 4G, physical ==
 * virtual), everything else out of the C library as the shim's kzalloc
 * does.  phys_to_virt is the shim's identity, checked (lpt_omap_phys_to_virt):
 * iopte_alloc takes any non-zero PGD entry for a table (a 4K or 64K map under
 * a live section or supersection) and would write into the section's
 * memory; the harness stops there with one line.
 *
 * This file is our own code: it names the driver functions it follows, it
 * copies none.
 */
#include <linuxpt/kshim_omap.h>

/* --- what the driver is compiled with, in place of the shim's defaults (see the top) --- */
static void *lpt_omap_kzalloc(size_t size, gfp_t gfp);
static void lpt_omap_kfree(const void *p);
static void *lpt_omap_phys_to_virt(phys_addr_t pa);
static int lpt_omap_rpm_get_sync(struct device *dev);
static int lpt_omap_rpm_put_sync(struct device *dev);
#define kzalloc(size, gfp) lpt_omap_kzalloc((size), (gfp))
#define kfree(p) lpt_omap_kfree(p)
#define phys_to_virt(pa) lpt_omap_phys_to_virt(pa)
#define pm_runtime_get_sync(dev) lpt_omap_rpm_get_sync(dev)
#define pm_runtime_put_sync(dev) lpt_omap_rpm_put_sync(dev)

#include <linuxpt/omap_driver.h> /* generated: the tree's drivers/iommu/omap-iommu.c */

#include "glue_drv.h"
#include "linuxpt.h"

/* ------------------------------------------------------------------------ */
/* Memory                                                                    */
/* ------------------------------------------------------------------------ */

/* omap_iommu_attach_init's PGD (IOPGD_TABLE_SIZE, which it requires 16K-aligned): table memory */
static void *lpt_omap_kzalloc(size_t size, gfp_t gfp)
{
	if (size == IOPGD_TABLE_SIZE)
		return linuxpt_table_alloc(IOPGD_TABLE_SIZE, IOPGD_TABLE_SIZE, 1, LINUXPT_KIND_PAGES);
	return linuxpt_malloc(size, 1);
}

static void lpt_omap_kfree(const void *p)
{
	if (p && linuxpt_table_is_live(p))
		linuxpt_table_free((void *)p, IOPGD_TABLE_SIZE, LINUXPT_KIND_PAGES);
	else
		linuxpt_free((void *)p);
}

/*
 * The driver's phys_to_virt: iopgd_page_vaddr of a PGD entry, the L2 table it
 * links to.  Tables never start at 256K-aligned addresses (linuxpt_table_avoid
 * at probe); a section's address (1M-aligned) and a supersection entry with
 * its bit 18 (256K-aligned) always do.  iopte_alloc reaches here with such
 * an entry when a 4K or 64K page is mapped under a live section or
 * supersection: in the kernel it then writes the PTE into the memory the
 * block maps.  That memory is not the harness's: stop with one line.
 */
static void *lpt_omap_phys_to_virt(phys_addr_t pa)
{
	if (!linuxpt_table_is_live((void *)(unsigned long)pa)) {
		linuxpt_printk("harness: omap: the driver takes 0x%llx for an L2 table, but it is no "
			       "table (a section's output address: in the kernel iopte_alloc's caller "
			       "writes the PTE into the mapped memory)\n", (unsigned long long)pa);
		linuxpt_bug(__FILE__, __LINE__, "PTE write into a section's output address");
	}
	return (void *)(unsigned long)pa;
}

/* ------------------------------------------------------------------------ */
/* The MMU's registers                                                       */
/* ------------------------------------------------------------------------ */

#define LPT_OMAP_WINDOW 0x1000
#define LPT_OMAP_REVISION 0x21 /* read (and printed) by omap2_iommu_enable */
#define LPT_OMAP_IRQ 28

static struct {
	u32 cntl, ttb, irqenable, lock, cam, ram;
	/* MMU_FLUSH_ENTRY ranges not yet reported: [inv_start, inv_start + inv_len) */
	u64 inv_start, inv_len;
} regs;

/* The TLB's one entry (victim 0): the translation at the current call's IOVA before it ran. */
static struct {
	u32 va, pa, pgsz; /* pgsz: MMU_CAM_PGSZ_* */
	bool valid;
} tlb;

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

/*
 * Our own walk, as the MMU reads the table from MMU_TTB: the translation of
 * the IOVA of the driver call about to run, which the TLB model then holds.
 */
static void lpt_omap_lookup(unsigned long long l_iova)
{
	u32 iova = (u32)l_iova, e, pe;
	const u32 *pgd = (const u32 *)(unsigned long)regs.ttb;

	tlb.valid = false;
	if (!regs.ttb || !(regs.cntl & MMU_CNTL_MMU_EN))
		return;
	e = pgd[iova >> 20];
	if ((e & 3) == 2) { /* section, or supersection with bit 18 */
		if (e & (1u << 18))
			tlb = (typeof(tlb)){ iova & 0xff000000u, e & 0xff000000u, MMU_CAM_PGSZ_16M, true };
		else
			tlb = (typeof(tlb)){ iova & 0xfff00000u, e & 0xfff00000u, MMU_CAM_PGSZ_1M, true };
		return;
	}
	if ((e & 3) != 1)
		return;
	pe = ((const u32 *)(unsigned long)(e & 0xfffffc00u))[(iova >> 12) & 0xff];
	if (pe & 2)
		tlb = (typeof(tlb)){ iova & 0xfffff000u, pe & 0xfffff000u, MMU_CAM_PGSZ_4K, true };
	else if ((pe & 3) == 1)
		tlb = (typeof(tlb)){ iova & 0xffff0000u, pe & 0xffff0000u, MMU_CAM_PGSZ_64K, true };
}

static unsigned lpt_omap_read(void *ctx, unsigned long off)
{
	unsigned victim = (regs.lock & MMU_LOCK_VICT_MASK) >> MMU_LOCK_VICT_SHIFT;

	(void)ctx;
	switch (off) {
	case MMU_REVISION:
		return LPT_OMAP_REVISION;
	case MMU_CNTL:
		return regs.cntl;
	case MMU_TTB:
		return regs.ttb;
	case MMU_IRQENABLE:
		return regs.irqenable;
	case MMU_LOCK:
		return regs.lock;
	case MMU_READ_CAM:
		return victim == 0 && tlb.valid ? tlb.va | MMU_CAM_V | tlb.pgsz : 0;
	case MMU_READ_RAM:
		return victim == 0 && tlb.valid ? tlb.pa : 0;
	default:
		return 0; /* MMU_IRQSTATUS, fault addresses: no fault */
	}
}

static void lpt_omap_write(void *ctx, unsigned long off, unsigned value)
{
	(void)ctx;
	if (off == MMU_FLUSH_ENTRY) {
		u32 pgsz = regs.cam & MMU_CAM_PGSZ_MASK;

		/* the entry the driver loaded into MMU_CAM: iotlb_cr_to_virt's va, the CAM's size */
		inv_add(regs.cam & get_cam_va_mask(pgsz), iopgsz_to_bytes(pgsz));
		if (tlb.valid && tlb.va == (regs.cam & get_cam_va_mask(pgsz)) && tlb.pgsz == pgsz)
			tlb.valid = false;
		return;
	}
	if (off == MMU_LD_TLB)
		return; /* between iotlb_load_cr's MMU_FLUSH_ENTRY and flush_iotlb_page's */
	/* the TLB lock / CAM / RAM writes of the next flush_iotlb_page do not end a run */
	if (off == MMU_CNTL || off == MMU_TTB || off == MMU_GFLUSH)
		inv_flush();
	switch (off) {
	case MMU_CNTL:
		regs.cntl = value;
		break;
	case MMU_TTB:
		regs.ttb = value;
		break;
	case MMU_IRQENABLE:
		regs.irqenable = value;
		break;
	case MMU_LOCK:
		regs.lock = value;
		break;
	case MMU_CAM:
		regs.cam = value;
		break;
	case MMU_RAM:
		regs.ram = value;
		break;
	case MMU_GFLUSH:
		tlb.valid = false;
		linuxpt_tlb_all();
		break;
	case MMU_IRQSTATUS:
		break;
	default:
		linuxpt_printk("harness: omap: write of 0x%x to MMU register 0x%lx\n", value, off);
	}
}

static const struct linuxpt_mmio_ops lpt_omap_mmio = { .read = lpt_omap_read, .write = lpt_omap_write };

/* ------------------------------------------------------------------------ */
/* The IOMMU, its runtime PM and its master                                  */
/* ------------------------------------------------------------------------ */

static struct resource lpt_omap_res[2];
static struct device_node lpt_omap_np = { .name = "mmu", .compatible = "ti,omap4-iommu" };
static struct platform_device lpt_omap_pdev = { .name = "omap-iommu" };
static struct device_node lpt_omap_master_np = { .name = "master" };
static struct device lpt_omap_master = { .numa_node = NUMA_NO_NODE, .init_name = "master",
					 .of_node = &lpt_omap_master_np };
static int probed, probe_ret;
static int rpm_usage; /* the IOMMU device's runtime PM usage count */

static struct iommu_domain *omap_dom;
static struct iommu_iotlb_gather omap_gather; /* the core's gather for unmap (the driver ignores it) */

/* pm_runtime_get_sync: the IOMMU's runtime_resume on its first reference */
static int lpt_omap_rpm_get_sync(struct device *dev)
{
	int ret;

	if (dev != &lpt_omap_pdev.dev)
		return 0;
	if (rpm_usage++)
		return 1; /* already active */
	ret = omap_iommu_pm_ops.runtime_resume(dev); /* omap_iommu_runtime_resume */
	return ret < 0 ? ret : 0;
}

/* pm_runtime_put_sync: the IOMMU's runtime_suspend when its last reference goes */
static int lpt_omap_rpm_put_sync(struct device *dev)
{
	if (dev != &lpt_omap_pdev.dev)
		return 0;
	if (rpm_usage <= 0)
		linuxpt_bug(__FILE__, __LINE__, "runtime PM usage count underflow");
	if (--rpm_usage)
		return 0;
	return omap_iommu_pm_ops.runtime_suspend(dev); /* omap_iommu_runtime_suspend */
}

static int lpt_omap_probe(void)
{
	struct iommu_device *iommu;

	if (probed)
		return probe_ret;
	probed = 1;
	linuxpt_dt_nodes[0] = &lpt_omap_np;
	/* L2 tables (1K) and the PGD (16K) never start where a section's address can be */
	linuxpt_table_avoid(SZ_256K);
	probe_ret = omap_iommu_init();
	if (!probe_ret && !iopte_cachep)
		probe_ret = -ENODEV;               /* the node did not match omap_iommu_of_match */
	if (probe_ret) {
		linuxpt_printk("harness: omap: omap_iommu_init failed: %d\n", probe_ret);
		return probe_ret;
	}
	lpt_omap_res[0] = (struct resource){ .flags = IORESOURCE_MEM, .name = "mmu" };
	lpt_omap_res[0].start = (unsigned long)linuxpt_mmio_window(LPT_OMAP_WINDOW, &lpt_omap_mmio, NULL);
	lpt_omap_res[0].end = lpt_omap_res[0].start + LPT_OMAP_WINDOW - 1;
	lpt_omap_res[1] = (struct resource){ .start = LPT_OMAP_IRQ, .end = LPT_OMAP_IRQ,
					     .flags = IORESOURCE_IRQ };
	lpt_omap_pdev.num_resources = 2;
	lpt_omap_pdev.resource = lpt_omap_res;
	lpt_omap_pdev.dev = (struct device){
		.numa_node = NUMA_NO_NODE,
		.linuxpt_dma_direct = 1,
		.of_node = &lpt_omap_np,
		.init_name = "55082000.mmu",
	};
	lpt_omap_np.linuxpt_pdev = &lpt_omap_pdev;
	linuxpt_iommus_owner = &lpt_omap_master_np;
	linuxpt_iommus_target = &lpt_omap_np;
	probe_ret = omap_iommu_driver.probe(&lpt_omap_pdev);
	if (!probe_ret) {
		iommu = omap_iommu_ops.probe_device(&lpt_omap_master);
		if (IS_ERR(iommu))
			probe_ret = PTR_ERR(iommu);
	}
	if (probe_ret)
		linuxpt_printk("harness: omap: probing the IOMMU failed: %d\n", probe_ret);
	inv_flush();
	return probe_ret;
}

/* ------------------------------------------------------------------------ */
/* The domain                                                                */
/* ------------------------------------------------------------------------ */

static int omap_have_domain(void) { return omap_dom != NULL; }

static void omap_refresh(struct lpt_hw *hw)
{
	hw->omap_ttb = regs.ttb;
	hw->omap_enabled = !!(regs.cntl & MMU_CNTL_MMU_EN);
}

static void omap_domain_free(void)
{
	if (!omap_dom)
		return;
	tlb.valid = false;
	lpt_core_domain_free(&omap_iommu_ops, omap_dom, &lpt_omap_master);
	omap_dom = NULL;
	linuxpt_dev_domain = NULL;
	inv_flush();
}

static int omap_domain_alloc(unsigned long long pgsize_bitmap, unsigned ias, unsigned oas,
			     struct lpt_hw *hw)
{
	struct iommu_domain *domain;
	int ret;

	(void)pgsize_bitmap; /* the driver's: OMAP_IOMMU_PGSIZES */
	(void)ias;
	(void)oas;
	omap_domain_free();
	ret = lpt_omap_probe();
	if (ret)
		return ret;
	domain = lpt_core_domain_alloc(&omap_iommu_ops, &lpt_omap_master);
	if (!domain)
		return -ENOMEM;
	tlb.valid = false;
	ret = domain->ops->attach_dev(domain, &lpt_omap_master); /* omap_iommu_attach_dev */
	if (ret) {
		domain->ops->free(domain);
		inv_flush();
		return ret;
	}
	omap_dom = domain;
	linuxpt_dev_domain = domain;
	iommu_iotlb_gather_init(&omap_gather);
	inv_flush();
	*hw = (struct lpt_hw){
		.format = LPT_OMAP,
		.pgsize_bitmap = domain->pgsize_bitmap,
		/* struct iotlb_entry's u32 da: 32 bits of IOVA (PTRS_PER_IOPGD 1M sections) */
		.ias = 8 * sizeof(((struct iotlb_entry *)0)->da),
		/* and its u32 pa: entries hold 32-bit physical addresses */
		.oas = 8 * sizeof(((struct iotlb_entry *)0)->pa),
	};
	omap_refresh(hw);
	return 0;
}

static const char *omap_core(void) { return lpt_core_name(&omap_iommu_ops); }

static int omap_has_iotlb_sync(void) { return omap_iommu_ops.default_domain_ops->iotlb_sync != NULL; }

static int omap_map_pages(unsigned long long iova, unsigned long long paddr, unsigned long long pgsize,
			  unsigned long long pgcount, int prot, unsigned long long *mapped)
{
	int ret = lpt_core_map_pages(omap_dom, iova, paddr, pgsize, pgcount, prot, mapped,
				     lpt_omap_lookup);

	inv_flush();
	tlb.valid = false;
	return ret;
}

static unsigned long long omap_unmap_pages(unsigned long long iova, unsigned long long pgsize,
					   unsigned long long pgcount)
{
	unsigned long long done = lpt_core_unmap_pages(omap_dom, iova, pgsize, pgcount, &omap_gather,
						       lpt_omap_lookup);

	inv_flush();
	tlb.valid = false;
	return done;
}

/* The tree's iommu_iotlb_sync: ops->iotlb_sync where there is one (omap: none). */
static void omap_iotlb_sync(void)
{
	iommu_iotlb_sync(omap_dom, &omap_gather);
	inv_flush();
}

static unsigned long long omap_iova_to_phys(unsigned long long iova)
{
	return omap_dom->ops->iova_to_phys(omap_dom, iova);
}

const struct lpt_driver_format lpt_omap_format = {
	.domain_alloc = omap_domain_alloc,
	.domain_free = omap_domain_free,
	.have_domain = omap_have_domain,
	.refresh = omap_refresh,
	.core = omap_core,
	.has_iotlb_sync = omap_has_iotlb_sync,
	.map_pages = omap_map_pages,
	.unmap_pages = omap_unmap_pages,
	.iotlb_sync = omap_iotlb_sync,
	.iova_to_phys = omap_iova_to_phys,
};
