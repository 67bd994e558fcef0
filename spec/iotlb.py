"""The IOTLB: what a device may still use after the page table changed.

The IOTLB caches translations a device has used.  Linux's contract is that
after an unmap and its sync (``iommu_unmap`` syncs before it returns;
``iommu_unmap_fast`` and the driver's ``unmap_pages`` leave it to a later
``iommu_iotlb_sync``) no cached translation may differ from the page table.
The only way an implementation can meet it is by issuing invalidation
commands, so this model never asks the implementation to model a TLB: it
keeps its own, fills it on device accesses, and drops entries only on the
invalidation commands the implementation reports.

Commands: ``("range", iova, size)`` invalidates every cached translation
overlapping [iova, iova+size); ``("all",)`` invalidates everything.  Source:
include/linux/iommu.h ``iommu_iotlb_gather``, ``iommu_iotlb_sync``,
``flush_iotlb_all``; drivers/iommu/iommu.c ``iommu_unmap`` (v5.11+).
"""

from typing import NamedTuple

from sortedcontainers import SortedDict

from .errors import SpecUsageError
from .rules import rule


class Stale(NamedTuple):
    """A cached translation that no longer matches the page table.

    ``iova`` (the cached page), ``cached`` (its paddr in the IOTLB) and
    ``current`` (the page table's paddr for that page now, 0 if unmapped).
    """

    iova: int
    cached: int
    current: int


@rule("IOTLB_FILL", "include/linux/iommu.h (the IOTLB caches translations the device uses)")
def iotlb_fill(d, tlb, iova):
    """A device access at a mapped IOVA caches the translation of its page; an unmapped IOVA faults.

    The cached entry covers one page of the domain's smallest size and stays
    until an invalidation command covering it is issued.  Returns the cached
    paddr, or None on a fault.
    """
    page = iova - iova % d.min_pagesz
    run = d.state.find(page)
    if run is None:
        return None
    paddr = run.paddr + (page - run.iova)
    tlb.entries[page] = paddr
    return paddr


@rule("IOTLB_STALE", "drivers/iommu/iommu.c iommu_unmap -> iommu_iotlb_sync; iommu_unmap_fast + iommu_iotlb_sync")
def iotlb_stale(d, tlb, start=None, end=None):
    """Once an unmap is synced, no IOTLB entry may translate an IOVA differently from the page table.

    Checked after every operation that syncs (iommu_map, iommu_unmap,
    iommu_map_sg, iotlb_sync), not between ``unmap_fast`` / ``unmap_pages``
    and the ``iotlb_sync`` that follows, where stale entries are allowed.
    Returns the stale entries (IOVA, cached paddr, current paddr or 0), or
    None when there are none.  With ``start`` and ``end`` (bytes), only the
    entries of pages in [start, end) are looked at: the pages whose
    translation the calls since the last check could have changed.
    """
    stale = []
    entries = tlb.entries
    pages = entries.keys() if start is None else entries.irange(start - start % d.min_pagesz, end - 1)
    for page in pages:
        cached = entries[page]
        run = d.state.find(page)
        current = run.paddr + (page - run.iova) if run is not None else 0
        if run is None or current != cached:
            stale.append(Stale(page, cached, current))
    return stale or None


class Iotlb:
    """The tester's IOTLB: ``entries`` maps a cached page's IOVA to its cached paddr."""

    def __init__(self) -> None:
        self.entries: SortedDict = SortedDict()

    def invalidate(self, command) -> None:
        """Apply one invalidation command reported by an implementation.

        Raises SpecUsageError for a command that is not ``("range", iova, size)``
        with ints in [0, 2^64), or ``("all",)``.
        """
        cmd = tuple(command) if isinstance(command, (list, tuple)) else (command,)
        if cmd == ("all",):
            self.entries.clear()
            return
        if (len(cmd) != 3 or cmd[0] != "range" or not all(type(v) is int for v in cmd[1:])
                or not 0 <= cmd[1] < 1 << 64 or not 0 <= cmd[2] <= 1 << 64):
            raise SpecUsageError(f"not an IOTLB invalidation command: {command!r} "
                                 f"(expected ('range', iova, size) or ('all',))")
        _, iova, size = cmd
        end = iova + size
        # An entry is one page [page, page + min_pagesz); drop those overlapping [iova, end).
        if size == 0:
            return
        for page in list(self.entries.irange(minimum=max(0, iova - self._page + 1), maximum=end - 1)):
            del self.entries[page]

    def apply(self, commands) -> None:
        """Apply a sequence of invalidation commands in order (see ``invalidate``)."""
        for command in commands:
            self.invalidate(command)

    _page = 1 << 12  # set per domain by bind()

    def bind(self, min_pagesz: int) -> "Iotlb":
        """Use the domain's smallest page size as the size of a cached entry."""
        self._page = min_pagesz
        return self


@rule("MAP_REPLACE_UNFLUSHED", "io-pgtable-arm-v7s.c arm_v7s_init_pte (__arm_v7s_unmap with a NULL gather); mtk_iommu.c (no cfg.tlb; mtk_iommu_sync_map only after a successful map), v6.1 to v6.12 at least", defect=True)
def map_replace_unflushed(d, start, end):
    """A map that replaced a table and then failed leaves the table's translations in the IOTLB.

    arm_v7s_init_pte frees the table under a new section entry by entry
    before it meets a live entry and fails with -EEXIST.  Its only
    invalidation is io-pgtable's flush_walk callback, which mtk_iommu does not
    provide, and the core calls ``iotlb_sync_map`` only after a successful
    map: the freed table's leaves stay cached, and the IOMMU may still walk
    the freed table.  The model drops them from the page table as Linux does;
    a stale IOTLB entry after such a call is reported under this rule.
    Input class ``unflushed-table-replace``.  [start, end) is the range whose
    tables were replaced; returns its start.
    """
    return start


@rule("MAP_REPLACE_LEAF_UNFLUSHED", "drivers/iommu/amd/io_pgtable.c iommu_v1_map_pages (updated only when a table was freed or a larger page torn down); amd/iommu.c amd_iommu_iotlb_sync_map (flushes only with amd_iommu_np_cache), v5.4 to v6.18", defect=True)
def map_replace_leaf_unflushed(d, start, end):
    """Under the legacy AMD v1 table, a map that replaces live leaves of its own level flushes nothing.

    iommu_v1_map_pages flushes the domain only when ``updated``: a table was
    freed under the new page (free_clear_pte) or a larger page was torn down
    on the way down (alloc_pte).  Overwriting a live PTE of the new page's
    own level does neither, and iotlb_sync_map invalidates the new range only
    where the IOMMU caches non-present entries: the old translation stays in
    the IOTLB.  The model states the new mapping; a stale IOTLB entry after
    such a map is reported under this rule.  Input class
    ``unflushed-leaf-replace``.  Returns ``start``.
    """
    return start


@rule("MAP_TEARDOWN_FLUSH_SHORT", "drivers/iommu/amd/io_pgtable.c iommu_v1_map_pages (amd_iommu_domain_flush_pages(dom, o_iova, size) when updated), 6.12; 6.1 flushed the whole domain (amd_iommu_domain_flush_tlb_pde)", defect=True)
def map_teardown_flush_short(d, start, end):
    """Under the legacy AMD v1 table of 6.12, a map that tears down a larger page flushes only its own range.

    When alloc_pte replaces a larger page on the way down (``updated``),
    6.12's iommu_v1_map_pages flushes ``[o_iova, o_iova + size)``, the
    pages being mapped, not the rest of the page torn down: that rest stays
    in the IOTLB though it is no longer mapped.  (6.1 flushed the whole
    domain here.)  [start, end) is the span of the leaves removed; a stale
    entry after such a map is reported under this rule.  Input class
    ``teardown-flush-short``.  Returns ``start``.
    """
    return start


@rule("MAP_REPLACE_FLUSH_ONE_PAGE", "drivers/iommu/amd/io_pgtable_v2.c iommu_v2_map_pages (`if (count > 1) amd_iommu_flush_tlb ... else amd_iommu_flush_page(..., o_iova)`), v6.1 (seen in 6.1.192; 6.12 flushes the call's range)", defect=True)
def map_replace_flush_one_page(d, iova, pages, spans):
    """Under the AMD v2 table of 6.1, a map call that wrote at most one page and replaced something flushes only its first 4K.

    iommu_v2_map_pages flushes when v2_alloc_pte reported ``updated``: the
    whole domain when its loop wrote more than one page, else one 4K page at
    the call's start (amd_iommu_flush_page).  A single 2M page over a table of
    4K pages, or a 4K page that tore down a 2M page, leaves the other
    replaced translations in the IOTLB though they are gone from the table.
    (6.12 flushes the call's range instead: MAP_TEARDOWN_FLUSH_SHORT.)
    ``pages`` is how many pages the call wrote; ``spans`` the ``(start,
    end)`` of the leaves it removed.  A stale entry after such a call is
    reported under this rule.  Input class ``replace-flush-one-page``.
    """
    if pages <= 1 and any(lo < iova or hi > iova + (1 << 12) for lo, hi in spans):
        return iova
    return None


@rule("MAP_OVERWRITE_FLUSH_ONE", "drivers/iommu/omap-iommu.c omap_iommu_map -> iopgtable_store_entry -> flush_iotlb_page (the one TLB entry holding da), 6.1, 6.12", defect=True)
def map_overwrite_flush_one(d, start, end):
    """A Linux defect class: an omap map that overwrites live leaves flushes only the TLB entry at its start.

    iopgtable_store_entry calls flush_iotlb_page(obj, e->da): the one cached
    entry that holds the new page's first address.  Live leaves the new page
    overwrites elsewhere in its range (several 4K pages under a new 64K, the
    sections under a new 16M) keep their cached translations.  The model
    drops them from the page table as Linux does; a stale IOTLB entry after
    such a call is reported under this rule.  [start, end) is the range
    overwritten; returns its start.
    """
    return start

