/*
 * linuxpt kernel shim for drivers/iommu/s390-iommu.c (6.7+, whose region,
 * segment and page tables live in the driver): our own stand-ins for the
 * zPCI function (arch/s390's <asm/pci.h>: struct zpci_dev with the members
 * the driver reads, to_zpci_dev), the zPCI instructions the driver issues
 * (<asm/pci_insn.h>: zpci_register_ioat / zpci_unregister_ioat, MPCIFC;
 * zpci_refresh_trans, RPCIT, inline assembly in the kernel: here functions
 * of shim/glue_s390.c that record what the hardware is asked), RCU (one
 * thread: call_rcu runs the callback at once), the rculist helpers, atomic64
 * counters, and the boot-parameter and initcall plumbing.  The tree's own
 * arch/s390/include/asm/pci_dma.h (the table layout) is used as it is.
 * Written for iommu-spec; no kernel source is copied here.
 */
#ifndef LINUXPT_KSHIM_S390_H
#define LINUXPT_KSHIM_S390_H

#include <linuxpt/kshim_drv.h>

/* S390_IOMMU selects IOMMU_DMA since the driver became the s390 DMA API's IOMMU (v6.7):
 * the tree's dma-iommu.h then declares iommu_dma_forcedac, which s390_iommu_init sets */
#define CONFIG_IOMMU_DMA 1

#ifndef PAGE_ALIGN
#define PAGE_ALIGN(addr) (((addr) + PAGE_SIZE - 1) & PAGE_MASK)
#endif
#ifndef EIO
#define EIO 5
#endif
#define min3(a, b, c) min(min(a, b), c)
#define strcmp(a, b) __builtin_strcmp((a), (b))

/* ---- storage keys (arch/s390 page.h): the default key is 0 (ZPCI_KEY in pci_dma.h) ---- */
#define PAGE_DEFAULT_KEY 0

/* ---- atomics: xchg and the 64-bit counters the driver keeps (zpci_iommu_ctrs) -------- */
#define xchg(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define atomic64_inc(v) __atomic_fetch_add(&(v)->counter, 1, __ATOMIC_RELAXED)
#define atomic64_add(i, v) __atomic_fetch_add(&(v)->counter, (i), __ATOMIC_RELAXED)

/* ---- RCU: one thread, no reader outlives a call; a grace period is immediate ---------- */
struct rcu_head {
	struct rcu_head *next;
	void (*func)(struct rcu_head *head);
};
#define rcu_read_lock() do { } while (0)
#define rcu_read_unlock() do { } while (0)
static inline void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
	func(head);
}
#define INIT_LIST_HEAD_RCU(h) INIT_LIST_HEAD(h)
#define list_add_rcu(e, h) list_add((e), (h))
#define list_del_rcu(e) list_del(e)
/* the optional fourth argument is a lockdep condition */
#define list_for_each_entry_rcu(pos, h, member, ...) list_for_each_entry(pos, h, member)

/* ---- boot parameters and initcalls: the glue calls the handlers itself ---------------- */
#define __setup(str, fn)
/* lib/kstrtox.c kstrtou32: a whole decimal (base 10 only here) fitting in u32, else -EINVAL */
static inline int kstrtou32(const char *s, unsigned int base, u32 *res)
{
	unsigned long long v = 0;

	if (base != 10 || !*s)
		return -EINVAL;
	for (; *s && *s != '\n'; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > 0xffffffffull)
			return -ERANGE;
	}
	*res = (u32)v;
	return 0;
}
/* the core's strict/lazy switch (iommu.dma_strict): no DMA API here */
static inline void iommu_set_dma_strict(void) { }
/* mm: the end of the direct mapping (s390_iommu_init's default aperture); the glue's */
extern void *high_memory;

/* ---- the core's capability and reserved-region types ---------------------------------- */
enum iommu_cap {
	IOMMU_CAP_CACHE_COHERENCY,
	IOMMU_CAP_NOEXEC,
	IOMMU_CAP_PRE_BOOT_PROTECTION,
	IOMMU_CAP_ENFORCE_CACHE_COHERENCY,
	IOMMU_CAP_DEFERRED_FLUSH,
	IOMMU_CAP_DIRTY_TRACKING,
};
enum iommu_resv_type { IOMMU_RESV_DIRECT, IOMMU_RESV_DIRECT_RELAXABLE, IOMMU_RESV_RESERVED,
		       IOMMU_RESV_MSI, IOMMU_RESV_SW_MSI };
struct iommu_resv_region {
	struct list_head list;
	phys_addr_t start;
	size_t length;
	int prot;
	enum iommu_resv_type type;
};
/* only reached through ops->get_resv_regions, which the glue never calls */
static inline struct iommu_resv_region *iommu_alloc_resv_region(phys_addr_t start, size_t length,
								int prot, enum iommu_resv_type type,
								gfp_t gfp)
{
	(void)start; (void)length; (void)prot; (void)type; (void)gfp;
	linuxpt_unreachable("iommu_alloc_resv_region");
}

/* the per-device IOMMU data of the core (struct dev_iommu): the member the driver sets */
struct dev_iommu {
	u32 shadow_on_flush : 1;
};

/* ---- <asm/pci.h>: the zPCI function, as far as s390-iommu.c reads it ------------------ */
/* the PCI function types CLP reports (our own numbering: the driver only compares) */
enum pci_func_type { PCI_FUNC_TYPE_ISM = 5, PCI_FUNC_TYPE_OTHER = 1 };
struct zpci_dev {
	u32 fid;                       /* function ID */
	u32 fh;                        /* function handle: the RPCIT/MPCIFC operand's high word */
	u8 pft;                        /* function type */
	u8 tlb_refresh : 1;            /* CLP's "refresh": the IOTLB must be refreshed on map too */
	u64 start_dma, end_dma;        /* the function's DMA address range (CLP, trimmed) */
	unsigned long *dma_table;      /* the table the IOAT registered */
	struct iommu_domain *s390_domain;
	spinlock_t dom_lock;
	struct list_head iommu_list;   /* on s390_domain->devices */
	struct iommu_device iommu_dev; /* each zPCI function is its own IOMMU */
};
/* to_zpci(to_pci_dev(dev)) in the kernel; here the glue's device carries its zpci_dev */
static inline struct zpci_dev *to_zpci_dev(struct device *dev)
{
	return dev ? (struct zpci_dev *)dev->driver_data : NULL;
}
static inline bool dev_is_pci(struct device *dev) { return to_zpci_dev(dev) != NULL; }

/* ---- <asm/pci_insn.h>: condition codes and the instructions (shim/glue_s390.c) -------- */
#define ZPCI_CC_OK 0
#define ZPCI_CC_ERR 1
#define ZPCI_CC_BUSY 2
#define ZPCI_CC_INVAL_HANDLE 3
/* an MPCIFC status our function never reports (it only matters with cc ZPCI_CC_ERR) */
#define ZPCI_PCI_ST_FUNC_NOT_AVAIL 40
/* MPCIFC "register I/O address translation parameters": the IOTA and [base, limit] */
int zpci_register_ioat(struct zpci_dev *zdev, u8 dmaas, u64 base, u64 limit, u64 iota, u8 *status);
/* MPCIFC "deregister I/O address translation parameters" */
int zpci_unregister_ioat(struct zpci_dev *zdev, u8 dmaas);
/* RPCIT: refresh the function's cached translations of [addr, addr + range) */
int zpci_refresh_trans(u64 fn, u64 addr, u64 range);
/* the driver's own non-static functions (declared in <asm/pci.h> in the kernel) */
int zpci_iommu_register_ioat(struct zpci_dev *zdev, u8 *status);
int zpci_init_iommu(struct zpci_dev *zdev);
void zpci_destroy_iommu(struct zpci_dev *zdev);

#endif
