"""The check-trace report, as text for people and as JSON for tools."""

from collections import Counter

from tabulate import tabulate

from spec import get_profile

from .check import TraceReport
from .fmt import human, pages_text, plural
from .rules import TRACE_RULES

#: What each record kind is, for the events table.
KIND_LABELS = {
    "map": "ftrace map (an iommu_map that succeeded)",
    "unmap": "ftrace unmap (iommu_unmap and its unmapped_size)",
    "io_page_fault": "ftrace io_page_fault (a device fault)",
    "dyndbg_map": "dyndbg 'map:' (iommu_map passed its alignment check)",
    "dyndbg_mapping": "dyndbg 'mapping:' (one page-size decision)",
    "dyndbg_unmap_this": "dyndbg 'unmap this:' (iommu_unmap starts)",
    "dyndbg_unmapped": "dyndbg 'unmapped:' (one unmap step)",
    "dyndbg_unaligned": "'unaligned:' (a request refused as misaligned)",
    "intel_pte_already_set": "Intel 'DMA PTE for vPFN ... already set' (counted, not replayed)",
}


def _totals(report: TraceReport, attr: str) -> Counter:
    total: Counter = Counter()
    for f in report.files:
        total.update(getattr(f, attr))
    return total


def to_json(report: TraceReport) -> dict:
    """The report as JSON-ready data (numbers as ints, page sizes as decimal-string keys)."""
    return {
        "profile": report.profile, "semantics": report.semantics,
        "pgsize_bitmap": report.pgsize_bitmap, "complete": report.complete,
        "exit_status": report.exit_status,
        "events": dict(_totals(report, "events")),
        "pages_spec": {str(k): v for k, v in sorted(_totals(report, "pages_spec").items())},
        "pages_kernel": {str(k): v for k, v in sorted(_totals(report, "pages_kernel").items())},
        "findings_by_rule": dict(Counter(f.rule for f in report.findings)),
        "findings": [f.to_json() for f in report.findings],
        "files": [{
            "file": f.file, "lines": f.lines, "events": dict(f.events),
            "skipped": {reason: {"count": n, "first_line": loc.line}
                        for reason, (n, loc) in f.skipped.items()},
            "malformed": [{"line": loc.line, "message": msg} for loc, msg in f.malformed],
            "notes": [{"line": loc.line if loc else None, "message": msg} for loc, msg in f.notes],
            "findings": len(f.findings),
        } for f in report.files],
    }


def render(report: TraceReport) -> str:
    """The report as text: summary tables, then every finding with its file:line."""
    out = []
    mode = ("complete: the logs start from an empty domain" if report.complete else
            "mid-stream: only IOVA ranges the log maps or unmaps are checked")
    profile = get_profile(report.profile)
    bitmap = ("" if report.pgsize_bitmap == profile.pgsize_bitmap
              else f", pgsize_bitmap {report.pgsize_bitmap:#x}")
    out.append(f"check-trace: profile {report.profile} (pages {pages_text(report.pgsize_bitmap)}"
               f"{bitmap}), semantics {report.semantics}; {mode}")
    out.append("")
    out.append(tabulate(
        [[f.file, f.lines, sum(f.events.values()), sum(n for n, _ in f.skipped.values()),
          len(f.malformed), len(f.findings)] for f in report.files],
        headers=["file", "lines", "events", "skipped", "malformed", "findings"]))

    events = _totals(report, "events")
    if events:
        out += ["", tabulate([[k, events[k], KIND_LABELS.get(k, "")] for k in KIND_LABELS
                              if events[k]], headers=["event", "count", "what it is"])]
    spec_pages, kernel_pages = _totals(report, "pages_spec"), _totals(report, "pages_kernel")
    if spec_pages or kernel_pages:
        sizes = sorted(set(spec_pages) | set(kernel_pages))
        out += ["", tabulate([[human(s), spec_pages[s], kernel_pages[s] or "-"] for s in sizes],
                             headers=["pgsize", "pages (spec, replayed maps)",
                                      "pages (kernel, mapping: lines)"],
                             colalign=("right", "right", "right"))]

    by_rule = Counter(f.rule for f in report.findings)
    if by_rule:
        out += ["", tabulate(
            [[name, by_rule[name], ", ".join(sorted({m for f in report.findings if f.rule == name
                                                     for m in f.model_rules})) or "-",
              TRACE_RULES[name].summary] for name in TRACE_RULES if by_rule[name]],
            headers=["rule", "findings", "model rules", "states"], maxcolwidths=[None, None, 30, 60])]
        out += ["", "findings:"]
        for f in report.findings:
            model = f" [{', '.join(f.model_rules)}]" if f.model_rules else ""
            out.append(f"{f.loc}: {f.rule}{model}: {f.message}")
            if f.expected or f.observed:
                out.append(f"    spec  {f.expected}")
                out.append(f"    log   {f.observed}")
            if f.repro:
                out.append("    reproduce:")
                out += [f"        {line}" for line in f.repro.splitlines()]

    skipped = [(f.file, reason, n, loc.line) for f in report.files
               for reason, (n, loc) in sorted(f.skipped.items())]
    if skipped:
        out += ["", tabulate(skipped, headers=["file", "skipped lines", "count", "first line"])]
    malformed = [(loc, msg) for f in report.files for loc, msg in f.malformed]
    if malformed:
        out += ["", f"malformed lines (not checked): {len(malformed)}"]
        out += [f"{loc}: {msg}" for loc, msg in malformed]
    notes = [(f.file, loc, msg) for f in report.files for loc, msg in f.notes]
    if notes:
        out += ["", "notes:"]
        out += [f"{loc if loc else file}: {msg}" for file, loc, msg in notes]

    n = len(report.findings)
    files = plural(len(report.files), "log")
    out += ["", f"result: {plural(n, 'finding')} in {files}" if n else
            f"result: consistent with the spec ({files}, no findings)"]
    return "\n".join(out) + "\n"
