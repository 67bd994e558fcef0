/* linuxpt shim for <linux/dma-mapping.h>: everything lives in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
