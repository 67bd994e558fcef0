/* linuxpt shim for <linux/stddef.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
