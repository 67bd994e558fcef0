/* linuxpt shim for <linux/rcupdate.h>: everything lives in linuxpt/kshim_s390.h (our own code). */
#include <linuxpt/kshim_s390.h>
