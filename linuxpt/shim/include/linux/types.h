/* linuxpt shim for <linux/types.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
