"""Unit tests of the IOTLB rules (IOTLB_FILL, IOTLB_STALE) and of invalidation commands."""

import pytest

from spec import Iotlb, ReferenceDomain, SpecUsageError, Stale, iotlb_fill, iotlb_stale

RW = 3


def domain_and_tlb():
    d = ReferenceDomain("intel-vtd", "generic-pt")
    return d, Iotlb().bind(d.min_pagesz)


def test_iotlb_fill_caches_the_page_of_a_mapped_iova():
    """A device access at 0x1234 caches page 0x1000 -> its paddr; an unmapped IOVA caches nothing."""
    d, tlb = domain_and_tlb()
    d.map(0, 0x5000, 0x3000, RW)
    assert iotlb_fill(d, tlb, 0x1234) == 0x6000
    assert d.decided[-1] == "IOTLB_FILL"
    assert dict(tlb.entries) == {0x1000: 0x6000}
    assert iotlb_fill(d, tlb, 0x9000) is None
    assert dict(tlb.entries) == {0x1000: 0x6000}


def test_iotlb_stale_after_unmap_without_invalidation():
    """An unmapped page still cached is stale: IOVA, cached paddr, current 0."""
    d, tlb = domain_and_tlb()
    d.map(0, 0x5000, 0x3000, RW)
    iotlb_fill(d, tlb, 0x1000)
    d.unmap(0, 0x3000)
    assert iotlb_stale(d, tlb) == [Stale(0x1000, 0x6000, 0)]
    assert d.decided[-1] == "IOTLB_STALE"


def test_iotlb_stale_after_remap_elsewhere():
    """A page remapped to another paddr without invalidation is stale with both translations."""
    d, tlb = domain_and_tlb()
    d.map(0, 0x5000, 0x1000, RW)
    iotlb_fill(d, tlb, 0)
    d.unmap(0, 0x1000)
    d.map(0, 0x9000, 0x1000, RW)
    assert iotlb_stale(d, tlb) == [Stale(0, 0x5000, 0x9000)]


@pytest.mark.parametrize("command,left", [
    (("range", 0x1fff, 1), {0x3000: 0x8000}),          # overlaps page 0x1000 by one byte
    (("range", 0x2000, 0x1000), {0x1000: 0x6000, 0x3000: 0x8000}),  # the gap between them
    (("range", 0, 0x4000), {}),
    (("all",), {}),
    (["range", 0x3000, 0x1000], {0x1000: 0x6000}),     # JSON-style lists work too
])
def test_invalidation_commands_drop_overlapping_entries(command, left):
    """A range command drops exactly the cached pages it overlaps; all drops everything."""
    d, tlb = domain_and_tlb()
    d.map(0, 0x5000, 0x4000, RW)
    iotlb_fill(d, tlb, 0x1000)
    iotlb_fill(d, tlb, 0x3000)
    tlb.invalidate(command)
    assert dict(tlb.entries) == left


@pytest.mark.parametrize("command", [("flush",), ("range", -1, 4096), ("range", 0), ("range", 0, "4k"), 7])
def test_malformed_invalidation_command_is_rejected(command):
    """A malformed command raises SpecUsageError and leaves the IOTLB unchanged."""
    d, tlb = domain_and_tlb()
    d.map(0, 0x5000, 0x1000, RW)
    iotlb_fill(d, tlb, 0)
    with pytest.raises(SpecUsageError):
        tlb.invalidate(command)
    assert dict(tlb.entries) == {0: 0x5000}
