"""``python -m iommu_spec.bench [model|difftest|costs|all] ...``: run benchmarks and print their tables.

With no sub-command, all three groups run (five tables).  Figures are printed, never asserted.
"""

import sys

from iommu_spec.bench import costs, difftest_speed, model

COMMANDS = {"model": model.main, "difftest": difftest_speed.main, "costs": costs.main}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print("usage: iommu-spec bench [" + "|".join(COMMANDS) + "] [options]\n\n" + __doc__)
        return 0
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    if argv and argv[0] != "all":
        print(f"bench: unknown benchmark {argv[0]!r}; choose from {', '.join(COMMANDS)} or all",
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
