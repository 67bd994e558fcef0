/* linuxpt shim for <linux/spinlock.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
