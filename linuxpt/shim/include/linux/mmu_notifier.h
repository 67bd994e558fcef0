/* linuxpt shim for <linux/mmu_notifier.h>: everything lives in linuxpt/kshim_amd.h (our own code). */
#include <linuxpt/kshim_amd.h>
