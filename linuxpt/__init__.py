"""linuxpt: Linux's own io-pgtable code, compiled from a kernel tree, behind protocol v1.

* :func:`linuxpt.build.build` compiles the harness against a tree (cached).
* :func:`linuxpt.fetch.fetch` downloads a minimal tree (Debian's linux-source).
* ``iommu-spec kernel fetch|build|serve`` is the command line (:mod:`linuxpt.cli`).

See linuxpt/README.md.
"""

from .build import KernelTreeError, build, kernel_version

__all__ = ["KernelTreeError", "build", "kernel_version"]
