/* linuxpt shim for <linux/atomic.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
