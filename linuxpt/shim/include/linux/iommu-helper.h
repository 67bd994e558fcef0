/* linuxpt shim for <linux/iommu-helper.h>: s390-iommu.c uses none of it (our own code). */
#include <linuxpt/kshim.h>
