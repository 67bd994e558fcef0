/* linuxpt shim for <soc/tegra/mc.h>: everything lives in linuxpt/kshim_tegra.h (our own code). */
#include <linuxpt/kshim_tegra.h>
