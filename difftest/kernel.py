"""Real Linux in the main job: which kernel items to run, and how each is set up.

A *kernel item* is one tree x one io-pgtable format x one profile, run
through linuxpt's harness (Linux's own page-table code, compiled unmodified
from the tree) as a driver-only implementation under the spec's core.  Trees
come from ``--kernel-src DIR[,DIR...]``, else ``$IOMMU_SPEC_KERNEL_SRC``,
else the trees ``iommu-spec kernel fetch`` has cached.  The semantic variant
follows the tree's version (:func:`semantics_for`), unless
``--kernel-semantics`` overrides it.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from linuxpt.formats import DEFAULT_FORMATS, FORMAT_FILES, FORMAT_PROFILES, semantics_for  # noqa: F401

#: Environment variable naming kernel trees (separated by commas or os.pathsep).
ENV_SRC = "IOMMU_SPEC_KERNEL_SRC"
#: The trees `iommu-spec kernel fetch` knows; their cached copies are used by default.
FETCHABLE = ("6.1", "6.12")


@dataclass(frozen=True)
class KernelItem:
    """One tree x format x profile: ``id`` is ``linux-<X.Y>-<format>-<profile>``."""

    tree: str
    version: tuple[int, int, int]
    fmt: str
    profile: str

    @property
    def id(self) -> str:
        return f"linux-{self.version[0]}.{self.version[1]}-{self.fmt}-{self.profile}"

    @property
    def label(self) -> str:
        return f"linux-{self.version[0]}.{self.version[1]}.{self.version[2]}-{self.fmt}"


def split_list(text: str | None) -> list[str]:
    return [p for part in (text or "").split(",") for p in part.split(os.pathsep) if p.strip()]


def default_trees() -> list[str]:
    """``$IOMMU_SPEC_KERNEL_SRC``, else the fetched trees that exist."""
    env = split_list(os.environ.get(ENV_SRC))
    if env:
        return env
    from linuxpt.fetch import cached_tree
    return [str(t) for t in (cached_tree(v) for v in FETCHABLE) if t is not None]


def kernel_items(trees: list[str], formats: list[str]) -> list[KernelItem]:
    """Every tree x format x profile.  Raises ValueError (one line) for an unknown format or a bad tree."""
    from linuxpt.build import KernelTreeError, check_tree, kernel_version
    unknown = [f for f in formats if f not in FORMAT_PROFILES]
    if unknown:
        raise ValueError(f"unknown --kernel-format {', '.join(map(repr, unknown))}; known: "
                         f"{', '.join(FORMAT_PROFILES)}")
    items = []
    for tree in trees:
        try:
            src = check_tree(tree)
            version = kernel_version(src)[:3]
        except KernelTreeError as exc:
            raise ValueError(str(exc)) from None
        wanted = formats or [f for f in DEFAULT_FORMATS if _tree_has(Path(src), f)]
        for fmt in wanted:
            items.extend(KernelItem(str(src), version, fmt, p) for p in FORMAT_PROFILES[fmt])
    return items


def _tree_has(src: Path, fmt: str) -> bool:
    """Does the tree hold what a default item of ``fmt`` needs: its file (FORMAT_FILES), and for
    s390 a driver with tables of its own (6.1's uses arch/s390/pci/pci_dma.c's), for virtio the
    files its extraction needs (linuxpt.build.VIRTIO_FILES)?"""
    from linuxpt.build import has_virtio, s390_own_tables
    if fmt not in FORMAT_FILES:
        return True
    if fmt == "s390":
        return s390_own_tables(src)
    if fmt == "virtio":  # the driver, its uapi header and the tree's interval tree
        return has_virtio(src)
    return (src / FORMAT_FILES[fmt]).is_file()


_BUILT: dict[str, Path] = {}


def harness_command(item: KernelItem) -> list[str]:
    """The argv that serves ``item`` over protocol v1 (builds the tree's harness once per run)."""
    from linuxpt.build import build
    if item.tree not in _BUILT:
        _BUILT[item.tree] = build(item.tree)
    return [str(_BUILT[item.tree]), "--format", item.fmt]
