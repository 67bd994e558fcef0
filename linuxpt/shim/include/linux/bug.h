/* linuxpt shim for <linux/bug.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
