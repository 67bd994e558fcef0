"""IOMMU protection flags, with Linux's values (include/linux/iommu.h)."""

IOMMU_READ = 1 << 0
IOMMU_WRITE = 1 << 1
IOMMU_CACHE = 1 << 2
IOMMU_NOEXEC = 1 << 3
IOMMU_MMIO = 1 << 4
IOMMU_PRIV = 1 << 5

#: Every prot bit Linux defines; other bits are rejected as misuse of the model.
IOMMU_PROT_MASK = (IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE | IOMMU_NOEXEC
                   | IOMMU_MMIO | IOMMU_PRIV)

_NAMES = [(IOMMU_READ, "READ"), (IOMMU_WRITE, "WRITE"), (IOMMU_CACHE, "CACHE"),
          (IOMMU_NOEXEC, "NOEXEC"), (IOMMU_MMIO, "MMIO"), (IOMMU_PRIV, "PRIV")]


def prot_expr(prot: int) -> str:
    """Python source for ``prot``: ``IOMMU_READ | IOMMU_WRITE``, or ``0``."""
    parts = [f"IOMMU_{name}" for bit, name in _NAMES if prot & bit]
    rest = prot & ~IOMMU_PROT_MASK
    if rest:
        parts.append(hex(rest))
    return " | ".join(parts) if parts else "0"
