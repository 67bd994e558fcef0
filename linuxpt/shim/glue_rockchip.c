/*
 * linuxpt driver glue for the rockchip format: the page table of
 * drivers/iommu/rockchip-iommu.c, which lives in the driver itself (no
 * io-pgtable).  The tree's driver file is compiled whole and unmodified: this
 * file #includes it (through gen/linuxpt/rockchip_driver.h, which build.py
 * writes with the file's absolute path), so its static functions, its
 * rk_iommu_ops and its globals (rk_ops, dma_dev) are in reach.  The kernel
 * APIs around it are linuxpt's shim (include/linuxpt/kshim_drv.h).
 *
 * What runs is the driver's own code, called the way Linux's core calls it:
 *
 *   once       rk_iommu_driver.probe (rk_iommu_probe) on a platform device
 *              with one MMU register window (below) and no interrupt; its
 *              OF match data is the "rockchip,iommu" entry of rk_iommu_dt_ids:
 *              iommu_data_ops_v1, 32-bit physical addresses (rk_mk_pte: PA
 *              bits 31:12; the v2 "rockchip,rk3568-iommu" encoding takes 40
 *              bits).  v1 is chosen because it is the one every rockchip SoC
 *              before rk3568 has, and the one the profile "rockchip" (oas 32)
 *              describes.  probe sets rk_ops and dma_dev as on a board.
 *              Then one master device: rk_iommu_ops.of_xlate (rk_iommu_of_xlate)
 *              and .probe_device (rk_iommu_probe_device), as the core's
 *              of_iommu_configure / iommu_probe_device do.
 *   domain_alloc  6.1: rk_iommu_ops.domain_alloc(IOMMU_DOMAIN_UNMANAGED)
 *              (rk_iommu_domain_alloc), with iommu.c __iommu_domain_alloc's
 *              type, default_domain_ops and pgsize_bitmap; 6.12:
 *              .domain_alloc_paging (rk_iommu_domain_alloc_paging), with
 *              iommu_domain_init's.  The directory table (DT) page comes
 *              from the table arena.  Then ops->attach_dev
 *              (rk_iommu_attach_device): the MMU joins rk_domain->iommus and,
 *              being powered (pm_runtime_get_if_in_use() is 1), is enabled
 *              by rk_iommu_enable: stall, force reset, RK_MMU_DTE_ADDR = DT,
 *              RK_MMU_CMD_ZAP_CACHE, paging on.
 *   map_pages  6.12: ops->map_pages (rk_iommu_map), which ignores pgcount
 *              and maps one pgsize per call (*mapped = size); 6.1: ops->map
 *              (rk_iommu_map) once per page, as 6.1's __iommu_map_pages does
 *              for a driver without map_pages (*mapped = ret ? 0 : pgsize),
 *              stopping at the first failure.
 *   unmap_pages  6.12: ops->unmap_pages (rk_iommu_unmap); 6.1: ops->unmap
 *              page by page, stopping where the driver returns less than a
 *              page (6.1 __iommu_unmap stops at 0 and restarts after what
 *              was returned).  The gather is the tree's; the driver ignores it.
 *   iova_to_phys  ops->iova_to_phys (rk_iommu_iova_to_phys).
 *   domain_free  6.12: the core moves the device to rk_iommu_ops.identity_domain
 *              first (its attach_dev, rk_iommu_identity_attach, disables the
 *              MMU); 6.1: ops->detach_dev (rk_iommu_detach_device); then
 *              ops->free (rk_iommu_domain_free) frees the PTs and the DT.
 *
 * The driver has no iotlb_sync, iotlb_sync_map or flush_iotlb_all: hello
 * offers neither sync.  Its invalidations are MMIO writes, which the register
 * model below reports: RK_MMU_CMD_ZAP_CACHE as ["all"], and the
 * RK_MMU_ZAP_ONE_LINE writes of rk_iommu_zap_lines (one per 4K line: the
 * first and last line of every map call, rk_iommu_zap_iova_first_last;
 * every line unmapped, rk_iommu_zap_iova) as ["range", line, 4096], merged
 * while consecutive writes name consecutive lines.  The register takes the
 * u32 the driver writes, so an IOVA at or above 2^32 is zapped (and
 * reported) at its low 32 bits: the line the MMU actually translates.
 *
 * This file is our own code: it names the driver functions it follows, it
 * copies none.
 */
#include <linuxpt/kshim_drv.h>
#include <linuxpt/rockchip_driver.h> /* generated: the tree's drivers/iommu/rockchip-iommu.c */

#include "glue_drv.h"
#include "linuxpt.h"

/* ------------------------------------------------------------------------ */
/* The MMU's registers (one MMU: rk_iommu.num_mmu == 1)                      */
/* ------------------------------------------------------------------------ */

#define LPT_RK_WINDOW 0x100 /* the register block: RK_MMU_DTE_ADDR .. RK_MMU_AUTO_GATING */

/*
 * The register behaviour the driver relies on (its comments and polls):
 * RK_MMU_DTE_ADDR keeps the bits of a 4K-aligned 32-bit address (v1: the
 * driver's force reset checks that rk_dte_pt_address(DTE_ADDR_DUMMY) reads
 * back); commands take effect at once; stall can only be enabled while
 * paging is (rk_iommu_enable_stall); FORCE_RESET clears DTE_ADDR, paging
 * and stall (rk_iommu_is_reset_done polls DTE_ADDR == 0).  No page faults,
 * so the interrupt status is 0.
 */
struct lpt_rk_regs {
	u32 dte_addr, int_mask, auto_gating;
	bool paging, stall;
	/* RK_MMU_ZAP_ONE_LINE writes not yet reported: [zap_start, zap_start + zap_len) */
	u64 zap_start, zap_len;
};

static struct lpt_rk_regs regs;

static void zap_flush(void)
{
	if (regs.zap_len)
		linuxpt_tlb_range(regs.zap_start, regs.zap_len);
	regs.zap_len = 0;
}

static unsigned lpt_rk_read(void *ctx, unsigned long off)
{
	(void)ctx;
	zap_flush();
	switch (off) {
	case RK_MMU_DTE_ADDR:
		return regs.dte_addr;
	case RK_MMU_STATUS:
		return (regs.paging ? RK_MMU_STATUS_PAGING_ENABLED : 0) |
		       (regs.stall ? RK_MMU_STATUS_STALL_ACTIVE : RK_MMU_STATUS_STALL_NOT_ACTIVE) |
		       RK_MMU_STATUS_IDLE | RK_MMU_STATUS_REPLAY_BUFFER_EMPTY;
	case RK_MMU_INT_MASK:
		return regs.int_mask;
	case RK_MMU_AUTO_GATING:
		return regs.auto_gating;
	default: /* PAGE_FAULT_ADDR, INT_RAWSTAT, INT_STATUS: no fault */
		return 0;
	}
}

static void lpt_rk_write(void *ctx, unsigned long off, unsigned value)
{
	(void)ctx;
	if (off == RK_MMU_ZAP_ONE_LINE) {
		u64 line = value & ~(u64)(SPAGE_SIZE - 1);

		if (regs.zap_len && line == regs.zap_start + regs.zap_len) {
			regs.zap_len += SPAGE_SIZE;
			return;
		}
		zap_flush();
		regs.zap_start = line;
		regs.zap_len = SPAGE_SIZE;
		return;
	}
	zap_flush();
	switch (off) {
	case RK_MMU_DTE_ADDR:
		regs.dte_addr = value & RK_DTE_PT_ADDRESS_MASK;
		break;
	case RK_MMU_INT_MASK:
		regs.int_mask = value;
		break;
	case RK_MMU_AUTO_GATING:
		regs.auto_gating = value;
		break;
	case RK_MMU_INT_CLEAR:
		break;
	case RK_MMU_COMMAND:
		switch (value) {
		case RK_MMU_CMD_ENABLE_PAGING:
			regs.paging = true;
			break;
		case RK_MMU_CMD_DISABLE_PAGING:
			regs.paging = false;
			break;
		case RK_MMU_CMD_ENABLE_STALL:
			regs.stall = regs.paging;
			break;
		case RK_MMU_CMD_DISABLE_STALL:
			regs.stall = false;
			break;
		case RK_MMU_CMD_ZAP_CACHE: /* "Shoot down entire IOTLB" */
			linuxpt_tlb_all();
			break;
		case RK_MMU_CMD_PAGE_FAULT_DONE:
			break;
		case RK_MMU_CMD_FORCE_RESET:
			regs = (struct lpt_rk_regs){ 0 };
			break;
		default:
			linuxpt_printk("harness: rockchip: unknown MMU command %u\n", value);
		}
		break;
	default:
		linuxpt_printk("harness: rockchip: write of 0x%x to MMU register 0x%lx\n", value, off);
	}
}

static const struct linuxpt_mmio_ops lpt_rk_mmio = { .read = lpt_rk_read, .write = lpt_rk_write };

/* ------------------------------------------------------------------------ */
/* The IOMMU and its master                                                  */
/* ------------------------------------------------------------------------ */

static struct resource lpt_rk_res;
static struct device_node lpt_rk_np = { .name = "iommu" };
static struct platform_device lpt_rk_pdev = { .name = "rk_iommu" };
static struct device lpt_rk_master = { .numa_node = NUMA_NO_NODE, .init_name = "master" };
static int probed, probe_ret;

static struct iommu_domain *rk_dom;
static struct iommu_iotlb_gather rk_gather; /* the core's gather for unmap (the driver ignores it) */

static int lpt_rk_probe(void)
{
	struct of_phandle_args args = { .np = &lpt_rk_np, .args_count = 0 };
	const struct of_device_id *id = lpt_of_match(rk_iommu_dt_ids, "rockchip,iommu");

	if (probed)
		return probe_ret;
	probed = 1;
	lpt_rk_res = (struct resource){ .flags = IORESOURCE_MEM, .name = "mmu" };
	lpt_rk_res.start = (unsigned long)linuxpt_mmio_window(LPT_RK_WINDOW, &lpt_rk_mmio, NULL);
	lpt_rk_res.end = lpt_rk_res.start + LPT_RK_WINDOW - 1;
	lpt_rk_pdev.num_resources = 1;
	lpt_rk_pdev.resource = &lpt_rk_res;
	lpt_rk_pdev.dev = (struct device){
		.numa_node = NUMA_NO_NODE,
		.linuxpt_dma_direct = 1,
		.of_node = &lpt_rk_np,
		.linuxpt_match_data = id ? id->data : NULL,
		.init_name = "ff650800.iommu",
	};
	lpt_rk_np.linuxpt_pdev = &lpt_rk_pdev;
	if (!id) {
		linuxpt_printk("harness: rockchip: rk_iommu_dt_ids has no \"rockchip,iommu\" entry\n");
		return probe_ret = -ENODEV;
	}
	probe_ret = rk_iommu_driver.probe(&lpt_rk_pdev);
	if (!probe_ret)
		probe_ret = rk_iommu_ops.of_xlate(&lpt_rk_master, &args);
	if (!probe_ret) {
		struct iommu_device *iommu = rk_iommu_ops.probe_device(&lpt_rk_master);
		if (IS_ERR(iommu))
			probe_ret = PTR_ERR(iommu);
	}
	if (probe_ret)
		linuxpt_printk("harness: rockchip: probing the IOMMU failed: %d\n", probe_ret);
	zap_flush();
	return probe_ret;
}

/* ------------------------------------------------------------------------ */
/* The domain                                                                */
/* ------------------------------------------------------------------------ */

static int rk_have_domain(void) { return rk_dom != NULL; }

static void rk_refresh(struct lpt_hw *hw)
{
	hw->rk_dte_addr = regs.dte_addr;
	hw->rk_paging = regs.paging;
}

static void rk_domain_free(void)
{
	if (!rk_dom)
		return;
	lpt_core_domain_free(&rk_iommu_ops, rk_dom, &lpt_rk_master);
	rk_dom = NULL;
	zap_flush();
}

static int rk_domain_alloc(unsigned long long pgsize_bitmap, unsigned ias, unsigned oas,
			   struct lpt_hw *hw)
{
	struct iommu_domain *domain;
	int ret;

	(void)pgsize_bitmap; /* the driver's: RK_IOMMU_PGSIZE_BITMAP (the harness cuts it to the request) */
	(void)ias;
	(void)oas;
	rk_domain_free();
	ret = lpt_rk_probe();
	if (ret)
		return ret;
	domain = lpt_core_domain_alloc(&rk_iommu_ops, &lpt_rk_master);
	if (!domain)
		return -ENOMEM;
	ret = domain->ops->attach_dev(domain, &lpt_rk_master); /* rk_iommu_attach_device */
	if (ret) {
		domain->ops->free(domain);
		zap_flush();
		return ret;
	}
	rk_dom = domain;
	iommu_iotlb_gather_init(&rk_gather);
	zap_flush();
	*hw = (struct lpt_hw){
		.format = LPT_ROCKCHIP,
		.pgsize_bitmap = domain->pgsize_bitmap,
		/* the aperture rk_iommu_domain_alloc sets: [0, DMA_BIT_MASK(32)] */
		.ias = (unsigned)fls64(domain->geometry.aperture_end),
		/* what the PTE holds: v1 32 bits (rk_mk_pte), v2 40; also the IOMMU's DMA mask */
		.oas = (unsigned)fls64(rk_ops->dma_bit_mask),
	};
	rk_refresh(hw);
	return 0;
}

static const char *rk_core(void) { return lpt_core_name(&rk_iommu_ops); }

static int rk_has_iotlb_sync(void) { return rk_iommu_ops.default_domain_ops->iotlb_sync != NULL; }

static int rk_map_pages(unsigned long long iova, unsigned long long paddr, unsigned long long pgsize,
			unsigned long long pgcount, int prot, unsigned long long *mapped)
{
	int ret = lpt_core_map_pages(rk_dom, iova, paddr, pgsize, pgcount, prot, mapped, NULL);

	zap_flush();
	return ret;
}

static unsigned long long rk_unmap_pages(unsigned long long iova, unsigned long long pgsize,
					 unsigned long long pgcount)
{
	unsigned long long done = lpt_core_unmap_pages(rk_dom, iova, pgsize, pgcount, &rk_gather, NULL);

	zap_flush();
	return done;
}

/* The tree's iommu_iotlb_sync: ops->iotlb_sync where there is one (rockchip: none). */
static void rk_iotlb_sync(void)
{
	iommu_iotlb_sync(rk_dom, &rk_gather);
	zap_flush();
}

static unsigned long long rk_iova_to_phys(unsigned long long iova)
{
	return rk_dom->ops->iova_to_phys(rk_dom, iova);
}

const struct lpt_driver_format lpt_rockchip_format = {
	.domain_alloc = rk_domain_alloc,
	.domain_free = rk_domain_free,
	.have_domain = rk_have_domain,
	.refresh = rk_refresh,
	.core = rk_core,
	.has_iotlb_sync = rk_has_iotlb_sync,
	.map_pages = rk_map_pages,
	.unmap_pages = rk_unmap_pages,
	.iotlb_sync = rk_iotlb_sync,
	.iova_to_phys = rk_iova_to_phys,
};
