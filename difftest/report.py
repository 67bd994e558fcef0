"""The failure report: the oracle's user interface.

A report shows, in this order: the violated rule in one line (or what went
wrong instead: the implementation crashed, hung or broke the protocol); what
the spec expected next to what the implementation did, with a driver's own
calls of that step when the harness runs the core over a driver; and the
shortest sequence of calls that reproduces it, as a pytest test you can paste.
tests/test_report.py pins this shape.
"""

from dataclasses import dataclass, field

from tabulate import tabulate

from spec import RULES, errno_name
from spec.prot import prot_expr

HEX = "#018x"


def hx(v: int) -> str:
    return format(v, HEX)


class Text(str):
    """A result shown as it is (``no reply``, ``raised KeyError``), not as a repr."""

    def __repr__(self) -> str:
        return str(self)


#: Operations the spec states under another name (it has no IOTLB of its own to defer).
SPEC_NAME = {"unmap_fast": "unmap"}


@dataclass
class Call:
    """One step of the call log.

    ``kind`` is ``"both"`` (made on spec and implementation, results compared),
    ``"impl"`` (implementation only: fail_alloc, iotlb_sync, domain_free, an
    injected-fault map whose spec outcome is the rollback check), ``"dma"`` (a
    device access that fills the tester's IOTLB) or ``"restart"`` (both sides
    start over on a fresh domain).
    """

    op: str
    args: dict
    spec_ret: object = None
    impl_ret: object = None
    rules: list[str] = field(default_factory=list)
    kind: str = "both"
    #: Nothing changed: made on both sides with the same result, and no leaf, table or
    #: fault injection changed in the model, no PTE written and no invalidation issued by
    #: the implementation (or an iotlb_sync / iotlb_sync_map that issued none).  The
    #: printed reproducer leaves such calls out (the saved vector keeps them), except after
    #: a difference that only a whole-state comparison saw.
    noop: bool = False

    def _args(self, named: bool) -> str:
        parts = []
        for k, v in self.args.items():
            if k == "prot":
                text = prot_expr(v)
            elif k == "sg":
                text = "[" + ", ".join(f"({a:#x}, {b:#x}, {c:#x})" for a, b, c in v) + "]"
            elif k in ("pgcount", "count") and named:
                text = str(v)
            else:
                text = hx(v) if named else f"{v:#x}"
            parts.append(f"{k}={text}" if named else text)
        return ", ".join(parts)

    def source(self, target: str) -> str:
        op = SPEC_NAME.get(self.op, self.op) if target == "spec" else self.op
        return f"{target}.{op}({self._args(False)})"

    def pretty(self) -> str:
        return f"{self.op}({self._args(True)})"


def render_ret(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(render_ret(v) for v in value) + ")"
    if isinstance(value, int) and value > 0xFFFF:
        return f"{value:#x}"
    return errno_name(value) if isinstance(value, int) else repr(value)


def state_table(spec_rows, impl_rows, headers) -> str:
    """Side-by-side table of two lists of tuples, marking the rows that differ."""
    spec_set, impl_set = set(spec_rows), set(impl_rows)
    rows = []
    for row in sorted(spec_set | impl_set):
        where = "both" if row in spec_set and row in impl_set else (
            "spec only" if row in spec_set else "impl only")
        rows.append([where, *[hx(v) if isinstance(v, int) and i < 3 else v
                              for i, v in enumerate(row)]])
    rows = [r for r in rows if r[0] != "both"][:20] or rows[:5]
    return tabulate(rows, headers=["", *headers])


@dataclass
class Failure:
    """What went wrong at the failing step."""

    rule: str | None    # the violated rule, or None when ``headline`` says what went wrong
    what: str           # "return value", "translation state", "leaves", "crash", "hang", ...
    details: str
    headline: str | None = None  # "the implementation crashed (SIGSEGV) on unmap_pages(...)"


def render(target, failure: Failure, calls: list[Call], repro_ctor: str, spec_ctor: str,
           final_check: str, imports: str, driver_calls: list[str] | None = None,
           left_out: int = 0) -> str:
    """The report; ``driver_calls`` are the failing step's driver requests with their replies,
    ``left_out`` the no-op calls (``Call.noop``) already dropped from ``calls``."""
    if failure.headline is not None:
        head = [f"{target}: {failure.headline}"]
    else:
        r = RULES.get(failure.rule)
        head = [f"{target}: violates {failure.rule}: {r.summary}" if r else
                f"{target}: violates {failure.rule}", f"  ({r.source})" if r else ""]
    lines = [*head, ""]
    if calls:
        step = calls[-1]
        lines += [
            f"step {len(calls)} of {len(calls)}: {step.pretty()}",
            f"  spec:           {render_ret(step.spec_ret)}    rules: {', '.join(step.rules) or '-'}",
            f"  implementation: {render_ret(step.impl_ret)}",
        ]
    if driver_calls:
        lines.append("  driver calls of this step (request -> reply):")
        lines += [f"    {text}" for text in driver_calls]
    lines.append(f"  mismatch in {failure.what}:" if failure.headline is None else
                 "  what happened:")
    lines += ["    " + line for line in failure.details.splitlines()]
    lines += [
        "",
        "Reproduce (paste into a test file)" + (
            f"; {left_out} call{'s' if left_out > 1 else ''} that changed nothing "
            f"{'are' if left_out > 1 else 'is'} left out:" if left_out else ":"),
        "",
        *("    " + line if line else ""
          for line in repro(calls, repro_ctor, spec_ctor, final_check, imports).splitlines()),
    ]
    return "\n".join(line for line in lines if line is not None)


def repro(calls: list[Call], impl_ctor: str, spec_ctor: str, final_check: str,
          imports: str) -> str:
    uses_tlb = any(c.kind == "dma" for c in calls) or "iotlb_stale" in final_check
    body = [
        "from spec import *",
        "from spec.errors import *",
        "from spec.prot import *",
        imports,
        "",
        "",
        "def test_repro():",
        f"    spec = {spec_ctor}",
        f"    impl = {impl_ctor}",
    ]
    if uses_tlb:
        body.append("    tlb = Iotlb().bind(spec.min_pagesz)")
    if final_check == "assert impl.domain_free() == 0" and calls and calls[-1].op == "domain_free":
        calls = calls[:-1]  # the final check is that very call
    for call in calls:
        if call.kind == "restart":
            body.append(f"    impl = {impl_ctor}  # a fresh domain")
            body.append(f"    spec = {spec_ctor}")
            if uses_tlb:
                body.append("    tlb = Iotlb().bind(spec.min_pagesz)")
            continue
        if call.kind == "dma":
            body.append(f"    iotlb_fill(spec, tlb, {call.args['iova']:#x})  # device access")
            continue
        if call.kind == "setup":  # made on both, nothing to compare (fault injection)
            body.append(f"    {call.source('spec')}; {call.source('impl')}")
            continue
        if call.kind == "impl":
            note = f"  # {call.rules[0]}" if call.rules else ""
            body.append(f"    {call.source('impl')}{note}")
        else:
            body.append(f"    assert {call.source('impl')} == {call.source('spec')}")
        if uses_tlb:
            body.append("    tlb.apply(impl.take_tlb_commands())")
    body.append(f"    {final_check}")
    return "\n".join(body)
