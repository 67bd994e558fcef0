/* linuxpt shim for <linux/log2.h>: everything lives in linuxpt/kshim_drv.h (our own code). */
#include <linuxpt/kshim_drv.h>
