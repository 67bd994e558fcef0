/*
 * linuxpt: the IOMMU core's calls into a driver that owns its page table
 * (rockchip, exynos), as Linux 6.1's and 6.12's drivers/iommu/iommu.c make
 * them, over the driver's struct iommu_ops.  Included by glue_rockchip.c and
 * glue_exynos.c after the driver file they compile.  Our own code: it names
 * the iommu.c functions it follows, it copies none.
 *
 * One glue, both trees: which members a driver's ops set tells which
 * interface it has (6.1: .domain_alloc, .map, .unmap, .detach_dev; 6.12:
 * .domain_alloc_paging, .map_pages, .unmap_pages, .identity_domain).
 */
#ifndef LINUXPT_GLUE_DRV_H
#define LINUXPT_GLUE_DRV_H

#include <linux/iommu.h>

/*
 * 6.1 iommu_domain_alloc -> __iommu_domain_alloc(bus, IOMMU_DOMAIN_UNMANAGED):
 * ops->domain_alloc(type), then domain->type, ->pgsize_bitmap and (when the
 * driver left it unset) ->ops = default_domain_ops.  6.12 iommu_paging_domain_alloc
 * -> __iommu_domain_alloc -> ops->domain_alloc_paging(dev), then
 * iommu_domain_init's same three.  NULL when the driver returns none.
 */
static inline struct iommu_domain *lpt_core_domain_alloc(const struct iommu_ops *ops,
							 struct device *dev)
{
	struct iommu_domain *domain;

	if (ops->domain_alloc_paging)
		domain = ops->domain_alloc_paging(dev);
	else
		domain = ops->domain_alloc(IOMMU_DOMAIN_UNMANAGED);
	if (!domain || IS_ERR(domain))
		return NULL;
	domain->type = IOMMU_DOMAIN_UNMANAGED;
	if (!domain->ops)
		domain->ops = ops->default_domain_ops;
	if (!domain->pgsize_bitmap)
		domain->pgsize_bitmap = ops->pgsize_bitmap;
	return domain;
}

/*
 * Before the domain is freed its device leaves it: 6.12 attaches the
 * driver's identity domain (__iommu_group_set_domain to the default domain,
 * here the identity one); 6.1 without a default domain calls
 * ops->detach_dev (__iommu_detach_device).  Then domain->ops->free.
 */
static inline void lpt_core_domain_free(const struct iommu_ops *ops, struct iommu_domain *domain,
					struct device *dev)
{
	struct iommu_domain *identity = ops->identity_domain;

	if (identity)
		identity->ops->attach_dev(identity, dev);
	else if (domain->ops->detach_dev)
		domain->ops->detach_dev(domain, dev);
	domain->ops->free(domain);
}

/* The loop Linux's core runs: ->map_pages where the driver has it (6.12), else one page per ->map. */
static inline const char *lpt_core_name(const struct iommu_ops *ops)
{
	return ops->default_domain_ops->map_pages ? "map_pages" : "map-v5.15";
}

/* Called before each driver call with the IOVA it gets (NULL: nothing to do). */
typedef void (*lpt_before_call)(unsigned long long iova);

/*
 * One map_pages request: 6.12 ->map_pages as it is; 6.1, whose drivers have
 * only ->map, one ->map per page as 6.1's __iommu_map_pages does without
 * map_pages (*mapped = ret ? 0 : pgsize), stopping at the first failure.
 */
static inline int lpt_core_map_pages(struct iommu_domain *domain, unsigned long long iova,
				     unsigned long long paddr, unsigned long long pgsize,
				     unsigned long long pgcount, int prot, unsigned long long *mapped,
				     lpt_before_call before)
{
	const struct iommu_domain_ops *ops = domain->ops;
	size_t done = 0;
	int ret = 0;

	if (ops->map_pages) {
		if (before)
			before(iova);
		ret = ops->map_pages(domain, iova, paddr, pgsize, pgcount, prot, GFP_KERNEL, &done);
	} else {
		for (unsigned long long k = 0; k < pgcount; k++) {
			if (before)
				before(iova + k * pgsize);
			ret = ops->map(domain, iova + k * pgsize, paddr + k * pgsize, pgsize, prot,
				       GFP_KERNEL);
			if (ret)
				break;
			done += pgsize;
		}
	}
	*mapped = done;
	return ret;
}

/*
 * One unmap_pages request: 6.12 ->unmap_pages; 6.1 ->unmap page by page,
 * stopping where the driver returns other than a page (6.1's __iommu_unmap
 * stops at 0 and goes on after whatever else was returned: the tester's
 * core does that with the total).
 */
static inline unsigned long long lpt_core_unmap_pages(struct iommu_domain *domain,
						      unsigned long long iova,
						      unsigned long long pgsize,
						      unsigned long long pgcount,
						      struct iommu_iotlb_gather *gather,
						      lpt_before_call before)
{
	const struct iommu_domain_ops *ops = domain->ops;
	unsigned long long done = 0;

	if (ops->unmap_pages) {
		if (before)
			before(iova);
		return ops->unmap_pages(domain, iova, pgsize, pgcount, gather);
	}
	for (unsigned long long k = 0; k < pgcount; k++) {
		size_t r;

		if (before)
			before(iova + k * pgsize);
		r = ops->unmap(domain, iova + k * pgsize, pgsize, gather);

		done += r;
		if (r != pgsize)
			break;
	}
	return done;
}

/* The entry of a driver's OF match table for one compatible string (of_match_device). */
static inline const struct of_device_id *lpt_of_match(const struct of_device_id *ids,
						      const char *compatible)
{
	for (const struct of_device_id *id = ids; id->compatible[0]; id++)
		if (!__builtin_strcmp(id->compatible, compatible))
			return id;
	return NULL;
}

#endif
