"""``python -m bench [costs] ...``: run the benchmarks and print their tables."""

import sys

from bench import costs

COMMANDS = {"costs": costs.main}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    if argv and argv[0] in ("-h", "--help"):
        print("usage: python -m bench [" + "|".join(COMMANDS) + "] [options]")
        return 0
    return costs.main(argv)


if __name__ == "__main__":
    sys.exit(main())
