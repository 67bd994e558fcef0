/*
 * linuxpt runtime: the services the kernel shim declares in
 * include/linuxpt/rt.h, on top of the C library.
 *
 * Page-table memory comes from one arena mapped below 4 GiB (MAP_32BIT, or a
 * fixed low hint), where physical == virtual: v7s needs its tables to fit in
 * 32 bits, DART in 36.  Blocks are powers of two from 1K, aligned to their
 * size, kept on one free list per size; a registry of every block ever handed
 * out catches double frees, frees of unknown pointers, and frees with another
 * size or kind than the allocation's: each prints one line and aborts.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "include/linuxpt/rt.h"
#include "runtime.h"

#define ARENA_SIZE (1ull << 30) /* address space only: MAP_NORESERVE */
#define MIN_SHIFT 10
#define MAX_SHIFT 26            /* 64 MiB, far above any table */
#define NCLASS (MAX_SHIFT - MIN_SHIFT + 1)
#define POISON 0xa5

static uint8_t *arena;
static uint64_t arena_used;
static void *free_list[NCLASS]; /* singly linked through the block's first word */

/* The registry: open addressing, address -> state of the block there. */
enum { B_EMPTY = 0, B_LIVE = 1, B_FREE = 2, B_KEPT = 3 };
struct block {
	uint64_t addr;
	uint32_t size;
	uint8_t state, kind;
};
static struct block *reg;
static uint64_t reg_cap, reg_count;

long linuxpt_live_tables;
long linuxpt_warnings;
static long fail_countdown = -1;
/* linuxpt_table_avoid: table blocks never start at a multiple of this (0: no rule) */
static unsigned long avoid_align;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void arena_init(void)
{
	void *p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_32BIT, -1, 0);

	if (p == MAP_FAILED) /* no MAP_32BIT on this architecture: ask for a low address */
		p = mmap((void *)(uintptr_t)0x40000000, ARENA_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED || (uintptr_t)p + ARENA_SIZE > (1ull << 32))
		die("harness: cannot map the page-table arena below 4 GiB (got %p)", p);
	arena = p;
	/* keep physical address 0 out of the arena: a table at 0 would read as an empty PTE */
	arena_used = (uintptr_t)arena ? 0 : (1u << MAX_SHIFT);
}

static uint64_t hash(uint64_t a) { return (a >> MIN_SHIFT) * 0x9e3779b97f4a7c15ull; }

static struct block *reg_find(uint64_t addr, int insert)
{
	if (insert && (reg_count + 1) * 2 > reg_cap) {
		uint64_t old_cap = reg_cap;
		struct block *old = reg;
		reg_cap = reg_cap ? reg_cap * 2 : 4096;
		reg = calloc(reg_cap, sizeof(*reg));
		if (!reg)
			die("harness: out of memory");
		reg_count = 0;
		for (uint64_t i = 0; i < old_cap; i++)
			if (old[i].state != B_EMPTY) {
				*reg_find(old[i].addr, 1) = old[i];
				reg_count++;
			}
		free(old);
	}
	if (!reg_cap)
		return NULL;
	for (uint64_t i = hash(addr) & (reg_cap - 1);; i = (i + 1) & (reg_cap - 1)) {
		if (reg[i].state == B_EMPTY)
			return insert ? &reg[i] : NULL;
		if (reg[i].addr == addr)
			return &reg[i];
	}
}

static int size_class(unsigned long size)
{
	int shift = MIN_SHIFT;

	while ((1ull << shift) < size)
		shift++;
	return shift;
}

void linuxpt_fail_alloc(long after) { fail_countdown = after; }

void *linuxpt_table_alloc(unsigned long size, unsigned long align, int zero, int kind)
{
	int shift;
	void *p;

	if (!arena)
		arena_init();
	if (fail_countdown == 0) {
		fail_countdown = -1;
		fprintf(stderr, "harness: fail_alloc: table allocation of %lu bytes fails\n", size);
		return NULL;
	}
	if (fail_countdown > 0)
		fail_countdown--;
	shift = size_class(size > align ? size : align);
	if (shift > MAX_SHIFT)
		die("harness: table allocation of %lu bytes is beyond the arena's blocks", size);
	struct block *b;
	for (;;) {
		p = free_list[shift - MIN_SHIFT];
		if (p) {
			free_list[shift - MIN_SHIFT] = *(void **)p;
		} else {
			uint64_t bs = 1ull << shift, at = (arena_used + bs - 1) & ~(bs - 1);
			if (at + bs > ARENA_SIZE)
				die("harness: the page-table arena (%llu MiB) is full", ARENA_SIZE >> 20);
			p = arena + at;
			arena_used = at + bs;
		}
		if (!avoid_align || (uintptr_t)p % avoid_align)
			break;
		/* a block at an avoided address: set aside for good, not counted, never handed out */
		b = reg_find((uintptr_t)p, 1);
		if (b->state == B_EMPTY)
			reg_count++;
		*b = (struct block){ (uintptr_t)p, (uint32_t)size, B_KEPT, (uint8_t)kind };
	}
	b = reg_find((uintptr_t)p, 1);
	if (b->state == B_EMPTY)
		reg_count++;
	*b = (struct block){ (uintptr_t)p, (uint32_t)size, B_LIVE, (uint8_t)kind };
	memset(p, zero ? 0 : POISON, 1ull << shift);
	linuxpt_live_tables++;
	return p;
}

static const char *kind_name(int kind) { return kind == LINUXPT_KIND_SLAB ? "kmem_cache object" : "pages"; }

void linuxpt_table_free(void *p, unsigned long size, int kind)
{
	struct block *b = reg_find((uintptr_t)p, 0);

	if (!b)
		die("harness: unknown free of table at %p (never allocated)", p);
	if (b->state == B_FREE)
		die("harness: double free of table at %p", p);
	if (b->state == B_KEPT)
		die("harness: free of table at %p, which the driver keeps for good", p);
	if (b->size != size || b->kind != kind)
		die("harness: free of table at %p as %lu bytes of %s, allocated as %u bytes of %s",
		    p, size, kind_name(kind), b->size, kind_name(b->kind));
	b->state = B_FREE;
	int shift = size_class(b->size);
	memset(p, POISON, 1ull << shift); /* a use after free reads garbage, not zeroes */
	*(void **)p = free_list[shift - MIN_SHIFT];
	free_list[shift - MIN_SHIFT] = p;
	linuxpt_live_tables--;
}

void linuxpt_table_keep(void *p)
{
	struct block *b = reg_find((uintptr_t)p, 0);

	if (!b || b->state != B_LIVE)
		die("harness: keep of table at %p, which is not live", p);
	b->state = B_KEPT;
	linuxpt_live_tables--;
}

void linuxpt_table_avoid(unsigned long align) { avoid_align = align; }

int linuxpt_table_is_live(const void *p)
{
	struct block *b = reg_find((uintptr_t)p, 0);

	return b && b->state == B_LIVE;
}

int linuxpt_in_arena(uint64_t phys, uint64_t len)
{
	return arena && phys >= (uintptr_t)arena && phys + len <= (uintptr_t)arena + arena_used &&
	       phys + len >= phys;
}

void *linuxpt_malloc(unsigned long size, int zero)
{
	void *p = zero ? calloc(1, size) : malloc(size);

	if (!p)
		die("harness: out of memory");
	return p;
}

void linuxpt_free(void *p) { free(p); }

/*
 * printk: the C library's conversions, plus the kernel's %pa / %pad (the
 * phys_addr_t / dma_addr_t *pointed to*, printed as 0x...), which drivers
 * use in their messages.  Other %p extensions print the pointer and the
 * extension's letters, as plain %p would.
 */
static void print_one(FILE *out, const char *spec, size_t len, va_list *ap)
{
	char f[32];
	char conv = spec[len - 1];
	int longs = 0, z = 0;

	if (len >= sizeof(f))
		len = sizeof(f) - 1;
	memcpy(f, spec, len);
	f[len] = 0;
	for (size_t i = 1; i + 1 < len; i++) {
		longs += spec[i] == 'l';
		z |= spec[i] == 'z' || spec[i] == 't' || spec[i] == 'j';
	}
	if (strchr(f, '*')) { /* a width or precision from the arguments: not used by the drivers */
		fputs(f, out);
		return;
	}
	switch (conv) {
	case 'd': case 'i': case 'u': case 'x': case 'X': case 'o': case 'c':
		if (longs >= 2)
			fprintf(out, f, va_arg(*ap, long long));
		else if (longs || z)
			fprintf(out, f, va_arg(*ap, long));
		else
			fprintf(out, f, va_arg(*ap, int));
		break;
	case 's': case 'p':
		fprintf(out, f, va_arg(*ap, void *));
		break;
	case 'f': case 'e': case 'g': case 'E': case 'G':
		fprintf(out, f, va_arg(*ap, double));
		break;
	default:
		fputs(f, out);
	}
}

int linuxpt_printk(const char *fmt, ...)
{
	va_list ap;
	const char *p = fmt;

	va_start(ap, fmt);
	while (*p) {
		const char *pct = strchr(p, '%');
		if (!pct) {
			fputs(p, stderr);
			break;
		}
		fwrite(p, 1, (size_t)(pct - p), stderr);
		if (pct[1] == '%') {
			fputc('%', stderr);
			p = pct + 2;
			continue;
		}
		size_t n = 1 + strspn(pct + 1, "-+ #0123456789.*hlLqjzt");
		if (!pct[n]) {
			fputs(pct, stderr);
			break;
		}
		n++; /* the conversion letter */
		if (pct[n - 1] == 'p' && pct[n] == 'a') { /* %pa[p] (phys_addr_t *), %pad (dma_addr_t *) */
			const unsigned long long *v = va_arg(ap, const unsigned long long *);
			fprintf(stderr, "0x%llx", v ? *v : 0);
			n += 1 + (pct[n + 1] == 'd' || pct[n + 1] == 'p');
		} else {
			print_one(stderr, pct, n, &ap);
		}
		p = pct + n;
	}
	va_end(ap);
	return 0;
}

void linuxpt_warn(const char *file, int line, const char *cond, int repeated)
{
	linuxpt_warnings++;
	if (!repeated)
		fprintf(stderr, "WARNING: %s:%d %s\n", file, line, cond);
}

void linuxpt_bug(const char *file, int line, const char *what)
{
	die("harness: kernel BUG at %s:%d: %s", file, line, what);
}

/* ---- MMIO windows (driver formats) --------------------------------------- */
#define MAX_WINDOWS 8
static struct {
	uintptr_t base;
	unsigned long size;
	const struct linuxpt_mmio_ops *ops;
	void *ctx;
} windows[MAX_WINDOWS];
static int n_windows;

void *linuxpt_mmio_window(unsigned long size, const struct linuxpt_mmio_ops *ops, void *ctx)
{
	void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED || n_windows == MAX_WINDOWS)
		die("harness: cannot reserve an MMIO window of %lu bytes", size);
	windows[n_windows].base = (uintptr_t)p;
	windows[n_windows].size = size;
	windows[n_windows].ops = ops;
	windows[n_windows].ctx = ctx;
	n_windows++;
	return p;
}

static int window_of(const volatile void *addr, unsigned long *off)
{
	uintptr_t a = (uintptr_t)addr;

	for (int i = 0; i < n_windows; i++)
		if (a >= windows[i].base && a - windows[i].base + 4 <= windows[i].size) {
			*off = a - windows[i].base;
			return i;
		}
	die("harness: MMIO access at %p, outside every register window", (void *)addr);
}

unsigned linuxpt_mmio_read32(const volatile void *addr)
{
	unsigned long off;
	int w = window_of(addr, &off);

	return windows[w].ops->read(windows[w].ctx, off);
}

void linuxpt_mmio_write32(unsigned value, volatile void *addr)
{
	unsigned long off;
	int w = window_of(addr, &off);

	windows[w].ops->write(windows[w].ctx, off, value);
}

/* ---- TLB commands of the current reply ---------------------------------- */
static char *tlb_buf;
static size_t tlb_len, tlb_cap;
static int tlb_count;

static void tlb_append(const char *s)
{
	size_t n = strlen(s);

	if (tlb_len + n + 2 > tlb_cap) {
		tlb_cap = (tlb_len + n + 2) * 2;
		tlb_buf = realloc(tlb_buf, tlb_cap);
		if (!tlb_buf)
			die("harness: out of memory");
	}
	if (tlb_count++)
		tlb_buf[tlb_len++] = ',';
	memcpy(tlb_buf + tlb_len, s, n + 1);
	tlb_len += n;
}

void linuxpt_tlb_range(unsigned long long iova, unsigned long long size)
{
	char cmd[64];

	if (!size)
		return; /* an empty range invalidates nothing */
	if (iova + size < iova && iova + size != 0) {
		/* would run past 2^64: the protocol cannot carry it; invalidate everything */
		fprintf(stderr, "harness: range invalidation [0x%llx, +0x%llx) runs past 2^64: reported as all\n",
			iova, size);
		linuxpt_tlb_all();
		return;
	}
	snprintf(cmd, sizeof(cmd), "[\"range\",%llu,%llu]", iova, size);
	tlb_append(cmd);
}

void linuxpt_tlb_all(void) { tlb_append("[\"all\"]"); }

/* Print ,"tlb":[...] when commands were issued, and start a new list. */
void linuxpt_tlb_emit(FILE *out)
{
	if (tlb_count)
		fprintf(out, ",\"tlb\":[%s]", tlb_buf);
	tlb_count = 0;
	tlb_len = 0;
}
