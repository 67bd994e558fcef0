/*
 * linuxpt kernel shim for drivers/iommu/omap-iommu.c: our own stand-ins for
 * what the OMAP IOMMU driver uses besides kshim_drv.h -- the raw register
 * accessors, the few OF property helpers it reads (the master's "iommus"
 * phandle, the IOMMU node's optional properties), the DRA7 syscon regmap
 * (never reached: the glue's node is "ti,omap4-iommu"), the platform data
 * type its runtime-PM callbacks look at (none is given), and the core's
 * helpers it calls.  Written for iommu-spec from the way omap-iommu.c uses
 * them; no kernel source is copied here.
 */
#ifndef LINUXPT_KSHIM_OMAP_H
#define LINUXPT_KSHIM_OMAP_H

#include <linuxpt/kshim_drv.h>

#ifndef SZ_256K
#define SZ_256K 0x00040000
#endif
#ifndef SZ_16K
#define SZ_16K 0x00004000
#endif
#define strcmp(a, b) __builtin_strcmp((a), (b))
#define of_match_ptr(p) (p)
#define dev_vdbg(dev, fmt, ...) do { if (0) linuxpt_printk(fmt, ##__VA_ARGS__); } while (0)

/* ---- <asm/io.h>: the raw accessors iommu_read_reg / iommu_write_reg use ------ */
#define __raw_readl(a) readl(a)
#define __raw_writel(v, a) writel((v), (a))

/* ---- OF: the glue's one "iommus" property and the IOMMU node's properties ---- */
typedef u32 phandle;
struct property { const char *name; };
/* the node holding the glue's "iommus" property (the master's) and the node it names */
static const struct device_node *linuxpt_iommus_owner;
static struct device_node *linuxpt_iommus_target;
static inline int of_property_count_elems_of_size(const struct device_node *np, const char *name,
						  int elem_size)
{
	if (np && np == linuxpt_iommus_owner && !strcmp(name, "iommus") &&
	    elem_size == (int)sizeof(phandle))
		return 1;
	return -EINVAL; /* no such property */
}
static inline struct device_node *of_parse_phandle(const struct device_node *np, const char *name,
						   int index)
{
	if (np && np == linuxpt_iommus_owner && !strcmp(name, "iommus") && index == 0)
		return linuxpt_iommus_target;
	return NULL;
}
/* the IOMMU node has none of its optional properties ("ti,#tlb-entries", ...) */
static inline int of_property_read_u32(const struct device_node *np, const char *name, u32 *out)
{
	(void)np; (void)name; (void)out;
	return -EINVAL;
}
static inline int of_property_read_u32_index(const struct device_node *np, const char *name,
					     u32 index, u32 *out)
{
	(void)np; (void)name; (void)index; (void)out;
	return -EINVAL;
}
static inline struct property *of_find_property(const struct device_node *np, const char *name,
						int *lenp)
{
	(void)np; (void)name; (void)lenp;
	return NULL;
}
static inline int of_device_is_compatible(const struct device_node *np, const char *compat)
{
	return np && np->compatible && !strcmp(np->compatible, compat);
}

/* ---- <linux/regmap.h>, <linux/mfd/syscon.h>: DRA7 DSP only, never reached ---- */
struct regmap { int unused; };
static inline struct regmap *syscon_regmap_lookup_by_phandle(struct device_node *np, const char *prop)
{
	(void)np; (void)prop;
	linuxpt_unreachable("syscon_regmap_lookup_by_phandle");
}
static inline int regmap_update_bits(struct regmap *map, unsigned int reg, unsigned int mask,
				     unsigned int val)
{
	(void)map; (void)reg; (void)mask; (void)val;
	linuxpt_unreachable("regmap_update_bits");
}

/* ---- <linux/platform_data/iommu-omap.h>: the hooks the runtime-PM callbacks call;
 * the glue's device has no platform data (dev_get_platdata is NULL) ------------------ */
struct iommu_platform_data {
	const char *reset_name;
	int (*assert_reset)(struct platform_device *pdev, const char *name);
	int (*deassert_reset)(struct platform_device *pdev, const char *name);
	int (*device_enable)(struct platform_device *pdev);
	int (*device_idle)(struct platform_device *pdev);
	int (*set_pwrdm_constraint)(struct platform_device *pdev, bool request, u8 *pwrst);
};
static inline void *dev_get_platdata(const struct device *dev) { (void)dev; return NULL; }

/* ---- <linux/omap-iommu.h>: what omap-iommu.c exports (it defines them) ------------- */
void omap_iommu_save_ctx(struct device *dev);
void omap_iommu_restore_ctx(struct device *dev);
int omap_iommu_domain_deactivate(struct iommu_domain *domain);
int omap_iommu_domain_activate(struct iommu_domain *domain);

/* ---- runtime PM: the glue models the IOMMU's own (glue_omap.c) ------------------ */
static inline void pm_runtime_put_noidle(struct device *dev) { (void)dev; }
static inline bool pm_runtime_status_suspended(struct device *dev) { (void)dev; return false; }

/* ---- the core --------------------------------------------------------------- */
struct bus_type { const char *name; };
static struct bus_type platform_bus_type = { .name = "platform" };
/* the glue runs .probe_device for its master itself */
static inline int bus_iommu_probe(struct bus_type *bus) { (void)bus; return 0; }
/* the domain the glue's master is attached to (the core's group->domain) */
static struct iommu_domain *linuxpt_dev_domain;
static inline struct iommu_domain *iommu_get_domain_for_dev(struct device *dev)
{
	(void)dev;
	return linuxpt_dev_domain;
}
static inline void dma_sync_single_range_for_device(struct device *d, dma_addr_t a, unsigned long off,
						    size_t s, enum dma_data_direction r)
{
	dma_sync_single_for_device(d, a + off, s, r);
}

#endif
