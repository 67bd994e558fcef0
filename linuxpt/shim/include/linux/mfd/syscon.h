/* linuxpt shim for <linux/mfd/syscon.h>: sprd-iommu.c includes it and uses nothing from it (our own code). */
#include <linuxpt/kshim_drv.h>
