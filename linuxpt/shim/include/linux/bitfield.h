/* linuxpt shim for <linux/bitfield.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
