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

#: io-pgtable format (the harness's --format) -> the profiles it serves.
FORMAT_PROFILES = {
    "lpae-s1": ("arm-lpae-4k", "arm-lpae-16k", "arm-lpae-64k"),
    "v7s": ("armv7s-mediatek",),
    "dart": ("apple-dart",),
    "amd-v1": ("amd-v1",),
    "amd-v2": ("amd-v2",),
}
#: The formats a run checks unless --kernel-format names others.  AMD's tables are
#: built by the harness too, but the model does not yet state what they do (issue 13).
DEFAULT_FORMATS = ("lpae-s1", "v7s", "dart")
#: Environment variable naming kernel trees (separated by commas or os.pathsep).
ENV_SRC = "IOMMU_SPEC_KERNEL_SRC"
#: The trees `iommu-spec kernel fetch` knows; their cached copies are used by default.
FETCHABLE = ("6.1", "6.12")


R, W, CACHE, NOEXEC, MMIO, PRIV = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20


def recorded_prot(fmt: str, prot: int) -> int:
    """The prot a leaf of ``fmt`` records for a map with ``prot``: what its descriptor can say.

    * lpae-s1 (arm_lpae_prot_to_pte, stage 1): no write-only permission (AP
      is read-only or read-write), and MMIO's device memory type wins over
      CACHE's;
    * v7s as mtk_iommu sets it up (IO_PGTABLE_QUIRK_NO_PERMS, which
      arm_v7s_prot_to_pte honours by writing no AP and no XN): always read-write,
      no NOEXEC or PRIV; MMIO wins over CACHE;
    * dart (dart_prot_to_pte, APPLE_DART) and amd-v1 (iommu_v1_map_pages:
      IOMMU_PTE_IR / IW): read and write bits only;
    * amd-v2 (io_pgtable_v2.c set_pte_attr): a present entry is readable, R/W
      makes it writable; nothing else is encoded.
    """
    if fmt == "lpae-s1":
        out = R | (W if prot & W else 0) | (prot & (NOEXEC | PRIV))
        return out | (MMIO if prot & MMIO else prot & CACHE)
    if fmt == "v7s":
        return R | W | (MMIO if prot & MMIO else prot & CACHE)
    if fmt in ("dart", "amd-v1"):  # dart_prot_to_pte; iommu_v1_map_pages: IR / IW only
        return prot & (R | W)
    if fmt == "amd-v2":  # x86-64 long-mode PTEs: present is readable, R/W writable
        return R | (prot & W)
    raise ValueError(f"unknown io-pgtable format {fmt!r}")


def semantics_for(fmt: str, version: tuple[int, int]) -> str:
    """The variant a tree of ``version`` runs for ``fmt``: the v6.14 split removal decides arm and v7s.

    Source: io-pgtable-arm.c / io-pgtable-arm-v7s.c, split removed in v6.14
    (commit 33729a5fc0ca for io-pgtable-arm); io-pgtable-dart.c unchanged
    in what the model states from v5.15 to v6.12.
    """
    if fmt == "lpae-s1":
        return "arm-lpae-v6.13" if version < (6, 14) else "arm-lpae-v6.14"
    if fmt == "v7s":
        return "arm-v7s-v6.13" if version < (6, 14) else "arm-v7s"
    if fmt == "dart":
        return "apple-dart"
    if fmt == "amd-v1":
        return "amd-v1"
    if fmt == "amd-v2":
        return "generic-pt"  # not yet stated for AMD v2's own table (issue 13)
    raise ValueError(f"unknown io-pgtable format {fmt!r}; known: {', '.join(FORMAT_PROFILES)}")


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
        for fmt in formats or DEFAULT_FORMATS:
            items.extend(KernelItem(str(src), version, fmt, p) for p in FORMAT_PROFILES[fmt])
    return items


_BUILT: dict[str, Path] = {}


def harness_command(item: KernelItem) -> list[str]:
    """The argv that serves ``item`` over protocol v1 (builds the tree's harness once per run)."""
    from linuxpt.build import build
    if item.tree not in _BUILT:
        _BUILT[item.tree] = build(item.tree)
    return [str(_BUILT[item.tree]), "--format", item.fmt]
