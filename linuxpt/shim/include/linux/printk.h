/* linuxpt shim for <linux/printk.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
