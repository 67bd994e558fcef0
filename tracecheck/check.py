"""Replay a kernel IOMMU log through spec.ReferenceDomain and report where they disagree.

The log is read as calls to the IOMMU API: a ``map`` event is an iommu_map that
succeeded, an ``unmap`` event an iommu_unmap and its byte count, a ``map:`` /
``unmap this:`` line a call whose outcome the dynamic-debug lines tell.  Each
call is replayed on a :class:`spec.ReferenceDomain` and the checker keeps, next
to the model, what the trace has shown about every IOVA range:

* *known* ranges -- mapped by a map in the trace, unmapped by an unmap in the
  trace, or (``complete=True``) empty from the first line on;
* everything else is *unknown*: an excerpt that starts mid-stream says nothing
  about what was mapped before it, so nothing there is checked.

Only known state is checked (rules in :mod:`tracecheck.rules`).  After a
finding the checker believes the trace and forgets whatever the spec and the
trace disagree about, so one disagreement is reported once.

The model holds leaves only where the knowledge says "mapped"; a trace's
events of several devices (the ``dev=`` variant) go to one domain per device.
Prot is not traced, so maps are replayed with IOMMU_READ | IOMMU_WRITE.
"""

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Iterable

from spec import IOMMU_READ, IOMMU_WRITE, RULES, ReferenceDomain, errno_name, pgsize_and_count

from . import parse as P
from .dyndbg import DYN_MAPS_KEPT, PendingMap, owner
from .fmt import duration, hex16, human, span
from .ranges import RangeMap
from .rules import (TRACE_MAP_OUTCOME, TRACE_MAP_OVER_LIVE, TRACE_MISALIGNED,
                    TRACE_PGSIZE_DECISION, TRACE_STALE_PTE, TRACE_UNMAPPED_SIZE,
                    TRACE_USE_AFTER_UNMAP, TraceRule)

U64 = 1 << 64
PROT = IOMMU_READ | IOMMU_WRITE
MAPPED, UNMAPPED, EMPTY = "mapped", "unmapped", "empty"
#: A reproduction longer than this many calls is not printed.
REPRO_MAX_CALLS = 40
#: Reproductions are built for at most this many findings per file.
REPRO_MAX_FINDINGS = 20
PROGRESS_EVERY = 100_000


@dataclass(frozen=True)
class Finding:
    """One contradiction between the trace and the spec.

    ``loc`` is the line; ``rule`` a name in :data:`tracecheck.rules.TRACE_RULES`;
    ``model_rules`` the spec rules that decided the spec's side (may be empty);
    ``expected`` what the spec says, ``observed`` what the log shows;
    ``repro`` Python code replaying the trace's calls on spec.ReferenceDomain
    that ends in the disputed call, or None when there is none.
    """

    loc: P.Loc
    rule: str
    model_rules: tuple[str, ...]
    message: str
    expected: str = ""
    observed: str = ""
    repro: str | None = None

    def to_json(self) -> dict:
        """The finding as JSON-ready data."""
        return {"file": self.loc.file, "line": self.loc.line, "rule": self.rule,
                "model_rules": list(self.model_rules), "message": self.message,
                "expected": self.expected, "observed": self.observed, "repro": self.repro}


@dataclass
class FileReport:
    """What checking one log found.

    ``events`` counts records by kind (:attr:`tracecheck.parse.Record.kind`);
    ``skipped`` maps a skip reason to ``(count, first line)``; ``malformed`` lists
    ``(loc, message)`` for lines that name an event but cannot be read;
    ``pages_spec`` counts the pages (by size in bytes) the spec chose for the
    replayed maps, ``pages_kernel`` those the kernel's ``mapping:`` lines name;
    ``notes`` are facts worth reading that are not findings.
    """

    file: str
    lines: int = 0
    events: Counter = field(default_factory=Counter)
    skipped: dict = field(default_factory=dict)
    malformed: list = field(default_factory=list)
    findings: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    pages_spec: Counter = field(default_factory=Counter)
    pages_kernel: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class _Known:
    state: str               # MAPPED, UNMAPPED or EMPTY
    loc: P.Loc | None        # the event that made it so (None for EMPTY)
    ts: Decimal | None
    iova: int                # that event's whole range, for messages
    size: int


@dataclass(frozen=True)
class _Call:
    """A call the trace shows, with the result the trace gives for it."""

    op: str                  # "map" or "unmap"
    iova: int
    paddr: int
    size: int
    result: int              # map: 0; unmap: the traced byte count
    loc: P.Loc

    @property
    def lo(self) -> int:
        return self.iova

    @property
    def hi(self) -> int:
        return self.iova + max(self.size, self.result if self.op == "unmap" else 0, 1)


@dataclass
class _DynMap(PendingMap):
    mapped: bool = False     # the model mapped it
    confirmed: bool = False  # an ftrace map event repeated it


@dataclass
class _Group:
    """An ``unmap this:`` line and the ``unmapped:`` lines that followed it."""

    rec: P.DbgUnmapThis
    done: int = 0

    @property
    def next_iova(self) -> int:
        return self.rec.iova + self.done


class _Domain:
    def __init__(self, checker: "TraceChecker") -> None:
        self.model = ReferenceDomain(checker.profile, checker.semantics, checker.pgsize_bitmap)
        self.known = RangeMap()
        if checker.complete:
            self.known.assign(0, U64, _Known(EMPTY, None, None, 0, U64))
        self.history: list[_Call] = []
        self.dyn_maps: list[_DynMap] = []
        self.groups: list[_Group] = []
        self.closed: list[tuple[int, int, int]] = []  # (iova, size, unmapped) of recently closed groups


class TraceChecker:
    """Replays the records of one log and collects findings in :attr:`report`.

    ``TraceChecker(profile, semantics=None, pgsize_bitmap=None, complete=False,
    file="<trace>")``: profile and semantics by name (as for
    spec.ReferenceDomain; KeyError for unknown names, SpecUsageError for a bad
    bitmap).  ``complete`` declares that the log starts from an empty domain.
    Feed records in order with :meth:`feed`, then call :meth:`finish` once.
    """

    def __init__(self, profile: str, semantics: str | None = None,
                 pgsize_bitmap: int | None = None, complete: bool = False,
                 file: str = "<trace>") -> None:
        probe = ReferenceDomain(profile, semantics, pgsize_bitmap)
        self.profile = probe.profile.name
        self.semantics = probe.semantics.name
        self.pgsize_bitmap = probe.pgsize_bitmap
        self.complete = complete
        self.report = FileReport(file)
        self._domains: dict[str | None, _Domain] = {}
        self._repro_budget = REPRO_MAX_FINDINGS
        self._formats: dict[str, P.Loc] = {}
        self._ptes: list[P.PteAlreadySet] = []

    # -- plumbing -------------------------------------------------------------
    def _dom(self, key: str | None = None) -> _Domain:
        dom = self._domains.get(key)
        if dom is None:
            dom = self._domains[key] = _Domain(self)
        return dom

    def _find(self, rec: P.Record, rule: TraceRule, model_rules, message: str,
              expected: str = "", observed: str = "", repro: str | None = None) -> None:
        self.report.findings.append(
            Finding(rec.loc, rule.name, tuple(model_rules), message, expected, observed, repro))

    def feed(self, rec: P.Record) -> None:
        """Replay one record."""
        self.report.lines += 1
        if isinstance(rec, P.Skipped):
            count, first = self.report.skipped.get(rec.reason, (0, rec.loc))
            self.report.skipped[rec.reason] = (count + 1, first)
            return
        if isinstance(rec, P.Malformed):
            self.report.malformed.append((rec.loc, rec.message))
            return
        self.report.events[rec.kind] += 1
        handler = getattr(self, f"_on_{rec.kind}")
        handler(rec)

    def finish(self) -> FileReport:
        """End of the log: settle pending dynamic-debug unmaps and write notes.  Returns the report."""
        has_mapping_lines = self.report.events["dyndbg_mapping"] > 0
        for dom in self._domains.values():
            for group in list(dom.groups):
                self._close_group(dom, group, at_eof=True)
            for dm in dom.dyn_maps:
                if has_mapping_lines and not dm.lines:
                    self.report.notes.append(
                        (dm.rec.loc, "this map: has no mapping: line in the log (the excerpt "
                                     "ends, or lines were left out)"))
        if "old" in self._formats and "range" in self._formats:
            self.report.notes.append(
                (None, f"the log mixes the old ftrace format (first at line "
                       f"{self._formats['old'].line}) and the range format (first at line "
                       f"{self._formats['range'].line}): logs of two kernels concatenated?"))
        if self._ptes:
            first, last = self._ptes[0], self._ptes[-1]
            self.report.notes.append(
                (first.loc, f"{len(self._ptes)} Intel VT-d 'DMA PTE for vPFN ... already set' "
                            f"lines (IOVAs {hex16(min(p.iova for p in self._ptes))} to "
                            f"{hex16(max(p.iova for p in self._ptes))}, last at line "
                            f"{last.loc.line}): maps that found a PTE still present; driver "
                            f"errors, not map/unmap events, so counted and not replayed"))
        if not any(self.report.events.values()):
            self.report.notes.append(
                (None, "no IOMMU events in this log" if self.report.lines else "the log is empty"))
        return self.report

    # -- state helpers ----------------------------------------------------------
    def _forget(self, dom: _Domain, lo: int, hi: int) -> None:
        """Make [lo, hi) unknown, with every leaf that overlaps it (checker bookkeeping,
        not an API call, so the model's leaf map is edited directly)."""
        hi = min(hi, U64)
        if hi <= lo:
            return
        state = dom.model.state
        for run in state.overlapping(lo, hi):
            pg = run.pgsize
            a = run.iova + (max(lo, run.iova) - run.iova) // pg * pg
            b = run.iova + -(-(min(hi, run.end) - run.iova) // pg) * pg
            state.remove(a, b)
            dom.known.clear(a, b)
        dom.known.clear(lo, hi)

    def _describe(self, dom: _Domain, lo: int, hi: int) -> str:
        """What the trace showed about [lo, hi), for messages."""
        parts = []
        for s, e, k in dom.known.overlapping(lo, min(hi, U64)):
            where = f"line {k.loc.line}" if k.loc else "the start"
            what = {MAPPED: f"mapped by {span(k.iova, k.size)} at {where}",
                    UNMAPPED: f"unmapped by {span(k.iova, k.size)} at {where}",
                    EMPTY: "empty since the start (--complete)"}[k.state]
            if what not in parts:
                parts.append(what)
        return "; ".join(parts) or "unknown"

    def _settle(self, dom: _Domain, lo: int, hi: int) -> None:
        """Close pending ``unmap this:`` groups that overlap [lo, hi) before it is touched."""
        for group in list(dom.groups):
            g_lo = group.rec.iova
            g_hi = g_lo + max(group.rec.size, group.done, 1)
            if g_lo < hi and lo < g_hi:
                self._close_group(dom, group, at_eof=False)

    # -- reproductions ----------------------------------------------------------
    def _repro(self, dom: _Domain, final: tuple, expected: int) -> str | None:
        """Python code: the trace's calls that touch the disputed range, then the disputed call.

        ``final`` is ``("map", iova, paddr, size)``, ``("unmap", iova, size)`` or
        ``("iova_to_phys", iova)``.  Every call must give on a fresh domain what the
        trace says it gave, and the last one ``expected``; otherwise None.
        """
        if self._repro_budget <= 0:
            return None
        self._repro_budget -= 1
        lo = final[1]
        hi = lo + max(final[-1] if final[0] != "iova_to_phys" else 1, 1)
        chosen: set[int] = set()
        grown = True
        while grown:
            grown = False
            for i, call in enumerate(dom.history):
                if i not in chosen and call.lo < hi and lo < call.hi:
                    chosen.add(i)
                    lo, hi = min(lo, call.lo), max(hi, call.hi)
                    grown = True
            if len(chosen) > REPRO_MAX_CALLS:
                return None
        d = ReferenceDomain(self.profile, self.semantics, self.pgsize_bitmap)
        bitmap = ("" if self.pgsize_bitmap == d.profile.pgsize_bitmap
                  else f", pgsize_bitmap={self.pgsize_bitmap:#x}")
        code = ["from spec import ReferenceDomain, IOMMU_READ, IOMMU_WRITE",
                f"d = ReferenceDomain({self.profile!r}, {self.semantics!r}{bitmap})"]
        for i in sorted(chosen):
            c = dom.history[i]
            if c.op == "map":
                got = d.map(c.iova, c.paddr, c.size, PROT)
                text = f"d.map({hex16(c.iova)}, {hex16(c.paddr)}, {c.size:#x}, IOMMU_READ | IOMMU_WRITE)"
            else:
                got = d.unmap(c.iova, c.size)
                text = f"d.unmap({hex16(c.iova)}, {c.size:#x})"
            if got != c.result:
                return None
            code.append(f"{text}  # line {c.loc.line}: {errno_name(got)}")
        if final[0] == "map":
            got = d.map(final[1], final[2], final[3], PROT)
            text = f"d.map({hex16(final[1])}, {hex16(final[2])}, {final[3]:#x}, IOMMU_READ | IOMMU_WRITE)"
        elif final[0] == "unmap":
            got = d.unmap(final[1], final[2])
            text = f"d.unmap({hex16(final[1])}, {final[2]:#x})"
        else:
            got = d.iova_to_phys(final[1])
            text = f"d.iova_to_phys({hex16(final[1])})"
        if got != expected:
            return None
        rules = f" ({', '.join(d.decided)})" if d.decided else ""
        code.append(f"{text}  # spec: {errno_name(got)}{rules}")
        return "\n".join(code)

    # -- maps -------------------------------------------------------------------
    def _on_map(self, rec: P.Map) -> None:
        self._formats.setdefault(rec.fmt, rec.loc)
        dom = self._dom(rec.dev)
        if rec.dev is None:
            for dm in reversed(dom.dyn_maps):
                if (not dm.confirmed and (dm.rec.iova, dm.rec.paddr, dm.rec.size)
                        == (rec.iova, rec.paddr, rec.size)):
                    dm.confirmed = True  # the same call, logged by dyndbg and ftrace
                    if not dm.mapped and dom.model.map(rec.iova, rec.paddr, rec.size, PROT) == 0:
                        self._mapped(dom, rec, rec.iova, rec.paddr, rec.size)
                    return
        self._settle(dom, rec.iova, rec.iova + max(rec.size, 1))
        self._map(dom, rec, rec.iova, rec.paddr, rec.size, outcome_known=True)

    def _on_dyndbg_map(self, rec: P.DbgMap) -> None:
        dom = self._dom()
        self._settle(dom, rec.iova, rec.iova + max(rec.size, 1))
        mapped = self._map(dom, rec, rec.iova, rec.paddr, rec.size, outcome_known=False)
        dom.dyn_maps.append(_DynMap(rec, mapped=mapped))
        del dom.dyn_maps[:-DYN_MAPS_KEPT]

    def _map(self, dom: _Domain, rec: P.Record, iova: int, paddr: int, size: int,
             outcome_known: bool) -> bool:
        """Replay a map; returns whether the model now holds it."""
        d = dom.model
        end = min(iova + size, U64)
        ret = d.map(iova, paddr, size, PROT)
        rules = tuple(d.decided)
        if ret == 0:
            self._mapped(dom, rec, iova, paddr, size)
            return True
        what = f"map of {span(iova, size)} -> {hex16(paddr)}"
        observed = ("the map succeeded (ftrace traces only successful maps)"
                    if outcome_known else "map: line (the outcome is not logged)")
        expected = f"{errno_name(ret)} ({', '.join(rules)})"
        repro = self._repro(dom, ("map", iova, paddr, size), ret)
        if "MAP_ALIGN" in rules:
            bad = _misaligned(d.min_pagesz, iova=iova, paddr=paddr, size=size)
            self._find(rec, TRACE_MISALIGNED, rules,
                       f"{what}: {bad} not a multiple of the profile's smallest page "
                       f"{human(d.min_pagesz)}; the kernel checks alignment before it logs a "
                       f"map, so the profile may be wrong", expected, observed, repro)
        elif "MAP_EXISTS" in rules:  # the model rolled back; the knowledge is as before
            self._find(rec, TRACE_MAP_OVER_LIVE, rules,
                       f"{what} over live mappings: {self._describe(dom, iova, end)}",
                       expected, observed, repro)
        else:
            self._find(rec, TRACE_MAP_OUTCOME, rules, f"{what}: the spec refuses it "
                       f"({', '.join(rules)}) on profile {self.profile} / {self.semantics}",
                       expected, observed, repro)
        self._forget(dom, iova, end)
        if outcome_known and "MAP_EXISTS" in rules and d.map(iova, paddr, size, PROT) == 0:
            self._mapped(dom, rec, iova, paddr, size)
            return True
        return False

    def _mapped(self, dom: _Domain, rec: P.Record, iova: int, paddr: int, size: int) -> None:
        """Record a map the model has just made: known state, history, page counts."""
        dom.known.assign(iova, min(iova + size, U64), _Known(MAPPED, rec.loc, rec.ts, iova, size))
        dom.history.append(_Call("map", iova, paddr, size, 0, rec.loc))
        end = iova + size
        for run in dom.model.state.overlapping(iova, end):  # the leaves the map just made
            self.report.pages_spec[run.pgsize] += (min(run.end, end) - max(run.iova, iova)) // run.pgsize

    def _on_dyndbg_mapping(self, rec: P.DbgMapping) -> None:
        dom = self._dom()
        bitmap = dom.model.pgsize_bitmap
        self.report.pages_kernel[rec.pgsize] += 1 if rec.count is None else rec.count
        pm = owner(dom.dyn_maps, rec)
        logged = f"pgsize {rec.pgsize:#x}" + ("" if rec.count is None else f" count {rec.count}")
        if pm is None:
            pg = rec.pgsize
            if (pg & (pg - 1) or not pg & bitmap or (rec.iova | rec.paddr) & (pg - 1)
                    or rec.count == 0):
                self._find(rec, TRACE_PGSIZE_DECISION, ("PGSIZE_SELECT",),
                           f"mapping: at iova {hex16(rec.iova)} pa {hex16(rec.paddr)}: {logged} is "
                           f"not a supported page ({_pages(bitmap)}) to which iova and pa are "
                           f"aligned, with count >= 1", "a supported, aligned page size",
                           f"{logged}")
            return
        m = pm.rec
        remaining = pm.take(rec)
        pg, count = pgsize_and_count(bitmap, rec.iova, rec.paddr, remaining)
        if rec.pgsize == pg and rec.count in (None, count):
            return
        want = f"pgsize {pg:#x}" + ("" if rec.count is None else f" count {count}")
        self._find(rec, TRACE_PGSIZE_DECISION, ("PGSIZE_SELECT",),
                   f"for the map: at line {m.loc.line}, at iova {hex16(rec.iova)} pa "
                   f"{hex16(rec.paddr)} with {remaining:#x} bytes left, the kernel chose "
                   f"{logged}; the spec chooses {want}",
                   f"{want}", f"{logged}",
                   "from spec import pgsize_and_count\n"
                   f"pgsize_and_count({bitmap:#x}, {hex16(rec.iova)}, {hex16(rec.paddr)}, "
                   f"{remaining:#x})  # spec: ({pg:#x}, {count})")

    # -- unmaps -----------------------------------------------------------------
    def _on_unmap(self, rec: P.Unmap) -> None:
        self._formats.setdefault(rec.fmt, rec.loc)
        dom = self._dom(rec.dev)
        # The same call logged by dyndbg and ftrace is one call: same range, same bytes
        # unmapped (trace_unmap follows the call's last 'unmapped:' line in __iommu_unmap).
        same = (rec.iova, rec.size, rec.unmapped_size)
        if rec.dev is None and same in dom.closed:
            dom.closed.remove(same)
            return
        for group in dom.groups:
            if (group.rec.iova, group.rec.size, group.done) == same:
                dom.groups.remove(group)
                break
        self._settle(dom, rec.iova, rec.iova + max(rec.size, rec.unmapped_size, 1))
        self._unmap(dom, rec, rec.iova, rec.size, rec.unmapped_size, checkable=True)

    def _on_dyndbg_unmap_this(self, rec: P.DbgUnmapThis) -> None:
        dom = self._dom()
        self._settle(dom, rec.iova, rec.iova + max(rec.size, 1))
        dom.groups.append(_Group(rec))

    def _on_dyndbg_unmapped(self, rec: P.DbgUnmapped) -> None:
        dom = self._dom()
        for group in dom.groups:
            if group.next_iova == rec.iova and group.done < group.rec.size:
                group.done += rec.size
                if group.done >= group.rec.size:
                    self._close_group(dom, group, at_eof=False)
                return
        # A step whose 'unmap this:' is not in the log: it removed [iova, iova+size).
        self._settle(dom, rec.iova, rec.iova + max(rec.size, 1))
        self._unmap(dom, rec, rec.iova, rec.size, rec.size, checkable=False)

    def _close_group(self, dom: _Domain, group: _Group, at_eof: bool) -> None:
        dom.groups.remove(group)
        dom.closed.append((group.rec.iova, group.rec.size, group.done))
        del dom.closed[:-DYN_MAPS_KEPT]
        cut = at_eof and group.done < group.rec.size
        if cut:
            self.report.notes.append(
                (group.rec.loc, "the log ends before this 'unmap this:' is known to be "
                                f"complete ({group.done:#x} of {group.rec.size:#x} bytes "
                                "unmapped so far); its count is not checked"))
        self._unmap(dom, group.rec, group.rec.iova, group.rec.size, group.done,
                    checkable=not cut)

    def _unmap(self, dom: _Domain, rec: P.Record, iova: int, size: int, unmapped: int,
               checkable: bool) -> None:
        """Replay an unmap of size bytes at iova that the trace says removed ``unmapped`` bytes."""
        d = dom.model
        end = min(iova + size, U64)
        what = f"unmap of {span(iova, size)}"
        observed = f"unmapped {unmapped:#x} bytes"
        if RULES["UNMAP_ALIGN"].fn(d, iova, size) is not None:
            bad = _misaligned(d.min_pagesz, iova=iova, size=size)
            self._find(rec, TRACE_MISALIGNED, ("UNMAP_ALIGN",),
                       f"{what}: {bad} not a multiple of the profile's smallest page "
                       f"{human(d.min_pagesz)}; the kernel refuses such an unmap before it logs "
                       f"it, so the profile may be wrong", "0 bytes (UNMAP_ALIGN)", observed)
            self._forget(dom, iova, iova + max(size, unmapped))
            return
        whole_count = unmapped % d.min_pagesz == 0
        if checkable and dom.known.covers(iova, end):
            got = d.unmap(iova, size)
            rules = tuple(d.decided)
            if got != unmapped:
                repro = self._repro(dom, ("unmap", iova, size), got)
                hint = ""
                if got == 0 and not any(k.state == MAPPED for _, _, k in
                                        dom.known.overlapping(iova, end)):
                    hint = ("; if a map of this range failed just before, this is its "
                            "rollback, which ftrace logs although it does not log the failed map")
                self._find(rec, TRACE_UNMAPPED_SIZE, rules,
                           f"{what}: the trace says {unmapped:#x} bytes, the spec unmaps "
                           f"{got:#x} from the known state "
                           f"({self._describe(dom, iova, end)}){hint}",
                           f"{got:#x} bytes" + (f" ({', '.join(rules)})" if rules else ""),
                           observed, repro)
                self._forget(dom, iova, iova + max(size, got, unmapped))
        else:
            if not whole_count:
                self._find(rec, TRACE_UNMAPPED_SIZE, (),
                           f"{what}: {unmapped:#x} bytes is not a multiple of the smallest "
                           f"page {human(d.min_pagesz)}",
                           "a multiple of the smallest page", observed)
            elif unmapped > size and d.semantics.partial_unmap not in ("whole", "whole_any"):
                self._find(rec, TRACE_UNMAPPED_SIZE, ("UNMAP_PARTIAL_LEAF",),
                           f"{what}: {unmapped:#x} bytes is more than asked, which only the "
                           f"'whole' partial-unmap variant allows; {self.semantics} unmaps at "
                           f"most the request", f"at most {size:#x} bytes", observed)
            self._forget(dom, iova, iova + (unmapped if whole_count else max(size, unmapped)))
        if whole_count and unmapped:
            dom.known.assign(iova, min(iova + unmapped, U64),
                             _Known(UNMAPPED, rec.loc, rec.ts, iova, unmapped))
        dom.history.append(_Call("unmap", iova, 0, size, unmapped, rec.loc))

    def _on_dyndbg_unaligned(self, rec: P.DbgUnaligned) -> None:
        d = self._dom().model
        is_map = rec.paddr is not None
        fields = dict(iova=rec.iova, paddr=rec.paddr, size=rec.size) if is_map else \
            dict(iova=rec.iova, size=rec.size)
        minp = rec.min_pagesz
        bad = _misaligned(minp, **fields) if minp and not minp & (minp - 1) else None
        if is_map:
            spec_ret = RULES["MAP_ALIGN"].fn(d, rec.iova, rec.paddr, rec.size)
            rule, kernel = "MAP_ALIGN", "refused, iommu_map returned -EINVAL"
        else:
            spec_ret = RULES["UNMAP_ALIGN"].fn(d, rec.iova, rec.size)
            rule, kernel = "UNMAP_ALIGN", "refused, iommu_unmap returned 0"
        request = (f"map of {span(rec.iova, rec.size)} -> {hex16(rec.paddr)}" if is_map
                   else f"unmap of {span(rec.iova, rec.size)}")
        message = (f"{request} refused as misaligned: {bad} not a multiple of min_pagesz "
                   f"{minp:#x}" if bad else
                   f"{request} logged as misaligned, but its values are multiples of its "
                   f"min_pagesz {minp:#x}")
        if minp != d.min_pagesz:
            message += (f" (the log's min_pagesz {minp:#x} is not the profile's "
                        f"{d.min_pagesz:#x}: is the profile right?)")
        if spec_ret is None:
            message += "; the profile's smallest page would accept it"
            expected = f"accepted on {self.profile}"
        else:
            expected = f"{errno_name(spec_ret)} ({rule})"
        self._find(rec, TRACE_MISALIGNED, (rule,) if spec_ret is not None else (),
                   message, expected, kernel)

    # -- faults and driver messages ---------------------------------------------
    def _on_io_page_fault(self, rec: P.Fault) -> None:
        dom = self._domains.get(rec.device) or self._dom()
        self._settle(dom, rec.iova, rec.iova + 1)
        hit = dom.known.get(rec.iova)
        if hit is None or hit[2].state != UNMAPPED:
            return
        k = hit[2]
        elapsed = rec.ts - k.ts if rec.ts is not None and k.ts is not None else None
        access = "write" if rec.flags & 1 else "read"
        self._find(rec, TRACE_USE_AFTER_UNMAP, (),
                   f"{rec.device} ({rec.driver or 'no driver'}) faulted on a {access} at iova "
                   f"{hex16(rec.iova)}, inside {span(k.iova, k.size)} which the unmap at line "
                   f"{k.loc.line} removed {duration(elapsed)} earlier",
                   f"iova_to_phys({hex16(rec.iova)}) = 0 since line {k.loc.line}",
                   "the device still used it",
                   self._repro(dom, ("iova_to_phys", rec.iova), 0))

    def _on_intel_pte_already_set(self, rec: P.PteAlreadySet) -> None:
        self._ptes.append(rec)
        dom = self._dom()
        hit = dom.known.get(rec.iova)
        if hit is None or hit[2].state != UNMAPPED:
            return
        k = hit[2]
        same = "the same value" if rec.old == rec.new else f"{rec.old:#x}, not {rec.new:#x}"
        self._find(rec, TRACE_STALE_PTE, (),
                   f"a map found the PTE for iova {hex16(rec.iova)} still set ({same}), inside "
                   f"{span(k.iova, k.size)} which the unmap at line {k.loc.line} reported "
                   f"removed", f"the page is unmapped since line {k.loc.line}",
                   "the PTE was still present")


def _misaligned(min_pagesz: int, **values: int) -> str:
    """``"paddr 0x10be33650"`` -- the named values that are not multiples of min_pagesz."""
    bad = [f"{'pa' if name == 'paddr' else name} {value:#x}"
           for name, value in values.items() if value % min_pagesz]
    return (" and ".join(bad) + (" is" if len(bad) == 1 else " are")) if bad else "nothing is"


def _pages(bitmap: int) -> str:
    return " ".join(human(1 << b) for b in range(64) if bitmap >> b & 1)


def check_lines(lines: Iterable[str | None], profile: str, *, semantics: str | None = None,
                pgsize_bitmap: int | None = None, complete: bool = False,
                file: str = "<trace>",
                progress: Callable[[int], None] | None = None) -> FileReport:
    """Check one log given as lines (str, or None for an undecodable line).  Never raises
    for any text; KeyError / SpecUsageError for a bad profile, variant or bitmap."""
    checker = TraceChecker(profile, semantics, pgsize_bitmap, complete, file)
    for rec in P.parse_lines(lines, file):
        checker.feed(rec)
        if progress is not None and rec.loc.line % PROGRESS_EVERY == 0:
            progress(rec.loc.line)
    return checker.finish()


def check_file(path: str, profile: str, **options) -> FileReport:
    """Check one log file.  Raises :class:`tracecheck.parse.TraceInputError` when the file
    cannot be read or holds no text; options as for :func:`check_lines`."""
    lines = P.read_trace(path)
    report = check_lines(lines, profile, file=path, **options)
    binary = report.skipped.get(P.BINARY, (0, None))[0]
    blank = report.skipped.get(P.BLANK, (0, None))[0]
    if binary and binary == report.lines - blank:
        raise P.TraceInputError(f"{path}: not a text log: every line is binary data")
    if not any(report.events.values()):  # a check of nothing must not pass
        raise P.TraceInputError(f"{path}: {'no IOMMU events in this log' if report.lines else 'the log is empty'}"
                                f", so nothing was checked")
    return report


@dataclass
class TraceReport:
    """The result of checking several logs with one profile; each log is checked on its own."""

    profile: str
    semantics: str
    pgsize_bitmap: int
    complete: bool
    files: list[FileReport]

    @property
    def findings(self) -> list[Finding]:
        """Every finding of every log, in order."""
        return [f for r in self.files for f in r.findings]

    @property
    def exit_status(self) -> int:
        """0 when every log is consistent with the spec, 1 when there are findings."""
        return 1 if self.findings else 0


def check_files(paths: Iterable[str], profile: str, *, semantics: str | None = None,
                pgsize_bitmap: int | None = None, complete: bool = False,
                progress: Callable[[int], None] | None = None) -> TraceReport:
    """Check each log in ``paths`` on its own domain(s); raises TraceInputError, KeyError or
    SpecUsageError as :func:`check_file` does."""
    probe = ReferenceDomain(profile, semantics, pgsize_bitmap)
    files = [check_file(p, profile, semantics=semantics, pgsize_bitmap=pgsize_bitmap,
                        complete=complete, progress=progress) for p in paths]
    return TraceReport(probe.profile.name, probe.semantics.name, probe.pgsize_bitmap,
                       complete, files)
