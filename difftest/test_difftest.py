"""The main job: every implementation x every profile it supports, in lockstep with the spec.

``--impl`` / ``--profile`` select items, ``--semantics`` holds implementations
to another variant, ``--save-failure DIR`` also writes each failure as a
conformance vector that replays against any implementation.
"""

import pytest
from hypothesis.stateful import run_state_machine_as_test

from difftest import stats
from difftest.machine import build_machine, saving_failures
from impls import IMPLEMENTATIONS
from spec import PROFILES

CASES = [(impl, profile) for impl, cls in IMPLEMENTATIONS.items() for profile in PROFILES
         if not hasattr(cls, "supports") or cls.supports(profile)]


@pytest.mark.parametrize("impl_name,profile_name", CASES,
                         ids=[f"{impl}-{profile}" for impl, profile in CASES])
def test_difftest(impl_name, profile_name, request):
    """The implementation agrees with the spec on every call of every generated sequence."""
    config = request.config
    factory = IMPLEMENTATIONS[impl_name]
    semantics = config.getoption("--semantics")
    if getattr(config, "difftest_kernel_version", None):  # --kernel-version X.Y (difftest.plugin)
        from difftest.plugin import kernel_choice
        semantics = kernel_choice(config, impl_name, profile_name)
    set_aside = config.difftest_set_aside
    if not config.getoption("--report-known-findings"):  # Linux defects the implementation reproduces
        set_aside = set_aside | getattr(factory, "known_findings", frozenset())
    machine = build_machine(factory, profile_name, semantics, set_aside=set_aside)
    sem = semantics or factory.semantics_name or PROFILES[profile_name].default_semantics
    request.node.difftest_key = (impl_name, profile_name, sem)
    stats.note_set_aside(request.node.difftest_key, set_aside)
    directory = config.getoption("--save-failure", None)
    if directory:
        machine = saving_failures(machine, directory, impl_name)
    run_state_machine_as_test(machine)
