/* linuxpt shim for <linux/gfp.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
