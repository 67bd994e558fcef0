/* linuxpt shim for <linux/irqreturn.h>: everything lives in linuxpt/kshim_amd.h (our own code). */
#include <linuxpt/kshim_amd.h>
