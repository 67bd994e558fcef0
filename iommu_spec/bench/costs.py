"""The cost of each implementation on fixed workloads, next to the minimum.

Workloads (on every profile an implementation supports):

* ``map+unmap``: one map and its unmap at an IOVA and physical address
  aligned to 1G, for each size from 4 KiB to 1 GiB that the profile's smallest
  page divides (4K, 64K, 2M, 64M, 1G);
* ``map_sg``: scatterlists of 1 to 512 segments of one smallest page each,
  where every fourth segment starts a new physically contiguous run, mapped
  and then unmapped.

Figures per implementation x profile: PTE writes, IOTLB invalidation
commands and peak page-table pages, next to the minimum: the leaves of the
greedy page tiling written once by the map and once by the unmap, and one
invalidation per sync (one per map, map_sg and unmap call).
"""

import argparse
import json
import sys

from tabulate import tabulate

from impls import IMPLEMENTATIONS
from spec import PROFILES, greedy_leaves

SIZES = [1 << 12, 1 << 16, 1 << 21, 1 << 26, 1 << 30]
SEGMENTS = [1, 8, 64, 512]
BASE = 1 << 32  # aligned to every page size up to 4G


def _supported(cls, profile: str) -> bool:
    return not hasattr(cls, "supports") or cls.supports(profile)


def scatterlist(n: int, page: int, base: int) -> list[tuple[int, int, int]]:
    """n one-page segments; a new physically contiguous run starts every 4 segments."""
    sg, phys = [], base
    for i in range(n):
        if i and i % 4 == 0:
            phys += page  # leave a physical gap: the next run is not contiguous
        sg.append((phys, 0, page))
        phys += page
    return sg


def measure(cls, profile_name: str) -> dict:
    """Run the workloads on a fresh implementation; returns the counts and their minimums.

    The minimum PTE writes of a map are the leaves of the greedy tiling with
    every page size the *hardware* offers (the profile's bitmap), so an
    implementation that uses fewer sizes shows what that costs.
    """
    profile = PROFILES[profile_name]
    base = 1 << min(32, profile.ias - 1)  # 1G-aligned and below 2^ias with room for 1G
    impl = cls(profile_name)
    bitmap = profile.pgsize_bitmap
    page = impl.pgsize_bitmap & -impl.pgsize_bitmap
    c = impl.counters
    row = dict(map_pte=0, leaves=0, unmap_pte=0, inv=0, syncs=0, table_pages=0, per_size={})

    def account(do_map, iova, runs):
        """runs: [(paddr, length)] mapped back to back from iova."""
        before = (c.pte_writes, c.invalidations)
        mapped = do_map()
        assert mapped > 0, (cls.name, profile_name, mapped)
        mid = c.pte_writes
        row["table_pages"] = max(row["table_pages"], c.table_pages)
        assert impl.unmap(iova, mapped) == mapped, (cls.name, profile_name)
        leaves, at = 0, iova
        for paddr, length in runs:
            leaves += greedy_leaves(bitmap, at, paddr, length)
            at += length
        row["map_pte"] += mid - before[0]
        row["unmap_pte"] += c.pte_writes - mid
        row["leaves"] += leaves
        row["inv"] += c.invalidations - before[1]
        row["syncs"] += 2
        return mid - before[0], leaves, c.invalidations - before[1]

    for size in SIZES:
        if size % page or base + size > 1 << profile.ias:
            continue
        row["per_size"][size] = account(
            lambda: impl.map(base, base, size, 3) or size, base, [(base, size)])
    for n in SEGMENTS:
        sg = scatterlist(n, page, base)
        runs = [(sg[i][0], sum(e[2] for e in sg[i:i + 4])) for i in range(0, n, 4)]
        account(lambda: impl.map_sg(base, sg, 3), base, runs)
    free = getattr(impl, "domain_free", None)
    row["left"] = free() if free else 0
    return row


def run(impls=None, profiles=None) -> list[dict]:
    rows = []
    for name in impls or IMPLEMENTATIONS:
        cls = IMPLEMENTATIONS[name]
        for profile in profiles or PROFILES:
            if _supported(cls, profile):
                r = measure(cls, profile)
                rows.append({"implementation": name, "profile": profile, **r})
    return rows


def table(rows: list[dict]) -> str:
    out = [[r["implementation"], r["profile"], r["map_pte"], r["leaves"],
            f"{r['map_pte'] / r['leaves']:.2f}x", r["unmap_pte"], r["inv"], r["syncs"],
            f"{r['inv'] / r['syncs']:.2f}x", r["table_pages"], r["left"]]
           for r in rows]
    return tabulate(out, headers=["implementation", "profile", "map PTE writes", "greedy leaves",
                                  "ratio", "unmap PTE writes", "invalidations", "syncs",
                                  "per sync", "peak table pages", "pages after free"])


def growth_table(rows: list[dict], profile: str = "intel-vtd") -> str:
    """Map PTE writes and invalidations per map+unmap size on one profile: how costs grow."""
    out = []
    for r in rows:
        if r["profile"] != profile:
            continue
        for size, (pte, leaves, inv) in sorted(r["per_size"].items()):
            out.append([r["implementation"], _human(size), pte, leaves, inv])
    return tabulate(out, headers=["implementation", "map+unmap size", "map PTE writes",
                                  "greedy leaves", "invalidations (2 syncs)"])


def _human(size: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if size >= 1 << shift:
            return f"{size >> shift}{unit}"
    return str(size)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m iommu_spec.bench costs", description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", default="", help="comma-separated implementations (default: all)")
    p.add_argument("--profile", default="", help="comma-separated profiles (default: all)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args(argv)
    impls = [n for n in args.impl.split(",") if n] or None
    profiles = [n for n in args.profile.split(",") if n] or None
    for name in impls or []:
        if name not in IMPLEMENTATIONS:
            p.error(f"unknown implementation {name!r}; known: {', '.join(IMPLEMENTATIONS)}")
    for name in profiles or []:
        if name not in PROFILES:
            p.error(f"unknown profile {name!r}; known: {', '.join(PROFILES)}")
    rows = run(impls, profiles)
    print("Cost of fixed workloads (map+unmap 4K..1G, map_sg 1..512 segments) vs the minimum\n")
    print(table(rows))
    print("\nGrowth with size on intel-vtd (map then unmap)\n")
    print(growth_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{k: v for k, v in r.items() if k != "per_size"} for r in rows], f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
