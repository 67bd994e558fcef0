/*
 * linuxpt harness: protocol v1 (docs/protocol.md) over a kernel tree's own
 * io-pgtable code, as a DRIVER-ONLY implementation (no "map": the tester runs
 * its model of Linux's core over map_pages / unmap_pages).
 *
 *   linuxpt-harness --format lpae-s1|lpae-s2|v7s|dart|amd-v1|amd-v2|rockchip|exynos|sun50i|tegra-smmu|vtd|s390|sprd|v7s-msm|omap|virtio
 *
 * The page-table code is the tree's, compiled unmodified (linuxpt/build.py);
 * glue.c configures and flushes it as arm-smmu-v3 / mtk_iommu / apple-dart
 * do; this file speaks the protocol and walks the table memory itself for
 * "dump", decoding descriptors as the hardware reads them (it does not use
 * the kernel's iopte_to_paddr).  The JSON reader is the one of
 * examples/c-radix/radix.c.
 *
 * dump's prot: what each format can encode (see linuxpt/README.md)
 *   lpae-s1  READ always; WRITE unless AP[2] (read-only): WRITE alone maps
 *            as READ|WRITE; PRIV when AP[1] (EL0) is clear; NOEXEC from XN;
 *            memory type from AttrIndx: MMIO (device), CACHE (write-back);
 *            MMIO|CACHE maps as device memory and reads back as MMIO.
 *   lpae-s2  READ and WRITE from S2AP (each on its own); NOEXEC from XN; memory
 *            type from MemAttr: MMIO (device), CACHE (write-back); no PRIV.
 *   v7s      (mtk_iommu: IO_PGTABLE_QUIRK_NO_PERMS) no permissions are
 *            written: READ|WRITE always, never NOEXEC or PRIV; memory type
 *            from TEX[0]:C:B: MMIO (device), CACHE; MMIO|CACHE reads MMIO.
 *   v7s-msm  (msm_iommu: no quirks, so arm_v7s_prot_to_pte writes AP and XN)
 *            READ always (AP[0] is the access flag: no read-disable);
 *            WRITE unless AP[2] (read-only): WRITE alone maps as READ|WRITE;
 *            PRIV when AP[1] (unprivileged) is clear; NOEXEC from XN; memory
 *            type as for v7s.
 *   dart     READ unless NO_READ, WRITE unless NO_WRITE; DART1 encodes no
 *            CACHE, NOEXEC, MMIO or PRIV: never reported.
 *   rockchip READ from the PTE's readable bit, WRITE from its writable bit
 *            (rk_mk_pte encodes nothing else; prot 0 is a valid PTE with
 *            neither).  The cache-attribute bits 8:3 are never set.
 *   exynos   (SysMMU v1-3: SYSMMU_LV1_PROT / SYSMMU_LV2_PROT) AP bit 10 (lv2:
 *            4) clear is no access (0); set, READ, with WRITE unless APX bit
 *            15 (lv2: 9): a WRITE-only map is READ|WRITE ("IOMMU_WRITE not
 *            supported, use read/write").  Nothing else is encoded.
 *   sun50i   the PTE's ACI (bits 7:4, sun50i_mk_pte): RD_WR READ|WRITE, RD
 *            READ, WR WRITE, NONE 0 (prot 0 is a valid PTE); nothing else.
 *   tegra-smmu  READ from PTE bit 31, WRITE from bit 30, each on its own
 *            (prot 0 is a valid PTE with only NS); nothing else.
 *   vtd      READ from the second-level PTE's bit 0, WRITE from bit 1 (each on
 *            its own; a map with neither is refused).  SNP (bit 11, IOMMU_CACHE
 *            only with force snooping) is never set by these domains.
 *   s390     READ always (a valid zPCI PTE is readable), WRITE unless the
 *            PTE (or a region/segment entry above it) is protected
 *            (ZPCI_TABLE_PROTECTED): READ-only vs READ|WRITE; prot 0 maps
 *            READ-only, WRITE alone READ|WRITE.  Nothing else is encoded.
 *   sprd     no permission bits at all (a PTE is paddr >> 12): prot 0 always.
 *   omap     the OMAP MMU checks no permission: every translation is
 *            READ|WRITE, whatever the map's prot (omap_iommu_map never reads
 *            it).  Its entries' attribute bits (endianness, element size,
 *            mixed: iotlb_init_entry sets them little-endian, 8-bit, not
 *            mixed, all 0) say nothing of prot.
 *   virtio   no table: dump lists the device's mappings (glue_virtio.c), one
 *            leaf per MAP it accepted, [iova, paddr, size, 1, prot], never
 *            merged; prot READ, WRITE and MMIO from the MAP's flags
 *            (viommu_map_pages sends nothing else).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linuxpt.h"
#include "runtime.h"

#define IOMMU_READ 0x1u
#define IOMMU_WRITE 0x2u
#define IOMMU_CACHE 0x4u
#define IOMMU_NOEXEC 0x8u
#define IOMMU_MMIO 0x10u
#define IOMMU_PRIV 0x20u

/* ------------------------------------------------------------------------ */
/* A tiny JSON reader (linuxpt/shim/jsonl.h, shared with examples/c-radix)  */
/* ------------------------------------------------------------------------ */

#include "jsonl.h"

/* ------------------------------------------------------------------------ */
/* dump: our own walk of the table memory, per format                       */
/* ------------------------------------------------------------------------ */

static struct lpt_hw hw;
static int format = -1;
/* the variant declared in hello (--semantics), or NULL */
static const char *semantics;

/* Leaves in IOVA order, contiguous ones of one size and prot merged into runs. */
struct run {
	uint64_t iova, paddr, pgsize, count;
	unsigned prot;
	int open, first;
};

/* Unreachable runs (DART pages beyond ias) are kept in memory and printed after the leaves. */
static char *unreach_buf;
static size_t unreach_len;
static FILE *unreach_fp;

struct dumpctx {
	struct run leaves, unreachable;
	int tables_first;
	char *tables;          /* "[iova,span],..." */
	size_t tables_len, tables_cap;
	int problems;
};

static void emit_run(struct run *r, FILE *out)
{
	if (!r->open)
		return;
	fprintf(out, "%s[%llu,%llu,%llu,%llu,%u]", r->first ? "" : ",",
		(unsigned long long)r->iova, (unsigned long long)r->paddr,
		(unsigned long long)r->pgsize, (unsigned long long)r->count, r->prot);
	r->first = 0;
	r->open = 0;
}

/* A ranged dump ({"op":"dump","iova":I,"size":S}) lists only the leaves and tables that
 * intersect [I, I+S): [dump_lo, dump_last], inclusive.  The walk still reads every table
 * (and reports every problem); only what is printed is cut. */
static uint64_t dump_lo, dump_last = UINT64_MAX;

static int in_window(uint64_t iova, uint64_t size)
{
	return iova <= dump_last && iova + (size - 1) >= dump_lo;
}

/* Leaves go to stdout as they are found ("leaves" is the first list printed). */
static void add_leaf(struct run *r, FILE *out, uint64_t iova, uint64_t paddr, uint64_t size,
		     unsigned prot)
{
	if (out == stdout && !in_window(iova, size))
		return;
	/* a run never wraps: a page at paddr 0 after one at 2^64 - size starts a new run */
	if (r->open && r->pgsize == size && r->prot == prot &&
	    r->iova + r->pgsize * r->count == iova && r->paddr + r->pgsize * r->count == paddr &&
	    paddr > r->paddr && iova > r->iova) {
		r->count++;
		return;
	}
	emit_run(r, out);
	*r = (struct run){ iova, paddr, size, 1, prot, 1, r->first };
}

static void add_table(struct dumpctx *c, uint64_t iova, uint64_t span)
{
	char item[64];

	if (!in_window(iova, span))
		return;
	int n = snprintf(item, sizeof(item), "%s[%llu,%llu]", c->tables_first ? "" : ",",
			 (unsigned long long)iova, (unsigned long long)span);

	if (c->tables_len + (size_t)n + 1 > c->tables_cap) {
		c->tables_cap = (c->tables_len + (size_t)n + 1) * 2;
		c->tables = realloc(c->tables, c->tables_cap);
		if (!c->tables)
			abort();
	}
	memcpy(c->tables + c->tables_len, item, (size_t)n + 1);
	c->tables_len += (size_t)n;
	c->tables_first = 0;
}

static void problem(struct dumpctx *c, const char *fmt, unsigned long long a, unsigned long long b)
{
	c->problems++;
	fprintf(stderr, "harness: dump: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
}

/* Table memory at physical address pa, if it lies in the arena (physical == virtual). */
static const void *table_at(struct dumpctx *c, uint64_t pa, uint64_t len, uint64_t iova)
{
	if (!linuxpt_in_arena(pa, len)) {
		problem(c, "a descriptor for iova 0x%llx points at 0x%llx, outside the table memory",
			iova, pa);
		return NULL;
	}
	return (const void *)(uintptr_t)pa;
}

/* ---- ARM LPAE, stage 1 (VMSAv8-64 long descriptors) ----------------------- */

struct lpae {
	unsigned g;        /* granule shift: 12, 14, 16 (TCR.TG0) */
	unsigned bpl;      /* bits resolved per level: g - 3 */
	unsigned ias;      /* 64 - TCR.T0SZ */
	unsigned pa_bits;  /* TCR.IPS */
};

static unsigned lpae_shift(const struct lpae *l, int lvl) { return l->g + l->bpl * (3u - (unsigned)lvl); }

/* Output (or next-table) address bits of a descriptor: [47:shift], and with
 * the 64K granule and 52-bit PA (FEAT_LPA), OA[51:48] from bits [15:12]. */
static uint64_t lpae_oa(const struct lpae *l, uint64_t d, unsigned shift)
{
	uint64_t oa = d & (((1ull << 48) - 1) & ~((1ull << shift) - 1));

	if (l->g == 16 && l->pa_bits == 52)
		oa |= ((d >> 12) & 0xf) << 48;
	return oa;
}

/* Can a level-lvl descriptor of type 01 be a block? */
static int lpae_block_ok(const struct lpae *l, int lvl)
{
	if (l->g == 12)
		return lvl == 1 || lvl == 2;
	if (l->g == 14)
		return lvl == 2;
	return lvl == 2 || (lvl == 1 && l->pa_bits == 52);
}

static unsigned lpae_prot(uint64_t d)
{
	unsigned prot = IOMMU_READ, attrindx = (d >> 2) & 7;

	if (!(d & (1ull << 7)))          /* AP[2]: read-only */
		prot |= IOMMU_WRITE;
	if (!(d & (1ull << 6)))          /* AP[1]: EL0 access */
		prot |= IOMMU_PRIV;
	if (d & (1ull << 54))            /* UXN/XN */
		prot |= IOMMU_NOEXEC;
	if (attrindx == 2)               /* MAIR index 2: Device-nGnRE */
		prot |= IOMMU_MMIO;
	else if (attrindx == 1)          /* MAIR index 1: write-back cacheable */
		prot |= IOMMU_CACHE;
	return prot;
}

/* Stage 2 (VMSAv8-64 stage-2 descriptors, arm_lpae_prot_to_pte for ARM_64_LPAE_S2):
 * S2AP[6] read, S2AP[7] write, XN[54]; MemAttr[5:2]: 0b0001 device, 0b1111 normal
 * write-back (CACHE), 0b0101 normal non-cacheable.  No PRIV. */
static unsigned lpae_s2_prot(uint64_t d)
{
	unsigned prot = 0, memattr = (d >> 2) & 0xf;

	if (d & (1ull << 6))
		prot |= IOMMU_READ;
	if (d & (1ull << 7))
		prot |= IOMMU_WRITE;
	if (d & (1ull << 54))
		prot |= IOMMU_NOEXEC;
	if (memattr == 0x1)
		prot |= IOMMU_MMIO;
	else if (memattr == 0xf)
		prot |= IOMMU_CACHE;
	return prot;
}

static void lpae_walk(struct dumpctx *c, const struct lpae *l, uint64_t pa, int lvl, uint64_t base,
		      uint64_t entries)
{
	unsigned shift = lpae_shift(l, lvl);
	const uint64_t *t = table_at(c, pa, entries * 8, base);

	if (!t)
		return;
	for (uint64_t i = 0; i < entries; i++) {
		uint64_t d = t[i], iova = base + (i << shift), size = 1ull << shift;
		unsigned type = d & 3;

		if (!(d & 1))
			continue;
		if (lvl < 3 && type == 3) {
			add_table(c, iova, size);
			lpae_walk(c, l, lpae_oa(l, d, l->g), lvl + 1, iova, 1ull << l->bpl);
			continue;
		}
		if ((lvl == 3 && type == 3) || (lvl < 3 && type == 1 && lpae_block_ok(l, lvl))) {
			uint64_t oa = lpae_oa(l, d, shift);
			if (!(d & (1ull << 10)))
				problem(c, "leaf at iova 0x%llx has AF clear (descriptor 0x%llx): access flag fault",
					iova, d);
			if (l->pa_bits < 64 && (oa >> l->pa_bits))
				problem(c, "leaf at iova 0x%llx: output address 0x%llx beyond TCR.IPS: address size fault",
					iova, oa);
			else
				add_leaf(&c->leaves, stdout, iova, oa, size,
					 format == LPT_LPAE_S2 ? lpae_s2_prot(d) : lpae_prot(d));
			continue;
		}
		problem(c, "invalid descriptor for the level at iova 0x%llx: 0x%llx (translation fault)",
			iova, d);
	}
}

static void dump_lpae(struct dumpctx *c)
{
	static const unsigned ips_bits[] = { 32, 36, 40, 42, 44, 48, 52, 56 };
	struct lpae l;

	l.g = hw.tcr_tg == 0 ? 12 : hw.tcr_tg == 1 ? 16 : 14; /* TG0: 0 4K, 1 64K, 2 16K */
	l.bpl = l.g - 3;
	l.ias = 64 - hw.tcr_tsz;
	l.pa_bits = ips_bits[hw.tcr_ips & 7];
	unsigned va_bits = l.ias - l.g;
	unsigned levels = (va_bits + l.bpl - 1) / l.bpl;
	int start = 4 - (int)levels;
	unsigned root_bits = va_bits - l.bpl * (levels - 1);
	if (format == LPT_LPAE_S2) {
		/* VTCR.SL0 names the starting level (the 4K granule counts from level 2,
		 * the others from level 3); the root is as large as the levels above it
		 * need: a concatenated pgd (arm_64_lpae_alloc_pgtable_s2) */
		unsigned sl0 = hw.vtcr_sl & 3;
		start = l.g == 12 ? 2 - (int)sl0 : 3 - (int)sl0;
		if (start < 0 || l.ias < lpae_shift(&l, start)) {
			problem(c, "VTCR.SL0 %llu does not fit T0SZ %llu: translation fault",
				sl0, 64 - l.ias);
			return;
		}
		root_bits = l.ias - lpae_shift(&l, start);
	}
	lpae_walk(c, &l, hw.ttbr & ((1ull << 48) - 1) & ~7ull, start, 0, 1ull << root_bits);
}

/* ---- ARM v7 short descriptors (with MediaTek's PA extension) -------------- */

/* MediaTek's IO_PGTABLE_QUIRK_ARM_MTK_EXT: PA[32], PA[33], PA[34] in bits 9, 4, 5. */
static uint64_t mtk_ext(uint32_t d)
{
	if (!hw.mtk_ext)
		return 0;
	return ((uint64_t)((d >> 9) & 1) << 32) | ((uint64_t)((d >> 4) & 1) << 33) |
	       ((uint64_t)((d >> 5) & 1) << 34);
}

/* prot from B, C, TEX[0] (TEX remap index), AP and XN given where they sit */
static unsigned v7s_prot(struct dumpctx *c, uint64_t iova, unsigned b, unsigned cb, unsigned tex,
			 unsigned ap1, unsigned ap2, unsigned xn)
{
	unsigned idx = ((tex & 1) << 2) | (cb << 1) | b, prot;

	if (hw.no_perms) {
		prot = IOMMU_READ | IOMMU_WRITE; /* nothing written, nothing checked */
	} else {
		prot = IOMMU_READ;
		if (!ap2)
			prot |= IOMMU_WRITE;
		if (!ap1)
			prot |= IOMMU_PRIV;
		if (xn)
			prot |= IOMMU_NOEXEC;
	}
	if (idx == 1)                   /* PRRR TR1: device */
		prot |= IOMMU_MMIO;
	else if (idx == 7)              /* NMRR 7: write-back write-allocate */
		prot |= IOMMU_CACHE;
	else if (idx != 4)              /* 4: normal non-cacheable */
		problem(c, "leaf at iova 0x%llx: TEX remap index %llu is not one io-pgtable-arm-v7s writes",
			iova, idx);
	return prot;
}

static unsigned v7s_prot_l1(struct dumpctx *c, uint64_t iova, uint32_t d)
{
	return v7s_prot(c, iova, (d >> 2) & 1, (d >> 3) & 1, (d >> 12) & 7, (d >> 11) & 1,
			(d >> 15) & 1, hw.mtk_ext ? 0 : (d >> 4) & 1);
}

static unsigned v7s_prot_small(struct dumpctx *c, uint64_t iova, uint32_t d)
{
	return v7s_prot(c, iova, (d >> 2) & 1, (d >> 3) & 1, (d >> 6) & 7, (d >> 5) & 1,
			(d >> 9) & 1, d & 1);
}

static unsigned v7s_prot_large(struct dumpctx *c, uint64_t iova, uint32_t d)
{
	return v7s_prot(c, iova, (d >> 2) & 1, (d >> 3) & 1, (d >> 12) & 7, (d >> 5) & 1,
			(d >> 9) & 1, (d >> 15) & 1);
}

/* Are the 16 entries of the replicated group holding t[i] identical? */
static int v7s_group_same(const uint32_t *t, unsigned i)
{
	unsigned g = i & ~15u;

	for (unsigned k = 1; k < 16; k++)
		if (t[g + k] != t[g])
			return 0;
	return 1;
}

static void v7s_l2(struct dumpctx *c, uint64_t pa, uint64_t base)
{
	const uint32_t *t = table_at(c, pa, 256 * 4, base);

	if (!t)
		return;
	for (unsigned j = 0; j < 256; j++) {
		uint32_t d = t[j];
		uint64_t iova = base + ((uint64_t)j << 12);

		if (!(d & 3))
			continue;
		if (d & 2) { /* small page (bit 0 is XN) */
			add_leaf(&c->leaves, stdout, iova, (d & 0xfffff000u) | mtk_ext(d), 1u << 12,
				 v7s_prot_small(c, iova, d));
			continue;
		}
		/* large page: 16 replicated entries make one 64K leaf */
		uint64_t oa = (d & 0xffff0000u) | mtk_ext(d);
		if (v7s_group_same(t, j)) {
			if ((j & 15) == 0)
				add_leaf(&c->leaves, stdout, iova, oa, 1u << 16, v7s_prot_large(c, iova, d));
			continue;
		}
		problem(c, "large page at iova 0x%llx: the 16 replicated entries differ (entry 0x%llx)",
			iova, d);
		add_leaf(&c->leaves, stdout, iova, oa | (iova & 0xf000), 1u << 12,
			 v7s_prot_large(c, iova, d));
	}
}

static void dump_v7s(struct dumpctx *c)
{
	unsigned n1 = 1u << (hw.ias - 20);
	uint64_t l1size = (uint64_t)n1 * 4;
	uint64_t root = (hw.v7s_ttbr & 0xffffffffu & ~(l1size - 1));
	const uint32_t *t;

	if (hw.mtk_ext) /* mtk: ttbr = paddr | upper_32_bits(paddr) */
		root = (hw.v7s_ttbr & 0xffffffffu & ~(l1size - 1)) | ((hw.v7s_ttbr & 7) << 32);
	t = table_at(c, root, l1size, 0);
	if (!t)
		return;
	for (unsigned i = 0; i < n1; i++) {
		uint32_t d = t[i];
		uint64_t iova = (uint64_t)i << 20;

		if ((d & 3) == 0)
			continue;
		if ((d & 3) == 1) { /* page table */
			add_table(c, iova, 1u << 20);
			v7s_l2(c, d & 0xfffffc00u, iova);
			continue;
		}
		if (!(d & (1u << 18))) { /* section */
			add_leaf(&c->leaves, stdout, iova, (d & 0xfff00000u) | mtk_ext(d), 1u << 20,
				 v7s_prot_l1(c, iova, d));
			continue;
		}
		/* supersection: 16 replicated entries make one 16M leaf */
		uint64_t oa = (d & 0xff000000u) | mtk_ext(d);
		if (!hw.mtk_ext) /* ARMv7 supersection: PA[35:32] in [23:20], PA[39:36] in [8:5] */
			oa |= ((uint64_t)((d >> 20) & 0xf) << 32) | ((uint64_t)((d >> 5) & 0xf) << 36);
		if (v7s_group_same(t, i)) {
			if ((i & 15) == 0)
				add_leaf(&c->leaves, stdout, iova, oa, 1u << 24, v7s_prot_l1(c, iova, d));
			continue;
		}
		problem(c, "supersection at iova 0x%llx: the 16 replicated entries differ (entry 0x%llx)",
			iova, d);
		add_leaf(&c->leaves, stdout, iova, oa | (iova & 0xf00000), 1u << 20, v7s_prot_l1(c, iova, d));
	}
}

/* ---- Apple DART (t8020, "DART1") ----------------------------------------- */

static void dump_dart(struct dumpctx *c)
{
	uint64_t pg = hw.pgsize_bitmap;        /* one page size: 4K or 16K */
	unsigned pshift = (unsigned)__builtin_ctzll(pg), bpl = pshift - 3;
	uint64_t n = 1ull << bpl, l2span = n << pshift, pamask = ((1ull << 36) - 1) & ~0xfffull;
	uint64_t limit = hw.ias >= 64 ? 0 : 1ull << hw.ias;

	for (unsigned tt = 0; tt < hw.dart_n_ttbrs; tt++) {
		uint64_t tbase = (uint64_t)tt << (3 * bpl + 3);
		const uint64_t *l1 = table_at(c, hw.dart_ttbr[tt], pg, tbase);
		if (!l1)
			continue;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t d = l1[i], base = tbase + i * l2span;
			if (!(d & 1))
				continue;
			add_table(c, base, l2span);
			const uint64_t *l2 = table_at(c, d & pamask, pg, base);
			if (!l2)
				continue;
			for (uint64_t j = 0; j < n; j++) {
				uint64_t e = l2[j], iova = base + (j << pshift);
				unsigned prot = 0;
				if (!(e & 1))
					continue;
				if (!(e & (1u << 8)))
					prot |= IOMMU_READ;
				if (!(e & (1u << 7)))
					prot |= IOMMU_WRITE;
				if (!(e & 2)) /* subpage protection on: only [start, end] of the page */
					problem(c, "page at iova 0x%llx has subpage protection enabled (0x%llx)",
						iova, e);
				if (limit && iova >= limit) {
					fprintf(stderr, "harness: dump: page at iova 0x%llx is beyond ias %u: "
						"the DART cannot reach it (listed under \"unreachable\")\n",
						(unsigned long long)iova, hw.ias);
					add_leaf(&c->unreachable, unreach_fp, iova, e & pamask, pg, prot);
				} else {
					add_leaf(&c->leaves, stdout, iova, e & pamask, pg, prot);
				}
			}
		}
	}
}


/* ---- AMD IOMMU v1 (host page table, DTE mode 1-6) -------------------------- */

/* AMD v1 PTE/PDE fields (AMD I/O Virtualization Technology spec, "I/O Page Tables") */
#define AMD_PR (1ull << 0)
#define AMD_IR (1ull << 61)
#define AMD_IW (1ull << 62)
#define AMD_ADDR_MASK 0x000ffffffffff000ull  /* bits 51:12 */
#define AMD_NL(d) ((unsigned)((d) >> 9) & 7) /* next level: 0 page, 1-6 table, 7 page of another size */

/* The page size a next-level-7 entry encodes: the first zero address bit n >= 12 gives 2^(n+1). */
static uint64_t amd_nl7_size(uint64_t d)
{
	uint64_t a = (d & AMD_ADDR_MASK) | 0xfff;

	return ~a ? 2ull << __builtin_ctzll(~a) : 0;
}

/* level is 0-based (level 0 holds 4K entries); prot is IR/IW ANDed down the walk */
static void amd_v1_walk(struct dumpctx *c, uint64_t pa, int level, uint64_t base, unsigned prot)
{
	const uint64_t *t = table_at(c, pa, 4096, base);
	unsigned shift = 12 + 9 * (unsigned)level;

	if (!t)
		return;
	for (unsigned i = 0; i < 512; i++) {
		uint64_t d = t[i], span = 1ull << shift, iova = base + ((uint64_t)i << shift);
		unsigned nl = AMD_NL(d), p = prot;

		if (!(d & AMD_PR))
			continue;
		if (shift + 9 > 64 && (i >> (64 - shift))) { /* mode 6: only 128 top entries lie below 2^64 */
			problem(c, "present entry %llu of the top table is above 2^64 (0x%llx)", i, d);
			continue;
		}
		if (!(d & AMD_IR))
			p &= ~IOMMU_READ;
		if (!(d & AMD_IW))
			p &= ~IOMMU_WRITE;
		if (nl >= 1 && nl <= 6) {
			if (level == 0 || nl > (unsigned)level) {
				problem(c, "entry at iova 0x%llx names next level %llu: invalid for its level",
					iova, nl);
				continue;
			}
			if (nl < (unsigned)level)
				problem(c, "entry at iova 0x%llx skips levels (next level %llu): not walked",
					iova, nl);
			else {
				add_table(c, iova, span);
				amd_v1_walk(c, d & AMD_ADDR_MASK, level - 1, iova, p);
			}
			continue;
		}
		if (nl == 0) { /* a page of this level's size */
			add_leaf(&c->leaves, stdout, iova, d & AMD_ADDR_MASK & ~(span - 1), span, p);
			continue;
		}
		/* nl == 7: a page of size S > span, replicated in S/span aligned entries */
		uint64_t size = amd_nl7_size(d);
		if (size <= span || size / span > 512) {
			problem(c, "entry at iova 0x%llx: next level 7 with a page size that does not fit the level (0x%llx)",
				iova, d);
			continue;
		}
		unsigned n = (unsigned)(size / span), first = i & ~(n - 1);
		int same = 1;
		for (unsigned k = first; k < first + n; k++)
			same &= t[k] == d;
		uint64_t pbase = d & AMD_ADDR_MASK & ~(size - 1);
		if (same) {
			if (i == first)
				add_leaf(&c->leaves, stdout, iova, pbase, size, p);
			continue;
		}
		problem(c, "large page at iova 0x%llx: its replicated entries differ (entry 0x%llx)", iova, d);
		add_leaf(&c->leaves, stdout, iova, pbase + (iova & (size - 1)), span, p);
	}
}

static void dump_amd_v1(struct dumpctx *c)
{
	if (hw.amd_mode == 0) /* PAGE_MODE_NONE: no translation */
		return;
	if (hw.amd_mode > 6) {
		problem(c, "DTE mode %llu is not a table (root 0x%llx)", (unsigned long long)hw.amd_mode,
			hw.amd_root);
		return;
	}
	amd_v1_walk(c, hw.amd_root, hw.amd_mode - 1, 0, IOMMU_READ | IOMMU_WRITE);
}

/* ---- AMD IOMMU v2 (guest page table: x86-64 long mode, 4 or 5 levels) ----- */

#define X86_P (1ull << 0)
#define X86_RW (1ull << 1)
#define X86_PS (1ull << 7)

static void amd_v2_walk(struct dumpctx *c, uint64_t pa, int level, uint64_t base, unsigned prot)
{
	const uint64_t *t = table_at(c, pa, 4096, base);
	unsigned shift = 12 + 9 * (unsigned)level;

	if (!t)
		return;
	for (unsigned i = 0; i < 512; i++) {
		uint64_t d = t[i], span = 1ull << shift, iova = base + ((uint64_t)i << shift);
		unsigned p = prot;

		if (!(d & X86_P))
			continue;
		if (!(d & X86_RW))
			p &= ~IOMMU_WRITE;
		if (level > 0 && !(d & X86_PS)) {
			add_table(c, iova, span);
			amd_v2_walk(c, d & AMD_ADDR_MASK, level - 1, iova, p);
			continue;
		}
		if (level > 2) {
			problem(c, "entry at iova 0x%llx has PS set above the 1G level (0x%llx)", iova, d);
			continue;
		}
		/* level 0: a 4K page (bit 7 is PAT there); levels 1, 2: 2M, 1G pages */
		add_leaf(&c->leaves, stdout, iova, d & AMD_ADDR_MASK & ~(span - 1), span, p);
	}
}

static void dump_amd_v2(struct dumpctx *c)
{
	/* READ: a present entry is readable; WRITE only where every level has R/W */
	amd_v2_walk(c, hw.amd_root, hw.amd_mode - 1, 0, IOMMU_READ | IOMMU_WRITE);
}

/* ---- Rockchip IOMMU, v1 ("rockchip,iommu": 32-bit addresses) ------------- */

/*
 * From the MMU's RK_MMU_DTE_ADDR register: a directory table (DT) of 1024
 * DTEs (IOVA bits 31:22), a valid one (bit 0) pointing at a page table of
 * 1024 PTEs (IOVA bits 21:12) with its address in bits 31:12; a valid PTE
 * (bit 0) maps the 4K page at bits 31:12, readable with bit 1, writable with
 * bit 2.  Invalid entries are skipped whatever else they hold (the driver
 * invalidates a PTE by clearing bit 0 only).  Every leaf is a 4K page.
 */
static void dump_rockchip(struct dumpctx *c)
{
	const uint32_t *dt;

	if (!hw.rk_paging) {
		problem(c, "the MMU's paging is not enabled (RK_MMU_DTE_ADDR 0x%llx): no translation",
			hw.rk_dte_addr, 0);
		return;
	}
	dt = table_at(c, hw.rk_dte_addr & 0xfffff000u, 4096, 0);
	if (!dt)
		return;
	for (unsigned i = 0; i < 1024; i++) {
		uint32_t d = dt[i];
		uint64_t base = (uint64_t)i << 22;

		if (!(d & 1))
			continue;
		add_table(c, base, 1u << 22);
		const uint32_t *pt = table_at(c, d & 0xfffff000u, 4096, base);
		if (!pt)
			continue;
		for (unsigned j = 0; j < 1024; j++) {
			uint32_t e = pt[j];

			if (!(e & 1))
				continue;
			add_leaf(&c->leaves, stdout, base + ((uint64_t)j << 12), e & 0xfffff000u, 4096,
				 ((e & 2) ? IOMMU_READ : 0) | ((e & 4) ? IOMMU_WRITE : 0));
		}
	}
}

/* ---- Samsung SysMMU v1-3 (exynos-iommu.c, PG_ENT_SHIFT 0: 32-bit PA) --------- */

static unsigned exy_prot(uint32_t d, unsigned ap_bit, unsigned apx_bit)
{
	if (!(d & (1u << ap_bit)))
		return 0;                            /* no access */
	return (d & (1u << apx_bit)) ? IOMMU_READ : IOMMU_READ | IOMMU_WRITE;
}

/*
 * From the SysMMU's page table base register (v1-3: the lv1 table's address):
 * 4096 lv1 entries (IOVA bits 31:20): low bits 2 a 1M section at bits 31:20,
 * 1 a link to an lv2 table at bits 31:10, 0 and 3 a fault.  An lv2 table has
 * 256 entries (IOVA bits 19:12): low bits 1 a 64K large page at bits 31:16,
 * replicated in 16 aligned entries (one leaf; differing copies are a
 * problem, each then a 4K leaf), bit 1 set a 4K small page at bits 31:12,
 * 0 a fault.  The driver's shared empty lv2 table (ZERO_LV2LINK, what every
 * unmapped lv1 entry links to) is not listed under tables; an entry in it
 * is a problem.
 */
static void exy_lv2(struct dumpctx *c, uint32_t table, uint64_t base)
{
	const uint32_t *t = table_at(c, table, 1024, base);

	if (!t)
		return;
	for (unsigned j = 0; j < 256; j++) {
		uint32_t e = t[j];
		uint64_t iova = base + ((uint64_t)j << 12);

		if ((e & 3) == 0)
			continue;
		if ((e & 3) == 1) { /* large page */
			unsigned first = j & ~15u, same = 1;
			for (unsigned k = first; k < first + 16; k++)
				same &= t[k] == e;
			if (same) {
				if (j == first)
					add_leaf(&c->leaves, stdout, iova, e & 0xffff0000u, 1u << 16,
						 exy_prot(e, 4, 9));
				continue;
			}
			problem(c, "large page at iova 0x%llx: the 16 replicated entries differ (entry 0x%llx)",
				iova, e);
			add_leaf(&c->leaves, stdout, iova, (e & 0xffff0000u) + ((j & 15u) << 12), 1u << 12,
				 exy_prot(e, 4, 9));
			continue;
		}
		add_leaf(&c->leaves, stdout, iova, e & 0xfffff000u, 1u << 12, exy_prot(e, 4, 9));
	}
}

static void dump_exynos(struct dumpctx *c)
{
	const uint32_t *lv1;

	if (!hw.exy_enabled) {
		problem(c, "the SysMMU is not enabled (page table base 0x%llx): no translation",
			hw.exy_pt_base, 0);
		return;
	}
	lv1 = table_at(c, hw.exy_pt_base, 16384, 0);
	if (!lv1)
		return;
	for (unsigned i = 0; i < 4096; i++) {
		uint32_t d = lv1[i];
		uint64_t base = (uint64_t)i << 20;

		if ((d & 3) == 2) {
			add_leaf(&c->leaves, stdout, base, d & 0xfff00000u, 1u << 20, exy_prot(d, 10, 15));
			continue;
		}
		if ((d & 3) != 1)
			continue;
		if ((d & 0xfffffc00u) == hw.exy_zero_lv2) {
			const uint32_t *z = table_at(c, hw.exy_zero_lv2, 1024, base);
			for (unsigned j = 0; z && j < 256; j++)
				if (z[j])
					problem(c, "the shared empty lv2 table holds entry 0x%llx (seen from iova 0x%llx)",
						z[j], base + ((uint64_t)j << 12));
			continue;
		}
		add_table(c, base, 1u << 20);
		exy_lv2(c, d & 0xfffffc00u, base);
	}
}

/* ---- Allwinner H6 IOMMU (sun50i-iommu.c: 32-bit IOVA and PA) ------------------ */

/* The ACI (authority control index) sun50i_iommu_enable sets up: 1 none, 2 read, 3 write, 4 both. */
static unsigned sun_prot(uint32_t e)
{
	switch ((e >> 4) & 0xf) {
	case 2: return IOMMU_READ;
	case 3: return IOMMU_WRITE;
	case 4: return IOMMU_READ | IOMMU_WRITE;
	default: return 0; /* 1 (no access); 0 and 5-15 are never written */
	}
}

/*
 * From IOMMU_TTB_REG: a directory table (DT) of 4096 DTEs (IOVA bits 31:20),
 * valid when bits 1:0 are 1, pointing at a page table of 256 PTEs (IOVA bits
 * 19:12) at bits 31:10; a PTE with bit 1 set maps the 4K page at bits 31:12
 * with the ACI of bits 7:4.  Every leaf is a 4K page.
 */
static void dump_sun50i(struct dumpctx *c)
{
	const uint32_t *dt;

	if (!hw.sun_enabled) {
		problem(c, "the IOMMU is not enabled (IOMMU_TTB_REG 0x%llx): no translation", hw.sun_ttb, 0);
		return;
	}
	dt = table_at(c, hw.sun_ttb, 16384, 0);
	if (!dt)
		return;
	for (unsigned i = 0; i < 4096; i++) {
		uint32_t d = dt[i];
		uint64_t base = (uint64_t)i << 20;

		if ((d & 3) != 1)
			continue;
		add_table(c, base, 1u << 20);
		const uint32_t *pt = table_at(c, d & 0xfffffc00u, 1024, base);
		if (!pt)
			continue;
		for (unsigned j = 0; j < 256; j++) {
			uint32_t e = pt[j];

			if (!(e & 2))
				continue;
			add_leaf(&c->leaves, stdout, base + ((uint64_t)j << 12), e & 0xfffff000u, 4096,
				 sun_prot(e));
		}
	}
}

/* ---- NVIDIA Tegra SMMU (tegra-smmu.c, num_address_bits 32) ------------------------ */

/*
 * From the page directory of the ASID the master's swgroup uses (SMMU_PTB_DATA:
 * its pfn): 1024 PDEs (IOVA bits 31:22); one with NEXT (bit 28) points at a
 * page table (pfn in the PDE's pfn_mask bits) of 1024 PTEs (IOVA bits 21:12);
 * a non-zero PTE maps the 4K page of its pfn, READ with bit 31, WRITE with
 * bit 30 (bit 29, NS, is always set).  A PDE without NEXT that is not 0 is a
 * problem (the driver writes none).
 */
static void dump_tegra(struct dumpctx *c)
{
	const uint32_t *pd;
	uint64_t pfn_mask = hw.tg_pfn_mask;

	if (!hw.tg_enabled) {
		problem(c, "the SMMU does not translate the master's swgroup (PTB 0x%llx): no translation",
			hw.tg_ptb, 0);
		return;
	}
	pd = table_at(c, (hw.tg_ptb & pfn_mask) << 12, 4096, 0);
	if (!pd)
		return;
	for (unsigned i = 0; i < 1024; i++) {
		uint32_t d = pd[i];
		uint64_t base = (uint64_t)i << 22;

		if (!d)
			continue;
		if (!(d & (1u << 28))) {
			problem(c, "PDE at iova 0x%llx without NEXT: 0x%llx", base, d);
			continue;
		}
		add_table(c, base, 1u << 22);
		const uint32_t *pt = table_at(c, (d & pfn_mask) << 12, 4096, base);
		if (!pt)
			continue;
		for (unsigned j = 0; j < 1024; j++) {
			uint32_t e = pt[j];

			if (!e)
				continue;
			add_leaf(&c->leaves, stdout, base + ((uint64_t)j << 12), (e & pfn_mask) << 12, 4096,
				 ((e >> 31) & 1 ? IOMMU_READ : 0) | ((e >> 30) & 1 ? IOMMU_WRITE : 0));
		}
	}
}

/* ---- Intel VT-d second-level tables (dma_pte, before generic_pt) --------- */

/*
 * From the pgd and the level count the device's context (legacy mode) or
 * PASID (scalable mode) entry holds: 512 64-bit entries per table; an entry
 * is present when READ (bit 0) or WRITE (bit 1) is set; at level 1 it maps a
 * 4K page, at levels 2 and 3 a 2M / 1G page when PS (bit 7, DMA_PTE_LARGE_PAGE)
 * is set, else it points at the next table; PS at level 4 and up is a
 * problem.  Output and table addresses are bits 51:12 (the HAW at most 52);
 * bits 62:52 set in a present entry are reported as a problem (reserved in
 * the second-level format), and the address is reported without them.
 */
#define VTD_ADDR_MASK 0x000ffffffffff000ull

static void vtd_walk(struct dumpctx *c, uint64_t pa, int level, uint64_t base)
{
	const uint64_t *t = table_at(c, pa, 4096, base);
	unsigned shift = 12 + 9 * (unsigned)(level - 1);

	if (!t)
		return;
	for (unsigned i = 0; i < 512; i++) {
		uint64_t d = t[i], span = 1ull << shift, iova = base + ((uint64_t)i << shift);

		if (!(d & 3))
			continue;
		if (d & 0x7ff0000000000000ull)
			problem(c, "entry at iova 0x%llx has address bits above 51 set (0x%llx)", iova, d);
		if (level > 1 && !(d & (1ull << 7))) {
			add_table(c, iova, span);
			vtd_walk(c, d & VTD_ADDR_MASK, level - 1, iova);
			continue;
		}
		if (level > 3) {
			problem(c, "entry at iova 0x%llx has PS set at level 4 or above (0x%llx)", iova, d);
			continue;
		}
		add_leaf(&c->leaves, stdout, iova, d & VTD_ADDR_MASK & ~(span - 1), span,
			 ((d & 1) ? IOMMU_READ : 0) | ((d & 2) ? IOMMU_WRITE : 0));
	}
}

static void dump_vtd(struct dumpctx *c)
{
	if (!hw.vtd_pgd) {
		problem(c, "the domain has no pgd (levels %llu): no translation",
			(unsigned long long)hw.vtd_levels, 0);
		return;
	}
	vtd_walk(c, hw.vtd_pgd, hw.vtd_levels, 0);
}

/* ---- s390 zPCI I/O translation tables (s390-iommu.c 6.7+, asm/pci_dma.h) ---------- */

/*
 * From the IOTA the zPCI function's IOAT was registered with (MPCIFC): the
 * enable bit (0x800), the designation type (bits 4:2: 3 region-first, 2
 * region-second, 1 region-third, 0 segment table) and the root table's
 * origin (bits 63:14).  Region and segment tables have 2048 8-byte entries
 * (16K), indexed by IOVA bits 63:53, 52:42, 41:31 and 30:20; page tables
 * 256 (2K), by bits 19:12.  A region or segment entry is valid when its
 * invalid bit (0x20) is clear; its table-type bits (3:2) must name its own
 * table's type; a region entry points at the next table by bits 63:14 (and
 * should say a whole one: length bits 1:0 = 3, offset bits 7:6 = 0), a
 * segment entry at a page table by bits 63:11.  A PTE is valid when bit
 * 0x400 is clear and maps the 4K page at bits 63:12; the protection bit
 * (0x200) of the PTE or of any entry above it makes the page read-only.
 * Pages outside the registered [base, limit] go to "unreachable".
 */
#define ZPCI_INVALID 0x20ull
#define ZPCI_PROT 0x200ull
#define ZPCI_PTE_INV 0x400ull

static void s390_leaf(struct dumpctx *c, uint64_t iova, uint64_t pte, unsigned prot)
{
	if (pte & ZPCI_PROT)
		prot &= ~IOMMU_WRITE;
	if (iova < hw.s390_base || iova > hw.s390_limit)
		add_leaf(&c->unreachable, unreach_fp, iova, pte & ~0xfffull, 4096, prot);
	else
		add_leaf(&c->leaves, stdout, iova, pte & ~0xfffull, 4096, prot);
}

/* A table of type `type` (3..1 region-first..third, 0 segment, -1 page table) at pa. */
static void s390_walk(struct dumpctx *c, uint64_t pa, int type, uint64_t base, unsigned prot)
{
	if (type < 0) {
		const uint64_t *pt = table_at(c, pa, 2048, base);
		for (unsigned i = 0; pt && i < 256; i++)
			if (!(pt[i] & ZPCI_PTE_INV))
				s390_leaf(c, base + ((uint64_t)i << 12), pt[i], prot);
		return;
	}
	unsigned shift = 20 + 11 * (unsigned)type;
	const uint64_t *t = table_at(c, pa, 16384, base);
	if (!t)
		return;
	for (unsigned i = 0; i < 2048; i++) {
		uint64_t d = t[i], iova = base + ((uint64_t)i << shift);
		unsigned p = (d & ZPCI_PROT) ? prot & ~IOMMU_WRITE : prot;

		if (d & ZPCI_INVALID)
			continue;
		if (((d >> 2) & 3) != (unsigned)type) {
			problem(c, "entry at iova 0x%llx has the wrong table type (0x%llx)", iova, d);
			continue;
		}
		if (type > 0 && ((d & 3) != 3 || (d & 0xc0)))
			problem(c, "region entry at iova 0x%llx names part of a table (0x%llx)", iova, d);
		add_table(c, iova, 1ull << shift);
		s390_walk(c, d & (type > 0 ? ~0x3fffull : ~0x7ffull), type - 1, iova, p);
	}
}

static void dump_s390(struct dumpctx *c)
{
	uint64_t iota = hw.s390_iota;

	if (!(iota & 0x800)) {
		problem(c, "the zPCI function has no translation registered (IOTA 0x%llx)", iota, 0);
		return;
	}
	if (((iota >> 2) & 7) > 3) {
		problem(c, "IOTA 0x%llx designates no region or segment table", iota, 0);
		return;
	}
	s390_walk(c, iota & ~0x3fffull, (int)((iota >> 2) & 7), 0, IOMMU_READ | IOMMU_WRITE);
}

/* ---- Unisoc IOMMU (sprd-iommu.c: one flat table of u32 PTEs) ---------------- */

/*
 * From the registers sprd_iommu_attach_device programs: FIRST_PPN (the
 * table's page number), FIRST_VPN and VPN_RANGE (the aperture: VPN_RANGE + 1
 * PTEs of 4K pages from FIRST_VPN).  A PTE is the page number of the 4K page
 * it maps and nothing else: no valid bit, no permissions.  A PTE of 0 is
 * physical page 0 as much as "unmapped" (the driver's unmap writes 0); dump
 * reports every non-zero PTE as a 4K leaf with prot 0 and never reports a PTE
 * of 0, so a map of physical page 0 (or of 4G, 8G, ...: the driver keeps
 * (u32)paddr >> 12) shows no leaf.  The table is no "tables" entry (it is the
 * root).  The IOMMU disabled (CFG) is a problem: no translation.
 */
static void dump_sprd(struct dumpctx *c)
{
	const uint32_t *t;
	uint64_t n = hw.sprd_vpn_range + 1, base = hw.sprd_first_vpn << 12;

	if (!hw.sprd_enabled) {
		problem(c, "the IOMMU is not enabled (FIRST_PPN 0x%llx): no translation",
			hw.sprd_first_ppn, 0);
		return;
	}
	t = table_at(c, hw.sprd_first_ppn << 12, n * 4, base);
	if (!t)
		return;
	for (uint64_t i = 0; i < n; i++)
		if (t[i])
			add_leaf(&c->leaves, stdout, base + (i << 12), (uint64_t)t[i] << 12, 4096, 0);
}

/* ---- OMAP IOMMU (omap-iommu.c, omap-iopgtable.h: 32-bit IOVA and PA) ----------- */

/*
 * From the MMU's MMU_TTB register (the PGD's physical address): 4096 PGD
 * entries (IOVA bits 31:20): low bits 1 a link to an L2 table at bits 31:10;
 * 2 a 1M section at bits 31:20, or with bit 18 set a 16M supersection at bits
 * 31:24, written to 16 aligned entries (one leaf; where the 16 differ, each
 * entry is the 1M piece the MMU translates from it: the supersection's
 * address plus the piece's offset); 0 and 3 a fault.  An L2 table has 256
 * entries (IOVA bits 19:12): bit 1 set a 4K small page at bits 31:12, low bits
 * 1 a 64K large page at bits 31:16 in 16 aligned entries (one leaf; where the
 * 16 differ, each entry is its 4K piece), 0 a fault.  No permission bits:
 * every leaf is READ|WRITE.
 */
#define OMAP_RW (IOMMU_READ | IOMMU_WRITE)

static void omap_l2(struct dumpctx *c, uint32_t table, uint64_t base)
{
	const uint32_t *t = table_at(c, table, 1024, base);

	if (!t)
		return;
	for (unsigned j = 0; j < 256; j++) {
		uint32_t e = t[j];
		uint64_t iova = base + ((uint64_t)j << 12);

		if (e & 2) {
			add_leaf(&c->leaves, stdout, iova, e & 0xfffff000u, 1u << 12, OMAP_RW);
			continue;
		}
		if ((e & 3) != 1)
			continue;
		unsigned first = j & ~15u, same = 1;
		for (unsigned k = first; k < first + 16; k++)
			same &= t[k] == e;
		if (same) {
			if (j == first)
				add_leaf(&c->leaves, stdout, iova, e & 0xffff0000u, 1u << 16, OMAP_RW);
			continue;
		}
		add_leaf(&c->leaves, stdout, iova, (e & 0xffff0000u) + ((j & 15u) << 12), 1u << 12, OMAP_RW);
	}
}

static void dump_omap(struct dumpctx *c)
{
	const uint32_t *pgd;

	if (!hw.omap_enabled) {
		problem(c, "the MMU is not enabled (MMU_TTB 0x%llx): no translation", hw.omap_ttb, 0);
		return;
	}
	pgd = table_at(c, hw.omap_ttb, 16384, 0);
	if (!pgd)
		return;
	for (unsigned i = 0; i < 4096; i++) {
		uint32_t d = pgd[i];
		uint64_t base = (uint64_t)i << 20;

		if ((d & 3) == 1) {
			add_table(c, base, 1u << 20);
			omap_l2(c, d & 0xfffffc00u, base);
			continue;
		}
		if ((d & 3) != 2)
			continue;
		if (!(d & (1u << 18))) {
			add_leaf(&c->leaves, stdout, base, d & 0xfff00000u, 1u << 20, OMAP_RW);
			continue;
		}
		unsigned first = i & ~15u, same = 1;
		for (unsigned k = first; k < first + 16; k++)
			same &= pgd[k] == d;
		if (same) {
			if (i == first)
				add_leaf(&c->leaves, stdout, base, d & 0xff000000u, 1u << 24, OMAP_RW);
			continue;
		}
		add_leaf(&c->leaves, stdout, base, (d & 0xff000000u) + ((i & 15u) << 20), 1u << 20, OMAP_RW);
	}
}

/* ---- virtio-iommu: the device's mappings, one leaf each (glue_virtio.c) ------------ */

static void dump_virtio(struct dumpctx *c)
{
	unsigned long long m[4];

	for (unsigned i = 0; hw.virtio_mapping && hw.virtio_mapping(i, m); i++) {
		if (!in_window(m[0], m[2]))
			continue;
		emit_run(&c->leaves, stdout); /* a mapping is never merged with its neighbour */
		c->leaves = (struct run){ m[0], m[1], m[2], 1, (unsigned)m[3], 1, c->leaves.first };
	}
}

static void dump(void)
{
	struct dumpctx c = { .leaves = { .first = 1 }, .unreachable = { .first = 1 }, .tables_first = 1 };

	unreach_fp = open_memstream(&unreach_buf, &unreach_len);
	printf("{\"ret\":0,\"leaves\":[");
	lpt_refresh_hw(&hw);
	if (format == LPT_LPAE_S1 || format == LPT_LPAE_S2)
		dump_lpae(&c);
	else if (format == LPT_V7S || format == LPT_V7S_MSM)
		dump_v7s(&c);
	else if (format == LPT_AMD_V1)
		dump_amd_v1(&c);
	else if (format == LPT_AMD_V2)
		dump_amd_v2(&c);
	else if (format == LPT_ROCKCHIP)
		dump_rockchip(&c);
	else if (format == LPT_EXYNOS)
		dump_exynos(&c);
	else if (format == LPT_SUN50I)
		dump_sun50i(&c);
	else if (format == LPT_TEGRA_SMMU)
		dump_tegra(&c);
	else if (format == LPT_VTD)
		dump_vtd(&c);
	else if (format == LPT_S390)
		dump_s390(&c);
	else if (format == LPT_SPRD)
		dump_sprd(&c);
	else if (format == LPT_OMAP)
		dump_omap(&c);
	else if (format == LPT_VIRTIO)
		dump_virtio(&c);
	else
		dump_dart(&c);
	emit_run(&c.leaves, stdout);
	emit_run(&c.unreachable, unreach_fp);
	fclose(unreach_fp);
	printf("],\"tables\":[%s]", c.tables ? c.tables : "");
	if (unreach_len)
		printf(",\"unreachable\":[%s]", unreach_buf);
	if (c.problems)
		printf(",\"problems\":%d", c.problems);
	free(unreach_buf);
	unreach_buf = NULL;
	free(c.tables);
}

/* ------------------------------------------------------------------------ */
/* The protocol                                                              */
/* ------------------------------------------------------------------------ */

/* indexed by enum lpt_format */
static const char *FORMATS[] = { "lpae-s1", "v7s", "dart", "amd-v1", "amd-v2", "lpae-s2", "rockchip",
				 "exynos", "sun50i", "tegra-smmu", "vtd", "s390", "sprd", "v7s-msm", "omap",
				 "virtio" };
#define NFORMATS 16
#define KNOWN_FORMATS "lpae-s1, lpae-s2, v7s, dart, amd-v1, amd-v2, rockchip, exynos, sun50i, " \
		      "tegra-smmu, vtd, s390, sprd, v7s-msm, omap, virtio"

/* The driver files the driver formats compile (build.py: DRIVER_SOURCES). */
static const char *format_file(int f)
{
	if (f == LPT_AMD_V1 || f == LPT_AMD_V2)
		return "drivers/iommu/amd";
	if (f == LPT_EXYNOS)
		return "drivers/iommu/exynos-iommu.c";
	if (f == LPT_SUN50I)
		return "drivers/iommu/sun50i-iommu.c";
	if (f == LPT_TEGRA_SMMU)
		return "drivers/iommu/tegra-smmu.c";
	if (f == LPT_VTD)
		return "drivers/iommu/intel/iommu.c";
	if (f == LPT_S390)
		return "drivers/iommu/s390-iommu.c";
	if (f == LPT_SPRD)
		return "drivers/iommu/sprd-iommu.c";
	if (f == LPT_OMAP)
		return "drivers/iommu/omap-iommu.c";
	if (f == LPT_VIRTIO)
		return "drivers/iommu/virtio-iommu.c";
	return f == LPT_ROCKCHIP ? "drivers/iommu/rockchip-iommu.c" : "?";
}

/* hello's ops: iotlb_sync where the driver has one (not rockchip), iotlb_sync_map likewise */
static void print_ops(void)
{
	printf("[\"hello\",\"domain_alloc\",\"domain_free\",\"map_pages\",\"unmap_pages\"%s%s,"
	       "\"iova_to_phys\",\"dump\",\"fail_alloc\"]",
	       lpt_has_iotlb_sync(format) ? ",\"iotlb_sync\"" : "",
	       lpt_has_iotlb_sync_map(format) ? ",\"iotlb_sync_map\"" : "");
}

/* prot bits dump can report faithfully, per format (see the comment at the top) */
static unsigned prot_mask(void)
{
	if (format == LPT_LPAE_S1)
		return IOMMU_CACHE | IOMMU_NOEXEC | IOMMU_MMIO | IOMMU_PRIV;
	if (format == LPT_LPAE_S2)
		return IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE | IOMMU_NOEXEC | IOMMU_MMIO;
	if (format == LPT_V7S || format == LPT_V7S_MSM)
		return hw.no_perms ? IOMMU_CACHE | IOMMU_MMIO
				   : IOMMU_CACHE | IOMMU_NOEXEC | IOMMU_MMIO | IOMMU_PRIV;
	if (format == LPT_AMD_V2)
		return 0; /* READ always; WRITE alone maps READ|WRITE; nothing else encoded */
	if (format == LPT_EXYNOS)
		return IOMMU_READ; /* READ and no access survive; WRITE alone maps READ|WRITE */
	if (format == LPT_VTD)
		return IOMMU_WRITE; /* every PTE has bit 0 (READ): WRITE alone maps READ|WRITE */
	if (format == LPT_S390)
		return IOMMU_WRITE; /* valid is readable: READ-only (PROTECTED) vs READ|WRITE */
	if (format == LPT_SPRD)
		return 0; /* no permission bits: every leaf reads back prot 0 */
	if (format == LPT_OMAP)
		return 0; /* no permission bits: every leaf is READ|WRITE, whatever the prot */
	if (format == LPT_VIRTIO) /* VIRTIO_IOMMU_MAP_F_READ / _WRITE / _MMIO */
		return IOMMU_READ | IOMMU_WRITE | IOMMU_MMIO;
	return IOMMU_READ | IOMMU_WRITE; /* dart, amd-v1, rockchip, sun50i, tegra-smmu */
}

static long warnings_before;
/* The table pages allocated before the current domain: domain_free reports the ones it left. */
static long tables_before;

static void reply_end(void)
{
	linuxpt_tlb_emit(stdout);
	if (linuxpt_warnings != warnings_before)
		printf(",\"warnings\":%ld", linuxpt_warnings - warnings_before);
	warnings_before = linuxpt_warnings;
	printf("}\n");
}

static void serve(const struct jval *req)
{
	const struct jval *opv = field(req, "op");
	const char *op = opv && opv->type == J_STR ? opv->str : "", *bad = NULL;

	if (!strcmp(op, "hello")) {
		printf("{\"version\":1,\"name\":\"linux-%s-%s\",\"ops\":", lpt_kernel_series(),
		       FORMATS[format]);
		print_ops();
		printf(",\"kernel\":\"%s\",\"format\":\"%s\",\"core\":\"%s\"", lpt_kernel_version(),
		       FORMATS[format], lpt_core(format));
		if (semantics)
			printf(",\"semantics\":\"%s\"", semantics);
		printf("}\n");
		return;
	}
	if (!strcmp(op, "domain_alloc")) {
		uint64_t b = get_u64(req, "pgsize_bitmap", &bad), ias = get_u64(req, "ias", &bad),
			 oas = get_u64(req, "oas", &bad);
		if (bad)
			goto bad_field;
		if (ias > 64 || oas > 64) {
			lpt_domain_free();
			printf("{\"ret\":%d", -EINVAL);
			reply_end();
			return;
		}
		linuxpt_fail_alloc(-1);
		/*
		 * The previous domain is freed first, so that what it left
		 * allocated (a driver that leaks: sun50i, tegra-smmu) is not
		 * counted as this domain's at its domain_free.
		 */
		lpt_domain_free();
		tables_before = linuxpt_live_tables;
		int ret = lpt_domain_alloc(format, b, (unsigned)ias, (unsigned)oas, &hw);
		if (!ret && (format == LPT_AMD_V1 || format == LPT_AMD_V2 || format == LPT_ROCKCHIP ||
			     format == LPT_EXYNOS || format == LPT_SUN50I ||
			     format == LPT_TEGRA_SMMU || format == LPT_VTD || format == LPT_S390 ||
			     format == LPT_SPRD || format == LPT_OMAP)) {
			/*
			 * The AMD, rockchip, exynos, sun50i, tegra-smmu, vtd, s390,
			 * sprd and omap formats take no page sizes from the caller:
			 * the domain's are AMD_IOMMU_PGSIZES(_V2),
			 * RK_IOMMU_PGSIZE_BITMAP, exynos_iommu_ops' 1M|64K|4K,
			 * sun50i_iommu_ops', tegra_smmu_ops' and s390_iommu_ops' 4K,
			 * VT-d's 4K|2M|1G, sprd_iommu_ops' (6.1 ~0UL << 12, 6.12 4K),
			 * or OMAP_IOMMU_PGSIZES (4K|64K|1M|16M).
			 * The reply offers those of them that were asked for (none:
			 * -EINVAL).
			 */
			hw.pgsize_bitmap &= b;
			if (!hw.pgsize_bitmap) {
				lpt_domain_free();
				ret = -EINVAL;
			}
		}
		if (ret)
			printf("{\"ret\":%d", ret);
		else
			printf("{\"ret\":0,\"pgsize_bitmap\":%llu,\"ias\":%u,\"oas\":%u,\"prot_mask\":%u",
			       hw.pgsize_bitmap, hw.ias, hw.oas, prot_mask());
		reply_end();
		return;
	}
	if (!strcmp(op, "domain_free")) {
		lpt_domain_free();
		printf("{\"ret\":0,\"table_pages\":%ld", linuxpt_live_tables - tables_before);
		reply_end();
		return;
	}
	if (!strcmp(op, "fail_alloc")) {
		uint64_t after = get_u64(req, "after", &bad);
		if (bad)
			goto bad_field;
		linuxpt_fail_alloc(after >= (1ull << 62) - 1 ? -1 : (long)after);
		printf("{\"ret\":0");
		reply_end();
		return;
	}
	if (strcmp(op, "map_pages") && strcmp(op, "unmap_pages") &&
	    (strcmp(op, "iotlb_sync") || !lpt_has_iotlb_sync(format)) &&
	    strcmp(op, "iova_to_phys") && strcmp(op, "dump") &&
	    (strcmp(op, "iotlb_sync_map") || !lpt_has_iotlb_sync_map(format))) {
		printf("{\"error\":\"unsupported\"}\n");
		return;
	}
	if (!lpt_have_domain()) {
		printf("{\"error\":\"no domain: send domain_alloc first\"}\n");
		return;
	}
	uint64_t iova = 0, paddr = 0, pgsize = 0, pgcount = 0, prot = 0, size = 0;
	if (!strcmp(op, "map_pages") || !strcmp(op, "unmap_pages") || !strcmp(op, "iova_to_phys") ||
	    !strcmp(op, "iotlb_sync_map"))
		iova = get_u64(req, "iova", &bad);
	if (!strcmp(op, "iotlb_sync_map"))
		size = get_u64(req, "size", &bad);
	dump_lo = 0;
	dump_last = UINT64_MAX;
	if (!strcmp(op, "dump")) /* optional: only [iova, iova + size) */
		get_dump_window(req, &dump_lo, &dump_last, &bad);
	if (!strcmp(op, "map_pages")) {
		paddr = get_u64(req, "paddr", &bad);
		prot = get_u64(req, "prot", &bad);
		if (!bad && prot > 0xff)
			bad = "prot";
	}
	if (!strcmp(op, "map_pages") || !strcmp(op, "unmap_pages")) {
		pgsize = get_u64(req, "pgsize", &bad);
		pgcount = get_u64(req, "pgcount", &bad);
	}
	if (bad)
		goto bad_field;

	if (!strcmp(op, "map_pages")) {
		unsigned long long mapped = 0;
		int ret = lpt_map_pages(iova, paddr, pgsize, pgcount, (int)prot, &mapped);
		printf("{\"ret\":%d,\"mapped\":%llu", ret, mapped);
	} else if (!strcmp(op, "unmap_pages")) {
		printf("{\"ret\":%llu", lpt_unmap_pages(iova, pgsize, pgcount));
	} else if (!strcmp(op, "iotlb_sync")) {
		lpt_iotlb_sync();
		printf("{\"ret\":0");
	} else if (!strcmp(op, "iotlb_sync_map")) {
		printf("{\"ret\":%d", lpt_iotlb_sync_map(iova, size));
	} else if (!strcmp(op, "iova_to_phys")) {
		printf("{\"ret\":%llu", lpt_iova_to_phys(iova));
	} else {
		dump();
	}
	reply_end();
	return;
bad_field:
	printf("{\"error\":\"bad request: field %s is missing or not an integer in [0, 2^64)\"}\n", bad);
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s --format lpae-s1|lpae-s2|v7s|dart|amd-v1|amd-v2|rockchip|exynos|sun50i|"
		"tegra-smmu|vtd|s390|sprd|v7s-msm|omap|virtio "
		"[--semantics NAME]\n"
		"Serves iommu-spec protocol v1 (driver-only) on stdin/stdout over Linux %s's page-table code.\n",
		argv0, lpt_kernel_version());
	return 2;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *name = NULL;
		if (!strcmp(argv[i], "--format") && i + 1 < argc)
			name = argv[++i];
		else if (!strncmp(argv[i], "--format=", 9))
			name = argv[i] + 9;
		else if (!strcmp(argv[i], "--semantics") && i + 1 < argc) {
			/* declared in hello: the variant this tree runs (linuxpt/formats.py) */
			semantics = argv[++i];
			if (strspn(semantics, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(semantics))
				return usage(argv[0]);
			continue;
		} else if (!strcmp(argv[i], "--version")) {
			printf("%s\n", lpt_kernel_version());
			return 0;
		} else
			return usage(argv[0]);
		format = -1;
		for (int f = 0; f < NFORMATS; f++)
			if (!strcmp(name, FORMATS[f]))
				format = f;
		if (format < 0) {
			fprintf(stderr, "%s: unknown format %s (known: " KNOWN_FORMATS ")\n", argv[0], name);
			return 2;
		}
		if (!lpt_format_built(format) && lpt_format_refusal(format)) {
			fprintf(stderr, "%s: format %s: %s\n", argv[0], name, lpt_format_refusal(format));
			return 2;
		}
		if (!lpt_format_built(format)) {
			fprintf(stderr, "%s: format %s: this harness was built from a tree without "
				"%s\n", argv[0], name, format_file(format));
			return 2;
		}
	}
	if (format < 0)
		return usage(argv[0]);

	serve_requests(serve);
	lpt_domain_free();
	return 0;
}
