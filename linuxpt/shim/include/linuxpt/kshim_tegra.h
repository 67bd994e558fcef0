/*
 * linuxpt kernel shim for drivers/iommu/tegra-smmu.c: our own stand-ins for
 * the Tegra memory controller's types (<soc/tegra/mc.h>: the members the
 * SMMU driver reads, which the glue fills in for one SoC description), the
 * AHB helper, debugfs, and the core's fwspec and group helpers the driver
 * calls.  Written for iommu-spec; no kernel source is copied here.
 */
#ifndef LINUXPT_KSHIM_TEGRA_H
#define LINUXPT_KSHIM_TEGRA_H

#include <linuxpt/kshim_drv.h>

#define ENOSPC 28
#ifndef SZ_4M
#define SZ_4M 0x00400000
#endif
#ifndef SZ_16K
#define SZ_16K 0x00004000
#endif

/* ---- <soc/tegra/mc.h>: what tegra-smmu.c reads -------------------------------- */
struct tegra_mc_client {
	unsigned int id;
	const char *name;
	unsigned int swgroup;
	struct {
		struct {
			unsigned int reg, bit;
		} smmu;
	} regs;
};
struct tegra_smmu_swgroup {
	const char *name;
	unsigned int swgroup;
	unsigned int reg;
};
struct tegra_smmu_group_soc {
	const char *name;
	const unsigned int *swgroups;
	unsigned int num_swgroups;
};
struct tegra_smmu_soc {
	const struct tegra_mc_client *clients;
	unsigned int num_clients;
	const struct tegra_smmu_swgroup *swgroups;
	unsigned int num_swgroups;
	const struct tegra_smmu_group_soc *groups;
	unsigned int num_groups;
	bool supports_round_robin_arbitration;
	bool supports_request_limit;
	unsigned int num_tlb_lines;
	unsigned int num_asids;
};
struct tegra_mc_soc {
	unsigned int num_address_bits;
	unsigned int atom_size;
};
struct tegra_smmu;
struct tegra_mc {
	struct device *dev;
	struct tegra_smmu *smmu;
	void __iomem *regs;
	const struct tegra_mc_soc *soc;
};
struct tegra_smmu *tegra_smmu_probe(struct device *dev, const struct tegra_smmu_soc *soc,
				    struct tegra_mc *mc);
void tegra_smmu_remove(struct tegra_smmu *smmu);

/* <soc/tegra/ahb.h>: the AHB bus's SMMU enable, nothing to model */
static inline int tegra_ahb_enable_smmu(struct device_node *dn) { (void)dn; return 0; }

/* ---- debugfs: never built (CONFIG_DEBUG_FS off), only compiled --------------- */
struct dentry;
struct seq_file { void *private; };
struct inode { void *i_private; };
struct file { void *private_data; };
struct file_operations { struct module *owner; int (*open)(struct inode *, struct file *); };
#define S_IRUGO 0444
#define THIS_MODULE ((struct module *)0)
#define seq_printf(m, fmt, ...) linuxpt_unreachable("seq_printf")
#define seq_puts(m, s) linuxpt_unreachable("seq_puts")
static inline int single_open(struct file *f, int (*show)(struct seq_file *, void *), void *data)
{
	(void)f; (void)show; (void)data;
	linuxpt_unreachable("single_open");
}
#define DEFINE_SHOW_ATTRIBUTE(name) \
	static int name##_open(struct inode *inode, struct file *file) \
	{ return single_open(file, name##_show, inode->i_private); } \
	static const struct file_operations name##_fops = { .owner = THIS_MODULE, .open = name##_open }
static inline struct dentry *debugfs_create_dir(const char *name, struct dentry *parent)
{
	(void)name; (void)parent;
	linuxpt_unreachable("debugfs_create_dir");
}
static inline struct dentry *debugfs_create_file(const char *name, unsigned mode, struct dentry *parent,
						 void *data, const struct file_operations *fops)
{
	(void)name; (void)mode; (void)parent; (void)data; (void)fops;
	linuxpt_unreachable("debugfs_create_file");
}
static inline void debugfs_remove_recursive(struct dentry *d) { (void)d; }

/* ---- bitmaps ------------------------------------------------------------------ */
static inline unsigned long *devm_bitmap_zalloc(struct device *dev, unsigned int nbits, gfp_t gfp)
{
	return (unsigned long *)devm_kcalloc(dev, (nbits + 63) / 64, sizeof(unsigned long), gfp);
}
static inline void clear_bit(long nr, volatile unsigned long *addr)
{
	addr[nr / 64] &= ~(1UL << (nr % 64));
}
static inline unsigned long find_first_zero_bit(const unsigned long *addr, unsigned long size)
{
	for (unsigned long i = 0; i < size; i++)
		if (!(addr[i / 64] & (1UL << (i % 64))))
			return i;
	return size;
}

/* ---- the core's fwspec: the glue's master has one, with the IDs of_xlate adds ---- */
struct iommu_fwspec {
	struct fwnode_handle *iommu_fwnode;
	unsigned int num_ids;
	u32 ids[8];
};
/* the glue's master's fwspec (one master per format) */
static struct iommu_fwspec linuxpt_fwspec;
static int linuxpt_fwspec_live;
static inline struct iommu_fwspec *dev_iommu_fwspec_get(struct device *dev)
{
	(void)dev;
	return linuxpt_fwspec_live ? &linuxpt_fwspec : NULL;
}
static inline struct fwnode_handle *dev_fwnode(struct device *dev) { (void)dev; return NULL; }
/* 6.1 passes the ops too */
#define iommu_fwspec_init(dev, fw, ...) linuxpt_fwspec_init((dev), (fw))
static inline int linuxpt_fwspec_init(struct device *dev, struct fwnode_handle *fw)
{
	(void)dev;
	linuxpt_fwspec = (struct iommu_fwspec){ .iommu_fwnode = fw };
	linuxpt_fwspec_live = 1;
	return 0;
}
static inline void iommu_fwspec_free(struct device *dev) { (void)dev; linuxpt_fwspec_live = 0; }
#define iommu_fwspec_add_ids linuxpt_tegra_fwspec_add_ids
static inline int linuxpt_tegra_fwspec_add_ids(struct device *dev, const u32 *ids, int num)
{
	(void)dev;
	for (int i = 0; i < num && linuxpt_fwspec.num_ids < 8; i++)
		linuxpt_fwspec.ids[linuxpt_fwspec.num_ids++] = ids[i];
	return 0;
}
/* the domain the glue's master is attached to (the core's group->domain) */
static struct iommu_domain *linuxpt_dev_domain;
static inline struct iommu_domain *iommu_get_domain_for_dev(struct device *dev)
{
	(void)dev;
	return linuxpt_dev_domain;
}
static inline int of_parse_phandle_with_args(const struct device_node *np, const char *list,
					     const char *cells, int index, struct of_phandle_args *out)
{
	(void)np; (void)list; (void)cells; (void)index; (void)out;
	return -ENOENT; /* the glue's master has no "iommus" property: of_xlate configured it */
}
static inline bool dev_is_pci(const struct device *dev) { (void)dev; return false; }
static inline struct iommu_group *pci_device_group(struct device *dev)
{
	(void)dev;
	linuxpt_unreachable("pci_device_group");
}
static inline void iommu_group_set_iommudata(struct iommu_group *g, void *data, void (*release)(void *))
{
	(void)g; (void)data; (void)release;
}
static inline int iommu_group_set_name(struct iommu_group *g, const char *name)
{
	(void)g; (void)name;
	return 0;
}
static inline void devm_kfree(struct device *dev, const void *p) { (void)dev; kfree(p); }
static inline bool gfpflags_allow_blocking(gfp_t gfp) { (void)gfp; return true; }
static inline void dma_sync_single_range_for_device(struct device *d, dma_addr_t a, unsigned long off,
						    size_t s, enum dma_data_direction r)
{
	dma_sync_single_for_device(d, a + off, s, r);
}

/* ---- pages and their DMA mappings (physical == virtual in the table arena) ------- */
#ifndef __GFP_ATOMIC
#define __GFP_ATOMIC 0x10000000u /* v6.1: never in the gfp linuxpt's core passes */
#endif
#ifndef BIT_MASK
#define BIT_MASK(nr) (1UL << ((nr) % 64))
#endif
#ifndef alloc_page
#define alloc_page(gfp) alloc_pages((gfp), 0)
#endif
#ifndef __free_page
#define __free_page(p) __free_pages((p), 0)
#endif
static inline dma_addr_t dma_map_page(struct device *d, struct page *p, unsigned long off, size_t s,
				      enum dma_data_direction r)
{
	return dma_map_single(d, (char *)page_address(p) + off, s, r);
}
static inline void dma_unmap_page(struct device *d, dma_addr_t a, size_t s, enum dma_data_direction r)
{
	(void)d; (void)a; (void)s; (void)r;
}

#endif
