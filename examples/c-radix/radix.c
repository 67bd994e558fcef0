/*
 * c-radix: a 4-level radix IOMMU page table (4K, 2M and 1G pages, 48-bit
 * IOVA) that speaks iommu-spec protocol v1 (docs/protocol.md) on stdin and
 * stdout.  No dependencies beyond the C library.
 *
 * It offers the whole API: the core (iommu_map / iommu_unmap / iommu_map_sg
 * as drivers/iommu/iommu.c runs them over iommu_pgsize batches) and the
 * driver below it (map_pages / unmap_pages), plus iotlb_sync, fail_alloc,
 * dump and domain_free.  The driver follows the generic-pt variant
 * (drivers/iommu/generic_pt/iommu_pt.h): a map over any live leaf is
 * -EADDRINUSE, an empty table in the way of a block is freed, and an unmap
 * walks leaves, removing a whole leaf that starts at the walk position and
 * stopping at a hole or inside a leaf.
 *
 * Build: make (or: cc -O2 -o radix radix.c).  Check: pytest difftest --impl-cmd ./radix
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IOMMU_READ 0x1u
#define IOMMU_WRITE 0x2u
#define SZ_4K (1ull << 12)
#define SZ_2M (1ull << 21)
#define SZ_1G (1ull << 30)
#define SUPPORTED (SZ_4K | SZ_2M | SZ_1G)
#define LEVELS 4
#define ENTRIES 512
#define MAX_IAS 48
#define MAX_OAS 52

/* ------------------------------------------------------------------------ */
/* A tiny JSON reader, shared with linuxpt's harness (no other dependency). */
/* ------------------------------------------------------------------------ */

#include "../../linuxpt/shim/jsonl.h"

/* ------------------------------------------------------------------------ */
/* The page table.                                                           */
/* ------------------------------------------------------------------------ */

enum kind { EMPTY, LEAF, TABLE };

struct table;

struct entry {
	uint8_t kind;
	uint8_t prot;
	uint64_t paddr;        /* LEAF: the page's physical address */
	struct table *next;    /* TABLE */
};

struct table {
	struct entry e[ENTRIES];
};

struct domain {
	struct table *root;
	uint64_t pgsize_bitmap;
	unsigned ias, oas;
	long table_pages;      /* page-table pages allocated now */
	long fail_countdown;   /* fail_alloc: allocations left before one fails, or -1 */
	uint64_t gather_start, gather_end; /* pending IOTLB invalidation, empty if end <= start */
	char tlb[4096];        /* invalidation commands issued while serving this request */
	size_t tlb_len;
	int tlb_count;
};

static struct domain dom;
static int have_domain;

static unsigned level_shift(int level) { return 12 + 9 * (unsigned)level; }
static uint64_t level_size(int level) { return 1ull << level_shift(level); }
static unsigned idx(uint64_t iova, int level) { return (iova >> level_shift(level)) & (ENTRIES - 1); }

static int level_of(uint64_t pgsize)
{
	for (int l = 0; l < 3; l++)
		if (pgsize == level_size(l))
			return l;
	return -1;
}

static struct table *alloc_table(void)
{
	if (dom.fail_countdown == 0) {
		dom.fail_countdown = -1;
		return NULL;
	}
	if (dom.fail_countdown > 0)
		dom.fail_countdown--;
	struct table *t = calloc(1, sizeof(*t));
	if (t)
		dom.table_pages++;
	return t;
}

static void free_table(struct table *t, int level)
{
	for (int i = 0; i < ENTRIES; i++)
		if (t->e[i].kind == TABLE)
			free_table(t->e[i].next, level - 1);
	free(t);
	dom.table_pages--;
}

static int table_has_leaves(const struct table *t)
{
	for (int i = 0; i < ENTRIES; i++)
		if (t->e[i].kind == LEAF || (t->e[i].kind == TABLE && table_has_leaves(t->e[i].next)))
			return 1;
	return 0;
}

/* The leaf translating iova and its level, or NULL. */
static struct entry *find_leaf(uint64_t iova, int *level)
{
	if (!dom.root || iova >> MAX_IAS)
		return NULL;
	struct table *t = dom.root;
	for (int l = LEVELS - 1; l >= 0; l--) {
		struct entry *e = &t->e[idx(iova, l)];
		if (e->kind == EMPTY)
			return NULL;
		if (e->kind == LEAF) {
			*level = l;
			return e;
		}
		t = e->next;
	}
	return NULL;
}

static void tlb_emit_range(uint64_t iova, uint64_t size)
{
	int n = snprintf(dom.tlb + dom.tlb_len, sizeof(dom.tlb) - dom.tlb_len,
			 "%s[\"range\",%llu,%llu]", dom.tlb_count ? "," : "",
			 (unsigned long long)iova, (unsigned long long)size);
	if (n > 0 && (size_t)n < sizeof(dom.tlb) - dom.tlb_len) {
		dom.tlb_len += (size_t)n;
		dom.tlb_count++;
	}
}

static void gather_add(uint64_t iova, uint64_t size)
{
	if (dom.gather_end <= dom.gather_start) {
		dom.gather_start = iova;
		dom.gather_end = iova + size;
		return;
	}
	if (iova < dom.gather_start)
		dom.gather_start = iova;
	if (iova + size > dom.gather_end)
		dom.gather_end = iova + size;
}

/* iommu_iotlb_sync: invalidate what was gathered. */
static void iotlb_sync(void)
{
	if (dom.gather_end > dom.gather_start)
		tlb_emit_range(dom.gather_start, dom.gather_end - dom.gather_start);
	dom.gather_start = dom.gather_end = 0;
}

/* Does [start, start + pgsize * count) end at or below lim?  (No overflow.) */
static int fits(uint64_t start, uint64_t pgsize, uint64_t count, uint64_t lim)
{
	return start <= lim && count <= (lim - start) / pgsize;
}

/* ------------------------------------------------------------------------ */
/* The driver: map_pages / unmap_pages (generic_pt semantics).               */
/* ------------------------------------------------------------------------ */

static int install(uint64_t iova, uint64_t paddr, int level, unsigned prot)
{
	struct table *t = dom.root;

	for (int l = LEVELS - 1; l > level; l--) {
		struct entry *e = &t->e[idx(iova, l)];
		if (e->kind == LEAF)
			return -EADDRINUSE;
		if (e->kind == EMPTY) {
			struct table *next = alloc_table();
			if (!next)
				return -ENOMEM;
			e->kind = TABLE;
			e->next = next;
		}
		t = e->next;
	}
	struct entry *e = &t->e[idx(iova, level)];
	if (e->kind == LEAF)
		return -EADDRINUSE;
	if (e->kind == TABLE) {
		if (table_has_leaves(e->next))
			return -EADDRINUSE;
		free_table(e->next, level - 1); /* an empty table gives way to the block */
	}
	e->kind = LEAF;
	e->prot = (uint8_t)prot;
	e->paddr = paddr;
	e->next = NULL;
	return 0;
}

static int pages_args_ok(uint64_t iova, uint64_t paddr, uint64_t pgsize, uint64_t pgcount)
{
	return pgsize && !(pgsize & (pgsize - 1)) && (pgsize & dom.pgsize_bitmap) && pgcount >= 1 &&
	       !((iova | paddr) & (pgsize - 1));
}

static int map_pages(uint64_t iova, uint64_t paddr, uint64_t pgsize, uint64_t pgcount,
		     unsigned prot, uint64_t *mapped)
{
	*mapped = 0;
	if (!pages_args_ok(iova, paddr, pgsize, pgcount))
		return -EINVAL;
	if (!(prot & (IOMMU_READ | IOMMU_WRITE)))
		return -EINVAL;
	if (!fits(iova, pgsize, pgcount, 1ull << dom.ias) ||
	    !fits(paddr, pgsize, pgcount, 1ull << dom.oas))
		return -ERANGE;
	for (uint64_t k = 0; k < pgcount; k++) {
		int ret = install(iova + k * pgsize, paddr + k * pgsize, level_of(pgsize), prot);
		if (ret)
			return ret;
		*mapped += pgsize;
	}
	return 0;
}

static uint64_t unmap_pages(uint64_t iova, uint64_t pgsize, uint64_t pgcount)
{
	if (!pages_args_ok(iova, 0, pgsize, pgcount))
		return 0;
	if (!fits(iova, pgsize, pgcount, 1ull << dom.ias))
		return 0; /* generic_pt: make_range rejects a range past the table, -ERANGE */
	uint64_t end = iova + pgsize * pgcount; /* at most 2^ias: no overflow */
	uint64_t at = iova;
	while (at < end) {
		int level = 0;
		struct entry *e = find_leaf(at, &level);
		uint64_t size = level_size(level);
		if (!e || (at & (size - 1)))
			break; /* a hole, or a range starting inside a leaf: nothing more */
		e->kind = EMPTY;
		gather_add(at, size);
		at += size; /* a leaf the range covers in part goes whole, and counts whole */
		if (!at)
			break;
	}
	return at - iova;
}

/* ------------------------------------------------------------------------ */
/* The core: drivers/iommu/iommu.c over the driver.                          */
/* ------------------------------------------------------------------------ */

static int fls64(uint64_t x) { return 63 - __builtin_clzll(x); }
static int ffs64(uint64_t x) { return __builtin_ctzll(x); }

/* iommu_pgsize(): the next (pgsize, count) batch. */
static uint64_t pgsize_and_count(uint64_t iova, uint64_t paddr, uint64_t size, uint64_t *count)
{
	uint64_t addr_merge = iova | paddr;
	uint64_t pgsizes = dom.pgsize_bitmap & (fls64(size) == 63 ? UINT64_MAX : (2ull << fls64(size)) - 1);

	if (addr_merge)
		pgsizes &= ffs64(addr_merge) == 63 ? UINT64_MAX : (2ull << ffs64(addr_merge)) - 1;
	int idx_ = fls64(pgsizes);
	uint64_t pgsize = 1ull << idx_;
	uint64_t larger = dom.pgsize_bitmap & ~(idx_ == 63 ? UINT64_MAX : (2ull << idx_) - 1);
	if (larger) {
		uint64_t next = 1ull << ffs64(larger);
		if (!((iova ^ paddr) & (next - 1))) {
			uint64_t offset = next - (addr_merge & (next - 1));
			if (offset + next <= size)
				size = offset;
		}
	}
	*count = size >> idx_;
	return pgsize;
}

static uint64_t unmap(uint64_t iova, uint64_t size)
{
	uint64_t min = dom.pgsize_bitmap & -dom.pgsize_bitmap, unmapped = 0;

	if ((iova | size) & (min - 1))
		return 0;
	while (unmapped < size) {
		if (unmapped > UINT64_MAX - iova)
			break; /* the range wraps past 2^64 */
		uint64_t at = iova + unmapped, count;
		uint64_t pgsize = pgsize_and_count(at, at, size - unmapped, &count);
		uint64_t done = unmap_pages(at, pgsize, count);
		if (!done)
			break;
		unmapped += done;
	}
	iotlb_sync();
	return unmapped;
}

static int map(uint64_t iova, uint64_t paddr, uint64_t size, unsigned prot)
{
	uint64_t min = dom.pgsize_bitmap & -dom.pgsize_bitmap, mapped = 0;

	if ((iova | paddr | size) & (min - 1))
		return -EINVAL;
	if (!size)
		return 0; /* the classic core's while (size) loop: the driver is never called */
	/* __iommu_map makes no prot or range check of its own: each map_pages call does */
	while (mapped < size) {
		uint64_t count, done;
		uint64_t pgsize = pgsize_and_count(iova + mapped, paddr + mapped, size - mapped, &count);
		int ret = map_pages(iova + mapped, paddr + mapped, pgsize, count, prot, &done);
		mapped += done;
		if (ret) {
			if (mapped)
				unmap(iova, mapped); /* unroll what this call mapped */
			return ret;
		}
	}
	return 0;
}

/* __iommu_map_sg: map physically contiguous runs; returns bytes mapped or -errno. */
static int64_t map_sg(uint64_t iova, const struct jval *sg, unsigned prot)
{
	uint64_t mapped = 0, run_start = 0, run_len = 0;
	size_t n = sg->n;

	if (!n)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		const struct jval *e = &sg->items[i < n ? i : n - 1]; /* iommu.c re-reads the last entry */
		uint64_t phys = e->items[0].u + e->items[1].u, length = e->items[2].u;
		if (run_len && phys != run_start + run_len) {
			int ret = map(iova + mapped, run_start, run_len, prot);
			if (ret) {
				if (mapped)
					unmap(iova, mapped);
				return ret;
			}
			mapped += run_len;
			run_len = 0;
		}
		if (run_len) {
			run_len += length;
		} else {
			run_start = phys;
			run_len = length;
		}
	}
	return (int64_t)mapped;
}

static uint64_t iova_to_phys(uint64_t iova)
{
	int level = 0;
	struct entry *e;

	if (iova >> dom.ias) /* generic_pt: make_range's -ERANGE comes back as the address */
		return (uint64_t)-ERANGE;
	e = find_leaf(iova, &level);
	return e ? e->paddr + (iova & (level_size(level) - 1)) : 0;
}

/* ------------------------------------------------------------------------ */
/* Domains, dump, and the request loop.                                      */
/* ------------------------------------------------------------------------ */

static void domain_free(void)
{
	if (dom.root)
		free_table(dom.root, LEVELS - 1);
	dom.root = NULL;
	have_domain = 0;
}

static int domain_alloc(uint64_t bitmap, uint64_t ias, uint64_t oas, uint64_t *used)
{
	domain_free();
	dom.table_pages = 0;
	dom.fail_countdown = -1;
	dom.gather_start = dom.gather_end = 0;
	*used = bitmap & SUPPORTED;
	if (!(*used & SZ_4K) || ias > MAX_IAS || oas > MAX_OAS)
		return -EINVAL; /* this table needs the 4K granule and fits 48-bit IOVAs */
	dom.pgsize_bitmap = *used;
	dom.ias = (unsigned)ias;
	dom.oas = (unsigned)oas;
	dom.root = alloc_table();
	if (!dom.root)
		return -ENOMEM;
	have_domain = 1;
	return 0;
}

struct run {
	uint64_t iova, paddr, pgsize, count;
	unsigned prot;
	int open, first;
};

static void emit_run(struct run *r)
{
	if (!r->open)
		return;
	printf("%s[%llu,%llu,%llu,%llu,%u]", r->first ? "" : ",", (unsigned long long)r->iova,
	       (unsigned long long)r->paddr, (unsigned long long)r->pgsize,
	       (unsigned long long)r->count, r->prot);
	r->first = 0;
	r->open = 0;
}

/* The window a ranged dump asks for, [lo, last] inclusive (the whole space by default). */
static uint64_t dump_lo, dump_last = UINT64_MAX;

/* Print leaves in IOVA order, contiguous leaves of one size and prot merged into runs;
 * only entries that intersect the dump window are visited. */
static void dump_table(const struct table *t, int level, uint64_t base, struct run *r)
{
	for (int i = 0; i < ENTRIES; i++) {
		const struct entry *e = &t->e[i];
		uint64_t iova = base + ((uint64_t)i << level_shift(level)), size = level_size(level);
		if (iova > dump_last)
			break;
		if (iova + (size - 1) < dump_lo)
			continue;
		if (e->kind == TABLE) {
			dump_table(e->next, level - 1, iova, r);
		} else if (e->kind == LEAF) {
			if (r->open && r->pgsize == size && r->prot == e->prot &&
			    r->iova + r->pgsize * r->count == iova &&
			    r->paddr + r->pgsize * r->count == e->paddr) {
				r->count++;
				continue;
			}
			emit_run(r);
			*r = (struct run){iova, e->paddr, size, 1, e->prot, 1, r->first};
		}
	}
}

static const char *OPS = "[\"hello\",\"domain_alloc\",\"domain_free\",\"map\",\"unmap\",\"map_sg\","
			 "\"iova_to_phys\",\"map_pages\",\"unmap_pages\",\"iotlb_sync\",\"fail_alloc\","
			 "\"dump\"]";

/* Check sg is a list of [paddr, offset, length] u64 triples with paddr + offset < 2^64. */
static int sg_ok(const struct jval *sg)
{
	if (!sg || sg->type != J_ARR)
		return 0;
	for (size_t i = 0; i < sg->n; i++) {
		const struct jval *e = &sg->items[i];
		if (e->type != J_ARR || e->n != 3)
			return 0;
		for (int k = 0; k < 3; k++)
			if (e->items[k].type != J_NUM || !e->items[k].is_uint)
				return 0;
		if (e->items[0].u > UINT64_MAX - e->items[1].u)
			return 0;
	}
	return 1;
}

static void reply_end(void)
{
	if (dom.tlb_count)
		printf(",\"tlb\":[%.*s]", (int)dom.tlb_len, dom.tlb);
	dom.tlb_len = 0;
	dom.tlb_count = 0;
	printf("}\n");
}

static void serve(const struct jval *req)
{
	const struct jval *opv = field(req, "op");
	const char *op = opv && opv->type == J_STR ? opv->str : "", *bad = NULL;

	if (!strcmp(op, "hello")) {
		printf("{\"version\":1,\"name\":\"c-radix\",\"semantics\":\"generic-pt\",\"ops\":%s}\n", OPS);
		return;
	}
	if (!strcmp(op, "domain_alloc")) {
		uint64_t used, b = get_u64(req, "pgsize_bitmap", &bad), ias = get_u64(req, "ias", &bad),
			       oas = get_u64(req, "oas", &bad);
		if (bad)
			goto bad_field;
		int ret = domain_alloc(b, ias, oas, &used);
		printf("{\"ret\":%d,\"pgsize_bitmap\":%llu}\n", ret, (unsigned long long)used);
		return;
	}
	if (!strcmp(op, "domain_free")) {
		domain_free();
		printf("{\"ret\":0,\"table_pages\":%ld}\n", dom.table_pages);
		return;
	}
	if (strcmp(op, "map") && strcmp(op, "unmap") && strcmp(op, "map_sg") &&
	    strcmp(op, "iova_to_phys") && strcmp(op, "map_pages") && strcmp(op, "unmap_pages") &&
	    strcmp(op, "iotlb_sync") && strcmp(op, "fail_alloc") && strcmp(op, "dump")) {
		printf("{\"error\":\"unsupported\"}\n");
		return;
	}
	if (!have_domain) {
		printf("{\"error\":\"no domain: send domain_alloc first\"}\n");
		return;
	}
	uint64_t iova = 0, paddr = 0, size = 0, pgsize = 0, pgcount = 0, prot = 0;
	if (strcmp(op, "iotlb_sync") && strcmp(op, "fail_alloc") && strcmp(op, "dump"))
		iova = get_u64(req, "iova", &bad);
	if (!strcmp(op, "map") || !strcmp(op, "map_pages"))
		paddr = get_u64(req, "paddr", &bad);
	if (!strcmp(op, "map") || !strcmp(op, "unmap"))
		size = get_u64(req, "size", &bad);
	if (!strcmp(op, "map_pages") || !strcmp(op, "unmap_pages")) {
		pgsize = get_u64(req, "pgsize", &bad);
		pgcount = get_u64(req, "pgcount", &bad);
	}
	if (!strcmp(op, "map") || !strcmp(op, "map_sg") || !strcmp(op, "map_pages"))
		prot = get_u64(req, "prot", &bad);
	if (prot > 0xff && !bad)
		bad = "prot";
	if (!strcmp(op, "map_sg") && !sg_ok(field(req, "sg")) && !bad)
		bad = "sg";
	if (!strcmp(op, "fail_alloc"))
		get_u64(req, "after", &bad);
	dump_lo = 0;
	dump_last = UINT64_MAX;
	if (!strcmp(op, "dump")) /* optional: only [iova, iova + size) */
		get_dump_window(req, &dump_lo, &dump_last, &bad);
	if (bad)
		goto bad_field;

	if (!strcmp(op, "map")) {
		printf("{\"ret\":%d", map(iova, paddr, size, (unsigned)prot));
	} else if (!strcmp(op, "unmap")) {
		printf("{\"ret\":%llu", (unsigned long long)unmap(iova, size));
	} else if (!strcmp(op, "map_sg")) {
		printf("{\"ret\":%lld", (long long)map_sg(iova, field(req, "sg"), (unsigned)prot));
	} else if (!strcmp(op, "iova_to_phys")) {
		printf("{\"ret\":%llu", (unsigned long long)iova_to_phys(iova));
	} else if (!strcmp(op, "map_pages")) {
		uint64_t mapped;
		int ret = map_pages(iova, paddr, pgsize, pgcount, (unsigned)prot, &mapped);
		printf("{\"ret\":%d,\"mapped\":%llu", ret, (unsigned long long)mapped);
	} else if (!strcmp(op, "unmap_pages")) {
		printf("{\"ret\":%llu", (unsigned long long)unmap_pages(iova, pgsize, pgcount));
	} else if (!strcmp(op, "iotlb_sync")) {
		iotlb_sync();
		printf("{\"ret\":0");
	} else if (!strcmp(op, "fail_alloc")) {
		uint64_t after = get_u64(req, "after", &bad);
		dom.fail_countdown = after > 0x7fffffffull ? -1 : (long)after;
		printf("{\"ret\":0");
	} else { /* dump */
		struct run r = {0, 0, 0, 0, 0, 0, 1};
		printf("{\"ret\":0,\"leaves\":[");
		dump_table(dom.root, LEVELS - 1, 0, &r);
		emit_run(&r);
		printf("]");
	}
	reply_end();
	return;
bad_field:
	printf("{\"error\":\"bad request: field %s is missing or not an integer in [0, 2^64)\"}\n", bad);
}

int main(void)
{
	dom.fail_countdown = -1;
	serve_requests(serve);
	domain_free();
	return 0;
}
