/*
 * linuxpt's kernel configuration: the three ARM-family io-pgtable formats,
 * 64-bit physical addresses, a 64-bit kernel.  No selftests, no DMA zones.
 */
#ifndef LINUXPT_KCONFIG_H
#define LINUXPT_KCONFIG_H
#define CONFIG_IOMMU_API 1
#define CONFIG_IOMMU_IO_PGTABLE 1
#define CONFIG_IOMMU_IO_PGTABLE_LPAE 1
#define CONFIG_IOMMU_IO_PGTABLE_ARMV7S 1
#define CONFIG_IOMMU_IO_PGTABLE_DART 1
#define CONFIG_PHYS_ADDR_T_64BIT 1
#define CONFIG_64BIT 1
#endif
