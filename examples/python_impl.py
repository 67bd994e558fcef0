#!/usr/bin/env python3
"""Serve protocol v1 (docs/protocol.md) with an in-process implementation from ``impls``.

    python examples/python_impl.py [--impl map_pages] [--semantics generic-pt]

Each ``domain_alloc`` builds a fresh implementation for a profile made of the
request's pgsize_bitmap, ias and oas.  The implementation follows one semantic
variant, which the hello declares.  Check it with:

    pytest difftest --impl-cmd "python examples/python_impl.py"
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from impls import IMPLEMENTATIONS  # noqa: E402
from spec import SEMANTICS, Profile  # noqa: E402

BASE_OPS = ["hello", "domain_alloc", "domain_free", "map", "unmap", "map_sg",
            "iova_to_phys", "dump"]


class Server:
    """One implementation class, one domain at a time."""

    def __init__(self, impl_name: str, semantics: str) -> None:
        self.cls = IMPLEMENTATIONS[impl_name]
        self.semantics = semantics
        self.impl = None
        probe = self.cls(Profile("probe", 1 << 12, 48, 48, "", semantics), semantics)
        self.ops = BASE_OPS + [op for op in ("map_pages", "unmap_pages", "iotlb_sync", "fail_alloc")
                               if op in probe.ops]

    def hello(self, req):
        return {"version": 1, "name": f"python-{self.cls.name}", "semantics": self.semantics,
                "ops": self.ops}

    def domain_alloc(self, req):
        profile = Profile("domain", req["pgsize_bitmap"], req["ias"], req["oas"],
                          "domain_alloc request", self.semantics)
        self.impl = self.cls(profile, self.semantics)
        return {"ret": 0, "pgsize_bitmap": self.impl.pgsize_bitmap}

    def domain_free(self, req):
        impl, self.impl = self.impl, None
        return {"ret": 0, "table_pages": impl.domain_free() if impl else 0}

    def map(self, req):
        return {"ret": self.impl.map(req["iova"], req["paddr"], req["size"], req["prot"])}

    def unmap(self, req):
        return {"ret": self.impl.unmap(req["iova"], req["size"])}

    def map_sg(self, req):
        return {"ret": self.impl.map_sg(req["iova"], [tuple(e) for e in req["sg"]], req["prot"])}

    def iova_to_phys(self, req):
        return {"ret": self.impl.iova_to_phys(req["iova"])}

    def map_pages(self, req):
        ret, mapped = self.impl.map_pages(req["iova"], req["paddr"], req["pgsize"],
                                          req["pgcount"], req["prot"])
        return {"ret": ret, "mapped": mapped}

    def unmap_pages(self, req):
        return {"ret": self.impl.unmap_pages(req["iova"], req["pgsize"], req["pgcount"])}

    def iotlb_sync(self, req):
        return {"ret": self.impl.iotlb_sync()}

    def fail_alloc(self, req):
        return {"ret": self.impl.fail_alloc(req["after"])}

    def dump(self, req):
        return {"ret": 0, "leaves": [list(leaf) for leaf in self.impl.leaves()]}

    def serve(self, stdin, stdout) -> None:
        for line in stdin:
            try:
                req = json.loads(line)
            except ValueError:
                req = None
            if not isinstance(req, dict):
                reply = {"error": "bad request: not a JSON object"}
            elif req.get("op") not in self.ops:
                reply = {"error": "unsupported"}
            elif self.impl is None and req["op"] not in ("hello", "domain_alloc", "domain_free"):
                reply = {"error": "no domain: send domain_alloc first"}
            else:
                try:
                    reply = getattr(self, req["op"])(req)
                except (KeyError, TypeError, ValueError) as exc:
                    reply = {"error": f"bad request: {type(exc).__name__}: {exc}"}
                if self.impl is not None:
                    tlb = [list(cmd) for cmd in self.impl.take_tlb_commands()]
                    if tlb:
                        reply["tlb"] = tlb
            stdout.write(json.dumps(reply) + "\n")
            stdout.flush()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", default="map_pages", choices=sorted(IMPLEMENTATIONS))
    p.add_argument("--semantics", default="generic-pt", choices=sorted(SEMANTICS))
    args = p.parse_args(argv)
    Server(args.impl, args.semantics).serve(sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
