/* linuxpt shim for <linux/compiler.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
