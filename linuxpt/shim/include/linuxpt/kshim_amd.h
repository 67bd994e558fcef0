/*
 * linuxpt kernel shim, driver side: our own stand-ins for the kernel types
 * and helpers that drivers/iommu/amd/amd_iommu_types.h and amd_iommu.h use
 * (those two headers are the tree's own, included unmodified by the AMD
 * io-pgtable files and by linuxpt's shim/glue_amd.c).  Most of these types
 * only have to exist: the headers embed them in structures (struct
 * amd_iommu, struct iommu_dev_data, ...) that linuxpt never instantiates.
 * Written for iommu-spec; no kernel source is copied here.
 */
#ifndef LINUXPT_KSHIM_AMD_H
#define LINUXPT_KSHIM_AMD_H

#include <linuxpt/kshim.h>

typedef unsigned __int128 u128;
typedef unsigned int ioasid_t;
typedef struct { int unused; } raw_spinlock_t;
typedef struct { long long counter; } atomic64_t;

#define atomic64_set(v, i) WRITE_ONCE((v)->counter, (i))
#define atomic64_read(v) READ_ONCE((v)->counter)

#define lockdep_assert_held(l) do { (void)(l); } while (0)

/* ---- bits used by the AMD files ---------------------------------------- */
#define IS_ALIGNED(x, a) (((x) & ((typeof(x))(a) - 1)) == 0)
static inline bool is_power_of_2(unsigned long n) { return n != 0 && (n & (n - 1)) == 0; }
/* ffz: the index of the first zero bit */
#define ffz(x) __ffs(~(unsigned long)(x))
static inline int test_and_clear_bit(long nr, volatile unsigned long *addr)
{
	unsigned long mask = 1UL << (nr % BITS_PER_LONG);

	return (__atomic_fetch_and(&addr[nr / BITS_PER_LONG], ~mask, __ATOMIC_RELAXED) & mask) != 0;
}
/* try_cmpxchg64: true when *p held *old (and now holds new); else *old gets *p */
#define try_cmpxchg64(p, old, new) \
	__atomic_compare_exchange_n((p), (old), (new), 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)

/* ---- memory encryption: SME off, the C-bit is never set ----------------- */
#define __sme_set(x) (x)
#define __sme_clr(x) (x)

/* ---- seqcount (6.12's amd_io_pgtable.seqcount): one thread, a plain counter */
typedef struct { unsigned sequence; } seqcount_t;
#define seqcount_init(s) do { (s)->sequence = 0; } while (0)
#define read_seqcount_begin(s) READ_ONCE((s)->sequence)
#define read_seqcount_retry(s, start) (READ_ONCE((s)->sequence) != (start))
#define write_seqcount_begin(s) do { (s)->sequence++; } while (0)
#define write_seqcount_end(s) do { (s)->sequence++; } while (0)

/* ---- types the AMD structures embed -------------------------------------- */
struct mutex { int unused; };
struct ratelimit_state { int interval, burst; };
struct llist_node { struct llist_node *next; };
struct llist_head { struct llist_node *first; };
struct xarray { void *head; };
struct mmu_notifier { const void *ops; void *mm; };
struct msi_msg { u32 address_lo, address_hi, data; };
typedef enum irqreturn { IRQ_NONE = 0, IRQ_HANDLED = 1, IRQ_WAKE_THREAD = 2 } irqreturn_t;

struct pci_bus { int domain_nr; };
struct pci_dev {
	unsigned short vendor, device;
	unsigned int devfn;
	unsigned char busnr;
	struct pci_bus *bus;
};
#define PCI_VENDOR_ID_ATI 0x1002
#define PCI_DEVICE_ID_RD890_IOMMU 0x5a23
static inline int pci_domain_nr(struct pci_bus *bus) { return bus ? bus->domain_nr : 0; }
static inline u16 pci_dev_id(struct pci_dev *dev) { return (u16)((dev->busnr << 8) | dev->devfn); }

/* struct iommu_device (embedded in struct amd_iommu) and its lookups */
struct iommu_ops;
struct iommu_device {
	const struct iommu_ops *ops;
	struct device *dev;
};
static inline struct iommu_device *dev_to_iommu_device(struct device *dev)
{
	(void)dev;
	linuxpt_bug(__FILE__, __LINE__, "dev_to_iommu_device() is not offered by the linuxpt shim");
}
#define iommu_get_iommu_dev(dev, type, member) container_of(dev_to_iommu_device(dev), type, member)

#endif
