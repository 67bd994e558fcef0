"""Hypothesis strategies for IOMMU addresses, sizes and scatterlists.

They aim at the edges that matter: the boundaries of every page size in the
profile, the top of the input address space, and the live mappings.  All
strategies are functions of a :class:`Space` (profile plus the page sizes in
use), so one module serves the state machine and the unit tests.
"""

from dataclasses import dataclass
from functools import lru_cache

from hypothesis import strategies as st

from spec import (IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_PRIV, IOMMU_READ,
                  IOMMU_WRITE, Profile)

GOOD_PROTS = [IOMMU_READ, IOMMU_WRITE, IOMMU_READ | IOMMU_WRITE,
              IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE, IOMMU_READ | IOMMU_NOEXEC,
              IOMMU_READ | IOMMU_WRITE | IOMMU_MMIO, IOMMU_WRITE | IOMMU_PRIV]
#: Prots that grant neither read nor write: MAP_PROT rejects them.
BAD_PROTS = [0, IOMMU_CACHE, IOMMU_NOEXEC | IOMMU_MMIO, IOMMU_PRIV]


@dataclass(frozen=True)
class Space:
    """What addresses look like on one domain: the profile and the page sizes in use."""

    profile: Profile
    pgsize_bitmap: int

    @property
    def min_page(self) -> int:
        return self.pgsize_bitmap & -self.pgsize_bitmap

    @property
    def used_sizes(self) -> list[int]:
        return [1 << b for b in range(64) if self.pgsize_bitmap >> b & 1]

    @property
    def top(self) -> int:
        return 1 << self.profile.ias

    @property
    def edge_sizes(self) -> list[int]:
        """Boundaries worth hitting: every profile page size and 16x the largest one in use."""
        sizes = set(self.profile.pgsizes) | {max(self.used_sizes) * 16}
        return sorted(s for s in sizes if s < self.top)

    def clamp(self, a: int, hi: int) -> int:
        return min(max(a, 0), hi - self.min_page) // self.min_page * self.min_page


@lru_cache(maxsize=None)
def iovas(space: Space) -> st.SearchStrategy[int]:
    """Page-aligned IOVAs below 2^ias, biased to page-size boundaries and the top."""
    m = space.min_page

    @st.composite
    def draw(draw_):
        kind = draw_(st.sampled_from(["boundary", "boundary", "low", "top", "any"]))
        if kind == "boundary":
            p = draw_(st.sampled_from(space.edge_sizes))
            k = draw_(st.integers(0, 4) | st.integers(0, space.top // p - 1))
            a = k * p + draw_(st.integers(-3, 3)) * m
        elif kind == "low":
            a = draw_(st.integers(0, 32)) * m
        elif kind == "top":
            p = draw_(st.sampled_from(space.edge_sizes))
            a = space.top - draw_(st.integers(1, 3)) * p + draw_(st.integers(-2, 2)) * m
        else:
            a = draw_(st.integers(0, space.top // m - 1)) * m
        return space.clamp(a, space.top)
    return draw()


@lru_cache(maxsize=None)
def paddr_choices(space: Space) -> st.SearchStrategy[tuple]:
    """How to pick a physical address: ``("congruent", p, k)`` or ``("any", paddr)``.

    Resolve a choice for a given iova with :func:`paddr_for`; most choices put
    paddr at the same offset as iova within a page size in use, so large pages
    are possible.
    """
    m, oas_top = space.min_page, 1 << space.profile.oas
    congruent = st.tuples(st.just("congruent"), st.sampled_from(space.used_sizes),
                          st.integers(0, 8) | st.integers(0, oas_top // m))
    anywhere = st.tuples(st.just("any"), st.integers(0, oas_top // m - 1).map(lambda k: k * m))
    return st.one_of(congruent, congruent, congruent, anywhere)


def paddr_for(space: Space, choice: tuple, iova: int) -> int:
    if choice[0] == "any":
        return choice[1]
    _, p, k = choice
    oas_top = 1 << space.profile.oas
    return space.clamp(k % max(oas_top // p, 1) * p + iova % p, oas_top)


@lru_cache(maxsize=None)
def sizes(space: Space) -> st.SearchStrategy[int]:
    """Non-zero page-aligned sizes: a few pages of a size in use plus a few minimum pages."""
    m = space.min_page

    @st.composite
    def draw(draw_):
        p = draw_(st.sampled_from(space.used_sizes))
        size = draw_(st.integers(0, 3)) * p + draw_(st.integers(0, 3)) * m
        if draw_(st.integers(0, 5)) == 0:  # sometimes cross the next size up
            size += draw_(st.integers(1, 2)) * max(space.used_sizes)
        return size or m
    return draw()


@lru_cache(maxsize=None)
def prots() -> st.SearchStrategy[int]:
    return st.sampled_from(GOOD_PROTS)


@lru_cache(maxsize=None)
def scatterlists(space: Space) -> st.SearchStrategy[list[tuple[int, int, int]]]:
    """Scatterlists of 1 to 6 entries ``(paddr, offset, length)``.

    Entries are built by cutting physically contiguous runs at arbitrary byte
    offsets (so single entries need not be aligned while the run is), with an
    occasional break of contiguity, an unaligned run, or a zero-length entry.
    """
    m = space.min_page

    @st.composite
    def draw(draw_):
        entries = []
        for _ in range(draw_(st.integers(1, 3))):
            start = paddr_for(space, draw_(paddr_choices(space)), 0)
            length = draw_(st.integers(1, 4)) * m
            if draw_(st.integers(0, 9)) == 0:
                length += draw_(st.integers(1, m - 1)) if m > 1 else 0  # an unaligned run
            cuts = sorted(draw_(st.lists(st.integers(1, length - 1), max_size=2, unique=True))
                          if length > 1 else [])
            bounds = [0, *cuts, length]
            for lo, hi in zip(bounds, bounds[1:]):
                phys = start + lo
                offset = draw_(st.integers(0, min(phys, m - 1)))
                entries.append((phys - offset, offset, hi - lo))
        if draw_(st.integers(0, 19)) == 0:
            last = entries[-1]
            entries.append((last[0] + last[1] + last[2], 0, 0))  # trailing zero-length entry
        return entries
    return draw()
