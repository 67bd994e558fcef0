"""The core loops of drivers/iommu/iommu.c the model can state, with their kernel versions.

A *core* is how ``iommu_map`` / ``iommu_unmap`` / ``iommu_map_sg`` hand work
to the driver (rule CORE_BATCHES).  ``ReferenceDomain(..., core=NAME)``
selects one; :mod:`spec.kernels` picks the one a kernel version runs for a
driver.  Each entry says which driver operations it calls, what ``map_sg``
returns on error, and the releases and commits it holds for.
"""

from dataclasses import dataclass

from .versions import Span, span


@dataclass(frozen=True)
class Core:
    """One core loop.

    ``name``; ``driver_ops`` (what it calls on the driver); ``per_page``
    (one page per driver call rather than ``(pgsize, count)`` batches);
    ``map_sg_errno`` (``iommu_map_sg`` returns a negative errno on error,
    not ``size_t`` 0); ``align_check`` (the core checks iova, paddr and size
    against the smallest page before calling the driver: MAP_ALIGN,
    UNMAP_ALIGN); ``whole_range`` (the driver gets the whole request in one
    call: ``map_range`` / ``unmap_range``); ``summary``; ``spans``.
    """

    name: str
    driver_ops: str
    per_page: bool
    map_sg_errno: bool
    summary: str
    spans: tuple[Span, ...]
    align_check: bool = True
    whole_range: bool = False
    map_sg_per_entry: bool = False


CORES_BY_NAME: dict[str, Core] = {c.name: c for c in [
    Core("map_pages", "map_pages / unmap_pages", per_page=False, map_sg_errno=True,
         summary="(pgsize, count) batches from iommu_pgsize; map_sg returns -errno",
         spans=(span("5.15", since="647c57764b37 iommu: Add support for the map_pages() "
                     "callback; ad8f36e4b6b1 iommu: return full error code from "
                     "iommu_map_sg[_atomic]()", note="both in the v5.15 merge window"),)),
    Core("map-v5.15", "map / unmap (driver without map_pages)", per_page=True, map_sg_errno=True,
         summary="the v5.15+ core over a driver with only ->map / ->unmap: one page per call "
                 "(__iommu_map_pages: *mapped = ret ? 0 : pgsize); map_sg returns -errno",
         spans=(span("5.15", "6.6", since="647c57764b37 iommu: Add support for the map_pages() "
                     "callback (its ->map fallback)", until="bd111e987e76 iommu: Retire map/unmap "
                     "ops (v6.7)", note="mtk_iommu ran on it until v6.1 (85637380dad6, v6.2)"),)),
    Core("map", "map / unmap", per_page=True, map_sg_errno=False,
         summary="one page per ->map / ->unmap call; map_sg coalesces runs, returns 0 on error",
         spans=(span("4.17", "5.14", until="647c57764b37 iommu: Add support for the map_pages() "
                     "callback (v5.15)", note="map_sg coalescing: present before v5.4, its "
                     "commit not pinned (v4.17 per the model's earlier reading)"),)),
    Core("map-v4.16", "map / unmap", per_page=True, map_sg_errno=False, map_sg_per_entry=True,
         summary="one page per call; map_sg maps entry by entry (MAP_SG_PER_ENTRY)",
         spans=(span("3.3", "4.16", since="v3.3 iommu_map splits by pgsize_bitmap"),)),
    Core("map_range", "map_range / unmap_range (generic_pt domains)", per_page=False,
         map_sg_errno=True, align_check=False, whole_range=True,
         summary="v7.1 iommupt domains: the whole request in one map_range / unmap_range call, "
                 "no core alignment check, rollback of exactly the bytes map_range reports",
         spans=(span("7.1", since="d6c65b0fd621 iommupt: Avoid rewalking during map; "
                     "99fb8afa16ad iommupt: Directly call iommupt's unmap_range()",
                     note="also backported to 7.0.y stable"),)),
]}

#: The names, default first.
CORES: tuple[str, ...] = tuple(CORES_BY_NAME)
#: The cores whose iommu_map_sg returns a negative errno (MAP_SG_ROLLBACK).
SSIZE_MAP_SG_CORES: tuple[str, ...] = tuple(c.name for c in CORES_BY_NAME.values() if c.map_sg_errno)


def get_core(name: str) -> Core:
    """The core named ``name``; ``KeyError`` lists the known names."""
    try:
        return CORES_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown core {name!r}; known cores: {', '.join(CORES)}") from None
