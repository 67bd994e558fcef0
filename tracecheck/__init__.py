"""tracecheck: check real kernel IOMMU logs against the spec, and explain page-size choices.

Logs are read line by line into typed records (:mod:`tracecheck.parse`),
replayed through :class:`spec.ReferenceDomain` (:mod:`tracecheck.check`), and
every contradiction is reported under a trace rule (:mod:`tracecheck.rules`),
naming the model rule that decided the spec's side where there is one.
:func:`explain_map` says why a map takes the pages it does.

Conventions are the spec's: addresses and sizes are ints in [0, 2^64), in
bytes; errors are negative errno values.  Imports point only into ``spec``.
"""

from .check import FileReport, Finding, TraceChecker, TraceReport, check_file, check_files, check_lines
from .explain import (Explanation, KernelLine, Layout, Step, TraceMap, explain_map, explain_trace,
                      render as render_explanation, render_trace as render_trace_explanation)
from .parse import (DbgMap, DbgMapping, DbgUnaligned, DbgUnmapped, DbgUnmapThis, Fault,
                    FieldError, Loc, Malformed, Map, PteAlreadySet, Record, Skipped,
                    TraceInputError, Unmap, parse_line, parse_lines, parse_u64, read_trace,
                    split_lines)
from .report import render as render_report, to_json as report_json
from .rules import TRACE_RULES, TraceRule

__all__ = [
    # checking logs
    "check_lines", "check_file", "check_files", "TraceChecker", "Finding", "FileReport",
    "TraceReport", "render_report", "report_json", "TRACE_RULES", "TraceRule",
    # explaining page sizes
    "explain_map", "explain_trace", "Explanation", "Step", "Layout", "TraceMap", "KernelLine",
    "render_explanation", "render_trace_explanation",
    # reading logs
    "parse_line", "parse_lines", "read_trace", "split_lines", "parse_u64", "Loc", "Record",
    "Map", "Unmap", "Fault", "DbgMap", "DbgMapping", "DbgUnmapThis", "DbgUnmapped",
    "DbgUnaligned", "PteAlreadySet", "Skipped", "Malformed", "TraceInputError", "FieldError",
]
