"""Named semantic variants: where kernels and drivers disagree.

Linux's core (drivers/iommu/iommu.c) is shared, but what happens at the driver
level -- an unmap that covers only part of a leaf, a map over something that
is already mapped, a map of size 0 -- differs between page-table code and
between kernel versions.  Each difference is a *variant point*, a field below;
each variant gives every point a value and says where that value comes from.
The model never picks silently: a ReferenceDomain is always built with one
named variant, and a failure report names it.
"""

from dataclasses import dataclass, field, fields

from .errors import EADDRINUSE, EBUSY, EEXIST, EINVAL
from .history import SPLIT_REMOVAL, SPLIT_REMOVAL_V7S
from .versions import Span, span

SPLIT, REFUSE, WHOLE, WHOLE_ANY = "split", "refuse", "whole", "whole_any"
#: v7s's split: a 16M supersection or 64K large page becomes 16 entries, and a
#: section the unmap reaches into becomes pages of the unmap's own size.
SPLIT_TO_PGSIZE = "split_to_pgsize"
#: Where a driver call's range is checked (rule MAP_RANGE).
WHOLE_RANGE, START, PADDR_START, NO_CHECK = "whole", "start", "paddr_start", "none"
#: sun50i (6.12): each page's paddr must be below 2^oas, else -EINVAL.
PADDR_EINVAL = "paddr_einval"
FAIL, REPLACE, OVERWRITE, KEEP = "fail", "replace", "overwrite", "keep"
#: virtio-iommu (v6.8+): a map over live mappings is added beside them (MAP_STATUS_LOST).
STACK = "stack"
#: VT-d's own table: -EFAULT for a call's IOVA range past 2^ias; no paddr check.
IOVA_EFAULT = "iova_efault"
#: s390 (6.12), sprd: -EINVAL for a call's IOVA range outside the aperture; no paddr check.
IOVA_EINVAL = "iova_einval"
SZ_4K = 1 << 12


@dataclass(frozen=True)
class Semantics:
    """One semantic variant.

    Variant points:

    * ``exists_errno`` -- the (positive) errno a map over a live leaf fails with
      (rule MAP_EXISTS).
    * ``map_zero_size`` -- what ``map(..., size=0)`` returns (rule MAP_ZERO_SIZE).
    * ``partial_unmap`` -- what an unmap does when it covers only part of a leaf
      (rule UNMAP_PARTIAL_LEAF): ``"split"`` the leaf and unmap just the part
      asked for; ``"refuse"`` (unmap nothing more, the loop stops); ``"whole"``
      (remove the whole leaf and count its full size when the request starts at
      the leaf's base, refuse when it starts inside the leaf); or
      ``"whole_any"`` (remove the whole leaf and count its full size wherever
      in the leaf the request starts).
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
    * ``map_over_live`` -- ``"fail"``: a map over a live leaf fails with
      ``exists_errno`` (MAP_EXISTS, with MAP_REPLACE_TABLE's exception);
      ``"replace"``: it never fails, every leaf that overlaps the new pages is
      removed whole and the new pages installed (MAP_REPLACE_LEAVES);
      ``"overwrite"``: a table of one leaf size writes the new PTE over the
      live one (MAP_OVERWRITE).  ``"keep"`` (VT-d's own table): a 4K page over a live 4K PTE keeps the
      old one and the call goes on, counting it as mapped (MAP_KEEPS_LIVE); a 2M
      or 1G page clears whatever its slot holds (MAP_SUPERPAGE_REPLACES,
      MAP_REPLACE_TABLE).  ``exists_errno`` is then 0, as no map fails
      that way.
    * ``hole_in_table`` -- 0: a hole ends the unmap walk (UNMAP_HOLE).
      Otherwise the size of a last-level PTE: an unmap that meets a hole inside
      a live last-level table (512 such PTEs) steps over it and counts it as
      unmapped (UNMAP_HOLE_IN_TABLE); only a hole above the last level ends the
      walk.  The model then tracks which last-level tables exist.
    * ``unmap_range_checked`` -- the driver's ``unmap_pages`` rejects a range
      that runs past 2^ias and unmaps nothing (UNMAP_RANGE); otherwise only the
      range's start is checked (``range_check`` "start") or nothing is.
    * ``range_check`` -- what each driver call checks of its range (MAP_RANGE):
      ``"whole"`` (the IOVA range below 2^ias and the physical range below
      2^oas), ``"start"`` (only ``iova >> ias`` and ``paddr >> oas``: io-pgtable-arm,
      v7s), ``"paddr_start"`` (only ``paddr >> oas``: DART) or ``"none"`` (the
      legacy AMD v1 table, which grows to cover any 64-bit IOVA).  The core makes
      no range check of its own.  A call accepted with a range past 2^ias or
      2^oas is reported under IOVA_PAST_IAS / PADDR_PAST_OAS.
    * ``prot_first`` -- the driver checks prot (MAP_PROT) before the range
      (generic_pt), or after it (io-pgtable: ``-ERANGE`` wins).
    * ``replaced_table_flush`` -- how the IOTLB learns of a table a block
      replaced (MAP_REPLACE_TABLE): ``"walk"``, at once through io-pgtable's
      flush_walk callback (arm-smmu-v3 provides it); ``"sync_map"``, only by
      the ``iotlb_sync_map`` the core sends after a *successful* map
      (mtk_iommu provides no io-pgtable flush ops), so a map that fails after
      replacing a table leaves its translations cached (MAP_REPLACE_UNFLUSHED).
    * ``tables`` -- None, or the table format (``"lpae"``, ``"v7s"``,
      ``"dart"``, :mod:`spec.tables`) whose tables outlive their last leaf: the
      model then tracks which tables exist (TABLE_LIFETIME), since an unmap
      slot over an empty table counts it, and a failed map keeps the tables it
      allocated.  A leaf lives at its format level and a map conflicts with a
      leaf at the same or a higher level (MAP_EXISTS) but replaces tables
      below it (MAP_REPLACE_TABLE).
    * ``iova_bits``, ``prot_checked``, ``pte_size``, ``hole_unmap``,
      ``pages_per_call``, ``unmap_one_leaf``, ``map_fail_keeps``,
      ``replace_nonempty_table`` -- the points of the tables inside drivers
      (rockchip, exynos, sun50i, tegra-smmu, mtk_iommu_v1); see the fields.
    * ``leaf_unit``, ``map_fail_sweep`` -- virtio-iommu's mappings (one per
      map_pages call) and the cleanup of a MAP its device refuses; with them
      ``map_over_live`` ``"stack"`` (the driver's tree accepts a map over live
      mappings) and ``hole_unmap`` ``"drop"`` (UNMAP_HOLE_DROPS).
    * ``domain_free_leaks`` -- what the driver's domain free leaves allocated
      (DOMAIN_FREE_LEAK), "" when it frees every page-table page (DOMAIN_FREE).
    * ``fixed_levels``, ``teardown_first``, ``replace_flush``,
      ``teardown_frees_leaf`` -- the points
      where the two replace-on-map AMD tables differ (see the fields).
    """

    name: str
    exists_errno: int
    map_zero_size: int
    partial_unmap: str
    replace_table: bool
    unmap_slots: bool
    per_table_batches: bool
    source: str
    map_over_live: str = FAIL
    hole_in_table: int = 0
    unmap_range_checked: bool = False
    range_check: str = WHOLE_RANGE
    prot_first: bool = True
    tables: str | None = None
    replaced_table_flush: str = "walk"
    #: iova_to_phys past the table's range returns -ERANGE cast to an address (IOVA_TO_PHYS_RANGE).
    iova_to_phys_errno: bool = False
    #: Replace-on-map tables (map_over_live "replace"): 0 when the table grows its top level as
    #: IOVAs need it (AMD v1), else its fixed number of levels (AMD v2: 4), whose index drops
    #: the IOVA bits above them (IOVA_PAST_IAS on map and unmap, IOVA_TO_PHYS_WRAP).
    fixed_levels: int = 0
    #: Replace-on-map tables: a larger page on the walk down is cleared before the table that
    #: takes its place is allocated, so it is gone even when that allocation fails (AMD v2);
    #: otherwise only replicated PTE groups are (AMD v1).
    teardown_first: bool = False
    #: Replace-on-map tables: when a map flushes what it replaced (MAP_REPLACE_LEAVES):
    #: ``"freed"`` only when it freed a table or tore down a larger page (AMD v1's ``updated``),
    #: ``"replaced"`` whenever it overwrote any present entry (AMD v2's ``updated``).
    replace_flush: str = "freed"
    #: Replace-on-map tables: the tear-down at a 2M or 1G page's own level frees what the
    #: present entry points to as a table, even when the entry is a leaf (AMD v2's
    #: v2_alloc_pte; the Linux defect MAP_REPLACE_FREES_PAGE).
    teardown_frees_leaf: bool = False
    #: The IOVA bits the table indexes: 0 when the range check (or the table's growth)
    #: decides; n when bits at and above n are dropped, so an IOVA past 2^n aliases one
    #: below it (IOVA_PAST_IAS on map and unmap, IOVA_TO_PHYS_WRAP).
    iova_bits: int = 0
    #: The driver refuses a prot with neither IOMMU_READ nor IOMMU_WRITE (MAP_PROT); False
    #: when it maps such a page as a live entry with no access.
    prot_checked: bool = True
    #: 0: a page is one leaf of its size.  n: the table has only n-byte PTEs, and a page of
    #: any size in the bitmap is written as pgsize / n of them (MAP_PAGES_INSTALL).
    pte_size: int = 0
    #: What an unmap does at a hole: ``"stop"`` (the driver returns what it unmapped so far,
    #: UNMAP_HOLE) or ``"count"`` (it steps over the hole and counts it, UNMAP_HOLE_COUNTED).
    hole_unmap: str = "stop"
    #: ``"all"``: map_pages / unmap_pages handle every page of the call.  ``"one"``: the
    #: driver ignores pgcount and handles one page per call, reporting that page as done
    #: (the core loops on); its unmap then also stops at the page's end.
    pages_per_call: str = "all"
    #: An unmap call removes at most one leaf (or steps over one hole) and returns its size
    #: (exynos-iommu); otherwise it walks the whole page it was given.
    unmap_one_leaf: bool = False
    #: A map that meets a live leaf fails leaving the pages it wrote before it (and counts
    #: them as mapped, for the core to roll back); False when the driver undoes its own
    #: writes first, so a failed call leaves nothing.
    map_fail_keeps: bool = True
    #: A block over a table of smaller leaves replaces it (MAP_REPLACE_TABLE) even when the
    #: table holds live leaves; False when only an empty table is replaced and a live leaf
    #: in it is a conflict (MAP_EXISTS).
    replace_nonempty_table: bool = True
    #: iova_to_phys adds the IOVA's offset in its page; False when it returns the page's
    #: physical address only (mtk_iommu_v1: IOVA_TO_PHYS_NO_OFFSET).
    iova_to_phys_offset: bool = True
    #: The page sizes the variant's table can hold (a pgsize_bitmap), or 0 for any: a domain
    #: whose pgsize_bitmap has others is refused (the tables inside drivers have fixed sizes).
    page_sizes: int = 0
    #: range_check "iova_einval": the driver's check computes the end as ``iova + size - 1``
    #: (s390: it wraps only for a range past 2^64) rather than ``iova + size`` (sprd: a range
    #: ending exactly at 2^64 wraps to 0 and passes too); either way a wrapped range is
    #: accepted (IOVA_PAST_IAS).
    range_end_inclusive: bool = False
    #: The PTE has a valid bit; False (sprd) when a PTE of 0 is physical page 0, so a hole
    #: reads as that page (IOVA_TO_PHYS_PAGE_ZERO) and a map of it is a hole (MAP_PADDR_ZERO_HOLE).
    pte_valid_bit: bool = True
    #: The driver's unmap returns 0 having cleared its range (sprd 6.1: UNMAP_RETURNS_ZERO).
    unmap_returns_zero: bool = False
    #: What the driver's domain free leaves allocated (DOMAIN_FREE_LEAK), as text: "" when it
    #: frees every page-table page (DOMAIN_FREE).
    domain_free_leaks: str = ""
    #: What one leaf is: ``"page"``, a page-table entry of its page size (every table), or
    #: ``"call"``, everything one map_pages call installed, pgsize x pgcount bytes
    #: (virtio-iommu's mappings: MAP_CALL_MAPPING), which an unmap removes only whole.
    #: Under "call" the driver's tree (spec.virtio) decides every return value and
    #: iova_to_phys, and the leaves are the device's mappings.
    leaf_unit: str = "page"
    #: leaf_unit "call": a map the device refuses is cleaned up by deleting every mapping
    #: that starts in its range from the tree (MAP_FAIL_SWEEP); False when the refusal is
    #: not seen (map_over_live "stack": MAP_STATUS_LOST).
    map_fail_sweep: bool = False
    #: The releases this variant states (spec.versions.Span), with the commits that started
    #: and ended it; a point that changed inside them has its own in ``point_spans``.
    spans: tuple[Span, ...] = ()
    point_spans: dict[str, tuple[Span, ...]] = field(default_factory=dict)
    differences: dict[str, str] = field(default_factory=dict)

    @property
    def versions(self) -> str:
        """The releases as text: ``"v5.4 to v6.12 (until 33729a5fc0ca)"``."""
        return "; ".join(map(str, self.spans))

    def point_source(self, point: str) -> str:
        """Where in Linux the value of variant point ``point`` comes from (one line of text).

        The AMD walk's own points (``fixed_levels``, ``teardown_first``,
        ``replace_flush``, ``teardown_frees_leaf``) do not apply to a variant
        whose maps never replace live leaves; that is said instead.  KeyError
        for a name that is not a point.
        """
        if point not in POINTS:
            raise KeyError(f"unknown variant point {point!r}; known: {', '.join(POINTS)}")
        if point in self.differences:
            return self.differences[point]
        if point == "range_end_inclusive" and self.range_check != IOVA_EINVAL:
            return (f"Not applicable: no unsigned end check against an aperture (range_check "
                    f"{self.range_check!r}).")
        if point == "leaf_unit" and self.leaf_unit == "page":
            return ("page: the driver keeps a page table, and a leaf is one of its entries, "
                    "of the page's size (or replicated PTEs of it: pte_size).")
        if point == "map_fail_sweep" and self.leaf_unit == "page":
            return ("Not applicable: the driver keeps no tree of mappings to clean up "
                    "(leaf_unit 'page').")
        if point in _REPLACE_WALK_POINTS and self.map_over_live != REPLACE:
            return (f"Not applicable: no map replaces live leaves here (map_over_live "
                    f"{self.map_over_live!r}).")
        raise KeyError(f"variant {self.name!r} gives no source for point {point!r}")

    def fits(self, pgsize_bitmap: int, ias: int) -> bool:
        """True when the variant's table can hold every page size of ``pgsize_bitmap`` and
        index ``ias`` bits of IOVA (``page_sizes``, ``iova_bits``)."""
        if self.iova_bits and ias > self.iova_bits:
            return False
        return not self.page_sizes or not pgsize_bitmap & ~self.page_sizes

    def point_versions(self, point: str) -> tuple[Span, ...]:
        """The releases variant point ``point`` holds for (the variant's, unless it changed)."""
        return self.point_spans.get(point, self.spans)

    def __post_init__(self) -> None:
        # Slots, per-table batches and tables replaced by a block are walks of a
        # table format: the model states them only through one (spec.tables).
        table_points = [p for p in ("unmap_slots", "per_table_batches") if getattr(self, p)]
        if self.replace_table and self.map_over_live == FAIL:
            table_points.append("replace_table")
        if table_points and not self.tables:
            raise ValueError(f"variant {self.name!r}: {', '.join(table_points)} need a table "
                             f"format (tables='lpae', 'lpae-s2', 'v7s', 'dart' or 'vtd')")


_ARM = dict(
    exists_errno=EEXIST,
    map_zero_size=0,
    replace_table=True,
    unmap_slots=True,
    per_table_batches=True,
    range_check=START,
    prot_first=False,
    tables="lpae",
)
_ARM_DIFF = {
    "pte_valid_bit": "True: ARM_LPAE_PTE_VALID (bit 0) marks a live descriptor.",
    "unmap_returns_zero": "False: arm_lpae_unmap_pages returns the bytes it unmapped.",
    "domain_free_leaks": "None: arm_lpae_free_pgtable frees every table from the pgd down "
                         "(__arm_lpae_free_pgtable).",
    "exists_errno": "-EEXIST from arm_lpae_init_pte / __arm_lpae_map (\"We require an unmap first\").",
    "map_zero_size": "The classic core's `while (size)` loop does nothing: 0, nothing mapped "
                     "(iommu.c __iommu_map).",
    "replace_table": "arm_lpae_init_pte unmaps and frees a table that stands where a block "
                     "goes, with any leaves in it.",
    "unmap_slots": "__arm_lpae_unmap clears a table entry at the slot's level and frees the "
                   "table under it whole.",
    "per_table_batches": "arm_lpae_map_pages / arm_lpae_unmap_pages stop at the end of the "
                         "current table (ARM_LPAE_PTES_PER_TABLE).",
    "range_check": "arm_lpae_map_pages checks only the call's start: WARN_ON(iaext || paddr >> "
                   "cfg->oas) -> -ERANGE; arm_lpae_unmap_pages: WARN_ON(iaext) -> 0.",
    "prot_first": "arm_lpae_map_pages checks the range (-ERANGE) before prot (-EINVAL).",
    "map_over_live": "fail: arm_lpae_init_pte fails (-EEXIST) where a leaf of the new page's "
                     "level or above is live; only tables are replaced (replace_table).",
    "hole_in_table": "0: an empty entry makes __arm_lpae_unmap return 0 (WARN_ON(!pte)).",
    "hole_unmap": "stop: __arm_lpae_unmap returns 0 at an empty entry and iommu_unmap ends "
                  "there with what it unmapped so far.",
    "unmap_range_checked": "arm_lpae_unmap_pages checks only the start: `if (WARN_ON(iaext)) "
                           "return 0;` (range_check).",
    "iova_to_phys_errno": "arm_lpae_iova_to_phys returns 0 where the walk finds no leaf.",
    "iova_bits": "0: the start check rejects an IOVA at or past 2^ias (range_check); within "
                 "one batch the pages stay in the table the walk reached.",
    "prot_checked": "arm_lpae_map_pages: no READ and no WRITE -> -EINVAL since 6093cd582f8e "
                    "(v6.11); before, it returned 0 having mapped nothing (MAP_PROT_NOOP).",
    "pte_size": "0: a page is one descriptor at the level of its size (a block or a page).",
    "pages_per_call": "all: arm_lpae_map_pages / arm_lpae_unmap_pages take pgcount pages (up "
                      "to the table's end: per_table_batches).",
    "unmap_one_leaf": "False: arm_lpae_unmap_pages clears up to pgcount entries of the table.",
    "map_fail_keeps": "Moot: arm_lpae_init_pte checks every entry of the batch before writing "
                      "any, so a failed call has written nothing (per_table_batches).",
    "replace_nonempty_table": "True: arm_lpae_init_pte frees the table under a block whatever "
                              "it holds (__arm_lpae_unmap of the table entry).",
    "replaced_table_flush": "walk: arm-smmu-v3 gives io-pgtable flush ops, so "
                            "arm_lpae_init_pte's freed table is invalidated at once "
                            "(io_pgtable_tlb_flush_walk).",
    "page_sizes": "0: any sizes the granule's levels hold (arm_lpae_restrict_pgsizes).",
    "iova_to_phys_offset": "arm_lpae_iova_to_phys adds the IOVA's offset in the leaf.",
    "tables": "__arm_lpae_map allocates the missing tables on the way down and keeps them if "
              "the map then fails; __arm_lpae_unmap never frees a table when its last leaf "
              "goes, only when its own entry is cleared by an unmap of that entry's size or "
              "replaced by a block (arm_lpae_init_pte), or at arm_lpae_free_pgtable.",
}

_S2 = {**_ARM, "tables": "lpae-s2"}
_S2_DIFF = {
    "tables": "As at stage 1, with arm_64_lpae_alloc_pgtable_s2's concatenated pgd: where the "
              "walk would start at level 0 with at most 16 pgd entries (the 16K granule at ias "
              "48) the root also holds level 1, so no level-1 table is ever allocated or freed "
              "(spec.tables.lpae_s2_geometry).  Stage-2 descriptors record read and write "
              "separately (HAP) and no PRIV (arm_lpae_prot_to_pte), which changes no result.",
}
_V7S = {**_ARM, "per_table_batches": False, "tables": "v7s", "replaced_table_flush": "sync_map"}
_V7S_DIFF = {
    **_ARM_DIFF,
    "pte_valid_bit": "True: an entry whose type bits (1:0) are 0 is invalid "
                     "(ARM_V7S_PTE_IS_VALID).",
    "unmap_returns_zero": "False: arm_v7s_unmap_pages returns the bytes it unmapped.",
    "domain_free_leaks": "None: arm_v7s_free_pgtable frees every level-2 table and the pgd.",
    "map_over_live": "fail: arm_v7s_init_pte fails (-EEXIST) for any valid entry that is not a "
                     "table.",
    "hole_in_table": "0: __arm_v7s_unmap returns 0 at an invalid entry (WARN_ON).",
    "hole_unmap": "stop: __arm_v7s_unmap returns 0 at an invalid entry; iommu_unmap ends there.",
    "unmap_range_checked": "arm_v7s_unmap_pages checks only the start: WARN_ON(iova >= 1 << "
                           "ias) -> 0.",
    "iova_to_phys_errno": "arm_v7s_iova_to_phys returns 0 where the walk finds no leaf.",
    "pages_per_call": "all: arm_v7s_map_pages / arm_v7s_unmap_pages loop over pgcount pages.",
    "unmap_one_leaf": "False: arm_v7s_unmap_pages loops over pgcount pages.",
    "map_fail_keeps": "True: arm_v7s_map_pages stops at the failing page; the pages before it "
                      "stay and are counted in *mapped.",
    "replace_nonempty_table": "True: arm_v7s_init_pte frees a level-2 table under a section "
                              "whatever it holds.",
    "pte_size": "0: a page is one entry of its level, or 16 copies for 64K and 16M.",
    "page_sizes": "0: 4K, 64K, 1M, 16M as the profile offers them (ARM_V7S pgsize_bitmap).",
    "prot_checked": "arm_v7s_map_pages: no READ and no WRITE -> -EINVAL since 6093cd582f8e "
                    "(v6.11); 0 before.",
    "exists_errno": "arm_v7s_init_pte: -EEXIST for any valid entry that is not a table, so a "
                    "page conflicts with a live page of its own level too (4K over 64K, 16M "
                    "over a 1M section): only tables are replaced.",
    "per_table_batches": "arm_v7s_map_pages / arm_v7s_unmap_pages loop page by page, so a "
                         "call never stops at a table end; the pages before a failing one "
                         "stay mapped and are reported in *mapped.",
    "range_check": "arm_v7s_map_pages checks only the call's start: WARN_ON(iova >= 1 << ias "
                   "|| paddr >= 1 << oas) -> -ERANGE; arm_v7s_unmap_pages: WARN_ON(iova >= 1 "
                   "<< ias) -> 0.  Later pages of the call are indexed with ARM_V7S_LVL_IDX, "
                   "which wraps past 2^32 (IOVA_PAST_IAS).",
    "prot_first": "arm_v7s_map_pages checks the range (-ERANGE) before prot (-EINVAL).",
    "replaced_table_flush": "mtk_iommu, the v7s profile's driver, gives io-pgtable no flush ops "
                            "(cfg.tlb is NULL), so arm_v7s_init_pte's freed table is flushed only "
                            "by mtk_iommu_sync_map after a successful map.",
    "tables": "__arm_v7s_map allocates a level-2 table for a 4K/64K page where the level-1 "
              "entry is empty and keeps it; __arm_v7s_unmap frees it only when its level-1 "
              "entry is cleared (an unmap of 1M or 16M there) or arm_v7s_init_pte puts a "
              "section over it.",
    "unmap_slots": "__arm_v7s_unmap reads all num_entries entries of a 16M or 64K page first "
                   "and returns 0 if any is not valid (WARN_ON), clearing nothing; a level-1 "
                   "table entry under a 1M or 16M unmap is freed with its table and counted.",
}

#: msm_iommu's use of v7s differs from mtk_iommu's in one point (replaced_table_flush).
_MSM_DIFF = {
    "replaced_table_flush": "walk: msm_iommu_domain_config gives io-pgtable msm_iommu_flush_ops "
                            "(cfg.tlb), so the table arm_v7s_init_pte frees under a section is "
                            "invalidated at once (__arm_v7s_unmap -> io_pgtable_tlb_flush_walk "
                            "-> __flush_iotlb_walk, TLBIVA per 4K on every attached context).",
    "prot_checked": "arm_v7s_map_pages: no READ and no WRITE -> -EINVAL (6093cd582f8e, in "
                    "Debian 6.1.192 too).  Without IO_PGTABLE_QUIRK_NO_PERMS (msm sets no "
                    "quirk) arm_v7s_prot_to_pte writes AP/XN bits: the PTE differs from "
                    "mtk_iommu's, no return value or leaf does.",
    "iova_to_phys_offset": "msm_iommu_iova_to_phys asks the hardware (V2PPR / PAR): on an "
                           "attached domain the same page and offset as arm_v7s_iova_to_phys.",
}


_AMD_COMMON_DIFF = {
    "pte_valid_bit": "True: IOMMU_PTE_PR marks a present entry.",
    "unmap_returns_zero": "False: unmap_pages returns the bytes it unmapped.",
    "domain_free_leaks": "None: v1_free_pgtable / v2_free_pgtable free every table.",
    "tables": "None for spec.tables: the model tracks the AMD tables itself, at every level "
              "(ReferenceDomain.amd_tables), as the walk makes them; they outlive their leaves "
              "(unmap never frees one) and a larger page over them frees them.",
    "replaced_table_flush": "Not this point: how a replace is flushed is replace_flush.",
    "prot_checked": "map_pages: `if (!(prot & IOMMU_PROT_MASK)) return -EINVAL;` (IR / IW).",
    "pte_size": "0: a page is one PTE of its level, or one group of replicated PTEs (v1).",
    "hole_unmap": "stop above level 0 (fetch_pte returns NULL); inside a level-0 table a hole "
                  "is counted instead (hole_in_table).",
    "pages_per_call": "all: the map_pages / unmap_pages loops take every page.",
    "unmap_one_leaf": "False: unmap_pages loops until the size is reached or a hole above "
                      "level 0.",
    "map_fail_keeps": "Only -ENOMEM fails a map (map_over_live replaces): the pages written "
                      "before it stay and are counted in *mapped.",
    "replace_nonempty_table": "True: free_clear_pte / the v2 tear-down frees a table under a "
                              "larger page with any leaves in it (replace_table).",
    "page_sizes": "0: the profile's (AMD_IOMMU_PGSIZES, AMD_IOMMU_PGSIZES_V2).",
    "iova_to_phys_offset": "iova_to_phys adds the IOVA's offset in the page (offset_mask).",
}

#: The points every table inside a driver below shares: one 32-bit IOVA space indexed
#: without a range check, physical addresses cut to the PTE's width, prot 0 mapped.
_IN_DRIVER = dict(map_zero_size=0, unmap_range_checked=False, range_check=NO_CHECK,
                  iova_bits=32, prot_checked=False, per_table_batches=False)
_IN_DRIVER_DIFF = {
    "pte_valid_bit": "True: the PTE has a valid bit (rockchip RK_PTE_PAGE_VALID, exynos's lv1 / "
                     "lv2 type bits, sun50i SUN50I_PTE_PAGE_VALID, tegra a non-zero PTE with "
                     "NS, mtk_iommu_v1 F_DESC_VALID).",
    "unmap_returns_zero": "False: the driver's unmap returns the bytes it cleared.",
    "domain_free_leaks": "None: the driver's domain free frees every table it allocated.",
    "map_zero_size": "The core's `while (size)` loop never calls the driver: 0 (iommu.c "
                     "__iommu_map).",
    "per_table_batches": "No batches: the driver handles one page per call (pages_per_call).",
    "unmap_range_checked": "No check: the index drops the IOVA bits above 32 (iova_bits).",
    "range_check": "No IOVA or paddr check: a paddr wider than the PTE's address field is cut "
                   "(PADDR_PAST_OAS).",
    "iova_bits": "The directory index takes IOVA bits 31 and below only: an IOVA past 2^32 "
                 "aliases the one 2^32 below it (IOVA_PAST_IAS).",
    "prot_checked": "prot is not checked: a prot with neither READ nor WRITE maps a valid "
                    "entry with no access, which blocks later maps like any other.",
    "pages_per_call": "6.1 has ->map / ->unmap (one page per call from the core); 6.12's "
                      "->map_pages / ->unmap_pages ignore pgcount and do one page, reporting "
                      "*mapped = size (converted in v6.7).",
    "prot_first": "prot is not checked (prot_checked).",
    "page_sizes": "The driver's pgsize_bitmap: a domain with other page sizes is not one "
                  "this driver makes.",
    "map_over_live": "fail: the driver refuses a live PTE (exists_errno).",
    "hole_in_table": "0: holes follow hole_unmap.",
    "replaced_table_flush": "Not applicable: no map replaces a table of live leaves.",
    "iova_to_phys_errno": "The driver's iova_to_phys returns 0 for an invalid entry.",
    "pte_size": "0: a page is one entry of its size (or 16 copies for exynos's 64K).",
    "unmap_one_leaf": "False: the unmap call clears the page it was given, PTE by PTE.",
    "map_fail_keeps": "Moot: one 4K page per call, so a failed call has written nothing.",
    "replace_nonempty_table": "Not applicable: no page larger than a table entry.",
    "tables": "None: tables are made on map and not tracked by the model (no fail_alloc "
              "prediction).",
    "iova_to_phys_offset": "The driver's iova_to_phys adds the offset in the page.",
}
#: sun50i's table in 6.1 and 6.12: one 4K page size, -EBUSY, a hole ends the unmap.
_SUN50I_LEAKS = ("every page table: sun50i_iommu_detach_domain, the only code that frees them, "
                 "runs when the domain's refcnt reaches 0, which it never does")
_SUN50I_POINTS = dict(domain_free_leaks=_SUN50I_LEAKS, exists_errno=EBUSY, partial_unmap=REFUSE, replace_table=False,
                      unmap_slots=False, pages_per_call="one", page_sizes=SZ_4K, **_IN_DRIVER)
_SUN50I_DIFF = {
    **_IN_DRIVER_DIFF,
    "domain_free_leaks": "sun50i_iommu_domain_alloc sets refcnt to 1 and "
                         "sun50i_iommu_attach_device adds 1, so the one detach the core makes "
                         "(6.1 sun50i_iommu_detach_device, 6.12 sun50i_iommu_identity_attach) "
                         "leaves 1 and never calls sun50i_iommu_detach_domain; "
                         "sun50i_iommu_domain_free frees the DT only: every page table leaks "
                         "(DOMAIN_FREE_LEAK).",
    "partial_unmap": "Never arises: one page size (4K).",
    "replace_table": "No blocks.",
    "unmap_slots": "sun50i_iommu_unmap clears one PTE.",
    "hole_unmap": "sun50i_iommu_unmap returns 0 for an invalid DTE or PTE: a hole ends "
                  "iommu_unmap.",
    "tables": "Page tables are made on map and freed only at detach; not tracked.",
}
_MTK_V1 = "drivers/iommu/mtk_iommu_v1.c"
_MTK_V1_DIFF = {
    **_IN_DRIVER_DIFF,
    "domain_free_leaks": "None: mtk_iommu_v1_domain_free frees the flat table "
                         "(dma_free_coherent).",
    "exists_errno": "mtk_iommu_v1_map: a non-zero PTE in the range -> -EEXIST.",
    "partial_unmap": "Never arises: every leaf is one 4K PTE.",
    "replace_table": "No blocks, no tables: one flat array.",
    "unmap_slots": "mtk_iommu_v1_unmap memsets the range's PTEs.",
    "hole_unmap": "mtk_iommu_v1_unmap clears every entry of the range and returns the whole "
                  "size: holes are stepped over and counted.",
    "pte_size": "One flat table of 1M u32 PTEs (M2701_IOMMU_PGT_SIZE, 4 MB), indexed by "
                "iova >> 12: every page is 4K PTEs.",
    "iova_bits": "The index is iova >> 12 into a 1M-entry array: on the 32-bit SoCs an IOVA "
                 "has 32 bits; 6.12's map_pages / unmap_pages loop past the array's end for a "
                 "call that crosses 4G (IOVA_PAST_IAS: written elsewhere).",
    "range_check": "No check: the PTE is `(u32)pa | F_DESC_VALID | F_DESC_NONSEC`: a paddr at "
                   "or past 4G is cut (PADDR_PAST_OAS).",
    "prot_checked": "prot is ignored: every PTE is valid and non-secure, prot 0 included.",
    "iova_to_phys_offset": "mtk_iommu_v1_iova_to_phys returns `pte & ~(MT2701_IOMMU_PAGE_SIZE "
                           "- 1)`: the page's address without the IOVA's offset in it "
                           "(IOVA_TO_PHYS_NO_OFFSET).",
    "tables": "None: the one table is allocated with the domain (mtk_iommu_v1_domain_finalise): "
              "no map allocates, so no -ENOMEM on map.",
    "page_sizes": "6.1: `~0UL << 12` (every power of two from 4K on arm32); 6.12: "
                  "MT2701_IOMMU_PAGE_SIZE (4K).",
}
_ROCKCHIP = "drivers/iommu/rockchip-iommu.c"
#: sprd-iommu.c in 6.1 and 6.12: one flat table of u32 PTEs, no valid bit, no permissions.
_SPRD_DIFF = {
    **_IN_DRIVER_DIFF,
    "exists_errno": "Never used: no map fails over a live PTE (map_over_live).",
    "map_over_live": "overwrite: sprd_iommu_map writes `pabase >> 12` into every PTE of the "
                     "range with no check (MAP_OVERWRITE).",
    "partial_unmap": "Never arises: every leaf is one 4K PTE.",
    "replace_table": "No blocks, no tables: one flat array of 65536 u32 PTEs.",
    "unmap_slots": "sprd_iommu_unmap memsets the range's PTEs.",
    "hole_unmap": "count: the memset clears holes too and the range is counted; no PTE is "
                  "looked at (UNMAP_HOLE_COUNTED).",
    "range_check": "iova_einval: `iova < start || iova + size > end + 1` -> -EINVAL before any "
                   "write, the aperture being [0, 256M); paddr is not checked: `u32 pabase = "
                   "(u32)paddr` cuts a paddr at or past 4G (PADDR_PAST_OAS).",
    "iova_bits": "0: the aperture check (range_check) rejects every IOVA at or past 256M.",
    "range_end_inclusive": "False: `(iova + size) > (end + 1)` wraps to 0 for a range ending "
                           "at or past 2^64, which passes, and the PTE index runs far past "
                           "the table (IOVA_PAST_IAS).",
    "prot_checked": "prot is never read: the PTE has no permission bits; prot 0 maps a page "
                    "like any other.",
    "prot_first": "prot is not checked (prot_checked).",
    "tables": "None: the one table is allocated at (first) attach (dma_alloc_coherent) and "
              "freed at domain free: no map allocates, no -ENOMEM on map.",
    "pte_size": "4K: a PTE is `paddr >> 12` of one 4K page; a larger page is pgsize / 4K PTEs.",
    "pte_valid_bit": "False: a PTE of 0 is physical page 0 to the hardware, so "
                     "sprd_iommu_iova_to_phys of a hole returns the IOVA's offset "
                     "(IOVA_TO_PHYS_PAGE_ZERO) and a map of physical page 0 (or any multiple "
                     "of 4G) writes a PTE of 0, the same as no mapping (MAP_PADDR_ZERO_HOLE).",
    "iova_to_phys_errno": "sprd_iommu_iova_to_phys: outside the aperture WARN and 0; inside, "
                          "`(pte << 12) + offset` (pte_valid_bit).",
    "iova_to_phys_offset": "sprd_iommu_iova_to_phys adds the offset in the page.",
    "map_fail_keeps": "Moot: the range is checked before any write, and nothing else fails.",
    "domain_free_leaks": "None: sprd_iommu_cleanup frees the table (dma_free_coherent).",
}

_VTD = "drivers/iommu/intel/iommu.c"
_S390 = "drivers/iommu/s390-iommu.c"
_SPRD = "drivers/iommu/sprd-iommu.c"
_OMAP = "drivers/iommu/omap-iommu.c"
_EXYNOS = "drivers/iommu/exynos-iommu.c"
_SUN50I = "drivers/iommu/sun50i-iommu.c"
_TEGRA = "drivers/iommu/tegra-smmu.c"
_VIRTIO = "drivers/iommu/virtio-iommu.c"
_VIRTIO_READ = ("read in Debian {0} and checked through the kernel harness: the driver's "
                "functions extracted from the tree at build time, over linuxpt's own virtqueue "
                "and a device written from VIRTIO 1.2 (glue_virtio.c), as spec.virtio's")
_VIRTIO_POINTS = dict(
    map_zero_size=0, partial_unmap=WHOLE, replace_table=False, unmap_slots=False,
    per_table_batches=False, hole_in_table=0, unmap_range_checked=False, range_check=NO_CHECK,
    prot_first=True, prot_checked=False, hole_unmap="drop", leaf_unit="call")
_VIRTIO_DIFF = {
    "map_zero_size": "The core's `while (size)` loop never calls the driver: 0 (iommu.c "
                     "__iommu_map).",
    "partial_unmap": "whole, per mapping: viommu_del_mappings removes a mapping that starts in "
                     "the call's range whole and counts its full size (\"Virtio-iommu doesn't "
                     "allow UNMAP to split a mapping created with a single MAP request\"); one "
                     "that starts before the range stops it (\"Trying to split a mapping?\") "
                     "and viommu_unmap_pages returns 0 (UNMAP_WHOLE_MAPPINGS).",
    "leaf_unit": "call: viommu_map_pages adds one interval [iova, iova + pgsize * pgcount - 1] "
                 "(viommu_add_mapping) and sends one MAP; VIRTIO 1.2 5.13.6.6 defines \"a "
                 "mapping as a virtual region created with a single MAP request\" "
                 "(MAP_CALL_MAPPING).",
    "replace_table": "No tables: an interval tree of mappings.",
    "unmap_slots": "No tables: viommu_unmap_pages removes whole mappings found in the tree.",
    "per_table_batches": "No tables: one call handles all pgcount pages as one mapping.",
    "hole_in_table": "0: no tables; holes follow hole_unmap.",
    "hole_unmap": "drop: viommu_del_mappings removes every mapping that starts in the call's "
                  "range, stepping over holes; viommu_unmap_pages then returns 0 if their sizes "
                  "sum to less than the range and sends no UNMAP (UNMAP_HOLE_DROPS), else the "
                  "sum, with UNMAP(iova, iova + sum - 1) (UNMAP_SUM_RANGE).",
    "unmap_range_checked": "No check in the driver or the core: the tree holds any u64 range.",
    "range_check": "No check: viommu_map_pages checks only prot's flags against the device's "
                   "features, and the core only alignment.  The domain's aperture "
                   "(input_range, viommu_probe) is not used on this path; the profile's device "
                   "(QEMU's) offers the whole 64-bit space.",
    "prot_first": "viommu_map_pages checks its flags before anything else; there is no range "
                  "check to order it against.",
    "prot_checked": "False: prot 0 (or only CACHE, NOEXEC, PRIV, which are dropped) maps a "
                    "mapping with flags 0, which VIRTIO 1.2 does not forbid; only IOMMU_MMIO "
                    "without VIRTIO_IOMMU_F_MMIO is -EINVAL, and QEMU's device offers F_MMIO "
                    "(virtio_iommu_device_realize).",
    "tables": "None: the interval tree holds whole mappings and nothing else.",
    "replaced_table_flush": "Not applicable: nothing is replaced.",
    "iova_to_phys_errno": "viommu_iova_to_phys returns 0 where no mapping in the tree holds the "
                          "IOVA.",
    "iova_bits": "0: u64 intervals; no index drops bits.",
    "pte_size": "0: no PTEs; a leaf is a mapping (leaf_unit).",
    "pages_per_call": "all: one map_pages / unmap_pages call covers pgsize * pgcount bytes.",
    "unmap_one_leaf": "False: viommu_del_mappings removes every mapping that starts in the "
                      "call's range.",
    "map_fail_keeps": "False: a refused call's own mapping is deleted from the tree "
                      "(viommu_del_mappings) and *mapped left 0 -- with map_fail_sweep's "
                      "exceptions.",
    "replace_nonempty_table": "Not applicable: no tables.",
    "iova_to_phys_offset": "viommu_iova_to_phys: mapping->paddr + (iova - "
                           "mapping->iova.start), from the first mapping in tree order that "
                           "holds the IOVA.",
    "page_sizes": "0: the device's page_size_mask, whatever it is (viommu_probe); QEMU offers "
                  "TARGET_PAGE_MASK, every power of two from 4K.",
    "pte_valid_bit": "Not applicable: no PTEs.",
    "unmap_returns_zero": "False: viommu_unmap_pages returns the sum of the mappings it "
                          "removed (UNMAP_WHOLE_MAPPINGS), 0 only under UNMAP_HOLE_DROPS.",
    "range_end_inclusive": "Not applicable: no range check (range_check 'none').",
    "domain_free_leaks": "None: viommu_domain_free deletes every mapping "
                         "(viommu_del_mappings(vdomain, 0, ULLONG_MAX)).",
}
#: mtk_iommu_v1: why the kernel harness does not build it.
_MTK_V1_NOT_RUN = ("read in Debian {0}; not run: the driver `depends on ARM` (it includes "
                   "<asm/dma-iommu.h> and sets up arm_iommu_create_mapping / "
                   "arm_iommu_attach_device, arm32's DMA API), and its table is allocated only "
                   "in mtk_iommu_v1_domain_finalise at attach, with dma_alloc_coherent on the "
                   "M4U's device; compiling it would need shims of both, which linuxpt has "
                   "not got yet; releases outside 6.1 to 6.12 not checked")
_RUN = ("checked against Debian 6.1.192 and 6.12.118 through the kernel harness (the driver "
        "compiled whole, unmodified); releases outside 6.1 to 6.12 not checked")

SEMANTICS: dict[str, Semantics] = {s.name: s for s in [
    Semantics(
        name="arm-lpae-v6.13", partial_unmap=SPLIT,
        source="drivers/iommu/io-pgtable-arm.c up to v6.12 (arm_lpae_split_blk_unmap)",
        spans=(span("5.4", "6.12", until=SPLIT_REMOVAL + " (v6.13)",
                    note="checked against Debian 6.1.192 and 6.12.118; the name keeps the "
                         "release the model first gave it"),),
        differences={**_ARM_DIFF, "partial_unmap":
                     "arm_lpae_split_blk_unmap replaces the block by a table of next-level "
                     "blocks minus the part unmapped (level by level down to the unmap size), "
                     "and returns the size asked for."},
        **_ARM),
    Semantics(
        name="arm-lpae-v6.14", partial_unmap=REFUSE,
        source="drivers/iommu/io-pgtable-arm.c from v6.13 (split removed; WARN and return 0)",
        spans=(span("6.13", since=SPLIT_REMOVAL, note="in the v6.13 iommu pull; the name keeps the "
                    "release the model first gave it"),),
        differences={**_ARM_DIFF, "partial_unmap":
                     "v6.13 removed the split (33729a5fc0ca): __arm_lpae_unmap warns and returns 0, so "
                     "iommu_unmap stops there."},
        **_ARM),
    Semantics(
        name="arm-lpae-s2-v6.13", partial_unmap=SPLIT,
        source="drivers/iommu/io-pgtable-arm.c ARM_64_LPAE_S2 up to v6.12 "
               "(arm_64_lpae_alloc_pgtable_s2, arm_lpae_split_blk_unmap)",
        spans=(span("5.4", "6.12", until=SPLIT_REMOVAL + " (v6.13)",
                    note="checked against Debian 6.1.192 and 6.12.118 as arm-smmu-v3 sets up a "
                         "stage-2 domain"),),
        differences={**_ARM_DIFF, **_S2_DIFF, "partial_unmap":
                     "arm_lpae_split_blk_unmap, as at stage 1."},
        **_S2),
    Semantics(
        name="arm-lpae-s2-v6.14", partial_unmap=REFUSE,
        source="drivers/iommu/io-pgtable-arm.c ARM_64_LPAE_S2 from v6.13 (split removed)",
        spans=(span("6.13", since=SPLIT_REMOVAL),),
        differences={**_ARM_DIFF, **_S2_DIFF, "partial_unmap":
                     "v6.13 removed the split (33729a5fc0ca), as at stage 1."},
        **_S2),
    Semantics(
        name="arm-v7s-v6.13", partial_unmap=SPLIT_TO_PGSIZE,
        source="drivers/iommu/io-pgtable-arm-v7s.c up to v6.12 (arm_v7s_split_cont, "
               "arm_v7s_split_blk_unmap)",
        spans=(span("5.4", "6.12", until=SPLIT_REMOVAL_V7S + " (v6.13)",
                    note="checked against Debian 6.1.192 and 6.12.118"),),
        differences={**_V7S_DIFF, "partial_unmap":
                     "arm_v7s_split_cont rewrites a supersection as 16 sections (a large page "
                     "as 16 small pages); arm_v7s_split_blk_unmap replaces a section by a "
                     "level-2 table of pages of the unmap's own size (4K, or 64K large pages) "
                     "minus the one unmapped, and returns that size."},
        **_V7S),
    Semantics(
        name="arm-v7s", partial_unmap=REFUSE,
        source="drivers/iommu/io-pgtable-arm-v7s.c from v6.13 (split removed)",
        spans=(span("6.13", since=SPLIT_REMOVAL_V7S),),
        differences={**_V7S_DIFF, "partial_unmap":
                     "v6.13 removed arm_v7s_split_cont and arm_v7s_split_blk_unmap (fd50651636fb): "
                     "__arm_v7s_unmap warns (\"Unmap of a partial large IOPTE is not "
                     "allowed\") and returns 0."},
        **_V7S),
    Semantics(
        name="msm-v6.13", partial_unmap=SPLIT_TO_PGSIZE,
        source="drivers/iommu/io-pgtable-arm-v7s.c as drivers/iommu/msm_iommu.c configures it "
               "(msm_iommu_domain_config: ARM_V7S, no quirks, msm_iommu_flush_ops), up to v6.12",
        spans=(span("5.4", "6.12", until=SPLIT_REMOVAL_V7S + " (v6.13)",
                    note="checked against Debian 6.1.192 and 6.12.118 through the kernel "
                         "harness (io-pgtable-arm-v7s.c configured as msm_iommu_domain_config "
                         "does, with msm's flush ops: format v7s-msm)"),),
        differences={**_V7S_DIFF, **_MSM_DIFF, "partial_unmap":
                     "arm_v7s_split_cont / arm_v7s_split_blk_unmap as under arm-v7s-v6.13; with "
                     "msm's flush ops each split is also invalidated at once "
                     "(io_pgtable_tlb_flush_walk, io_pgtable_tlb_add_page), which changes no "
                     "result."},
        **{**_V7S, "replaced_table_flush": "walk"}),
    Semantics(
        name="msm", partial_unmap=REFUSE,
        source="drivers/iommu/io-pgtable-arm-v7s.c from v6.13 (split removed) as "
               "drivers/iommu/msm_iommu.c configures it",
        spans=(span("6.13", since=SPLIT_REMOVAL_V7S, note="not read past 6.12: the v7s code is "
                    "arm-v7s's, msm_iommu.c's configuration taken to be unchanged"),),
        differences={**_V7S_DIFF, **_MSM_DIFF, "partial_unmap":
                     "v6.13 removed the v7s split (fd50651636fb): __arm_v7s_unmap warns and "
                     "returns 0, as under arm-v7s."},
        **{**_V7S, "replaced_table_flush": "walk"}),
    Semantics(
        name="apple-dart", exists_errno=EEXIST, map_zero_size=0, partial_unmap=REFUSE,
        replace_table=False, unmap_slots=True, per_table_batches=True,
        range_check=PADDR_START, prot_first=False, tables="dart",
        source="drivers/iommu/io-pgtable-dart.c (dart_map_pages, dart_unmap_pages)",
        spans=(span("5.15", since="46d1fb072e76 iommu/dart: Add DART iommu driver",
                    note="checked against Debian 6.1.192 and 6.12.118"),),
        differences={
            "exists_errno": "dart_init_pte: -EEXIST when any entry of the batch is valid; "
                            "nothing is written.",
            "map_zero_size": "The classic core's `while (size)` loop does nothing: 0.",
            "partial_unmap": "One page size: an unmap never covers part of a leaf.",
            "replace_table": "No blocks: tables only hold pages.",
            "unmap_slots": "dart_unmap_pages clears the batch's entries until an empty one "
                           "(WARN_ON(!pte)); a missing level-2 table is 0.",
            "per_table_batches": "dart_map_pages / dart_unmap_pages stop at the end of the "
                                 "level-2 table (DART_PTES_PER_TABLE).",
            "range_check": "dart_map_pages checks only paddr >> oas (-ERANGE); the IOVA is never "
                           "checked: bits above the tables' reach are masked off "
                           "(dart_get_table), so such an IOVA aliases a lower one "
                           "(IOVA_PAST_IAS).",
            "prot_first": "dart_map_pages checks paddr (-ERANGE) before prot (-EINVAL).",
            "tables": "dart_map_pages allocates a level-2 table where the level-1 entry is "
                      "empty; dart_unmap_pages never frees one: only apple_dart_free_pgtable "
                      "does.",
            "map_over_live": "fail: dart_init_pte -> -EEXIST.",
            "hole_in_table": "0: dart_unmap_pages stops at an empty entry (WARN_ON(!pte)).",
            "hole_unmap": "stop: dart_unmap_pages returns what it cleared before the empty entry.",
            "unmap_range_checked": "dart_unmap_pages checks no range: the IOVA's upper bits "
                                   "are masked off (dart_get_table).",
            "replaced_table_flush": "Not applicable: no blocks, no table is ever replaced.",
            "iova_to_phys_errno": "dart_iova_to_phys returns 0 where the walk finds nothing.",
            "iova_bits": "0 here: dart_get_table masks the IOVA to the tables' reach (2^36 for "
                         "16K pages), above ias: the geometry's top (spec.tables."
                         "dart_geometry) states it.",
            "prot_checked": "dart_map_pages: no READ and no WRITE -> -EINVAL (since "
                            "6093cd582f8e, v6.11).",
            "pte_size": "0: one entry per page.",
            "pages_per_call": "all: dart_map_pages / dart_unmap_pages take pgcount pages (to the "
                              "table's end).",
            "unmap_one_leaf": "False: up to pgcount entries.",
            "map_fail_keeps": "Moot: dart_init_pte checks the whole batch before writing.",
            "replace_nonempty_table": "Not applicable: no blocks.",
            "page_sizes": "0 (one page size, the DART's: apple_dart_hw pgsize).",
            "iova_to_phys_offset": "dart_iova_to_phys adds the offset in the page.",
            "domain_free_leaks": "None: apple_dart_free_pgtable frees every table.",
            "pte_valid_bit": "True: APPLE_DART_PTE_VALID / APPLE_DART1_PTE_PROT_SP_DIS mark a "
                             "live entry.",
            "unmap_returns_zero": "False: dart_unmap_pages returns the bytes it cleared.",
        }),
    Semantics(
        name="generic-pt", exists_errno=EADDRINUSE, map_zero_size=0,
        partial_unmap=WHOLE, replace_table=False, unmap_slots=False,
        per_table_batches=False, unmap_range_checked=True, iova_to_phys_errno=True,
        point_spans={"map_zero_size": (
            span("6.19", "7.0", note="0: the classic core's loop never calls the driver"),
            span("7.1", since="d6c65b0fd621 iommupt: Avoid rewalking during map",
                 note="-EINVAL under core=\"map_range\" (MAP_ZERO_SIZE)"))},
        source="drivers/iommu/generic_pt/iommu_pt.h (the iommupt path, v6.19+)",
        spans=(span("6.19", since="7c5b184db714 genpt: Generic Page Table base API; "
                    "dcd6a011a8d5 iommupt: Add map_pages op", note="AMD (789a5913b29c) and "
                    "VT-d (d373449d8e97) from v6.19; the v7.1 core is core=\"map_range\""),),
        differences={
            "exists_errno": "__map_range / clear_contig return -EADDRINUSE for any present "
                            "leaf under the new page.",
            "map_zero_size": "Under the classic cores (v6.18 to v7.0) __iommu_map's `while "
                             "(size)` loop never calls the driver: 0.  Under the v7.1 core "
                             "(core=\"map_range\") map_range's make_range_ul rejects len == 0 "
                             "with -EINVAL (MAP_ZERO_SIZE).",
            "partial_unmap": "__unmap_range removes a whole leaf that starts at the range "
                             "start and returns its size; a range starting inside a leaf is "
                             "-EINVAL, so nothing is unmapped.",
            "replace_table": "clear_contig frees only empty tables; any leaf is -EADDRINUSE.",
            "unmap_slots": "__unmap_range walks entries; an empty one ends the walk.",
            "per_table_batches": "map_pages / unmap_pages walk the whole range.",
            "unmap_range_checked": "unmap_range's make_range / pt_check_range reject a range "
                                   "whose last byte is past the table's address space "
                                   "(-ERANGE), and unmap_pages returns 0.",
            "iova_to_phys_errno": "iova_to_phys returns make_range's -ERANGE as the address "
                                  "for an IOVA past the table (IOVA_TO_PHYS_RANGE).",
            "map_over_live": "fail: __map_range / clear_contig -> -EADDRINUSE.",
            "hole_in_table": "0: an empty entry ends __unmap_range's walk.",
            "hole_unmap": "stop: __unmap_range stops at the first empty entry.",
            "range_check": "whole: map_pages' make_range / pt_check_range reject an IOVA range "
                           "whose last byte is past the table, and a paddr past the OA "
                           "(-ERANGE).",
            "prot_first": "generic_pt's map_pages checks prot (WARN_ON, -EINVAL) before the "
                          "range.",
            "tables": "None: the model tracks no tables; generic_pt frees a table its unmap "
                      "empties, so every result follows from the leaves.",
            "replaced_table_flush": "Not applicable: a block over a table of leaves is "
                                    "-EADDRINUSE (clear_contig frees only empty tables).",
            "iova_bits": "0: the range check rejects an IOVA past the table (range_check).",
            "prot_checked": "map_pages: no READ and no WRITE -> WARN_ON, -EINVAL.",
            "pte_size": "0: a page is one entry of its level (or a contiguous group the format "
                        "reads as one leaf).",
            "pages_per_call": "all: map_pages / unmap_pages walk the whole range.",
            "unmap_one_leaf": "False: __unmap_range walks the whole range.",
            "map_fail_keeps": "True: __map_range stops at the live leaf; what it wrote before "
                              "is counted in *mapped and the core unmaps it (MAP_ROLLBACK).",
            "replace_nonempty_table": "Not applicable: clear_contig frees only empty tables "
                                      "(replace_table).",
            "page_sizes": "0: the format's page sizes as the profile offers them.",
            "iova_to_phys_offset": "iova_to_phys adds the offset in the leaf.",
            "domain_free_leaks": "None: pt_iommu_deinit frees every table (the collected "
                                 "free list).",
            "pte_valid_bit": "True: every generic_pt format's entry has a present bit "
                             "(pt_load_entry: PT_ENTRY_EMPTY).",
            "unmap_returns_zero": "False: unmap_pages / unmap_range return the bytes unmapped.",
        }),
    Semantics(
        name="rockchip", exists_errno=EADDRINUSE, partial_unmap=REFUSE, replace_table=False,
        unmap_slots=False, pte_size=SZ_4K, page_sizes=0x007ff000, pages_per_call="one", map_fail_keeps=False,
        source=_ROCKCHIP + " (rk_iommu_map / rk_iommu_map_iova, rk_iommu_unmap / "
               "rk_iommu_unmap_iova, rk_iommu_iova_to_phys; the v1 table, rk_ops_v1)",
        spans=(span("6.1", "6.12", note=_RUN),),
        differences={**_IN_DRIVER_DIFF,
            "domain_free_leaks": "None: rk_iommu_domain_free frees the page table of every "
                                 "valid DTE, then the DT.",
            "exists_errno": "rk_iommu_map_iova: a valid PTE in the range -> unwind (the PTEs "
                            "this call wrote are cleared) and -EADDRINUSE "
                            "(6.1:816 / 6.12:832).",
            "map_fail_keeps": "rk_iommu_map_iova's unwind clears what the call wrote before "
                              "the live PTE: a failed call leaves nothing.",
            "pte_size": "The only leaf is a 4K PTE (two levels of 1024 u32 entries): "
                        "RK_IOMMU_PGSIZE_BITMAP 4K..4M only batches 4K PTEs inside one page "
                        "table, so a 2M map is 512 PTEs and any 4K of it can be unmapped.",
            "partial_unmap": "Never arises: every leaf is one 4K PTE.",
            "replace_table": "No blocks: nothing is ever replaced.",
            "unmap_slots": "rk_iommu_unmap_iova clears PTE by PTE.",
            "hole_unmap": "rk_iommu_unmap returns 0 for an invalid DTE; rk_iommu_unmap_iova "
                          "breaks at the first invalid PTE and returns what it cleared: a hole "
                          "ends iommu_unmap.",
            "tables": "Page tables are allocated on map (GFP_ATOMIC | GFP_DMA32) and freed only "
                      "in rk_iommu_domain_free; the model does not track them (no fail_alloc "
                      "prediction: the tester checks a failed map's rollback instead).",
            "range_check": "No check: rk_iova_dte_index keeps IOVA bits 31:22; rk_mk_pte keeps "
                           "paddr bits 31:12 (the v1 table; v2 keeps 40 bits).",
        }, **_IN_DRIVER),
    Semantics(
        name="exynos", exists_errno=EADDRINUSE, partial_unmap=REFUSE, replace_table=True,
        unmap_slots=False, tables="v7s", pages_per_call="one", hole_unmap="count",
        page_sizes=SZ_4K | 0x10000 | 0x100000,
        unmap_one_leaf=True, map_fail_keeps=False, replace_nonempty_table=False,
        source=_EXYNOS + " (exynos_iommu_map, lv1set_section, lv2set_page, alloc_lv2entry, "
               "exynos_iommu_unmap, exynos_iommu_iova_to_phys)",
        spans=(span("6.1", "6.12", note=_RUN),),
        differences={**_IN_DRIVER_DIFF,
            "domain_free_leaks": "None: exynos_iommu_domain_free frees the lv2 table of every "
                                 "lv1 page entry, then the lv1 table.",
            "exists_errno": "-EADDRINUSE with a WARN for every overlap: section over section "
                            "(lv1set_section), 4K/64K under a section (alloc_lv2entry), 4K over "
                            "any live lv2 entry (lv2set_page), 64K over any of its 16 slots.",
            "map_fail_keeps": "lv2set_page zeroes the slots of a 64K page it wrote before the "
                              "live one (memset(pent - i, 0, ...)): a failed call leaves "
                              "nothing.",
            "replace_table": "lv1set_section frees an lv2 table that stands where the section "
                             "goes (kmem_cache_free) -- only when it is empty.",
            "replace_nonempty_table": "lv1set_section: `if (*pgcnt != NUM_LV2ENTRIES) return "
                                      "-EADDRINUSE;`: a table with a live entry is a conflict.",
            "partial_unmap": "exynos_iommu_unmap: WARN_ON(size < SECT_SIZE) / (size < "
                             "LPAGE_SIZE) -> 0 (\"Failed: size ... is smaller than page "
                             "size\"): refused, the core's loop stops.",
            "unmap_slots": "An unmap call removes one leaf (unmap_one_leaf), never a table.",
            "unmap_one_leaf": "exynos_iommu_unmap clears one section, one 64K page (16 entries) "
                              "or one 4K page and returns its size, whatever the pgsize asked.",
            "hole_unmap": "An lv1 fault returns min(pgsize, SECT_SIZE), an lv2 fault SPAGE_SIZE "
                          "(`goto done`, with a TLB invalidation): a hole is stepped over and "
                          "counted, so unmapping an unmapped range returns its whole size.",
            "tables": "lv1: 4096 entries of 1M, lv2 tables of 256 4K entries (v7s's geometry); "
                      "an lv2 table is allocated on map (alloc_lv2entry) and freed only by a "
                      "section over it while empty, or at domain free.",
            "range_check": "No check: `sysmmu_iova_t iova = (sysmmu_iova_t)l_iova` keeps 32 "
                           "bits; mk_lv1ent_sect / mk_lv2ent_spage store pa >> PG_ENT_SHIFT in "
                           "a u32 (32 bits of PA on SysMMU v1-3, 36 on v5+).",
            "replaced_table_flush": "The replaced table is empty: no translation to flush.",
        }, **_IN_DRIVER),
    Semantics(
        name="sun50i", **{**_SUN50I_POINTS, "range_check": PADDR_EINVAL},
        source=_SUN50I + " from v6.12 at least (sun50i_iommu_map's paddr check, "
               "sun50i_iommu_unmap, sun50i_iommu_iova_to_phys)",
        spans=(span("6.12", "6.12", note=_RUN.replace("6.1.192 and ", "")),),
        differences={**_SUN50I_DIFF,
            "exists_errno": "sun50i_iommu_map: a valid PTE -> dev_err and -EBUSY (6.12:626).",
            "range_check": "sun50i_iommu_map: `if ((uint64_t)paddr >> 32)` -> -EINVAL "
                           "(dev_warn_once), before any table is allocated (6.12:606); the "
                           "IOVA is not checked (iova_bits).",
        }),
    Semantics(
        name="sun50i-v6.1", **_SUN50I_POINTS,
        source=_SUN50I + " in 6.1 (no paddr check: sun50i_mk_pte keeps bits 31:12)",
        spans=(span("6.1", "6.1", note=_RUN.replace("and 6.12.118", "(6.12.118 checks "
                                                        "paddr: variant sun50i)")),),
        differences={**_SUN50I_DIFF,
            "exists_errno": "sun50i_iommu_map: a valid PTE -> -EBUSY (6.1:614).",
            "range_check": "No check: sun50i_mk_pte does `page &= GENMASK(31, 12)` "
                           "(6.1:286), cutting a paddr at or past 4G (PADDR_PAST_OAS).",
        }),
    Semantics(
        name="tegra-smmu", exists_errno=0, partial_unmap=REFUSE, replace_table=False,
        unmap_slots=False, map_over_live=OVERWRITE, pages_per_call="one", page_sizes=SZ_4K,
        domain_free_leaks="the page directory and every page table still in use",
        **_IN_DRIVER,
        source=_TEGRA + " (tegra_smmu_map / __tegra_smmu_map, __tegra_smmu_unmap, "
               "tegra_smmu_iova_to_phys)",
        spans=(span("6.1", "6.12", note=_RUN),),
        differences={**_IN_DRIVER_DIFF,
            "domain_free_leaks": "tegra_smmu_domain_free: \"TODO: free page directory and page "
                                 "tables\"; it frees the bookkeeping only, so the directory and "
                                 "every page table with a live PTE leak (DOMAIN_FREE_LEAK); a "
                                 "page table emptied by unmap is freed at once "
                                 "(tegra_smmu_pte_put_use).",
            "exists_errno": "Never used: no map fails over a live PTE (map_over_live).",
            "map_over_live": "__tegra_smmu_map writes the new PTE over a live one; only the "
                             "use count notices (`if (*pte == 0) tegra_smmu_pte_get_use`).",
            "partial_unmap": "Never arises: one page size (4K).",
            "replace_table": "No blocks.",
            "unmap_slots": "__tegra_smmu_unmap clears one PTE.",
            "hole_unmap": "__tegra_smmu_unmap: `if (!pte || !*pte) return 0;`: a hole ends "
                          "iommu_unmap.",
            "range_check": "No check: iova_pd_index masks the directory index to 10 bits; "
                           "SMMU_PHYS_PFN(paddr) is ORed into the u32 PTE unmasked (PA bits "
                           "past the SoC's width reach the NS/W/R bits: PADDR_PAST_OAS).",
            "tables": "A page table is freed when its use count drops to 0 "
                      "(tegra_smmu_pte_put_use); what domain free leaves is "
                      "domain_free_leaks.  Not tracked.",
        }, ),
    Semantics(
        name="mtk_iommu_v1-v6.1", exists_errno=EEXIST, partial_unmap=REFUSE,
        replace_table=False, unmap_slots=False, pte_size=SZ_4K, hole_unmap="count",
        pages_per_call="one", map_fail_keeps=False, iova_to_phys_offset=False,
        page_sizes=0xfffff000, **_IN_DRIVER,
        source=_MTK_V1 + " in 6.1 (->map / ->unmap: mtk_iommu_v1_map, mtk_iommu_v1_unmap, "
               "mtk_iommu_v1_iova_to_phys)",
        spans=(span("6.1", "6.1", until="b577f7e679b7 iommu/mtk_iommu_v1: Update to "
                    "{map,unmap}_pages (v6.2)", note=_MTK_V1_NOT_RUN.format(
                        "6.1.192 (6.12.118: variant mtk_iommu_v1)")),),
        differences={**_MTK_V1_DIFF,
            "map_fail_keeps": "mtk_iommu_v1_map clears the PTEs it wrote before the live one "
                              "(memset) and returns -EEXIST: a failed call leaves nothing.",
            "pages_per_call": "->map: one page per call from the core, written as pgsize / 4K "
                              "PTEs.",
        }),
    Semantics(
        name="mtk_iommu_v1", exists_errno=EEXIST, partial_unmap=REFUSE,
        replace_table=False, unmap_slots=False, pte_size=SZ_4K, hole_unmap="count",
        iova_to_phys_offset=False, page_sizes=SZ_4K,
        **{**_IN_DRIVER, "per_table_batches": False},
        source=_MTK_V1 + " from v6.2 (mtk_iommu_v1_map / _unmap as ->map_pages / "
               "->unmap_pages, mtk_iommu_v1_iova_to_phys)",
        spans=(span("6.2", "6.12", since="b577f7e679b7 iommu/mtk_iommu_v1: Update to "
                    "{map,unmap}_pages", note=_MTK_V1_NOT_RUN.format("6.12.118")),),
        differences={**_MTK_V1_DIFF,
            "map_fail_keeps": "mtk_iommu_v1_map breaks at the live PTE with no rollback: the "
                              "PTEs before it stay, *mapped counts them and the core unmaps "
                              "them (MAP_ROLLBACK).",
            "pages_per_call": "all: mtk_iommu_v1_map / _unmap loop over pgcount 4K pages.",
            "per_table_batches": "No batches: one flat table.",
        }),
    Semantics(
        name="vtd", exists_errno=0, map_zero_size=0, partial_unmap=WHOLE, replace_table=True,
        unmap_slots=False, per_table_batches=False, map_over_live=KEEP, hole_unmap="count",
        range_check=IOVA_EFAULT, prot_first=False, tables="vtd",
        page_sizes=SZ_4K | 0x200000 | 0x40000000,
        source=_VTD + " (intel_iommu_map_pages / __domain_mapping / switch_to_super_page, "
               "intel_iommu_unmap_pages / domain_unmap / dma_pte_clear_level, "
               "intel_iommu_iova_to_phys): the second-level dma_pte table before generic_pt",
        spans=(span("6.1", "6.18", until="d373449d8e97 iommu/vt-d: Use the generic iommu page "
                    "table (v6.19)", note="checked against Debian 6.1.192 and 6.12.118 through "
                    "the kernel harness (the tree's page-table functions extracted and compiled "
                    "unmodified); 6.1 hits BUG_ON where 6.12 returns for an unmap past 2^48 "
                    "(both IOVA_PAST_IAS); releases before 6.1 not read"),),
        differences={
            "exists_errno": "Never used: no map fails over a live PTE (map_over_live).",
            "map_zero_size": "The classic core's `while (size)` loop never calls the driver: 0 "
                             "(iommu.c __iommu_map).",
            "partial_unmap": "whole: intel_iommu_unmap raises the size to the span of the "
                             "superpage pfn_to_dma_pte finds at iova (\"Cope with horrid API "
                             "which requires us to unmap more than the size argument\"), so from "
                             "its base the superpage goes whole and its size is returned; an "
                             "unmap that starts inside one, or ends inside one, leaves it mapped "
                             "(UNMAP_PARTIAL_SUPERPAGE_KEPT).",
            "replace_table": "switch_to_super_page -> dma_pte_free_pagetable clears a table under "
                             "a new 2M / 1G page with the leaves in it and frees it.",
            "unmap_slots": "No slots: domain_unmap (dma_pte_clear_level) clears every present "
                           "entry the range covers and frees every table whose span it covers, "
                           "whatever the core's page size.",
            "per_table_batches": "intel_iommu_map_pages / intel_iommu_unmap_pages take all "
                                 "pgcount pages in one intel_iommu_map / intel_iommu_unmap.",
            "map_over_live": "keep: __domain_mapping writes each PTE with cmpxchg64_local(pte, "
                             "0, new); a live 4K PTE is kept with a WARN (\"DMA PTE for vPFN ... "
                             "already set\") and the call goes on and returns 0 "
                             "(MAP_KEEPS_LIVE); a 2M / 1G page's slot is cleared first, a table "
                             "or a live superpage of its size (switch_to_super_page: "
                             "MAP_REPLACE_TABLE, MAP_SUPERPAGE_REPLACES); a page under a live "
                             "larger superpage is written into its memory (MAP_UNDER_SUPERPAGE).",
            "hole_in_table": "0: holes follow hole_unmap.",
            "hole_unmap": "count: domain_unmap skips empty entries and intel_iommu_unmap returns "
                          "the size; at a hole above the last level the size is first raised "
                          "to the hole's span (UNMAP_HOLE_ROUNDS).",
            "unmap_range_checked": "6.12: a start past 2^48 returns 0 (pfn_to_dma_pte is NULL); "
                                   "a range ending past it WARNs in domain_unmap and clears "
                                   "nothing, yet returns its size.  6.1: BUG_ON for both.  "
                                   "Stated as IOVA_PAST_IAS (nothing unmapped).",
            "range_check": "iova_efault: intel_iommu_map checks the call's whole IOVA range "
                           "(`if (end < max_addr) return -EFAULT`, end = 2^gaw); paddr is never "
                           "checked (pteval = phys_pfn << VTD_PAGE_SHIFT | attr: "
                           "PADDR_PAST_OAS).",
            "prot_first": "intel_iommu_map's -EFAULT comes before __domain_mapping's `(prot & "
                          "(DMA_PTE_READ|DMA_PTE_WRITE)) == 0` -> -EINVAL.",
            "tables": "vtd: 4 levels of 512 entries (agaw 48).  pfn_to_dma_pte allocates the "
                      "missing tables down to each page's level and keeps them if the map then "
                      "fails; an unmap frees every table whose whole span its (raised) range "
                      "covers (dma_pte_list_pagetables, freed after the IOTLB flush), never one "
                      "it only empties; a superpage frees the tables under it.",
            "replaced_table_flush": "walk: switch_to_super_page flushes at once, inside the map, "
                                    "for every present slot it cleared (6.1 "
                                    "iommu_flush_iotlb_psi, 6.12 cache_tag_flush_range).",
            "iova_to_phys_errno": "intel_iommu_iova_to_phys returns 0 for a missing PTE and past "
                                  "2^48.",
            "iova_bits": "0: the map's range check (-EFAULT) and domain_pfn_supported keep every "
                         "access below 2^48.",
            "prot_checked": "__domain_mapping: no DMA_PTE_READ and no DMA_PTE_WRITE -> -EINVAL.",
            "pte_size": "0: a page is one PTE of its level (DMA_PTE_LARGE_PAGE for 2M / 1G), of "
                        "the size hardware_largepage_caps picks: the largest superpage iova and "
                        "paddr are aligned to and the rest of the call fills, whatever the "
                        "core's pgsize.",
            "pages_per_call": "all: one intel_iommu_map for pgcount pages.",
            "unmap_one_leaf": "False: domain_unmap clears the whole range.",
            "map_fail_keeps": "True, uncounted: a table allocation that fails (-ENOMEM) leaves "
                              "the PTEs written before it, but intel_iommu_map_pages sets "
                              "*mapped only on success (MAP_FAIL_UNCOUNTED); the model counts "
                              "them, for the core to roll back.",
            "replace_nonempty_table": "True: dma_pte_free_pagetable clears the leaves and frees "
                                      "the table whatever it holds.",
            "iova_to_phys_offset": "intel_iommu_iova_to_phys adds the offset in the 4K / 2M / 1G "
                                   "leaf.",
            "page_sizes": "4K | 2M | 1G: intel_iommu_ops' SZ_4K | domain_super_pgsize_bitmap "
                          "(iommu_superpage 2).",
            "pte_valid_bit": "True: dma_pte_present (DMA_PTE_READ | DMA_PTE_WRITE).",
            "unmap_returns_zero": "False: intel_iommu_unmap returns the (raised) size.",
            "domain_free_leaks": "None: domain_exit -> domain_unmap of the whole space frees "
                                 "every table and the pgd (except those MAP_REPLACE_LEAKS_TABLE "
                                 "orphaned).",
        }),
    Semantics(
        name="s390", exists_errno=0, partial_unmap=REFUSE, replace_table=False,
        unmap_slots=False, per_table_batches=False, map_over_live=OVERWRITE, map_zero_size=0,
        unmap_range_checked=True, range_check=IOVA_EINVAL, range_end_inclusive=True,
        prot_first=False, prot_checked=False, hole_unmap="count", map_fail_keeps=False,
        iova_to_phys_offset=False, page_sizes=SZ_4K,
        source=_S390 + " in 6.12 (s390_iommu_map_pages / s390_iommu_validate_trans, "
               "s390_iommu_unmap_pages / s390_iommu_invalidate_trans, s390_iommu_iova_to_phys): "
               "its own region-third / segment / page tables",
        spans=(span("6.12", "6.12", note="checked against Debian 6.12.118 through the kernel "
                    "harness (the driver compiled whole); 6.1's driver uses "
                    "arch/s390/pci/pci_dma.c's tables (not stated); 6.2 to 6.11 not read"),),
        differences={
            "exists_errno": "Never used: no map fails over a live PTE (map_over_live).",
            "map_zero_size": "The core's `while (size)` loop never calls the driver: 0.",
            "partial_unmap": "Never arises: one page size (4K).",
            "replace_table": "No blocks.",
            "unmap_slots": "s390_iommu_invalidate_trans invalidates PTE by PTE.",
            "per_table_batches": "No batches: map_pages / unmap_pages take all pgcount pages.",
            "map_over_live": "overwrite: dma_update_cpu_trans writes the new PTE over a valid "
                             "one (validate_pt_entry WARN_ON_ONCE) (MAP_OVERWRITE).",
            "hole_in_table": "0: holes follow hole_unmap.",
            "hole_unmap": "count: s390_iommu_invalidate_trans invalidates every PTE of the call, "
                          "holes included (WARN_ON_ONCE; it allocates the segment and page "
                          "tables a hole needs), and unmap_pages returns the whole size "
                          "(UNMAP_HOLE_COUNTED).",
            "unmap_range_checked": "s390_iommu_unmap_pages: WARN_ON(iova < aperture_start || "
                                   "iova + size - 1 > aperture_end) -> 0 (UNMAP_RANGE).",
            "range_check": "iova_einval: s390_iommu_map_pages refuses a call whose IOVA range "
                           "leaves the aperture [0, 2^42 - 1] (ZPCI_TABLE_SIZE_RT, set at "
                           "domain_alloc_paging) with -EINVAL; paddr is neither checked nor "
                           "cut (oas 64).",
            "range_end_inclusive": "True: s390_iommu_map_pages / _unmap_pages test `iova + "
                                   "size - 1 > aperture_end`, which wraps only for a range "
                                   "past 2^64 (accepted: IOVA_PAST_IAS).",
            "prot_first": "prot is not checked (prot_checked).",
            "prot_checked": "prot is not checked: no IOMMU_WRITE sets ZPCI_TABLE_PROTECTED, so "
                            "prot 0 maps a valid read-only page.",
            "tables": "None: allocated on map (and on unmap, for holes), freed at domain free "
                      "only (s390_domain_free); not tracked, so no fail_alloc prediction.",
            "replaced_table_flush": "Not applicable: no blocks.",
            "iova_to_phys_errno": "s390_iommu_iova_to_phys returns 0 for an invalid entry or "
                                  "outside the aperture.",
            "iova_bits": "0: the aperture check keeps every IOVA below 2^42.",
            "pte_size": "0: one page size, one PTE per page.",
            "pages_per_call": "all: validate_trans / invalidate_trans loop over pgcount pages.",
            "unmap_one_leaf": "False.",
            "map_fail_keeps": "False: s390_iommu_validate_trans's undo invalidates the pages the "
                              "call wrote and *mapped stays 0 -- pages it overwrote too, so "
                              "their old translations are lost (only a table allocation fails "
                              "here; the model does not inject that without tracked tables).",
            "replace_nonempty_table": "Not applicable: no blocks.",
            "iova_to_phys_offset": "s390_iommu_iova_to_phys returns `pte & ZPCI_PTE_ADDR_MASK`: "
                                   "the page's address without the IOVA's offset "
                                   "(IOVA_TO_PHYS_NO_OFFSET).",
            "page_sizes": "SZ_4K (s390_iommu_ops.pgsize_bitmap).",
            "pte_valid_bit": "True: ZPCI_PTE_INVALID marks a hole (pt_entry_isvalid).",
            "unmap_returns_zero": "False: s390_iommu_unmap_pages returns the size.",
            "domain_free_leaks": "None: s390_domain_free (RCU) frees every table "
                                 "(dma_cleanup_tables).",
        }),
    Semantics(
        name="sprd-v6.1", exists_errno=0, partial_unmap=REFUSE, replace_table=False,
        unmap_slots=False, map_over_live=OVERWRITE, pte_size=SZ_4K, hole_unmap="count",
        pages_per_call="one", pte_valid_bit=False, unmap_returns_zero=True,
        **{**_IN_DRIVER, "range_check": IOVA_EINVAL, "iova_bits": 0,
           "unmap_range_checked": True},
        source=_SPRD + " in 6.1 (->map / ->unmap: sprd_iommu_map, sprd_iommu_unmap, "
               "sprd_iommu_iova_to_phys): one flat table of 32-bit PTEs over a 256M aperture",
        spans=(span("6.1", "6.1", until="a05d5857cec3 iommu/sprd: Update to "
                    "{map,unmap}_pages (v6.2)",
                    note=_RUN.replace("6.1.192 and 6.12.118", "6.1.192").replace(
                        "releases outside 6.1 to 6.12", "releases before 6.1")),),
        differences={**_SPRD_DIFF,
            "pages_per_call": "->map / ->unmap: one page per call from the core (any power of "
                              "two from 4K: pgsize_bitmap ~0UL << 12), written as pgsize / 4K "
                              "PTEs.",
            "unmap_returns_zero": "sprd_iommu_unmap memsets the call's PTEs and returns 0, so "
                                  "iommu_unmap stops after the first chunk and returns 0 "
                                  "(UNMAP_RETURNS_ZERO); outside the aperture it returns "
                                  "(size_t)-EINVAL, which the core adds and returns.",
            "unmap_range_checked": "sprd_iommu_unmap: outside the aperture -> (size_t)-EINVAL, "
                                   "nothing cleared (UNMAP_RANGE).",
            "page_sizes": "~0UL << 12: every power of two from 4K (each written as 4K PTEs).",
        }),
    Semantics(
        name="sprd", exists_errno=0, partial_unmap=REFUSE, replace_table=False,
        unmap_slots=False, map_over_live=OVERWRITE, pte_size=SZ_4K, hole_unmap="count",
        pte_valid_bit=False, page_sizes=SZ_4K,
        **{**_IN_DRIVER, "range_check": IOVA_EINVAL, "iova_bits": 0,
           "unmap_range_checked": True},
        source=_SPRD + " from v6.2 (->map_pages / ->unmap_pages honouring pgcount: "
               "sprd_iommu_map, sprd_iommu_unmap, sprd_iommu_iova_to_phys)",
        spans=(span("6.2", "6.12", since="a05d5857cec3 iommu/sprd: Update to {map,unmap}_pages",
                    note=_RUN.replace("6.1.192 and ", "")),),
        differences={**_SPRD_DIFF,
            "pages_per_call": "all: sprd_iommu_map / sprd_iommu_unmap loop over pgcount 4K "
                              "PTEs.",
            "unmap_returns_zero": "False: sprd_iommu_unmap returns the size (a05d5857cec3).",
            "unmap_range_checked": "sprd_iommu_unmap: outside the aperture -> 0, nothing "
                                   "cleared (UNMAP_RANGE).",
            "page_sizes": "SPRD_IOMMU_PAGE_SIZE (4K).",
        }),
    Semantics(
        name="omap", exists_errno=0, partial_unmap=WHOLE_ANY, replace_table=False,
        unmap_slots=False, map_over_live=OVERWRITE, hole_in_table=SZ_4K, pages_per_call="one",
        unmap_one_leaf=True, page_sizes=SZ_4K | 0x10000 | 0x100000 | 0x1000000, **_IN_DRIVER,
        source=_OMAP + " (omap_iommu_map / iopgtable_store_entry, omap_iommu_unmap / "
               "iopgtable_clear_entry, omap_iommu_iova_to_phys): the ARM short-descriptor "
               "table the OMAP MMU walks, kept per attached IOMMU",
        spans=(span("6.1", "6.12", note=_RUN),),
        differences={**_IN_DRIVER_DIFF,
            "exists_errno": "Never used: no map fails over a live entry (map_over_live).",
            "partial_unmap": "whole_any: iopgtable_clear_entry clears the whole leaf at da, all "
                             "16 copies of a 64K page or 16M supersection, wherever in it da "
                             "falls, and returns its size; the core then goes on from its own "
                             "iova plus that size.",
            "replace_table": "Not this point: a section over an L2 table is map_over_live's "
                             "overwrite (the table leaks: MAP_OVERWRITE_LEAKS_TABLE).",
            "unmap_slots": "No slots: one leaf per call (unmap_one_leaf).",
            "map_over_live": "overwrite: iopgd_alloc_section / _super and iopte_alloc_page / "
                             "_large write their entries whatever was there (MAP_OVERWRITE); a "
                             "section over an L2 table leaks it (MAP_OVERWRITE_LEAKS_TABLE), a "
                             "page over one of a larger page's 16 copies keeps the other 15 "
                             "(MAP_OVERWRITE_PART), a 4K / 64K page under a live section is "
                             "written into the section's memory (MAP_UNDER_SUPERPAGE), and only "
                             "the TLB entry at da is flushed (MAP_OVERWRITE_FLUSH_ONE).",
            "hole_in_table": "4K: iopgtable_clear_entry_core returns IOPTE_SIZE for an empty "
                             "entry of a live L2 table (one 4K per call, UNMAP_HOLE_IN_TABLE); "
                             "an L2 table exists exactly while it holds a page (iopte_free when "
                             "emptied); an empty PGD entry returns 0.",
            "hole_unmap": "stop: an empty PGD entry makes iopgtable_clear_entry return 0 and "
                          "iommu_unmap ends there (inside a live L2 table: hole_in_table).",
            "unmap_one_leaf": "True: omap_iommu_unmap clears one leaf (or one empty L2 entry) "
                              "per call and returns its size, whatever size it was given.",
            "pages_per_call": "6.1 has ->map / ->unmap (one page per call from the core); "
                              "6.12's ->map_pages / ->unmap_pages ignore pgcount and do one "
                              "page, reporting *mapped = that page.",
            "range_check": "No check: da is a u32 (IOVA bits past 31 dropped: IOVA_PAST_IAS); "
                           "the entry holds pa's 32 bits (PADDR_PAST_OAS).",
            "prot_checked": "prot is never read: the OMAP MMU's entries carry no permissions "
                            "(their endianness / element-size / mixed bits are 0), so every "
                            "leaf is read-write, prot 0 included.",
            "pte_size": "0: a page is one entry, or 16 copies for 64K and 16M.",
            "tables": "None: L2 tables are allocated on map and freed when emptied "
                      "(iopte_free); not tracked (no fail_alloc prediction).",
            "replaced_table_flush": "Not applicable: see map_over_live.",
            "page_sizes": "OMAP_IOMMU_PGSIZES: 4K | 64K | 1M | 16M.",
            "domain_free_leaks": "None: iopgtable_clear_entry_all at detach frees every L2 "
                                 "table still linked (one a section overwrote is not: "
                                 "MAP_OVERWRITE_LEAKS_TABLE).",
        }),
    Semantics(
        name="amd-v1", exists_errno=0, map_zero_size=0, partial_unmap=WHOLE_ANY,
        replace_table=True, unmap_slots=False, per_table_batches=False,
        map_over_live=REPLACE, hole_in_table=SZ_4K, range_check=NO_CHECK,
        source="drivers/iommu/amd/io_pgtable.c, the AMD v1 table before AMD moved to "
               "generic_pt (replace on map since v5.4; unmap_pages form since v6.1)",
        spans=(span("6.1", "6.18", since="6b080c4e815c iommu/amd: Add map/unmap_pages() "
                    "iommu_domain_ops callback support", until="789a5913b29c iommu/amd: Use the "
                    "generic iommu page table (v6.19)"),),
        differences={**_AMD_COMMON_DIFF,
            "iova_bits": "0: alloc_pte grows the table to cover any IOVA (fixed_levels).",
            "exists_errno": "Never used: no map fails over a live leaf (map_over_live).",
            "map_zero_size": "The classic core's `while (size)` loop does nothing: 0 "
                             "(iommu.c __iommu_map).",
            "map_over_live": "iommu_v1_map_pages never fails over a live mapping: alloc_pte "
                             "tears down a larger page on the way down (all its replicated "
                             "PTEs, or a level-size page whose entry becomes a new table), "
                             "and free_clear_pte clears each entry under the new page, freeing "
                             "any table there with the leaves in it.",
            "replace_table": "A special case of map_over_live: free_clear_pte frees the table "
                             "of smaller leaves under a larger page.",
            "partial_unmap": "iommu_v1_unmap_pages clears the whole PTE fetch_pte finds "
                             "(PAGE_SIZE_PTE_COUNT replicated entries) and counts its size, "
                             "wherever in the page the request starts.",
            "hole_in_table": "fetch_pte returns the level-0 PTE without checking that it is "
                             "present, so unmap clears a hole inside a level-0 table and "
                             "counts 4K; a non-present entry above level 0 makes fetch_pte "
                             "return NULL, and unmap stops there.",
            "unmap_slots": "iommu_v1_unmap_pages walks PTE by PTE, by the size of each one found.",
            "per_table_batches": "iommu_v1_map_pages / iommu_v1_unmap_pages loop over every page.",
            "unmap_range_checked": "fetch_pte checks each address on its own; past the table's "
                                   "range it finds nothing, like a hole.",
            "range_check": "iommu_v1_map_pages checks neither iova nor paddr: alloc_pte grows "
                           "the table (increase_address_space, up to PAGE_MODE_6_LEVEL, which "
                           "covers every 64-bit IOVA), and a paddr past 2^52 runs into the PTE's "
                           "flag bits (PADDR_PAST_OAS).",
            "prot_first": "iommu_v1_map_pages: -EINVAL for no IOMMU_PROT_IR/IW; there is no "
                          "range check to order it against.",
            "fixed_levels": "0: alloc_pte grows the table from PAGE_MODE_3_LEVEL "
                            "(increase_address_space) as an IOVA needs it, up to 6 levels.",
            "teardown_first": "alloc_pte clears a group of replicated PTEs before allocating "
                              "the table under it, but replaces a level-size page only once "
                              "its table is allocated (the old entry is overwritten by the "
                              "new table's).",
            "replace_flush": "iommu_v1_map_pages flushes only when `updated`: a table freed "
                             "(free_clear_pte) or a larger page torn down (alloc_pte); an "
                             "overwritten PTE of the new page's own level is not flushed "
                             "(MAP_REPLACE_LEAF_UNFLUSHED).",
            "teardown_frees_leaf": "free_clear_pte frees a table only when the entry is one "
                                   "(not a leaf: PM_PTE_LEVEL 7 or 0 are pages).",
            "iova_to_phys_errno": "iommu_v1_iova_to_phys returns 0 where fetch_pte finds "
                                  "nothing.",
        }),
    Semantics(
        name="amd-v2", exists_errno=0, map_zero_size=0, partial_unmap=WHOLE_ANY,
        replace_table=True, unmap_slots=False, per_table_batches=False,
        map_over_live=REPLACE, hole_in_table=SZ_4K, range_check=NO_CHECK,
        fixed_levels=4, teardown_first=True, replace_flush="replaced", teardown_frees_leaf=True,
        iova_bits=48,
        source="drivers/iommu/amd/io_pgtable_v2.c (iommu_v2_map_pages, v2_alloc_pte, "
               "iommu_v2_unmap_pages, fetch_pte), AMD's x86-64-format v2 table before AMD "
               "moved to generic_pt",
        spans=(span("6.1", "6.18", since="aaac38f61487 iommu/amd: Initial support for AMD "
                    "IOMMU v2 page table", until="789a5913b29c iommu/amd: Use the generic iommu "
                    "page table (v6.19)", note="checked against Debian 6.1.192 and 6.12.118 "
                    "(4 levels: amd_iommu_gpt_level without 5-level guest tables)"),),
        differences={**_AMD_COMMON_DIFF,
            "iova_bits": "48: PM_LEVEL_INDEX keeps 9 bits per level of the 4-level table "
                         "(IOVA_PAST_IAS, IOVA_TO_PHYS_WRAP).",
            "exists_errno": "Never used: no map fails over a live leaf (map_over_live).",
            "map_zero_size": "The classic core's `while (size)` loop does nothing: 0 "
                             "(iommu.c __iommu_map).",
            "map_over_live": "iommu_v2_map_pages never fails over a live mapping: v2_alloc_pte "
                             "clears a 2M/1G page met on the way down and puts a new table in "
                             "its place, and at the page's own level (\"Tear down existing pte "
                             "entries\") clears any present entry, freeing the table under a "
                             "new 2M (iommu_free_page) or 1G page (free_pgtable).",
            "replace_table": "A special case of map_over_live: the table of smaller leaves "
                             "under a new 2M or 1G page is freed with the leaves in it.",
            "partial_unmap": "iommu_v2_unmap_pages clears the PTE fetch_pte finds for the "
                             "address and counts its whole size (unmap_size), wherever in the "
                             "page the request starts.",
            "hole_in_table": "fetch_pte checks presence only above level 0 and returns the "
                             "level-0 PTE unchecked, so unmap clears a hole inside a level-0 "
                             "table and counts 4K; a missing entry above it returns NULL and "
                             "unmap stops.",
            "unmap_slots": "iommu_v2_unmap_pages walks PTE by PTE, by the size of each one found.",
            "per_table_batches": "iommu_v2_map_pages / iommu_v2_unmap_pages loop over every page.",
            "unmap_range_checked": "No check: fetch_pte indexes with PM_LEVEL_INDEX, which drops "
                                   "the IOVA bits above 48 (IOVA_PAST_IAS).",
            "range_check": "iommu_v2_map_pages checks neither iova nor paddr: PM_LEVEL_INDEX "
                           "masks each level's index to 9 bits, so an IOVA past 2^48 aliases "
                           "the one 2^48 below (IOVA_PAST_IAS), and set_pte_attr masks paddr "
                           "with PM_ADDR_MASK (PADDR_PAST_OAS).  cfg->ias says 52 "
                           "(IOMMU_IN_ADDR_BIT_SIZE) though 4 levels reach 2^48: the profile "
                           "states 48.",
            "prot_first": "iommu_v2_map_pages: -EINVAL for no IOMMU_PROT_IR/IW; there is no "
                          "range check to order it against.",
            "fixed_levels": "v2_alloc_pgtable: get_pgtable_level() is amd_iommu_gpt_level, 4 "
                            "levels (5 only on an IOMMU with 5-level guest tables, GATS; 6.1 "
                            "always 4); never grown.",
            "teardown_first": "v2_alloc_pte: `cmpxchg64(pte, *pte, 0ULL)` on a present large "
                              "PTE, then iommu_alloc_page_node on the next pass: the old page "
                              "is gone before the allocation that may fail.",
            "replace_flush": "v2_alloc_pte sets *updated for any present entry it clears or "
                             "overwrites, and iommu_v2_map_pages then flushes: 6.12 "
                             "amd_iommu_domain_flush_pages(o_iova, size); 6.1 "
                             "amd_iommu_flush_tlb (everything) when it wrote more than one "
                             "page, else amd_iommu_flush_page(o_iova), one 4K page "
                             "(MAP_REPLACE_FLUSH_ONE_PAGE).",
            "teardown_frees_leaf": "v2_alloc_pte's tear-down takes get_pgtable_pte(*pte) of "
                                   "any present entry and frees it (iommu_free_page for 2M, "
                                   "free_pgtable for 1G) without checking IOMMU_PAGE_PSE: a 2M "
                                   "or 1G page mapped over a live one of its size frees the old "
                                   "page's output address (MAP_REPLACE_FREES_PAGE).",
            "iova_to_phys_errno": "iommu_v2_iova_to_phys returns 0 for a missing PTE; an IOVA "
                                  "past 2^48 reads the aliased one (IOVA_TO_PHYS_WRAP).",
        }),
    Semantics(
        name="virtio-iommu-v6.1", exists_errno=EINVAL, map_over_live=FAIL, map_fail_sweep=True,
        map_fail_keeps=False, **_VIRTIO_POINTS,
        source=_VIRTIO + " before v6.8 (viommu_map_pages with viommu_send_req_sync, "
               "viommu_unmap_pages, viommu_del_mappings, viommu_iova_to_phys), with an endpoint "
               "attached and a device that follows VIRTIO 1.2 5.13.6.5-6",
        spans=(span("6.1", "6.7", until="00271ca5cbcd iommu/virtio: Make use of "
                    "ops->iotlb_sync_map (v6.8)", note=_VIRTIO_READ.format("6.1.192")),),
        differences={**_VIRTIO_DIFF,
            "exists_errno": "-EINVAL: the device refuses a MAP over a live mapping with "
                            "VIRTIO_IOMMU_S_INVAL (5.13.6.5.2), which viommu_get_req_errno "
                            "turns into -EINVAL; the driver's tree itself never refuses.",
            "map_over_live": "fail, through the device: viommu_send_req_sync reads the MAP's "
                             "status (MAP_EXISTS).",
            "map_fail_sweep": "True: the error path viommu_del_mappings(vdomain, iova, end) "
                              "deletes every mapping that starts in the refused range, the "
                              "older live ones included, or none -- leaving the refused one -- "
                              "when an older mapping starts before it (MAP_FAIL_SWEEP).",
        }),
    Semantics(
        name="virtio-iommu", exists_errno=0, map_over_live=STACK, map_fail_keeps=False,
        **_VIRTIO_POINTS,
        source=_VIRTIO + " from v6.8 (MAP queued with viommu_add_req; viommu_iotlb_sync_map, "
               "viommu_flush_iotlb_all), with an endpoint attached and a device that follows "
               "VIRTIO 1.2 5.13.6.5-6",
        spans=(span("6.8", "6.12", since="00271ca5cbcd iommu/virtio: Make use of "
                    "ops->iotlb_sync_map", note=_VIRTIO_READ.format("6.12.118")),),
        differences={**_VIRTIO_DIFF,
            "exists_errno": "Never used: no map fails over a live mapping (map_over_live).",
            "map_over_live": "stack: viommu_map_pages adds the mapping to the tree and queues "
                             "the MAP (viommu_add_req), returning 0; the device's S_INVAL is "
                             "never read, as viommu_iotlb_sync_map returns viommu_sync_req(), "
                             "always 0 (MAP_STATUS_LOST).  The tree then holds both mappings.",
            "map_fail_sweep": "False: a MAP the device refuses is not seen; only a failed "
                              "viommu_add_req (-ENOMEM) takes the cleanup path, and the model "
                              "injects no such failure.",
        }),
]}


#: The variant points, in the order the fields declare them.
POINTS: tuple[str, ...] = tuple(
    f.name for f in fields(Semantics)
    if f.name not in ("name", "source", "spans", "point_spans", "differences"))
#: The points of the AMD tables' replace-on-map walk.
_REPLACE_WALK_POINTS = ("fixed_levels", "teardown_first", "replace_flush", "teardown_frees_leaf")


def get_semantics(name: str) -> Semantics:
    """Look a variant up by name; ``KeyError`` lists the known names."""
    try:
        return SEMANTICS[name]
    except KeyError:
        raise KeyError(f"unknown semantics {name!r}; known variants: "
                       f"{', '.join(sorted(SEMANTICS))}") from None
