"""iommu-spec: the executable reference model of Linux's IOMMU mapping API.

Public API conventions: addresses and sizes are ints in [0, 2^64), sizes in
bytes; errors are negative errno values exactly as Linux returns them;
malformed calls raise :class:`SpecUsageError` and change nothing.
"""

from .domain import ReferenceDomain
from .errors import SpecUsageError, errno_name
from .iotlb import Iotlb, Stale, iotlb_fill, iotlb_stale
from . import lifetime  # noqa: F401  (registers DOMAIN_FREE)
from .leafmap import LeafRun, Translation, canonical_leaves, clip_leaves, translations_of
from .pgsize import greedy_chunks, greedy_leaves, pgsize, pgsize_and_count
from .profiles import PROFILES, Profile, get_profile
from .prot import (IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_PRIV, IOMMU_READ,
                   IOMMU_WRITE)
from .rules import RULES, Rule
from .semantics import SEMANTICS, Semantics, get_semantics

__all__ = [
    "ReferenceDomain", "SpecUsageError", "errno_name",
    "LeafRun", "Translation", "canonical_leaves", "clip_leaves", "translations_of",
    "greedy_chunks", "greedy_leaves", "pgsize", "pgsize_and_count",
    "PROFILES", "Profile", "get_profile",
    "SEMANTICS", "Semantics", "get_semantics",
    "RULES", "Rule",
    "Iotlb", "Stale", "iotlb_fill", "iotlb_stale",
    "IOMMU_READ", "IOMMU_WRITE", "IOMMU_CACHE", "IOMMU_NOEXEC", "IOMMU_MMIO", "IOMMU_PRIV",
]
