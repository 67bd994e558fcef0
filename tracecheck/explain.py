"""Explain the page sizes Linux chooses for one map, and what a better-aligned buffer would need.

The choice itself is spec.pgsize (``greedy_chunks`` / ``pgsize_and_count``, after
drivers/iommu/iommu.c ``iommu_pgsize``); this module only says *why* each step
took the page size it did.  At each step the page size is the largest
supported page that is no larger than the remaining size and to which both the
IOVA and the physical address are aligned, so the next larger page the
hardware offers was ruled out by one or more of:

* ``iova`` -- the IOVA is not aligned to it;
* ``paddr`` -- the physical address is not aligned to it;
* ``size`` -- fewer bytes remain than it holds;
* ``hardware`` -- there is no larger page in the profile's pgsize_bitmap.

A step's count stops short of the remaining size (``stops_at``) when iova and
paddr sit at the same offset in the next larger page and a whole such page
fits after its boundary: the next step can then use it.
"""

from dataclasses import dataclass

from tabulate import tabulate

from spec import (IOMMU_READ, IOMMU_WRITE, ReferenceDomain, errno_name, greedy_chunks,
                  pgsize_and_count)

from . import parse as P
from .dyndbg import DYN_MAPS_KEPT, PendingMap, owner
from .fmt import chunks_text, hex16, human, pages_text, plural

#: Reason codes, in the order they are listed.
CAPS = {
    "iova": "iova not {next}-aligned",
    "paddr": "paddr not {next}-aligned",
    "size": "{remaining} left < {next}",
    "hardware": "largest page offered",
}


@dataclass(frozen=True)
class Step:
    """One batch of the core's map loop: ``count`` pages of ``pgsize`` bytes at iova -> paddr.

    ``remaining`` is the bytes left before the step; ``next_pgsize`` the next
    larger supported page (None if there is none); ``capped_by`` the reason
    codes of :data:`CAPS`; ``stops_at`` the boundary (an IOVA) where the run
    stops early so the next step can use ``next_pgsize``, else None.
    """

    iova: int
    paddr: int
    pgsize: int
    count: int
    remaining: int
    next_pgsize: int | None
    capped_by: tuple[str, ...]
    stops_at: int | None

    @property
    def size(self) -> int:
        """Bytes this step maps."""
        return self.pgsize * self.count

    def why(self) -> str:
        """The reasons in words: ``iova not 2M-aligned, paddr not 2M-aligned``."""
        nxt = human(self.next_pgsize) if self.next_pgsize else ""
        text = ", ".join(CAPS[c].format(next=nxt, remaining=human(self.remaining))
                         for c in self.capped_by)
        if self.capped_by == ("hardware",):
            text = f"{human(self.pgsize)} is the largest page offered"
        return text


@dataclass(frozen=True)
class Layout:
    """A way to place the same buffer: ``label``, its iova/paddr/size and the pages it takes."""

    label: str
    iova: int
    paddr: int
    size: int
    chunks: tuple[tuple[int, int], ...]  # (pgsize, count), in map order

    @property
    def pages(self) -> int:
        """How many translations (page-table leaves) the layout needs."""
        return sum(count for _, count in self.chunks)


@dataclass(frozen=True)
class Explanation:
    """Why a map of ``size`` bytes at iova -> paddr takes the pages it does.

    ``ret`` is what the spec's iommu_map returns (0 or a negative errno) with
    the rules that decided it (``rules``); ``steps`` are empty unless ret is 0.
    ``layouts`` compare the buffer as given with better-aligned placements.
    """

    profile: str
    pgsize_bitmap: int
    iova: int
    paddr: int
    size: int
    ret: int
    rules: tuple[str, ...]
    steps: tuple[Step, ...]
    layouts: tuple[Layout, ...]

    @property
    def pages(self) -> int:
        """How many translations the map as given needs (0 when it fails)."""
        return sum(s.count for s in self.steps)

    def to_json(self) -> dict:
        """The explanation as JSON-ready data (numbers as ints)."""
        return {
            "profile": self.profile, "pgsize_bitmap": self.pgsize_bitmap,
            "iova": self.iova, "paddr": self.paddr, "size": self.size,
            "ret": self.ret, "ret_name": errno_name(self.ret), "rules": list(self.rules),
            "pages": self.pages,
            "steps": [{"iova": s.iova, "paddr": s.paddr, "pgsize": s.pgsize, "count": s.count,
                       "bytes": s.size, "remaining": s.remaining, "next_pgsize": s.next_pgsize,
                       "capped_by": list(s.capped_by), "why": s.why(), "stops_at": s.stops_at}
                      for s in self.steps],
            "layouts": [{"label": lay.label, "iova": lay.iova, "paddr": lay.paddr,
                         "size": lay.size, "pages": lay.pages,
                         "chunks": [[pg, count] for pg, count in lay.chunks]}
                        for lay in self.layouts],
        }


def _step(bitmap: int, iova: int, paddr: int, pgsize: int, count: int, remaining: int) -> Step:
    larger = bitmap & ~((pgsize << 1) - 1)
    nxt = larger & -larger or None
    if nxt is None:
        caps = ("hardware",)
    else:
        caps = tuple(code for code, hit in (("iova", iova % nxt), ("paddr", paddr % nxt),
                                            ("size", remaining < nxt)) if hit)
    stops_at = iova + pgsize * count if count < remaining // pgsize else None
    return Step(iova, paddr, pgsize, count, remaining, nxt, caps, stops_at)


def steps_of(pgsize_bitmap: int, iova: int, paddr: int, size: int) -> tuple[Step, ...]:
    """The explained steps of ``spec.greedy_chunks`` (same arguments; ValueError when misaligned)."""
    out = []
    done = 0
    for at, pa, pg, count in greedy_chunks(pgsize_bitmap, iova, paddr, size):
        out.append(_step(pgsize_bitmap, at, pa, pg, count, size - done))
        done += pg * count
    return tuple(out)


def _chunks(bitmap: int, iova: int, paddr: int, size: int) -> tuple[tuple[int, int], ...]:
    return tuple((pg, count) for _, _, pg, count in greedy_chunks(bitmap, iova, paddr, size))


def explain_map(profile: str, iova: int, paddr: int, size: int, *,
                semantics: str | None = None, pgsize_bitmap: int | None = None) -> Explanation:
    """Explain ``iommu_map(iova, paddr, size)`` on a fresh domain of ``profile``.

    Arguments are ints in [0, 2^64) (bytes); raises spec.SpecUsageError for
    anything else and KeyError for an unknown profile or variant.  The verdict
    comes from spec.ReferenceDomain.map, the steps from spec.greedy_chunks.
    """
    d = ReferenceDomain(profile, semantics, pgsize_bitmap)
    ret = d.map(iova, paddr, size, IOMMU_READ | IOMMU_WRITE)  # prot does not affect page sizes
    rules = tuple(d.decided)
    bitmap = d.pgsize_bitmap
    steps = steps_of(bitmap, iova, paddr, size) if ret == 0 else ()
    layouts = []
    # Other placements are only compared for a size the hardware can map at all.
    fitting = bitmap & ((1 << size.bit_length()) - 1) if size % d.min_pagesz == 0 else 0
    largest = 1 << (fitting.bit_length() - 1) if fitting else 0
    if steps:
        layouts.append(Layout("as given", iova, paddr, size, tuple((s.pgsize, s.count) for s in steps)))
    if largest:
        a_iova, a_paddr = iova & ~(largest - 1), paddr & ~(largest - 1)
        layouts.append(Layout(f"iova and paddr both {human(largest)}-aligned", a_iova, a_paddr,
                              size, _chunks(bitmap, a_iova, a_paddr, size)))
        up = -(-size // largest) * largest
        if size % largest and up < 1 << 64:
            layouts.append(Layout(f"both {human(largest)}-aligned, size rounded up to "
                                  f"{human(up)}", a_iova, a_paddr, up,
                                  _chunks(bitmap, a_iova, a_paddr, up)))
    return Explanation(d.profile.name, bitmap, iova, paddr, size, ret, rules, steps,
                       tuple(layouts))


@dataclass(frozen=True)
class KernelLine:
    """A ``mapping:`` line of the log and whether it agrees with the spec's choice there."""

    loc: P.Loc
    iova: int
    pgsize: int
    count: int | None
    spec_pgsize: int
    spec_count: int

    @property
    def agrees(self) -> bool:
        """Whether the kernel chose what spec.pgsize_and_count chooses at this point."""
        return self.pgsize == self.spec_pgsize and self.count in (None, self.spec_count)


@dataclass(frozen=True)
class TraceMap:
    """A map of a log (``loc``), explained, with the kernel's ``mapping:`` lines for it."""

    loc: P.Loc
    explanation: Explanation
    kernel: tuple[KernelLine, ...]


def explain_trace(lines, profile: str, *, file: str = "<trace>", semantics: str | None = None,
                  pgsize_bitmap: int | None = None) -> list[TraceMap]:
    """Explain every map of a log (ftrace ``map`` events and dynamic-debug ``map:`` lines).

    ``lines`` as for :func:`tracecheck.check.check_lines`.  A ``mapping:`` line is
    matched to the latest ``map:`` whose range holds its iova at the same
    physical offset, and compared with spec.pgsize_and_count for the bytes
    left.  An ftrace map that repeats the ``map:`` just logged is not repeated.
    """
    bitmap = ReferenceDomain(profile, semantics, pgsize_bitmap).pgsize_bitmap
    out: list[tuple[P.Record, Explanation, list[KernelLine]]] = []
    pending: list[PendingMap] = []
    kernel_of: dict[int, list[KernelLine]] = {}
    last_dyn = None
    for rec in P.parse_lines(lines, file):
        if isinstance(rec, (P.Map, P.DbgMap)):
            if isinstance(rec, P.Map) and last_dyn is not None and \
                    (last_dyn.iova, last_dyn.paddr, last_dyn.size) == (rec.iova, rec.paddr, rec.size):
                continue  # ftrace repeating the map: just logged
            expl = explain_map(profile, rec.iova, rec.paddr, rec.size,
                               semantics=semantics, pgsize_bitmap=pgsize_bitmap)
            out.append((rec, expl, []))
            if isinstance(rec, P.DbgMap):
                last_dyn = rec
                pending.append(PendingMap(rec))
                kernel_of[id(pending[-1])] = out[-1][2]
                del pending[:-DYN_MAPS_KEPT]
        elif isinstance(rec, P.DbgMapping):
            pm = owner(pending, rec)
            if pm is not None:
                remaining = pm.take(rec)
                pg, count = pgsize_and_count(bitmap, rec.iova, rec.paddr, remaining)
                kernel_of[id(pm)].append(
                    KernelLine(rec.loc, rec.iova, rec.pgsize, rec.count, pg, count))
    return [TraceMap(rec.loc, expl, tuple(kernel)) for rec, expl, kernel in out]


def render(expl: Explanation) -> str:
    """The explanation as text: a table of steps, the verdict and the layouts."""
    head = (f"map iova {hex16(expl.iova)} -> paddr {hex16(expl.paddr)}, size {expl.size:#x} "
            f"({expl.size} bytes) on {expl.profile} (pages {pages_text(expl.pgsize_bitmap)})")
    if expl.ret:
        return (f"{head}\nthe spec refuses this map: {errno_name(expl.ret)} "
                f"({', '.join(expl.rules)})\n")
    rows = [[i, hex16(s.iova), hex16(s.paddr), human(s.pgsize), s.count, f"{s.size:#x}",
             s.why(), f"stops at {human(s.next_pgsize)} boundary {hex16(s.stops_at)}"
             if s.stops_at is not None else "runs to the end" if i == len(expl.steps)
             else "all that fit"]
            for i, s in enumerate(expl.steps, 1)]
    table = tabulate(rows, headers=["step", "iova", "paddr", "pgsize", "count", "bytes",
                                    "no larger page because", "run"],
                     colalign=("right", "left", "left", "right", "right", "right"))
    layouts = tabulate([[lay.label, lay.pages, chunks_text(lay.chunks)] for lay in expl.layouts],
                       headers=["layout", "translations", "pages"],
                       colalign=("left", "right", "left"))
    return (f"{head}\n\n{table}\n\n{plural(expl.pages, 'translation')} "
            f"({chunks_text((s.pgsize, s.count) for s in expl.steps)})\n\n{layouts}\n")


def render_trace(maps: list[TraceMap]) -> str:
    """Every map of a log as one table: the spec's steps next to the kernel's ``mapping:`` lines."""
    rows = []
    for tm in maps:
        e = tm.explanation
        by_iova = {k.iova: k for k in tm.kernel}
        first = [f"{tm.loc.line}", hex16(e.iova), hex16(e.paddr), f"{e.size:#x}"]
        if e.ret:
            rows.append(first + ["", "", f"refused: {errno_name(e.ret)} ({', '.join(e.rules)})", ""])
            continue
        for i, s in enumerate(e.steps):
            k = by_iova.pop(s.iova, None)
            rows.append((first if i == 0 else ["", "", "", ""]) +
                        [human(s.pgsize), s.count, s.why(), _kernel_text(k)])
        for k in by_iova.values():  # a kernel step where the spec has none
            rows.append(["", "", "", "", human(k.spec_pgsize), k.spec_count,
                         f"(at {hex16(k.iova)})", _kernel_text(k)])
    return tabulate(rows, headers=["line", "iova", "paddr", "size", "pgsize", "count",
                                   "no larger page because", "kernel's mapping: line"],
                    colalign=("right", "left", "left", "right", "right", "right")) + "\n"


def _kernel_text(k: KernelLine | None) -> str:
    if k is None:
        return "-"
    said = f"pgsize {k.pgsize:#x}" + ("" if k.count is None else f" count {k.count}")
    return f"line {k.loc.line}: {said} " + ("agrees" if k.agrees else "DIFFERS")
