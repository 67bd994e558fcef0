/*
 * linuxpt runtime interface: what runtime.c (built against the C library)
 * offers the kernel translation units (built against the shim, -nostdinc).
 * Plain C types only, so both sides can include it.
 */
#ifndef LINUXPT_RT_H
#define LINUXPT_RT_H

enum linuxpt_kind { LINUXPT_KIND_PAGES = 1, LINUXPT_KIND_SLAB = 2 };

/*
 * Page-table memory from the low arena (physical == virtual, below 4 GiB).
 * Each allocation counts toward fail_alloc and the live table count.
 * linuxpt_table_free aborts on a double free, an unknown pointer, or a size
 * or kind that differs from the allocation's.
 */
void *linuxpt_table_alloc(unsigned long size, unsigned long align, int zero, int kind);
void linuxpt_table_free(void *p, unsigned long size, int kind);
/*
 * A table allocation that belongs to the driver, not to a domain (exynos's
 * zero_lv2_table, made once at init): it leaves the live count that
 * domain_free reports.  Freeing it later aborts.
 */
void linuxpt_table_keep(void *p);
/*
 * From now on no table block starts at a multiple of align (vtd: 2M, so that
 * a 2M or 1G page's output address is never a table's, and the glue's check
 * of a walk into a leaf's output address cannot be fooled).  Blocks skipped
 * are set aside for good: not counted, never handed out, no fail_alloc step.
 */
void linuxpt_table_avoid(unsigned long align);
/* Is p the start of a live table allocation?  (vtd's checked phys_to_virt) */
int linuxpt_table_is_live(const void *p);

/* Bookkeeping memory (kmalloc): from the C library, not counted. */
void *linuxpt_malloc(unsigned long size, int zero);
void linuxpt_free(void *p);

int linuxpt_printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void linuxpt_warn(const char *file, int line, const char *cond, int repeated);
void linuxpt_bug(const char *file, int line, const char *what) __attribute__((noreturn));

/*
 * MMIO (driver formats): a register window whose registers a driver glue
 * models.  readl/writel (kshim_drv.h) on an address inside a window call the
 * window's read/write with the offset; any other address is a harness bug
 * and aborts.  The window's addresses are reserved and inaccessible, so a
 * plain load or store through them faults instead of reading memory.
 */
struct linuxpt_mmio_ops {
	unsigned (*read)(void *ctx, unsigned long offset);
	void (*write)(void *ctx, unsigned long offset, unsigned value);
};
void *linuxpt_mmio_window(unsigned long size, const struct linuxpt_mmio_ops *ops, void *ctx);
unsigned linuxpt_mmio_read32(const volatile void *addr);
void linuxpt_mmio_write32(unsigned value, volatile void *addr);

/* TLB commands for the current reply */
void linuxpt_tlb_range(unsigned long long iova, unsigned long long size);
void linuxpt_tlb_all(void);

#endif
