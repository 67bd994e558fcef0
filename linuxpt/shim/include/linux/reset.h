/* linuxpt shim for <linux/reset.h>: everything lives in linuxpt/kshim_drv.h (our own code). */
#include <linuxpt/kshim_drv.h>
