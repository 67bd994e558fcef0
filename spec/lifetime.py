"""Rules about a domain's lifetime, beyond the mapping calls: its tables and their allocation.

They are not decided by an operation's result alone -- tables are seen only
through an implementation's dump, and an allocation failure only through
fault injection -- so conformance vectors do not cover them; the state
machine checks them.
"""

from .errors import ENOMEM
from .rules import rule


@rule("TABLE_LIFETIME", "io-pgtable-arm.c __arm_lpae_map / __arm_lpae_unmap; io-pgtable-arm-v7s.c __arm_v7s_map / __arm_v7s_unmap; io-pgtable-dart.c dart_map_pages (v3.18+)")
def table_lifetime(d, entry, base, made):
    """io-pgtable tables are made on a map's walk down and outlive their last leaf.

    A map walking down to its page's level allocates each missing table (one
    page-table allocation each) and keeps it even if the map then fails; an
    unmap never frees a table when its last leaf goes.  A table is freed only
    when the entry pointing to it is cleared by an unmap of that entry's size
    (UNMAP_TABLE_SLOT, which counts it as unmapped even when empty), replaced
    by a block (MAP_REPLACE_TABLE), or at domain free.  ``made`` is True for
    an allocation, False for a free; returns the table's base.
    """
    return base


@rule("MAP_FAIL_ALLOC", "io-pgtable-arm.c __arm_lpae_alloc_pages; io-pgtable-arm-v7s.c __arm_v7s_alloc_table; io-pgtable-dart.c __dart_alloc_pages")
def map_fail_alloc(d):
    """A page-table allocation that fails makes the driver call fail with -ENOMEM.

    The tables allocated before it stay (TABLE_LIFETIME); the pages the call
    had already written are reported as mapped (v7s) or none are (a per-table
    batch is written after its walk), and the core rolls back
    (MAP_ROLLBACK).  Fault injection: ``ReferenceDomain.fail_alloc(after)``.
    """
    return -ENOMEM



@rule("DOMAIN_FREE", "drivers/iommu/iommu.c iommu_domain_free; io-pgtable-arm.c arm_lpae_free_pgtable; generic_pt deinit")
def domain_free(d, table_pages):
    """Freeing a domain frees every page-table page: none may be left allocated.

    The model has no tables; an implementation reports how many pages it still
    holds after ``domain_free`` (the protocol's ``table_pages``).  Returns that
    number when it is not 0, else None.
    """
    return table_pages if table_pages else None


@rule("DOMAIN_FREE_LEAK", "drivers/iommu/sun50i-iommu.c sun50i_iommu_attach_device / sun50i_iommu_identity_attach (refcnt); drivers/iommu/tegra-smmu.c tegra_smmu_domain_free (\"TODO: free page directory and page tables\"), v6.1 to v6.12 at least", defect=True)
def domain_free_leak(d):
    """A Linux defect class: the driver's domain free leaves page-table pages allocated.

    The model states DOMAIN_FREE (no page left); under a variant whose
    ``domain_free_leaks`` says what the driver leaves, a freed domain that
    holds pages is reported under this rule instead.  sun50i: the domain's
    refcount starts at 1 and every attach adds 1, so the core's detach never
    brings it to 0 and sun50i_iommu_detach_domain, the only code that frees
    page tables, never runs; sun50i_iommu_domain_free frees the directory
    only.  tegra-smmu: tegra_smmu_domain_free frees neither the page
    directory nor the page tables still in use.  Returns the text of what
    leaks, or None under a variant that frees everything.
    """
    return d.semantics.domain_free_leaks or None


@rule("MAP_REPLACE_LEAKS_TABLE", "drivers/iommu/intel/iommu.c dma_pte_clear_range (the inner loop after a superpage), called by switch_to_super_page / dma_pte_free_pagetable, v6.1 to v6.18", defect=True)
def map_replace_leaks_table(d, start, end):
    """A Linux defect class: a VT-d 1G map over a level-2 table leaks the tables after a 2M page in it.

    switch_to_super_page clears the slot with dma_pte_free_pagetable, whose
    dma_pte_clear_range, once it has cleared a 2M superpage, goes on clearing
    the following level-2 entries as if they were superpages too: table
    entries among them are cleared without their tables being freed, so
    those page tables stay allocated, unreachable, after the domain is freed.
    Only a walk that reaches the 2M page does that: every entry before it in
    the slot must be a table (an empty one ends the walk).
    The translations are right (the whole slot is cleared).  [start, end) is
    the 1G slot; returns the number of tables leaked.
    """
    geo, tables = d.geometry, d.tables
    two_m, four_k = geo.levels[-2], geo.levels[-1]
    # dma_pte_clear_range from the slot's start: a level-1 table's PTEs are cleared and the
    # walk goes on at the next 2M; an empty entry ends it (align_to_level skips to the next
    # 1G); a 2M page starts the inner loop, which clears every later entry of the level-2
    # table as if it were one too -- the level-1 tables among them are never freed
    at = start
    while at < end:
        if tables.has(four_k, at):
            at += two_m
            continue
        leaf = d.state.leaf_at(at)
        if leaf is None or leaf.pgsize != two_m:
            return None
        leaked = sum(1 for _ in tables.by_entry[four_k].irange(at + two_m, end - 1))
        return leaked or None
    return None


@rule("MAP_FAIL_UNCOUNTED", "drivers/iommu/intel/iommu.c intel_iommu_map_pages (*mapped set only on success), v6.1 to v6.18", defect=True)
def map_fail_uncounted(d, written):
    """A Linux defect class: a VT-d map call that fails part-way reports none of its pages mapped.

    __domain_mapping fails with -ENOMEM when a table allocation fails
    (pfn_to_dma_pte), after writing the PTEs before it; intel_iommu_map_pages
    sets ``*mapped`` only on success, so the core's rollback does not cover
    them and they stay mapped.  The model states the pages written as
    mapped, for the core to roll back.  ``written`` is their size in bytes.
    """
    return written if written else None


@rule("MAP_OVERWRITE_LEAKS_TABLE", "drivers/iommu/omap-iommu.c iopgd_alloc_section / iopgd_alloc_super (a PGD entry written over an L2 table pointer), 6.1, 6.12", defect=True)
def map_overwrite_leaks_table(d, start, end):
    """A Linux defect class: an omap 1M or 16M map over a 1M slot with an L2 table leaks the table.

    iopgd_alloc_section / iopgd_alloc_super write the section entry over
    whatever the PGD entry held; an L2 table pointer there is lost and the
    table is never freed (its pages stay allocated after the domain is
    freed).  The translations are right: the new page replaces the small
    pages.  [start, end) is the new page; returns the number of 1M slots in
    it that held small pages (an L2 table exists exactly while it holds one:
    iopte_free when emptied).
    """
    slots = {r.iova - r.iova % (1 << 20) for r in d.state.overlapping(start, end)
             if r.pgsize < 1 << 20}
    return len(slots) or None

