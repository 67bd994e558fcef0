/* linuxpt shim for <linux/kmemleak.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
