#!/usr/bin/env python3
"""A driver-only implementation of protocol v1: map_pages / unmap_pages / iotlb_sync.

    python examples/python_driver.py

It holds the page table as one dictionary entry per leaf and follows the
generic-pt variant (drivers/iommu/generic_pt/iommu_pt.h): a page over any live
leaf is -EADDRINUSE, and unmap walks leaves from the start address, removing a
leaf that starts there whole (even one the range covers only in part) and
stopping at a hole or inside a leaf.  Its hello lists no ``map``, so the
harness runs Linux's core (``impls.core.Core``) over it and checks the
result:

    pytest difftest --impl-cmd "python examples/python_driver.py"

With ``--core map_range`` it is a driver of the v7.1 core instead: its hello
declares ``"core": "map_range"`` and offers ``map_range`` / ``unmap_range``
(generic_pt's map_range: the whole request in one call, its checks in the
kernel's order, -ENXIO where no page size fits, ``mapped`` the bytes written
before a failure; unmap_range: no alignment check, the last leaf reached
taken whole).

Everything here is the standard library: a driver in any language needs only
what this file does.
"""

import bisect
import errno
import json
import sys

IOMMU_READ, IOMMU_WRITE = 0x1, 0x2
OPS = ["hello", "domain_alloc", "domain_free", "map_pages", "unmap_pages", "iotlb_sync", "dump"]
RANGE_OPS = ["hello", "domain_alloc", "domain_free", "map_range", "unmap_range", "iotlb_sync",
             "dump"]


class Driver:
    def __init__(self, pgsize_bitmap: int, ias: int, oas: int) -> None:
        self.pgsize_bitmap, self.ias, self.oas = pgsize_bitmap, ias, oas
        self.leaves: dict[int, tuple[int, int, int]] = {}  # iova -> (pgsize, paddr, prot)
        self.keys: list[int] = []                          # the leaves' iovas, sorted
        self.gather: tuple[int, int] | None = None         # pending invalidation [start, end)

    def leaf_at(self, iova: int) -> int | None:
        """The iova of the leaf translating ``iova``, if any (pages are naturally aligned)."""
        pgsize = 1
        while pgsize <= self.pgsize_bitmap:
            if pgsize & self.pgsize_bitmap:
                base = iova & ~(pgsize - 1)
                if base in self.leaves and self.leaves[base][0] == pgsize:
                    return base
            pgsize <<= 1
        return None

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.keys, start)
        if i < len(self.keys) and self.keys[i] < end:  # a leaf inside
            return True
        return self.leaf_at(start) is not None         # a larger leaf around

    def add(self, iova: int, pgsize: int, paddr: int, prot: int) -> None:
        self.leaves[iova] = (pgsize, paddr, prot)
        bisect.insort(self.keys, iova)

    def clear_from(self, iova: int, end: int) -> int:
        """Clear leaves from iova while one starts where the last ended, below end; the gather
        grows to cover them.  Returns where the walk stopped (a hole or inside a leaf)."""
        at = iova
        while at < end and at in self.leaves:
            at += self.leaves.pop(at)[0]
        if at > iova:
            del self.keys[bisect.bisect_left(self.keys, iova):bisect.bisect_left(self.keys, at)]
            start, stop = self.gather or (iova, at)
            self.gather = (min(start, iova), max(stop, at))
        return at

    def args_ok(self, iova: int, paddr: int, pgsize: int, pgcount: int) -> bool:
        return (pgsize > 0 and not pgsize & (pgsize - 1) and bool(pgsize & self.pgsize_bitmap)
                and pgcount >= 1 and not (iova | paddr) & (pgsize - 1))

    def map_pages(self, iova, paddr, pgsize, pgcount, prot) -> tuple[int, int]:
        if not self.args_ok(iova, paddr, pgsize, pgcount):
            return -errno.EINVAL, 0
        if not prot & (IOMMU_READ | IOMMU_WRITE):
            return -errno.EINVAL, 0
        size = pgsize * pgcount
        if iova + size > 1 << self.ias or paddr + size > 1 << self.oas:
            return -errno.ERANGE, 0
        for k in range(pgcount):
            at = iova + k * pgsize
            if self.overlaps(at, at + pgsize):
                return -errno.EADDRINUSE, k * pgsize
            self.add(at, pgsize, paddr + k * pgsize, prot)
        return 0, size

    def unmap_pages(self, iova, pgsize, pgcount) -> int:
        if not self.args_ok(iova, 0, pgsize, pgcount):
            return 0
        if iova + pgsize * pgcount > 1 << self.ias:  # generic_pt's make_range: -ERANGE
            return 0
        return self.clear_from(iova, iova + pgsize * pgcount) - iova

    def best_pgsize(self, iova: int, paddr: int, size: int) -> int:
        """The largest page of the bitmap that iova and paddr are aligned to and size holds."""
        best = 0
        for shift in range(64):
            pgsize = 1 << shift
            if pgsize & self.pgsize_bitmap and pgsize <= size and not (iova | paddr) % pgsize:
                best = pgsize
        return best

    def map_range(self, iova, paddr, size, prot) -> tuple[int, int]:
        if not prot & (IOMMU_READ | IOMMU_WRITE):
            return -errno.EINVAL, 0
        if paddr >> self.oas:
            return -errno.ERANGE, 0
        if size == 0:
            return -errno.EINVAL, 0
        if iova + size - 1 >> 64:
            return -errno.EOVERFLOW, 0
        if size == 1 or not self.best_pgsize(iova, paddr, size):
            return -errno.ENXIO, 0
        if iova + size > 1 << self.ias:
            return -errno.ERANGE, 0
        mapped = 0
        while mapped < size:
            at, pa = iova + mapped, paddr + mapped
            pgsize = self.best_pgsize(at, pa, size - mapped)
            if not pgsize:
                return -errno.ENXIO, mapped
            if self.overlaps(at, at + pgsize):
                return -errno.EADDRINUSE, mapped
            self.add(at, pgsize, pa, prot)
            mapped += pgsize
        return 0, mapped

    def unmap_range(self, iova, size) -> int:
        if size == 0 or iova + size > 1 << self.ias:  # make_range
            return 0
        return self.clear_from(iova, iova + size) - iova

    def iotlb_sync(self) -> list[list]:
        tlb = [["range", self.gather[0], self.gather[1] - self.gather[0]]] if self.gather else []
        self.gather = None
        return tlb

    def dump(self) -> list[list[int]]:
        return [[iova, paddr, pgsize, 1, prot]
                for iova, (pgsize, paddr, prot) in sorted(self.leaves.items())]


def serve(stdin, stdout, core: str = "map_pages") -> None:
    driver = None
    ops = OPS if core == "map_pages" else RANGE_OPS
    for line in stdin:
        req = json.loads(line)
        op = req.get("op")
        if op == "hello":
            reply = {"version": 1, "name": "python-driver", "semantics": "generic-pt", "ops": ops,
                     "core": core}
        elif op == "domain_alloc":
            driver = Driver(req["pgsize_bitmap"], req["ias"], req["oas"])
            reply = {"ret": 0, "pgsize_bitmap": req["pgsize_bitmap"]}
        elif op == "domain_free":
            driver, reply = None, {"ret": 0, "table_pages": 0}
        elif op not in ops:
            reply = {"error": "unsupported"}
        elif driver is None:
            reply = {"error": "no domain: send domain_alloc first"}
        elif op == "map_pages":
            ret, mapped = driver.map_pages(req["iova"], req["paddr"], req["pgsize"],
                                           req["pgcount"], req["prot"])
            reply = {"ret": ret, "mapped": mapped}
        elif op == "unmap_pages":
            reply = {"ret": driver.unmap_pages(req["iova"], req["pgsize"], req["pgcount"])}
        elif op == "map_range":
            ret, mapped = driver.map_range(req["iova"], req["paddr"], req["size"], req["prot"])
            reply = {"ret": ret, "mapped": mapped}
        elif op == "unmap_range":
            reply = {"ret": driver.unmap_range(req["iova"], req["size"])}
        elif op == "iotlb_sync":
            reply = {"ret": 0, "tlb": driver.iotlb_sync()}
        else:
            reply = {"ret": 0, "leaves": driver.dump()}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:] not in ([], ["--core", "map_range"]):
        sys.exit("usage: python_driver.py [--core map_range]")
    serve(sys.stdin, sys.stdout, "map_range" if sys.argv[1:] else "map_pages")
