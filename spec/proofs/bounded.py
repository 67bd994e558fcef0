"""Exhaustive small-width cross-check of minimality and refinement, on the int code path.

For every bitmap of page sizes below 2^bits, every iova and paddr below 2^bits
and every size up to 2^bits (aligned to the bitmap's smallest page, the
loop's precondition), it compares:

* the number of pages the batched loop (:func:`spec.pgsize.greedy_chunks`,
  the v5.15+ loop) maps with the fewest pages any tiling by aligned pages of
  the bitmap can use, found by dynamic programming over the range (P6);
* the pages of the batched loop with those of the one-page-per-step loop
  (:func:`spec.pgsize.pgsize`, before v5.15) (P5).

This is a bounded proof over that finite domain; the unbounded proofs are in
:mod:`spec.proofs.properties`.
"""

import time
from dataclasses import dataclass

from spec.pgsize import greedy_chunks, pgsize


@dataclass
class BoundedResult:
    """``ok`` unless a case failed; ``cases`` checked; ``failure`` describes the first
    failing case as ``(pgsize_bitmap, iova, paddr, size, what)``."""

    bits: int
    cases: int
    seconds: float
    failure: tuple[int, int, int, int, str] | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


def fewest_pages(pgsize_bitmap: int, iova: int, paddr: int, limit: int) -> list[int]:
    """``best[x]``: the fewest aligned pages of the bitmap tiling [iova, iova + x), for x <= limit.

    A page of size z may sit at iova + y when z is in the bitmap and both
    iova + y and paddr + y are multiples of z.  Unreachable lengths get a
    value larger than any tiling (limit + 1).
    """
    sizes = [1 << b for b in range(pgsize_bitmap.bit_length()) if pgsize_bitmap >> b & 1]
    never = limit + 1
    best = [0] + [never] * limit
    for x in range(1, limit + 1):
        for z in sizes:
            y = x - z
            if y < 0:
                break
            if ((iova + y) | (paddr + y)) & (z - 1) == 0 and best[y] + 1 < best[x]:
                best[x] = best[y] + 1
    return best


def _single_pages(pgsize_bitmap, iova, paddr, size):
    pages = []
    while size:
        pg = pgsize(pgsize_bitmap, iova, paddr, size)
        if pg == 0:
            raise AssertionError("pgsize returned 0 under the alignment precondition")
        pages.append(pg)
        iova, paddr, size = iova + pg, paddr + pg, size - pg
    return pages


def exhaustive(bits: int = 4) -> BoundedResult:
    """Check every case below 2^bits (``bits`` in 1..6); see the module docstring."""
    if not 1 <= bits <= 6:
        raise ValueError(f"bits must be in 1..6 (the cost grows as 2^(4*bits)), got {bits}")
    start = time.perf_counter()
    top = 1 << bits
    cases = 0
    for bitmap in range(1, top):
        m = bitmap & -bitmap
        for iova in range(0, top, m):
            for paddr in range(0, top, m):
                best = fewest_pages(bitmap, iova, paddr, top)
                for size in range(m, top + 1, m):
                    cases += 1
                    batched = [pg for _, _, pg, count in greedy_chunks(bitmap, iova, paddr, size)
                               for _ in range(count)]
                    if len(batched) != best[size]:
                        what = f"greedy maps {len(batched)} pages, a tiling with {best[size]} exists"
                        return BoundedResult(bits, cases, time.perf_counter() - start,
                                             (bitmap, iova, paddr, size, what))
                    if batched != _single_pages(bitmap, iova, paddr, size):
                        return BoundedResult(bits, cases, time.perf_counter() - start,
                                             (bitmap, iova, paddr, size,
                                              "batched and one-page loops map different pages"))
    return BoundedResult(bits, cases, time.perf_counter() - start)
