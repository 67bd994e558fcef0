"""The interface every implementation under test offers.

An implementation mirrors :class:`spec.ReferenceDomain`: the same operations,
names and return conventions (ints; negative errno for errors; sizes in
bytes).  It is built for one profile and one semantic variant.  It also keeps
counters and reports the IOTLB invalidation commands it issues, so the tester
can check IOTLB maintenance without the implementation modelling a TLB.

Optional operations (``map_pages``, ``unmap_pages``, ``iotlb_sync``,
``unmap_fast``, ``fail_alloc``, ``domain_free``) are listed in ``ops``; the
tester uses those that are present.
"""

from dataclasses import dataclass, fields
from typing import ClassVar

from spec import Profile, Semantics, get_profile, get_semantics


@dataclass
class Counters:
    """Work an implementation did.  All counts are plain integers.

    ``driver_calls``: map_pages/unmap_pages (or single-page map/unmap) calls
    made by the core; ``pte_writes``: page-table entries written (set or
    cleared, leaves and table entries); ``invalidations``: IOTLB invalidation
    commands issued; ``syncs``: IOTLB syncs (waits for completion);
    ``table_pages``: page-table pages allocated now (0 for table-less drivers).
    """

    driver_calls: int = 0
    pte_writes: int = 0
    invalidations: int = 0
    syncs: int = 0
    table_pages: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


#: An IOTLB invalidation command: ("range", iova, size) or ("all",).
TlbCommand = tuple


class Implementation:
    """Base class for in-process implementations.

    Subclasses set ``name``, may fix ``semantics`` (else the profile's default
    is used), and implement ``map``, ``unmap``, ``map_sg``, ``iova_to_phys``
    and ``leaves``.  ``leaves(iova, end)`` may take a window (bytes, end
    exclusive) and return at least the leaves that intersect it, whole; the
    state machine then asks for only the window a call could change (and for
    everything every 8th comparison); ``tables(iova, end)`` likewise.  ``pgsize_bitmap`` is the subset of the profile's page
    sizes the implementation actually uses; the tester holds the model to it.
    """

    name: ClassVar[str] = "?"
    #: Fixed semantic variant, or None to follow the profile's default.
    semantics_name: ClassVar[str | None] = None
    #: Optional operations this implementation offers.
    ops: ClassVar[frozenset[str]] = frozenset()
    #: The core loop it follows (spec rule CORE_BATCHES): "map_pages" (v5.15+
    #: batches) or "map" (v3.3 to v5.14, one page per driver call).
    core: ClassVar[str] = "map_pages"
    #: Input classes (difftest.inputs) of known Linux defects this implementation reproduces
    #: on purpose; the main job sets them aside unless --report-known-findings is given.
    known_findings: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, profile: Profile | str, semantics: Semantics | str | None = None) -> None:
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        if semantics is None:
            semantics = self.semantics_name or self.profile.default_semantics
        self.semantics = get_semantics(semantics) if isinstance(semantics, str) else semantics
        self.pgsize_bitmap = self.profile.pgsize_bitmap
        self.counters = Counters()
        self._tlb: list[TlbCommand] = []

    # -- IOTLB reporting --------------------------------------------------------
    def issue_invalidation(self, command: TlbCommand) -> None:
        """Record an IOTLB invalidation command sent to the hardware."""
        self._tlb.append(command)
        self.counters.invalidations += 1

    def take_tlb_commands(self) -> list[TlbCommand]:
        """The invalidation commands issued since the last call, in order."""
        out, self._tlb = self._tlb, []
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.profile.name!r}, {self.semantics.name!r})"
