/* linuxpt shim for <linux/msi.h>: everything lives in linuxpt/kshim_amd.h (our own code). */
#include <linuxpt/kshim_amd.h>
