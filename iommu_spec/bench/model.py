"""Throughput of the reference model, and its cost as mappings grow, next to the naive model.

Two tables:

1. operations per second for a random mix of map, unmap, map_sg and
   iova_to_phys with 10, 1,000, 10,000 and 100,000 live runs;
2. the time of one map+unmap as the size grows from 4 KiB to 1 TiB, for the
   model (leaf runs in an interval map) and the naive per-page dictionary of
   iommu_spec/bench/naive.py, with their ratio.
"""

import random
import time

from tabulate import tabulate

from spec import ReferenceDomain

from .naive import NaiveDomain

PROFILE = "intel-vtd"
RW = 3


def populate(d: ReferenceDomain, runs: int, rng: random.Random) -> list[int]:
    """Map ``runs`` separate 4K..64K mappings 1 MiB apart; returns their IOVAs."""
    bases = []
    for i in range(runs):
        iova = (1 << 32) + i * (1 << 20)
        size = rng.choice([1, 2, 4, 16]) << 12
        d.map(iova, iova + (7 << 12), size, RW)  # paddr offset: runs never merge
        bases.append(iova)
    return bases


def mix_throughput(runs: int, ops: int = 20000, seed: int = 1) -> float:
    """Operations per second of a random mix at about ``runs`` live runs."""
    rng = random.Random(seed)
    d = ReferenceDomain(PROFILE)
    bases = populate(d, runs, rng)
    plan = []
    for _ in range(ops):
        kind = rng.random()
        base = rng.choice(bases)
        off = rng.randrange(0, 256) << 12
        plan.append((kind, base + off, rng.choice([1, 2, 8]) << 12))
    t0 = time.perf_counter()
    for kind, iova, size in plan:
        if kind < 0.3:
            d.map(iova, iova, size, RW)
        elif kind < 0.6:
            d.unmap(iova, size)
        elif kind < 0.7:
            d.map_sg(iova, [(iova, 0, size // 2), (iova + size // 2, 0, size // 2)], RW)
        else:
            d.iova_to_phys(iova + 0x123)
    return ops / (time.perf_counter() - t0)


SIZES = [("4K", 1 << 12), ("2M", 1 << 21), ("64M", 1 << 26), ("1G", 1 << 30), ("1T", 1 << 40)]
NAIVE_LIMIT = 1 << 30  # beyond 1 GiB the naive model would need >262,144 dict entries per call


def time_map_unmap(make, size: int, repeat: int) -> float:
    """Seconds for one map+unmap of ``size`` bytes at an aligned address (best of ``repeat``)."""
    best = float("inf")
    for _ in range(repeat):
        d = make()
        t0 = time.perf_counter()
        d.map(1 << 40, 1 << 40, size, RW)
        d.unmap(1 << 40, size)
        best = min(best, time.perf_counter() - t0)
    return best


def size_rows() -> list[list]:
    rows = []
    for label, size in SIZES:
        model = time_map_unmap(lambda: ReferenceDomain(PROFILE), size, 20)
        naive = time_map_unmap(NaiveDomain, size, 1 if size >= 1 << 26 else 5) \
            if size <= NAIVE_LIMIT else None
        rows.append([label, f"{model * 1e6:.1f}", f"{naive * 1e6:.0f}" if naive else "n/a",
                     f"{naive / model:.0f}x" if naive else "n/a"])
    return rows


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m iommu_spec.bench model", description=__doc__.split("\n\n")[0])
    p.add_argument("--ops", type=int, default=20000, help="operations per mix measurement")
    args = p.parse_args(argv)
    rows = [[runs, f"{mix_throughput(runs, args.ops):,.0f}"] for runs in (10, 1000, 10000, 100000)]
    print(f"Model throughput ({PROFILE}, random mix: 30% map, 30% unmap, 10% map_sg, 30% iova_to_phys)\n")
    print(tabulate(rows, headers=["live runs", "ops/s"]))
    print("\nOne map+unmap as the size grows (microseconds; naive = one dict entry per 4K page)\n")
    print(tabulate(size_rows(), headers=["size", "model µs", "naive µs", "naive / model"]))
    return 0
