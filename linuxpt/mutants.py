"""Mutation score on real Linux code: how many small faults planted in io-pgtable-arm.c the tester finds.

``iommu-spec kernel mutants --src DIR --format lpae-s1`` (and ``python -m
iommu_spec.bench mutants-kernel``) enumerates mutants of a kernel tree's
``drivers/iommu/io-pgtable-arm.c``, builds each one (linuxpt's normal build,
the mutated text compiled from the build directory in place of the tree's
file: :func:`linuxpt.build.build` with ``replace``), and runs a bounded,
deterministic difftest against it on the format's profiles.  The tree is
never written; mutated copies live only in the build cache and are removed
once their mutant is judged.

Operators (:data:`OPERATORS`), applied with regular expressions to the tokens
of the map, unmap and iova_to_phys paths only (:data:`FUNCTIONS`, whose
bodies are found by brace matching, comments and literals skipped):

* ``flip-comparison``: ``<`` to ``<=`` and ``>=``, ``<=`` to ``<`` and ``>``,
  ``>`` to ``>=`` and ``<=``, ``>=`` to ``>`` and ``<``; ``==`` and ``!=`` to
  each other;
* ``off-by-one``: a shift amount ``x`` to ``(x + 1)`` and ``(x - 1)``; a mask's
  ``- 1`` to ``- 0`` and ``- 2``;
* ``drop-statement``: an expression statement (an assignment, or a call
  whose value is not returned) removed, its ``;`` left;
* ``swap-args``: two arguments of a call swapped when they are of the same
  apparent kind (both integers, or pointers to the same type, from the
  function's own declarations; ``min``/``max`` macros are skipped, where a
  swap changes nothing);
* ``wrong-return``: ``return EXPR;`` to ``return 0;`` and ``return -EINVAL;``.

Candidates are enumerated deterministically (numbered by position in the
file), then ``--max`` of them are sampled with ``--seed``.  A mutant is
*not-built* when it does not compile, *killed* when the state machine fails
on any profile (a DiffFailure, or the harness crashing, breaking the protocol
or hanging past the per-reply timeout), *survived* otherwise.
"""

from __future__ import annotations

import difflib
import json
import os
import random
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

TARGET = "drivers/iommu/io-pgtable-arm.c"
#: The functions of io-pgtable-arm.c mutated: the map, unmap and iova_to_phys paths.
FUNCTIONS = (
    "__arm_lpae_map", "arm_lpae_init_pte", "__arm_lpae_init_pte", "arm_lpae_install_table",
    "arm_lpae_map_pages", "__arm_lpae_unmap", "arm_lpae_split_blk_unmap", "arm_lpae_unmap_pages",
    "arm_lpae_iova_to_phys", "paddr_to_iopte", "iopte_to_paddr", "arm_lpae_max_entries",
)
OPERATORS = ("flip-comparison", "off-by-one", "drop-statement", "swap-args", "wrong-return")
#: The formats whose code the operators target (the functions above are io-pgtable-arm.c's).
FORMATS = ("lpae-s1",)

DEFAULT_MAX = 100
DEFAULT_EXAMPLES = 30
STEPS = 30
REPLY_TIMEOUT = 2.0
MAX_JOBS = 2


# ---------------------------------------------------------------------------
# Finding the functions
# ---------------------------------------------------------------------------

def code_view(text: str) -> str:
    """``text`` with comments, the insides of string and character literals, and
    preprocessor lines blanked (same length, newlines kept), so token regexes
    see only code."""
    out = list(text)
    i, n = 0, len(text)
    line_start = True

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if line_start and c == "#" or (line_start and c in " \t" and text[i:].lstrip(" \t")[:1] == "#"):
            j = i
            while True:  # a directive, with its backslash continuations
                end = text.find("\n", j)
                end = n if end < 0 else end
                if end > 0 and text[end - 1] == "\\" and end < n:
                    j = end + 1
                    continue
                break
            blank(i, end)
            i, line_start = end, False
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            blank(i, end)
            i = end
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            blank(i, end)
            i = end
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            blank(i + 1, min(j, n))
            i = j + 1
            line_start = False
            continue
        if c == "\n":
            line_start = True
        elif c not in " \t":
            line_start = False
        i += 1
    return "".join(out)


def match_close(code: str, open_at: int) -> int:
    """Index just past the bracket closing the one at ``open_at`` (in a :func:`code_view`)."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    opener = code[open_at]
    closer = pairs[opener]
    depth = 0
    for i in range(open_at, len(code)):
        if code[i] == opener:
            depth += 1
        elif code[i] == closer:
            depth -= 1
            if depth == 0:
                return i + 1
    raise ValueError(f"unbalanced {opener!r} at offset {open_at}")


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[int, int]   # inside the parentheses of the definition
    body: tuple[int, int]     # from '{' to just past '}'


def find_functions(code: str, names=FUNCTIONS) -> dict[str, Function]:
    """The definitions (with a body) of ``names`` in ``code``; prototypes and calls are skipped."""
    found = {}
    for name in names:
        for m in re.finditer(rf"(?<![\w.>]){re.escape(name)}\s*\(", code):
            close = match_close(code, m.end() - 1)
            rest = code[close:]
            brace = close + len(rest) - len(rest.lstrip())
            if brace < len(code) and code[brace] == "{":
                found[name] = Function(name, (m.end(), close - 1), (brace, match_close(code, brace)))
                break
    return found


# ---------------------------------------------------------------------------
# Statements, declarations, kinds
# ---------------------------------------------------------------------------

_JUMPS = ("return", "break", "continue", "goto")
_CONTROL = re.compile(r"\s*(?:(if|while|for|switch)\s*(?=\()|(else|do)\b|(?!default\b)[A-Za-z_]\w*\s*:(?!:))")
_DECL = re.compile(r"(?:(?:const|static|volatile|unsigned|signed|register)\s+|(?:struct|enum|union)\s+\w+\s*)*"
                   r"[A-Za-z_]\w*(?:\s+|\s*\*+\s*)[\*\s]*[A-Za-z_]\w*\s*(?:[=,;\[]|$)")
_KEYWORDS = {"if", "while", "for", "switch", "return", "sizeof", "typeof", "__typeof__", "do",
             "else", "case", "goto"}


@dataclass(frozen=True)
class Statement:
    start: int   # of the statement proper (control prefixes such as `if (...)` peeled off)
    end: int     # its ';'
    kind: str    # "expression", "declaration", "jump" (return/break/continue/goto)


def statements(code: str, body: tuple[int, int]) -> list[Statement]:
    """The ``;``-terminated statements of a body, outermost parentheses respected."""
    out = []
    depth, seg = 0, body[0] + 1
    for i in range(body[0] + 1, body[1] - 1):
        c = code[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and c in "{}":
            seg = i + 1
        elif depth == 0 and c == ";":
            start = _peel(code, seg, i)
            seg = i + 1
            text = code[start:i].strip()
            if not text:
                continue
            start += len(code[start:i]) - len(code[start:i].lstrip())
            word = re.match(r"\w+", text)
            if word and word.group() in _JUMPS:
                kind = "jump"
            elif _DECL.match(text) and not (word and word.group() in _KEYWORDS):
                kind = "declaration"
            else:
                kind = "expression"
            out.append(Statement(start, i, kind))
    return out


def _peel(code: str, start: int, end: int) -> int:
    """Where the statement in code[start:end] begins once `if (..)`, `else`, labels... are skipped."""
    while True:
        m = _CONTROL.match(code, start, end)
        if not m:
            return start
        if m.group(1):
            start = match_close(code, m.end())
        else:
            start = m.end()


def declarations(code: str, fn: Function, stmts: list[Statement]) -> dict[str, str]:
    """name -> apparent kind ("int:<type>" or "ptr:<type>") from the parameters and declarations of ``fn``."""
    env = {}
    pieces = _split_top(code, *fn.params)
    pieces += [p for s in stmts if s.kind == "declaration"
               for p in _declarators(code[s.start:s.end])]
    for piece in pieces:
        piece = re.sub(r"=.*", "", piece, flags=re.S).strip()
        m = re.match(r"(.*?)([\*\s]*)([A-Za-z_]\w*)\s*(\[.*\])?$", piece, re.S)
        if not m or not m.group(1).strip() and not m.group(2).strip() and piece.count(" ") == 0:
            continue
        base, stars, name, array = m.group(1).strip(), m.group(2), m.group(3), m.group(4)
        base = " ".join(base.replace("*", " ").split())
        env[name] = f"ptr:{base}" if "*" in stars or "*" in m.group(1) or array else f"int:{base}"
    return env


def _declarators(decl: str) -> list[str]:
    """``int a = 1, *b`` -> ["int a = 1", "int *b"] (the type repeated on each)."""
    code = code_view(decl)
    parts = _split_top(code, 0, len(code))
    if not parts:
        return []
    first = parts[0]
    m = re.match(r"(.*?\b)(?=[\*\s]*[A-Za-z_]\w*\s*(?:=|\[|$))", re.sub(r"=.*", "", first, flags=re.S),
                 re.S)
    base = m.group(1) if m else ""
    base = re.sub(r"\*+\s*$", "", base)
    return [first] + [base + " " + p.strip() for p in parts[1:]]


def _split_top(code: str, a: int, b: int) -> list[str]:
    """code[a:b] split at its top-level commas (stripped, empty pieces dropped)."""
    return [code[s:e].strip() for s, e in _split_spans(code, a, b) if code[s:e].strip()]


def _split_spans(code: str, a: int, b: int) -> list[tuple[int, int]]:
    spans, depth, seg = [], 0, a
    for i in range(a, b):
        c = code[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            spans.append((seg, i))
            seg = i + 1
    spans.append((seg, b))
    return spans


def kind_of(expr: str, env: dict[str, str]) -> str | None:
    """The apparent kind of an argument, from its leading name: "int:<type>", "ptr:<type>",
    "const" (a number or an upper-case macro), "ptr:*" (NULL), or None (unknown)."""
    e = expr.strip()
    if e == "NULL":
        return "ptr:*"
    if e.startswith("&"):
        return None  # the address of something whose type we do not track
    m = re.match(r"(\*)?\s*([A-Za-z_]\w*|\d\w*)", e)
    if not m:
        return None
    deref, head = m.group(1), m.group(2)
    rest = e[m.end():].lstrip()
    if head[0].isdigit():
        return "const"
    if re.fullmatch(r"[A-Z][A-Z0-9_]*", head):
        return "const" if not rest.startswith(("->", ".")) else None  # a macro constant or value
    kind = env.get(head)
    if kind is None or rest.startswith(("->", ".", "(")):
        return None
    if rest.startswith("["):
        close = match_close(rest, 0)
        rest = rest[close:].lstrip()
        kind = "int:" + kind[4:] if kind.startswith("ptr:") else None
    if deref:
        kind = "int:" + kind[4:] if kind and kind.startswith("ptr:") else None
    if kind and kind.startswith("ptr:") and rest and rest[0] in "*/|&^%<>":
        return None
    return kind


# ---------------------------------------------------------------------------
# Mutants
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Mutant:
    id: str
    operator: str
    function: str
    line: int
    start: int
    end: int
    original: str
    replacement: str
    note: str = ""   # what changed, when the replacement alone does not say it (swaps)

    def apply(self, text: str) -> str:
        return text[:self.start] + self.replacement + text[self.end:]

    @property
    def change(self) -> str:
        if self.note:
            return self.note
        a = " ".join(self.original.split())
        b = " ".join(self.replacement.split()) or "(removed)"
        return f"{a} -> {b}"


_FLIPS = {"<": ("<=", ">="), "<=": ("<", ">"), ">": (">=", "<="), ">=": (">", "<"),
          "==": ("!=",), "!=": ("==",)}
_COMPARISON = re.compile(r"(?<![<>\-=!])(<=|>=|==|!=|<|>)(?![<>=])")
_SHIFT = re.compile(r"(<<|>>)(?!=)\s*")
_MINUS_ONE = re.compile(r"-\s*1\b(?![.\w])")
_CALL = re.compile(r"(?<![\w.>])([A-Za-z_]\w*)\s*\(")
_NO_SWAP = {"min", "max", "min_t", "max_t", "clamp", "clamp_t", "swap"}


def enumerate_mutants(text: str, functions=FUNCTIONS) -> list[Mutant]:
    """Every candidate mutant of ``text`` in ``functions``, in a fixed order (ids M001...)."""
    code = code_view(text)
    found = find_functions(code, functions)
    raw: list[tuple] = []  # (start, end, replacement, operator, function[, note])
    for name in functions:
        fn = found.get(name)
        if fn is None:
            continue
        a, b = fn.body
        stmts = statements(code, fn.body)
        env = declarations(code, fn, stmts)
        # flip-comparison
        for m in _COMPARISON.finditer(code, a, b):
            for rep in _FLIPS[m.group(1)]:
                raw.append((m.start(1), m.end(1), rep, "flip-comparison", name))
        # off-by-one: shift amounts
        for m in _SHIFT.finditer(code, a, b):
            s = m.end()
            e = _operand_end(code, s, b)
            if e is None:
                continue
            operand = text[s:e]
            for sign in ("+", "-"):
                raw.append((s, e, f"({operand} {sign} 1)", "off-by-one", name))
        # off-by-one: "- 1" masks
        for m in _MINUS_ONE.finditer(code, a, b):
            before = code[a:m.start()].rstrip()
            if not before or not re.search(r"[\w)\]]$", before) or before.endswith("return"):
                continue
            for rep in ("- 0", "- 2"):
                raw.append((m.start(), m.end(), rep, "off-by-one", name))
        # drop-statement / wrong-return
        for st in stmts:
            if st.kind == "expression":
                raw.append((st.start, st.end, "", "drop-statement", name))
            elif st.kind == "jump" and code.startswith("return", st.start):
                expr_start = st.start + len("return")
                expr = text[expr_start:st.end].strip()
                if not expr:
                    continue
                s = expr_start + len(text[expr_start:st.end]) - len(text[expr_start:st.end].lstrip())
                e = s + len(expr)
                for rep in ("0", "-EINVAL"):
                    if " ".join(expr.split()) != rep:
                        raw.append((s, e, rep, "wrong-return", name))
        # swap-args
        for m in _CALL.finditer(code, a, b):
            if m.group(1) in _KEYWORDS or m.group(1) in _NO_SWAP:
                continue
            open_at = m.end() - 1
            close = match_close(code, open_at)
            spans = [(s + len(code[s:e]) - len(code[s:e].lstrip()), e - (len(code[s:e]) - len(code[s:e].rstrip())))
                     for s, e in _split_spans(code, open_at + 1, close - 1)]
            spans = [(s, e) for s, e in spans if e > s]
            kinds = [kind_of(code[s:e], env) for s, e in spans]
            for i in range(len(spans)):
                for j in range(i + 1, len(spans)):
                    ki, kj = kinds[i], kinds[j]
                    if ki is None or kj is None:
                        continue
                    same = ki == kj or ("const" in (ki, kj) and (ki + kj).count("int:") == 1) \
                        or (ki.startswith("ptr:") and kj.startswith("ptr:") and "ptr:*" in (ki, kj))
                    (si, ei), (sj, ej) = spans[i], spans[j]
                    if not same or text[si:ei] == text[sj:ej]:
                        continue
                    rep = text[sj:ej] + text[ei:sj] + text[si:ei]
                    raw.append((si, ej, rep, "swap-args", name,
                                f"{m.group(1)}(): swap {' '.join(text[si:ei].split())} and "
                                f"{' '.join(text[sj:ej].split())}"))
    seen, out = set(), []
    order = {op: k for k, op in enumerate(OPERATORS)}
    for s, e, rep, op, name, *note in sorted(raw, key=lambda r: (r[0], r[1], order[r[3]], r[2])):
        if (s, e, rep) in seen or text[s:e] == rep:
            continue
        seen.add((s, e, rep))
        out.append(Mutant(f"M{len(out) + 1:03d}", op, name, text.count("\n", 0, s) + 1, s, e,
                          text[s:e], rep, *note))
    return out


def _operand_end(code: str, s: int, limit: int) -> int | None:
    """End of the shift amount starting at ``s``: a (parenthesised) group, a number, or a
    name with member accesses and an optional call."""
    if s >= limit:
        return None
    if code[s] == "(":
        return match_close(code, s)
    m = re.compile(r"\d\w*|[A-Za-z_]\w*(?:(?:->|\.)[A-Za-z_]\w*)*").match(code, s, limit)
    if not m:
        return None
    e = m.end()
    if e < limit and code[e] == "(":
        e = match_close(code, e)
    return e


def sample(mutants: list[Mutant], max_count: int | None, seed: int) -> list[Mutant]:
    """``max_count`` of ``mutants`` chosen with ``seed`` (all when fewer), in id order."""
    if max_count is None or max_count >= len(mutants):
        return list(mutants)
    chosen = random.Random(seed).sample(range(len(mutants)), max_count)
    return [mutants[i] for i in sorted(chosen)]


def unified_diff(text: str, mutant: Mutant, path: str = TARGET) -> str:
    return "".join(difflib.unified_diff(text.splitlines(keepends=True),
                                        mutant.apply(text).splitlines(keepends=True),
                                        fromfile=f"a/{path}", tofile=f"b/{path} ({mutant.id})", n=3))


# ---------------------------------------------------------------------------
# Judging one mutant
# ---------------------------------------------------------------------------

@dataclass
class Outcome:
    id: str
    operator: str
    function: str
    line: int
    change: str
    outcome: str = ""        # killed, survived, not-built, error
    reason: str = ""         # the profile and rule / what happened / the compile error
    seconds: float = 0.0
    diff: str = field(default="", repr=False)


def _settings(examples: int):
    from hypothesis import HealthCheck, Phase, settings
    # No shrinking: a kill needs one failing example, not the smallest one.
    return settings(derandomize=True, max_examples=examples, stateful_step_count=STEPS,
                    deadline=None, database=None, print_blob=False, report_multiple_bugs=False,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def _reason(error: BaseException) -> str:
    """One line: the violated rule and what differed, or what the harness did."""
    text = str(error)
    first = text.splitlines()[0] if text else type(error).__name__
    m = re.search(r"violates (\w+)", first)
    what = re.search(r"^\s*mismatch in (.*):\s*$", text, re.M)
    if m:
        return m.group(1) + (f" ({what.group(1)})" if what else "")
    kind = getattr(error, "kind", None)
    head = getattr(error, "what", "") or first.split(": ", 1)[-1]
    line = f"{kind}: {head}" if kind else head
    return line if len(line) <= 100 else line[:97] + "..."


def difftest_binary(binary: str | Path, fmt: str, version: tuple[int, int], examples: int,
                    timeout: float = REPLY_TIMEOUT) -> tuple[str, str]:
    """Run the bounded state machine on every profile of ``fmt``: ("killed", reason) or ("survived", "")."""
    from hypothesis.errors import Flaky
    from hypothesis.stateful import run_state_machine_as_test

    from difftest.external import ExternalError, ExternalFactory, ExternalTimeout
    from difftest.inputs import known_set_aside
    from difftest.machine import DiffFailure, build_machine

    from .formats import FORMAT_PROFILES, semantics_for

    sem = semantics_for(fmt, version)
    set_aside = known_set_aside(fmt, version)
    for profile in FORMAT_PROFILES[fmt]:
        with ExternalFactory([str(binary), "--format", fmt], timeout=timeout, fresh=True) as factory:
            machine = build_machine(factory, profile, sem, label=f"mutant-{fmt}",
                                    set_aside=set_aside, driver_contract=True)
            try:
                run_state_machine_as_test(machine, settings=_settings(examples))
            except (DiffFailure, ExternalError, ExternalTimeout) as exc:
                return "killed", f"{profile}: {_reason(exc)}"
            except Flaky as exc:  # failed once, passed on the replay: still a failure seen
                inner = getattr(exc, "exceptions", None) or [exc]
                return "killed", f"{profile}: {_reason(inner[0])} (flaky)"
    return "survived", ""


def evaluate(job: tuple) -> Outcome:
    """Build and judge one mutant (run in a worker process): ``job`` is
    (src, fmt, version, text, mutant, examples, timeout, cache_dir)."""
    from .build import KernelTreeError, build
    src, fmt, version, text, mutant, examples, timeout, cache_dir = job
    out = Outcome(mutant.id, mutant.operator, mutant.function, mutant.line, mutant.change)
    t0 = time.perf_counter()
    binary = None
    try:
        binary = build(src, cache_dir=cache_dir, replace={TARGET: mutant.apply(text)})
    except KernelTreeError as exc:
        out.outcome = "not-built"
        msg = str(exc)
        msg = re.sub(r"^compiling \S+ failed: ", "", msg)
        msg = re.sub(r"(?<![\w.])/(?:[^\s:/]+/)+", "", msg)  # file names without their directories
        out.reason = msg if len(msg) <= 100 else msg[:97] + "..."
    if binary is not None:
        try:
            out.outcome, out.reason = difftest_binary(binary, fmt, version, examples, timeout)
        except Exception as exc:  # the tester itself broke: neither killed nor survived
            out.outcome, out.reason = "error", f"{type(exc).__name__}: {exc}".splitlines()[0][:100]
        finally:
            shutil.rmtree(binary.parent, ignore_errors=True)
    out.seconds = round(time.perf_counter() - t0, 2)
    if out.outcome == "survived":
        out.diff = unified_diff(text, mutant)
    return out


# ---------------------------------------------------------------------------
# A run
# ---------------------------------------------------------------------------

@dataclass
class Run:
    tree: str
    version: str
    format: str
    seed: int
    examples: int
    candidates: int
    by_operator: dict
    outcomes: list[Outcome]
    wall_seconds: float
    jobs: int

    def totals(self) -> dict:
        count = {k: sum(o.outcome == k for o in self.outcomes)
                 for k in ("killed", "survived", "not-built", "error")}
        built = count["killed"] + count["survived"]
        return {"mutants": len(self.outcomes), **count, "built": built,
                "kill_rate": round(count["killed"] / built, 4) if built else None,
                "wall_seconds": round(self.wall_seconds, 1)}

    def to_json(self) -> dict:
        return {"tree": self.tree, "kernel": self.version, "format": self.format, "file": TARGET,
                "seed": self.seed, "examples": self.examples, "steps": STEPS,
                "reply_timeout": REPLY_TIMEOUT, "jobs": self.jobs,
                "candidates": self.candidates, "candidates_by_operator": self.by_operator,
                "totals": self.totals(),
                "mutants": [{k: v for k, v in asdict(o).items() if k != "diff"}
                            for o in self.outcomes],
                "survivors": [{"id": o.id, "diff": o.diff} for o in self.outcomes
                              if o.outcome == "survived"]}

    def render(self) -> str:
        from tabulate import tabulate
        rows = [[o.id, o.operator, o.function, o.line, o.outcome, o.reason or o.change]
                for o in self.outcomes]
        t = self.totals()
        rate = f"{t['kill_rate']:.1%}" if t["kill_rate"] is not None else "n/a"
        lines = [f"Mutants of {TARGET} (Linux {self.version}, {self.format}): {len(self.outcomes)} "
                 f"of {self.candidates} candidates (seed {self.seed}), {self.examples} examples x "
                 f"{STEPS} steps per profile", "",
                 tabulate(rows, headers=["mutant", "operator", "function", "line", "outcome",
                                         "rule or reason"]), "",
                 f"killed {t['killed']}, survived {t['survived']}, not-built {t['not-built']}"
                 + (f", error {t['error']}" if t["error"] else "")
                 + f"; kill rate {rate} of {t['built']} built; wall time {t['wall_seconds']:.1f} s "
                   f"on {self.jobs} process{'es' if self.jobs > 1 else ''}"]
        for o in self.outcomes:
            if o.outcome == "survived":
                lines += ["", f"survivor {o.id} ({o.operator} in {o.function}, line {o.line}):",
                          o.diff.rstrip("\n")]
        return "\n".join(lines)


def run(src: str | Path, fmt: str = "lpae-s1", max_count: int | None = DEFAULT_MAX, seed: int = 0,
        examples: int = DEFAULT_EXAMPLES, jobs: int = MAX_JOBS, timeout: float = REPLY_TIMEOUT,
        only: list[str] | None = None, progress=None) -> Run:
    """Enumerate, sample, build and judge mutants of the tree at ``src``.

    ``only`` picks mutants by id instead of sampling.  Raises KernelTreeError
    (a missing tree or compiler) and ValueError (bad arguments), each one line.
    """
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing

    from .build import check_tree, find_compiler, kernel_version, cache_root

    if fmt not in FORMATS:
        raise ValueError(f"unknown or unsupported format {fmt!r}: the mutation operators target "
                         f"{TARGET} ({', '.join(FORMATS)})")
    tree = check_tree(src)
    find_compiler()
    v = kernel_version(tree)
    text = (tree / TARGET).read_text()
    mutants = enumerate_mutants(text)
    if not mutants:
        raise ValueError(f"{tree / TARGET}: none of the functions {', '.join(FUNCTIONS)} found")
    if only:
        by_id = {m.id: m for m in mutants}
        missing = [i for i in only if i not in by_id]
        if missing:
            raise ValueError(f"no mutant {', '.join(missing)} (M001..{mutants[-1].id})")
        chosen = [by_id[i] for i in only]
    else:
        chosen = sample(mutants, max_count, seed)
    by_op = {op: sum(m.operator == op for m in mutants) for op in OPERATORS}
    cache_dir = str(cache_root() / "mutants")
    jobs = max(1, min(jobs, MAX_JOBS, os.cpu_count() or 1, len(chosen)))
    work = [(str(tree), fmt, v[:2], text, m, examples, timeout, cache_dir) for m in chosen]
    t0 = time.perf_counter()
    outcomes = []
    if jobs == 1:
        for job in work:
            outcomes.append(evaluate(job))
            if progress:
                progress(outcomes[-1], len(outcomes), len(work))
    else:
        with ProcessPoolExecutor(max_workers=jobs,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            for out in pool.map(evaluate, work):
                outcomes.append(out)
                if progress:
                    progress(out, len(outcomes), len(work))
    version = f"{v[0]}.{v[1]}.{v[2]}{v[3]}"
    return Run(str(tree), version, fmt, seed, examples, len(mutants), by_op, outcomes,
               time.perf_counter() - t0, jobs)


def add_arguments(p) -> None:
    """The options of ``iommu-spec kernel mutants`` and ``iommu-spec bench mutants-kernel``."""
    p.add_argument("--src", required=True, help="root of a Linux source tree")
    p.add_argument("--format", default="lpae-s1", help="io-pgtable format: lpae-s1 (the only one)")
    p.add_argument("--max", type=int, default=DEFAULT_MAX, metavar="N",
                   help=f"mutants to sample from the candidates (default {DEFAULT_MAX}; 0: all)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="sampling seed (default 0)")
    p.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES, metavar="K",
                   help=f"examples per profile, {STEPS} steps each (default {DEFAULT_EXAMPLES})")
    p.add_argument("--only", default=None, metavar="ID[,ID]",
                   help="run these mutants (M001...) instead of a sample")
    p.add_argument("--list", action="store_true",
                   help="list the candidate mutants (id, operator, function, line, change) and stop")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--progress", action="store_true", help="one line per mutant on stderr")


def execute(args, prog: str) -> int:
    """Run what ``args`` (from :func:`add_arguments`) ask; one-line errors, status 2."""
    from .build import KernelTreeError, check_tree

    try:
        if args.max < 0:
            raise ValueError(f"--max must be >= 0 (0: all), got {args.max}")
        if args.examples < 1:
            raise ValueError(f"--examples must be >= 1, got {args.examples}")
        if args.list:
            if args.format not in FORMATS:
                raise ValueError(f"unknown or unsupported format {args.format!r}: the mutation "
                                 f"operators target {TARGET} ({', '.join(FORMATS)})")
            text = (check_tree(args.src) / TARGET).read_text()
            from tabulate import tabulate
            rows = [[m.id, m.operator, m.function, m.line, m.change]
                    for m in enumerate_mutants(text)]
            print(tabulate(rows, headers=["mutant", "operator", "function", "line", "change"]))
            return 0
        only = [i.strip() for i in args.only.split(",") if i.strip()] if args.only else None

        def progress(out, done, total):
            print(f"[{done}/{total}] {out.id} {out.outcome} {out.reason}", file=sys.stderr,
                  flush=True)

        result = run(args.src, args.format, args.max or None, args.seed, args.examples,
                     only=only, progress=progress if args.progress else None)
    except (KernelTreeError, ValueError, OSError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 2
    print(json.dumps(result.to_json(), indent=2) if args.json else result.render())
    return 0
