"""``python -m iommu_spec.bench [model|difftest|costs|mutants|all|mutants-kernel] ...``: run benchmarks and print their tables.

With no sub-command, all four groups run.  Figures are printed, never asserted.
``difftest`` puts the state machine's steps/s beside its ceiling; ``mutants``
is the time to catch each planted bug of tests/mutants.py (run it from the
repository's root).
``mutants-kernel --src TREE`` (the mutation score on a kernel tree's io-pgtable-arm.c,
``iommu-spec kernel mutants``) needs a tree and takes minutes: it runs only when named.
"""

import sys

from iommu_spec.bench import catch, costs, difftest_speed, model, mutants_kernel

COMMANDS = {"model": model.main, "difftest": difftest_speed.main, "costs": costs.main,
            "mutants": catch.main}
#: Run only when named (not by ``all``): they need a kernel tree.
NAMED_ONLY = {"mutants-kernel": mutants_kernel.main}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print("usage: iommu-spec bench [" + "|".join([*COMMANDS, "all", *NAMED_ONLY])
              + "] [options]\n\n" + __doc__)
        return 0
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    if argv and argv[0] in NAMED_ONLY:
        return NAMED_ONLY[argv[0]](argv[1:])
    if argv and argv[0] != "all":
        print(f"bench: unknown benchmark {argv[0]!r}; choose from "
              f"{', '.join([*COMMANDS, 'all', *NAMED_ONLY])}",
              file=sys.stderr)
        return 2
    status = 0
    for name, run in COMMANDS.items():
        print(f"== {name} ==\n")
        status |= run([])
        print()
    return status


if __name__ == "__main__":
    sys.exit(main())
