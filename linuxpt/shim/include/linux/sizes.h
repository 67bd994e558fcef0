/* linuxpt shim for <linux/sizes.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
