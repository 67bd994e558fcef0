/* linuxpt shim for <linux/container_of.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
