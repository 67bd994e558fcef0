"""``iommu-spec semantics`` lists every variant with its drivers, releases and a source per point."""

import json

from iommu_spec.cli.main import main as cli_main
from spec import SEMANTICS
from spec.semantics import POINTS


def test_every_variant_has_drivers_releases_and_a_source_for_every_point(capsys):
    """The JSON listing: each variant names the driver files that run it (spec.kernels), its
    releases, and a non-empty source for each of the variant points."""
    assert cli_main(["semantics", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [v["name"] for v in listed] == list(SEMANTICS)
    for v in listed:
        assert v["drivers"], v["name"]
        assert all(d.startswith("drivers/iommu/") for d in v["drivers"]), v["name"]
        assert v["versions"], v["name"]
        assert set(v["points"]) == set(POINTS), v["name"]
        assert all(p["source"].strip() for p in v["points"].values()), v["name"]


def test_the_text_listing_shows_values_as_they_are(capsys):
    """One variant's block: its drivers line and its points, the boolean values unconverted
    (exynos's unmap_slots is False, its replace_table True)."""
    assert cli_main(["semantics", "--variant", "exynos"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("exynos: v6.1 to v6.12")
    assert "  drivers: drivers/iommu/exynos-iommu.c\n" in out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()
            if line.startswith("  ") and len(line.split()) > 1 and line.split()[0] in POINTS}
    assert rows["unmap_slots"] == "False" and rows["replace_table"] == "True"
    assert rows["hole_unmap"] == "count" and rows["exists_errno"] == "-EADDRINUSE"


def test_an_unknown_variant_is_one_line_and_status_2(capsys):
    assert cli_main(["semantics", "--variant", "arm-lpae-v9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown variant 'arm-lpae-v9'" in err
