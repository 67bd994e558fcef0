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

