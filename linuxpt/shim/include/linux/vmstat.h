/* linuxpt shim for <linux/vmstat.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
