/* linuxpt shim for <linux/regmap.h>: sprd-iommu.c includes it and uses nothing from it (our own code). */
#include <linuxpt/kshim_drv.h>
