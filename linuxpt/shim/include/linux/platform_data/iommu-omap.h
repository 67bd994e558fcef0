/* linuxpt shim for <linux/platform_data/iommu-omap.h>: everything lives in linuxpt/kshim_omap.h (our own code). */
#include <linuxpt/kshim_omap.h>
