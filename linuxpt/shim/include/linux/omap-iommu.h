/* linuxpt shim for <linux/omap-iommu.h>: everything lives in linuxpt/kshim_omap.h (our own code). */
#include <linuxpt/kshim_omap.h>
