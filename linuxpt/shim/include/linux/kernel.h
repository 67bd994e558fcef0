/* linuxpt shim for <linux/kernel.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
