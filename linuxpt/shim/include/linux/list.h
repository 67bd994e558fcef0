/* linuxpt shim for <linux/list.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
