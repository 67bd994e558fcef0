"""``iommu-spec kernel``: fetch a kernel tree, build linuxpt's harness, serve protocol v1.

    iommu-spec kernel fetch 6.12                    print the (fetched) tree's path
    iommu-spec kernel build --src DIR               print the harness binary's path
    iommu-spec kernel serve --src DIR --format F    build (cached), then exec the harness
    iommu-spec kernel mutants --src DIR --format lpae-s1 [--max N] [--seed S] [--examples K] [--json]
                                                    mutation score of the tester on the tree's
                                                    io-pgtable-arm.c (linuxpt/mutants.py)

Every error is one line, ``iommu-spec kernel: ...``, with exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .formats import FORMAT_PROFILES, semantics_for


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2, no usage dump
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="iommu-spec kernel",
                description="Compile Linux's own io-pgtable code from a kernel tree and serve "
                            "protocol v1 (driver-only) over it.")
    sub = p.add_subparsers(dest="cmd", metavar="{fetch,build,serve,mutants}", parser_class=_Parser)
    f = sub.add_parser("fetch", help="download a minimal tree (Debian's linux-source-VERSION)")
    f.add_argument("version", help="6.1 or 6.12")
    b = sub.add_parser("build", help="build the harness for a tree; prints the binary's path")
    b.add_argument("--src", required=True, help="root of a Linux source tree")
    b.add_argument("--force", action="store_true", help="rebuild even if a cached binary exists")
    s = sub.add_parser("serve", help="build (cached), then run the harness on stdin/stdout")
    s.add_argument("--src", required=True, help="root of a Linux source tree")
    s.add_argument("--format", required=True,
                   help="lpae-s1, lpae-s2, v7s, dart, amd-v1, amd-v2 (all checked by pytest "
                        "difftest), rockchip, exynos, sun50i, tegra-smmu (the tables of "
                        "rockchip-iommu.c, exynos-iommu.c, sun50i-iommu.c and tegra-smmu.c), "
                        "vtd (intel/iommu.c's), s390 (s390-iommu.c's, 6.7+), v7s-msm (v7s as "
                        "msm_iommu.c sets it up), sprd (sprd-iommu.c)")
    s.add_argument("--semantics", default=None,
                   help="the variant to declare in hello (default: the one this tree runs for "
                        "the format, linuxpt/formats.py; 'none' declares none)")
    m = sub.add_parser("mutants", help="plant faults in a copy of the tree's io-pgtable-arm.c and "
                                       "count how many the tester finds")
    from .mutants import add_arguments
    add_arguments(m)
    return p


def kernel_main(argv: list[str]) -> int:
    from .build import DRIVER_SOURCES, KernelTreeError, build, kernel_version
    from .fetch import fetch

    try:
        args = _parser().parse_args(argv)
        if args.cmd is None:
            raise _UsageError("a sub-command is needed: fetch, build, serve or mutants "
                              "(iommu-spec kernel --help)")
        if args.cmd == "fetch":
            print(fetch(args.version))
            return 0
        if args.cmd == "build":
            print(build(args.src, force=args.force))
            return 0
        if args.cmd == "mutants":
            from .mutants import execute
            return execute(args, "iommu-spec kernel")
        if args.format not in FORMAT_PROFILES:
            raise _UsageError(f"unknown format {args.format!r} (known: "
                              f"{', '.join(FORMAT_PROFILES)})")
        binary = build(args.src)
        driver = DRIVER_SOURCES.get(args.format)
        if driver and not (Path(args.src).expanduser() / driver).is_file():
            raise KernelTreeError(f"kernel tree {args.src} lacks {driver}: format {args.format} "
                                  f"compiles it")
        semantics = args.semantics
        if semantics is None:
            semantics = semantics_for(args.format, kernel_version(args.src)[:2])
        argv = [str(binary), "--format", args.format]
        if semantics and semantics != "none":
            from spec import get_semantics
            try:
                get_semantics(semantics)
            except KeyError as exc:
                raise _UsageError(exc.args[0]) from None
            argv += ["--semantics", semantics]
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(str(binary), argv)
    except _UsageError as exc:
        print(f"iommu-spec kernel: {exc}", file=sys.stderr)
        return 2
    except KernelTreeError as exc:
        print(f"iommu-spec kernel: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"iommu-spec kernel: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("iommu-spec kernel: interrupted", file=sys.stderr)
        return 2
    return 0
