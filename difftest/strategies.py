"""What the state machine draws: one plan per step, of IOMMU addresses, sizes and scatterlists.

The draws aim at the edges that matter: the boundaries of every page size in
the profile, the top of the input address space, and the live mappings.  All
are functions of a :class:`Space` (profile plus the page sizes in use).
``draw_*`` take a Hypothesis ``draw`` function (of a composite) and make a few
plain integer draws each; :func:`plans` gives the strategy of one step's plan.
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
def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    """``st.integers(lo, hi)``, built once: every draw below goes through one of these."""
    return st.integers(lo, hi)


#: A raw index, resolved against the state when the step runs (a live run, a leaf in it,
#: an offset): ``raw % n``.  It shrinks to 0, the first choice.
PICK = 1 << 20


#: Small page offsets around a boundary, simplest (0) first.
_NUDGE = (0, 1, -1, 2, -2, 3, -3)


def draw_iova(draw, space: Space) -> int:
    """A page-aligned IOVA below 2^ias, biased to page-size boundaries and the top (1 to 3 draws)."""
    m, top, edges = space.min_page, space.top, space.edge_sizes
    v = draw(_ints(0, 6 * len(_NUDGE) - 1))
    kind, nudge = v % 6, _NUDGE[v // 6]
    if kind <= 2:  # a boundary of a page size: near its first multiples, or any multiple
        w = draw(_ints(0, 5 * len(edges) - 1) if kind < 2 else _ints(0, len(edges) - 1))
        p = edges[w % len(edges)]
        k = w // len(edges) if kind < 2 else draw(_ints(0, top // p - 1))
        a = k * p + nudge * m
    elif kind == 3:
        a = draw(_ints(0, 32)) * m
    elif kind == 4:  # just below the top
        w = draw(_ints(0, 3 * len(edges) - 1))
        a = top - (w // len(edges) + 1) * edges[w % len(edges)] + max(-2, min(2, nudge)) * m
    else:
        a = draw(_ints(0, top // m - 1)) * m
    return space.clamp(a, top)


def draw_paddr_choice(draw, space: Space) -> tuple:
    """How to pick a physical address (2 or 3 draws): ``("congruent", p, k)`` or ``("any", paddr)``.

    Resolve it for a given iova with :func:`paddr_for`; most choices put
    paddr at the same offset as iova within a page size in use, so large
    pages are possible.
    """
    m, oas_top, used = space.min_page, 1 << space.profile.oas, space.used_sizes
    v = draw(_ints(0, 4 * len(used) - 1))
    kind, p = v % 4, used[v // 4]
    if kind == 3:
        return ("any", draw(_ints(0, oas_top // m - 1)) * m)
    return ("congruent", p, draw(_ints(0, 8) if kind < 2 else _ints(0, oas_top // m)))


def draw_size(draw, space: Space) -> int:
    """A non-zero page-aligned size: a few pages of a size in use plus a few minimum pages,
    sometimes across the next size up (2 draws)."""
    m, used = space.min_page, space.used_sizes
    p = used[draw(_ints(0, len(used) - 1))]
    v = draw(_ints(0, 4 * 4 * 12 - 1))
    size = v % 4 * p + v // 4 % 4 * m
    cross = v // 16  # 10 and 11 cross the next size up; never at the minimum, 0
    if cross >= 10:
        size += (cross - 9) * max(used)
    return min(size or m, (1 << 64) - m)  # a size_t: pages of 2^63 (virtio) add up past it


def draw_prot(draw) -> int:
    return GOOD_PROTS[draw(_ints(0, len(GOOD_PROTS) - 1))]


def paddr_for(space: Space, choice: tuple, iova: int) -> int:
    if choice[0] == "any":
        return choice[1]
    _, p, k = choice
    oas_top = 1 << space.profile.oas
    return space.clamp(k % max(oas_top // p, 1) * p + iova % p, oas_top)


def draw_sg(draw, space: Space) -> list[tuple[int, int, int]]:
    """A scatterlist of 1 to 10 entries ``(paddr, offset, length)``.

    Entries are built by cutting physically contiguous runs at arbitrary byte
    offsets (so single entries need not be aligned while the run is), with an
    occasional break of contiguity, an unaligned run, or a zero-length entry.
    """
    m = space.min_page
    entries = []
    for _ in range(draw(_ints(1, 3))):
        start = paddr_for(space, draw_paddr_choice(draw, space), 0)
        length = draw(_ints(1, 4)) * m
        if m > 1 and draw(_ints(0, 9)) == 0:
            length += draw(_ints(1, m - 1))  # an unaligned run
        cuts = sorted({draw(_ints(1, length - 1)) for _ in range(draw(_ints(0, 2)))}) \
            if length > 1 else []
        # a run may cross 2^oas (PADDR_PAST_OAS), never 2^64 (a 64-bit oas: s390)
        start = min(start, ((1 << 64) - length) // m * m)
        bounds = [0, *cuts, length]
        for lo, hi in zip(bounds, bounds[1:]):
            phys = start + lo
            offset = draw(_ints(0, min(phys, m - 1)))
            entries.append((phys - offset, offset, hi - lo))
    if draw(_ints(0, 19)) == 0:
        last = entries[-1]
        end = last[0] + last[1] + last[2]
        if end < 1 << 64:  # a 64-bit oas (s390) can end a run at 2^64: no entry there
            entries.append((end, 0, 0))  # trailing zero-length entry
    return entries


# -- one draw per state-machine step ---------------------------------------------------------
#
# Hypothesis picks the step (one rule per step, difftest.machine); the step's
# arguments are then one draw of its plan: the argument classes and the numbers,
# drawn with plain integer draws inside one composite.  A plan holds raw numbers
# only; the machine resolves them against its state when the step runs (``PICK``
# indexes modulo the live runs), so drawing never looks at the state.  The
# minimal draw (all zeros) is the simplest call: a 1-page map at iova 0.

def _plan_map(draw, space, contract):
    return {"iova": draw_iova(draw, space), "paddr": draw_paddr_choice(draw, space),
            "size": draw_size(draw, space), "prot": draw_prot(draw)}


def _plan_map_over_live(draw, space, contract):
    return {"run": draw(_ints(0, PICK)), "pages_before": draw(_ints(-2, 2)),
            "leaf": draw(_ints(0, PICK)), "paddr": draw_paddr_choice(draw, space),
            "size": draw_size(draw, space), "prot": draw_prot(draw)}


UNMAP_HOW = ("run", "leaf", "part", "inside", "across")


def _plan_unmap(draw, space, contract):
    if not draw(_ints(0, 4)):  # anywhere
        return {"iova": draw_iova(draw, space), "size": draw_size(draw, space)}
    how = UNMAP_HOW[draw(_ints(0, len(UNMAP_HOW) - 1))]
    plan = {"run": draw(_ints(0, PICK)), "leaf": draw(_ints(0, PICK)), "how": how,
            "used": draw(_ints(0, 1))}
    if how in ("part", "inside"):
        plan["pages"] = draw(_ints(1, 4))
    if how == "inside":
        plan["offset"] = draw(_ints(0, PICK))
    if how == "across":
        plan["size"] = draw_size(draw, space)
    return plan


def _plan_map_sg(draw, space, contract):
    return {"iova": draw_iova(draw, space), "sg": draw_sg(draw, space), "prot": draw_prot(draw)}


def _plan_iova_to_phys(draw, space, contract):
    if draw(_ints(0, 1)):
        return {"run": draw(_ints(0, PICK)), "offset": draw(_ints(0, 1 << 40))}
    return {"iova": draw_iova(draw, space), "offset": draw(_ints(0, space.min_page - 1))}


def _plan_dma_access(draw, space, contract):
    return {"run": draw(_ints(0, PICK)), "offset": draw(_ints(0, 1 << 40))}


BAD_MAP_HOW = ("misaligned", "zero", "beyond_ias", "wrap", "prot", "paddr_beyond_oas")


def _plan_bad_map(draw, space, contract):
    plan = _plan_map(draw, space, contract)
    plan["how"] = how = BAD_MAP_HOW[draw(_ints(0, len(BAD_MAP_HOW) - 1))]
    if how == "misaligned" and space.min_page > 1:
        plan["which"] = ("iova", "paddr", "size")[draw(_ints(0, 2))]
        plan["delta"] = draw(_ints(1, space.min_page - 1))
    elif how in ("beyond_ias", "wrap"):
        plan["k"] = draw(_ints(0, 2) if how == "beyond_ias" else _ints(1, 2))
    elif how == "prot":
        plan["prot"] = BAD_PROTS[draw(_ints(0, len(BAD_PROTS) - 1))]
    return plan


BAD_UNMAP_HOW = ("misaligned", "zero", "wrap")


def _plan_bad_unmap(draw, space, contract):
    plan = {"iova": draw_iova(draw, space), "size": draw_size(draw, space)}
    plan["how"] = how = BAD_UNMAP_HOW[draw(_ints(0, len(BAD_UNMAP_HOW) - 1))]
    if how == "misaligned" and space.min_page > 1:
        plan["which"] = ("iova", "size")[draw(_ints(0, 1))]
        plan["delta"] = draw(_ints(1, space.min_page - 1))
    return plan


def _plan_map_pages(draw, space, contract):
    sizes_ = space.used_sizes if contract else \
        space.used_sizes + [p for p in space.profile.pgsizes if p not in space.used_sizes]
    return {"pgsize": sizes_[draw(_ints(0, len(sizes_) - 1))], "iova": draw_iova(draw, space),
            "paddr": draw_paddr_choice(draw, space),
            "pgcount": draw(_ints(1, 3) if draw(_ints(0, 1)) == 0 else _ints(1, 1100)),
            "prot": draw_prot(draw)}


def _plan_unmap_pages(draw, space, contract):
    return {"run": draw(_ints(0, PICK)),
            "pgsize": space.used_sizes[draw(_ints(0, len(space.used_sizes) - 1))],
            "leaf": draw(_ints(0, PICK)), "pgcount": draw(_ints(1, 4))}


def _plan_unmap_fast_then_sync(draw, space, contract):
    return {"unmaps": [{"run": draw(_ints(0, PICK)), "leaf": draw(_ints(0, PICK)),
                        "used": draw(_ints(0, 1)), "pages": draw(_ints(1, 4))}
                       for _ in range(draw(_ints(1, 2)))]}


def _plan_map_with_alloc_failure(draw, space, contract):
    return {"after": draw(_ints(0, 3)), **_plan_map(draw, space, contract)}


def _plan_nothing(draw, space, contract):
    return {}


#: Every step the state machine can take, simplest first (shrinking moves towards the
#: first), with what the implementation must offer for it and how its plan is drawn.
STEPS = {
    "map": (frozenset(), _plan_map),
    "unmap": (frozenset(), _plan_unmap),
    "iova_to_phys": (frozenset(), _plan_iova_to_phys),
    "dma_access": (frozenset(), _plan_dma_access),
    "map_over_live": (frozenset(), _plan_map_over_live),
    "map_sg": (frozenset(), _plan_map_sg),
    "bad_map": (frozenset(), _plan_bad_map),
    "bad_unmap": (frozenset(), _plan_bad_unmap),
    "map_pages": (frozenset({"map_pages"}), _plan_map_pages),
    "unmap_pages": (frozenset({"unmap_pages"}), _plan_unmap_pages),
    "unmap_fast_then_sync": (frozenset({"unmap_fast", "iotlb_sync"}), _plan_unmap_fast_then_sync),
    "map_with_alloc_failure": (frozenset({"fail_alloc"}), _plan_map_with_alloc_failure),
    "domain_free_and_start_over": (frozenset({"domain_free"}), _plan_nothing),
}


@lru_cache(maxsize=None)
def plans(space: Space, op: str, contract: bool) -> st.SearchStrategy[dict]:
    """The plans of step ``op`` (a key of STEPS), drawn whole.

    ``contract``: direct driver calls stay within what Linux's core passes
    (page sizes of the domain's bitmap only).
    """
    plan = STEPS[op][1]
    return st.composite(lambda draw: plan(draw, space, contract))()
