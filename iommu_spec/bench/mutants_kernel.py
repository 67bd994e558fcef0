"""Mutation score of the tester on a kernel tree's own io-pgtable-arm.c (linuxpt.mutants).

``python -m iommu_spec.bench mutants-kernel --src TREE [--max N] [--seed S] [--examples K] [--json]``
is ``iommu-spec kernel mutants``: one row per mutant (killed / survived /
not-built), the totals and kill rate, and each survivor's diff.  It needs a
kernel tree and takes minutes, so ``bench all`` (and CI) leave it out.
"""

from iommu_spec.bench import BenchParser

PROG = "bench mutants-kernel"


def main(argv=None) -> int:
    from linuxpt.mutants import add_arguments, execute

    p = BenchParser(PROG, prog="python -m iommu_spec.bench mutants-kernel",
                    description=__doc__.split("\n\n")[0])
    add_arguments(p)
    args = p.parse(argv)  # one-line usage errors (2), as `iommu-spec kernel`
    return args if isinstance(args, int) else execute(args, PROG)
