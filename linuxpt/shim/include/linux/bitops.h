/* linuxpt shim for <linux/bitops.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
