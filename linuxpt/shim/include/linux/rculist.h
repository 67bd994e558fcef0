/* linuxpt shim for <linux/rculist.h>: everything lives in linuxpt/kshim_s390.h (our own code). */
#include <linuxpt/kshim_s390.h>
