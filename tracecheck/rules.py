"""The trace rules: what ``check-trace`` reports, each with its name and reason.

A trace rule says when a kernel log contradicts the spec.  Where the
contradiction is one of the model's own decisions, the finding also names the
model rule (:data:`spec.RULES`) that decided it; ``model_rules`` lists the ones
a rule can name.  ``source`` is where Linux writes the lines the rule reads.

Every check reads only *known* state: an IOVA range is known once the trace
maps or unmaps it (or, under ``--complete``, from the first line on), so an
excerpt that starts mid-stream raises no false alarm about what came before.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class TraceRule:
    """A trace rule: ``name``, the ``model_rules`` it can name, the Linux ``source``, and ``doc``."""

    name: str
    model_rules: tuple[str, ...]
    source: str
    doc: str

    @property
    def summary(self) -> str:
        """The first paragraph of the doc, on one line."""
        return " ".join(self.doc.strip().split("\n\n")[0].split())


TRACE_MAP_OVER_LIVE = TraceRule(
    "TRACE_MAP_OVER_LIVE", ("MAP_EXISTS",),
    "drivers/iommu/iommu.c __iommu_map (trace_map on success; pr_debug 'map:')",
    """A map lands on IOVAs that the trace showed mapped and not since unmapped.

    The spec refuses it (MAP_EXISTS, then MAP_ROLLBACK): io-pgtable-arm answers
    -EEXIST and generic_pt -EADDRINUSE.  A ``map`` event is traced only when
    the map succeeded, so a successful map over a live range means an unmap is
    missing from the trace, or the caller mapped twice and the driver wrote over
    (or kept) the old entry -- the old Intel driver logged "DMA PTE ... already
    set" and carried on.  After the finding the checker believes the trace: the
    old leaves are forgotten and the new map is replayed.
    """)

TRACE_MAP_OUTCOME = TraceRule(
    "TRACE_MAP_OUTCOME", ("MAP_RANGE", "MAP_ZERO_SIZE", "MAP_PROT"),
    "drivers/iommu/iommu.c __iommu_map (trace_map only when ret == 0)",
    """The trace shows a map succeeding that the spec refuses, for a reason other than alignment or overlap.

    Typically an IOVA or physical range beyond the profile's ias/oas (MAP_RANGE:
    the profile does not match the hardware), or a map of 0 bytes that the
    semantic variant rejects (MAP_ZERO_SIZE: the kernel follows another variant).
    The range's state is unknown afterwards.
    """)

TRACE_MISALIGNED = TraceRule(
    "TRACE_MISALIGNED", ("MAP_ALIGN", "UNMAP_ALIGN"),
    "drivers/iommu/iommu.c __iommu_map / __iommu_unmap (pr_err 'unaligned:')",
    """A map or unmap request whose iova, paddr or size is not a multiple of the smallest page.

    An ``unaligned:`` line is the kernel refusing such a request (iommu_map
    returns -EINVAL, iommu_unmap 0): the caller asked for something the API
    forbids.  A ``map``/``unmap`` event or ``map:`` line that is misaligned for the
    profile is a contradiction instead -- the kernel checks alignment before it
    traces -- so the profile's smallest page is likely wrong.
    """)

TRACE_UNMAPPED_SIZE = TraceRule(
    "TRACE_UNMAPPED_SIZE", ("UNMAP_HOLE", "UNMAP_PARTIAL_LEAF", "UNMAP_TABLE_SLOT",
                            "UNMAP_ZERO_SIZE", "PGSIZE_SELECT"),
    "drivers/iommu/iommu.c __iommu_unmap (trace_unmap; pr_debug 'unmapped:')",
    """An unmap returned a byte count the known state does not allow.

    Checked when every byte of the request is known (always under
    ``--complete``): the spec's unmap of the same request on the replayed state
    must return the traced ``unmapped_size`` (or the sum of the ``unmapped:``
    lines).  Regardless of state, the count must be a multiple of the smallest
    page, and it can exceed the request only under the "whole" partial-unmap
    variant (UNMAP_PARTIAL_LEAF).  After the finding the checker believes the
    trace: [iova, iova + unmapped_size) is unmapped, anything else the spec would
    have removed becomes unknown.
    """)

TRACE_PGSIZE_DECISION = TraceRule(
    "TRACE_PGSIZE_DECISION", ("PGSIZE_SELECT",),
    "drivers/iommu/iommu.c __iommu_map_pages / iommu_pgsize (pr_debug 'mapping:')",
    """A ``mapping:`` line chose a page size or count that spec.pgsize_and_count does not.

    Each ``mapping:`` line is checked on its own: for the ``map:`` it belongs to,
    the remaining size is the map's end minus the line's iova, and
    ``pgsize_and_count(pgsize_bitmap, iova, pa, remaining)`` must give the
    logged ``pgsize`` and ``count`` (only ``pgsize`` for the pre-v5.14 form
    without count).  A ``mapping:`` line whose ``map:`` is not in the excerpt must
    at least name a supported page size to which iova and pa are aligned.
    """)

TRACE_USE_AFTER_UNMAP = TraceRule(
    "TRACE_USE_AFTER_UNMAP", (),
    "drivers/iommu/iommu.c report_iommu_fault (trace io_page_fault)",
    """A device faulted at an IOVA that an unmap earlier in the trace removed.

    The device (or its driver) used a DMA address after unmapping it.  The
    finding gives the unmap's line and the time between the two.  A fault at an
    IOVA whose state the trace never showed is not reported.
    """)

TRACE_STALE_PTE = TraceRule(
    "TRACE_STALE_PTE", (),
    "drivers/iommu/intel/iommu.c __domain_mapping (pr_crit 'DMA PTE for vPFN ... already set')",
    """The Intel driver found a PTE still set at an IOVA that an unmap in the trace reported removed.

    The unmap's count claimed the page was gone; the next map found it present.
    This is the symptom of the VT-d unmap_pages bug fixed in v5.16.  Without
    such an unmap in the trace, the line is only counted (the IOVA's earlier
    state is unknown).
    """)

#: Every trace rule by name, in the order reports list them.
TRACE_RULES: dict[str, TraceRule] = {r.name: r for r in (
    TRACE_MAP_OVER_LIVE, TRACE_MAP_OUTCOME, TRACE_MISALIGNED, TRACE_UNMAPPED_SIZE,
    TRACE_PGSIZE_DECISION, TRACE_USE_AFTER_UNMAP, TRACE_STALE_PTE)}
