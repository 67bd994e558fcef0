"""The named rules of the model.

Every decision the model makes is one of these functions.  Each rule's
docstring states what it decides and where Linux decides it; its name is what
failure reports, conformance vectors and ``iommu-spec rules`` show.  A rule is
called with the domain (``d``, a :class:`spec.ReferenceDomain`) and returns
``None`` when it does not apply; when it applies it returns its outcome and
its name is recorded in ``d.decided``, the list of rules that decided the
current call.

Version numbers refer to mainline Linux.  "The core" is
drivers/iommu/iommu.c; "the driver" is the page-table code below
``map_pages`` / ``unmap_pages``, whose behaviour the domain's semantic variant
(:mod:`spec.semantics`) selects.
"""

from dataclasses import dataclass
from typing import Callable

from . import pgsize as _pgsize
from .history import RULE_SPANS
from .versions import Span
from .errors import EFAULT, EINVAL, ENXIO, EOVERFLOW, ERANGE
from .prot import IOMMU_READ, IOMMU_WRITE


@dataclass(frozen=True)
class Rule:
    """A named rule: ``name``, ``source`` (Linux file, function, versions) and ``doc``.

    ``defect`` marks a rule that names a known Linux defect class: the model
    states the mapping that was asked for, Linux writes something else, and a
    difference on a call this rule decided is reported under it.
    ``versions`` are the releases it holds for (:class:`spec.versions.Span`).
    """

    name: str
    source: str
    doc: str
    fn: Callable
    defect: bool = False
    #: The mainline releases the rule states, with the commits that started and ended it
    #: (spec.history.RULE_SPANS).
    versions: tuple[Span, ...] = ()

    def __call__(self, d, *args):
        out = self.fn(d, *args)
        if out is not None:
            d.decided.append(self.name)
        return out

    @property
    def summary(self) -> str:
        return self.doc.strip().split("\n\n")[0].replace("\n", " ")


RULES: dict[str, Rule] = {}


def rule(name: str, source: str, defect: bool = False):
    """Register ``fn`` as rule ``name``; its releases come from spec.history.RULE_SPANS."""
    if name not in RULE_SPANS:
        raise AssertionError(f"rule {name} has no releases in spec.history.RULE_SPANS")

    def register(fn):
        r = Rule(name, source, fn.__doc__ or "", fn, defect, RULE_SPANS[name])
        assert name not in RULES, name
        RULES[name] = r
        return r
    return register


# ---------------------------------------------------------------------------
# iommu_map
# ---------------------------------------------------------------------------

@rule("MAP_ALIGN", "drivers/iommu/iommu.c __iommu_map (v3.3 to v6.x)")
def map_align(d, iova, paddr, size):
    """iova, paddr and size must each be a multiple of the smallest page size.

    Otherwise the map fails with -EINVAL before anything is mapped (the kernel
    logs ``unaligned: iova ... pa ... size ... min_pagesz ...``).
    """
    if (iova | paddr | size) & (d.min_pagesz - 1):
        return -EINVAL
    return None


@rule("MAP_ZERO_SIZE", "drivers/iommu/iommu.c __iommu_map; generic_pt/iommu_pt.h make_range_ul")
def map_zero_size(d, size):
    """A map of 0 bytes returns what the semantic variant says.

    The classic core's ``while (size)`` loop does nothing and returns 0 with
    nothing mapped (the arm-lpae variants); the generic_pt path rejects an
    empty range with -EINVAL.  Either way nothing changes.
    """
    if size == 0:
        return -EINVAL if d.core_info.whole_range else d.semantics.map_zero_size
    return None


@rule("MAP_RANGE_OA", "drivers/iommu/generic_pt/iommu_pt.h map_range (\"Check the paddr doesn't exceed what the table can store\"), v7.1+")
def map_range_oa(d, paddr):
    """Under the v7.1 core, map_range first checks the start paddr against the OA size: -ERANGE.

    Only the start: a physical range that begins below 2^oas and runs past
    it is accepted (PADDR_PAST_OAS).  This check comes before the length is
    looked at, so a map of 0 bytes at such a paddr is -ERANGE, not -EINVAL.
    """
    return -ERANGE if paddr >> d.oas else None


@rule("MAP_OVERFLOW", "drivers/iommu/generic_pt/iommu_pt.h make_range_ul (check_add_overflow(iova, len - 1)), v7.1+ core")
def map_overflow(d, iova, size):
    """Under the v7.1 core, a range whose last byte would wrap past 2^64 is -EOVERFLOW.

    make_range_ul computes ``iova + len - 1`` with check_add_overflow; the
    classic cores never look (their loop wraps: see the MAP_RANGE note).
    """
    return -EOVERFLOW if iova + size - 1 >> 64 else None


@rule("MAP_RANGE_TAIL", "drivers/iommu/generic_pt/iommu_pt.h __map_range_leaf (pt_compute_best_pgsize of the tail not checked), v7.1", defect=True)
def map_range_tail(d, iova, paddr, size):
    """Under the v7.1 core, a map whose length is not a multiple of the smallest page reaches an unchecked tail.

    map_range checks that a first page fits, but ``__map_range_leaf``
    recomputes the page size after each run without checking it: for a
    tail shorter than the smallest page pt_compute_best_pgsize gives 0, and
    the walk goes on with a leaf level computed from it.  A kernel built
    with CONFIG_DEBUG_GENERIC_PT stops at a PT_WARN_ON with -ENXIO and the
    core unmaps the pages written (the model states this, MAP_NO_PGSIZE);
    without it the outcome is undefined.  A different outcome on such a call
    is reported under this rule.  Input class ``unaligned-tail``.
    """
    min_page = d.pgsize_bitmap & -d.pgsize_bitmap
    return True if size % min_page and not (iova | paddr) % min_page and size > min_page else None


@rule("MAP_NO_PGSIZE", "drivers/iommu/generic_pt/iommu_pt.h map_range / __map_range_leaf (pt_compute_best_pgsize == 0 -> -ENXIO), v7.1+ core")
def map_no_pgsize(d, iova, paddr, size):
    """Under the v7.1 core, a map that no page size can start or finish is -ENXIO.

    There is no core alignment check (MAP_ALIGN): map_range asks
    pt_compute_best_pgsize for the largest page in the bitmap that iova and
    paddr are aligned to and that fits in what is left, and 0 means none
    fits: a misaligned iova or paddr, or a length below the smallest page.
    The 4K fast path (``len == PAGE_SIZE`` with 4K in the bitmap) checks the
    same alignment itself.  An aligned start whose length is not a multiple
    of the smallest page maps the pages that fit, then finds no page for the
    tail: -ENXIO with those bytes reported in ``*mapped``, which the core
    unmaps again (MAP_ROLLBACK).  ``iova``, ``paddr``, ``size``: what is
    left to map.  Returns -ENXIO, or None when a page fits.
    """
    pg, _ = _pgsize.pgsize_and_count(d.pgsize_bitmap, iova, paddr, size)
    return -ENXIO if not pg or size == 1 else None


@rule("MAP_PROT", "drivers/iommu/generic_pt/iommu_pt.h map_pages; io-pgtable-arm.c arm_lpae_map_pages")
def map_prot(d, prot):
    """A map must grant IOMMU_READ or IOMMU_WRITE; a prot with neither is -EINVAL.

    The driver checks it on its first map_pages call, so nothing is mapped.

    generic_pt fails such a map with WARN_ON and -EINVAL.  (Old io-pgtable-arm
    returned 0 and mapped nothing -- "If no access, then nothing to do" -- which
    left the core looping; the model follows the current -EINVAL.)
    """
    if not prot & (IOMMU_READ | IOMMU_WRITE):
        return -EINVAL
    return None


@rule("MAP_RANGE", "io-pgtable-arm.c arm_lpae_map_pages (iaext, paddr >> oas); io-pgtable-arm-v7s.c arm_v7s_map_pages; io-pgtable-dart.c dart_map_pages; generic_pt make_range / pt_check_range")
def map_range(d, iova, paddr, size):
    """Each driver call checks its own range; out of range it fails with -ERANGE and maps nothing.

    The core (iommu.c ``__iommu_map``) makes no range check: the driver
    judges each ``map_pages`` call, and the core rolls back the calls before
    (MAP_ROLLBACK).  What is checked is a variant point (``range_check``):

    * ``"start"`` -- io-pgtable-arm and v7s check only the call's start,
      ``iova >> ias`` and ``paddr >> oas``;
    * ``"paddr_start"`` -- io-pgtable-dart checks only ``paddr >> oas``;
    * ``"whole"`` -- generic_pt: the call's IOVA range must end at or below
      2^ias and its physical range at or below 2^oas;
    * ``"paddr_einval"`` -- sun50i (6.12) fails a page whose paddr is at or
      past 2^oas with -EINVAL, and checks no IOVA;
    * ``"iova_einval"`` -- s390 (6.12) and sprd: the call's IOVA range must lie
      in the aperture, [0, 2^ias), else -EINVAL; paddr is not checked.  The
      check's unsigned end wraps for a range past 2^64, which is accepted
      (IOVA_PAST_IAS);
    * ``"iova_efault"`` -- VT-d's own table (intel_iommu_map): the call's IOVA
      range must end at or below 2^gaw, else -EFAULT; paddr is not checked.  A
      range that wraps past 2^64 passes that check and fails __domain_mapping's
      (-EINVAL in 6.12; a BUG_ON in 6.1: IOVA_PAST_IAS);
    * ``"none"`` -- the AMD tables and most tables inside drivers check
      nothing: AMD v1 grows to any 64-bit IOVA, the others drop the IOVA bits
      above their reach (IOVA_PAST_IAS), and a physical range past 2^oas is
      PADDR_PAST_OAS.

    Under the v7.1 core (``core="map_range"``) the driver gets the whole
    request and check_map_range checks its IOVA range once, before anything
    is written; the start paddr was checked first (MAP_RANGE_OA).

    A call accepted with a range past 2^ias or 2^oas is a Linux defect class
    of its own (IOVA_PAST_IAS, PADDR_PAST_OAS).  ``size`` is the call's bytes.
    """
    mode = d.semantics.range_check
    if d.core_info.whole_range:  # v7.1 check_map_range: the IOVA range (paddr: MAP_RANGE_OA)
        bad = iova + size > 1 << d.ias
    elif mode == "whole":
        bad = iova + size > 1 << d.ias or paddr + size > 1 << d.oas
    elif mode == "start":
        bad = iova >> d.ias or paddr >> d.oas
    elif mode == "paddr_start":
        bad = paddr >> d.oas
    elif mode == "paddr_einval":  # sun50i 6.12: -EINVAL, the page's paddr only
        return -EINVAL if paddr >> d.oas else None
    elif mode == "iova_einval":  # s390 (6.12), sprd: the IOVA range inside the aperture
        if iova + size >= (1 << 64) + d.semantics.range_end_inclusive:  # the check's unsigned
            # end wraps: the call is accepted
            iova_past_ias(d, iova, size)
            return None
        return -EINVAL if iova + size > 1 << d.ias else None
    elif mode == "iova_efault":  # VT-d: intel_iommu_map's max_addr check, the IOVA range only
        if iova + size >= 1 << 64:  # max_addr wraps and the check passes; __domain_mapping's
            iova_past_ias(d, iova, size)  # pfn check: -EINVAL in 6.12, BUG_ON in 6.1
            return -EINVAL
        return -EFAULT if iova + size > 1 << d.ias else None
    else:  # "none": the AMD tables and the tables inside drivers
        bad = False
    return -ERANGE if bad else None


@rule("IOVA_PAST_IAS", "io-pgtable-arm-v7s.c arm_v7s_map_pages / arm_v7s_unmap_pages (ARM_V7S_LVL_IDX); io-pgtable-dart.c dart_get_table (v5.15 to v6.12 at least)", defect=True)
def iova_past_ias(d, iova, size):
    """A driver call accepted with an IOVA range that runs past 2^ias: Linux writes elsewhere.

    The driver checked only the call's start (v7s) or nothing (DART), so the
    pages past 2^ias are indexed with the IOVA's upper bits masked off:
    v7s's per-page loop wraps to level-1 index 0 (a map past 2^32 overwrites
    IOVA 0 onwards, an unmap there clears it), and DART aliases every IOVA
    modulo its tables' reach.  The model states the pages asked for; an
    implementation that maps or unmaps something else on such a call is
    reported under this rule.  (DART's tables reach 2^36 for ias 32: between
    the two the pages are written where asked, at IOVAs the device never
    sends.)  Input class ``iova-past-ias``.
    """
    return True if iova + size > 1 << d.ias else None


@rule("PADDR_PAST_OAS", "io-pgtable-arm.c paddr_to_iopte; io-pgtable-dart.c paddr_to_iopte (v5.15 to v6.12 at least)", defect=True)
def paddr_past_oas(d, paddr, size):
    """A driver call accepted with a physical range that runs past 2^oas: the descriptor cannot hold it.

    The driver checked only ``paddr >> oas`` of the call's start, then wrote
    descriptors for every page; an output address at or above 2^oas does not
    fit.  io-pgtable-arm's ``paddr_to_iopte`` folds bits 51:48 into bits
    15:12, which with a 4K or 16K granule are address bits, so the leaf
    translates to another physical page; DART masks them off.  The model
    states the pages asked for; an implementation that maps something else on
    such a call is reported under this rule.  Input class ``paddr-past-oas``.
    """
    return True if paddr + size > 1 << d.oas else None


@rule("PGSIZE_SELECT", "drivers/iommu/iommu.c iommu_pgsize (v3.3; (pgsize, count) form since v5.15)")
def pgsize_select(d, iova, paddr, size):
    """The core maps and unmaps in batches of ``(pgsize, count)`` chosen by spec.pgsize.

    pgsize is the largest supported page <= the remaining size to which iova
    and paddr are both aligned; count runs up to the next larger page's
    boundary when iova and paddr sit at the same offset in that larger page and
    a whole larger page fits after it.  (Recorded only when it is the rule that
    decides a reported outcome, e.g. the leaves a map produced.)
    """
    return _pgsize.pgsize_and_count(d.pgsize_bitmap, iova, paddr, size)


@rule("CORE_BATCHES", "drivers/iommu/iommu.c __iommu_map / __iommu_unmap: ops->map_pages (v5.15+) or ops->map (v3.3 to v5.14)")
def core_batches(d, iova, paddr, size):
    """How the core cuts a range into driver calls: batches since v5.15, single pages before.

    The v5.15+ core (``core="map_pages"``) passes the ``(pgsize, count)`` of
    PGSIZE_SELECT to one map_pages / unmap_pages call; the v3.3 to v5.14 core
    (``core="map"``) passes one page of that pgsize per ->map / ->unmap call.
    Both choose the same pages (spec.proofs P5), so they differ only where a
    driver judges a whole call at once: UNMAP_RANGE and PAGES_TABLE_BATCH.
    A v5.15+ core over a driver with only ``->map`` / ``->unmap``
    (``core="map-v5.15"``: 6.1's mtk_iommu) also passes one page per call
    (``__iommu_map_pages``: ``*mapped = ret ? 0 : pgsize``).
    """
    pg, count = _pgsize.pgsize_and_count(d.pgsize_bitmap, iova, paddr, size)
    return (pg, 1) if d.core_info.per_page else (pg, count)


@rule("MAP_PAGES_INSTALL", "drivers/iommu/iommu.c __iommu_map_pages; include/linux/iommu.h map_pages")
def map_pages_install(d, iova, paddr, pgsize, count, prot):
    """The driver installs ``count`` leaves of ``pgsize`` at iova -> paddr with prot.

    The plain case of a map: each batch PGSIZE_SELECT chose becomes exactly
    those leaves.  Returns the bytes installed.
    """
    d.state.insert(iova, paddr, pgsize, count, prot)
    return pgsize * count


@rule("MAP_OVERWRITE", "drivers/iommu/tegra-smmu.c __tegra_smmu_map (6.1, 6.12)")
def map_overwrite(d, start, end):
    """Where the table has one leaf size and no check, a map writes its PTEs over live ones.

    __tegra_smmu_map writes the new PTE whatever the old one held (only the
    page table's use count looks at it): the map succeeds, and the old
    translation is gone.  [start, end) is the range mapped; returns the bytes
    of live leaves overwritten, or None when there were none.
    """
    removed = d.state.remove(start, end)
    return removed if removed else None


@rule("MAP_KEEPS_LIVE", "drivers/iommu/intel/iommu.c __domain_mapping (cmpxchg64_local of a 0 PTE; \"DMA PTE for vPFN ... already set\", WARN_ON), v6.1 to v6.18")
def map_keeps_live(d, start, end):
    """VT-d's own table: a 4K page over a live 4K PTE keeps the old PTE, and the map goes on.

    __domain_mapping writes each PTE with cmpxchg64_local(pte, 0, new); where
    the PTE is not 0 it prints "DMA PTE for vPFN ... already set" and
    WARN_ON(1)s, and nothing else: the old translation stays, the other pages
    of the call are written, and the call returns 0 with every byte counted
    as mapped (so the core rolls nothing back).  [start, end) is the run of
    live 4K leaves kept; returns its size.
    """
    return end - start


@rule("MAP_SUPERPAGE_REPLACES", "drivers/iommu/intel/iommu.c switch_to_super_page / dma_pte_free_pagetable, v6.1 to v6.18")
def map_superpage_replaces(d, start, end):
    """VT-d's own table: a 2M or 1G page replaces a live page of its own size.

    switch_to_super_page clears every present entry of the new superpages'
    level -- a table with whatever it holds (MAP_REPLACE_TABLE), or a live
    superpage of the same size -- frees what was under it and flushes the
    IOTLB for it at once, inside the map; then the new entry is written.
    [start, end) is the run of live leaves replaced; returns its size.
    """
    return d.state.remove(start, end) or None


@rule("MAP_UNDER_SUPERPAGE", "drivers/iommu/intel/iommu.c pfn_to_dma_pte (a live superpage on the walk to a lower level), v6.1 to v6.18; drivers/iommu/omap-iommu.c iopte_alloc (a section taken for an L2 table), 6.1, 6.12", defect=True)
def map_under_superpage(d, start, end):
    """A Linux defect class: a page under a live larger superpage is written into its memory.

    omap's iopte_alloc takes a live 1M section or 16M supersection entry for
    an L2 table pointer the same way: a 4K or 64K page under it is written
    into the section's memory.

    pfn_to_dma_pte, asked for a level below a live 2M or 1G superpage, takes
    the superpage's output address for a table and returns a "PTE" in the
    mapped memory, where __domain_mapping then writes (under a 1G page it may
    even allocate a table and write its pointer there).  No translation
    changes and the call returns 0.  The model states what the caller sees:
    the superpage stays and the bytes count as mapped; the kernel harness
    stops at the stray walk.  [start, end) is the range under the superpage.
    """
    return end - start


@rule("MAP_OVERWRITE_PART", "drivers/iommu/omap-iommu.c iopte_alloc / iopgd_alloc_section (one of a 64K page's or 16M supersection's 16 copies overwritten), 6.1, 6.12", defect=True)
def map_overwrite_part(d, leaf, pgsize):
    """A Linux defect class: an omap map over one copy of a 64K or 16M page keeps the other 15.

    A 64K large page is 16 copies of one L2 entry and a 16M supersection 16
    copies of one PGD entry.  A 4K (or 1M) page written over one copy leaves
    the other copies, which the hardware goes on translating as pieces of
    the old page, and a later unmap at one of them clears all 16 entries,
    the new page's too (iopgtable_clear_entry_core).  The model states what
    the hardware translates: the old page cut into pieces of the new size,
    one of them replaced.  ``leaf`` is the old page; returns its size.
    """
    d.state.remove(leaf.iova, leaf.end)
    d.state.insert(leaf.iova, leaf.paddr, pgsize, leaf.size // pgsize, leaf.prot)
    return leaf.size


@rule("MAP_EXISTS", "io-pgtable-arm.c arm_lpae_init_pte / __arm_lpae_map; generic_pt iommu_pt.h clear_contig")
def map_exists(d, errno_value):
    """A page may not be installed over a live leaf; the driver fails with the variant's errno.

    io-pgtable-arm answers -EEXIST ("We require an unmap first") when a leaf of
    the new page's size or larger is present; generic_pt answers -EADDRINUSE
    for any leaf under the new page.  The core then rolls back (MAP_ROLLBACK).
    """
    return -errno_value


@rule("MAP_REPLACE_TABLE", "drivers/iommu/io-pgtable-arm.c arm_lpae_init_pte; io-pgtable-arm-v7s.c arm_v7s_init_pte")
def map_replace_table(d, start, end, entry=None):
    """Where a block goes over a table, the table is freed with every leaf in it.

    io-pgtable-arm unmaps and frees that table -- with every leaf in it, and
    empty or not -- before writing the block entry, entry by entry up to the
    first one holding a leaf of the block's level (MAP_EXISTS); those leaves
    are gone even if the map then fails and is rolled back.  generic_pt
    instead fails with -EADDRINUSE (MAP_EXISTS).  ``entry`` is the block's
    level (its entry size) under a variant with a table format.  Returns the
    bytes of leaves removed, or None when nothing was there.
    """
    removed = d.state.remove(start, end)
    freed = d.tables.free_under(start, end, entry) if entry and d.tables is not None else 0
    return removed if removed or freed else None


@rule("MAP_REPLACE_LEAVES", "drivers/iommu/amd/io_pgtable.c alloc_pte / free_clear_pte / iommu_v1_map_pages (v5.4+)")
def map_replace_leaves(d, start, end, torn=0):
    """Under the legacy AMD v1 table a map over live leaves replaces them: each one it overlaps goes whole.

    iommu_v1_map_pages never fails over a live mapping.  On the way down to
    the new page's level alloc_pte tears down a larger page in the way -- all
    the replicated PTEs of a large page, or a level-size page whose entry
    becomes a new table -- so the rest of that page becomes unmapped; at the
    new page's level free_clear_pte clears each entry under the new page and
    frees any table there, with the leaves in it.

    One corner is a Linux defect of its own (MAP_REPLACE_PTE_GROUP): an old
    page larger than the new one whose replicated PTEs sit at the same level.
    The model removes the old page whole there too.  ``torn``: bytes of
    larger pages the walk down already tore down.  Returns the bytes of
    leaves removed.
    """
    lo, hi = replaced_span(d, start, end)
    removed = d.state.remove(lo, hi) + torn
    return removed if removed else None


def replaced_span(d, start, end):
    """The span of the leaves a legacy AMD v1 map of [start, end) removes: every leaf it overlaps."""
    first, last = d.state.leaf_at(start), d.state.leaf_at(end - 1)
    return (start if first is None else first.iova), (end if last is None else last.end)


def amd_replace_defects(d, start, end, pgsize):
    """The Linux defect classes an AMD v1 or v2 map of [start, end) in pages of ``pgsize`` falls
    in, decided before MAP_REPLACE_LEAVES removes anything: a list of ``(rule, args)`` to record
    after it (MAP_REPLACE_PTE_GROUP, MAP_REPLACE_LEAF_UNFLUSHED, MAP_REPLACE_FREES_PAGE,
    MAP_TEARDOWN_FLUSH_SHORT)."""
    from .iotlb import map_replace_leaf_unflushed, map_teardown_flush_short
    lo, hi = replaced_span(d, start, end)
    out = []
    runs = list(d.state.overlapping(lo, hi))
    for old in (d.state.leaf_at(start), d.state.leaf_at(end - 1)):
        if old is not None and map_replace_pte_group.fn(d, old, pgsize) and \
                (map_replace_pte_group, (old, pgsize)) not in out:
            out.append((map_replace_pte_group, (old, pgsize)))
    same_level = [run for run in runs if _amd_level(run.pgsize) == _amd_level(pgsize)]
    if same_level and d.semantics.replace_flush == "freed":
        out.append((map_replace_leaf_unflushed, (start, end)))
    if same_level and d.semantics.teardown_frees_leaf and pgsize > 1 << 12:
        out.append((map_replace_frees_page, (same_level[0].iova, pgsize)))
    if lo < start or hi > end:
        out.append((map_teardown_flush_short, (lo, hi)))
    return out


@rule("MAP_REPLACE_FREES_PAGE", "drivers/iommu/amd/io_pgtable_v2.c v2_alloc_pte (\"Tear down existing pte entries\"), v6.1 to v6.18", defect=True)
def map_replace_frees_page(d, iova, pgsize):
    """Under the AMD v2 table, a 2M or 1G page mapped over a live page of its size frees the old page's memory.

    v2_alloc_pte's tear-down at the new page's level reads the present entry
    as a table pointer without checking IOMMU_PAGE_PSE, clears it, and frees
    what it points to: ``iommu_free_page`` for a 2M page, ``free_pgtable``
    (which also walks the "table" and frees what its words point to) for a
    1G page.  The old page's output address -- memory the caller owns -- goes
    back to the page allocator.  The mapping itself ends as the model states
    (the new page); kernel harnesses abort on the free of memory that was
    never a table.  ``iova`` is the old page's, ``pgsize`` its size.  Input
    class ``large-page-overwrite``.
    """
    return iova


@rule("MAP_REPLACE_PTE_GROUP", "drivers/iommu/amd/io_pgtable.c iommu_v1_map_pages / free_clear_pte / fetch_pte (first_pte_l7), v5.4 to v6.18", defect=True)
def map_replace_pte_group(d, old, new_pg):
    """Under the legacy AMD v1 table, a map over part of a larger page stored as replicated PTEs at the same level leaves the rest.

    A page between two level sizes (8K, 16K, ... at level 0; 4M ... at level
    1) is ``PAGE_SIZE_PTE_COUNT`` copies of one PTE.  A smaller page mapped at
    that level clears only the copies under itself (free_clear_pte); the
    other copies stay and keep translating the old page's rest.  fetch_pte
    then takes the group for one page (first_pte_l7 aligns down to it), so a
    later unmap or iova_to_phys there reads the new PTE as the group's first.
    The model states the old page removed whole; a different state after
    such a map is reported under this rule.  ``old`` is the live leaf, and
    ``new_pg`` the size of the pages being written.  Input class
    ``pte-group-overwrite``.
    """
    level = _amd_level(old.pgsize)
    if old.pgsize > new_pg and level == _amd_level(new_pg) and old.pgsize != 1 << (12 + 9 * level):
        return True
    return None


def _amd_level(size: int) -> int:
    """The AMD v1 level a page of ``size`` bytes lives at (``PAGE_SIZE_LEVEL``)."""
    return (size.bit_length() - 13) // 9


@rule("MAP_PAGE_ABOVE_TOP", "drivers/iommu/amd/io_pgtable.c alloc_pte (grows the table by the page's start address only), v5.4 to v6.x; 6.12 grows by the last address and the page's level", defect=True)
def map_page_above_top(d, pgsize, mode):
    """Under the legacy AMD v1 table of 6.1, a page whose level is above the table's top is written at the top level.

    alloc_pte grows the table (increase_address_space) only while the page's
    start address is beyond the current top level's reach, then walks down
    ``while (level > end_lvl)``: a page larger than the top level can hold
    (a 2^51 page at IOVA 0 in a 3-level table) is written as replicated PTEs
    of the top level, at the wrong level, and reads back as something else.
    Linux 6.12 grows the table until the page's level fits.  The model
    tracks the top level as 6.1 grows it (``d.amd_mode``, starting at
    PAGE_MODE_3_LEVEL) and states the page as asked; a different state
    after such a map is reported under this rule.  Input class
    ``page-above-top-level``.  ``mode`` is the number of levels.
    """
    return True if _amd_level(pgsize) >= mode else None


@rule("MAP_ROLLBACK", "drivers/iommu/iommu.c __iommu_map (\"unroll mapping in case something went wrong\")")
def map_rollback(d, iova, mapped):
    """When a map fails part-way, exactly what this call mapped is unmapped again.

    The core calls ``iommu_unmap(domain, orig_iova, orig_size - size)`` on the
    bytes its map_pages calls reported as mapped, and returns the error.  The
    domain is then as it was before the call, except for leaves a block
    replaced (MAP_REPLACE_TABLE) or a map replaced (MAP_REPLACE_LEAVES), and
    for tables the map allocated (TABLE_LIFETIME).  The undo is an ordinary
    ``iommu_unmap``, so its own rules apply.  Returns the bytes unmapped.
    """
    return d._unmap(iova, mapped)


# ---------------------------------------------------------------------------
# iommu_unmap
# ---------------------------------------------------------------------------

@rule("UNMAP_ALIGN", "drivers/iommu/iommu.c __iommu_unmap (v3.3 to v6.x)")
def unmap_align(d, iova, size):
    """iova and size must be multiples of the smallest page size; otherwise 0 bytes are unmapped."""
    if (iova | size) & (d.min_pagesz - 1):
        return 0
    return None


@rule("UNMAP_ZERO_SIZE", "drivers/iommu/iommu.c __iommu_unmap")
def unmap_zero_size(d, size):
    """An unmap of 0 bytes returns 0 and changes nothing (the loop runs while unmapped < size)."""
    return 0 if size == 0 else None


@rule("UNMAP_LEAVES", "drivers/iommu/iommu.c __iommu_unmap; include/linux/iommu.h unmap_pages")
def unmap_leaves(d, start, end):
    """Unmap removes, in IOVA order, every leaf that lies wholly inside the range, and counts its size.

    The plain case of an unmap; the other UNMAP_* rules say what happens at a
    hole or at a leaf the range covers only in part.  Returns the bytes removed.
    """
    removed = d.state.remove(start, end)
    return removed if removed else None


@rule("UNMAP_HOLE", "drivers/iommu/iommu.c __iommu_unmap (\"...or we hit an area that isn't mapped\")")
def unmap_hole(d, iova):
    """Unmap stops at the first IOVA that is not mapped and returns the bytes unmapped so far.

    The driver returns 0 for an empty entry and the core's loop ends there.
    Under a variant with a table format, a hole is an entry that is neither a
    leaf of its level nor a table (an empty table is not a hole:
    UNMAP_TABLE_SLOT), or a missing table on the way down; a page that spans
    several entries of its level (v7s: 16M, 64K) is unmapped only if every
    one of them is valid -- __arm_v7s_unmap checks them all first and clears
    nothing otherwise.  The legacy AMD v1 table steps over a hole inside a
    last-level table instead (UNMAP_HOLE_IN_TABLE).
    """
    return iova


@rule("UNMAP_HOLE_IN_TABLE", "drivers/iommu/amd/io_pgtable.c fetch_pte / iommu_v1_unmap_pages (v6.1+); drivers/iommu/omap-iommu.c iopgtable_clear_entry_core (6.1, 6.12)")
def unmap_hole_in_table(d, start, end):
    """Under the legacy AMD v1 table, unmap steps over a hole inside a live last-level table and counts it.

    fetch_pte walks down while the entries above level 0 are present and
    returns the level-0 PTE without checking that it is present;
    iommu_v1_unmap_pages clears it and counts PTE_LEVEL_PAGE_SIZE(0) = 4K,
    then goes on.  Only a non-present entry above level 0 makes fetch_pte
    return NULL, and the unmap stops there (UNMAP_HOLE).  A level-0 table
    (512 PTEs, 2M) exists once a page smaller than 2M was mapped in its range
    and stays -- unmap never frees tables -- until a page of 2M or more is
    mapped over it.  So an unmap over never-mapped or already-unmapped 4K
    slots there reports them as unmapped.  [start, end) is the run of such
    slots; returns its size.
    """
    return end - start


@rule("UNMAP_HOLE_COUNTED", "drivers/iommu/exynos-iommu.c exynos_iommu_unmap (lv1 / lv2 fault: `goto done`), 6.1, 6.12")
def unmap_hole_counted(d, start, end):
    """Where the driver steps over holes, an unmap counts the unmapped bytes as unmapped and goes on.

    exynos_iommu_unmap answers an empty lv1 entry with min(pgsize, SECT_SIZE)
    and an empty lv2 entry with SPAGE_SIZE, as it would a page it cleared,
    so the core moves on: unmapping a range with nothing mapped in it
    returns its whole size.  [start, end) is the hole counted; returns its
    size.
    """
    return end - start


@rule("UNMAP_RANGE", "drivers/iommu/generic_pt/iommu_pt.h unmap_range (make_range / pt_check_range); io-pgtable-arm.c arm_lpae_unmap_pages; io-pgtable-arm-v7s.c arm_v7s_unmap_pages")
def unmap_range(d, iova, size):
    """A driver unmap whose range the driver rejects unmaps nothing (returns 0).

    Under generic_pt (``unmap_range_checked``) unmap_range builds the range
    with make_range, whose pt_check_range fails with -ERANGE when the last
    byte is beyond the table's address space; unmap_pages then returns 0 and
    the core's loop stops, even when the range starts on a live leaf.
    io-pgtable-arm and v7s (``range_check`` "start") reject only a start at
    or above 2^ias (WARN_ON, 0); DART checks nothing.  Returns 0, or None when
    the driver goes on.  sprd's 6.1 unmap returns ``(size_t)-EINVAL`` instead
    (``unmap_returns_zero``), which the core adds to what it unmapped.
    """
    sem = d.semantics
    if sem.unmap_range_checked and sem.range_check == "iova_einval" and \
            iova + size >= (1 << 64) + sem.range_end_inclusive:
        iova_past_ias(d, iova, size)  # s390, sprd: the check's unsigned end wraps and passes
        return None
    if sem.unmap_returns_zero and iova + size > 1 << d.ias:  # sprd 6.1: (size_t)-EINVAL
        return -EINVAL & ((1 << 64) - 1)
    if sem.unmap_range_checked:
        bad = iova + size > 1 << d.ias
    elif sem.range_check == "start":
        bad = iova >> d.ias
    else:
        bad = False
    return 0 if bad else None


@rule("UNMAP_PARTIAL_LEAF", "io-pgtable-arm.c arm_lpae_split_blk_unmap (to v6.13) / __arm_lpae_unmap (v6.14+); io-pgtable-arm-v7s.c arm_v7s_split_cont / arm_v7s_split_blk_unmap (to v6.13); generic_pt __unmap_range; amd/io_pgtable.c iommu_v1_unmap_pages")
def unmap_partial_leaf(d, leaf, start, end):
    """An unmap that covers only part of a leaf follows the semantic variant.

    * split (io-pgtable-arm up to v6.13): the leaf is replaced by smaller leaves
      for the part that stays mapped, and the part asked for is unmapped.
      arm_lpae_split_blk_unmap splits level by level, which gives the
      largest aligned pages of each level: the greedy tiling.
    * split_to_pgsize (v7s up to v6.13): a 16M supersection or 64K large page
      first becomes 16 entries of its level (arm_v7s_split_cont); a 1M
      section the unmap reaches into then becomes a level-2 table of pages of
      the unmap's own size, 4K or 64K (arm_v7s_split_blk_unmap), minus the one
      unmapped.
    * refuse (io-pgtable-arm and v7s from v6.14): nothing is unmapped; the
      driver returns 0 and the core's loop stops.
    * whole (generic_pt, Intel, AMD): when the request starts at the leaf's
      base, the whole leaf is removed and its full size counted, which can be
      more than was asked; a request that starts inside the leaf unmaps nothing.
    * whole_any (the legacy AMD v1 table, iommu_v1_unmap_pages): the whole
      leaf is removed and its full size counted wherever the request starts
      in it; the core then moves on by that count, from where it started.

    A split makes the tables on its way down (TABLE_LIFETIME); the model does
    not inject allocation failures into splits.  ``leaf`` is the single leaf;
    [start, end) the part the request covers.  Returns the bytes this rule
    unmapped (0 for refuse).
    """
    mode = d.semantics.partial_unmap
    if mode == "split":
        d.state.remove(leaf.iova, leaf.end)
        for lo, hi in ((leaf.iova, start), (end, leaf.end)):
            if hi > lo:
                for iova, paddr, pg, count in _pgsize.greedy_chunks(
                        d.pgsize_bitmap, lo, leaf.paddr + (lo - leaf.iova), hi - lo):
                    d.state.insert(iova, paddr, pg, count, leaf.prot)
        d._make_tables(start, end - start)
        return end - start
    if mode == "split_to_pgsize":
        if d.geometry.slot(leaf.pgsize) > end - start:  # a section becomes a level-2 table
            unmap_split_section(d, leaf, start)
        d.state.remove(leaf.iova, leaf.end)
        entry = d.geometry.slot(leaf.pgsize)
        sub = start - (start - leaf.iova) % entry  # the entry of the leaf's level that holds start
        pieces = [(leaf.iova, sub, entry), (sub, start, end - start), (end, sub + entry, end - start),
                  (sub + entry, leaf.end, entry)]
        for lo, hi, pg in pieces:
            if hi > lo:
                d.state.insert(lo, leaf.paddr + (lo - leaf.iova), pg, (hi - lo) // pg, leaf.prot)
        d._make_tables(start, end - start)
        return end - start
    if mode == "whole_any" or (mode == "whole" and start == leaf.iova):
        return d.state.remove(leaf.iova, leaf.end)
    return 0


@rule("UNMAP_HOLE_ROUNDS", "drivers/iommu/intel/iommu.c intel_iommu_unmap (size raised to the span of the entry pfn_to_dma_pte stops at, the start kept), v6.1 to v6.18", defect=True)
def unmap_hole_rounds(d, iova, size, rounded):
    """A Linux defect class: a VT-d unmap that starts at a hole above the last level reaches past its range.

    intel_iommu_unmap raises the size to the span of the entry its walk stops
    at -- 2M, 1G or 512G for a missing table -- without rounding the start
    down, clears every leaf in [iova, iova + span) and returns the span: a
    4K unmap in an empty domain reports 512G, and one at 2M + 4K with no
    table for [2M, 4M) removes a live page at 4M.  The model states the
    range asked for: its holes counted, its leaves cleared.  Returns the
    rounded size Linux reports.
    """
    return rounded if rounded > size else None


@rule("UNMAP_PARTIAL_SUPERPAGE_KEPT", "drivers/iommu/intel/iommu.c intel_iommu_unmap / dma_pte_clear_level (recursing into a superpage the range covers in part), v6.1 to v6.18", defect=True)
def unmap_partial_superpage_kept(d, leaf, start, end):
    """A Linux defect class: a VT-d unmap that covers part of a superpage keeps it and clears its memory.

    dma_pte_clear_level descends into every entry the (rounded) range covers
    only in part without checking for a superpage, so it takes the
    superpage's memory for a table and zeroes words of it; the superpage
    stays mapped and the call still reports its size.  An unmap starting
    inside a superpage is rounded to its span from there, so it also reaches
    into the next slot.  The model states UNMAP_PARTIAL_LEAF's "whole":
    from the leaf's base the whole leaf goes; from inside it nothing does.
    ``leaf`` is the superpage, [start, end) the part covered.
    """
    return leaf.size


@rule("UNMAP_SPLIT_SECTION", "drivers/iommu/io-pgtable-arm-v7s.c arm_v7s_split_blk_unmap (v4.6 to v6.13; split removed in v6.14)", defect=True)
def unmap_split_section(d, leaf, start):
    """v7s's split of a section builds the new level-2 entries without the section's output address.

    arm_v7s_split_blk_unmap starts the entries from ``arm_v7s_prot_to_pte(
    arm_v7s_pte_to_prot(blk_pte, 1), 2, cfg)`` -- attributes only -- and adds
    the page size for each, so the pages left mapped translate to physical
    address 0 plus their offset in the section instead of the section's own
    memory.  The model states the split as intended (the pages keep their
    addresses); a difference on such an unmap is reported under this rule.
    Input class ``section-split``.  Returns the leaf's base.
    """
    return leaf.iova


@rule("UNMAP_TABLE_SLOT", "drivers/iommu/io-pgtable-arm.c __arm_lpae_unmap (table entry at the unmap size's level); io-pgtable-arm-v7s.c __arm_v7s_unmap")
def unmap_table_slot(d, start, end, entry=None):
    """An unmap slot of the core's page size that holds a table: the table is freed whole and counted.

    io-pgtable-arm clears the table entry and frees the table under it,
    counting the slot's full size even where the table had holes -- or had
    no leaf at all, since tables outlive their last leaf (TABLE_LIFETIME).
    ``entry`` is the slot's level (its entry size) under a variant with a
    table format.  Returns the slot size.
    """
    d.state.remove(start, end)
    if entry and d.tables is not None:
        d.tables.free_under(start, end, entry)
    return end - start


# ---------------------------------------------------------------------------
# iommu_map_sg
# ---------------------------------------------------------------------------

@rule("MAP_SG_COALESCE", "drivers/iommu/iommu.c __iommu_map_sg (v4.17+; returns ssize_t since v5.15)")
def map_sg_coalesce(d, run_paddr, run_len):
    """Physically contiguous scatterlist entries are mapped as one run, with map's rules.

    An entry starts at ``paddr + offset`` (``sg_phys``).  Entries whose start is
    where the current run ends join it; a run is mapped at the next IOVA when
    an entry breaks contiguity, and once more at the end.  A run's start and
    length must be aligned to the smallest page (MAP_ALIGN), but single entries
    inside a run need not be (before v4.17 each entry was mapped on its own).
    Linux's loop re-reads the last entry as its end marker, so a trailing
    zero-length entry that continues the run suppresses the final flush and
    that run is silently not mapped; the model keeps that quirk.
    """
    return (run_paddr, run_len)


@rule("MAP_SG_ROLLBACK", "drivers/iommu/iommu.c __iommu_map_sg (out_err: undo mappings already done; ssize_t since v5.15)")
def map_sg_rollback(d, iova, mapped, ret):
    """When a run fails to map, every run this call mapped is unmapped and the failure returned.

    Since v5.15 ``iommu_map_sg`` returns the negative errno; before that it
    returned ``size_t`` and a failure was 0 (the model's cores ``"map"`` and
    ``"map-v4.16"``).  The undo is an ordinary ``iommu_unmap(domain, iova,
    mapped)``, so its own rules apply (a VT-d superpage a run was mapped
    under goes whole, io-pgtable frees the tables an unmap slot covers).
    Returns what ``map_sg`` returns.
    """
    if mapped:
        d._unmap(iova, mapped)
    return ret if d.core_info.map_sg_errno else 0


@rule("MAP_SG_PER_ENTRY", "drivers/iommu/iommu.c default_iommu_map_sg (v3.19 to v4.16)")
def map_sg_per_entry(d, offset):
    """Before v4.17 each scatterlist entry was mapped on its own, at the next IOVA.

    Its offset within the page had to be a multiple of the smallest page size
    (else the call failed) and each entry then went through iommu_map's
    rules, so entries that are not page-aligned fail even when they are
    physically contiguous (core ``"map-v4.16"``).  Returns -EINVAL for a bad
    offset, None otherwise.
    """
    return -EINVAL if offset % d.min_pagesz else None


# ---------------------------------------------------------------------------
# driver level: map_pages / unmap_pages
# ---------------------------------------------------------------------------

@rule("PAGES_ARGS", "include/linux/iommu.h iommu_domain_ops map_pages/unmap_pages; io-pgtable-arm.c arm_lpae_map_pages")
def pages_args(d, iova, paddr, pgsize, pgcount):
    """map_pages / unmap_pages take one supported page size, pgcount >= 1, and pgsize-aligned addresses.

    io-pgtable-arm rejects a pgsize not in the bitmap with -EINVAL; the core
    never passes anything else.  The model rejects the same for misaligned
    addresses and pgcount 0 (map_pages: -EINVAL with 0 mapped; unmap_pages: 0).
    """
    if (pgsize == 0 or pgsize & (pgsize - 1) or not pgsize & d.pgsize_bitmap
            or pgcount < 1 or (iova | paddr) & (pgsize - 1)):
        return -EINVAL
    return None


@rule("PAGES_TABLE_BATCH", "io-pgtable-arm.c arm_lpae_map_pages / __arm_lpae_unmap (max_entries = PTES_PER_TABLE - index)")
def pages_table_batch(d, iova, pgsize, pgcount):
    """One map_pages / unmap_pages call handles at most the entries left in the current table.

    With per-table batches (io-pgtable-arm), a call whose pages run past the
    end of the table they start in stops there and reports only those bytes;
    the core calls again for the rest.  A table holds granule/8 entries (the
    granule is the smallest page size); under a variant with a table format
    the table is the one at the page's level (spec.tables).  Returns the page
    count handled, or None when the whole request fits.
    """
    geometry = getattr(d, "geometry", None)
    if geometry is not None:
        span = geometry.span(geometry.slot(pgsize))
    else:
        span = pgsize * (d.min_pagesz // 8)
    left = (span - iova % span) // pgsize
    return left if left < pgcount else None


# ---------------------------------------------------------------------------
# virtio-iommu: the driver's tree of mappings and the device (spec.virtio)
# ---------------------------------------------------------------------------

_VIRTIO_SRC = "drivers/iommu/virtio-iommu.c"


@rule("MAP_CALL_MAPPING", _VIRTIO_SRC + " viommu_map_pages / viommu_add_mapping (6.1, 6.12); VIRTIO 1.2 5.13.6.5")
def map_call_mapping(d, iova, paddr, size, prot):
    """A map_pages call adds one mapping of pgsize x pgcount bytes and sends one MAP request.

    virtio-iommu keeps no page table: ``viommu_map_pages`` inserts
    [iova, iova + size - 1] into its interval tree without an overlap check
    (``viommu_add_mapping``) and sends the device MAP(iova, iova + size - 1,
    paddr, flags), flags holding only IOMMU_READ, IOMMU_WRITE and IOMMU_MMIO
    (CACHE, NOEXEC and PRIV are dropped; prot 0 is a mapping with no access).
    The mapping is one leaf of ``size`` bytes: an unmap removes it only whole
    (UNMAP_WHOLE_MAPPINGS), so an ``iommu_map`` the core splits into several
    batches is several mappings.  Returns the tree's new node.
    """
    return d.tree.add(iova, size, paddr, prot)


@rule("MAP_STATUS_LOST", _VIRTIO_SRC + " viommu_map_pages (viommu_add_req) / viommu_iotlb_sync_map (viommu_sync_req returns 0), v6.7 to v6.12 at least", defect=True)
def map_status_lost(d, iova, size):
    """A MAP the device refuses is reported as mapped, and the tree keeps it.

    Since v6.7 ``viommu_map_pages`` queues the MAP (``viommu_add_req``) and
    ``viommu_iotlb_sync_map`` returns ``viommu_sync_req()``, which is always
    0: the device's status is never read.  A device that follows VIRTIO 1.2
    refuses a MAP over a live mapping (5.13.6.5.2: S_INVAL) and keeps only
    the old one, while the driver's tree holds both and ``iova_to_phys``
    answers from the first in tree order.  Returns the bytes reported mapped.
    """
    return size


@rule("MAP_FAIL_SWEEP", _VIRTIO_SRC + " viommu_map_pages error path viommu_del_mappings(vdomain, iova, end), 6.1 to v6.6", defect=True)
def map_fail_sweep(d, node):
    """The cleanup of a refused MAP deletes other mappings from the tree, or none.

    6.1's ``viommu_map_pages`` reads the MAP's status (``viommu_send_req_sync``)
    and undoes its insert with ``viommu_del_mappings(vdomain, iova, end)``,
    which deletes every mapping that starts inside the refused range -- the
    older, live ones included, which the device keeps -- and stops at the
    first that starts before it, leaving the refused mapping in the tree.
    Applies when the tree after the cleanup is not the tree before the call;
    returns the nodes deleted (the model always deletes them: that is what
    Linux does).
    """
    deleted = d.tree.delete(node.iova, node.last)
    return None if deleted == [node] else deleted


@rule("UNMAP_WHOLE_MAPPINGS", _VIRTIO_SRC + " viommu_unmap_pages / viommu_del_mappings (6.1, 6.12); VIRTIO 1.2 5.13.6.6")
def unmap_whole_mappings(d, iova, size):
    """An unmap_pages call removes whole mappings and counts each one's full size.

    ``viommu_del_mappings`` visits the tree's mappings that intersect the
    call's range in start order: one that starts before the range stops it
    ("Trying to split a mapping?"), every other one is removed whole
    ("Virtio-iommu doesn't allow UNMAP to split a mapping created with a
    single MAP request") and counted whole, even past the range's end.  When
    the sum reaches the call's size, ``viommu_unmap_pages`` sends one
    UNMAP(iova, iova + sum - 1) and returns the sum, which the core adds as
    it is: ``iommu_unmap`` may return more than it was asked.  Less than the
    size is UNMAP_HOLE_DROPS (or 0 with nothing removed).  Returns the
    mappings removed from the tree.
    """
    return d.tree.delete(iova, (iova + size - 1) & ((1 << 64) - 1))


@rule("RANGE_END_WRAPS", _VIRTIO_SRC + " viommu_map_pages / viommu_unmap_pages (end = iova + size - 1, unchecked), 6.1, 6.12", defect=True)
def range_end_wraps(d, iova, size):
    """A driver call that runs past 2^64 computes its last IOVA wrapped below its first.

    Nothing checks a virtio-iommu call's range (range_check "none"), and
    ``end = iova + pgsize * pgcount - 1`` is a u64.  A map then adds a node
    whose last address is below its start, which no query of the interval
    tree ever matches except one spanning the whole wrap: ``iova_to_phys``
    finds nothing there and no unmap removes it.  Its MAP breaks 5.13.6.5.1
    ("virt_end MUST be strictly greater than virt_start"), and the model's
    device refuses it (S_RANGE), a status only 6.1 reads.  An unmap's query
    wraps the same way and finds almost nothing.  Applies when
    ``iova + size`` is past 2^64; returns the wrapped last address.
    """
    if iova + size <= 1 << 64:
        return None
    return (iova + size - 1) & ((1 << 64) - 1)


@rule("UNMAP_HOLE_DROPS", _VIRTIO_SRC + " viommu_unmap_pages (viommu_del_mappings before `if (unmapped < size) return 0;`), 6.1, 6.12", defect=True)
def unmap_hole_drops(d, iova, nodes):
    """An unmap call whose range holds a hole drops its mappings from the tree only.

    ``viommu_unmap_pages`` deletes the mappings first and then returns 0 when
    their sizes sum to less than the call's size, without sending the UNMAP:
    ``iommu_unmap`` reports nothing unmapped and ``iova_to_phys`` finds
    nothing, while the device keeps translating every one of them.  The sum
    is a size_t: mappings whose sizes add up to 2^64 or more wrap it below the
    call's size too.  A range that holds no mapping removes nothing and
    returns 0 (UNMAP_HOLE); one that starts inside a mapping is stopped by it
    (UNMAP_WHOLE_MAPPINGS).  ``nodes`` are the mappings removed; returns 0.
    """
    return 0 if nodes else None


@rule("UNMAP_SUM_RANGE", _VIRTIO_SRC + " viommu_unmap_pages (virt_end = iova + unmapped - 1), 6.1, 6.12", defect=True)
def unmap_sum_range(d, iova, removed, nodes):
    """The UNMAP sent covers [iova, iova + sum - 1], not the mappings removed.

    The range is computed from the sum of the removed mappings' sizes, which
    is their extent only when they tile it from ``iova``.  After a hole or
    over stacked mappings (MAP_STATUS_LOST) it is not: a device that follows
    VIRTIO 1.2 refuses an UNMAP that ends inside a mapping (5.13.6.6.2:
    S_RANGE, nothing removed), whose status Linux never reads, or removes
    mappings the tree did not.  Applies when the removed mappings do not tile
    [iova, iova + sum); returns the UNMAP's size.
    """
    at = iova
    for node in sorted(nodes, key=lambda n: n.iova):
        if node.iova != at:
            return removed
        at = node.end
    return None if at == iova + removed else removed


# ---------------------------------------------------------------------------
# iommu_iova_to_phys
# ---------------------------------------------------------------------------

@rule("IOVA_TO_PHYS_RANGE", "drivers/iommu/generic_pt/iommu_pt.h iova_to_phys (make_range(iova, 1) failure returned as the address), v6.19+")
def iova_to_phys_range(d, iova):
    """Under generic-pt, iova_to_phys of an IOVA past the table's range returns -ERANGE cast to an address.

    iommupt's ``iova_to_phys`` builds ``make_range(common, &range, iova, 1)``
    and on failure ``return ret;`` from a function returning phys_addr_t, so
    the caller gets ``(phys_addr_t)-ERANGE`` = 0xffffffffffffffde, not the
    documented 0 ("Return: 0 if there is no translation").  No fix through
    v7.1.  The io-pgtable formats return 0 there.
    """
    if d.semantics.iova_to_phys_errno and iova >> d.ias:
        return -ERANGE & ((1 << 64) - 1)
    return None


@rule("IOVA_TO_PHYS_WRAP", "drivers/iommu/amd/io_pgtable_v2.c iommu_v2_iova_to_phys / fetch_pte (PM_LEVEL_INDEX), v6.1 to v6.18; rockchip-iommu.c, exynos-iommu.c, sun50i-iommu.c, tegra-smmu.c *_iova_to_phys (6.1, 6.12)")
def iova_to_phys_wrap(d, iova):
    """Where the table indexes only ``iova_bits`` of the IOVA, iova_to_phys reads the IOVA modulo 2^iova_bits.

    AMD v2's fetch_pte indexes every level with PM_LEVEL_INDEX, which keeps 9
    bits, so the bits above the top level (48 for 4 levels) are dropped: an
    IOVA past 2^48 translates as the one 2^48 below it.  The tables inside
    drivers take 32 bits (rk_iova_dte_index, the u32 sysmmu_iova_t,
    FIELD_GET(GENMASK(31, 20)), iova_pd_index).  Returns the IOVA looked up, or
    None when the IOVA is within reach.  (The legacy AMD v1 table grows to
    cover every IOVA, generic_pt rejects one past its range:
    IOVA_TO_PHYS_RANGE.)
    """
    bits = d.semantics.iova_bits
    if bits and iova >> bits:
        return iova & ((1 << bits) - 1)
    return None


@rule("IOVA_TO_PHYS", "drivers/iommu/iommu.c iommu_iova_to_phys; io-pgtable-arm.c arm_lpae_iova_to_phys")
def iova_to_phys(d, iova):
    """The physical address an IOVA translates to, in-page offset included, or 0 if unmapped.

    A mapping to physical address 0 reads as 0 too (0a4d00e2e99a, v7.0, changed
    only a caller, iommu_create_device_direct_mappings, to ask about IOVA 1).
    Under generic-pt an IOVA past the table's range is IOVA_TO_PHYS_RANGE.
    """
    out = iova_to_phys_range(d, iova)
    if out is not None:
        return out
    if d.tree is not None:  # virtio-iommu: viommu_iova_to_phys reads the driver's tree
        node = d.tree.lookup(iova)  # ... and its phys_addr_t sum wraps at 2^64
        return 0 if node is None else (node.paddr + (iova - node.iova)) & ((1 << 64) - 1)
    wrapped = iova_to_phys_wrap(d, iova)
    iova = iova if wrapped is None else wrapped
    run = d.state.find(iova)
    if run is None:
        hole = iova_to_phys_page_zero(d, iova)
        return 0 if hole is None else hole
    pa = run.paddr + (iova - run.iova)
    cut = iova_to_phys_no_offset(d, pa)
    return pa if cut is None else cut


@rule("IOVA_TO_PHYS_PAGE_ZERO", "drivers/iommu/sprd-iommu.c sprd_iommu_iova_to_phys (v5.13 to v6.12 at least)")
def iova_to_phys_page_zero(d, iova):
    """Where a PTE has no valid bit (sprd), an unmapped IOVA in the aperture reads as physical page 0.

    sprd's PTE is just ``paddr >> 12``: an entry of 0 is physical page 0 to
    the hardware, and sprd_iommu_iova_to_phys returns ``(pte << 12) + (iova
    & (SZ_4K - 1))`` -- the IOVA's offset in its page -- for a hole.  Outside
    the aperture it WARNs and returns 0.  Returns that answer, or None under
    a variant whose PTEs have a valid bit (``pte_valid_bit``).
    """
    if d.semantics.pte_valid_bit or iova >> d.ias:
        return None
    return iova & ((1 << 12) - 1)


@rule("MAP_PADDR_ZERO_HOLE", "drivers/iommu/sprd-iommu.c sprd_iommu_map (PTE = (u32)paddr >> 12, no valid bit)", defect=True)
def map_paddr_zero_hole(d, paddr, size):
    """A Linux defect class: where a PTE has no valid bit, a page at physical 0 is written as a hole.

    sprd's PTE for physical page 0 (or any multiple of 4G: the paddr is cut
    to 32 bits) is 0, the value of an unmapped entry, so nothing tells that
    mapping apart from no mapping (the page table's dump shows none).  The
    model states the page asked for.  Returns True when [paddr, paddr + size)
    holds such a page.
    """
    if d.semantics.pte_valid_bit:
        return None
    top = 1 << 32
    first = -(-paddr // top) * top  # the first multiple of 4G at or after paddr
    return True if first < paddr + size else None


@rule("UNMAP_RETURNS_ZERO", "drivers/iommu/sprd-iommu.c sprd_iommu_unmap (v5.13 to v6.1; a05d5857cec3, v6.2, returns the size)", defect=True)
def unmap_returns_zero(d, cleared):
    """A Linux defect class: sprd's 6.1 unmap clears its range and returns 0.

    sprd_iommu_unmap memsets the call's PTEs and returns 0 on success (and
    ``(size_t)-EINVAL`` outside the aperture), so iommu_unmap's loop stops
    after the first chunk and reports 0 bytes unmapped though that chunk is
    cleared; a failed map's rollback clears only its first chunk.  The model
    states what the driver returns (``unmap_returns_zero``).  ``cleared`` is
    the bytes cleared; returns 0.
    """
    return 0


@rule("IOVA_TO_PHYS_NO_OFFSET", "drivers/iommu/mtk_iommu_v1.c mtk_iommu_v1_iova_to_phys (6.1, 6.12); drivers/iommu/s390-iommu.c s390_iommu_iova_to_phys (6.12)", defect=True)
def iova_to_phys_no_offset(d, pa):
    """Under mtk_iommu_v1, iova_to_phys returns the page's physical address without the IOVA's offset in it.

    mtk_iommu_v1_iova_to_phys reads the PTE and returns ``pte &
    ~(MT2701_IOMMU_PAGE_SIZE - 1)``: iova 0x3123 mapped to 0x80003000 reads
    0x80003000.  The model states that answer (``iova_to_phys_offset``
    False).  ``pa`` is the full address; returns it with the offset cut.
    """
    if d.semantics.iova_to_phys_offset:
        return None
    return pa & ~((1 << 12) - 1)
