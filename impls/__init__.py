"""Implementations of the IOMMU mapping API, checked against the spec by ``difftest``.

``IMPLEMENTATIONS`` maps each name to its class; a class is called as
``cls(profile, semantics=None)``.
"""

from .base import Counters, Implementation
from .core import Core
from .pagewise import Pagewise
from .pgsize import Pgsize
from .sg_per_entry import SgPerEntry
from .batched import MapPages, MapRange
from .lpae import Lpae, LpaeSplit
from .generic_pt import GenericPt, GenericPtRange
from .amd_v1 import AmdV1

IMPLEMENTATIONS: dict[str, type[Implementation]] = {
    cls.name: cls for cls in (Pagewise, Pgsize, SgPerEntry, MapPages, Lpae, LpaeSplit, GenericPt, AmdV1,
                               MapRange, GenericPtRange)
}

__all__ = ["IMPLEMENTATIONS", "Implementation", "Core", "Counters", "Pagewise", "Pgsize",
           "SgPerEntry", "MapPages", "Lpae", "LpaeSplit", "GenericPt", "AmdV1", "MapRange",
           "GenericPtRange"]
