/* linuxpt shim for <linux/regmap.h>: sprd-iommu.c includes it and uses nothing from it; omap's
 * stand-ins (DRA7 only, never reached) are in linuxpt/kshim_omap.h, which glue_omap.c includes
 * first (our own code). */
#include <linuxpt/kshim_drv.h>
