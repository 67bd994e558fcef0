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

Everything here is the standard library: a driver in any language needs only
what this file does.
"""

import errno
import json
import sys

IOMMU_READ, IOMMU_WRITE = 0x1, 0x2
OPS = ["hello", "domain_alloc", "domain_free", "map_pages", "unmap_pages", "iotlb_sync", "dump"]


class Driver:
    def __init__(self, pgsize_bitmap: int, ias: int, oas: int) -> None:
        self.pgsize_bitmap, self.ias, self.oas = pgsize_bitmap, ias, oas
        self.leaves: dict[int, tuple[int, int, int]] = {}  # iova -> (pgsize, paddr, prot)
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
        if any(start <= iova < end for iova in self.leaves):  # a smaller leaf inside
            return True
        return self.leaf_at(start) is not None               # a larger leaf around

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
            self.leaves[at] = (pgsize, paddr + k * pgsize, prot)
        return 0, size

    def unmap_pages(self, iova, pgsize, pgcount) -> int:
        if not self.args_ok(iova, 0, pgsize, pgcount):
            return 0
        if iova + pgsize * pgcount > 1 << self.ias:  # generic_pt's make_range: -ERANGE
            return 0
        at, end = iova, iova + pgsize * pgcount
        while at < end and at in self.leaves:  # a hole or the inside of a leaf ends the walk
            size = self.leaves.pop(at)[0]
            start, stop = self.gather or (at, at + size)
            self.gather = (min(start, at), max(stop, at + size))
            at += size
        return at - iova

    def iotlb_sync(self) -> list[list]:
        tlb = [["range", self.gather[0], self.gather[1] - self.gather[0]]] if self.gather else []
        self.gather = None
        return tlb

    def dump(self) -> list[list[int]]:
        return [[iova, paddr, pgsize, 1, prot]
                for iova, (pgsize, paddr, prot) in sorted(self.leaves.items())]


def serve(stdin, stdout) -> None:
    driver = None
    for line in stdin:
        req = json.loads(line)
        op = req.get("op")
        if op == "hello":
            reply = {"version": 1, "name": "python-driver", "semantics": "generic-pt", "ops": OPS}
        elif op == "domain_alloc":
            driver = Driver(req["pgsize_bitmap"], req["ias"], req["oas"])
            reply = {"ret": 0, "pgsize_bitmap": req["pgsize_bitmap"]}
        elif op == "domain_free":
            driver, reply = None, {"ret": 0, "table_pages": 0}
        elif op not in OPS:
            reply = {"error": "unsupported"}
        elif driver is None:
            reply = {"error": "no domain: send domain_alloc first"}
        elif op == "map_pages":
            ret, mapped = driver.map_pages(req["iova"], req["paddr"], req["pgsize"],
                                           req["pgcount"], req["prot"])
            reply = {"ret": ret, "mapped": mapped}
        elif op == "unmap_pages":
            reply = {"ret": driver.unmap_pages(req["iova"], req["pgsize"], req["pgcount"])}
        elif op == "iotlb_sync":
            reply = {"ret": 0, "tlb": driver.iotlb_sync()}
        else:
            reply = {"ret": 0, "leaves": driver.dump()}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
