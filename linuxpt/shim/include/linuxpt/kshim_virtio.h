/*
 * linuxpt shim for the virtio-iommu format (glue_virtio.c): what the functions
 * extracted from drivers/iommu/virtio-iommu.c, the tree's uapi
 * <linux/virtio_iommu.h> and the tree's lib/rbtree.c / lib/interval_tree.c
 * need beyond kshim_drv.h.  Our own declarations; the virtqueue API is
 * implemented in glue_virtio.c (its "device" follows VIRTIO 1.2 5.13.6).
 */
#ifndef LINUXPT_KSHIM_VIRTIO_H
#define LINUXPT_KSHIM_VIRTIO_H

#include <linuxpt/kshim_drv.h>

/* <uapi/linux/types.h>: the little-endian wire types (the harness runs little-endian) */
typedef u8 __u8;
typedef u16 __u16;
typedef u32 __u32;
typedef u64 __u64;
typedef u16 __le16;
typedef u32 __le32;
typedef u64 __le64;
#ifndef cpu_to_le64
#define cpu_to_le64(x) ((u64)(x))
#endif
#ifndef le64_to_cpu
#define le64_to_cpu(x) ((u64)(x))
#endif
#ifndef le32_to_cpu
#define le32_to_cpu(x) ((u32)(x))
#endif
#ifndef cpu_to_le32
#define cpu_to_le32(x) ((u32)(x))
#endif

typedef long off_t;
#ifndef ULLONG_MAX
#define ULLONG_MAX (~0ULL)
#endif
#ifndef ENOSPC
#define ENOSPC 28
#endif
#ifndef ENOSYS
#define ENOSYS 38
#endif
#ifndef EIO
#define EIO 5
#endif
/* 6.12's flexible-array annotation and <linux/overflow.h> struct_size (no overflow here) */
#define __counted_by(m)
#define struct_size(p, member, n) (sizeof(*(p)) + sizeof((p)->member[0]) * (size_t)(n))
#ifndef rcu_assign_pointer
#define rcu_assign_pointer(p, v) WRITE_ONCE((p), (v))
#endif

/* <linux/idr.h>: the domain ids (one domain here) */
struct ida { int unused; };
static inline void ida_free(struct ida *ida, unsigned int id) { (void)ida; (void)id; }

/* <linux/virtio.h>, <linux/scatterlist.h>: one request queue */
struct virtio_device { struct device dev; };
struct virtqueue;
struct scatterlist {
	void *buf;
	unsigned int length;
};
static inline void sg_init_one(struct scatterlist *sg, const void *buf, unsigned int buflen)
{
	sg->buf = (void *)buf;
	sg->length = buflen;
}
int virtqueue_add_sgs(struct virtqueue *vq, struct scatterlist *sgs[], unsigned int out_sgs,
		      unsigned int in_sgs, void *data, gfp_t gfp);
bool virtqueue_kick(struct virtqueue *vq);
void *virtqueue_get_buf(struct virtqueue *vq, unsigned int *len);

#endif
