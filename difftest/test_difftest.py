"""The main job: every implementation x every profile, in lockstep with the spec."""

import pytest
from hypothesis.stateful import run_state_machine_as_test

from difftest.machine import build_machine
from impls import IMPLEMENTATIONS
from spec import PROFILES

CASES = [(impl, profile) for impl in IMPLEMENTATIONS for profile in PROFILES]


def _selected(config, option, name):
    wanted = [w for w in config.getoption(option).split(",") if w]
    return not wanted or name in wanted


@pytest.mark.parametrize("impl_name,profile_name", CASES,
                         ids=[f"{impl}-{profile}" for impl, profile in CASES])
def test_difftest(impl_name, profile_name, request):
    """The implementation agrees with the spec on every call of every generated sequence."""
    config = request.config
    if not (_selected(config, "--impl", impl_name) and _selected(config, "--profile", profile_name)):
        pytest.skip("not selected by --impl/--profile")
    factory = IMPLEMENTATIONS[impl_name]
    if hasattr(factory, "supports") and not factory.supports(profile_name):
        pytest.skip(f"{impl_name} does not support profile {profile_name} "
                    f"({factory.__name__}.supports is False)")
    semantics = config.getoption("--semantics")
    machine = build_machine(factory, profile_name, semantics)
    sem = semantics or factory.semantics_name or PROFILES[profile_name].default_semantics
    request.node.difftest_key = (impl_name, profile_name, sem)
    run_state_machine_as_test(machine)
