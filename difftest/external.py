"""External implementations: any program that speaks protocol v1 over stdin/stdout.

The protocol (docs/protocol.md) is JSON Lines: the harness writes one request
object per line to the implementation's stdin and reads exactly one reply
object per line from its stdout, in order; stderr is free-form.  Conventions
are the spec's: addresses and sizes are ints in [0, 2^64), sizes in bytes,
errors negative errno values in Linux's numbering (:mod:`spec.errors`).

* :class:`ExternalProcess` runs one implementation and speaks the protocol.
  It trusts nothing: every reply is checked against :data:`REPLY_FIELDS`, a
  hang is cut off after ``timeout`` seconds, and any violation kills the
  process group and raises :class:`ExternalError` (or :class:`ExternalTimeout`)
  with a message naming the last request and showing the tail of stderr.
* :class:`ExternalImplementation` is the :class:`impls.Implementation`
  interface over one domain of such a process.  An implementation whose hello
  does not list ``map`` is a driver (``map_pages`` / ``unmap_pages`` only): the
  adapter then runs the spec's own Linux core, :class:`impls.core.Core`, over
  it, so a driver author can test just the driver.
* :class:`ExternalFactory` is the ``factory(profile, semantics)`` that
  :func:`difftest.build_machine` takes: one process, a fresh domain per call.
"""

import json
import math
import os
import queue
import select
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Sequence

from spec import SEMANTICS, Profile, Semantics, get_profile, get_semantics, pgsize_and_count
from spec.cores import CORES, get_core
from spec.errors import ERANGE, errno_name

from impls.base import Counters
from impls.core import Core

PROTOCOL_VERSION = 1
#: Seconds to wait for each reply (``--impl-timeout``).
DEFAULT_TIMEOUT = 5.0
#: Seconds to wait for the reply to hello, at least: the process is starting up.
START_TIMEOUT = 10.0
U64 = 1 << 64
#: Linux's MAX_ERRNO: a return value in [-4095, -1] is an error.
MAX_ERRNO = 4095
#: Longest reply line accepted, in bytes (a dump of a large page table fits).
MAX_LINE = 64 << 20
STDERR_TAIL = 20
EXCERPT = 300

#: Operations a full implementation must offer (``map`` in ops selects full mode).
FULL_OPS = ("domain_alloc", "domain_free", "map", "unmap", "map_sg", "iova_to_phys")
#: Operations a driver-only implementation must offer.
DRIVER_OPS = ("domain_alloc", "domain_free", "map_pages", "unmap_pages")
#: ... and one whose hello declares the v7.1 core (``"core": "map_range"``).
RANGE_DRIVER_OPS = ("domain_alloc", "domain_free", "map_range", "unmap_range")

#: The reply to each request: field -> kind.  Kinds: ``u64`` an int in
#: [0, 2^64); ``errno0`` 0 or a negative errno; ``ssize`` bytes or a negative
#: errno; ``zero`` exactly 0; ``str``; ``ops`` a list of strings; ``leaves`` a
#: list of [iova, paddr, pgsize, count, prot].  A kind ending in ``?`` may be
#: absent.  Every reply may also carry ``tlb`` (see :func:`check_tlb`).
REPLY_FIELDS: dict[str, dict[str, str]] = {
    "hello": {"version": "u64", "name": "str", "ops": "ops", "semantics": "str?", "core": "str?"},
    "domain_alloc": {"ret": "errno0", "pgsize_bitmap": "u64?"},
    "map": {"ret": "errno0"},
    "unmap": {"ret": "u64"},
    "map_sg": {"ret": "ssize"},
    "iova_to_phys": {"ret": "u64"},
    "map_pages": {"ret": "errno0", "mapped": "u64"},
    "unmap_pages": {"ret": "u64"},
    "map_range": {"ret": "errno0", "mapped": "u64"},
    "unmap_range": {"ret": "u64"},
    "iotlb_sync": {"ret": "zero"},
    "iotlb_sync_map": {"ret": "errno0"},
    "fail_alloc": {"ret": "zero"},
    "domain_free": {"ret": "zero", "table_pages": "u64"},
    "dump": {"ret": "zero", "leaves": "leaves", "tables": "tables?"},
}

_KIND_TEXT = {
    "u64": "an int in [0, 2^64)",
    "errno0": "0 or a negative errno (an int in [-4095, 0])",
    "ssize": "a byte count in [0, 2^64) or a negative errno in [-4095, -1]",
    "zero": "0",
    "str": "a string",
    "ops": "a list of operation names (strings)",
    "leaves": "a list of [iova, paddr, pgsize, count, prot]",
    "tables": "a list of [iova, span]",
}


class ExternalError(AssertionError):
    """The external implementation broke the protocol.

    It crashed, closed its stdout, printed something that is not a JSON
    object, answered the wrong request, or sent a field of the wrong type or
    range.  The message names the implementation, what went wrong, the last
    request, the reply (if any) and the tail of stderr.  The process group has
    been killed when this is raised.

    For the failure report: ``kind`` is ``"crash"`` (the process died),
    ``"protocol"`` (a malformed or wrong reply) or ``"start"``; ``what`` says
    what happened in a few words (``"was killed by SIGSEGV before
    replying"``); ``request`` is the request it was answering (or None);
    ``signal`` the signal that killed it, if one did.
    """

    def __init__(self, message: str, *, kind: str = "protocol", what: str = "",
                 request: dict | None = None, signal: str | None = None) -> None:
        super().__init__(message)
        self.kind, self.what, self.request, self.signal = kind, what or message, request, signal

    def headline(self) -> str:
        """What happened, for the first line of a failure report: ``crashed (SIGSEGV) on unmap_pages(...)``."""
        on = f" on {request_text(self.request)}" if self.request else ""
        if self.kind == "crash":
            how = f"crashed ({self.signal})" if self.signal else f"crashed: it {self.what}"
            return f"the implementation {how}{on}"
        if self.kind == "start":
            return f"the implementation {self.what}"
        return f"the implementation broke protocol v1{on}: it {self.what}"


class ExternalTimeout(BaseException):
    """The external implementation sent no reply within the timeout (it hangs).

    Deliberately not an ``Exception``: Hypothesis shrinks failures that are
    ``Exception`` subclasses by replaying them, and every replay of a hang
    would wait out the timeout again, so this one ends the test case at once
    with the requests that led to it.  The process group has been killed.
    ``what`` and ``request`` are as for :class:`ExternalError`.
    """

    def __init__(self, message: str, *, what: str = "", request: dict | None = None) -> None:
        super().__init__(message)
        self.kind, self.what, self.request = "hang", what or message, request

    def headline(self) -> str:
        on = f" on {request_text(self.request)}" if self.request else ""
        return f"the implementation hung{on}: it {self.what}"


def request_text(request: dict) -> str:
    """A protocol request as a call: ``unmap_pages(iova=0x200000, pgsize=0x1000, pgcount=2)``."""
    args = ", ".join(f"{k}={v if k in ('pgcount', 'after') and type(v) is int else _value_text(v)}"
                     for k, v in request.items() if k != "op")
    return f"{request.get('op', '?')}({args})"


def reply_text(op: str, reply: dict | None) -> str:
    """A reply as the report shows it: ``ret 0, mapped 0x2000``; a dump as its leaf count."""
    if reply is None:
        return "no reply"
    if op == "dump":
        return f"{len(reply.get('leaves', []))} leaves"
    parts = [f"{k} {_value_text(v, errno_=k == 'ret')}" for k, v in reply.items()
             if k != "tlb" or v]
    return ", ".join(parts) or "{}"


def _value_text(value, errno_: bool = False) -> str:
    if type(value) is int:
        if value < 0 and errno_:
            return errno_name(value)
        return f"{value:#x}" if value > 9 else str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, str) else repr(value)


@dataclass
class Exchange:
    """One request to the implementation and its reply (None when none came)."""

    seq: int
    request: dict
    reply: dict | None = None

    def text(self) -> str:
        return f"{request_text(self.request)} -> {reply_text(self.request.get('op', ''), self.reply)}"


class UnsupportedProfile(Exception):
    """``domain_alloc`` failed: the implementation does not offer this profile (the harness skips it)."""


@dataclass(frozen=True)
class Hello:
    """The implementation's answer to ``hello``: ``name``, ``ops`` and the declared ``semantics`` (or None)."""

    name: str
    ops: frozenset[str]
    semantics: str | None
    core: str | None = None
    #: linuxpt's harness names its io-pgtable format (linuxpt.formats); others send none.
    format: str | None = None

    @property
    def driver_only(self) -> bool:
        """True when the implementation offers no ``map``: the harness runs Linux's core over it."""
        return "map" not in self.ops


def resolve_semantics(declared: str | None, asked: "Semantics | str | None",
                      profile: Profile) -> Semantics:
    """The variant to hold an implementation to on ``profile``.

    ``declared`` is what its hello says, ``asked`` what the user chose
    (``--semantics``).  The declared variant wins; ``asked`` applies only when
    nothing is declared; else the profile's default.  Raises ValueError when
    both are given and differ (the implementation cannot follow two variants).
    """
    asked_name = asked.name if isinstance(asked, Semantics) else asked
    if declared:
        if asked_name and asked_name != declared:
            raise ValueError(
                f"the implementation declares semantics {declared!r} in its hello, but "
                f"{asked_name!r} was asked for (--semantics); drop --semantics or change "
                f"the hello")
        return get_semantics(declared)
    return get_semantics(asked_name or profile.default_semantics)


def check_impl_cmd(cmd: str | None) -> list[str] | None:
    """``--impl-cmd`` as an argv, or None; ValueError (one line) when it cannot be run."""
    if cmd is None:
        return None
    try:
        argv = shlex.split(cmd)
    except ValueError as exc:
        raise ValueError(f"--impl-cmd {cmd!r} is not a valid command line ({exc})") from None
    if not argv:
        raise ValueError("--impl-cmd is empty; give the command line of an implementation "
                         "speaking protocol v1 (docs/protocol.md)")
    if shutil.which(argv[0]) is None:
        raise ValueError(f"--impl-cmd: {argv[0]!r} is not an executable program (not found, or "
                         f"not executable)")
    return argv


def check_timeout(seconds: float, option: str = "--impl-timeout") -> float:
    """``seconds`` when it is a positive finite number; ValueError otherwise."""
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{option} must be a positive number of seconds, got {seconds!r}")
    return seconds


def _excerpt(text: str, limit: int = EXCERPT) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _is_int(value) -> bool:
    return type(value) is int  # bool is an int subclass and is refused


def check_value(kind: str, value) -> bool:
    """True when ``value`` is of ``kind`` (see :data:`REPLY_FIELDS`)."""
    if kind == "str":
        return isinstance(value, str)
    if kind == "ops":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "leaves":
        return isinstance(value, list)  # each leaf is checked by check_leaves
    if kind == "tables":
        return isinstance(value, list) and all(
            isinstance(t, list) and len(t) == 2 and all(_is_int(v) and 0 <= v < U64 for v in t)
            and t[1] and not t[1] & (t[1] - 1) for t in value)
    if not _is_int(value):
        return False
    if kind == "u64":
        return 0 <= value < U64
    if kind == "errno0":
        return -MAX_ERRNO <= value <= 0
    if kind == "ssize":
        return -MAX_ERRNO <= value < U64
    if kind == "zero":
        return value == 0
    raise KeyError(kind)


def check_tlb(value) -> str | None:
    """None when ``value`` is a valid ``tlb`` field, else what is wrong with it.

    A valid field is a list of commands, each ``["range", iova, size]`` with
    iova and size ints in [0, 2^64) and iova + size <= 2^64, or ``["all"]``.
    """
    if not isinstance(value, list):
        return "tlb must be a list of commands"
    for i, cmd in enumerate(value):
        if cmd == ["all"]:
            continue
        if (isinstance(cmd, list) and len(cmd) == 3 and cmd[0] == "range"
                and all(_is_int(v) and 0 <= v < U64 for v in cmd[1:]) and cmd[1] + cmd[2] <= U64):
            continue
        return (f"tlb[{i}] = {_excerpt(json.dumps(cmd))} is neither [\"all\"] nor "
                f"[\"range\", iova, size] with iova, size in [0, 2^64) and iova + size <= 2^64")
    return None


def check_leaves(leaves: list, mappings: bool = False) -> str | None:
    """None when a dump's ``leaves`` are well formed, else what is wrong.

    Each leaf is ``[iova, paddr, pgsize, count, prot]``: ints, pgsize a power of
    two, count >= 1, both ranges ending at or below 2^64, and no two leaves
    overlapping (a page table cannot translate one IOVA twice).  With ``mappings``
    (a variant whose leaves are whole mappings, ``Semantics.leaf_unit`` "call":
    virtio-iommu's device) pgsize is any size above 0, as the model's leaves are.
    """
    spans = []
    for i, leaf in enumerate(leaves):
        if not (isinstance(leaf, list) and len(leaf) == 5 and all(_is_int(v) and 0 <= v < U64
                                                                  for v in leaf)):
            return f"leaves[{i}] = {_excerpt(json.dumps(leaf))} is not 5 ints in [0, 2^64)"
        iova, paddr, pgsize, count, _ = leaf
        if mappings and pgsize and count >= 1:
            pass
        elif pgsize == 0 or pgsize & (pgsize - 1) or count < 1:
            return f"leaves[{i}]: pgsize {pgsize:#x} must be a power of two and count {count} >= 1"
        # a device's mapping may name physical addresses that wrap (viommu_map_pages sends
        # phys_start only; the device's phys_end is phys_start + virt_end - virt_start)
        if iova + pgsize * count > U64 or (paddr + pgsize * count > U64 and not mappings):
            return f"leaves[{i}]: the leaf runs past 2^64"
        spans.append((iova, iova + pgsize * count))
    spans.sort()
    for (a, a_end), (b, _) in zip(spans, spans[1:]):
        if b < a_end:
            return f"leaves overlap at iova {b:#x} (a leaf ending at {a_end:#x} covers it)"
    return None


def _status_text(returncode: int | None) -> str:
    if returncode is None:
        return "closed its stdout but kept running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with status {returncode}"


class ExternalProcess:
    """One running external implementation, spoken to with protocol v1.

    ``cmd`` is a command line (split with :func:`shlex.split`) or an argv list;
    ``timeout`` the seconds to wait for each reply.  The process starts in its
    own process group on :meth:`start`, which sends ``hello``; :meth:`request`
    sends one request and returns the validated reply; :meth:`close` ends the
    process (EOF on stdin, then SIGKILL to the group after a grace period).
    """

    def __init__(self, cmd: str | Sequence[str], timeout: float = DEFAULT_TIMEOUT,
                 cwd: str | None = None, env: dict | None = None) -> None:
        self.argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        if not self.argv:
            raise ValueError("the implementation's command line is empty")
        self.cmd = cmd if isinstance(cmd, str) else shlex.join(self.argv)
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.timeout = timeout
        self.cwd, self.env = cwd, env
        self.proc: subprocess.Popen | None = None
        self.hello: Hello | None = None
        self.requests = 0
        #: dump's leaves are whole mappings of any size (set by ExternalImplementation for a
        #: variant with leaf_unit "call": virtio-iommu), not pages of a power-of-two size
        self.mapping_leaves = False
        #: Replies read from stdout, in order: a line (bytes), an Exception (a line too long) or
        #: None (end of file).  Read on the caller's thread (no reader thread: a request's round
        #: trip then costs no thread hand-off); ``_partial`` is an unfinished line.
        self._lines: deque = deque()
        self._partial = bytearray()
        self._stdout_done = False
        self._stderr: deque[str] = deque(maxlen=200)
        self._threads: list[threading.Thread] = []
        self._last: dict | None = None
        self._eof = False
        #: The last requests and their replies, for the failure report (:meth:`exchanges_since`).
        self.log: deque[Exchange] = deque(maxlen=200)

    def __repr__(self) -> str:
        state = f"pid {self.proc.pid}" if self.alive else "not running"
        return f"ExternalProcess({self.cmd!r}, {state})"

    @property
    def alive(self) -> bool:
        """True while the process runs and has not broken the protocol."""
        return self.proc is not None and self.proc.returncode is None and not self._eof

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> Hello:
        """Start the process and exchange ``hello``; returns the validated :class:`Hello`.

        Raises ExternalError if the program cannot be started or answers
        hello wrongly (version other than 1, missing operations, unknown
        semantics).
        """
        if self.proc is not None:
            raise RuntimeError(f"{self!r} was already started")
        try:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True, cwd=self.cwd, env=self.env)
        except OSError as exc:
            error = exc
        else:
            error = None
        if error is not None:
            what = f"could not be started: {error.strerror or error}"
            raise ExternalError(f"external implementation `{self.cmd}` {what}", kind="start",
                                what=what)
        os.set_blocking(self.proc.stdin.fileno(), False)
        self._stdout_poll = select.poll()
        self._stdout_poll.register(self.proc.stdout.fileno(), select.POLLIN)
        thread = threading.Thread(target=self._read_stderr, args=(self.proc.stderr,), daemon=True,
                                  name=f"external-stderr-{self.proc.pid}")
        thread.start()
        self._threads.append(thread)
        timeout, self.timeout = self.timeout, max(self.timeout, START_TIMEOUT)
        try:  # starting up (loading a runtime, say) may take longer than a reply
            reply = self.request("hello", version=PROTOCOL_VERSION)
        finally:
            self.timeout = timeout
        self.hello = self._check_hello(reply)
        return self.hello

    def close(self) -> None:
        """End the process: close its stdin, wait up to a second, then kill its process group."""
        if self.proc is None:
            return
        if self.proc.returncode is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                pass
        self._kill()

    def __enter__(self) -> "ExternalProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the exchange -----------------------------------------------------------------
    def request(self, op: str, **fields) -> dict:
        """Send ``{"op": op, **fields}`` and return the reply, validated against :data:`REPLY_FIELDS`.

        ``tlb`` in the reply is validated too and returned as a list of
        tuples (``("range", iova, size)`` or ``("all",)``).  Raises
        ExternalError on any protocol violation and ExternalTimeout when no
        reply comes within ``timeout`` seconds; both kill the process group.
        """
        if self.proc is None:
            raise RuntimeError("start() the process first")
        if not self.alive:
            raise ExternalError(f"external implementation `{self.cmd}` is no longer running "
                                f"(it failed earlier)")
        self._check_no_extra_reply()
        req = {"op": op, **fields}
        self._last = req
        self.requests += 1
        exchange = Exchange(self.requests, req)
        self.log.append(exchange)
        self._write((json.dumps(req, separators=(",", ":")) + "\n").encode())
        line = self._read_line()
        reply = self._parse(line)
        self._check_reply(op, reply, line)
        tlb = reply.get("tlb", [])
        problem = check_tlb(tlb)
        if problem:
            self._fail(f"sent a malformed tlb field: {problem}", line)
        exchange.reply = reply
        reply = dict(reply, tlb=[tuple(cmd) for cmd in tlb])
        return reply

    def exchanges_since(self, seq: int) -> list[Exchange]:
        """The logged exchanges after request number ``seq`` (the count :attr:`requests` had then)."""
        return [e for e in self.log if e.seq > seq]

    def _write(self, data: bytes) -> None:
        fd = self.proc.stdin.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        deadline = time.monotonic() + self.timeout
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(left * 1000):
                self._hang(f"did not read its stdin within {self.timeout:g} s")
            try:
                n = os.write(fd, view)
            except BrokenPipeError:
                self._eof = True
                self._crashed()
            except BlockingIOError:
                continue
            view = view[n:]

    def _read_line(self) -> bytes:
        item = self._next_item(self.timeout)
        if item is queue.Empty:  # raised outside the handler: no chained traceback
            self._hang(f"sent no reply within {self.timeout:g} s (--impl-timeout)")
        if item is None:
            self._eof = True
            self._crashed()
        if isinstance(item, Exception):
            self._fail(str(item), None)
        return item

    def _check_no_extra_reply(self) -> None:
        item = self._next_item(0)
        if item is queue.Empty:
            return
        if item is None:
            self._eof = True
            self._crashed("after its reply to the last request, before the next one")
        self._fail("sent more than one reply to the last request: the extra line answers no "
                   "request (or the earlier one answered the wrong request)", item)

    def _parse(self, line: bytes) -> dict:
        try:
            reply, problem = json.loads(line.decode("utf-8")), None
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            reply, problem = None, f"replied with a line that is not JSON ({exc})"
        if problem:  # raised outside the handler: no chained traceback
            self._fail(problem, line)
        if not isinstance(reply, dict):
            self._fail(f"replied with JSON that is not an object ({type(reply).__name__})", line)
        return reply

    def _check_reply(self, op: str, reply: dict, line: bytes) -> None:
        if "error" in reply:
            error = reply["error"]
            if error == "unsupported":
                listed = self.hello is None or op in self.hello.ops
                self._fail(f"answered {op} with {{\"error\": \"unsupported\"}}"
                           + (", but its hello lists it in ops" if listed else ""), line)
            self._fail(f"answered {op} with an error: {_excerpt(str(error))}", line)
        for field, kind in REPLY_FIELDS[op].items():
            optional = kind.endswith("?")
            kind = kind.rstrip("?")
            if field not in reply:
                if optional:
                    continue
                self._fail(f"replied to {op} without {field!r} (is this a reply to another "
                           f"request?)", line)
            if not check_value(kind, reply[field]):
                self._fail(f"replied to {op} with {field} = {_excerpt(json.dumps(reply[field]))}: "
                           f"{field} must be {_KIND_TEXT[kind]}", line)
        if op == "domain_alloc" and reply["ret"] == 0 and "pgsize_bitmap" not in reply:
            self._fail("replied to domain_alloc with ret 0 but without 'pgsize_bitmap'", line)
        if op == "dump":
            problem = check_leaves(reply["leaves"], self.mapping_leaves)
            if problem:
                self._fail(f"replied to dump with bad leaves: {problem}", line)

    def _check_hello(self, reply: dict) -> Hello:
        line = json.dumps({k: v for k, v in reply.items() if k != "tlb"}).encode()
        if reply["version"] != PROTOCOL_VERSION:
            self._fail(f"speaks protocol version {reply['version']}; this harness speaks "
                       f"version {PROTOCOL_VERSION}", line)
        ops = frozenset(reply["ops"])
        sem = reply.get("semantics")
        if sem is not None:
            if sem not in SEMANTICS:
                self._fail(f"declares unknown semantics {sem!r}; known: {', '.join(SEMANTICS)}",
                           line)
        core = reply.get("core")
        if core is not None and core not in CORES:
            self._fail(f"declares core {core!r}; known cores: {', '.join(CORES)}", line)
        whole_range = core is not None and get_core(core).whole_range
        driver_ops = RANGE_DRIVER_OPS if whole_range else DRIVER_OPS
        required = driver_ops if "map" not in ops else FULL_OPS
        missing = [op for op in required if op not in ops]
        if missing:
            kind = "a driver-only" if "map" not in ops else "a full"
            self._fail(f"lists ops {sorted(ops)}: {kind} implementation must also offer "
                       f"{', '.join(missing)} (full: {', '.join(FULL_OPS)}; driver-only: "
                       f"{', '.join(driver_ops)}"
                       f"{' under core ' + core if whole_range else ''})", line)
        if "map" not in ops and not {"dump", "iova_to_phys"} & ops:
            self._fail("is driver-only but offers neither dump nor iova_to_phys, so its page "
                       "table cannot be checked", line)
        if whole_range and sem is not None and sem != "generic-pt":
            self._fail(f"declares core {core!r} with semantics {sem!r}: the v7.1 core runs "
                       f"only generic_pt domains (semantics generic-pt)", line)
        fmt = reply.get("format")
        return Hello(reply["name"], ops, sem, core, fmt if isinstance(fmt, str) else None)

    # -- failure ------------------------------------------------------------------------
    def _next_item(self, timeout: float):
        """The next item of stdout (see ``_lines``), waiting up to ``timeout`` seconds for it;
        ``queue.Empty`` when none came."""
        deadline = time.monotonic() + timeout
        while not self._lines:
            if self._stdout_done:
                return queue.Empty
            left = deadline - time.monotonic()
            if not self._stdout_poll.poll(max(0.0, left) * 1000):
                if left <= 0:
                    return queue.Empty
                continue
            self._read_stdout()
        return self._lines.popleft()

    def _read_stdout(self) -> None:
        """Read what stdout has now (it is readable) and split it into lines."""
        try:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
        except OSError:
            chunk = b""
        if not chunk:  # end of file: a last unfinished line first, as readline gives it
            if self._partial:
                self._lines.append(bytes(self._partial))
                self._partial.clear()
            self._lines.append(None)
            self._stdout_done = True
            return
        buf = self._partial
        buf += chunk
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            if end + 1 - start > MAX_LINE:
                break
            self._lines.append(bytes(buf[start:end + 1]))
            start = end + 1
        del buf[:start]
        if len(buf) > MAX_LINE:
            self._lines.append(ValueError(f"sent a line longer than {MAX_LINE} bytes"))
            self._stdout_done = True

    def _read_stderr(self, stream) -> None:
        try:
            for raw in iter(lambda: stream.readline(4096), b""):
                self._stderr.append(raw.decode("utf-8", "replace").rstrip("\n"))
        except (OSError, ValueError):
            pass

    def _kill(self) -> None:
        """SIGKILL the process group (the child and anything it started), then reap the child."""
        proc = self.proc
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignorable
            pass
        for thread in self._threads:
            thread.join(timeout=1.0)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                stream.close()
            except OSError:
                pass

    def _wait_exit(self) -> int | None:
        """The child's exit status once it has exited (up to a second), without reaping it.

        Not reaping keeps its PID, and so its process group ID, ours until
        :meth:`_kill` has signalled the group.
        """
        deadline = time.monotonic() + 1.0
        while True:
            try:
                info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return self.proc.returncode
            if info is not None:
                if info.si_code == os.CLD_EXITED:
                    return info.si_status
                return -info.si_status
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)

    def _crashed(self, when: str = "before replying"):
        status = self._wait_exit()
        what = f"{_status_text(status)} {when}"
        sig = None
        if status is not None and status < 0:
            sig = _status_text(status).removeprefix("was killed by ")
        raise ExternalError(self._report(what, None, kill=True), kind="crash", what=what,
                            request=self._last, signal=sig)

    def _hang(self, what: str):
        what = f"{what}; its process group was killed"
        raise ExternalTimeout(self._report(what, None, kill=True), what=what, request=self._last)

    def _fail(self, what: str, line: bytes | None):
        raise ExternalError(self._report(what, line, kill=True), what=what, request=self._last)

    def _report(self, what: str, line: bytes | None, kill: bool) -> str:
        pid = self.proc.pid if self.proc else "-"
        if kill:
            self._eof = True
            self._kill()
        head = f"external implementation `{self.cmd}` (pid {pid}) {what}"
        lines = [head,
                 f"  last request: {json.dumps(self._last) if self._last else '(none)'}"
                 f"  (request {self.requests} to this process)"]
        if line is not None:
            lines.append(f"  reply:        {_excerpt(line.decode('utf-8', 'replace').rstrip())}")
        tail = list(self._stderr)[-STDERR_TAIL:]
        if tail:
            lines.append(f"  stderr (last {len(tail)} lines):")
            lines += [f"    | {_excerpt(t, 200)}" for t in tail]
        else:
            lines.append("  stderr: (empty)")
        return "\n".join(lines)


class _ExternalDriver:
    """The driver interface of :mod:`impls.core` over a driver-only external implementation."""

    def __init__(self, impl: "_ExternalCore") -> None:
        self.impl = impl
        self.adapter = impl.adapter
        #: What the implementation's hello offers (the adapter's own ``ops`` become the core's).
        self.offered = impl.adapter.process.hello.ops
        if "fail_alloc" in self.offered:
            self.fail_alloc = self.adapter._fail_alloc
        if "dump" in self.offered:
            self.tables = self.adapter.tables

    def map_pages(self, iova, paddr, pgsize, pgcount, prot) -> tuple[int, int]:
        # A reply of ret 0 with 0 bytes mapped is the core's problem (impls.core.DriverError:
        # __iommu_map would loop forever); a direct driver call may answer it.
        self.impl.counters.driver_calls += 1
        return self.adapter._map_pages(iova, paddr, pgsize, pgcount, prot)

    def unmap_pages(self, iova, pgsize, pgcount, gather) -> int:
        self.impl.counters.driver_calls += 1
        unmapped = self.adapter._unmap_pages(iova, pgsize, pgcount)
        if unmapped:
            gather.add_range(iova, unmapped)
        return unmapped

    def map_range(self, iova, paddr, size, prot) -> tuple[int, int]:
        """v7.1 ``map_range``: the whole request; ``(ret, mapped)``."""
        self.impl.counters.driver_calls += 1
        return self.adapter._map_range(iova, paddr, size, prot)

    def unmap_range(self, iova, size, gather) -> int:
        """v7.1 ``unmap_range``: the bytes cleared, which go to the gather."""
        self.impl.counters.driver_calls += 1
        unmapped = self.adapter._ret("unmap_range", iova=iova, size=size)
        if unmapped:
            gather.add_range(iova, unmapped)
        return unmapped

    def iova_to_phys(self, iova: int) -> int:
        if "iova_to_phys" in self.offered:
            return self.adapter._ret("iova_to_phys", iova=iova)
        # No iova_to_phys to ask: read the leaves.  Past the table's range there are none, and
        # the variant says what Linux answers there (spec IOVA_TO_PHYS_RANGE).
        sem = self.impl.semantics
        if sem.iova_to_phys_errno and iova >> self.impl.profile.ias:
            return -ERANGE & ((1 << 64) - 1)
        for l_iova, paddr, pgsize, count, _ in self.leaves():
            if l_iova <= iova < l_iova + pgsize * count:
                return paddr + (iova - l_iova)
        return 0

    def leaves(self, iova: int | None = None, end: int | None = None):
        return self.adapter._dump(iova, end)

    def free(self) -> int:
        return self.adapter._domain_free()


class _ExternalCore(Core):
    """Linux's core over an external driver: the v5.15+ ``iommu_pgsize`` batches, or one
    page per call where the hello declares a single-page core (``map-v5.15``).

    IOTLB: the driver gathers what it unmaps itself; where the core syncs
    (``iommu_iotlb_sync``) the adapter sends ``iotlb_sync`` when the driver
    offers it, and after a successful map ``iotlb_sync_map`` when offered.
    """

    name = "external-driver"
    driver_class = _ExternalDriver

    def __init__(self, adapter: "ExternalImplementation") -> None:
        self.adapter = adapter
        self.core = adapter.core  # before Core.__init__, which reads it
        super().__init__(adapter.profile, adapter.semantics)
        self.counters = adapter.counters

    @property
    def ops(self) -> frozenset[str]:
        drop = {"unmap_fast"} | ({"iotlb_sync"} - self.adapter.process.hello.ops)
        return super().ops - drop

    @property
    def sync_on_map(self) -> bool:
        """The core calls ``iotlb_sync_map`` after a successful map where the driver offers it."""
        return "iotlb_sync_map" in self.adapter.process.hello.ops

    def sync_map(self, iova: int, size: int) -> None:
        self.adapter._iotlb_sync_map(iova, size)

    def iotlb_sync(self) -> int:
        """``iommu_iotlb_sync``: the driver's ``iotlb_sync`` is called whatever the gather holds
        (an empty gather is the driver's to judge)."""
        if self.gather.empty:
            self._invalidate_range(0, 0)
        else:
            self.gather.flush()
        self.counters.syncs += 1
        return 0

    def unmap(self, iova: int, size: int) -> int:
        """``iommu_unmap``: iommu.c calls ``iommu_iotlb_sync`` at the end whatever was unmapped
        (6.1 and 6.12 alike); what an empty gather flushes is the driver's business (sprd and
        apple-dart flush everything; a driver whose unmap returned 0 may still have cleared
        PTEs, as sprd's 6.1 does)."""
        gather = self.new_gather()
        unmapped = self._unmap(iova, size, gather)
        if gather.empty:
            self._invalidate_range(0, 0)
        else:
            gather.flush()
        self.counters.syncs += 1
        return unmapped

    def used_bitmap(self) -> int:
        return self.adapter.pgsize_bitmap

    def next_pages(self, iova, paddr, size):
        pg, count = pgsize_and_count(self.pgsize_bitmap, iova, paddr, size)
        return (pg, 1) if get_core(self.adapter.core).per_page else (pg, count)

    def _invalidate_range(self, iova: int, size: int) -> None:
        if "iotlb_sync" in self.adapter.process.hello.ops:
            self.adapter._ret("iotlb_sync")

    def issue_invalidation(self, command) -> None:
        self.adapter.issue_invalidation(command)

    def take_tlb_commands(self):
        return self.adapter.take_tlb_commands()


class ExternalImplementation:
    """One domain of an external implementation, behind the :class:`impls.Implementation` interface.

    ``ExternalImplementation(process, profile, semantics=None, *,
    pgsize_bitmap=None, timeout=DEFAULT_TIMEOUT)``:

    * ``process`` -- a running or unstarted :class:`ExternalProcess`, shared
      between domains, or a command line (the adapter then owns the process
      and :meth:`close` ends it);
    * ``profile`` -- a :class:`spec.Profile` or its name; ``domain_alloc`` asks
      for its page sizes (or ``pgsize_bitmap``), ias and oas;
    * ``semantics`` -- the variant to hold it to when its hello declares none
      (see :func:`resolve_semantics`).

    ``pgsize_bitmap`` is the B2 that ``domain_alloc`` answered.  Optional
    operations (``map_pages``, ``unmap_pages``, ``iotlb_sync``, ``fail_alloc``)
    exist as attributes only when the implementation offers them, so
    ``hasattr`` tells.  ``leaves()`` is None when it offers no ``dump``.  When
    its hello lists no ``map`` it is a driver and ``linux_core``, an
    :class:`impls.core.Core`, provides map, unmap and map_sg over its
    map_pages / unmap_pages (``linux_core`` is None otherwise).  ``core`` is
    the core loop the model assumes, ``"map_pages"`` (v5.15+ batches): protocol
    v1 cannot say otherwise.

    Raises UnsupportedProfile when ``domain_alloc`` fails, ExternalError /
    ExternalTimeout on protocol violations, ValueError on a semantics conflict.
    """

    #: The core loop the model assumes (see impls.Implementation.core).
    core = "map_pages"

    def __init__(self, process: "ExternalProcess | str | Sequence[str]", profile: Profile | str,
                 semantics: Semantics | str | None = None, *, pgsize_bitmap: int | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self._owns = not isinstance(process, ExternalProcess)
        if self._owns:
            process = ExternalProcess(process, timeout=timeout)
        self.process = process
        hello = process.hello or process.start()
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.name = hello.name
        if hello.core:
            self.core = hello.core
        if hello.format:  # linuxpt's harness: its descriptors record only some prot bits
            from linuxpt.formats import FORMAT_PROFILES, recorded_prot
            if hello.format in FORMAT_PROFILES:
                fmt = hello.format
                self.recorded_prot = lambda prot: recorded_prot(fmt, prot)
        self.semantics = resolve_semantics(hello.semantics, semantics, self.profile)
        # a leaf is a whole mapping of any size (virtio-iommu's device: leaf_unit "call")
        process.mapping_leaves = self.semantics.leaf_unit == "call"
        self.counters = Counters()
        self._tlb: list[tuple] = []
        self._domain = False
        self._freed_pages: int | None = None
        self._tables: list | None = None
        asked = self.profile.pgsize_bitmap if pgsize_bitmap is None else pgsize_bitmap
        reply = self._call("domain_alloc", pgsize_bitmap=asked, ias=self.profile.ias,
                           oas=self.profile.oas)
        if reply["ret"]:
            raise UnsupportedProfile(
                f"{self.name} declines profile {self.profile.name}: domain_alloc(pgsize_bitmap="
                f"{asked:#x}, ias={self.profile.ias}, oas={self.profile.oas}) returned "
                f"{errno_name(reply['ret'])}")
        b2 = reply["pgsize_bitmap"]
        if not b2 or b2 & ~asked:
            process._fail(f"answered domain_alloc with pgsize_bitmap {b2:#x}, which is not a "
                          f"non-empty subset of the {asked:#x} asked for", None)
        self._domain = True
        self.pgsize_bitmap = b2
        # v7.1 iommupt domains have no map_pages / unmap_pages (spec core "map_range")
        pages_ops = () if get_core(self.core).whole_range else ("map_pages", "unmap_pages")
        self.ops = hello.ops - (frozenset({"map_pages", "unmap_pages"}) - set(pages_ops))
        for op in (*pages_ops, "iotlb_sync", "fail_alloc"):
            if op in hello.ops:
                setattr(self, op, getattr(self, "_" + op))
        if "iotlb_sync_map" in hello.ops:
            self.iotlb_sync_map = self._iotlb_sync_map
        self.linux_core = _ExternalCore(self) if hello.driver_only else None
        if self.linux_core is not None:
            self.ops = self.linux_core.ops
            for op in ("map", "unmap", "map_sg", "iova_to_phys", "leaves", "map_pages",
                       "unmap_pages", "iotlb_sync"):
                setattr(self, op, getattr(self.linux_core, op))
            if "fail_alloc" in self.linux_core.ops:
                self.fail_alloc = self.linux_core.fail_alloc

    def __repr__(self) -> str:
        mode = "driver under impls.core" if self.linux_core is not None else "full"
        return (f"ExternalImplementation({self.process.cmd!r}, {self.profile.name!r}, "
                f"{self.semantics.name!r}, {mode})")

    # -- plumbing -----------------------------------------------------------------------
    def _call(self, op: str, **fields) -> dict:
        reply = self.process.request(op, **fields)
        for command in reply["tlb"]:
            self.issue_invalidation(command)
        return reply

    def _ret(self, op: str, **fields) -> int:
        return self._call(op, **fields)["ret"]

    def issue_invalidation(self, command: tuple) -> None:
        """Record an IOTLB invalidation command the implementation reported."""
        self._tlb.append(command)
        self.counters.invalidations += 1

    def take_tlb_commands(self) -> list[tuple]:
        """The invalidation commands reported since the last call, in order."""
        out, self._tlb = self._tlb, []
        return out

    # -- the API ------------------------------------------------------------------------
    def map(self, iova: int, paddr: int, size: int, prot: int) -> int:
        """``iommu_map``: 0 or a negative errno."""
        return self._ret("map", iova=iova, paddr=paddr, size=size, prot=prot)

    def unmap(self, iova: int, size: int) -> int:
        """``iommu_unmap`` (IOTLB sync included): the bytes unmapped."""
        self.counters.syncs += 1
        return self._ret("unmap", iova=iova, size=size)

    def map_sg(self, iova: int, sg, prot: int) -> int:
        """``iommu_map_sg``: bytes mapped or a negative errno; ``sg`` is [(paddr, offset, length)]."""
        return self._ret("map_sg", iova=iova, sg=[list(entry) for entry in sg], prot=prot)

    def iova_to_phys(self, iova: int) -> int:
        """``iommu_iova_to_phys``: the physical address (offset included) or 0."""
        return self._ret("iova_to_phys", iova=iova)

    def leaves(self, iova: int | None = None, end: int | None = None) -> list[tuple[int, int, int, int, int]] | None:
        """The page-table leaves from ``dump``, or None when the implementation offers no dump.

        With ``iova`` and ``end`` the request asks for the leaves intersecting
        [iova, end) only (``{"op":"dump","iova":I,"size":S}``); an
        implementation may answer with more, up to the whole dump.
        """
        return self._dump(iova, end)

    def _dump(self, iova: int | None = None, end: int | None = None):
        if "dump" not in self.process.hello.ops:
            return None
        if iova is not None and end - iova >= U64:  # the whole 64-bit space (a 64-bit ias):
            iova = None                              # a size of 2^64 is no protocol integer
        reply = self._call("dump") if iova is None else self._call("dump", iova=iova, size=end - iova)
        self._tables = reply.get("tables")
        return [tuple(leaf) for leaf in reply["leaves"]]

    def tables(self) -> list[tuple[int, int]] | None:
        """The tables below the root from the last ``dump`` (its optional ``tables``), or None."""
        return None if self._tables is None else [tuple(t) for t in self._tables]

    def _map_pages(self, iova, paddr, pgsize, pgcount, prot) -> tuple[int, int]:
        reply = self._call("map_pages", iova=iova, paddr=paddr, pgsize=pgsize, pgcount=pgcount,
                           prot=prot)
        if reply["mapped"] > pgsize * pgcount:
            self.process._fail(f"replied to map_pages with mapped {reply['mapped']:#x}, more than "
                               f"the pgsize * pgcount = {pgsize * pgcount:#x} asked for", None)
        return reply["ret"], reply["mapped"]

    def _map_range(self, iova, paddr, size, prot) -> tuple[int, int]:
        reply = self._call("map_range", iova=iova, paddr=paddr, size=size, prot=prot)
        if reply["mapped"] > size:
            self.process._fail(f"replied to map_range with mapped {reply['mapped']:#x}, more than "
                               f"the size {size:#x} asked for", None)
        return reply["ret"], reply["mapped"]

    def _unmap_pages(self, iova, pgsize, pgcount) -> int:
        return self._ret("unmap_pages", iova=iova, pgsize=pgsize, pgcount=pgcount)

    def _iotlb_sync_map(self, iova: int, size: int) -> int:
        """The driver's ``iotlb_sync_map`` over [iova, iova+size): 0 or a negative errno."""
        return self._ret("iotlb_sync_map", iova=iova, size=size)

    def _iotlb_sync(self) -> int:
        self.counters.syncs += 1
        return self._ret("iotlb_sync")

    def _fail_alloc(self, after: int) -> int:
        return self._ret("fail_alloc", after=after)

    # -- teardown -----------------------------------------------------------------------
    def domain_free(self) -> int:
        """Free the domain; returns the page-table pages still allocated (must be 0)."""
        if self.linux_core is not None:
            return self.linux_core.domain_free()
        return self._domain_free()

    def _domain_free(self) -> int:
        if not self._domain:
            return self._freed_pages or 0
        if not self.process.alive:  # its failure was reported when it happened
            self._domain = False
            return 0
        self._domain = False
        self._freed_pages = self._call("domain_free")["table_pages"]
        self.counters.table_pages = self._freed_pages
        return self._freed_pages

    def close(self) -> None:
        """End of a test case: free the domain and require 0 table pages still allocated.

        Idempotent, and a no-op on a process that already failed.  Raises
        ExternalError for leaked pages, except while another exception is
        propagating (it would hide that first failure) and under a variant
        whose Linux driver is known to leak (``Semantics.domain_free_leaks``:
        the state machine's domain_free check reports that, under
        DOMAIN_FREE_LEAK, unless it is set aside).  Ends the process when the
        adapter started it.
        """
        try:
            if self._domain and self.process.alive:
                pages = self.domain_free()
                if pages and sys.exc_info()[1] is None and not self.semantics.domain_free_leaks:
                    raise ExternalError(
                        f"external implementation `{self.process.cmd}` ({self.name}) still has "
                        f"{pages} page-table page(s) allocated after domain_free; it must free "
                        f"them all (table_pages 0)")
        finally:
            if self._owns:
                self.process.close()


class ExternalFactory:
    """``factory(profile, semantics=None, pgsize_bitmap=None) -> ExternalImplementation``.

    One process serves every domain the factory builds (each call sends a
    fresh ``domain_alloc``); when a protocol failure has killed it, the next
    call starts a new one.  ``close()`` (or leaving a ``with`` block) ends it.
    """

    def __init__(self, cmd: str | Sequence[str], timeout: float = DEFAULT_TIMEOUT,
                 fresh: bool = False) -> None:
        self.cmd = cmd
        self.timeout = timeout
        #: Start a new process for every domain (``--fresh-process``), so memory a
        #: buggy implementation corrupted never reaches the next example.
        self.fresh = fresh
        self.process: ExternalProcess | None = None
        # The failure report's reproducer builds the implementation as
        # ``difftest.external.ExternalFactory(cmd)(profile, semantics)``.
        self.__qualname__ = f"ExternalFactory({cmd!r})"

    def hello(self) -> Hello:
        """Start the process if none is running; returns its :class:`Hello`."""
        if self.process is None or not self.process.alive:
            if self.process is not None:
                self.process.close()
            self.process = ExternalProcess(self.cmd, timeout=self.timeout)
            self.process.start()
        return self.process.hello

    def __call__(self, profile: Profile | str, semantics: Semantics | str | None = None,
                 pgsize_bitmap: int | None = None) -> ExternalImplementation:
        if self.fresh:
            self.close()
        self.hello()
        return ExternalImplementation(self.process, profile, semantics,
                                      pgsize_bitmap=pgsize_bitmap)

    def close(self) -> None:
        """End the process, if any."""
        if self.process is not None:
            self.process.close()
            self.process = None

    def __enter__(self) -> "ExternalFactory":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
