"""Compile linuxpt's harness against a kernel tree's own io-pgtable code.

:func:`build` takes the root of a Linux source tree and returns the path of a
harness binary that serves protocol v1 (docs/protocol.md) over that tree's
``drivers/iommu/io-pgtable.c``, ``io-pgtable-arm.c``, ``io-pgtable-arm-v7s.c``
and ``io-pgtable-dart.c``, compiled unmodified.  The tree's own
``include/linux/io-pgtable.h``, ``drivers/iommu/io-pgtable-arm.h`` and (6.x
where present) ``drivers/iommu/iommu-pages.h`` are used as they are; every
other kernel header is linuxpt's shim (``linuxpt/shim/include``), except the
IOTLB gather helpers, which are extracted from the tree's
``include/linux/iommu.h`` at build time (:func:`extract_gather`).  The
driver formats (:data:`DRIVER_SOURCES`: rockchip, exynos,
sun50i, tegra-smmu, s390, sprd, omap) compile a whole IOMMU
driver from the tree, unmodified, when the tree has it.

Nothing from the tree is stored in this repository: the tree is read when
the harness is built, and the generated files live in the build cache
(``~/.cache/iommu-spec/build/<hash>/``, or ``$IOMMU_SPEC_CACHE/build/<hash>/``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping

SHIM_DIR = Path(__file__).resolve().parent / "shim"
BINARY_NAME = "linuxpt-harness"

#: Compiler flags.  The kernel builds with -fno-strict-aliasing,
#: -fno-delete-null-pointer-checks and -fno-strict-overflow (wrapping signed
#: and pointer arithmetic); io-pgtable relies on the same.  -w: the kernel's
#: files are not ours to lint.
CFLAGS = ["-std=gnu11", "-O1", "-g", "-fno-strict-aliasing", "-fwrapv",
          "-fno-strict-overflow", "-fno-delete-null-pointer-checks", "-fno-common", "-w"]

#: The kernel files compiled, relative to the tree (all required).
KERNEL_SOURCES = [
    "drivers/iommu/io-pgtable.c",
    "drivers/iommu/io-pgtable-arm.c",
    "drivers/iommu/io-pgtable-arm-v7s.c",
    "drivers/iommu/io-pgtable-dart.c",
]
#: Other tree files the build reads (required).
KERNEL_HEADERS = [
    "Makefile",
    "drivers/iommu/io-pgtable-arm.h",
    "include/linux/io-pgtable.h",
    "include/linux/iommu.h",
]
#: Tree files used when present: iommu-pages.h (v6.11+), mtk_iommu.c and msm_iommu.c (to
#: tell which map/unmap interface the tree's mtk_iommu and msm_iommu use: formats v7s, v7s-msm).
KERNEL_OPTIONAL = [
    "drivers/iommu/iommu-pages.h",
    "drivers/iommu/mtk_iommu.c",
    "drivers/iommu/msm_iommu.c",
]
#: The AMD IOMMU page tables (formats amd-v1, amd-v2): compiled when the tree
#: has all of these, with the tree's own amd_iommu_types.h and amd_iommu.h
#: (included unmodified by the two files and by linuxpt's glue_amd.c).
AMD_SOURCES = [
    "drivers/iommu/amd/io_pgtable.c",
    "drivers/iommu/amd/io_pgtable_v2.c",
]
AMD_HEADERS = [
    "drivers/iommu/amd/amd_iommu_types.h",
    "drivers/iommu/amd/amd_iommu.h",
]
#: Formats whose page table lives in an IOMMU driver: format -> the driver file,
#: compiled whole and unmodified (its glue, ``shim/glue_<format>.c``, #includes it)
#: when the tree has it; else the harness refuses ``--format <format>``.
DRIVER_SOURCES = {
    "rockchip": "drivers/iommu/rockchip-iommu.c",
    "exynos": "drivers/iommu/exynos-iommu.c",
    "sun50i": "drivers/iommu/sun50i-iommu.c",
    "tegra-smmu": "drivers/iommu/tegra-smmu.c",
    "s390": "drivers/iommu/s390-iommu.c",
    "sprd": "drivers/iommu/sprd-iommu.c",
    "omap": "drivers/iommu/omap-iommu.c",
}
#: The s390 format (``shim/glue_s390.c``) also needs the headers s390-iommu.c includes from
#: the tree, and a driver that keeps its own tables (v6.7+: ``dma_walk_cpu_trans`` defined in
#: s390-iommu.c).  6.1's s390-iommu.c uses arch/s390/pci/pci_dma.c's tables and the s390 DMA
#: API around them: not built; the harness refuses ``--format s390`` saying so.
S390_HEADERS = [
    "drivers/iommu/dma-iommu.h",
    "arch/s390/include/asm/pci_dma.h",
]

#: The omap format (``shim/glue_omap.c``) also needs the two headers omap-iommu.c includes
#: from its own directory (its quoted includes resolve next to the file, in the tree).
OMAP_HEADERS = [
    "drivers/iommu/omap-iommu.h",
    "drivers/iommu/omap-iopgtable.h",
]

#: Intel VT-d's own second-level table (format vtd): the tree's intel/iommu.c is far too big to
#: compile whole; :func:`extract_vtd` cuts out of it and intel/iommu.h the page-table functions
#: (:data:`VTD_SEEDS` and everything they use from the two files) into the build directory.
VTD_FILES = [
    "drivers/iommu/intel/iommu.h",
    "drivers/iommu/intel/iommu.c",
]
#: What linuxpt's glue_vtd.c calls (the entry points of the domain ops it drives, the
#: domain's setup and free, and the helpers its own attach code and dump use).
VTD_SEEDS = [
    "intel_iommu_map_pages", "intel_iommu_unmap_pages", "intel_iommu_tlb_sync",
    "intel_iommu_iova_to_phys", "domain_exit", "md_domain_init", "domain_super_pgsize_bitmap",
    "dma_pte_present", "dma_pte_addr", "agaw_to_width", "agaw_to_level", "width_to_agaw",
    "DEFAULT_DOMAIN_ADDRESS_WIDTH", "DMA_PTE_READ", "DMA_PTE_WRITE", "DMA_PTE_LARGE_PAGE",
    "VTD_PAGE_SHIFT",
]
#: Names glue_vtd.c declares itself (our own structures; the flush callees, which record
#: the invalidations; the shim's own spellings of kernel macros), never extracted.
VTD_OURS = {
    "dmar_domain", "intel_iommu", "iommu_domain_info", "iommu_flush_iotlb_psi",
    "cache_tag_flush_range", "pr_fmt", "dev_fmt",
}

#: virtio-iommu (format virtio): the tree's drivers/iommu/virtio-iommu.c is a virtio driver (probe,
#: virtqueues, events, endpoints); :func:`extract_virtio` cuts out of it the domain ops
#: glue_virtio.c drives and what they use (the request queue, the mapping tree), and the glue
#: compiles the tree's own interval tree and request layouts (the other files).
VIRTIO_DRIVER = "drivers/iommu/virtio-iommu.c"
VIRTIO_FILES = [
    VIRTIO_DRIVER,
    "include/uapi/linux/virtio_iommu.h",
    "include/linux/interval_tree.h",
    "include/linux/interval_tree_generic.h",
    "include/linux/rbtree.h",
    "include/linux/rbtree_types.h",
    "include/linux/rbtree_augmented.h",
    "lib/rbtree.c",
    "lib/interval_tree.c",
]
#: The tree's headers glue_virtio.c reaches through generated wrappers in gen/linux/.
VIRTIO_WRAPPED = ["interval_tree.h", "interval_tree_generic.h", "rbtree.h", "rbtree_types.h",
                  "rbtree_augmented.h"]
#: What glue_virtio.c calls (viommu_iotlb_sync_map only where the tree has it: v6.2+).
VIRTIO_SEEDS = [
    "viommu_map_pages", "viommu_unmap_pages", "viommu_iova_to_phys", "viommu_iotlb_sync",
    "viommu_sync_req", "viommu_domain_free", "VIOMMU_REQUEST_VQ",
]
VIRTIO_OPTIONAL_SEEDS = ["viommu_iotlb_sync_map"]
#: Names linuxpt declares itself, never extracted.
VIRTIO_OURS = {"pr_fmt", "dev_fmt"}

#: What is extracted from include/linux/iommu.h, in the order it is searched.
GATHER_STRUCT = "iommu_iotlb_gather"
GATHER_FUNCTIONS = [
    "iommu_iotlb_gather_init",
    "iommu_iotlb_sync",
    "iommu_iotlb_gather_is_disjoint",
    "iommu_iotlb_gather_add_range",
    "iommu_iotlb_gather_add_page",
    "iommu_iotlb_gather_queued",
]
#: Of those, the ones linuxpt's glue needs in every version.
GATHER_REQUIRED = {"iommu_iotlb_gather_init", "iommu_iotlb_sync",
                   "iommu_iotlb_gather_add_range", "iommu_iotlb_gather_add_page"}


class KernelTreeError(Exception):
    """The harness cannot be built: the message is one line saying what is missing or failed."""


def cache_root() -> Path:
    """``$IOMMU_SPEC_CACHE`` or ``~/.cache/iommu-spec``."""
    env = os.environ.get("IOMMU_SPEC_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "iommu-spec"


# ---------------------------------------------------------------------------
# The tree
# ---------------------------------------------------------------------------

def kernel_version(src_dir: Path | str) -> tuple[int, int, int, str]:
    """(VERSION, PATCHLEVEL, SUBLEVEL, EXTRAVERSION) from the tree's top-level Makefile."""
    makefile = Path(src_dir) / "Makefile"
    try:
        text = makefile.read_text(errors="replace")
    except OSError:
        raise KernelTreeError(f"{makefile} is missing: not the root of a Linux source tree") from None
    fields = {}
    for name in ("VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION"):
        m = re.search(rf"^{name}\s*=[ \t]*(\S*)[ \t]*$", text, re.M)
        fields[name] = m.group(1) if m else None
    try:
        return (int(fields["VERSION"]), int(fields["PATCHLEVEL"]), int(fields["SUBLEVEL"] or 0),
                fields["EXTRAVERSION"] or "")
    except (TypeError, ValueError):
        raise KernelTreeError(f"{makefile} has no VERSION/PATCHLEVEL/SUBLEVEL lines: "
                              f"not a Linux top-level Makefile") from None


def check_tree(src_dir: Path | str) -> Path:
    """The tree's root as an absolute Path; KernelTreeError naming the first missing file."""
    src = Path(src_dir).expanduser()
    if not src.is_dir():
        raise KernelTreeError(f"kernel tree {src} does not exist (or is not a directory)")
    src = src.resolve()
    # the most telling file first
    for rel in ["drivers/iommu/io-pgtable-arm.c"] + KERNEL_SOURCES + KERNEL_HEADERS:
        if not (src / rel).is_file():
            raise KernelTreeError(f"kernel tree {src} lacks {rel}")
    return src


# ---------------------------------------------------------------------------
# Extraction from include/linux/iommu.h
# ---------------------------------------------------------------------------

def _skip_to_close(text: str, open_at: int) -> int:
    """Index just past the brace matching the '{' at ``open_at``, skipping comments and literals."""
    depth, i, n = 0, open_at, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            if i < 0:
                break
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                break
            i = end + 2
            continue
        if c in "\"'":
            i += 1
            while i < n and text[i] != c:
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced braces")


def _strip_comments(text: str) -> str:
    """The text with comments blanked (same length), so searches skip kernel-doc."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def extract_gather(iommu_h: str, needed_by: str = "", origin: str = "include/linux/iommu.h") -> str:
    """The gather struct and inlines of ``iommu_h`` (the text of a tree's iommu.h), as C text.

    Each item is found by its first definition with a body (the
    ``CONFIG_IOMMU_API`` one; the stubs for !CONFIG_IOMMU_API come later) and
    cut out by brace matching.  Items are emitted in the order they appear in
    the file.  A function in :data:`GATHER_REQUIRED`, or one named in
    ``needed_by`` (the text of the files that will use it) or in another
    extracted body, must be found; else KernelTreeError.
    """
    code = _strip_comments(iommu_h)
    items: list[tuple[int, str, str]] = []

    for m in re.finditer(rf"\bstruct\s+{GATHER_STRUCT}\s*\{{", code):
        end = _skip_to_close(code, m.end() - 1)
        body = code[m.end():end - 1]
        if body.strip():
            semi = code.find(";", end)
            items.append((m.start(), GATHER_STRUCT, iommu_h[m.start():semi + 1]))
            break
    else:
        raise KernelTreeError(f"{origin}: struct {GATHER_STRUCT} with members not found")

    found: dict[str, str] = {}
    for name in GATHER_FUNCTIONS:
        pattern = rf"\bstatic\s+inline\b[\w\s\*]*?\b{name}\s*\("
        for m in re.finditer(pattern, code):
            brace = code.find("{", m.end())
            semi = code.find(";", m.end())
            if brace < 0 or (0 <= semi < brace):
                continue  # a declaration, not a definition
            end = _skip_to_close(code, brace)
            found[name] = iommu_h[m.start():end]
            items.append((m.start(), name, found[name]))
            break

    bodies = needed_by + "\n".join(found.values())
    for name in GATHER_FUNCTIONS:
        if name in found:
            continue
        if name in GATHER_REQUIRED or re.search(rf"\b{name}\b", bodies):
            raise KernelTreeError(f"{origin}: static inline {name}() not found "
                                  f"(linuxpt extracts it by brace matching)")
    items.sort()
    parts = [f"/* extracted from {origin} by linuxpt/build.py at build time */",
             "#ifndef LINUXPT_IOMMU_GATHER_H", "#define LINUXPT_IOMMU_GATHER_H", ""]
    for _, name, text in items:
        parts += [f"/* {origin}: {name} */", text, ""]
    parts.append("#endif")
    return "\n".join(parts) + "\n"


def _blank_literals(code: str) -> str:
    """``code`` (comments already blanked) with string and character literals blanked too."""
    out, i, n = list(code), 0, len(code)
    while i < n:
        c = code[i]
        if c in "\"'":
            j = i + 1
            while j < n and code[j] != c and code[j] != "\n":
                j += 2 if code[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                if out[k] != "\n":
                    out[k] = " "
            i = j + 1
            continue
        i += 1
    return "".join(out)


class _CFile:
    """The top-level definitions of one C file, found by brace matching: macros, functions
    with a body, struct definitions (the first of each name)."""

    def __init__(self, origin: str, text: str):
        self.origin, self.text = origin, text
        self.code = _blank_literals(_strip_comments(text))
        code = self.code
        self.macros: dict[str, tuple[int, int]] = {}
        self.functions: dict[str, tuple[int, int, int]] = {}  # start, brace, end
        self.structs: dict[str, tuple[int, int]] = {}
        for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)", code, re.M):
            end = m.end()
            while True:
                nl = code.find("\n", end)
                if nl < 0:
                    end = len(code)
                    break
                if code[:nl].rstrip(" \t").endswith("\\"):
                    end = nl + 1
                    continue
                end = nl
                break
            self.macros.setdefault(m.group(1), (m.start(), end))
        # top level: brace depth 0, outside preprocessor lines
        depth, i, n = 0, 0, len(code)
        last_stop = 0  # just past the last top-level ';' / '}' / preprocessor line
        line_start = True
        while i < n:
            c = code[i]
            if line_start and code[i:i + 1].strip() == "" and c != "\n":
                i += 1
                continue
            if line_start and c == "#":
                end = i
                while True:
                    nl = code.find("\n", end)
                    if nl < 0:
                        end = n
                        break
                    if code[:nl].rstrip(" \t").endswith("\\"):
                        end = nl + 1
                        continue
                    end = nl
                    break
                i = end
                if depth == 0:
                    last_stop = i
                continue
            line_start = c == "\n"
            if c == "{":
                if depth == 0:
                    head = code[last_stop:i]
                    fm = re.search(r"\b(\w+)\s*\((?:[^()]|\([^()]*\))*\)\s*$", head, re.S)
                    sm = re.search(r"\bstruct\s+(\w+)\s*$", head)
                    end = _skip_to_close(code, i)
                    start = last_stop + (len(head) - len(head.lstrip()))
                    if fm and "=" not in head:
                        self.functions.setdefault(fm.group(1), (start, i, end))
                    elif sm:
                        semi = code.find(";", end)
                        self.structs.setdefault(sm.group(1), (start, semi + 1))
                    i = end
                    semi_after = re.match(r"[^;{}]*;", code[i:])
                    if semi_after and not fm:
                        i += semi_after.end()
                    last_stop = i
                    continue
                depth += 1
            elif c == "}":
                depth -= 1
            elif c == ";" and depth == 0:
                last_stop = i + 1
            i += 1

    def item(self, kind: str, name: str) -> tuple[int, str]:
        if kind == "macro":
            a, b = self.macros[name]
            return a, self.code[a:b]
        if kind == "struct":
            a, b = self.structs[name]
            return a, self.text[a:b]
        a, _, b = self.functions[name]
        return a, self.text[a:b]

    def prototype(self, name: str) -> str | None:
        """``static ... name(...);`` for a static non-inline function (it may be used before it
        is defined in the extracted order); None for an inline or a non-static one."""
        a, brace, _ = self.functions[name]
        head = self.code[a:brace].strip()
        if not re.match(r"static\b", head) or re.search(r"\binline\b", head):
            return None
        return " ".join(head.split()) + ";"


_IDENT = re.compile(r"(->|\.)?\s*\b(struct\s+)?([A-Za-z_]\w*)")


def extract_definitions(files: list[tuple[str, str]], seeds: list[str], ours: set[str],
                        what: str) -> str:
    """The definitions ``seeds`` name in ``files`` ((origin, text) pairs, in include order) and
    everything they use from them, transitively, as C text.

    Functions with a body, macros and struct definitions are found by brace matching (the
    first definition of a name wins); identifiers after ``.`` / ``->`` (members) and names in
    ``ours`` (what linuxpt declares itself) are not followed.  Items are emitted file by
    file in file order, after prototypes of the static functions.  A seed found nowhere is a
    KernelTreeError.
    """
    parsed = [_CFile(origin, text) for origin, text in files]

    def find(kind: str, name: str):
        for idx, f in enumerate(parsed):
            table = f.structs if kind == "struct" else f.macros if kind == "macro" else f.functions
            if name in table:
                return idx
        return None

    chosen: dict[tuple[int, str, str], str] = {}
    work: list[tuple[str, str]] = []
    for name in seeds:
        for kind in ("function", "macro"):
            if find(kind, name) is not None:
                work.append((kind, name))
                break
        else:
            raise KernelTreeError(f"{what}: {name} not found in "
                                  f"{', '.join(origin for origin, _ in files)} "
                                  f"(linuxpt extracts it by brace matching)")
    while work:
        kind, name = work.pop()
        idx = find(kind, name)
        if idx is None or (idx, kind, name) in chosen:
            continue
        _, text = parsed[idx].item(kind, name)
        chosen[(idx, kind, name)] = text
        body = _blank_literals(_strip_comments(text))
        for m in _IDENT.finditer(body):
            member, is_struct, ident = m.groups()
            if member or ident in ours:
                continue
            if is_struct:
                if find("struct", ident) is not None:
                    work.append(("struct", ident))
                continue
            for k in ("function", "macro"):
                if ident != name and find(k, ident) is not None:
                    work.append((k, ident))
    protos = [parsed[idx].prototype(name) for (idx, kind, name) in chosen if kind == "function"]
    parts = [f"/* extracted by linuxpt/build.py at build time from "
             f"{', '.join(origin for origin, _ in files)} */", ""]
    parts += [f"struct {name};" for (_, kind, name) in chosen if kind == "struct"]
    parts += [p for p in protos if p] + [""]
    for idx, f in enumerate(parsed):
        items = sorted((f.item(kind, name)[0], kind, name, text)
                       for (i, kind, name), text in chosen.items() if i == idx)
        for at, kind, name, text in items:
            # WARN_ON's __FILE__:__LINE__ name the tree's file and line
            parts += [f"/* {f.origin}: {name} */", f'#line {f.text.count(chr(10), 0, at) + 1} "{f.origin}"',
                      text, ""]
    return "\n".join(parts) + "\n"


def has_vtd(src: Path) -> bool:
    """Does the tree have Intel VT-d's driver (format vtd: VTD_FILES)?"""
    return all((src / f).is_file() for f in VTD_FILES)


def extract_vtd(src: Path) -> str:
    """gen/linuxpt/vtd_extracted.h: the tree's own iommu-pages.h (6.11+) by absolute path, then
    :data:`VTD_SEEDS` and what they use from intel/iommu.h and intel/iommu.c."""
    files = [(str(src / f), (src / f).read_text(errors="replace")) for f in VTD_FILES]
    try:
        body = extract_definitions(files, VTD_SEEDS, VTD_OURS, str(src / VTD_FILES[1]))
    except ValueError as exc:
        raise KernelTreeError(f"{src / VTD_FILES[1]}: cannot extract the VT-d page table: {exc}") from None
    pages = src / "drivers/iommu/iommu-pages.h"
    head = ["#ifndef LINUXPT_VTD_EXTRACTED_H", "#define LINUXPT_VTD_EXTRACTED_H"]
    if pages.is_file() and "iommu-pages.h" in files[1][1]:
        head.append(f'#include "{pages}"')
    return "\n".join(head) + "\n" + body + "#endif\n"


def has_virtio(src: Path) -> bool:
    """Does the tree have virtio-iommu and the files its extraction needs (VIRTIO_FILES)?"""
    return all((src / f).is_file() for f in VIRTIO_FILES)


def virtio_sync_map(src: Path) -> bool:
    """Does the tree's virtio-iommu.c have viommu_iotlb_sync_map (6.12; not 6.1)?"""
    code = _strip_comments((src / VIRTIO_DRIVER).read_text(errors="replace"))
    return re.search(r"\bviommu_iotlb_sync_map\s*\([^;{]*\)\s*\{", code) is not None


def extract_virtio(src: Path) -> str:
    """gen/linuxpt/virtio_extracted.h: :data:`VIRTIO_SEEDS` (and viommu_iotlb_sync_map where the
    tree has it) and what they use from drivers/iommu/virtio-iommu.c."""
    path = src / VIRTIO_DRIVER
    seeds = VIRTIO_SEEDS + (VIRTIO_OPTIONAL_SEEDS if virtio_sync_map(src) else [])
    try:
        body = extract_definitions([(str(path), path.read_text(errors="replace"))], seeds,
                                   VIRTIO_OURS, str(path))
    except ValueError as exc:
        raise KernelTreeError(f"{path}: cannot extract virtio-iommu's domain ops: {exc}") from None
    return ("#ifndef LINUXPT_VIRTIO_EXTRACTED_H\n#define LINUXPT_VIRTIO_EXTRACTED_H\n" + body
            + "#endif\n")


def mtk_single_page(src: Path, driver: str = "drivers/iommu/mtk_iommu.c") -> bool:
    """Does this tree's mtk_iommu map and unmap one page per call (``iop->map`` / ``iop->unmap``)?

    Read from drivers/iommu/mtk_iommu.c when the tree has it; otherwise
    assumed from io-pgtable.h still offering ``.map`` (v6.1 and older).
    ``driver`` names another io-pgtable user to ask the same of (msm_iommu.c:
    :func:`msm_single_page`).
    """
    mtk = src / driver
    if mtk.is_file():
        return re.search(r"iop->map\s*\(", mtk.read_text(errors="replace")) is not None
    header = (src / "include/linux/io-pgtable.h").read_text(errors="replace")
    return re.search(r"\(\s*\*\s*map\s*\)\s*\(", header) is not None


def msm_single_page(src: Path) -> bool:
    """Does this tree's msm_iommu map and unmap one page per call (msm_iommu_map ->
    ``priv->iop->map``, v6.1; ``iop->map_pages`` since v6.2)?  As :func:`mtk_single_page`."""
    return mtk_single_page(src, "drivers/iommu/msm_iommu.c")


# ---------------------------------------------------------------------------
# The compiler
# ---------------------------------------------------------------------------

def find_compiler() -> str:
    """$CC, else cc, else gcc; KernelTreeError when there is none."""
    for cand in [os.environ.get("CC"), "cc", "gcc"]:
        if cand:
            path = shutil.which(cand.split()[0])
            if path:
                return path
    raise KernelTreeError("no C compiler (cc/gcc not found): install gcc (e.g. apt-get install gcc)")


def compiler_version(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KernelTreeError(f"the C compiler {cc} does not run: {exc}") from None
    return (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else cc


def shim_files() -> list[Path]:
    return sorted(p for p in SHIM_DIR.rglob("*") if p.is_file() and p.suffix in (".c", ".h"))


def has_amd(src: Path) -> bool:
    """Does the tree have the AMD IOMMU page tables linuxpt compiles (all of AMD_SOURCES/AMD_HEADERS)?"""
    return all((src / f).is_file() for f in AMD_SOURCES + AMD_HEADERS)


def amd_config(src: Path) -> dict[str, int]:
    """The layout of the tree's AMD io-pgtable code, read from its files (see glue_amd.c).

    ``LINUXPT_AMD_PGTBL_CFG``: struct amd_io_pgtable has its own ``pgtbl_cfg``
    next to an io_pgtable named ``iop`` (v6.1); else one io_pgtable named
    ``pgtbl`` (v6.12).  ``LINUXPT_AMD_V1_ALLOCS_ROOT``: ``v1_alloc_pgtable``
    allocates the top table itself (v6.12); else the driver's
    ``protection_domain_init_v1`` does (v6.1).
    """
    types_h = _strip_comments((src / AMD_HEADERS[0]).read_text(errors="replace"))
    m = re.search(r"\bstruct\s+amd_io_pgtable\s*\{", types_h)
    if not m:
        raise KernelTreeError(f"{src / AMD_HEADERS[0]}: struct amd_io_pgtable not found")
    body = types_h[m.end():_skip_to_close(types_h, m.end() - 1)]
    pgtbl_cfg = re.search(r"\bstruct\s+io_pgtable_cfg\s+pgtbl_cfg\s*;", body) is not None
    v1 = _strip_comments((src / AMD_SOURCES[0]).read_text(errors="replace"))
    m = re.search(r"\bv1_alloc_pgtable\s*\([^)]*\)\s*\{", v1)
    if not m:
        raise KernelTreeError(f"{src / AMD_SOURCES[0]}: v1_alloc_pgtable() not found")
    alloc_body = v1[m.end():_skip_to_close(v1, m.end() - 1)]
    allocs_root = re.search(r"->\s*root\s*=", alloc_body) is not None
    return {"LINUXPT_AMD_PGTBL_CFG": int(pgtbl_cfg), "LINUXPT_AMD_V1_ALLOCS_ROOT": int(allocs_root)}


def s390_own_tables(src: Path) -> bool:
    """Does the tree's drivers/iommu/s390-iommu.c define its own ``dma_walk_cpu_trans`` (v6.7+)?
    Before, the table code lived in arch/s390/pci/pci_dma.c (6.1)."""
    path = src / DRIVER_SOURCES["s390"]
    if not path.is_file():
        return False
    code = _strip_comments(path.read_text(errors="replace"))
    return re.search(r"\bdma_walk_cpu_trans\s*\([^;{]*\)\s*\{", code) is not None


def drivers(src: Path) -> dict[str, str]:
    """The driver formats this tree can build: format -> driver file (see :data:`DRIVER_SOURCES`;
    s390 also needs :data:`S390_HEADERS` and its own tables, :func:`s390_own_tables`; omap
    :data:`OMAP_HEADERS`)."""
    return {fmt: rel for fmt, rel in DRIVER_SOURCES.items() if (src / rel).is_file()
            and (fmt != "s390" or (all((src / h).is_file() for h in S390_HEADERS)
                                   and s390_own_tables(src)))
            and (fmt != "omap" or all((src / h).is_file() for h in OMAP_HEADERS))}


def tree_files(src: Path) -> list[str]:
    return (KERNEL_SOURCES + KERNEL_HEADERS + [f for f in KERNEL_OPTIONAL if (src / f).is_file()]
            + (AMD_SOURCES + AMD_HEADERS if has_amd(src) else []) + list(drivers(src).values())
            + (VTD_FILES if has_vtd(src) else [])
            + (S390_HEADERS if "s390" in drivers(src) else [])
            + (OMAP_HEADERS if "omap" in drivers(src) else [])
            + (VIRTIO_FILES if has_virtio(src) else []))


def build_hash(src: Path, cc_version: str, replace: Mapping[str, str] | None = None) -> str:
    h = hashlib.sha256()
    h.update(f"linuxpt-1\0{cc_version}\0{' '.join(CFLAGS)}\0".encode())
    for rel in tree_files(src):
        if replace and rel in replace:
            h.update(f"replaced:{rel}\0".encode())
            h.update(replace[rel].encode())
            continue
        h.update(f"tree:{rel}\0".encode())
        h.update((src / rel).read_bytes())
    for path in shim_files():
        h.update(f"shim:{path.relative_to(SHIM_DIR)}\0".encode())
        h.update(path.read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:20]


def _first_errors(stderr: str, limit: int = 4) -> str:
    lines = [ln for ln in stderr.splitlines() if "error" in ln.lower()]
    return " | ".join((lines or stderr.strip().splitlines() or ["(no output)"])[:limit])


def _compile(cc: str, args: list[str], what: str, cwd: Path) -> None:
    try:
        res = subprocess.run([cc] + args, capture_output=True, text=True, cwd=cwd, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KernelTreeError(f"compiling {what} failed: {exc}") from None
    if res.returncode:
        raise KernelTreeError(f"compiling {what} failed: {_first_errors(res.stderr)}")


def build(src_dir: Path | str, cache_dir: Path | str | None = None, force: bool = False,
          replace: Mapping[str, str] | None = None) -> Path:
    """Build (or reuse) the harness for the kernel tree at ``src_dir``; returns the binary's path.

    The build directory is ``<cache>/build/<hash>/``, the hash covering the
    tree files used, linuxpt's shim files and the compiler version, so a
    cached binary is reused exactly when nothing that went into it changed.
    Raises KernelTreeError with a one-line message on any problem.

    ``replace`` maps compiled tree files (of :data:`KERNEL_SOURCES` /
    :data:`AMD_SOURCES`, relative to the tree) to the text to compile in
    their place (linuxpt.mutants builds mutated copies this way).  The
    replacement is written into the build directory, never into the tree,
    and compiled with its original directory on the quoted include path, so
    its ``#include "..."`` lines still find the tree's headers.
    """
    src = check_tree(src_dir)
    version = kernel_version(src)
    cc = find_compiler()
    replace = dict(replace or {})
    unknown = sorted(set(replace) - set(KERNEL_SOURCES + AMD_SOURCES))
    if unknown:
        raise KernelTreeError(f"cannot replace {', '.join(unknown)}: not a compiled kernel file "
                              f"({', '.join(KERNEL_SOURCES + AMD_SOURCES)})")
    digest = build_hash(src, compiler_version(cc), replace)
    root = Path(cache_dir).expanduser() if cache_dir else cache_root() / "build"
    out_dir = root / digest
    binary = out_dir / BINARY_NAME
    if binary.is_file() and os.access(binary, os.X_OK) and not force:
        return binary

    try:
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{digest}.tmp-", dir=root))
    except OSError as exc:
        raise KernelTreeError(f"cannot create the build directory under {root}: {exc}") from None
    try:
        _build_in(work, src, version, cc, replace)
        if binary.is_file() and not force:
            # another process (a parallel test worker) built the same inputs meanwhile: its
            # binary is this one, and may be running -- keep it
            return binary
        if out_dir.exists():
            shutil.rmtree(out_dir, ignore_errors=True)
        try:
            os.replace(work, out_dir)
        except OSError:
            if not binary.is_file():  # not a race another build won: a real failure
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return binary


def _source_args(work: Path, src: Path, rel: str, replace: Mapping[str, str]) -> list[str]:
    """``-c FILE`` for the tree file ``rel``, or for its replacement (written under ``work/replaced/``)."""
    if rel not in replace:
        return ["-c", str(src / rel)]
    copy = work / "replaced" / rel
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(replace[rel])
    # quoted includes resolve next to the original; __FILE__ reads as in a normal build
    return ["-iquote", str((src / rel).parent), f"-fmacro-prefix-map={work / 'replaced'}/=",
            "-c", str(copy)]


def _build_in(work: Path, src: Path, version: tuple[int, int, int, str], cc: str,
              replace: Mapping[str, str]) -> None:
    gen = work / "gen"
    (gen / "linux").mkdir(parents=True)
    (gen / "linuxpt").mkdir(parents=True)
    major, minor, sub, extra = version
    amd = has_amd(src)
    vtd = has_vtd(src)
    virtio = has_virtio(src)
    built = drivers(src)
    users = "\n".join(replace[f] if f in replace else (src / f).read_text(errors="replace")
                      for f in KERNEL_SOURCES)
    users += (src / "drivers/iommu/iommu-pages.h").read_text(errors="replace") \
        if (src / "drivers/iommu/iommu-pages.h").is_file() else ""
    iommu_h = (src / "include/linux/iommu.h").read_text(errors="replace")
    try:
        gather = extract_gather(iommu_h, needed_by=users, origin=str(src / "include/linux/iommu.h"))
    except ValueError as exc:
        raise KernelTreeError(f"{src / 'include/linux/iommu.h'}: cannot extract the gather "
                              f"helpers: {exc}") from None
    (gen / "linuxpt" / "iommu_gather.h").write_text(gather)
    # the tree's own io-pgtable.h, by absolute path (the file stays in the tree)
    (gen / "linux" / "io-pgtable.h").write_text(
        "/* generated by linuxpt/build.py: the tree's own io-pgtable.h */\n"
        f'#include "{src / "include/linux/io-pgtable.h"}"\n')
    (gen / "linuxpt" / "version.h").write_text(
        "/* generated by linuxpt/build.py from the tree's Makefile */\n"
        f'#define LINUXPT_KERNEL_VERSION "{major}.{minor}.{sub}{extra}"\n'
        f'#define LINUXPT_KERNEL_SERIES "{major}.{minor}"\n'
        f"#define LINUXPT_KVER {(major << 16) | (minor << 8) | min(sub, 255)}\n"
        f"#define LINUXPT_MTK_SINGLE_PAGE {int(mtk_single_page(src))}\n"
        f"#define LINUXPT_MSM_SINGLE_PAGE {int(msm_single_page(src))}\n"
        f"#define LINUXPT_HAVE_AMD {int(amd)}\n"
        f"#define LINUXPT_HAVE_VTD {int(vtd)}\n"
        f"#define LINUXPT_HAVE_VIRTIO {int(virtio)}\n"
        f"#define LINUXPT_VIRTIO_SYNC_MAP {int(virtio and virtio_sync_map(src))}\n"
        + "".join(f"#define LINUXPT_HAVE_{fmt.upper().replace('-', '_')} {int(fmt in built)}\n"
                  for fmt in DRIVER_SOURCES)
        # a tree whose s390-iommu.c is not built because its table is pci_dma.c's (6.1)
        + f"#define LINUXPT_S390_PCI_DMA "
          f"{int((src / DRIVER_SOURCES['s390']).is_file() and 's390' not in built)}\n")
    for fmt, rel in built.items():
        # the tree's driver, by absolute path: its quoted includes ("iommu-pages.h")
        # resolve next to it, in the tree
        (gen / "linuxpt" / f"{fmt}_driver.h").write_text(
            f"/* generated by linuxpt/build.py: the tree's own {rel}, compiled whole */\n"
            f'#include "{src / rel}"\n')
    if vtd:
        (gen / "linuxpt" / "vtd_extracted.h").write_text(extract_vtd(src))
    if virtio:
        (gen / "linuxpt" / "virtio_extracted.h").write_text(extract_virtio(src))
        for name in VIRTIO_WRAPPED:
            (gen / "linux" / name).write_text(
                f"/* generated by linuxpt/build.py: the tree's own include/linux/{name} */\n"
                f'#include "{src / "include/linux" / name}"\n')
        (gen / "linuxpt" / "virtio_uapi.h").write_text(
            "/* generated by linuxpt/build.py: the tree's own include/uapi/linux/virtio_iommu.h */\n"
            f'#include "{src / "include/uapi/linux/virtio_iommu.h"}"\n')
        (gen / "linuxpt" / "virtio_lib.h").write_text(
            "/* generated by linuxpt/build.py: the tree's own interval tree, compiled whole */\n"
            f'#include "{src / "lib/rbtree.c"}"\n#include "{src / "lib/interval_tree.c"}"\n')
    if "s390" in built:
        # the tree's own arch header, by absolute path, for s390-iommu.c's <asm/pci_dma.h>
        (gen / "asm").mkdir()
        (gen / "asm" / "pci_dma.h").write_text(
            "/* generated by linuxpt/build.py: the tree's own arch/s390/include/asm/pci_dma.h */\n"
            f'#include "{src / S390_HEADERS[1]}"\n')
    config = amd_config(src) if amd else {"LINUXPT_AMD_PGTBL_CFG": 0, "LINUXPT_AMD_V1_ALLOCS_ROOT": 0}
    (gen / "linuxpt" / "amd_config.h").write_text(
        "/* generated by linuxpt/build.py from the tree's drivers/iommu/amd (see glue_amd.c) */\n"
        + "".join(f"#define {k} {v}\n" for k, v in config.items()))

    kernel_flags = CFLAGS + ["-nostdinc", "-ffreestanding", "-fno-builtin-printf",
                             f"-fmacro-prefix-map={src}/=",
                             "-I", str(gen), "-I", str(SHIM_DIR / "include")]
    if amd:
        kernel_flags.append("-DCONFIG_AMD_IOMMU=1")
    objects = []
    for rel in KERNEL_SOURCES + (AMD_SOURCES if amd else []):
        obj = work / (Path(rel).stem + ".o")
        _compile(cc, kernel_flags + _source_args(work, src, rel, replace) + ["-o", str(obj)],
                 rel, work)
        objects.append(obj)
    obj = work / "glue.o"
    _compile(cc, kernel_flags + ["-c", str(SHIM_DIR / "glue.c"), "-o", str(obj)],
             "linuxpt/shim/glue.c", work)
    objects.append(obj)
    if amd:
        obj = work / "glue_amd.o"
        _compile(cc, kernel_flags + ["-I", str(src / "drivers/iommu/amd"), "-c",
                                     str(SHIM_DIR / "glue_amd.c"), "-o", str(obj)],
                 "linuxpt/shim/glue_amd.c", work)
        objects.append(obj)
    for wanted, glue, origin in ((vtd, "glue_vtd", VTD_FILES[1]),
                                 (virtio, "glue_virtio", VIRTIO_DRIVER)):
        if not wanted:
            continue
        obj = work / f"{glue}.o"
        # extracted functions: a kernel helper the shim lacks must not pass as an implicit call
        _compile(cc, kernel_flags + ["-Werror=implicit-function-declaration", "-c",
                                     str(SHIM_DIR / f"{glue}.c"), "-o", str(obj)],
                 f"linuxpt/shim/{glue}.c (with {origin})", work)
        objects.append(obj)
    for fmt, rel in built.items():
        # a whole driver: its iommu_ops initialisers mix versions' member types
        # (6.1's of_xlate takes a non-const of_phandle_args), a warning GCC 14 makes an error
        obj = work / f"glue_{fmt}.o"
        _compile(cc, kernel_flags + ["-Wno-error=incompatible-pointer-types", "-c",
                                     str(SHIM_DIR / f"glue_{fmt}.c"), "-o", str(obj)],
                 f"linuxpt/shim/glue_{fmt}.c (with {rel})", work)
        objects.append(obj)
    for name in ("runtime.c", "harness.c"):
        obj = work / (Path(name).stem + ".o")
        _compile(cc, CFLAGS + ["-c", str(SHIM_DIR / name), "-o", str(obj)],
                 f"linuxpt/shim/{name}", work)
        objects.append(obj)
    _compile(cc, [str(o) for o in objects] + ["-o", str(work / BINARY_NAME)], "the harness (link)",
             work)
