/* linuxpt shim for <linux/mfd/syscon.h>: everything lives in linuxpt/kshim_omap.h (our own code). */
#include <linuxpt/kshim_omap.h>
