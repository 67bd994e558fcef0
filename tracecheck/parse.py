"""Kernel IOMMU log lines -> typed records.

One function, :func:`parse_line`, turns one line of a kernel log into one
record.  It never raises: a line that names an IOMMU event but whose fields
cannot be read becomes :class:`Malformed` (with a message saying what is
wrong), and a line that is no IOMMU event at all becomes :class:`Skipped`
(with the reason, so it can be counted).

The formats, all printed by Linux (values are kept as the kernel printed them:
addresses and sizes are ints in [0, 2^64), in bytes; timestamps are seconds):

* ftrace events of include/trace/events/iommu.h, with or without the
  ``task-pid [cpu] flags timestamp:`` prefix --

  - ``map: IOMMU: iova=0x… paddr=0x… size=N`` (the old format),
  - ``map: IOMMU: iova=0x… - 0x… paddr=0x… size=N`` (the range format),
  - ``unmap: IOMMU: iova=0x… size=N unmapped_size=N`` and its range format,
  - the ``dev=NAME`` variant of both (proposed on linux-kernel in 2021),
  - ``io_page_fault: IOMMU:DRIVER DEVICE iova=0x… flags=0x…``
    (``report_iommu_fault`` in drivers/iommu/iommu.c);

* the dynamic-debug and error lines of drivers/iommu/iommu.c (``__iommu_map``,
  ``__iommu_unmap``; the ``iommu: `` prefix is optional) --
  ``map: iova 0x… pa 0x… size 0x…``, ``mapping: iova 0x… pa 0x… pgsize 0x…
  count N`` (the ``count`` is absent before v5.14), ``unmap this: iova 0x…
  size 0x…``, ``unmapped: iova 0x… size 0x…``, and ``unaligned: iova 0x… [pa
  0x…] size 0x… min_pagesz 0x…`` (with ``pa`` from a map, without from an
  unmap);

* the Intel VT-d driver's ``DMA PTE for vPFN 0x… already set (to X not Y)``
  error (drivers/iommu/intel/iommu.c ``__domain_mapping``): not a map or unmap
  event, recorded as what it is.
"""

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

U64 = 1 << 64

#: Longer lines are skipped unread: no kernel log line comes near it.
MAX_LINE = 4096
#: Longest line read from a log file, in bytes: a longer one means the input is no
#: kernel log (``/dev/zero``, a binary), and reading stops there instead of filling memory.
MAX_READ_LINE = 1 << 20


class FieldError(ValueError):
    """A field's text is not a number in [0, 2^64); the message names the field."""


def parse_u64(text: str, name: str) -> int:
    """Read ``0x…`` hex or decimal digits as an int in [0, 2^64).

    Raises :class:`FieldError` naming ``name`` for an empty, negative,
    non-numeric or too large value.  Used for log fields and command-line
    numbers alike.
    """
    t = text.strip()
    if not t:
        raise FieldError(f"{name} is empty")
    if t.startswith("-"):
        raise FieldError(f"{name} {t!r} is negative; addresses and sizes are unsigned")
    if len(t.lstrip("0xX")) > 24 and re.fullmatch(r"0[xX][0-9a-fA-F]+|[0-9]+", t):
        raise FieldError(f"{name} ({len(t)} digits) is beyond 2^64 - 1")
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", t):
        value = int(t, 16)
    elif re.fullmatch(r"[0-9]+", t):
        value = int(t, 10)
    else:
        raise FieldError(f"{name} {t!r} is not a number (write 0x… hex or decimal digits)")
    if value >= U64:
        raise FieldError(f"{name} {t} is beyond 2^64 - 1")
    return value


@dataclass(frozen=True)
class Loc:
    """Where a record came from: ``file`` (a display name) and 1-based ``line``."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Record:
    """One parsed line: ``loc`` and ``ts`` (the timestamp in seconds, or None)."""

    loc: Loc
    ts: Decimal | None
    kind: ClassVar[str] = "record"


@dataclass(frozen=True)
class Map(Record):
    """ftrace ``map``: iommu_map succeeded for [iova, iova+size) -> paddr (traced only on success)."""

    iova: int
    paddr: int
    size: int
    dev: str | None
    fmt: str  # "old" or "range"
    kind: ClassVar[str] = "map"


@dataclass(frozen=True)
class Unmap(Record):
    """ftrace ``unmap``: iommu_unmap of size bytes at iova returned unmapped_size bytes."""

    iova: int
    size: int
    unmapped_size: int
    dev: str | None
    fmt: str
    kind: ClassVar[str] = "unmap"


@dataclass(frozen=True)
class Fault(Record):
    """ftrace ``io_page_fault``: DEVICE (bound to DRIVER) faulted at iova; flags bit 0 = write."""

    iova: int
    flags: int
    driver: str
    device: str
    kind: ClassVar[str] = "io_page_fault"


@dataclass(frozen=True)
class DbgMap(Record):
    """dynamic debug ``map:``: __iommu_map passed the alignment check; the outcome is not logged."""

    iova: int
    paddr: int
    size: int
    kind: ClassVar[str] = "dyndbg_map"


@dataclass(frozen=True)
class DbgMapping(Record):
    """dynamic debug ``mapping:``: one page-size decision; count is None before v5.14 (one page)."""

    iova: int
    paddr: int
    pgsize: int
    count: int | None
    kind: ClassVar[str] = "dyndbg_mapping"


@dataclass(frozen=True)
class DbgUnmapThis(Record):
    """dynamic debug ``unmap this:``: __iommu_unmap starts unmapping size bytes at iova."""

    iova: int
    size: int
    kind: ClassVar[str] = "dyndbg_unmap_this"


@dataclass(frozen=True)
class DbgUnmapped(Record):
    """dynamic debug ``unmapped:``: one unmap step removed size bytes at iova."""

    iova: int
    size: int
    kind: ClassVar[str] = "dyndbg_unmapped"


@dataclass(frozen=True)
class DbgUnaligned(Record):
    """``unaligned:`` error: a map (paddr given) or unmap (paddr None) refused for misalignment."""

    iova: int
    paddr: int | None
    size: int
    min_pagesz: int
    kind: ClassVar[str] = "dyndbg_unaligned"


@dataclass(frozen=True)
class PteAlreadySet(Record):
    """Intel VT-d ``DMA PTE for vPFN … already set (to OLD not NEW)``: a map found a live PTE.

    ``vpfn`` is the IOVA in 4 KiB pages (VTD_PAGE_SHIFT); ``old`` is the PTE
    found, ``new`` the one the map wanted to write.
    """

    vpfn: int
    old: int
    new: int
    kind: ClassVar[str] = "intel_pte_already_set"

    @property
    def iova(self) -> int:
        """The IOVA of the page: vPFN << VTD_PAGE_SHIFT (12)."""
        return self.vpfn << 12


@dataclass(frozen=True)
class Skipped(Record):
    """A line that is no IOMMU event; ``reason`` is the category it is counted under."""

    reason: str
    kind: ClassVar[str] = "skipped"


@dataclass(frozen=True)
class Malformed(Record):
    """A line that names an IOMMU event whose fields cannot be read; ``message`` says why."""

    message: str
    kind: ClassVar[str] = "malformed"


# Skip reasons (one definition, used by the report).
BLANK = "blank"
BINARY = "binary data"
TOO_LONG = f"longer than {MAX_LINE} characters"
OTHER_FTRACE = "other ftrace event"
OTHER_TEXT = "other text"

# ---------------------------------------------------------------------------
# Line formats
# ---------------------------------------------------------------------------

_FTRACE_HEAD = re.compile(r"(?:^|\s)(?P<event>map|unmap|io_page_fault):\s+IOMMU:")
_TS_AT_END = re.compile(r"(?P<ts>\d+\.\d+):\s*$")
_DEV = r"\s*(?:dev=(?P<dev>\S+)\s+)?"
_FTRACE_BODY = {
    ("map", "range"): re.compile(
        _DEV + r"iova=(?P<iova>\S+)\s+-\s+(?P<end>\S+)\s+paddr=(?P<paddr>\S+)\s+size=(?P<size>\S+)\s*$"),
    ("map", "old"): re.compile(
        _DEV + r"iova=(?P<iova>\S+)\s+paddr=(?P<paddr>\S+)\s+size=(?P<size>\S+)\s*$"),
    ("unmap", "range"): re.compile(
        _DEV + r"iova=(?P<iova>\S+)\s+-\s+(?P<end>\S+)\s+size=(?P<size>\S+)"
        r"\s+unmapped_size=(?P<unmapped>\S+)\s*$"),
    ("unmap", "old"): re.compile(
        _DEV + r"iova=(?P<iova>\S+)\s+size=(?P<size>\S+)\s+unmapped_size=(?P<unmapped>\S+)\s*$"),
}
_FAULT_BODY = re.compile(
    r"\s*(?P<driver>\S*)\s+(?P<device>\S+)\s+iova=(?P<iova>\S+)\s+flags=(?P<flags>\S+)\s*$")
_EXPECTED = {
    "map": "iova=0x… [- 0x…] paddr=0x… size=N",
    "unmap": "iova=0x… [- 0x…] size=N unmapped_size=N",
    "io_page_fault": "IOMMU:DRIVER DEVICE iova=0x… flags=0x…",
}
_FIELDS = {"map": ("iova", "paddr", "size"), "unmap": ("iova", "size", "unmapped_size"),
           "io_page_fault": ("iova", "flags")}

_DBG_HEAD = re.compile(
    r"(?:^|\s)(?:iommu: )?(?P<kind>map|mapping|unmap this|unmapped|unaligned): (?=iova\b)")
_DBG_TS = re.compile(r"^\s*\[\s*(?P<ts>\d+\.\d+)\]")
_DBG_BODY = {
    "map": re.compile(
        r"iova (?P<iova>\S+) pa (?P<paddr>\S+) size (?P<size>\S+)(?: min_pagesz (?P<min>\S+))?\s*$"),
    "mapping": re.compile(
        r"iova (?P<iova>\S+) pa (?P<paddr>\S+) pgsize (?P<pgsize>\S+)(?: count (?P<count>\S+))?\s*$"),
    "unmap this": re.compile(r"iova (?P<iova>\S+) size (?P<size>\S+)\s*$"),
    "unmapped": re.compile(r"iova (?P<iova>\S+) size (?P<size>\S+)\s*$"),
    "unaligned": re.compile(
        r"iova (?P<iova>\S+)(?: pa (?P<paddr>\S+))? size (?P<size>\S+) min_pagesz (?P<min>\S+)\s*$"),
}
_DBG_EXPECTED = {
    "map": "iova 0x… pa 0x… size 0x…",
    "mapping": "iova 0x… pa 0x… pgsize 0x… [count N]",
    "unmap this": "iova 0x… size 0x…",
    "unmapped": "iova 0x… size 0x…",
    "unaligned": "iova 0x… [pa 0x…] size 0x… min_pagesz 0x…",
}

_PTE_HEAD = re.compile(r"DMA PTE for vPFN ")
_PTE_BODY = re.compile(
    r"DMA PTE for vPFN (?P<vpfn>\S+) already set \(to (?P<old>[0-9a-fA-F]+) "
    r"not (?P<new>[0-9a-fA-F]+)\)\s*$")

_OTHER_FTRACE = re.compile(r"\[\d+\]\s+(?:\S+\s+)?(?P<ts>\d+\.\d+):\s+(?P<event>[\w:]+?):")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # dmesg --color
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def parse_line(text: str | None, loc: Loc) -> Record:
    """Parse one log line (without its newline) into a record.  Never raises.

    ``text`` None stands for a line whose bytes are not UTF-8 (see
    :func:`split_lines`); it is skipped as binary data.
    """
    if text is not None and "\x1b" in text:
        text = _ANSI.sub("", text)
    if text is None or _CONTROL.search(text):
        return Skipped(loc, None, BINARY)
    if len(text) > MAX_LINE:
        return Skipped(loc, None, TOO_LONG)
    if not text.strip():
        return Skipped(loc, None, BLANK)
    m = _FTRACE_HEAD.search(text)
    if m:
        return _ftrace(m.group("event"), text[:m.start()], text[m.end():], loc)
    m = _DBG_HEAD.search(text)
    if m:
        return _dyndbg(m.group("kind"), text[:m.start()], text[m.end():], loc)
    m = _PTE_HEAD.search(text)
    if m:
        return _pte(text[m.start():], loc)
    m = _OTHER_FTRACE.search(text)
    if m:
        return Skipped(loc, Decimal(m.group("ts")), f"{OTHER_FTRACE} {m.group('event')}")
    return Skipped(loc, None, OTHER_TEXT)


def _ts(pattern: re.Pattern, text: str) -> Decimal | None:
    m = pattern.search(text)
    return Decimal(m.group("ts")) if m else None


def _num(m: re.Match, group: str, name: str) -> int:
    return parse_u64(m.group(group), name)


def _ftrace(event: str, prefix: str, body: str, loc: Loc) -> Record:
    ts = _ts(_TS_AT_END, prefix)
    try:
        if event == "io_page_fault":
            m = _FAULT_BODY.match(body)
            if m:
                return Fault(loc, ts, _num(m, "iova", "iova"), _num(m, "flags", "flags"),
                             m.group("driver"), m.group("device"))
        else:
            for fmt in ("range", "old"):
                m = _FTRACE_BODY[(event, fmt)].match(body)
                if m:
                    return _map_or_unmap(event, fmt, m, loc, ts)
    except FieldError as exc:
        return Malformed(loc, ts, f"{event} event: {exc}")
    missing = [f for f in _FIELDS[event] if f"{f}=" not in body]
    why = (f"no {', '.join(f + '=' for f in missing)} (truncated line?)" if missing
           else "fields not in the kernel's order or format")
    return Malformed(loc, ts, f"{event} event: {why}; expected '{_EXPECTED[event]}'")


def _map_or_unmap(event: str, fmt: str, m: re.Match, loc: Loc, ts) -> Record:
    iova = _num(m, "iova", "iova")
    size = _num(m, "size", "size")
    if fmt == "range":
        end = _num(m, "end", "range end")
        if end != (iova + size) % U64:
            raise FieldError(f"range end {end:#x} is not iova + size ({(iova + size) % U64:#x})")
    if event == "map":
        return Map(loc, ts, iova, _num(m, "paddr", "paddr"), size, m.group("dev"), fmt)
    return Unmap(loc, ts, iova, size, _num(m, "unmapped", "unmapped_size"), m.group("dev"), fmt)


def _dyndbg(kind: str, prefix: str, body: str, loc: Loc) -> Record:
    ts = _ts(_DBG_TS, prefix)
    m = _DBG_BODY[kind].match(body)
    if not m:
        return Malformed(loc, ts, f"'{kind}:' line: expected '{_DBG_EXPECTED[kind]}' "
                                  f"(truncated line?)")
    try:
        iova = _num(m, "iova", "iova")
        if kind == "map":
            return DbgMap(loc, ts, iova, _num(m, "paddr", "pa"), _num(m, "size", "size"))
        if kind == "mapping":
            count = m.group("count")
            return DbgMapping(loc, ts, iova, _num(m, "paddr", "pa"), _num(m, "pgsize", "pgsize"),
                              None if count is None else parse_u64(count, "count"))
        if kind == "unmap this":
            return DbgUnmapThis(loc, ts, iova, _num(m, "size", "size"))
        if kind == "unmapped":
            return DbgUnmapped(loc, ts, iova, _num(m, "size", "size"))
        paddr = m.group("paddr")
        return DbgUnaligned(loc, ts, iova, None if paddr is None else parse_u64(paddr, "pa"),
                            _num(m, "size", "size"), _num(m, "min", "min_pagesz"))
    except FieldError as exc:
        return Malformed(loc, ts, f"'{kind}:' line: {exc}")


def _pte(text: str, loc: Loc) -> Record:
    m = _PTE_BODY.match(text)
    if not m:
        return Malformed(loc, None, "Intel 'DMA PTE for vPFN' line: expected "
                                    "'DMA PTE for vPFN 0x… already set (to X not Y)'")
    try:
        vpfn = parse_u64(m.group("vpfn"), "vPFN")
        if vpfn >= 1 << 52:
            raise FieldError(f"vPFN {vpfn:#x} is beyond 2^52 (IOVA beyond 2^64)")
        return PteAlreadySet(loc, None, vpfn, parse_u64("0x" + m.group("old"), "old PTE"),
                             parse_u64("0x" + m.group("new"), "new PTE"))
    except FieldError as exc:
        return Malformed(loc, None, f"Intel 'DMA PTE for vPFN' line: {exc}")


class TraceInputError(Exception):
    """A log cannot be read: missing, unreadable, a directory, or not text.  The message
    starts with the file name."""


def read_trace(path: str):
    """The lines of a log file (see :func:`split_lines`), read as they are consumed.

    Raises TraceInputError when the file cannot be opened, and, while the
    lines are read, when reading fails or a line is longer than
    :data:`MAX_READ_LINE` bytes (not a kernel log: reading stops there).
    """
    try:
        f = open(path, "rb")
    except OSError as exc:
        error = exc
    else:
        return _stream(f, path)
    raise TraceInputError(f"{path}: cannot read: {error.strerror or error}")


def _stream(f, path: str):
    with f:
        number = 0
        while True:
            number += 1
            try:
                raw = f.readline(MAX_READ_LINE + 1)
            except OSError as exc:
                error = exc
            else:
                error = None
            if error is not None:
                raise TraceInputError(f"{path}: cannot read line {number}: "
                                      f"{error.strerror or error}")
            if not raw:
                return
            if len(raw) > MAX_READ_LINE:
                raise TraceInputError(f"{path}: line {number} is longer than {MAX_READ_LINE} "
                                      f"bytes: not a kernel log")
            yield from split_lines(raw)


def split_lines(data: bytes) -> list[str | None]:
    """Split a log's bytes into lines (``\\n`` or ``\\r\\n``); an undecodable line becomes None."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out: list[str | None] = []
    for raw in lines:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(None)
    return out


def parse_lines(lines, file: str = "<trace>"):
    """Yield one record per line of ``lines`` (str, or None for undecodable), numbered from 1."""
    for number, text in enumerate(lines, 1):
        yield parse_line(text, Loc(file, number))
