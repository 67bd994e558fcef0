"""Quality tests: the state machine catches planted bugs and shrinks them to short reproducers."""

import re

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from difftest import DiffFailure, build_machine

from .mutants import NoRollback

QUALITY = settings(settings.get_profile("ci"), max_examples=300, stateful_step_count=30)


def catch(factory, profile):
    machine = build_machine(factory, profile)
    with pytest.raises(DiffFailure) as info:
        run_state_machine_as_test(machine, settings=QUALITY)
    return str(info.value)


def steps_of(report: str) -> int:
    return int(re.search(r"^step (\d+) of \1:", report, re.M).group(1))


@pytest.mark.parametrize("profile", ["intel-vtd", "arm-lpae-4k"])
def test_missing_rollback_is_caught_in_at_most_5_steps(profile):
    """Removing the rollback of a failed map is reported as MAP_ROLLBACK with a reproducer of <= 5 calls."""
    report = catch(NoRollback, profile)
    assert "violates MAP_ROLLBACK" in report
    assert steps_of(report) <= 5
    assert "def test_repro():" in report and "mismatch in translation state" in report
