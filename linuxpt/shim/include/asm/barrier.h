/* linuxpt shim for <asm/barrier.h>: barriers live in linuxpt/kshim.h (our own code). */
#include <linuxpt/kshim.h>
