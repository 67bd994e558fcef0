"""Mutation score of the tester on a kernel tree's own io-pgtable-arm.c (linuxpt.mutants).

``python -m iommu_spec.bench mutants-kernel --src TREE [--max N] [--seed S] [--examples K] [--json]``
is ``iommu-spec kernel mutants``: one row per mutant (killed / survived /
not-built), the totals and kill rate, and each survivor's diff.  It needs a
kernel tree and takes minutes, so ``bench all`` (and CI) leave it out.
"""

import argparse
import sys

PROG = "bench mutants-kernel"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2, as `iommu-spec kernel`
        print(f"{PROG}: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv=None) -> int:
    from linuxpt.mutants import add_arguments, execute

    p = _Parser(prog="python -m iommu_spec.bench mutants-kernel",
                description=__doc__.split("\n\n")[0])
    add_arguments(p)
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:  # a usage error (2) or --help (0)
        return exc.code if isinstance(exc.code, int) else 2
    return execute(args, PROG)
