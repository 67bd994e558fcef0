/* linuxpt shim for <linux/err.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
