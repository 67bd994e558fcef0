"""The three example external implementations pass the state machine and the vectors.

examples/c-radix is built with the system C compiler (``cc``) into a
temporary directory; the Python examples run as they are.  Each is checked on
one or two profiles with a small number of generated examples.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from difftest.external import ExternalFactory, ExternalImplementation, UnsupportedProfile
from difftest.machine import build_machine
from difftest.vectors import ExternalTarget, generate, run_vectors

ROOT = Path(__file__).resolve().parent.parent
PYTHON_IMPL = f"{sys.executable} {ROOT / 'examples' / 'python_impl.py'}"
PYTHON_DRIVER = f"{sys.executable} {ROOT / 'examples' / 'python_driver.py'}"
SMALL = settings(settings.get_profile("ci"), max_examples=15, stateful_step_count=20)


@pytest.fixture(scope="module")
def radix(tmp_path_factory) -> str:
    """The c-radix example, compiled with ``cc`` (the test skips without a compiler)."""
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler: `cc` is not on PATH, so examples/c-radix cannot be built")
    out = tmp_path_factory.mktemp("c-radix") / "radix"
    subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-Werror", "-std=c11", "-o", str(out),
                    str(ROOT / "examples" / "c-radix" / "radix.c")], check=True,
                   capture_output=True, text=True)
    return str(out)


def check(cmd: str, profile: str) -> None:
    with ExternalFactory(cmd) as factory:
        run_state_machine_as_test(build_machine(factory, profile), settings=SMALL)


@pytest.mark.parametrize("profile", ["intel-vtd", "rockchip"])
def test_c_radix_agrees_with_the_spec(radix, profile):
    """The C radix table agrees with the spec on generated sequences (4K/2M/1G and 4K..4M profiles)."""
    check(radix, profile)


def test_c_radix_declines_profiles_without_a_4k_granule(radix):
    """domain_alloc for a 16K-granule profile fails, which the harness treats as an unsupported profile."""
    with ExternalFactory(radix) as factory, pytest.raises(UnsupportedProfile, match="-EINVAL"):
        factory("arm-lpae-16k")


def test_c_radix_rolls_back_an_allocation_failure(radix):
    """After fail_alloc, a map that needs a new table fails with -ENOMEM and leaves nothing mapped."""
    impl = ExternalImplementation(radix, "intel-vtd")
    try:
        assert impl.map(0x1000, 0x1000, 0x1000, 3) == 0
        assert impl.fail_alloc(0) == 0
        # 0x40000000 - 0x1000 needs a new level-1 and level-0 table: the first allocation fails
        assert impl.map(0x7fff_f000, 0x7fff_f000, 0x2000, 3) == -12
        assert impl.leaves() == [(0x1000, 0x1000, 0x1000, 1, 3)]
        assert impl.map(0x7fff_f000, 0x7fff_f000, 0x2000, 3) == 0
        assert impl.unmap(0x7fff_f000, 0x2000) == 0x2000
        assert impl.take_tlb_commands()[-1] == ("range", 0x7fff_f000, 0x2000)
    finally:
        impl.close()
    assert impl.counters.table_pages == 0


def test_c_radix_passes_the_vectors(radix):
    """The C radix table passes every generic-pt vector of intel-vtd and arm-lpae-4k that applies."""
    vectors = [v for p in ("intel-vtd", "arm-lpae-4k") for b in ("all-sizes", "min-page")
               for v in generate(p, "generic-pt", b)]
    # c-radix also rejects the driver calls Linux's core never makes (PAGES_ARGS vectors)
    target = ExternalTarget(radix, timeout=5.0, semantics="generic-pt", out_of_contract=True)
    try:
        outcomes = run_vectors(vectors, target)
    finally:
        target.close()
    assert [o for o in outcomes if o.status == "fail"] == []
    assert sum(o.status == "pass" for o in outcomes) == sum("map_pages" in v["cores"]
                                                            for v in vectors)


def test_python_impl_agrees_with_the_spec():
    """examples/python_impl.py (map_pages behind the protocol) agrees with the spec on arm-lpae-4k."""
    check(f"{PYTHON_IMPL} --semantics arm-lpae-v6.14", "arm-lpae-4k")


def test_python_driver_runs_under_the_spec_core():
    """examples/python_driver.py offers no map, so the harness runs impls.core over its map_pages."""
    with ExternalFactory(PYTHON_DRIVER) as factory:
        impl = factory("intel-vtd")
        assert impl.linux_core is not None and "map" not in factory.hello().ops
        assert impl.map(0x1ff000, 0x1ff000, 0x202000, 3) == 0
        assert impl.leaves() == [(0x1ff000, 0x1ff000, 0x1000, 1, 3), (0x200000, 0x200000, 0x200000, 1, 3),
                                 (0x400000, 0x400000, 0x1000, 1, 3)]
        assert impl.iova_to_phys(0x200123) == 0x200123
        assert impl.counters.driver_calls == 3
        assert impl.unmap(0x1ff000, 0x202000) == 0x202000
        assert impl.take_tlb_commands() == [("range", 0x1ff000, 0x202000)]  # from its iotlb_sync
        impl.close()
    check(PYTHON_DRIVER, "amd-v2")


def test_python_driver_of_the_v71_core():
    """`python_driver.py --core map_range`: its hello declares the v7.1 core, the harness sends
    one map_range / unmap_range per request, with no alignment check of its own."""
    cmd = f"{PYTHON_DRIVER} --core map_range"
    with ExternalFactory(cmd) as factory:
        impl = factory("intel-vtd")
        assert impl.core == "map_range" and "map_pages" not in impl.ops
        assert impl.map(0x1ff000, 0x1ff000, 0x202000, 3) == 0
        assert impl.counters.driver_calls == 1
        assert impl.map(0x800000, 0x800000, 0x1800, 3) == -6   # -ENXIO, the 4K page rolled back
        assert impl.map(0x800800, 0, 0x1000, 3) == -6
        assert impl.unmap(0x1ff000, 0x1800) == 0x201000       # no alignment check: whole leaves
        assert impl.leaves() == [(0x400000, 0x400000, 0x1000, 1, 3)]
        impl.close()
    check(cmd, "amd-v2")


PLANTED = '''
import os, sys
sys.path.insert(0, {root!r})
sys.path.insert(0, os.path.join({root!r}, "examples"))
import python_impl
from impls import MapPages


class NoRollback(MapPages):
    name = "map_pages"

    def rollback(self, iova, mapped):
        pass  # the planted bug: a failed map leaves what it mapped


python_impl.IMPLEMENTATIONS["map_pages"] = NoRollback
sys.exit(python_impl.main(["--impl", "map_pages"]))
'''


def test_planted_bug_behind_the_protocol_is_shrunk_and_named(tmp_path):
    """A protocol implementation whose map forgets its rollback fails as MAP_ROLLBACK with a short reproducer."""
    import pathlib
    import re
    import sys

    from hypothesis import settings
    from hypothesis.stateful import run_state_machine_as_test

    from difftest import DiffFailure, build_machine
    from difftest.external import ExternalFactory

    root = str(pathlib.Path(__file__).resolve().parents[1])
    script = tmp_path / "buggy_impl.py"
    script.write_text(PLANTED.format(root=root))
    with ExternalFactory(f"{sys.executable} {script}", timeout=10) as factory:
        hello = factory.hello()
        machine = build_machine(factory, "intel-vtd", "generic-pt", label=hello.name)
        with pytest.raises(DiffFailure) as info:
            run_state_machine_as_test(machine, settings=settings(
                settings.get_profile("ci"), max_examples=300, stateful_step_count=15))
    report = str(info.value)
    assert "violates MAP_ROLLBACK" in report
    calls = re.findall(r"^        (?:assert impl\.|impl\.|iotlb_fill)", report, re.M)
    assert 1 <= len(calls) <= 6, report
