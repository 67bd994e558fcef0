/* linuxpt shim for <linux/slab.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
