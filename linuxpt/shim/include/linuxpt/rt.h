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

/* Bookkeeping memory (kmalloc): from the C library, not counted. */
void *linuxpt_malloc(unsigned long size, int zero);
void linuxpt_free(void *p);

int linuxpt_printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void linuxpt_warn(const char *file, int line, const char *cond, int repeated);
void linuxpt_bug(const char *file, int line, const char *what) __attribute__((noreturn));

/* TLB commands for the current reply */
void linuxpt_tlb_range(unsigned long long iova, unsigned long long size);
void linuxpt_tlb_all(void);

#endif
