/*
 * linuxpt kernel shim, platform-driver side: our own stand-ins for what an
 * IOMMU platform driver whose page table lives in the driver itself
 * (drivers/iommu/rockchip-iommu.c, exynos-iommu.c, sun50i-iommu.c, sprd-iommu.c) uses around its table
 * code: platform devices and resources, clocks, runtime PM, IRQ requests,
 * device links, OF matching, MMIO accessors, polling helpers.  Written for
 * iommu-spec; no kernel source is copied here.
 *
 * linuxpt compiles such a driver whole and runs its probe, attach, map,
 * unmap, iova_to_phys and free paths (its glue: shim/glue_rockchip.c, ...).
 * The rest only has to compile.  What the glue drives behaves as on a
 * board where every clock is on and the IOMMU is powered and in use:
 *   - clocks: every clk_* call succeeds and does nothing;
 *   - runtime PM: pm_runtime_get_if_in_use() is 1 (in use), pm_runtime_active()
 *     true, the rest succeed;
 *   - IRQs: requests succeed; none is ever raised (no faults);
 *   - OF: of_find_matching_node() searches the glue's nodes (linuxpt_dt_nodes),
 *     of_device_get_match_data() is what the glue put in the device;
 *   - readl/writel: through the glue's register model (linuxpt_mmio_*);
 *   - polls (readx_poll_timeout, ...): re-read up to LINUXPT_POLL_TRIES
 *     times, with no sleeping; a condition still false is -ETIMEDOUT.
 * Functions no path the glue runs can reach abort with a message.
 */
#ifndef LINUXPT_KSHIM_DRV_H
#define LINUXPT_KSHIM_DRV_H

#include <linuxpt/kshim.h>
#include <linuxpt/kshim_amd.h> /* struct iommu_device, irqreturn_t, IS_ALIGNED, ... */

struct iommu_domain;
struct iommu_ops;

#define ENOSYS 38
#define ETIMEDOUT 110
typedef unsigned long uintptr_t;
#define EPROBE_DEFER 517

#define __ro_after_init
#define __refdata
#define core_initcall(fn)
#define arch_initcall(fn)
#define device_initcall(fn)
#define panic(fmt, ...) linuxpt_bug(__FILE__, __LINE__, "panic: " fmt)
/* little-endian host, like every arm64/x86-64 board these drivers run on */
#define cpu_to_le32(x) ((u32)(x))
#define le32_to_cpu(x) ((u32)(x))
#define memset(p, c, n) __builtin_memset((p), (c), (n))
#define memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define __exit
#define __devinit

/* ---- error pointers ----------------------------------------------------- */
#define MAX_ERRNO 4095
static inline void *ERR_PTR(long error) { return (void *)error; }
static inline long PTR_ERR(const void *ptr) { return (long)ptr; }
static inline bool IS_ERR(const void *ptr) { return (unsigned long)ptr >= (unsigned long)-MAX_ERRNO; }
static inline bool IS_ERR_OR_NULL(const void *ptr) { return !ptr || IS_ERR(ptr); }
static inline void *ERR_CAST(const void *ptr) { return (void *)ptr; }

/* ---- unreachable: the glue never drives these paths ---------------------- */
#define linuxpt_unreachable(what) linuxpt_bug(__FILE__, __LINE__, what " is not offered by the linuxpt shim")

/* ---- lists: the rest of <linux/list.h> these drivers use ------------------ */
static inline void list_del_init(struct list_head *e)
{
	list_del(e);
	INIT_LIST_HEAD(e);
}
static inline void list_add(struct list_head *e, struct list_head *h)
{
	e->next = h->next;
	e->prev = h;
	h->next->prev = e;
	h->next = e;
}
#define list_for_each(pos, h) for (pos = (h)->next; pos != (h); pos = pos->next)
#define list_first_entry_or_null(h, type, member) \
	(list_empty(h) ? NULL : list_first_entry(h, type, member))

/* ---- locks ---------------------------------------------------------------- */
#define assert_spin_locked(l) do { (void)(l); } while (0)
#define spin_lock_irq(l) do { (void)(l); } while (0)
#define spin_unlock_irq(l) do { (void)(l); } while (0)
#define DEFINE_SPINLOCK(x) spinlock_t x

/* ---- memory ------------------------------------------------------------- */
static inline void *kcalloc(size_t n, size_t size, gfp_t gfp) { return kzalloc(n * size, gfp); }
#define devm_kzalloc(dev, size, gfp) ((void)(dev), kzalloc((size), (gfp)))
#define devm_kcalloc(dev, n, size, gfp) ((void)(dev), kcalloc((n), (size), (gfp)))
#define devm_kmalloc(dev, size, gfp) ((void)(dev), kmalloc((size), (gfp)))
#define kmemleak_alloc(p, s, c, g) do { } while (0)

/* ---- MMIO: the glue's register model -------------------------------------- */
static inline u32 readl(const volatile void *addr) { return linuxpt_mmio_read32(addr); }
static inline void writel(u32 value, volatile void *addr) { linuxpt_mmio_write32(value, addr); }
#define readl_relaxed(a) readl(a)
#define writel_relaxed(v, a) writel((v), (a))
static inline u16 readw(const volatile void *addr) { linuxpt_unreachable("readw"); }
static inline void writew(u16 value, volatile void *addr) { (void)value; linuxpt_unreachable("writew"); }

/* <linux/iopoll.h>: re-read until the condition holds, without sleeping */
#define LINUXPT_POLL_TRIES 100
#define readx_poll_timeout(op, addr, val, cond, sleep_us, timeout_us) ({ \
	int _tries = 0; \
	for (;;) { \
		(val) = op(addr); \
		if (cond) \
			break; \
		if (++_tries >= LINUXPT_POLL_TRIES) { \
			(val) = op(addr); \
			break; \
		} \
	} \
	(cond) ? 0 : -ETIMEDOUT; })
#define readx_poll_timeout_atomic(op, addr, val, cond, delay_us, timeout_us) \
	readx_poll_timeout(op, addr, val, cond, delay_us, timeout_us)
#define readl_poll_timeout(addr, val, cond, sleep_us, timeout_us) \
	readx_poll_timeout(readl, addr, val, cond, sleep_us, timeout_us)
#define readl_poll_timeout_atomic(addr, val, cond, delay_us, timeout_us) \
	readx_poll_timeout(readl, addr, val, cond, delay_us, timeout_us)
static inline void udelay(unsigned long us) { (void)us; }
static inline void ndelay(unsigned long ns) { (void)ns; }
static inline void usleep_range(unsigned long lo, unsigned long hi) { (void)lo; (void)hi; }
static inline void msleep(unsigned int ms) { (void)ms; }

/* ---- resources, OF, platform devices ---------------------------------------- */
#define IORESOURCE_MEM 0x00000200
#define IORESOURCE_IRQ 0x00000400
struct resource {
	u64 start, end;
	const char *name;
	unsigned long flags;
};

struct fwnode_handle { int unused; };
struct device_node {
	struct fwnode_handle fwnode; /* tegra-smmu (6.1) hands it to iommu_fwspec_init */
	const char *name;
	const char *compatible;
	struct platform_device *linuxpt_pdev; /* of_find_device_by_node */
};
/* The glue's device tree: the nodes of_find_matching_node() finds (one list per glue file). */
static struct device_node *linuxpt_dt_nodes[4];
#define MAX_PHANDLE_ARGS 16
struct of_phandle_args {
	struct device_node *np;
	int args_count;
	u32 args[MAX_PHANDLE_ARGS];
};
struct of_device_id {
	char name[32];
	char type[32];
	char compatible[128];
	const void *data;
};
#define MODULE_DEVICE_TABLE(type, name)
static inline const void *of_device_get_match_data(const struct device *dev)
{
	return dev->linuxpt_match_data;
}
static inline struct device_node *of_find_matching_node(struct device_node *from,
							 const struct of_device_id *matches)
{
	(void)from;
	for (unsigned i = 0; i < ARRAY_SIZE(linuxpt_dt_nodes); i++)
		for (const struct of_device_id *m = matches; linuxpt_dt_nodes[i] && m->compatible[0]; m++)
			if (linuxpt_dt_nodes[i]->compatible &&
			    !__builtin_strcmp(linuxpt_dt_nodes[i]->compatible, m->compatible))
				return linuxpt_dt_nodes[i];
	return NULL;
}
static inline void of_node_put(struct device_node *np) { (void)np; }
static inline bool device_property_read_bool(const struct device *dev, const char *name)
{
	(void)dev;
	(void)name;
	return false;
}
static inline bool of_property_read_bool(const struct device_node *np, const char *name)
{
	(void)np;
	(void)name;
	return false;
}

struct dev_pm_ops {
	int (*prepare)(struct device *dev); /* omap-iommu.c */
	int (*suspend)(struct device *dev);
	int (*resume)(struct device *dev);
	int (*freeze)(struct device *dev);
	int (*thaw)(struct device *dev);
	int (*poweroff)(struct device *dev);
	int (*restore)(struct device *dev);
	int (*suspend_late)(struct device *dev);
	int (*resume_early)(struct device *dev);
	int (*freeze_late)(struct device *dev);
	int (*thaw_early)(struct device *dev);
	int (*poweroff_late)(struct device *dev);
	int (*restore_early)(struct device *dev);
	int (*runtime_suspend)(struct device *dev);
	int (*runtime_resume)(struct device *dev);
	int (*runtime_idle)(struct device *dev);
};
#define SET_SYSTEM_SLEEP_PM_OPS(s, r) \
	.suspend = s, .resume = r, .freeze = s, .thaw = r, .poweroff = s, .restore = r,
#define SET_LATE_SYSTEM_SLEEP_PM_OPS(s, r) \
	.suspend_late = s, .resume_early = r, .freeze_late = s, .thaw_early = r, \
	.poweroff_late = s, .restore_early = r,
#define SET_RUNTIME_PM_OPS(s, r, i) .runtime_suspend = s, .runtime_resume = r, .runtime_idle = i,
#define pm_sleep_ptr(p) (p)
#define pm_ptr(p) (p)

struct device_driver {
	const char *name;
	const struct of_device_id *of_match_table;
	const struct dev_pm_ops *pm;
	bool suppress_bind_attrs;
};
struct platform_device {
	const char *name;
	int id;
	struct device dev;
	u32 num_resources;
	struct resource *resource;
};
#define to_platform_device(d) container_of((d), struct platform_device, dev)
struct platform_driver {
	int (*probe)(struct platform_device *);
	int (*remove)(struct platform_device *);
	void (*remove_new)(struct platform_device *);
	void (*shutdown)(struct platform_device *);
	struct device_driver driver;
};
/* no initcalls: the glue calls the driver's probe itself */
#define builtin_platform_driver(drv)
#define module_platform_driver(drv)
static inline int platform_driver_register(struct platform_driver *drv) { (void)drv; return 0; }
static inline void platform_driver_unregister(struct platform_driver *drv) { (void)drv; }
static inline struct resource *platform_get_resource(struct platform_device *pdev, unsigned int type,
						     unsigned int num)
{
	for (u32 i = 0; i < pdev->num_resources; i++)
		if ((pdev->resource[i].flags & type) && !num--)
			return &pdev->resource[i];
	return NULL;
}
static inline int platform_irq_count(struct platform_device *pdev)
{
	int n = 0;

	for (u32 i = 0; i < pdev->num_resources; i++)
		n += !!(pdev->resource[i].flags & IORESOURCE_IRQ);
	return n;
}
static inline int platform_get_irq(struct platform_device *pdev, unsigned int num)
{
	struct resource *res = platform_get_resource(pdev, IORESOURCE_IRQ, num);

	return res ? (int)res->start : -ENXIO;
}
static inline void *platform_get_drvdata(const struct platform_device *pdev) { return pdev->dev.driver_data; }
static inline void platform_set_drvdata(struct platform_device *pdev, void *data) { pdev->dev.driver_data = data; }
static inline void platform_device_put(struct platform_device *pdev) { (void)pdev; }
static inline struct platform_device *of_find_device_by_node(struct device_node *np)
{
	return np ? np->linuxpt_pdev : NULL;
}
static inline void __iomem *devm_ioremap_resource(struct device *dev, const struct resource *res)
{
	(void)dev;
	return (void __iomem *)(unsigned long)res->start; /* the glue's register window */
}
static inline void __iomem *devm_platform_ioremap_resource(struct platform_device *pdev, unsigned int n)
{
	struct resource *res = platform_get_resource(pdev, IORESOURCE_MEM, n);

	return res ? devm_ioremap_resource(&pdev->dev, res) : ERR_PTR(-EINVAL);
}

/* ---- mutexes: one thread ------------------------------------------------------------ */
#define mutex_init(m) do { (void)(m); } while (0)
#define mutex_lock(m) do { (void)(m); } while (0)
#define mutex_unlock(m) do { (void)(m); } while (0)

/* ---- struct device helpers ------------------------------------------------------ */
static inline struct device *get_device(struct device *dev) { return dev; }
static inline void put_device(struct device *dev) { (void)dev; }
static inline void *dev_get_drvdata(const struct device *dev) { return dev->driver_data; }
static inline void dev_set_drvdata(struct device *dev, void *data) { dev->driver_data = data; }
static inline const char *dev_name(const struct device *dev)
{
	return dev->init_name ? dev->init_name : "linuxpt";
}
static inline void *dev_iommu_priv_get(struct device *dev) { return dev->iommu_priv; }
static inline void dev_iommu_priv_set(struct device *dev, void *priv) { dev->iommu_priv = priv; }
#define dev_dbg(dev, fmt, ...) do { if (0) linuxpt_printk(fmt, ##__VA_ARGS__); } while (0)
#define dev_warn_once(dev, fmt, ...) linuxpt_printk("dev: " fmt, ##__VA_ARGS__)
#define dev_err_probe(dev, err, fmt, ...) ({ linuxpt_printk("dev: " fmt, ##__VA_ARGS__); (err); })
static inline int dma_set_mask(struct device *dev, u64 mask) { (void)dev; (void)mask; return 0; }
static inline int dma_set_mask_and_coherent(struct device *dev, u64 mask) { (void)dev; (void)mask; return 0; }

/* device links: the supplier's runtime PM follows the consumer; nothing to track */
#define DL_FLAG_STATELESS (1U << 0)
#define DL_FLAG_AUTOREMOVE_CONSUMER (1U << 1)
#define DL_FLAG_PM_RUNTIME (1U << 2)
struct device_link { struct device *supplier, *consumer; };
static inline struct device_link *device_link_add(struct device *consumer, struct device *supplier,
						  u32 flags)
{
	struct device_link *link = (struct device_link *)kzalloc(sizeof(*link), GFP_KERNEL);

	(void)flags;
	link->supplier = supplier;
	link->consumer = consumer;
	return link;
}
static inline void device_link_del(struct device_link *link) { kfree(link); }

/* ---- clocks: always on ---------------------------------------------------------- */
struct clk { int unused; };
static struct clk linuxpt_clk; /* every clock a driver looks up */
struct clk_bulk_data {
	const char *id;
	struct clk *clk;
};
static inline int devm_clk_bulk_get(struct device *dev, int n, struct clk_bulk_data *clks)
{
	(void)dev;
	(void)n;
	(void)clks;
	return 0;
}
static inline int clk_bulk_prepare(int n, const struct clk_bulk_data *clks) { (void)n; (void)clks; return 0; }
static inline void clk_bulk_unprepare(int n, const struct clk_bulk_data *clks) { (void)n; (void)clks; }
static inline int clk_bulk_enable(int n, const struct clk_bulk_data *clks) { (void)n; (void)clks; return 0; }
static inline void clk_bulk_disable(int n, const struct clk_bulk_data *clks) { (void)n; (void)clks; }
static inline struct clk *devm_clk_get(struct device *dev, const char *id) { (void)dev; (void)id; return &linuxpt_clk; }
static inline struct clk *devm_clk_get_optional(struct device *dev, const char *id) { (void)dev; (void)id; return &linuxpt_clk; }
static inline int clk_prepare_enable(struct clk *clk) { (void)clk; return 0; }
static inline void clk_disable_unprepare(struct clk *clk) { (void)clk; }
static inline int clk_enable(struct clk *clk) { (void)clk; return 0; }
static inline void clk_disable(struct clk *clk) { (void)clk; }

/* ---- runtime PM: the IOMMU is powered and in use ------------------------------- */
static inline void pm_runtime_enable(struct device *dev) { (void)dev; }
static inline void pm_runtime_disable(struct device *dev) { (void)dev; }
static inline int pm_runtime_get_if_in_use(struct device *dev) { (void)dev; return 1; }
static inline int pm_runtime_get(struct device *dev) { (void)dev; return 0; }
static inline int pm_runtime_get_sync(struct device *dev) { (void)dev; return 0; }
static inline void pm_runtime_get_noresume(struct device *dev) { (void)dev; }
static inline int pm_runtime_put(struct device *dev) { (void)dev; return 0; }
static inline int pm_runtime_put_sync(struct device *dev) { (void)dev; return 0; }
static inline bool pm_runtime_active(struct device *dev) { (void)dev; return true; }
static inline int pm_runtime_force_suspend(struct device *dev) { (void)dev; linuxpt_unreachable("pm_runtime_force_suspend"); }
static inline int pm_runtime_force_resume(struct device *dev) { (void)dev; linuxpt_unreachable("pm_runtime_force_resume"); }

/* ---- interrupts: requests succeed; the harness never raises one (no faults) --- */
#define IRQF_SHARED 0x00000080
typedef irqreturn_t (*irq_handler_t)(int, void *);
static inline int devm_request_irq(struct device *dev, unsigned int irq, irq_handler_t handler,
				   unsigned long flags, const char *name, void *dev_id)
{
	(void)dev; (void)irq; (void)handler; (void)flags; (void)name; (void)dev_id;
	return 0;
}
static inline void devm_free_irq(struct device *dev, unsigned int irq, void *dev_id)
{
	(void)dev; (void)irq; (void)dev_id;
}

/* ---- the IOMMU core's side: registration, groups, faults ----------------------- */
struct iommu_group { int unused; };
static inline int iommu_device_sysfs_add(struct iommu_device *iommu, struct device *parent,
					 const void *groups, const char *fmt, ...)
{
	(void)iommu; (void)parent; (void)groups; (void)fmt;
	return 0;
}
static inline void iommu_device_sysfs_remove(struct iommu_device *iommu) { (void)iommu; }
static inline int iommu_device_register(struct iommu_device *iommu, const struct iommu_ops *ops,
					struct device *hwdev)
{
	iommu->ops = ops;
	iommu->dev = hwdev;
	return 0;
}
static inline void iommu_device_unregister(struct iommu_device *iommu) { (void)iommu; }
static inline struct iommu_group *iommu_group_alloc(void)
{
	return (struct iommu_group *)kzalloc(sizeof(struct iommu_group), GFP_KERNEL);
}
static inline struct iommu_group *iommu_group_ref_get(struct iommu_group *group) { return group; }
static inline struct iommu_group *iommu_group_get(struct device *dev)
{
	(void)dev;
	linuxpt_unreachable("iommu_group_get");
}
static inline struct iommu_domain *iommu_group_default_domain(struct iommu_group *group)
{
	(void)group;
	linuxpt_unreachable("iommu_group_default_domain");
}
static inline void iommu_group_put(struct iommu_group *group) { (void)group; }
static inline struct iommu_group *generic_device_group(struct device *dev)
{
	(void)dev;
	linuxpt_unreachable("generic_device_group");
}
static inline struct iommu_group *generic_single_device_group(struct device *dev)
{
	(void)dev;
	linuxpt_unreachable("generic_single_device_group");
}
#define IOMMU_FAULT_READ 0x0
#define IOMMU_FAULT_WRITE 0x1
static inline int report_iommu_fault(struct iommu_domain *domain, struct device *dev,
				     unsigned long iova, int flags)
{
	(void)domain; (void)dev; (void)iova; (void)flags;
	linuxpt_unreachable("report_iommu_fault");
}

/* ---- what sun50i-iommu.c uses besides -------------------------------------------- */
typedef unsigned long long uint64_t;
#define MODULE_DESCRIPTION(s)
#define MODULE_AUTHOR(s)
#define MODULE_LICENSE(s)
/* registered with the probe function, which the glue calls itself */
#define builtin_platform_driver_probe(drv, probe)

/* refcount_t: a plain counter (one thread); dec_and_test is true when it reaches 0 */
typedef struct { int refs; } refcount_t;
static inline void refcount_set(refcount_t *r, int n) { r->refs = n; }
static inline unsigned int refcount_read(const refcount_t *r) { return (unsigned int)r->refs; }
static inline void refcount_inc(refcount_t *r) { r->refs++; }
static inline bool refcount_dec_and_test(refcount_t *r) { return --r->refs == 0; }

/* reset lines: deasserted and asserted at once, like the clocks */
struct reset_control { int unused; };
static struct reset_control linuxpt_reset;
static inline struct reset_control *devm_reset_control_get(struct device *dev, const char *id)
{
	(void)dev;
	(void)id;
	return &linuxpt_reset;
}
static inline int reset_control_deassert(struct reset_control *r) { (void)r; return 0; }
static inline int reset_control_assert(struct reset_control *r) { (void)r; return 0; }

/* ---- what sprd-iommu.c uses besides ---------------------------------------------- */
#define THIS_MODULE ((struct module *)0)
#define MODULE_ALIAS(s)

/*
 * dma_alloc_coherent / dma_free_coherent for the IOMMU device a driver
 * format's glue creates (linuxpt_dma_direct): zeroed pages from the table
 * arena (counted as table pages, subject to fail_alloc), the bus address the
 * physical one.  sprd-iommu.c allocates its flat page table this way.
 */
static inline void *dma_alloc_coherent(struct device *dev, size_t size, dma_addr_t *handle, gfp_t gfp)
{
	void *p;

	linuxpt_dma_check(dev, "dma_alloc_coherent() for a device without a direct DMA mapping");
	p = page_address(alloc_pages(gfp | __GFP_ZERO, get_order(size)));
	if (p)
		*handle = virt_to_phys(p);
	return p;
}
static inline void dma_free_coherent(struct device *dev, size_t size, void *cpu_addr, dma_addr_t handle)
{
	(void)handle;
	linuxpt_dma_check(dev, "dma_free_coherent() for a device without a direct DMA mapping");
	if (cpu_addr)
		__free_pages(virt_to_page(cpu_addr), get_order(size));
}

/* the master's fwspec IDs: nothing reads them back */
static inline int iommu_fwspec_add_ids(struct device *dev, const u32 *ids, int num)
{
	(void)dev;
	(void)ids;
	(void)num;
	return 0;
}

#endif
