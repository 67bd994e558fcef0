"""The core library's own guards (impls.core)."""

import pytest

from impls import MapPages
from impls.core import DriverError


def test_a_driver_that_maps_nothing_without_an_error_is_reported_not_looped_on():
    """map_pages returning (0, 0) raises DriverError instead of spinning in the map loop."""
    impl = MapPages("intel-vtd")
    impl.driver.map_pages = lambda *args: (0, 0)
    with pytest.raises(DriverError, match="returned 0 but mapped nothing"):
        impl.map(0, 0, 0x1000, 1)
