"""explain: why each step takes the page size it does, and what better alignment would save."""

import pytest

from spec import SpecUsageError
from tracecheck import explain_map, render_explanation

SZ_4K, SZ_2M, SZ_1G = 0x1000, 0x200000, 0x40000000


def test_bar_map_steps_say_what_capped_them():
    """05a's BAR map: 4K capped by iova and paddr alignment and stopping at 2M; then 2M capped by all three."""
    e = explain_map("intel-vtd", 0xf8007000, 0xfa007000, 0xff9000)
    first, second = e.steps
    assert (first.pgsize, first.count, first.capped_by, first.stops_at, first.next_pgsize) == \
        (SZ_4K, 505, ("iova", "paddr"), 0xf8200000, SZ_2M)
    assert (second.pgsize, second.count, second.capped_by, second.stops_at, second.remaining) == \
        (SZ_2M, 7, ("iova", "paddr", "size"), None, 0xe00000)
    assert second.why() == "iova not 1G-aligned, paddr not 1G-aligned, 14M left < 1G"
    assert e.pages == 512 and e.ret == 0


def test_paddr_alone_can_cap_the_page_size():
    """iova 2M-aligned but paddr 4K into a 2M page: 1024 x 4K, capped by paddr only."""
    e = explain_map("intel-vtd", SZ_2M, SZ_2M + SZ_4K, 0x400000)
    (step,) = e.steps
    assert (step.pgsize, step.count, step.capped_by, step.stops_at) == (SZ_4K, 1024, ("paddr",), None)
    assert [(lay.label, lay.pages) for lay in e.layouts] == [
        ("as given", 1024), ("iova and paddr both 2M-aligned", 2)]


def test_size_rounded_up_layout_when_the_size_is_not_a_page_multiple():
    """A 2M + 4K buffer: 2M + 4K pages; rounded up to 4M it takes two 2M pages."""
    e = explain_map("intel-vtd", 0, 0, SZ_2M + SZ_4K)
    assert [(s.pgsize, s.count) for s in e.steps] == [(SZ_2M, 1), (SZ_4K, 1)]
    assert [(lay.label, lay.pages, lay.size) for lay in e.layouts] == [
        ("as given", 2, SZ_2M + SZ_4K),
        ("iova and paddr both 2M-aligned", 2, SZ_2M + SZ_4K),
        ("both 2M-aligned, size rounded up to 4M", 2, 0x400000)]


def test_largest_page_offered_is_the_hardware_cap():
    """2G at a 1G-aligned address on VT-d: two 1G pages, no larger page exists."""
    (step,) = explain_map("intel-vtd", SZ_1G, SZ_1G, 2 * SZ_1G).steps
    assert (step.pgsize, step.count, step.capped_by, step.next_pgsize) == (SZ_1G, 2, ("hardware",), None)
    assert step.why() == "1G is the largest page offered"


def test_amd_v1_offers_every_power_of_two():
    """03's 512K buffer on AMD v1 is one 512K page; the next page, 1M, is ruled out three ways."""
    (step,) = explain_map("amd-v1", 0xfe980000, 0x10ec80000, 0x80000).steps
    assert (step.pgsize, step.count, step.next_pgsize, step.capped_by) == \
        (0x80000, 1, 0x100000, ("iova", "paddr", "size"))


def test_pgsize_bitmap_restricts_the_pages():
    """VT-d hardware without 1G pages (bitmap 4K|2M) maps 2G as 1024 x 2M."""
    e = explain_map("intel-vtd", SZ_1G, SZ_1G, 2 * SZ_1G, pgsize_bitmap=SZ_4K | SZ_2M)
    assert [(s.pgsize, s.count, s.capped_by) for s in e.steps] == [(SZ_2M, 1024, ("hardware",))]


def test_misaligned_map_is_refused_with_the_rule():
    """08's request: pa 0x10be33650 is not 4K-aligned, so the spec refuses with -EINVAL (MAP_ALIGN)."""
    e = explain_map("intel-vtd", 0xfff7e000, 0x10be33650, 0x1000)
    assert e.ret == -22 and "MAP_ALIGN" in e.rules and e.steps == () and e.pages == 0
    assert "the spec refuses this map: -EINVAL (MAP_ALIGN" in render_explanation(e)


def test_out_of_range_values_are_usage_errors():
    """Values outside [0, 2^64) are a misuse of the API: SpecUsageError."""
    with pytest.raises(SpecUsageError):
        explain_map("intel-vtd", 1 << 64, 0, 0x1000)


def test_render_is_fixed_width_hex_and_lists_every_step():
    """The text has 18-character hex addresses, one row per step and the layouts table."""
    text = render_explanation(explain_map("intel-vtd", 0xf8007000, 0xfa007000, 0xff9000))
    assert "0x00000000f8007000" in text and "0x00000000fa200000" in text
    assert "stops at 2M boundary 0x00000000f8200000" in text
    assert "512 translations (505 x 4K + 7 x 2M)" in text
    assert "both 2M-aligned, size rounded up to 16M" in text


def test_json_has_every_step():
    """to_json carries the steps, their reasons and the layouts as plain data."""
    data = explain_map("intel-vtd", 0x6e200000, 0x4f4800000, 0x400000).to_json()
    assert data["steps"] == [{"iova": 0x6e200000, "paddr": 0x4f4800000, "pgsize": SZ_2M, "count": 2,
                              "bytes": 0x400000, "remaining": 0x400000, "next_pgsize": SZ_1G,
                              "capped_by": ["iova", "paddr", "size"],
                              "why": "iova not 1G-aligned, paddr not 1G-aligned, 4M left < 1G",
                              "stops_at": None}]
    assert data["pages"] == 2 and data["ret"] == 0 and data["ret_name"] == "0"
