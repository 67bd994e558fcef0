/* linuxpt shim for <linux/pm.h>: everything lives in linuxpt/kshim_drv.h (our own code). */
#include <linuxpt/kshim_drv.h>
