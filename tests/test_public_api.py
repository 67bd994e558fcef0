"""The public names of spec, impls and difftest are exactly the documented lists."""

import difftest
import impls
import spec


def test_spec_public_names():
    """spec re-exports the model, its rules, profiles, variants, IOTLB and helpers, nothing else."""
    assert sorted(spec.__all__) == sorted([
        "ReferenceDomain", "SpecUsageError", "errno_name",
        "LeafRun", "Translation", "canonical_leaves", "clip_leaves", "translations_of",
        "greedy_chunks", "greedy_leaves", "pgsize", "pgsize_and_count",
        "PROFILES", "Profile", "get_profile", "SEMANTICS", "Semantics", "get_semantics",
        "RULES", "Rule", "Iotlb", "Stale", "iotlb_fill", "iotlb_stale",
        "IOMMU_READ", "IOMMU_WRITE", "IOMMU_CACHE", "IOMMU_NOEXEC", "IOMMU_MMIO", "IOMMU_PRIV",
    ])
    assert all(hasattr(spec, name) for name in spec.__all__)


def test_impls_public_names():
    """impls exports the registry, the interface, the core and each implementation class."""
    assert sorted(impls.__all__) == sorted([
        "IMPLEMENTATIONS", "Implementation", "Core", "Counters", "Pagewise", "Pgsize",
        "SgPerEntry", "MapPages", "Lpae", "LpaeSplit", "GenericPt", "AmdV1", "MapRange",
        "GenericPtRange"])
    assert sorted(impls.IMPLEMENTATIONS) == sorted([
        "pagewise", "pgsize", "sg_per_entry", "map_pages", "lpae", "lpae-split",
        "generic_pt", "amd_v1", "map_range", "generic_pt-map_range"])


def test_difftest_public_names():
    """difftest exports the conformance checker, the machine builder and the failure type."""
    assert sorted(difftest.__all__) == sorted(["check_implementation", "build_machine", "DiffFailure"])


def test_spec_imports_nothing_of_impls_difftest_or_the_command():
    """Imports point one way: no module under spec/ imports impls, difftest, tracecheck or iommu_spec (the command and benchmarks)."""
    import pathlib
    import re
    root = pathlib.Path(spec.__file__).parent
    bad = [str(p) for p in root.rglob("*.py")
           if re.search(r"^\s*(from|import)\s+(impls|difftest|tracecheck|iommu_spec|cli|bench)\b",
                        p.read_text(), re.M)]
    assert bad == []
