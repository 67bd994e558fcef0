"""Benchmarks: figures printed as tables, never asserted (machines are shared and noisy)."""

import argparse
import sys


def positive(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


class BenchParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr, ``<name>: <message>``."""

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.name = name

    def error(self, message):
        print(f"{self.name}: {message}", file=sys.stderr)
        raise SystemExit(2)

    def parse(self, argv):
        """The parsed arguments, or the exit status when there are none to run with (a usage
        error: 2; ``--help``: 0)."""
        try:
            return self.parse_args(argv)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 2
