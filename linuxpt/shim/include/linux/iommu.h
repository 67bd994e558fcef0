/*
 * linuxpt shim for <linux/iommu.h> (our own code).
 *
 * The tree's include/linux/iommu.h is far too big to compile in userspace.
 * This header defines what io-pgtable and linuxpt's driver glue need (prot
 * bits, struct iommu_domain with its ops, struct iommu_domain_ops with
 * iotlb_sync, the dirty-bitmap types), and then includes
 * <linuxpt/iommu_gather.h>: a header that linuxpt/build.py generates at build
 * time by extracting, from the tree's own iommu.h, struct iommu_iotlb_gather
 * and the static inlines iommu_iotlb_gather_init, _add_range, _is_disjoint,
 * _add_page, _queued and iommu_iotlb_sync.  So the gather logic that runs is
 * exactly the tree's.
 */
#ifndef LINUXPT_LINUX_IOMMU_H
#define LINUXPT_LINUX_IOMMU_H

#include <linuxpt/kshim.h>

/* prot bits, numbered as in every kernel since v3.x and as in protocol v1 */
#define IOMMU_READ (1 << 0)
#define IOMMU_WRITE (1 << 1)
#define IOMMU_CACHE (1 << 2)
#define IOMMU_NOEXEC (1 << 3)
#define IOMMU_MMIO (1 << 4)
#define IOMMU_PRIV (1 << 5)

#define IOMMU_DIRTY_NO_CLEAR (1 << 0)

struct iommu_iotlb_gather;
struct iommu_domain;

struct device;
struct iommu_device;
struct iommu_group;
struct of_phandle_args;

/*
 * The members of iommu.h's struct iommu_domain_ops that linuxpt's drivers
 * use: io-pgtable's glue fills the sync members; the driver formats
 * (rockchip, exynos) compile a whole driver, whose ops are a union of
 * 6.1's (.map/.unmap, .detach_dev) and 6.12's (.map_pages/.unmap_pages).
 */
struct iommu_domain_ops {
	int (*attach_dev)(struct iommu_domain *domain, struct device *dev);
	void (*detach_dev)(struct iommu_domain *domain, struct device *dev);  /* v6.1 */
	int (*map)(struct iommu_domain *domain, unsigned long iova, phys_addr_t paddr, size_t size,
		   int prot, gfp_t gfp);                                         /* v6.1 */
	int (*map_pages)(struct iommu_domain *domain, unsigned long iova, phys_addr_t paddr,
			 size_t pgsize, size_t pgcount, int prot, gfp_t gfp, size_t *mapped);
	size_t (*unmap)(struct iommu_domain *domain, unsigned long iova, size_t size,
			struct iommu_iotlb_gather *iotlb_gather);                 /* v6.1 */
	size_t (*unmap_pages)(struct iommu_domain *domain, unsigned long iova, size_t pgsize,
			      size_t pgcount, struct iommu_iotlb_gather *iotlb_gather);
	void (*flush_iotlb_all)(struct iommu_domain *domain);
	void (*iotlb_sync)(struct iommu_domain *domain, struct iommu_iotlb_gather *iotlb_gather);
	/* int since v6.7 (void before); linuxpt's drivers return 0 */
	int (*iotlb_sync_map)(struct iommu_domain *domain, unsigned long iova, size_t size);
	phys_addr_t (*iova_to_phys)(struct iommu_domain *domain, dma_addr_t iova);
	void (*free)(struct iommu_domain *domain);
};

/* Domain types (our own values; the drivers only compare them). */
#define IOMMU_DOMAIN_BLOCKED 0u
#define IOMMU_DOMAIN_IDENTITY 0x4u
#define IOMMU_DOMAIN_UNMANAGED 0x1u
#define IOMMU_DOMAIN_DMA 0x3u
#define IOMMU_DOMAIN_DMA_FQ 0xbu

/* struct iommu_ops: the members the driver formats' drivers set, 6.1's and 6.12's. */
struct iommu_ops {
	bool (*capable)(struct device *dev, int cap);
	struct iommu_domain *(*domain_alloc)(unsigned iommu_domain_type);   /* v6.1 */
	struct iommu_domain *(*domain_alloc_paging)(struct device *dev);    /* v6.12 */
	struct iommu_device *(*probe_device)(struct device *dev);
	int (*def_domain_type)(struct device *dev);                         /* tegra-smmu */
	void (*release_device)(struct device *dev);
	void (*probe_finalize)(struct device *dev);
	struct iommu_group *(*device_group)(struct device *dev);
	void (*get_resv_regions)(struct device *dev, struct list_head *list); /* s390 */
	int (*of_xlate)(struct device *dev, const struct of_phandle_args *args);
	const struct iommu_domain_ops *default_domain_ops;
	struct iommu_domain *identity_domain;                               /* v6.12 */
	struct iommu_domain *blocked_domain;
	struct iommu_domain *release_domain;
	struct iommu_domain *default_domain;
	unsigned long pgsize_bitmap;
	void *owner;
};

struct iommu_domain_geometry {
	u64 aperture_start;
	u64 aperture_end;
	bool force_aperture;
};

struct iommu_domain {
	unsigned type;
	const struct iommu_domain_ops *ops;
	unsigned long pgsize_bitmap;
	struct iommu_domain_geometry geometry;
};

/*
 * Dirty tracking (6.12's arm_lpae_read_and_clear_dirty): linuxpt never asks
 * for it; the types and the record hook exist so the file compiles.
 */
struct iova_bitmap;
struct iommu_dirty_bitmap {
	struct iova_bitmap *bitmap;
	struct iommu_iotlb_gather *gather;
};

#include <linuxpt/iommu_gather.h> /* generated from the tree's iommu.h */

static inline void iommu_dirty_bitmap_record(struct iommu_dirty_bitmap *dirty,
					     unsigned long iova, unsigned long length)
{
	/* linuxpt records no dirty bits; a gather gets the range as the kernel's does */
	if (dirty->gather)
		iommu_iotlb_gather_add_range(dirty->gather, iova, length);
}

#endif
