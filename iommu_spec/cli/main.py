"""``iommu-spec``: one command, a sub-command per job.

Each sub-command lives in the package that owns it and is imported only when
it runs, so ``iommu-spec profiles`` never loads z3.  Exit status: 0 success,
1 a check found problems, 2 usage or unreadable input (a check that would
check nothing included).  Output cut short by a closed pipe
(``iommu-spec rules | head``) is a one-line note and status 2, not a traceback.
"""

import importlib
import os
import sys

#: sub-command -> (module, function, one-line help).  The function takes argv
#: (the arguments after the sub-command) and returns an exit status.
COMMANDS = {
    "profiles": ("iommu_spec.cli.listing", "profiles_main", "list the page-size profiles of real IOMMUs"),
    "semantics": ("iommu_spec.cli.listing", "semantics_main", "list the semantic variants and where they differ; --kernel X.Y --driver D: what a release runs"),
    "rules": ("iommu_spec.cli.listing", "rules_main", "list the named rules of the model with their sources and releases"),
    "fixes": ("iommu_spec.cli.listing", "fixes_main", "list Linux's fixes that changed API results, and what caught the old behaviour"),
    "difftest": ("iommu_spec.cli.listing", "difftest_main", "run the differential tester (pytest difftest)"),
    "prove": ("spec.proofs", "main", "prove the page-size selection invariants with z3"),
    "check-trace": ("tracecheck.cli", "check_trace_main", "check kernel IOMMU logs against the spec"),
    "explain": ("tracecheck.cli", "explain_main", "explain the page sizes the kernel chooses for a buffer"),
    "bench": ("iommu_spec.bench.__main__", "main", "run the benchmarks (cost of implementations vs the minimum)"),
    "vectors": ("difftest.vectors", "vectors_main", "write conformance vectors (JSON) from the spec"),
    "run-vectors": ("difftest.vectors", "run_vectors_main", "check an implementation against conformance vectors"),
    "kernel": ("linuxpt.cli", "kernel_main", "build Linux's own io-pgtable code from a kernel tree and serve protocol v1 over it"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: iommu-spec COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, _, help_) in COMMANDS.items()]
    lines += ["", "Run 'iommu-spec COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"iommu-spec: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module, func, _ = COMMANDS[name]
    try:
        entry = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as exc:
        print(f"iommu-spec: command {name!r} is not available in this installation ({exc})",
              file=sys.stderr)
        return 2
    try:
        status = int(entry(rest) or 0)
        sys.stdout.flush()
    except SystemExit as exc:  # argparse: --help (0) or its own usage error (2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except BrokenPipeError:
        _silence_stdout()
        print(f"iommu-spec {name}: output stopped: the reader closed the pipe", file=sys.stderr)
        return 2
    return status


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so flushing it at exit raises no second BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout has no file descriptor (tests)
        pass


if __name__ == "__main__":
    sys.exit(main())
