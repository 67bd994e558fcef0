/* linuxpt shim for <linux/mm.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
