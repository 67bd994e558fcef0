"""Page-size selection: which page size, and how many pages, the core maps next.

This is the one definition of the choice, used by the reference model, by the
implementations in ``impls/`` and, on z3 bit-vectors, by the proofs in
``spec.proofs``.  It is written with :mod:`spec.bitops` so the same code runs
on ints and symbolically.

Source: drivers/iommu/iommu.c ``iommu_pgsize()``.  The single-page form dates
from v3.3 (``iommu_map`` splitting a range by ``pgsize_bitmap``); the
``(pgsize, count)`` form was added in v5.15 together with ``map_pages`` /
``unmap_pages`` and is unchanged through v6.x.
"""

from . import bitops as bv


def pgsize_and_count(pgsize_bitmap, iova, paddr, size):
    """Choose the next ``(pgsize, count)`` for mapping ``size`` bytes at iova -> paddr.

    Arguments and results are 64-bit unsigned values (ints, or z3 bit-vectors).

    * ``pgsize`` is the largest page size in ``pgsize_bitmap`` that is <= ``size``
      and to which both ``iova`` and ``paddr`` are aligned.  It is 0 only when no
      page size qualifies, which Linux treats as a bug (``BUG_ON(!pgsizes)``); the
      callers' alignment checks make it unreachable (proved in ``spec.proofs``).
    * ``count`` is how many such pages to map in one go: all that fit in ``size``,
      except that when a larger supported page size exists and iova and paddr sit
      at the same offset within it, the run stops at that larger page's boundary
      -- provided a whole larger page fits after the boundary -- so the next step
      can use the larger page.

    Linux computes ``offset + pgsize_next <= size`` in ``size_t``; that sum is
    kept modulo 2^64 here as well, so this function is exactly the kernel's
    arithmetic (the proofs state the precondition under which it cannot wrap).
    """
    addr_merge = iova | paddr
    # Page sizes supported by the hardware and small enough for size ...
    pgsizes = pgsize_bitmap & bv.fill_down(size)
    # ... and to which both addresses are aligned.
    pgsizes = pgsizes & bv.mask_through(bv.lowbit(addr_merge))
    pgsize = bv.msb(pgsizes)
    pgsize_idx = bv.log2_pow2(pgsize)

    # The next larger supported page size, if any.
    pgsize_next = bv.lowbit(pgsize_bitmap & ~bv.fill_down(pgsize))
    next_mask = bv.wrap(pgsize_next - 1)
    offset = bv.wrap(pgsize_next - (addr_merge & next_mask))
    stop_at_next = bv.all_of(
        pgsize_next != 0,
        (iova ^ paddr) & next_mask == 0,
        bv.ule(bv.wrap(offset + pgsize_next), size),
    )
    run = bv.select(stop_at_next, offset, size)
    count = bv.lshr(run, pgsize_idx)
    return pgsize, count


def pgsize(pgsize_bitmap, iova, paddr, size):
    """The single-page form: the page size alone (Linux before v5.15, one page per step)."""
    return pgsize_and_count(pgsize_bitmap, iova, paddr, size)[0]


def best_pgsize(pgsize_bitmap, va, last_va, oa):
    """generic_pt's choice of the next leaf size, as a page size in bytes (0: none fits).

    Arguments and results are 64-bit values (ints or z3 bit-vectors).  The
    largest page size in ``pgsize_bitmap`` that va and oa are aligned to and
    that is not larger than the highest power of two <= ``last_va - va + 1``;
    0 when none is, and 0 when ``va >= last_va`` (``PT_WARN_ON``: a one-byte
    range).  Source: drivers/iommu/generic_pt/pt_common.h
    ``pt_compute_best_pgsize`` (v6.19+), which the v7.1 ``map_range`` calls
    for the first leaf and again after each run (``__map_range_leaf``).
    Proof P7 shows it equals :func:`pgsize` on every call the core makes.
    """
    length = bv.wrap(last_va - va + 1)
    mask = va | oa | bv.msb(length)
    candidates = pgsize_bitmap & bv.mask_through(bv.lowbit(mask))
    return bv.select(bv.ult(va, last_va), bv.msb(candidates), 0)


def greedy_chunks(pgsize_bitmap: int, iova: int, paddr: int, size: int):
    """The ``(iova, paddr, pgsize, count)`` steps of the core's map loop over a range.

    Concrete ints only.  Yields the batches ``__iommu_map`` would hand to
    ``map_pages`` if every call mapped everything it was asked for.  The range
    must be aligned to the smallest page in the bitmap (else ValueError).
    """
    min_page = pgsize_bitmap & -pgsize_bitmap
    if not pgsize_bitmap or (iova | paddr | size) & (min_page - 1):
        raise ValueError(
            f"greedy_chunks needs iova, paddr and size aligned to the minimum page "
            f"{min_page:#x} of pgsize_bitmap {pgsize_bitmap:#x}")
    while size:
        pg, count = pgsize_and_count(pgsize_bitmap, iova, paddr, size)
        yield iova, paddr, pg, count
        step = pg * count
        iova, paddr, size = iova + step, paddr + step, size - step


def greedy_leaves(pgsize_bitmap: int, iova: int, paddr: int, size: int) -> int:
    """How many leaves (pages) the greedy tiling of a range uses."""
    return sum(count for _, _, _, count in greedy_chunks(pgsize_bitmap, iova, paddr, size))
