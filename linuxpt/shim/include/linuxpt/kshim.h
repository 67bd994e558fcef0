/*
 * linuxpt kernel shim: our own minimal userspace stand-ins for the kernel
 * APIs that drivers/iommu/io-pgtable{,-arm,-arm-v7s,-dart}.c and
 * drivers/iommu/iommu-pages.h use.  Written for iommu-spec; no kernel source
 * is copied here.  Every <linux/...> header of the shim includes this file.
 *
 * Kernel translation units are compiled with -nostdinc -ffreestanding: this
 * header defines every type and macro they need itself, and declares the few
 * runtime services (table memory, printing, warnings) that linuxpt's
 * runtime.c implements on top of the C library.
 */
#ifndef LINUXPT_KSHIM_H
#define LINUXPT_KSHIM_H

#include <linuxpt/kconfig.h>
#include <linuxpt/rt.h>

/* ---- compiler ---------------------------------------------------------- */
#define __always_inline inline __attribute__((always_inline))
#define noinline __attribute__((noinline))
#define __noipa __attribute__((noipa))
#define __init
#define __initdata
#define __initconst
#define __iomem
#define __must_check
#define __maybe_unused __attribute__((unused))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define barrier() __asm__ __volatile__("" ::: "memory")
#define NULL ((void *)0)

/* ---- types --------------------------------------------------------------- */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;
typedef __SIZE_TYPE__ size_t;
typedef long ssize_t;
typedef _Bool bool;
#define true 1
#define false 0
typedef u64 phys_addr_t; /* CONFIG_PHYS_ADDR_T_64BIT */
typedef u64 dma_addr_t;
typedef unsigned int gfp_t;
typedef unsigned int slab_flags_t;
typedef struct { int counter; } atomic_t;
typedef struct { long counter; } atomic_long_t;
typedef struct { int unused; } spinlock_t;

#define ULONG_MAX (~0UL)
#define LONG_MAX ((long)(~0UL >> 1))
#define UINT_MAX (~0U)
#define INT_MAX ((int)(~0U >> 1))
#define BITS_PER_LONG 64

/* ---- errno (Linux numbering) ------------------------------------------ */
#define ENOENT 2
#define ENXIO 6
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define ERANGE 34
#define EOVERFLOW 75
#define EADDRINUSE 98

/* ---- generic helpers ---------------------------------------------------- */
#define offsetof(t, m) __builtin_offsetof(t, m)
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
/* min/max compare in the arguments' own types; min_t/max_t cast both to T first. */
#define min(a, b) ({ __auto_type _a = (a); __auto_type _b = (b); _a < _b ? _a : _b; })
#define max(a, b) ({ __auto_type _a = (a); __auto_type _b = (b); _a > _b ? _a : _b; })
#define min_t(T, a, b) ({ T _a = (T)(a); T _b = (T)(b); _a < _b ? _a : _b; })
#define max_t(T, a, b) ({ T _a = (T)(a); T _b = (T)(b); _a > _b ? _a : _b; })
#define upper_32_bits(n) ((u32)(((u64)(n)) >> 32))
#define lower_32_bits(n) ((u32)((n) & 0xffffffffu))

/* IS_ENABLED(CONFIG_X): 1 when CONFIG_X is defined to 1 (our own spelling of the usual trick) */
#define LINUXPT_ONE_1 0,
#define linuxpt_second(a, b, ...) b
#define linuxpt_defined3(junk) linuxpt_second(junk 1, 0, 0)
#define linuxpt_defined2(v) linuxpt_defined3(LINUXPT_ONE_##v)
#define IS_ENABLED(opt) linuxpt_defined2(opt)

/* ---- bits ----------------------------------------------------------------- */
#define BIT(n) (1UL << (n))
#define BIT_ULL(n) (1ULL << (n))
#define GENMASK(h, l) (((~0UL) >> (63 - (h))) & ((~0UL) << (l)))
#define GENMASK_ULL(h, l) (((~0ULL) >> (63 - (h))) & ((~0ULL) << (l)))
#define BITS_TO_LONGS(n) DIV_ROUND_UP(n, BITS_PER_LONG)
#define __ffs(x) ((unsigned long)__builtin_ctzl((unsigned long)(x)))
#define __fls(x) ((unsigned long)(63 - __builtin_clzl((unsigned long)(x))))
static inline int fls(unsigned int x) { return x ? 32 - __builtin_clz(x) : 0; }
static inline int fls64(u64 x) { return x ? 64 - __builtin_clzll(x) : 0; }
#define ilog2(n) ((int)(63 - __builtin_clzll((u64)(n))))
/* FIELD_PREP/FIELD_GET: the field is the mask's run of ones */
#define FIELD_PREP(mask, val) \
	((((typeof(mask))(val)) << __builtin_ctzll(mask)) & (mask))
#define FIELD_GET(mask, reg) \
	((typeof(mask))(((reg) & (mask)) >> __builtin_ctzll(mask)))
static inline void set_bit(long nr, volatile unsigned long *addr)
{
	__atomic_fetch_or(&addr[nr / BITS_PER_LONG], 1UL << (nr % BITS_PER_LONG), __ATOMIC_RELAXED);
}
static inline int test_bit(long nr, const volatile unsigned long *addr)
{
	return (addr[nr / BITS_PER_LONG] >> (nr % BITS_PER_LONG)) & 1;
}
#define for_each_set_bit(bit, addr, size) \
	for ((bit) = 0; (bit) < (size); (bit)++) if (test_bit((bit), (addr)))

/* ---- sizes ------------------------------------------------------------- */
#define SZ_1K 0x00000400
#define SZ_4K 0x00001000
#define SZ_8K 0x00002000
#define SZ_16K 0x00004000
#define SZ_64K 0x00010000
#define SZ_512K 0x00080000
#define SZ_1M 0x00100000
#define SZ_2M 0x00200000
#define SZ_16M 0x01000000
#define SZ_32M 0x02000000
#define SZ_256M 0x10000000
#define SZ_512M 0x20000000
#define SZ_1G 0x40000000
#define SZ_2G 0x80000000UL
#define SZ_4G 0x100000000ULL
#define SZ_512G 0x8000000000ULL

/* ---- pages: 4K, as on a default arm64 or x86-64 kernel ------------------ */
#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
static inline int get_order(unsigned long size)
{
	int order = 0;

	size = (size - 1) >> PAGE_SHIFT;
	while (size) {
		order++;
		size >>= 1;
	}
	return order;
}

/* ---- once/atomics/barriers -------------------------------------------- */
#define READ_ONCE(x) (*(const volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, v) do { *(volatile typeof(x) *)&(x) = (v); } while (0)
#define linuxpt_cmpxchg(ptr, old, new) ({ \
	typeof(*(ptr)) _old = (old); \
	__atomic_compare_exchange_n((ptr), &_old, (new), 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED); \
	_old; })
#define cmpxchg(p, o, n) linuxpt_cmpxchg(p, o, n)
#define cmpxchg_relaxed(p, o, n) linuxpt_cmpxchg(p, o, n)
#define cmpxchg64(p, o, n) linuxpt_cmpxchg(p, o, n)
#define cmpxchg64_relaxed(p, o, n) linuxpt_cmpxchg(p, o, n)
#define cmpxchg64_release(p, o, n) linuxpt_cmpxchg(p, o, n)
#define mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define wmb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define rmb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define dma_wmb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define dma_rmb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_mb() mb()
#define smp_wmb() wmb()
#define atomic_long_read(v) READ_ONCE((v)->counter)
#define atomic_long_set(v, i) WRITE_ONCE((v)->counter, (i))

/* ---- locks: one thread, nothing to lock --------------------------------- */
#define spin_lock_init(l) do { (void)(l); } while (0)
#define spin_lock(l) do { (void)(l); } while (0)
#define spin_unlock(l) do { (void)(l); } while (0)
#define spin_lock_irqsave(l, f) do { (void)(l); (f) = 0; } while (0)
#define spin_unlock_irqrestore(l, f) do { (void)(l); (void)(f); } while (0)

/* ---- printing, warnings, bugs ------------------------------------------ */
#ifndef pr_fmt
#define pr_fmt(fmt) fmt
#endif
#define KERN_ERR ""
#define KERN_WARNING ""
#define KERN_INFO ""
#define printk(fmt, ...) linuxpt_printk(fmt, ##__VA_ARGS__)
#define pr_err(fmt, ...) linuxpt_printk(pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn(fmt, ...) linuxpt_printk(pr_fmt(fmt), ##__VA_ARGS__)
#define pr_info(fmt, ...) linuxpt_printk(pr_fmt(fmt), ##__VA_ARGS__)
#define pr_debug(fmt, ...) do { if (0) linuxpt_printk(fmt, ##__VA_ARGS__); } while (0)
#define dev_err(dev, fmt, ...) linuxpt_printk("dev: " fmt, ##__VA_ARGS__)
#define dev_warn(dev, fmt, ...) linuxpt_printk("dev: " fmt, ##__VA_ARGS__)
#define dev_info(dev, fmt, ...) linuxpt_printk("dev: " fmt, ##__VA_ARGS__)

/*
 * WARN_ON/WARN/WARN_ONCE: print "WARNING: <file>:<line> <cond>" on stderr,
 * count it, and evaluate to the condition.  Never abort (a kernel WARN
 * continues too).
 */
#define WARN_ON(cond) ({ \
	int _w = !!(cond); \
	if (unlikely(_w)) linuxpt_warn(__FILE__, __LINE__, #cond, 0); \
	unlikely(_w); })
#define WARN(cond, fmt, ...) ({ \
	int _w = !!(cond); \
	if (unlikely(_w)) { linuxpt_warn(__FILE__, __LINE__, #cond, 0); linuxpt_printk(fmt, ##__VA_ARGS__); } \
	unlikely(_w); })
#define WARN_ON_ONCE(cond) ({ \
	static bool _once; int _w = !!(cond); \
	if (unlikely(_w)) linuxpt_warn(__FILE__, __LINE__, #cond, _once), _once = true; \
	unlikely(_w); })
#define WARN_ONCE(cond, fmt, ...) ({ \
	static bool _once; int _w = !!(cond); \
	if (unlikely(_w)) { linuxpt_warn(__FILE__, __LINE__, #cond, _once); \
		if (!_once) linuxpt_printk(fmt, ##__VA_ARGS__); _once = true; } \
	unlikely(_w); })
#define BUG() linuxpt_bug(__FILE__, __LINE__, "BUG()")
#define BUG_ON(cond) do { if (unlikely(cond)) linuxpt_bug(__FILE__, __LINE__, #cond); } while (0)
/* CONFIG_DEBUG_VM is off: VM_BUG_ON only type-checks its condition */
#define VM_BUG_ON(cond) do { if (0) (void)(cond); } while (0)
#define BUILD_BUG_ON(cond) _Static_assert(!(cond), #cond)

/* ---- modules/initcalls: nothing to register ------------------------------ */
#define EXPORT_SYMBOL(s)
#define EXPORT_SYMBOL_GPL(s)
#define subsys_initcall(fn)
#define module_init(fn)

/* ---- lists (iommu-pages.h's iommu_put_pages_list, the AMD free lists) ------- */
struct list_head { struct list_head *next, *prev; };
#define LIST_HEAD_INIT(name) { &(name), &(name) }
#define LIST_HEAD(name) struct list_head name = LIST_HEAD_INIT(name)
static inline void INIT_LIST_HEAD(struct list_head *h) { h->next = h; h->prev = h; }
static inline int list_empty(const struct list_head *h) { return h->next == h; }
static inline void list_del(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
}
static inline void list_add_tail(struct list_head *e, struct list_head *h)
{
	e->prev = h->prev;
	e->next = h;
	h->prev->next = e;
	h->prev = e;
}
#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(h, type, member) list_entry((h)->next, type, member)
#define list_for_each_entry(pos, h, member) \
	for (pos = list_entry((h)->next, typeof(*pos), member); &pos->member != (h); \
	     pos = list_entry(pos->member.next, typeof(*pos), member))
#define list_for_each_entry_safe(pos, n, h, member) \
	for (pos = list_entry((h)->next, typeof(*pos), member), \
	     n = list_entry(pos->member.next, typeof(*pos), member); &pos->member != (h); \
	     pos = n, n = list_entry(n->member.next, typeof(*n), member))

/* ---- devices ------------------------------------------------------------ */
/*
 * linuxpt_dma_direct: the device's DMA API is the identity (see below); set
 * only on the IOMMU device a driver format's glue creates.  The driver
 * formats' glue (kshim_drv.h) also uses drvdata, iommu_priv and of_node.
 */
struct device_node;
struct dev_iommu;
struct device {
	int numa_node;
	int linuxpt_dma_direct;
	void *driver_data;
	void *iommu_priv;
	struct device_node *of_node;
	const void *linuxpt_match_data; /* of_device_get_match_data */
	const char *init_name;
	struct dev_iommu *iommu; /* the core's per-device data (s390: shadow_on_flush) */
	void *pm_domain; /* omap-iommu.c's probe clears it (none here) */
};
#define NUMA_NO_NODE (-1)
static inline int dev_to_node(struct device *dev) { return dev ? dev->numa_node : NUMA_NO_NODE; }
static inline void set_dev_node(struct device *dev, int node) { dev->numa_node = node; }

/* ---- gfp ------------------------------------------------------------------ */
#define __GFP_DMA 0x01u
#define __GFP_HIGHMEM 0x02u
#define __GFP_DMA32 0x04u
#define __GFP_ZERO 0x100u
#define __GFP_NOWARN 0x200u
#define GFP_ATOMIC 0x1000u
#define GFP_KERNEL 0x2000u
#define GFP_NOWAIT 0x4000u
#define GFP_DMA __GFP_DMA
#define GFP_DMA32 __GFP_DMA32

/*
 * Memory.  Page-table memory (pages, kmem_cache objects) comes from
 * linuxpt's low arena, where physical == virtual, so __pa/__va and
 * virt_to_phys/phys_to_virt are the identity.  A struct page * is the
 * address of its page (page_address/virt_to_page are casts).
 */
struct page { struct list_head lru; };
#define __pa(x) ((phys_addr_t)(unsigned long)(x))
#define __va(x) ((void *)(unsigned long)(x))
static inline phys_addr_t virt_to_phys(const volatile void *x) { return (phys_addr_t)(unsigned long)x; }
static inline void *phys_to_virt(phys_addr_t x) { return (void *)(unsigned long)x; }
static inline void *page_address(const struct page *p) { return (void *)p; }
static inline struct page *virt_to_page(const void *v) { return (struct page *)v; }
#define pfn_to_page(pfn) ((struct page *)((unsigned long)(pfn) << PAGE_SHIFT))
#define page_to_pfn(p) ((unsigned long)(p) >> PAGE_SHIFT)

static inline struct page *alloc_pages(gfp_t gfp, unsigned int order)
{
	return (struct page *)linuxpt_table_alloc(PAGE_SIZE << order, PAGE_SIZE << order,
						  !!(gfp & __GFP_ZERO), LINUXPT_KIND_PAGES);
}
static inline struct page *alloc_pages_node(int nid, gfp_t gfp, unsigned int order)
{
	(void)nid;
	return alloc_pages(gfp, order);
}
static inline unsigned long __get_free_pages(gfp_t gfp, unsigned int order)
{
	return (unsigned long)alloc_pages(gfp, order);
}
static inline void __free_pages(struct page *p, unsigned int order)
{
	linuxpt_table_free(p, PAGE_SIZE << order, LINUXPT_KIND_PAGES);
}
static inline void free_pages(unsigned long addr, unsigned int order)
{
	if (addr)
		linuxpt_table_free((void *)addr, PAGE_SIZE << order, LINUXPT_KIND_PAGES);
}
/* put_page: the last reference to an order-0 table page (iommu_put_pages_list) */
static inline void put_page(struct page *p)
{
	linuxpt_table_free(p, PAGE_SIZE, LINUXPT_KIND_PAGES);
}
static inline unsigned long get_zeroed_page(gfp_t gfp) { return __get_free_pages(gfp | __GFP_ZERO, 0); }
static inline void free_page(unsigned long addr) { free_pages(addr, 0); }
/* mm/swap.c put_pages_list (6.1's AMD io_pgtable.c): put every page on the list */
static inline void put_pages_list(struct list_head *pages)
{
	while (!list_empty(pages)) {
		struct page *p = list_entry(pages->next, struct page, lru);

		list_del(&p->lru);
		put_page(p);
	}
	INIT_LIST_HEAD(pages);
}

/* vmstat accounting (iommu-pages.h): nothing to account in userspace */
enum node_stat_item { NR_IOMMU_PAGES, NR_SECONDARY_PAGETABLE };
struct pglist_data;
static inline struct pglist_data *page_pgdat(const struct page *p) { (void)p; return 0; }
static inline void mod_node_page_state(struct pglist_data *pg, enum node_stat_item i, long d)
{ (void)pg; (void)i; (void)d; }
static inline void mod_lruvec_page_state(struct page *p, enum node_stat_item i, int d)
{ (void)p; (void)i; (void)d; }

/* kmalloc: driver bookkeeping, not table memory (not counted) */
static inline void *kmalloc(size_t size, gfp_t gfp) { (void)gfp; return linuxpt_malloc(size, 0); }
static inline void *kzalloc(size_t size, gfp_t gfp) { (void)gfp; return linuxpt_malloc(size, 1); }
static inline void kfree(const void *p) { linuxpt_free((void *)p); }

/* kmem_cache: objects are table memory, aligned as the cache asks */
#define SLAB_HWCACHE_ALIGN 0x1u
#define SLAB_PANIC 0x2u
#define SLAB_CACHE_DMA 0x4u
#define SLAB_CACHE_DMA32 0x8u
struct kmem_cache { size_t size, align; long live; const char *name; };
static inline struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
						   unsigned int align, slab_flags_t flags,
						   void (*ctor)(void *))
{
	struct kmem_cache *c = (struct kmem_cache *)linuxpt_malloc(sizeof(*c), 1);

	(void)flags;
	(void)ctor; /* v7s passes none */
	if (!c)
		return c;
	c->size = size;
	c->align = align ? align : 8;
	c->name = name;
	return c;
}
static inline void *kmem_cache_alloc(struct kmem_cache *c, gfp_t gfp)
{
	void *p = linuxpt_table_alloc(c->size, c->align, !!(gfp & __GFP_ZERO), LINUXPT_KIND_SLAB);

	if (p)
		c->live++;
	return p;
}
static inline void *kmem_cache_zalloc(struct kmem_cache *c, gfp_t gfp)
{
	return kmem_cache_alloc(c, gfp | __GFP_ZERO);
}
static inline void kmem_cache_free(struct kmem_cache *c, void *p)
{
	linuxpt_table_free(p, c->size, LINUXPT_KIND_SLAB);
	c->live--;
}
static inline void kmem_cache_destroy(struct kmem_cache *c)
{
	if (!c)
		return;
	/* mm/slab_common.c complains the same way about a cache with live objects */
	WARN(c->live, "kmem_cache_destroy %s: Slab cache still has objects\n", c->name);
	linuxpt_free(c);
}
static inline void kmemleak_ignore(const void *p) { (void)p; }

/*
 * DMA API.  io-pgtable: linuxpt always sets cfg.coherent_walk, so these are
 * never reached for cfg.iommu_dev: they abort there (a harness bug).  The
 * driver formats (rockchip, exynos) map their tables through the DMA API of
 * the IOMMU device their glue creates, marked linuxpt_dma_direct: for it the
 * mapping is the identity (physical == virtual == bus address, tables below
 * 4 GiB), never fails, and the syncs have nothing to do (one coherent CPU).
 */
enum dma_data_direction { DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_NONE };
#define DMA_BIT_MASK(n) (((n) == 64) ? ~0ULL : ((1ULL << (n)) - 1))
static inline void linuxpt_dma_check(struct device *d, const char *what)
{
	if (!d || !d->linuxpt_dma_direct)
		linuxpt_bug(__FILE__, __LINE__, what);
}
static inline dma_addr_t dma_map_single(struct device *d, void *p, size_t s, enum dma_data_direction r)
{ (void)s; (void)r; linuxpt_dma_check(d, "dma_map_single() with coherent_walk"); return virt_to_phys(p); }
static inline void dma_unmap_single(struct device *d, dma_addr_t a, size_t s, enum dma_data_direction r)
{ (void)a; (void)s; (void)r; linuxpt_dma_check(d, "dma_unmap_single() with coherent_walk"); }
static inline int dma_mapping_error(struct device *d, dma_addr_t a)
{ (void)a; linuxpt_dma_check(d, "dma_mapping_error() with coherent_walk"); return 0; }
static inline void dma_sync_single_for_device(struct device *d, dma_addr_t a, size_t s, enum dma_data_direction r)
{ (void)a; (void)s; (void)r; linuxpt_dma_check(d, "dma_sync_single_for_device() with coherent_walk"); }
static inline void dma_sync_single_for_cpu(struct device *d, dma_addr_t a, size_t s, enum dma_data_direction r)
{ (void)a; (void)s; (void)r; linuxpt_dma_check(d, "dma_sync_single_for_cpu() with coherent_walk"); }

#endif /* LINUXPT_KSHIM_H */
