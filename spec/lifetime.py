"""Rules about a domain's lifetime, beyond the mapping calls."""

from .rules import rule


@rule("DOMAIN_FREE", "drivers/iommu/iommu.c iommu_domain_free; io-pgtable-arm.c arm_lpae_free_pgtable; generic_pt deinit")
def domain_free(d, table_pages):
    """Freeing a domain frees every page-table page: none may be left allocated.

    The model has no tables; an implementation reports how many pages it still
    holds after ``domain_free`` (the protocol's ``table_pages``).  Returns that
    number when it is not 0, else None.
    """
    return table_pages if table_pages else None
