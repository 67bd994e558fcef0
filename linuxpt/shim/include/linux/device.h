/* linuxpt shim for <linux/device.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
