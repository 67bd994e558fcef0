"""Named semantic variants: where kernels and drivers disagree.

Linux's core (drivers/iommu/iommu.c) is shared, but what happens at the driver
level -- an unmap that covers only part of a leaf, a map over something that
is already mapped, a map of size 0 -- differs between page-table code and
between kernel versions.  Each difference is a *variant point*, a field below;
each variant gives every point a value and says where that value comes from.
The model never picks silently: a ReferenceDomain is always built with one
named variant, and a failure report names it.
"""

from dataclasses import dataclass, field

from .errors import EADDRINUSE, EEXIST, EINVAL

SPLIT, REFUSE, WHOLE = "split", "refuse", "whole"


@dataclass(frozen=True)
class Semantics:
    """One semantic variant.

    Variant points:

    * ``exists_errno`` -- the (positive) errno a map over a live leaf fails with
      (rule MAP_EXISTS).
    * ``map_zero_size`` -- what ``map(..., size=0)`` returns (rule MAP_ZERO_SIZE).
    * ``partial_unmap`` -- what an unmap does when it covers only part of a leaf
      (rule UNMAP_PARTIAL_LEAF): ``"split"`` the leaf and unmap just the part
      asked for; ``"refuse"`` (unmap nothing more, the loop stops); or ``"whole"``
      (remove the whole leaf and count its full size when the request starts at
      the leaf's base, refuse when it starts inside the leaf).
    * ``replace_table`` -- a map of a block over a region that holds only
      smaller leaves removes them and installs the block (rule
      MAP_REPLACE_TABLE), instead of failing with ``exists_errno``.
    * ``unmap_slots`` -- the driver unmaps in slots of the core's page size: a
      slot that holds only smaller leaves is a table and is freed whole (rule
      UNMAP_TABLE_SLOT); otherwise unmap walks leaf by leaf.
    * ``per_table_batches`` -- ``map_pages`` / ``unmap_pages`` handle at most the
      entries left in one table per call and report the rest as not done (rule
      PAGES_TABLE_BATCH); ``map_pages`` then also counts a failed batch as 0
      bytes mapped.
    """

    name: str
    exists_errno: int
    map_zero_size: int
    partial_unmap: str
    replace_table: bool
    unmap_slots: bool
    per_table_batches: bool
    source: str
    differences: dict[str, str] = field(default_factory=dict)


_ARM = dict(
    exists_errno=EEXIST,
    map_zero_size=0,
    replace_table=True,
    unmap_slots=True,
    per_table_batches=True,
)
_ARM_DIFF = {
    "exists_errno": "-EEXIST from arm_lpae_init_pte / __arm_lpae_map (\"We require an unmap first\").",
    "map_zero_size": "The classic core's `while (size)` loop does nothing: 0, nothing mapped "
                     "(iommu.c __iommu_map).",
    "replace_table": "arm_lpae_init_pte unmaps and frees a table that stands where a block "
                     "goes, with any leaves in it.",
    "unmap_slots": "__arm_lpae_unmap clears a table entry at the slot's level and frees the "
                   "table under it whole.",
    "per_table_batches": "arm_lpae_map_pages / arm_lpae_unmap_pages stop at the end of the "
                         "current table (ARM_LPAE_PTES_PER_TABLE).",
}

SEMANTICS: dict[str, Semantics] = {s.name: s for s in [
    Semantics(
        name="arm-lpae-v6.13", partial_unmap=SPLIT,
        source="drivers/iommu/io-pgtable-arm.c up to v6.13 (arm_lpae_split_blk_unmap)",
        differences={**_ARM_DIFF, "partial_unmap":
                     "arm_lpae_split_blk_unmap replaces the block by a table of smaller "
                     "entries minus the part unmapped, and returns the size asked for."},
        **_ARM),
    Semantics(
        name="arm-lpae-v6.14", partial_unmap=REFUSE,
        source="drivers/iommu/io-pgtable-arm.c from v6.14 (split removed; WARN and return 0)",
        differences={**_ARM_DIFF, "partial_unmap":
                     "v6.14 removed the split: __arm_lpae_unmap warns and returns 0, so "
                     "iommu_unmap stops there."},
        **_ARM),
    Semantics(
        name="arm-v7s", partial_unmap=REFUSE,
        source="drivers/iommu/io-pgtable-arm-v7s.c from v6.14",
        differences={**_ARM_DIFF,
                     "partial_unmap": "Split removed in v6.14, as for LPAE: returns 0.",
                     "per_table_batches": "arm_v7s_map_pages loops over every page, so a "
                                          "call never stops at a table end."},
        **{**_ARM, "per_table_batches": False}),
    Semantics(
        name="generic-pt", exists_errno=EADDRINUSE, map_zero_size=-EINVAL,
        partial_unmap=WHOLE, replace_table=False, unmap_slots=False,
        per_table_batches=False,
        source="drivers/iommu/generic_pt/iommu_pt.h (the iommupt path, v6.18+/v7)",
        differences={
            "exists_errno": "__map_range / clear_contig return -EADDRINUSE for any present "
                            "leaf under the new page.",
            "map_zero_size": "make_range_ul rejects len == 0 with -EINVAL.",
            "partial_unmap": "__unmap_range removes a whole leaf that starts at the range "
                             "start and returns its size; a range starting inside a leaf is "
                             "-EINVAL, so nothing is unmapped.",
            "replace_table": "clear_contig frees only empty tables; any leaf is -EADDRINUSE.",
            "unmap_slots": "__unmap_range walks entries; an empty one ends the walk.",
            "per_table_batches": "map_pages / unmap_pages walk the whole range.",
        }),
]}


def get_semantics(name: str) -> Semantics:
    """Look a variant up by name; ``KeyError`` lists the known names."""
    try:
        return SEMANTICS[name]
    except KeyError:
        raise KeyError(f"unknown semantics {name!r}; known variants: "
                       f"{', '.join(sorted(SEMANTICS))}") from None
