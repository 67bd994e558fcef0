"""Conformance vectors: the spec's expectations as JSON files any implementation can replay.

In the style of consensus-specs' test vectors and Wycheproof: each file is
one operation sequence on one domain -- protocol v1 requests (docs/protocol.md)
with the replies the spec expects and the rules that decided them -- plus the
leaves the domain must hold at the end.  The format is documented in
docs/vectors.md and docs/vectors.schema.json.

* :func:`generate` builds the vectors for one profile, semantic variant and
  pgsize_bitmap from the named scenarios in :data:`SCENARIOS` (and a few
  seeded random sequences), running every request through
  :class:`spec.ReferenceDomain`; ``iommu-spec vectors --out DIR`` writes them
  all and prints which rules they decide (:func:`coverage`).
* :func:`run_vector` replays one vector against an implementation, in-process
  or external, without Hypothesis; ``iommu-spec run-vectors DIR`` runs a
  directory of them.
* :func:`vector_from_calls` turns a failing state-machine run's call log into
  a vector, so the failure replays against any implementation in any language
  (``pytest difftest --save-failure DIR``).
"""

import argparse
import dataclasses
import functools
import hashlib
import json
import os
import random
import re
import sys
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from tabulate import tabulate

from spec import (IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE,
                  PROFILES, RULES, SEMANTICS, Profile, ReferenceDomain, Semantics, SpecUsageError,
                  canonical_leaves, errno_name, get_profile, get_semantics, greedy_leaves)
from spec.cores import CORES, get_core

FORMAT = "iommu-spec-vector/1"
U64 = 1 << 64
RW = IOMMU_READ | IOMMU_WRITE
#: Operations every implementation offers; a vector lists any others in ``requires``.
BASE_OPS = frozenset({"map", "unmap", "map_sg", "iova_to_phys"})
#: Page-size selections a vector can be written for (the directory level under the semantics).
BITMAPS = ("all-sizes", "min-page")
#: Seeded random sequences per profile, semantics and bitmap.
DEFAULT_RANDOM = 2
#: Largest number of iova_to_phys probes of the final state in one vector.
MAX_PROBES = 64
#: The core loop an implementation follows when it does not say (``Implementation.core``;
#: ReferenceDomain's default: the v5.15+ map_pages batches).
DEFAULT_CORE = "map_pages"


# ---------------------------------------------------------------------------
# One request, on the model or on an implementation
# ---------------------------------------------------------------------------

def reply_of(target, request: dict) -> dict:
    """Make one protocol request on ``target`` and return the protocol reply (without ``tlb``).

    ``target`` is a :class:`spec.ReferenceDomain` or anything with the
    :class:`impls.Implementation` methods.  Handles map, unmap, map_sg,
    iova_to_phys, map_pages, unmap_pages and iotlb_sync; raises ValueError for
    any other op.
    """
    op, r = request["op"], request
    if op == "map":
        return {"ret": target.map(r["iova"], r["paddr"], r["size"], r["prot"])}
    if op == "unmap":
        return {"ret": target.unmap(r["iova"], r["size"])}
    if op == "map_sg":
        return {"ret": target.map_sg(r["iova"], [tuple(e) for e in r["sg"]], r["prot"])}
    if op == "iova_to_phys":
        return {"ret": target.iova_to_phys(r["iova"])}
    if op == "map_pages":
        ret, mapped = target.map_pages(r["iova"], r["paddr"], r["pgsize"], r["pgcount"], r["prot"])
        return {"ret": ret, "mapped": mapped}
    if op == "unmap_pages":
        return {"ret": target.unmap_pages(r["iova"], r["pgsize"], r["pgcount"])}
    if op == "iotlb_sync":
        sync = getattr(target, "iotlb_sync", None)
        return {"ret": sync() if sync else 0}  # the model has no IOTLB state to sync
    raise ValueError(f"a vector step cannot be a {op!r} request")


def _installed_a_block(d: ReferenceDomain, request: dict, before: set, rules: list) -> bool:
    return request["op"] in ("map", "map_sg") and "MAP_PAGES_INSTALL" in rules and any(
        run.pgsize != d.min_pagesz for run in d.leaves() if tuple(run) not in before)


def _batch_judged_whole(d: ReferenceDomain, request: dict, before: set, rules: list) -> bool:
    return request["op"] in ("map", "unmap", "map_sg") and bool(
        {"UNMAP_RANGE", "PAGES_TABLE_BATCH"} & set(rules))


#: Rules the model applies to every map and unmap without recording them in
#: ``ReferenceDomain.decided`` (it calls their functions directly): when a step
#: counts as decided by each, the rules it is listed before, and why.
DERIVED = {
    "PGSIZE_SELECT": (_installed_a_block, ("MAP_PAGES_INSTALL",),
                      "when its map installed a leaf larger than the smallest page"),
    "CORE_BATCHES": (_batch_judged_whole, ("UNMAP_RANGE", "PAGES_TABLE_BATCH"),
                     "when a core-level call's outcome depended on the driver judging a "
                     "whole batch (UNMAP_RANGE, PAGES_TABLE_BATCH)"),
}


def _decided(d: ReferenceDomain, request: dict, before: list) -> list[str]:
    """The rules that decided the last request: ``d.decided`` plus the :data:`DERIVED` ones."""
    rules = list(d.decided)
    old = set(before)
    for name, (test, anchors, _) in DERIVED.items():
        if name in RULES and test(d, request, old, rules):
            at = min([rules.index(a) for a in anchors if a in rules] or [len(rules)])
            rules.insert(at, name)
    return rules


# ---------------------------------------------------------------------------
# Scenarios: named request sequences, one or more rules each
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Ctx:
    """Where a scenario works: the profile, the page sizes, and two address bases.

    ``A`` (IOVA) and ``Y`` (paddr) are a quarter of the way up the input and
    output address spaces, so they are aligned to every page size a scenario
    uses and leave room above; ``Z`` is a second physical base, incongruent
    with nothing, for mappings that must be told apart.
    """

    profile: Profile
    pgsize_bitmap: int

    @property
    def sizes(self) -> list[int]:
        return [1 << b for b in range(64) if self.pgsize_bitmap >> b & 1]

    @property
    def m(self) -> int:
        return self.pgsize_bitmap & -self.pgsize_bitmap

    @property
    def p1(self) -> int | None:
        """The second smallest page size (the smallest block), or None."""
        return self.sizes[1] if len(self.sizes) > 1 else None

    @property
    def big(self) -> int:
        """The largest page size that fits the scenarios' address room."""
        room = 1 << (min(self.profile.ias, self.profile.oas) - 4)
        return max([s for s in self.sizes if s <= room] or [self.m])

    @property
    def A(self) -> int:
        return 1 << (self.profile.ias - 2)

    @property
    def Y(self) -> int:
        return 1 << (self.profile.oas - 2)

    @property
    def Z(self) -> int:
        return self.Y + 8 * (self.p1 or self.m)

    @property
    def top(self) -> int:
        return 1 << self.profile.ias


def MAP(iova, paddr, size, prot=RW):
    return {"op": "map", "iova": iova, "paddr": paddr, "size": size, "prot": prot}


def UNMAP(iova, size):
    return {"op": "unmap", "iova": iova, "size": size}


def SG(iova, sg, prot=RW):
    return {"op": "map_sg", "iova": iova, "sg": [list(e) for e in sg], "prot": prot}


def PHYS(iova):
    return {"op": "iova_to_phys", "iova": iova}


def MAP_PAGES(iova, paddr, pgsize, pgcount, prot=RW):
    return {"op": "map_pages", "iova": iova, "paddr": paddr, "pgsize": pgsize,
            "pgcount": pgcount, "prot": prot}


def UNMAP_PAGES(iova, pgsize, pgcount):
    return {"op": "unmap_pages", "iova": iova, "pgsize": pgsize, "pgcount": pgcount}


@dataclass(frozen=True)
class Scenario:
    """A named request sequence: ``build(ctx)`` returns the requests, or None where it cannot apply."""

    name: str
    doc: str
    build: Callable[[Ctx], list[dict] | None]


#: The scenarios, in the order their vectors are written.
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str):
    def register(fn):
        SCENARIOS[name] = Scenario(name, " ".join((fn.__doc__ or "").split()), fn)
        return fn
    return register


@scenario("map-unmap-page")
def _map_unmap_page(c: Ctx):
    """Map one smallest page, translate inside and just past it, unmap it, translate again."""
    return [MAP(c.A, c.Y, c.m), PHYS(c.A + c.m // 2), PHYS(c.A + c.m), UNMAP(c.A, c.m), PHYS(c.A)]


@scenario("map-misaligned")
def _map_misaligned(c: Ctx):
    """A map whose iova, paddr or size is not a multiple of the smallest page fails with -EINVAL."""
    h = c.m // 2
    return [MAP(c.A + h, c.Y, c.m), MAP(c.A, c.Y + h, c.m), MAP(c.A, c.Y, c.m + h), PHYS(c.A)]


@scenario("unmap-misaligned")
def _unmap_misaligned(c: Ctx):
    """An unmap whose iova or size is not a multiple of the smallest page unmaps nothing."""
    h = c.m // 2
    return [MAP(c.A, c.Y, c.m), UNMAP(c.A + h, c.m), UNMAP(c.A, h), PHYS(c.A), UNMAP(c.A, c.m)]


@scenario("zero-size")
def _zero_size(c: Ctx):
    """A map of 0 bytes returns the variant's answer; an unmap of 0 bytes returns 0."""
    return [MAP(c.A, c.Y, 0), PHYS(c.A), UNMAP(c.A, 0), MAP(c.A, c.Y, c.m), UNMAP(c.A, 0), PHYS(c.A)]


@scenario("map-prot")
def _map_prot(c: Ctx):
    """A prot without IOMMU_READ or IOMMU_WRITE is -EINVAL; every other prot bit is kept in the leaf."""
    return [MAP(c.A, c.Y, c.m, 0), MAP(c.A, c.Y, c.m, IOMMU_CACHE),
            MAP(c.A, c.Y, c.m, IOMMU_NOEXEC | IOMMU_MMIO | IOMMU_PRIV),
            MAP(c.A, c.Y, c.m, IOMMU_WRITE), MAP(c.A + c.m, c.Y + c.m, c.m, IOMMU_READ | IOMMU_NOEXEC),
            MAP(c.A + 2 * c.m, c.Y + 2 * c.m, c.m, RW | IOMMU_CACHE | IOMMU_MMIO | IOMMU_PRIV)]


@scenario("map-range")
def _map_range(c: Ctx):
    """Ranges past 2^ias, past 2^oas or past 2^64 fail with -ERANGE where the driver checks them;
    where it checks only a call's start they are accepted (IOVA_PAST_IAS, PADDR_PAST_OAS);
    ranges ending exactly there map.  The v7.1 core checks the start paddr first
    (MAP_RANGE_OA) and a wrap past 2^64 (MAP_OVERFLOW); generic_pt's iova_to_phys past the
    table returns -ERANGE as the address (IOVA_TO_PHYS_RANGE)."""
    otop = min(1 << c.profile.oas, U64 - c.m)  # a 64-bit oas (s390): the last page
    out = [MAP(c.top - c.m, c.Y, 2 * c.m), MAP(c.A, otop - c.m, 2 * c.m), MAP(c.A, otop, c.m),
           MAP(U64 - c.m, c.Y, c.m), MAP(U64 - c.m, c.Y, 2 * c.m),
           MAP(c.top - c.m, c.Y, c.m), MAP(c.A, otop - c.m, c.m),
           PHYS(c.top - c.m), PHYS(c.A), PHYS(c.top), UNMAP(c.top - c.m, c.m)]
    return [r for r in out if r["iova"] < U64]  # a 64-bit ias (virtio): nothing lies past it


@scenario("unmap-past-ias")
def _unmap_past_ias(c: Ctx):
    """An unmap from the last mapped page that runs past 2^ias: it unmaps that page and stops at
    the end of the address space, or under generic_pt it is refused whole and unmaps nothing;
    then one that starts at 2^ias.  None for a 64-bit ias (virtio), which no IOVA passes."""
    if c.profile.ias >= 64:
        return None
    return [MAP(c.top - c.m, c.Y, c.m), UNMAP(c.top - c.m, 2 * c.m), PHYS(c.top - c.m),
            UNMAP(c.top - c.m, c.m), UNMAP(c.top, c.m)]


@scenario("pgsize-mixed")
def _pgsize_mixed(c: Ctx):
    """A range over a block boundary maps small pages up to it, blocks, then small pages again;
    with an incongruent paddr only small pages fit."""
    if c.p1 is None:
        return None
    p1, m = c.p1, c.m
    out = [MAP(c.A + p1 - m, c.Y + p1 - m, p1 + 2 * m), PHYS(c.A + p1), PHYS(c.A + 2 * p1 + m - 1)]
    if p1 // m <= 1024:
        out += [MAP(c.A + 4 * p1, c.Y + 4 * p1 + m, p1), PHYS(c.A + 5 * p1 - 1)]
    return out + [UNMAP(c.A + p1 - m, p1 + 2 * m)]


@scenario("map-under-largest-block")
def _map_under_largest_block(c: Ctx):
    """The smallest page inside a live largest page: refused (-EEXIST, -EADDRINUSE), replacing
    (AMD), kept (VT-d: written into the page's memory), or written into a section's memory
    (omap): then translate both and unmap the large page."""
    if c.big == c.m:
        return None
    return [MAP(c.A, c.Y, c.big), MAP(c.A + c.m, c.Y + 4 * c.big, c.m), PHYS(c.A + c.m),
            PHYS(c.A), UNMAP(c.A, c.big)]


@scenario("map-largest-block")
def _map_largest_block(c: Ctx):
    """The largest page size is one leaf: translate its last byte and the byte after, unmap it."""
    if c.big == c.m:
        return None
    return [MAP(c.A, c.Y, c.big), PHYS(c.A + c.big - 1), PHYS(c.A + c.big), UNMAP(c.A, c.big)]


@scenario("map-largest-block-at-0")
def _map_largest_block_at_0(c: Ctx):
    """The largest block at IOVA 0, first thing in the domain: under the legacy AMD v1 table a
    page above its three starting levels, which 6.1 writes at the wrong level
    (MAP_PAGE_ABOVE_TOP)."""
    if c.big == c.m:
        return None
    return [MAP(0, c.Y, c.big), PHYS(c.big - 1), UNMAP(0, c.big)]


@scenario("map-inside-larger")
def _map_inside_larger(c: Ctx):
    """A smallest page mapped at the start of a live page of the next size: io-pgtable and
    generic_pt refuse it; the legacy AMD v1 table replaces the larger page, and where that
    page is a group of PTEs of the same level Linux leaves the rest (MAP_REPLACE_PTE_GROUP)."""
    if c.p1 is None:
        return None
    return [MAP(c.A, c.Y, c.p1), MAP(c.A, c.Z, c.m), PHYS(c.A), PHYS(c.A + c.m),
            UNMAP(c.A, c.p1)]


@scenario("map-exists-rollback")
def _map_exists_rollback(c: Ctx):
    """A map that runs into a live leaf fails with the variant's errno and unmaps what it mapped
    (amd-v1 replaces the leaf instead); so does mapping the very same page again."""
    m = c.m
    if c.p1 is None:
        return [MAP(c.A + m, c.Y + m, m), MAP(c.A, c.Y, 3 * m), PHYS(c.A), PHYS(c.A + m),
                MAP(c.A + m, c.Y + m, m), MAP(c.A + m, c.Z, m)]
    p1 = c.p1
    return [MAP(c.A + p1, c.Y + p1, m), MAP(c.A - m, c.Y - m, p1 + 2 * m), PHYS(c.A - m),
            PHYS(c.A), PHYS(c.A + p1), MAP(c.A + p1, c.Y + p1, m), MAP(c.A + p1, c.Z, m)]


@scenario("map-over-smaller")
def _map_over_smaller(c: Ctx):
    """A block over a region holding a smaller leaf: io-pgtable-arm replaces the table, generic_pt
    refuses, amd-v1 replaces the leaf."""
    if c.p1 is None:
        return None
    m, p1 = c.m, c.p1
    return [MAP(c.A + m, c.Z + m, m), MAP(c.A, c.Y, p1), PHYS(c.A + m), PHYS(c.A), UNMAP(c.A, p1)]


@scenario("map-over-emptied-table")
def _map_over_emptied_table(c: Ctx):
    """The largest page mapped at 0 where a smallest page was mapped and unmapped again: the
    tables that held it outlive it (io-pgtable, exynos), and the larger page replaces the
    empty table -- exynos replaces a table only when it is empty (MAP_REPLACE_TABLE)."""
    if c.p1 is None:
        return None
    return [MAP(0, c.Y, c.m), UNMAP(0, c.m), MAP(0, c.Y, c.big), PHYS(0), UNMAP(0, c.big)]


@scenario("map-replace-then-fail")
def _map_replace_then_fail(c: Ctx):
    """Two blocks: the first goes over a smaller leaf, the second over a live block; after the
    failure and rollback the smaller leaf is gone where the table was replaced."""
    if c.p1 is None:
        return None
    m, p1 = c.m, c.p1
    return [MAP(c.A + m, c.Z + m, m), MAP(c.A + p1, c.Z + p1, p1), MAP(c.A, c.Y, 2 * p1),
            PHYS(c.A + m), PHYS(c.A + p1)]


@scenario("unmap-partial-leaf")
def _unmap_partial_leaf(c: Ctx):
    """Unmaps that cover part of a block, from its start, from inside it and across its end."""
    if c.p1 is None:
        return None
    m, p1 = c.m, c.p1
    return [MAP(c.A, c.Y, p1), UNMAP(c.A, m), PHYS(c.A), PHYS(c.A + m),
            MAP(c.A + 2 * p1, c.Y + 2 * p1, p1), UNMAP(c.A + 2 * p1 + m, m), PHYS(c.A + 2 * p1 + m),
            MAP(c.A + 6 * p1 - m, c.Y + 6 * p1 - m, p1 + m), UNMAP(c.A + 6 * p1 - m, 2 * m),
            PHYS(c.A + 6 * p1 + m)]


@scenario("unmap-hole")
def _unmap_hole(c: Ctx):
    """Unmap stops at the first unmapped page; an unmap of nothing, or past 2^64, returns 0."""
    m = c.m
    return [MAP(c.A, c.Y, m), MAP(c.A + 2 * m, c.Y + 2 * m, m), UNMAP(c.A, 3 * m),
            PHYS(c.A + 2 * m), UNMAP(c.A + 2 * m, m), UNMAP(c.A + 8 * m, m),
            UNMAP(U64 - m, 2 * m)]


@scenario("unmap-table-slot")
def _unmap_table_slot(c: Ctx):
    """An unmap of a block-sized slot that holds only small leaves with a hole between them."""
    if c.p1 is None:
        return None
    m = c.m
    return [MAP(c.A, c.Y, m), MAP(c.A + 2 * m, c.Y + 2 * m, m), UNMAP(c.A, c.p1), PHYS(c.A + 2 * m)]


@scenario("unmap-table-slot-p2")
def _unmap_table_slot_p2(c: Ctx):
    """The same with the third smallest page size as the slot: under v7s the 64K slot is 16
    entries of one level-2 table (all must be valid), and a 1M slot is the table itself."""
    if len(c.sizes) < 3:
        return None
    m = c.m
    return [MAP(c.A, c.Y, m), MAP(c.A + 2 * m, c.Y + 2 * m, m), UNMAP(c.A, c.sizes[2]),
            PHYS(c.A + 2 * m)]


@scenario("unmap-leaves")
def _unmap_leaves(c: Ctx):
    """One unmap removes adjacent runs of different prot, and every size of a mixed range."""
    m = c.m
    out = [MAP(c.A, c.Y, 4 * m), MAP(c.A + 4 * m, c.Y + 4 * m, 4 * m, IOMMU_READ),
           UNMAP(c.A, 8 * m), PHYS(c.A + 4 * m)]
    if c.p1 is not None:
        p1 = c.p1
        out += [MAP(c.A + 2 * p1 - m, c.Y + 2 * p1 - m, p1 + 2 * m),
                UNMAP(c.A + 2 * p1 - m, p1 + 2 * m), PHYS(c.A + 2 * p1)]
    return out


@scenario("map-sg")
def _map_sg(c: Ctx):
    """Scatterlist entries cut at unaligned offsets coalesce into physically contiguous runs,
    each mapped at the next IOVA (before v4.17 each entry was mapped on its own and had to be
    page-aligned); an empty list maps nothing."""
    m, h = c.m, c.m // 2
    return [SG(c.A, [(c.Y, 0, m + h), (c.Y + m, h, m - h), (c.Z, 0, m)]),
            PHYS(c.A + m + h), PHYS(c.A + 2 * m), SG(c.A + 8 * m, []), PHYS(c.A + 8 * m),
            SG(c.A + 16 * m, [(c.Y, 0, m), (c.Y + m - h, h, m)]), PHYS(c.A + 17 * m)]


@scenario("map-sg-rollback")
def _map_sg_rollback(c: Ctx):
    """When a later run fails (a live leaf, a misaligned run) every run already mapped is unmapped."""
    m = c.m
    return [MAP(c.A + 2 * m, c.Z + 4 * m, m), SG(c.A, [(c.Y, 0, 2 * m), (c.Z, 0, m)]), PHYS(c.A),
            SG(c.A + 4 * m, [(c.Y, 0, m), (c.Z, 0, m + 512)]), PHYS(c.A + 4 * m)]


@scenario("map-sg-trailing-zero")
def _map_sg_trailing_zero(c: Ctx):
    """A trailing zero-length entry that continues the run suppresses its mapping (iommu.c re-reads
    the last entry); one that breaks contiguity does not."""
    m = c.m
    return [SG(c.A, [(c.Y, 0, m), (c.Y + m, 0, 0)]), PHYS(c.A),
            SG(c.A, [(c.Y, 0, m), (c.Z, 0, 0)]), PHYS(c.A)]


@scenario("pages-args")
def _pages_args(c: Ctx):
    """Driver calls with a bad pgsize, pgcount 0, misaligned addresses, no access or out of range
    are refused; good ones map and unmap exactly what they were asked to, without rollback."""
    m, h = c.m, c.m // 2
    out = [MAP_PAGES(c.A, c.Y, 3 * m, 1), MAP_PAGES(c.A, c.Y, h, 2), MAP_PAGES(c.A, c.Y, 0, 1),
           MAP_PAGES(c.A, c.Y, m, 0), MAP_PAGES(c.A + h, c.Y + h, m, 1),
           MAP_PAGES(c.A, c.Y, m, 1, IOMMU_CACHE), MAP_PAGES(c.top - m, c.Y, m, 2),
           MAP_PAGES(c.A, c.Y, m, 3), MAP_PAGES(c.A + 4 * m, c.Y + 4 * m, m, 1),
           MAP_PAGES(c.A + 3 * m, c.Y + 3 * m, m, 2), PHYS(c.A + 3 * m),
           UNMAP_PAGES(c.A, h, 1), UNMAP_PAGES(c.A, m, 0), UNMAP_PAGES(c.A + h, m, 1),
           UNMAP_PAGES(c.A, m, 2), UNMAP_PAGES(c.A + 6 * m, m, 1)]
    if c.p1 is not None:
        p1 = c.p1
        out += [MAP_PAGES(c.A + 2 * p1 + m, c.Y + m, p1, 1),
                MAP_PAGES(c.A + 2 * p1, c.Y + 2 * p1, p1, 1), UNMAP_PAGES(c.A + 2 * p1, m, 1),
                PHYS(c.A + 2 * p1 + m)]
    return out


@scenario("pages-table-batch")
def _pages_table_batch(c: Ctx):
    """Driver calls whose pages cross the end of a page-table table (granule/8 entries): with
    per-table batches a call stops there and reports only what it did."""
    m = c.m
    span = m * (m // 8)
    t, y = c.A + span, c.Y + span
    return [MAP_PAGES(t - m, y - m, m, 2), PHYS(t), UNMAP_PAGES(t - m, m, 2), PHYS(t),
            MAP(t - 2 * m, y - 2 * m, 4 * m), UNMAP(t - 2 * m, 4 * m), PHYS(t)]


def random_requests(c: Ctx, seed: int, steps: int = 12) -> list[dict]:
    """A seeded random sequence of map, unmap, map_sg and iova_to_phys around ``c.A``.

    Deterministic for a seed.  Addresses sit on page-size boundaries, most
    paddrs are congruent with their iova, and no map needs more than 1024
    leaves.
    """
    rng = random.Random(seed)
    m, sizes = c.m, c.sizes[:3]
    spans = sorted({m, 2 * m, 3 * m, *(s for s in sizes), *(s + m for s in sizes), 2 * sizes[-1]})
    live: list[tuple[int, int]] = []
    out = []

    def addr():
        unit = rng.choice(sizes)
        return c.A + rng.randrange(8) * unit + rng.choice((0, 0, m, -m if c.A >= m else 0))

    for _ in range(steps):
        op = rng.choice(("map", "map", "unmap", "unmap", "map_sg", "iova_to_phys"))
        if op == "map":
            iova = addr()
            paddr = c.Y + (iova - c.A) + rng.choice((0, 0, 0, m))
            size = rng.choice(spans)
            if greedy_leaves(c.pgsize_bitmap, iova, paddr, size) > 1024:
                size = m
            out.append(MAP(iova, paddr, size, rng.choice((RW, IOMMU_READ, RW | IOMMU_CACHE))))
            live.append((iova, size))
        elif op == "unmap":
            if live and rng.random() < 0.8:
                iova, size = rng.choice(live)
                iova += rng.choice((0, 0, m)) if size > m else 0
                size = rng.choice((size, m, size + m))
            else:
                iova, size = addr(), rng.choice(spans)
            out.append(UNMAP(iova, size))
        elif op == "map_sg":
            start, length = c.Z + rng.randrange(4) * m, rng.randrange(1, 4) * m
            cut = rng.randrange(1, length)
            iova = addr()
            out.append(SG(iova, [(start, 0, cut), (start + cut, 0, length - cut)]))
            live.append((iova, length))
        else:
            iova = rng.choice(live)[0] if live and rng.random() < 0.7 else addr()
            out.append(PHYS(iova + rng.randrange(m)))
    return out


# ---------------------------------------------------------------------------
# Building vectors
# ---------------------------------------------------------------------------

def _bitmap_for(profile: Profile, which: str) -> int:
    if which == "all-sizes":
        return profile.pgsize_bitmap
    if which == "min-page":
        return profile.min_pagesz
    raise ValueError(f"unknown bitmap selection {which!r}; known: {', '.join(BITMAPS)}")


def _probes(d: ReferenceDomain) -> list[list[int]]:
    points = set()
    for t in d.translations()[:MAX_PROBES // 4]:
        points.update((t.iova, t.iova + t.size - 1, t.iova - 1, t.iova + t.size))
    return [[p, d.iova_to_phys(p)] for p in sorted(points) if 0 <= p < U64]


def build_vector(vid: str, description: str, profile: Profile | str,
                 semantics: Semantics | str, pgsize_bitmap: int, requests: Iterable[dict],
                 expects: list[dict | None] | None = None, core: str = DEFAULT_CORE) -> dict:
    """A vector: ``requests`` run through the model (on ``core``), with the replies it expects.

    ``expects``, when given, overrides the model's reply per request (a call
    log's recorded results); the model must then agree unless the entry is
    None.  The vector's ``cores`` is ``[core]``.  Raises ValueError if a
    request is not a vector step or the model disagrees with a given
    expectation, and SpecUsageError for malformed arguments.
    """
    profile = get_profile(profile) if isinstance(profile, str) else profile
    semantics = get_semantics(semantics) if isinstance(semantics, str) else semantics
    d = ReferenceDomain(profile, semantics, pgsize_bitmap=pgsize_bitmap, core=core)
    steps = [{"request": {"op": "domain_alloc", "pgsize_bitmap": pgsize_bitmap, "ias": profile.ias,
                          "oas": profile.oas},
              "expect": {"ret": 0, "pgsize_bitmap": pgsize_bitmap}, "rules": []}]
    requires, rules = set(), []
    for i, request in enumerate(requests):
        before = [tuple(r) for r in d.leaves()]
        reply = reply_of(d, request)
        decided = _decided(d, request, before) if request["op"] != "iotlb_sync" else []
        if expects is not None and expects[i] is not None and expects[i] != reply:
            raise ValueError(f"step {i + 1} ({request['op']}): the call log recorded "
                             f"{expects[i]} but the model replays {reply}")
        steps.append({"request": request, "expect": reply, "rules": decided})
        requires.add(request["op"])
        for name in decided:
            if name not in rules:
                rules.append(name)
    final = [list(run) for run in d.leaves()]
    probes = _probes(d)
    steps.append({"request": {"op": "domain_free"}, "expect": {"ret": 0, "table_pages": 0},
                  "rules": []})
    return {
        "format": FORMAT,
        "id": vid,
        "description": description,
        "profile": profile.name,
        "semantics": semantics.name,
        "cores": [core],
        "pgsize_bitmap": pgsize_bitmap,
        "ias": profile.ias,
        "oas": profile.oas,
        "requires": sorted(requires - BASE_OPS),
        "rules": rules,
        "steps": steps,
        "final_leaves": final,
        "final_probes": probes,
    }


def _outcome(vector: dict) -> tuple:
    """What an implementation must reproduce: the steps' requests and replies and the final state."""
    return (json.dumps([(s["request"], s["expect"]) for s in vector["steps"]]),
            json.dumps(vector["final_leaves"]), json.dumps(vector["final_probes"]))


def _per_core(vid: str, description: str, profile: Profile, semantics: Semantics, bitmap: int,
              requests: list[dict]) -> list[dict]:
    """One vector per distinct outcome over the core loops (spec.cores.CORES; ``map_range``
    only under generic-pt).

    The first holds for the default core and every core that behaves the same
    (its ``cores``); a core that behaves differently gets its own vector,
    ``<id>--<core>``.
    """
    out: list[dict] = []
    for core in CORES:
        if get_core(core).whole_range and (semantics.name != "generic-pt" or any(
                r["op"] in ("map_pages", "unmap_pages") for r in requests)):
            continue  # the v7.1 core runs only generic_pt domains, which have no map_pages
        v = build_vector(vid, description, profile, semantics, bitmap, requests, core=core)
        same = next((o for o in out if _outcome(o) == _outcome(v)), None)
        if same is not None:
            same["cores"].append(core)
            continue
        if out:
            v["id"] = f"{vid}--{core}"
        out.append(v)
    return out


def generate(profile: Profile | str, semantics: Semantics | str, bitmap: str = "all-sizes",
             n_random: int = DEFAULT_RANDOM) -> list[dict]:
    """Every vector for one profile, semantic variant and page-size selection.

    ``bitmap`` is ``"all-sizes"`` (the profile's pgsize_bitmap) or
    ``"min-page"`` (its smallest page alone, as a one-size driver reports in
    domain_alloc).  One vector per scenario that applies, then ``n_random``
    seeded random sequences; each also for every core loop on which its
    outcome differs (see :func:`_per_core`).  Ids are
    ``profile/semantics/bitmap/name[--core]``.
    """
    profile = get_profile(profile) if isinstance(profile, str) else profile
    semantics = get_semantics(semantics) if isinstance(semantics, str) else semantics
    b = _bitmap_for(profile, bitmap)
    ctx = Ctx(profile, b)
    base = f"{profile.name}/{semantics.name}/{bitmap}"
    out = []
    for sc in SCENARIOS.values():
        requests = sc.build(ctx)
        if requests is not None:
            out += _per_core(f"{base}/{sc.name}", sc.doc, profile, semantics, b, requests)
    for k in range(n_random):
        seed = zlib.crc32(f"{base}/random-{k + 1}".encode())
        out += _per_core(f"{base}/random-{k + 1}", f"A seeded random sequence (seed {seed}).",
                         profile, semantics, b, random_requests(ctx, seed))
    return out


def _is_virtio(semantics: str) -> bool:
    return get_semantics(semantics).leaf_unit == "call"


def generate_all(profiles: Iterable[str] | None = None, semantics: Iterable[str] | None = None,
                 n_random: int = DEFAULT_RANDOM) -> list[dict]:
    """The vectors for every selected profile x semantics x page-size selection.

    The virtio profile runs only the virtio variants, and they run only on it.
    ``min-page`` is skipped where the profile has one page size (it would
    repeat ``all-sizes``).
    """
    out = []
    for p in profiles or PROFILES:
        profile = get_profile(p)
        for s in semantics or SEMANTICS:
            for bitmap in BITMAPS:
                if bitmap == "min-page" and profile.pgsize_bitmap == profile.min_pagesz:
                    continue
                if not get_semantics(s).fits(_bitmap_for(profile, bitmap), profile.ias):
                    continue  # a table inside a driver holds only its own page sizes
                if _is_virtio(profile.default_semantics) != _is_virtio(s):
                    continue  # a virtio device has no page table; a page table is no device
                out += generate(profile, s, bitmap, n_random)
    return out


# ---------------------------------------------------------------------------
# Coverage
# ---------------------------------------------------------------------------

def _leaf_sizes(s: Semantics) -> int:
    """How many leaf sizes a variant's table can hold (0: any number)."""
    if s.pte_size:
        return 1
    return bin(s.page_sizes).count("1") if s.page_sizes else 0


def _two_level_overwrite(s: Semantics) -> bool:
    """A table that overwrites live entries and holds more than one leaf size (omap)."""
    return s.map_over_live == "overwrite" and _leaf_sizes(s) > 1


#: Rules that can decide only under some variants: rule -> (condition on the
#: Semantics, what the condition says).  A rule the spec adds with such a
#: condition must be listed here, or the coverage check reports it missing
#: under the variants where it cannot apply.
CONDITIONAL: dict[str, tuple[Callable[[Semantics], bool], str]] = {
    "MAP_EXISTS": (lambda s: s.map_over_live == "fail", "map_over_live == 'fail'"),
    "MAP_ROLLBACK": (lambda s: s.map_over_live == "fail",
                     "map_over_live == 'fail' (no other map fails part-way)"),
    "MAP_REPLACE_TABLE": (lambda s: s.replace_table and s.map_over_live == "fail",
                          "replace_table and map_over_live == 'fail'"),
    "MAP_REPLACE_LEAVES": (lambda s: s.map_over_live == "replace", "map_over_live == 'replace'"),
    "MAP_OVERWRITE": (lambda s: s.map_over_live == "overwrite", "map_over_live == 'overwrite'"),
    "IOVA_TO_PHYS_NO_OFFSET": (lambda s: not s.iova_to_phys_offset, "iova_to_phys_offset False"),
    "UNMAP_HOLE_COUNTED": (lambda s: s.hole_unmap == "count", "hole_unmap == 'count'"),
    "UNMAP_HOLE": (lambda s: s.hole_unmap in ("stop", "drop"), "hole_unmap 'stop' or 'drop'"),
    "MAP_PROT": (lambda s: s.prot_checked, "prot_checked"),
    "UNMAP_PARTIAL_LEAF": (lambda s: _leaf_sizes(s) != 1 and s.leaf_unit == "page",
                           "more than one leaf size, in a page table"),
    "PGSIZE_SELECT": (lambda s: _leaf_sizes(s) != 1 and s.leaf_unit == "page",
                      "more than one leaf size, in a page table (its leaves show the sizes)"),
    # A page table's plain map and unmap; virtio-iommu's are MAP_CALL_MAPPING and
    # UNMAP_WHOLE_MAPPINGS.
    "MAP_PAGES_INSTALL": (lambda s: s.leaf_unit == "page", "leaf_unit == 'page'"),
    "UNMAP_LEAVES": (lambda s: s.leaf_unit == "page", "leaf_unit == 'page'"),
    "UNMAP_TABLE_SLOT": (lambda s: s.unmap_slots, "unmap_slots"),
    "UNMAP_HOLE_IN_TABLE": (lambda s: bool(s.hole_in_table), "hole_in_table != 0"),
    "UNMAP_RANGE": (lambda s: s.unmap_range_checked, "unmap_range_checked"),
    "PAGES_TABLE_BATCH": (lambda s: s.per_table_batches, "per_table_batches"),
    "IOVA_PAST_IAS": (lambda s: s.range_check == "paddr_start" or bool(s.iova_bits) or (
        s.range_check == "start" and not s.per_table_batches),
        "a driver call that can run past 2^ias (range_check 'start' without per-table "
        "batches, or no IOVA check on a fixed-level table)"),
    "IOVA_TO_PHYS_WRAP": (lambda s: bool(s.fixed_levels), "fixed_levels"),
    "MAP_REPLACE_FREES_PAGE": (lambda s: s.teardown_frees_leaf, "teardown_frees_leaf"),
    "PADDR_PAST_OAS": (lambda s: s.range_check not in ("whole", "paddr_einval")
                       and s.leaf_unit == "page",
                       "range_check not 'whole' or 'paddr_einval', in a page table"),
    "MAP_RANGE": (lambda s: s.range_check != "none", "range_check != 'none'"),
    "UNMAP_SPLIT_SECTION": (lambda s: s.partial_unmap == "split_to_pgsize",
                            "partial_unmap == 'split_to_pgsize'"),
    # The v7.1 core's own checks: its vectors exist only under generic-pt (spec.cores map_range).
    "MAP_RANGE_OA": (lambda s: s.name == "generic-pt", "the v7.1 core (generic-pt only)"),
    "MAP_OVERFLOW": (lambda s: s.name == "generic-pt", "the v7.1 core (generic-pt only)"),
    "MAP_NO_PGSIZE": (lambda s: s.name == "generic-pt", "the v7.1 core (generic-pt only)"),
    "MAP_RANGE_TAIL": (lambda s: s.name == "generic-pt", "the v7.1 core (generic-pt only)"),
    "IOVA_TO_PHYS_RANGE": (lambda s: s.iova_to_phys_errno, "iova_to_phys_errno"),
    # The legacy AMD v1 table's own defect classes.
    "MAP_REPLACE_PTE_GROUP": (lambda s: s.map_over_live == "replace", "map_over_live == 'replace'"),
    "MAP_PAGE_ABOVE_TOP": (lambda s: s.map_over_live == "replace" and not s.fixed_levels,
                           "map_over_live == 'replace' on a table that grows (fixed_levels 0)"),
    # sprd: PTEs without a valid bit; its 6.1 unmap returns 0.
    "IOVA_TO_PHYS_PAGE_ZERO": (lambda s: not s.pte_valid_bit, "pte_valid_bit False (sprd)"),
    "MAP_PADDR_ZERO_HOLE": (lambda s: not s.pte_valid_bit, "pte_valid_bit False (sprd)"),
    "UNMAP_RETURNS_ZERO": (lambda s: s.unmap_returns_zero, "unmap_returns_zero (sprd 6.1)"),
    # VT-d's own table (map_over_live "keep").
    **{name: (lambda s: s.map_over_live == "keep", "map_over_live == 'keep' (VT-d's own table)")
       for name in ("MAP_KEEPS_LIVE", "MAP_SUPERPAGE_REPLACES",
                    "UNMAP_HOLE_ROUNDS", "UNMAP_PARTIAL_SUPERPAGE_KEPT")},
    # ... and a table that overwrites with entries of two levels (omap)
    "MAP_UNDER_SUPERPAGE": (lambda s: s.map_over_live == "keep" or _two_level_overwrite(s),
                            "map_over_live 'keep', or 'overwrite' with 1M+ and smaller pages"),
    "MAP_OVERWRITE_PART": (lambda s: _two_level_overwrite(s),
                           "map_over_live 'overwrite' with more than one leaf size (omap)"),
    # virtio-iommu: the driver's tree of mappings and the device (leaf_unit "call").
    **{name: (lambda s: s.leaf_unit == "call", "leaf_unit == 'call' (virtio-iommu)")
       for name in ("MAP_CALL_MAPPING", "UNMAP_WHOLE_MAPPINGS", "UNMAP_HOLE_DROPS",
                    "UNMAP_SUM_RANGE", "RANGE_END_WRAPS")},
    "MAP_FAIL_SWEEP": (lambda s: s.map_fail_sweep, "map_fail_sweep (virtio-iommu 6.1)"),
    "MAP_STATUS_LOST": (lambda s: s.map_over_live == "stack", "map_over_live == 'stack'"),
    "CORE_BATCHES": (lambda s: s.per_table_batches or (s.unmap_range_checked and
                                                        s.pages_per_call == "all"),
                     "per_table_batches, or unmap_range_checked with every page of a call "
                     "(where batches are judged whole)"),
}


#: Rules that can decide only with some page sizes in the domain's bitmap: rule ->
#: (condition on the OR of the bitmaps a variant's vectors use, what it says).  Checked only
#: where the caller says which page sizes the vectors had (the CLI on a --profile selection).
PAGE_CONDITIONAL: dict[str, tuple[Callable[[int], bool], str]] = {
    "MAP_REPLACE_PTE_GROUP": (lambda b: any(b >> s & 1 and s % 9 != 3 for s in range(13, 64)),
                              "a page size between two AMD v1 level sizes (8K, 16K, ...)"),
    "MAP_PAGE_ABOVE_TOP": (lambda b: b >> 39 != 0, "a page size of 2^39 or more"),
    # a variant that holds only some page sizes (a table inside a driver) may get vectors of
    # the smallest page only, from the profiles selected
    "PGSIZE_SELECT": (lambda b: b & (b - 1) != 0, "more than one page size"),
    "UNMAP_PARTIAL_LEAF": (lambda b: b & (b - 1) != 0, "more than one page size"),
    "MAP_REPLACE_TABLE": (lambda b: b & (b - 1) != 0, "more than one page size"),
}


def page_sizes(vectors: Iterable[dict]) -> dict[str, int]:
    """``{semantics: the OR of the pgsize_bitmaps its vectors use}`` (for PAGE_CONDITIONAL)."""
    out: dict[str, int] = {}
    for v in vectors:
        out[v["semantics"]] = out.get(v["semantics"], 0) | v["pgsize_bitmap"]
    return out


def applies(rule_name: str, semantics: Semantics, bitmap: int | None = None) -> str | None:
    """None when ``rule_name`` can decide an operation under ``semantics``, else why not.

    Rules outside spec.rules (the IOTLB model's) are not decided by any
    operation's return value or leaves, so vectors, which fix no invalidation
    commands, cannot cover them.
    """
    r = RULES[rule_name]
    if r.fn.__module__ != "spec.rules":
        return f"decided by {r.fn.__module__}, not by an operation's result"
    if rule_name in CONDITIONAL:
        condition, text = CONDITIONAL[rule_name]
        if not condition(semantics):
            return f"needs {text}"
    if bitmap is not None and rule_name in PAGE_CONDITIONAL:
        condition, text = PAGE_CONDITIONAL[rule_name]
        if not condition(bitmap):
            return f"needs {text}"
    return None


def coverage(vectors: Iterable[dict]) -> dict[str, dict[str, int]]:
    """``{semantics: {rule: number of vectors with a step it decided}}``."""
    out: dict[str, Counter] = {}
    for v in vectors:
        counts = out.setdefault(v["semantics"], Counter())
        for name in v["rules"]:
            counts[name] += 1
    return {s: dict(c) for s, c in out.items()}


def missing(cov: dict[str, dict[str, int]], bitmaps: dict[str, int] | None = None
            ) -> list[tuple[str, str]]:
    """The (semantics, rule) pairs where the rule can apply but no vector decides it;
    ``bitmaps`` (:func:`page_sizes`) also rules out PAGE_CONDITIONAL rules."""
    bitmaps = bitmaps or {}
    return [(s, name) for s in cov for name in RULES
            if applies(name, get_semantics(s), bitmaps.get(s)) is None and not cov[s].get(name)]


def coverage_table(cov: dict[str, dict[str, int]], bitmaps: dict[str, int] | None = None) -> str:
    """Rules x semantics: vectors deciding each rule, ``n/a`` where it cannot apply, ``MISSING``."""
    sems = [s for s in SEMANTICS if s in cov]
    bitmaps = bitmaps or {}
    rows = []
    for name in RULES:
        row = [name + (" *" if name in DERIVED else "")]
        for s in sems:
            count = cov[s].get(name, 0)
            row.append(count if count else "n/a" if applies(name, get_semantics(s), bitmaps.get(s))
                       else "MISSING")
        rows.append(row)
    notes = [f"* {name} is never in ReferenceDomain.decided (the model calls it directly); a "
             f"step counts for it {why}." for name, (_, _, why) in DERIVED.items() if name in RULES]
    return "\n".join([tabulate(rows, headers=["rule", *sems]), *notes])


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

def dumps(vector: dict) -> str:
    """The vector as JSON text: one line per step, leaf and probe, so diffs read well."""
    lines = ["{"]
    items = list(vector.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if key in ("steps", "final_leaves", "final_probes") and value:
            body = ",\n".join("    " + json.dumps(x) for x in value)
            lines.append(f"  {json.dumps(key)}: [\n{body}\n  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_vector(vector: dict, directory: str | Path, name: str | None = None) -> Path:
    """Write ``vector`` to ``directory/<id>.json`` (or ``directory/<name>``); returns the path."""
    path = Path(directory) / (name or vector["id"] + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(vector))
    return path


def load_vectors(directory: str | Path) -> list[tuple[Path, dict]]:
    """Every ``*.json`` under ``directory``, sorted by path, parsed.

    Raises ValueError naming the file for one that is not JSON or not a
    vector (its ``format`` is not ``iommu-spec-vector/1``).
    """
    out = []
    for path in sorted(Path(directory).rglob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            problem = f"{path}: not readable JSON ({exc})"
        except RecursionError:
            problem = f"{path}: not readable JSON (nested too deeply)"
        else:
            problem = None
        if problem:
            raise ValueError(problem)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{path}: not a conformance vector (format must be {FORMAT!r})")
        out.append((path, data))
    return out


#: The JSON Schema of a vector file.
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "vectors.schema.json"


@functools.lru_cache(maxsize=1)
def schema() -> dict:
    """The JSON Schema of a vector file (docs/vectors.schema.json); OSError if it is missing."""
    return json.loads(SCHEMA_PATH.read_text())


@functools.lru_cache(maxsize=1)
def _validator():
    import jsonschema
    return jsonschema.Draft202012Validator(schema())


def validate(vector: dict) -> None:
    """Raise ``jsonschema.ValidationError`` if ``vector`` does not match docs/vectors.schema.json."""
    _validator().validate(vector)


# ---------------------------------------------------------------------------
# Failures as vectors
# ---------------------------------------------------------------------------

def _expect_of(op: str, spec_ret) -> dict:
    if op == "map_pages":
        ret, mapped = spec_ret
        return {"ret": ret, "mapped": mapped}
    return {"ret": spec_ret}


def vector_from_calls(calls, profile: Profile | str, semantics: Semantics | str,
                      pgsize_bitmap: int, *, core: str = DEFAULT_CORE, vid: str | None = None,
                      description: str = "A failure found by the difftest state machine.") -> dict:
    """A vector from a state-machine call log, replayable against any implementation.

    ``calls`` is the machine's log (:class:`difftest.report.Call`: ``op``,
    ``args``, ``spec_ret``, ``kind``); ``core`` is the core loop the machine's
    model followed (``machine.spec.core``).  Calls made on both sides become steps
    whose expected replies are the spec's recorded results; ``iotlb_sync``
    stays a step; ``unmap_fast`` becomes ``unmap`` (protocol v1 has no
    check).  Device accesses, ``fail_alloc`` and ``domain_free`` are dropped.
    When the machine freed a domain and started over (a ``restart`` call), only
    the last domain's calls are kept: domains do not share state.  The final
    leaves are the model's after replaying the steps.

    Raises ValueError when the log holds a map whose outcome an injected
    allocation failure decided (no other implementation would fail there, so
    it does not travel) or when the steps do not replay on the model.
    """
    calls = list(calls)
    restarts = [i for i, call in enumerate(calls) if getattr(call, "kind", "both") == "restart"]
    if restarts:  # domains are independent: the failure is in the last one
        calls = calls[restarts[-1] + 1:]
    requests, expects = [], []
    for call in calls:
        kind = getattr(call, "kind", "both")
        if kind == "setup" and call.op == "fail_alloc" and call.args.get("after", 0) < (1 << 62) - 1:
            raise ValueError("the call log holds an injected allocation failure; such a failure "
                             "does not replay elsewhere")
        if kind == "dma" or call.op in ("fail_alloc", "domain_free", "dma_access"):
            continue
        if call.op == "iotlb_sync_map":  # IOTLB only: vectors fix no invalidations
            continue
        if kind == "impl" and call.op != "iotlb_sync":
            raise ValueError(f"the call log holds {call.op} whose outcome an injected allocation "
                             f"failure decided; such a failure does not replay elsewhere")
        op = "unmap" if call.op == "unmap_fast" else call.op
        request = {"op": op}
        for key, value in call.args.items():
            request[key] = [list(e) for e in value] if key == "sg" else value
        requests.append(request)
        expects.append({"ret": 0} if op == "iotlb_sync" else _expect_of(op, call.spec_ret))
    profile = get_profile(profile) if isinstance(profile, str) else profile
    semantics = get_semantics(semantics) if isinstance(semantics, str) else semantics
    if vid is None:
        digest = hashlib.sha1(json.dumps(requests).encode()).hexdigest()[:12]
        vid = f"failures/{profile.name}/{semantics.name}/{digest}"
    return build_vector(vid, description, profile, semantics, pgsize_bitmap, requests, expects,
                        core=core)


def failure_path(directory: str | Path, label: str, profile: str, semantics: str) -> Path:
    """Where :func:`save_failure` writes: one file per implementation, profile and semantics.

    Each failing example Hypothesis tries while shrinking overwrites it, so
    the file left is the last one run: the shrunk example it reports.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", label)
    return Path(directory) / f"{safe}--{profile}--{semantics}.json"


def save_failure(directory: str | Path, calls, profile: Profile | str,
                 semantics: Semantics | str, pgsize_bitmap: int, label: str,
                 failure: str = "", core: str = DEFAULT_CORE) -> Path | None:
    """Write a failing call log as a vector (see :func:`vector_from_calls`); returns its path.

    ``label`` names the implementation, ``failure`` the report's first line
    (kept as the vector's description), ``core`` the model's core loop.
    Returns None, writing nothing, when the log does not travel (an injected
    allocation failure decided it, or the model on ``core`` does not replay it).
    """
    profile = get_profile(profile) if isinstance(profile, str) else profile
    semantics = get_semantics(semantics) if isinstance(semantics, str) else semantics
    path = failure_path(directory, label, profile.name, semantics.name)
    try:
        vector = vector_from_calls(
            calls, profile, semantics, pgsize_bitmap, core=core,
            vid=f"failures/{path.stem}",
            description=f"Failure of {label}: {failure}" if failure else f"Failure of {label}.")
    except ValueError:
        return None
    return write_vector(vector, path.parent, path.name)


# ---------------------------------------------------------------------------
# Replaying vectors
# ---------------------------------------------------------------------------

class Skip(Exception):
    """The vector does not apply to this implementation; the message says why."""


@dataclass
class Outcome:
    """One vector's result: ``status`` is ``"pass"``, ``"fail"`` or ``"skip"``; ``detail`` says why."""

    vector_id: str
    status: str
    detail: str = ""
    group: tuple = ()


class InProcessTarget:
    """An implementation class from :data:`impls.IMPLEMENTATIONS`, one instance per vector.

    It is held to the variant ``pytest difftest`` holds it to: ``semantics``
    (``--semantics``), else the class's own ``semantics_name``, else each
    profile's default; vectors of other variants are skipped.  A vector's page
    sizes are given to it as a profile whose pgsize_bitmap is the vector's
    (``dataclasses.replace``).  Also skips where ``cls.supports(profile)`` is
    False and where the constructor refuses (SpecUsageError).
    """

    def __init__(self, cls, semantics: str | None = None) -> None:
        self.cls, self.name, self.semantics = cls, cls.name, semantics

    def open(self, profile: Profile, semantics: str, pgsize_bitmap: int):
        want = (self.semantics or getattr(self.cls, "semantics_name", None)
                or profile.default_semantics)
        if want != semantics:
            raise Skip(f"{self.name} is held to {want} on {profile.name}")
        if hasattr(self.cls, "supports") and not self.cls.supports(profile):
            raise Skip(f"{self.name} does not support profile {profile.name}")
        try:
            return self.cls(dataclasses.replace(profile, pgsize_bitmap=pgsize_bitmap), semantics)
        except SpecUsageError as exc:
            raise Skip(str(exc)) from None

    def close(self) -> None:
        pass


class ExternalTarget:
    """An external implementation (protocol v1): one process, one domain per vector.

    Skips vectors of other variants than the one it declares (or, when it
    declares none, than ``semantics`` or each profile's default) and profiles
    whose ``domain_alloc`` fails.
    """

    def __init__(self, cmd: str, timeout: float, semantics: str | None = None,
                 out_of_contract: bool = False) -> None:
        from .external import ExternalFactory
        self.factory = ExternalFactory(cmd, timeout=timeout)
        self.semantics = semantics
        self.name = cmd
        #: Also replay vectors of driver calls Linux's core never makes (PAGES_ARGS).
        self.out_of_contract = out_of_contract

    def open(self, profile: Profile, semantics: str, pgsize_bitmap: int):
        from .external import UnsupportedProfile
        hello = self.factory.hello()
        self.name = hello.name
        want = hello.semantics or self.semantics or profile.default_semantics
        if want != semantics:
            raise Skip(f"{hello.name} is held to {want}")
        try:
            return self.factory(profile, semantics, pgsize_bitmap=pgsize_bitmap)
        except UnsupportedProfile as exc:
            raise Skip(str(exc)) from None

    def close(self) -> None:
        self.factory.close()


def _ops_of(impl) -> set[str]:
    ops = set(BASE_OPS) | set(getattr(impl, "ops", ()))
    return {op for op in ops if op in BASE_OPS or hasattr(impl, op)}


def _show(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:#x}" if value > 0xFFFF else errno_name(value)
    return repr(value)


def _known_defects(impl, vector: dict) -> str:
    """The defect rules of the vector that the implementation reproduces on purpose
    (``Implementation.known_findings``, input classes), comma-joined; "" if none."""
    from .inputs import INPUT_CLASSES
    rules = set()
    for name in getattr(impl, "known_findings", ()):
        rules |= INPUT_CLASSES[name].rules
    return ", ".join(sorted(rules.intersection(vector["rules"])))


def run_vector(vector: dict, target) -> Outcome:
    """Replay one vector on ``target`` (an InProcessTarget or ExternalTarget).

    A vector applies to an implementation whose core loop (its ``core``
    attribute, default :data:`DEFAULT_CORE`) is among the vector's ``cores``.
    Each step's reply must equal the expected fields; the first difference
    fails the vector.  Then the leaves (when the implementation can dump
    them, compared as canonical runs), the ``final_probes`` (iova_to_phys) and
    ``domain_free`` (table_pages 0) are checked.  An exception from the
    implementation, or a protocol failure, fails the vector.
    """
    from .external import ExternalTimeout
    vid = vector["id"]
    group = (vector["profile"], vector["semantics"], vector["pgsize_bitmap"])
    profile = get_profile(vector["profile"])
    bitmap = vector["pgsize_bitmap"]
    try:
        impl = target.open(profile, vector["semantics"], bitmap)
    except Skip as exc:
        return Outcome(vid, "skip", str(exc), group)
    steps = vector["steps"]
    where = "domain_alloc"
    try:
        if impl.pgsize_bitmap != bitmap:
            return Outcome(vid, "skip", f"uses pgsize_bitmap {impl.pgsize_bitmap:#x}, the vector "
                                        f"{bitmap:#x}", group)
        lacking = set(vector["requires"]) - _ops_of(impl)
        if lacking:
            return Outcome(vid, "skip", f"does not offer {', '.join(sorted(lacking))}", group)
        if "PAGES_ARGS" in vector["rules"] and not getattr(target, "out_of_contract", True):
            return Outcome(vid, "skip", "sends driver calls Linux's core never makes (PAGES_ARGS); "
                                        "--out-of-contract sends them", group)
        known = _known_defects(impl, vector)
        if known:
            return Outcome(vid, "skip", f"reproduces the known Linux defect {known} (set aside, "
                                        f"docs/linux-findings.md)", group)
        core = getattr(impl, "core", DEFAULT_CORE)
        if core not in vector["cores"]:
            return Outcome(vid, "skip", f"follows the {core} core; the vector holds for "
                                        f"{', '.join(vector['cores'])}", group)
        for i, step in enumerate(steps[1:-1], 1):
            request = step["request"]
            where = f"step {i} {request['op']}"
            got = reply_of(impl, request)
            bad = {k: v for k, v in step["expect"].items() if got.get(k) != v}
            if bad:
                before = steps[i - 1]
                return Outcome(vid, "fail", (
                    f"step {i} of {len(steps) - 1}: {json.dumps(request)}\n"
                    f"  expected {_show(step['expect'])}, got {_show(got)}\n"
                    f"  rules: {', '.join(step.get('rules', [])) or '-'}\n"
                    f"  after step {i - 1}: {json.dumps(before['request'])}  rules: "
                    f"{', '.join(before.get('rules', [])) or '-'}"), group)
        where = "final state"
        leaves = impl.leaves()
        want = [tuple(leaf) for leaf in vector["final_leaves"]]
        view = getattr(impl, "recorded_prot", None)
        if view is not None:  # what the implementation's descriptors can record of prot
            want = [tuple(r) for r in canonical_leaves((i, p, g, c, view(r)) for i, p, g, c, r in want)]
        if leaves is not None:
            got_leaves = [tuple(run) for run in canonical_leaves(leaves)]
            if got_leaves != want:
                extra = [r for r in got_leaves if r not in want][:5]
                lost = [r for r in want if r not in got_leaves][:5]
                return Outcome(vid, "fail", (
                    f"final leaves differ\n  expected but missing: {_leaf_text(lost)}\n"
                    f"  present but not expected: {_leaf_text(extra)}"), group)
        for iova, paddr in vector["final_probes"]:
            got = impl.iova_to_phys(iova)
            if got != paddr:
                return Outcome(vid, "fail", f"final iova_to_phys({iova:#x}): expected {paddr:#x}, "
                                            f"got {_show(got)}", group)
        where = "domain_free"
        if hasattr(impl, "domain_free"):
            pages = impl.domain_free()
            if pages != 0:
                return Outcome(vid, "fail", f"domain_free left {pages} page-table pages", group)
        return Outcome(vid, "pass", "", group)
    except (Exception, ExternalTimeout) as exc:
        return Outcome(vid, "fail", f"{where}: raised {type(exc).__name__}: {exc}", group)
    finally:
        close = getattr(impl, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # a leak is reported by domain_free above
                pass


def _leaf_text(rows) -> str:
    return ", ".join(f"({r[0]:#x}, {r[1]:#x}, {r[2]:#x}, {r[3]}, {r[4]:#x})" for r in rows) or "-"


def run_vectors(vectors: Iterable[dict], target, progress: Callable[[int, int], None] | None = None
                ) -> list[Outcome]:
    """Replay ``vectors`` in order on ``target``; ``progress(done, total)`` after each."""
    vectors = list(vectors)
    out = []
    for i, v in enumerate(vectors, 1):
        out.append(run_vector(v, target))
        if progress:
            progress(i, len(vectors))
    return out


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def _names(text: str | None, known: dict, what: str) -> list[str] | None:
    if not text:
        return None
    names = [n for n in text.split(",") if n]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(unknown)}; known: {', '.join(known)}")
    return names


def vectors_main(argv: list[str]) -> int:
    """``iommu-spec vectors --out DIR``: write the vectors and print their rule coverage.

    Exit status 0, or 1 when a rule that can apply under some variant is
    decided by no vector of that variant, 2 on bad arguments.
    """
    p = argparse.ArgumentParser(prog="iommu-spec vectors",
                                description="Write conformance vectors (JSON) from the spec.")
    p.add_argument("--out", required=True, metavar="DIR", help="directory to write into")
    p.add_argument("--profile", help="comma-separated profiles (default: all)")
    p.add_argument("--semantics", help="comma-separated semantic variants (default: all)")
    p.add_argument("--random", type=int, default=DEFAULT_RANDOM, metavar="N",
                   help=f"seeded random sequences per profile, variant and bitmap "
                        f"(default {DEFAULT_RANDOM})")
    p.add_argument("--json", action="store_true", help="print the coverage as JSON")
    args = p.parse_args(argv)
    try:
        profiles = _names(args.profile, PROFILES, "profile")
        sems = _names(args.semantics, SEMANTICS, "semantics")
        if args.random < 0:
            raise ValueError(f"--random must be 0 or more, got {args.random}")
        _output_directory(args.out)
    except ValueError as exc:
        print(f"iommu-spec vectors: {exc}", file=sys.stderr)
        return 2
    vectors = generate_all(profiles, sems, args.random)
    try:
        for v in vectors:
            write_vector(v, args.out)
    except OSError as exc:
        print(f"iommu-spec vectors: cannot write into {args.out}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    cov = coverage(vectors)
    bitmaps = page_sizes(vectors)
    gaps = missing(cov, bitmaps)
    if args.json:
        json.dump({"vectors": len(vectors), "coverage": cov,
                   "missing": [list(g) for g in gaps]}, sys.stdout, indent=2)
        print()
    else:
        print(f"wrote {len(vectors)} vectors to {args.out}\n")
        print(coverage_table(cov, bitmaps))
        if gaps:
            print("\nnot covered: " + ", ".join(f"{r} under {s}" for s, r in gaps))
    return 1 if gaps else 0


def _output_directory(path: str) -> None:
    """Create ``path`` (and its parents) for writing; ValueError (one line) when it cannot be."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {path} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = f"--out {path}: cannot create the directory: {exc.strerror or exc}"
    else:
        problem = None if os.access(out, os.W_OK | os.X_OK) else f"--out {path} is not writable"
    if problem:
        raise ValueError(problem)


def run_vectors_main(argv: list[str]) -> int:
    """``iommu-spec run-vectors DIR (--impl-cmd CMD | --impl NAME)``: replay vectors.

    Exit status 0 when every vector that applies passes, 1 when one fails or
    none applies, 2 on bad arguments or unreadable vector files.
    """
    from .external import (DEFAULT_TIMEOUT, ExternalError, ExternalTimeout, check_impl_cmd,
                           check_timeout)
    p = argparse.ArgumentParser(prog="iommu-spec run-vectors",
                                description="Check an implementation against conformance vectors.")
    p.add_argument("dir", help="directory of vectors (searched recursively for *.json)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--impl-cmd", metavar="CMD", help="an external implementation (protocol v1)")
    who.add_argument("--impl", metavar="NAME", help="an in-process implementation from impls")
    p.add_argument("--profile", help="comma-separated profiles (default: all)")
    p.add_argument("--semantics", help="the variant to hold an implementation to when it "
                                       "declares none (default: each profile's)")
    p.add_argument("--out-of-contract", action="store_true",
                   help="also replay, on an --impl-cmd, vectors of driver calls Linux's core never "
                        "makes (a pgsize outside the bitmap, pgcount 0, misaligned addresses)")
    p.add_argument("--impl-timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"seconds to wait for each reply (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--max-failures", type=int, default=10, metavar="N",
                   help="failures to show in full (default 10)")
    p.add_argument("--no-validate", action="store_true",
                   help="skip checking each file against docs/vectors.schema.json")
    p.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    args = p.parse_args(argv)
    from impls import IMPLEMENTATIONS
    try:
        profiles = _names(args.profile, PROFILES, "profile")
        _names(args.semantics, SEMANTICS, "semantics")
        _names(args.impl, IMPLEMENTATIONS, "implementation")
        check_impl_cmd(args.impl_cmd)
        check_timeout(args.impl_timeout)
        if args.max_failures < 0:
            raise ValueError(f"--max-failures must be 0 or more, got {args.max_failures}")
        if not Path(args.dir).is_dir():
            raise ValueError(f"{args.dir} is not a directory of vectors")
        files = load_vectors(args.dir)
        if not args.no_validate:
            _validate_files(files)
    except (OSError, ValueError) as exc:
        print(f"iommu-spec run-vectors: {exc}", file=sys.stderr)
        return 2
    vectors = [v for _, v in files if not profiles or v["profile"] in profiles]
    if not vectors:
        print(f"iommu-spec run-vectors: no vectors under {args.dir} match", file=sys.stderr)
        return 2
    if args.impl:
        target = InProcessTarget(IMPLEMENTATIONS[args.impl], args.semantics)
    else:
        target = ExternalTarget(args.impl_cmd, args.impl_timeout, args.semantics,
                                args.out_of_contract)
    tty = sys.stderr.isatty()

    def progress(done, total):
        if tty and (done % 25 == 0 or done == total):
            print(f"\r  {done}/{total} vectors", end="" if done < total else "\n",
                  file=sys.stderr, flush=True)

    try:
        if args.impl_cmd:
            target.factory.hello()  # one that cannot start or greet fails once, not per vector
        outcomes = run_vectors(vectors, target, progress)
    except (ExternalError, ExternalTimeout) as exc:
        error = exc
    else:
        error = None
    finally:
        target.close()
    if error is not None:
        print(f"iommu-spec run-vectors: {error}", file=sys.stderr)
        return 2 if getattr(error, "kind", "") == "start" else 1
    return _report(outcomes, target.name, args)


def _validate_files(files: list[tuple[Path, dict]]) -> None:
    import jsonschema
    try:
        schema()
    except OSError as exc:
        raise ValueError(f"cannot read the schema {SCHEMA_PATH} ({exc.strerror}); pass "
                         f"--no-validate to replay without checking the files") from None
    for path, v in files:
        try:
            validate(v)
        except jsonschema.ValidationError as exc:
            raise ValueError(f"{path}: does not match docs/vectors.schema.json: "
                             f"{exc.message}") from None


def _report(outcomes: list[Outcome], name: str, args) -> int:
    status = Counter(o.status for o in outcomes)
    if args.json:
        json.dump({"implementation": name, "counts": dict(status),
                   "outcomes": [dataclasses.asdict(o) for o in outcomes if o.status != "pass"]},
                  sys.stdout, indent=2)
        print()
    else:
        groups: dict[tuple, Counter] = {}
        for o in outcomes:
            groups.setdefault(o.group, Counter())[o.status] += 1
        rows = [[prof, sem, f"{bitmap:#x}", c["pass"], c["fail"], c["skip"]]
                for (prof, sem, bitmap), c in sorted(groups.items()) if c["pass"] or c["fail"]]
        print(f"implementation {name}")
        if rows:
            print(tabulate(rows, headers=["profile", "semantics", "pgsize_bitmap", "passed",
                                          "failed", "skipped"]))
        failures = [o for o in outcomes if o.status == "fail"]
        for o in failures[:args.max_failures]:
            print(f"\nFAIL {o.vector_id}\n  " + o.detail.replace("\n", "\n  "))
        if len(failures) > args.max_failures:
            print(f"\n... and {len(failures) - args.max_failures} more failures")
        reasons = Counter(o.detail for o in outcomes if o.status == "skip")
        if reasons:
            print("\nskipped: " + "; ".join(f"{n} x {r}" for r, n in reasons.most_common(5)))
        print(f"\n{status['pass']} passed, {status['fail']} failed, {status['skip']} skipped")
    if status["fail"]:
        return 1
    if not status["pass"]:
        if not args.json:
            print("no vector applied to this implementation", file=sys.stderr)
        return 1
    return 0
