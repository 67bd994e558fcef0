/* linuxpt shim for <linux/export.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
