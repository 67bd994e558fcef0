/* linuxpt shim for <linux/pm_runtime.h>: everything lives in linuxpt/kshim_drv.h (our own code). */
#include <linuxpt/kshim_drv.h>
