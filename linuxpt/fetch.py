"""Fetch the few kernel source files linuxpt needs, from Debian's linux-source package.

``fetch("6.12")`` runs ``apt-get download linux-source-6.12`` in a temporary
directory, unpacks the .deb with ``dpkg -x``, extracts from its
``usr/src/linux-source-6.12.tar.xz`` only the files the harness reads (see
:data:`WANTED`), deletes the .deb and the tarball, and returns the tree:
``<cache>/linux/6.12/linux-source-6.12`` with ``<cache>`` =
``$IOMMU_SPEC_CACHE`` or ``~/.cache/iommu-spec``.  A fetched tree is reused.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from .build import KernelTreeError, cache_root

#: Versions with a Debian linux-source-<version> package we know of.
KNOWN_VERSIONS = ("6.1", "6.12")

#: Paths (fnmatch patterns, relative to the tree) extracted from the tarball.
WANTED = (
    "Makefile",
    "drivers/iommu/io-pgtable*.c",
    "drivers/iommu/io-pgtable*.h",
    "drivers/iommu/iommu-pages.h",
    "drivers/iommu/mtk_iommu.c",
    "include/linux/io-pgtable.h",
    "include/linux/iommu.h",
    "drivers/iommu/amd/*",  # io_pgtable.c, io_pgtable_v2.c, amd_iommu_types.h, amd_iommu.h (amd-v1/-v2)
    "drivers/iommu/rockchip-iommu.c",  # the rockchip format (its table lives in the driver)
    "drivers/iommu/exynos-iommu.c",    # the exynos format (likewise)
    "drivers/iommu/sun50i-iommu.c",    # the sun50i format (likewise)
    "drivers/iommu/tegra-smmu.c",      # the tegra-smmu format (likewise)
    "drivers/iommu/sprd-iommu.c",      # the sprd format (likewise)
    "drivers/iommu/msm_iommu.c",       # v7s-msm: which map/unmap interface msm_iommu has
    "drivers/iommu/intel/iommu.c",     # the vtd format: its page-table functions are extracted
    "drivers/iommu/intel/iommu.h",     # (and the dma_pte inlines and macros)
    "drivers/iommu/s390-iommu.c",      # the s390 format (6.7+: its own region/segment/page tables)
    "drivers/iommu/dma-iommu.h",       # (s390-iommu.c includes it)
    "arch/s390/include/asm/pci_dma.h", # (the zPCI table layout s390-iommu.c uses)
    "drivers/iommu/omap-iommu.c",      # the omap format (its table lives in the driver)
    "drivers/iommu/omap-iommu.h",      # (omap-iommu.c includes both from its own directory)
    "drivers/iommu/omap-iopgtable.h",
    "drivers/iommu/virtio-iommu.c",    # the virtio format: its domain ops are extracted
    "include/uapi/linux/virtio_iommu.h",  # (its request layouts)
    "include/linux/interval_tree.h",   # (its mapping tree: the tree's own interval tree,
    "include/linux/interval_tree_generic.h",  # compiled by glue_virtio.c)
    "include/linux/rbtree.h",
    "include/linux/rbtree_types.h",
    "include/linux/rbtree_augmented.h",
    "lib/rbtree.c",
    "lib/interval_tree.c",
)
#: Written into a fetched tree: the WANTED it was extracted with.  A cached tree whose
#: manifest differs (or that has none: extracted before the manifest existed) is
#: extracted again, so a tree fetched by an older linuxpt gains the files added since.
MANIFEST = ".linuxpt-fetched"


def tree_path(version: str) -> Path:
    return cache_root() / "linux" / version / f"linux-source-{version}"


def _manifest_text() -> str:
    return "".join(f"{pat}\n" for pat in WANTED)


def _up_to_date(tree: Path) -> bool:
    try:
        return (tree / MANIFEST).read_text() == _manifest_text()
    except OSError:
        return False


def _wanted(rel: str) -> bool:
    return any(fnmatch.fnmatchcase(rel, pat) and ("/" not in pat or rel.count("/") == pat.count("/"))
               for pat in WANTED)


def _run(argv: list[str], cwd: Path, what: str, hint: str = "") -> None:
    if shutil.which(argv[0]) is None:
        raise KernelTreeError(f"{argv[0]} not found: fetching needs a Debian-like system with "
                              f"{argv[0]} (or pass a kernel tree with --src)")
    try:
        res = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KernelTreeError(f"{what} failed: {exc}") from None
    if res.returncode:
        err = " | ".join((res.stderr or res.stdout).strip().splitlines()[-2:]) or f"status {res.returncode}"
        raise KernelTreeError(f"{what} failed: {err}{hint}")


def fetch(version: str, quiet: bool = False) -> Path:
    """The path of a minimal tree of Linux ``version`` ("6.1" or "6.12"), fetching it if needed.

    A cached tree extracted with another :data:`WANTED` is extracted again; when
    that fails (no network, no apt-get) the old tree is returned, with a note on
    stderr naming what it lacks.
    """
    if version not in KNOWN_VERSIONS:
        raise KernelTreeError(f"unknown kernel version {version!r} (known: {', '.join(KNOWN_VERSIONS)})")
    tree = tree_path(version)
    have = (tree / "Makefile").is_file() and (tree / "drivers/iommu/io-pgtable-arm.c").is_file()
    if have and _up_to_date(tree):
        return tree
    if have:
        try:
            return _fetch(version, tree, quiet)
        except KernelTreeError as exc:
            missing = [p for p in WANTED if not any(ch in p for ch in "*?[") and not (tree / p).exists()]
            print(f"iommu-spec kernel: cannot refresh {tree} ({exc}); using it as it is"
                  + (f" (it lacks {', '.join(missing)})" if missing else ""), file=sys.stderr)
            return tree
    return _fetch(version, tree, quiet)


def _fetch(version: str, tree: Path, quiet: bool) -> Path:
    """Download linux-source-``version`` and extract :data:`WANTED` into ``tree`` (replacing it)."""
    package = f"linux-source-{version}"
    parent = tree.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="fetch-", dir=parent))
    except OSError as exc:
        raise KernelTreeError(f"cannot create {parent}: {exc}") from None
    try:
        if not quiet:
            print(f"iommu-spec kernel: downloading {package} with apt-get ...", flush=True)
        _run(["apt-get", "download", package], tmp, f"apt-get download {package}",
             hint=" (run `apt-get update` first)")
        debs = sorted(tmp.glob(f"{package}_*.deb"))
        if not debs:
            raise KernelTreeError(f"apt-get download {package} produced no .deb "
                                  f"(run `apt-get update` first)")
        unpacked = tmp / "deb"
        _run(["dpkg", "-x", str(debs[0]), str(unpacked)], tmp, f"dpkg -x {debs[0].name}")
        for deb in debs:
            deb.unlink()
        tarball = unpacked / "usr" / "src" / f"{package}.tar.xz"
        if not tarball.is_file():
            raise KernelTreeError(f"{debs[0].name} holds no usr/src/{package}.tar.xz")
        staging = tmp / "tree"
        prefix = f"{package}/"
        count = 0
        try:
            with tarfile.open(tarball, "r:xz") as tar:
                for member in tar:
                    if not member.isfile() or not member.name.startswith(prefix):
                        continue
                    rel = member.name[len(prefix):]
                    if ".." in Path(rel).parts or not _wanted(rel):
                        continue
                    dest = staging / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with tar.extractfile(member) as fin, open(dest, "wb") as fout:
                        shutil.copyfileobj(fin, fout)
                    count += 1
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise KernelTreeError(f"reading {tarball.name} failed: {exc}") from None
        tarball.unlink()
        if not (staging / "drivers/iommu/io-pgtable-arm.c").is_file():
            raise KernelTreeError(f"{tarball.name} has no drivers/iommu/io-pgtable-arm.c")
        (staging / MANIFEST).write_text(_manifest_text())
        if tree.exists():
            shutil.rmtree(tree)
        os.replace(staging, tree)
        if not quiet:
            print(f"iommu-spec kernel: extracted {count} files", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tree


def cached_tree(version: str) -> Path | None:
    """The fetched tree of ``version`` if there is one, else None (never downloads)."""
    tree = tree_path(version)
    return tree if (tree / "drivers/iommu/io-pgtable-arm.c").is_file() else None
