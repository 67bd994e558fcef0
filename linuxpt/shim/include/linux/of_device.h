/* linuxpt shim for <linux/of_device.h>: everything lives in linuxpt/kshim_drv.h (our own code). */
#include <linuxpt/kshim_drv.h>
