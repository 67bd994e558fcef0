"""The ``iommu-spec`` command (``iommu_spec.cli``) and the benchmarks (``iommu_spec.bench``).

The design's own packages stay top level (``spec``, ``impls``, ``difftest``,
``tracecheck``, ``linuxpt``); the command line and the benchmarks live here so
that installing the project puts no generic ``cli`` or ``bench`` module into
site-packages.
"""
