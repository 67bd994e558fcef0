/* linuxpt shim for <linux/of_irq.h>: everything lives in linuxpt/kshim_omap.h (our own code). */
#include <linuxpt/kshim_omap.h>
