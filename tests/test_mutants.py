"""Quality tests: the state machine catches planted bugs and shrinks them to short reproducers.

Each mutant in tests/mutants.py plants one bug class; the state machine must
report it under the rule it violates, with a reproducer of a few calls.  How
long each takes is reported by ``pytest --durations``, not asserted.
"""

import re

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from difftest import DiffFailure, build_machine

from . import mutants

# Bugs need a handful of calls; 15-step sequences find and shrink them quickly.
QUALITY = settings(settings.get_profile("ci"), max_examples=300, stateful_step_count=15)


def catch(factory, profile):
    machine = build_machine(factory, profile)
    with pytest.raises(DiffFailure) as info:
        run_state_machine_as_test(machine, settings=QUALITY)
    return str(info.value)


def steps_of(report: str) -> int:
    """The number of calls in the shrunk reproducer."""
    return len(re.findall(r"^        (?:assert impl\.|impl\.|iotlb_fill)", report, re.M))


@pytest.mark.parametrize("profile", ["intel-vtd", "arm-lpae-4k"])
def test_missing_rollback_is_caught_in_at_most_5_steps(profile):
    """Removing the rollback of a failed map is reported as MAP_ROLLBACK with a reproducer of <= 5 calls."""
    report = catch(mutants.NoRollback, profile)
    assert "violates MAP_ROLLBACK" in report
    assert steps_of(report) <= 5
    assert "def test_repro():" in report and "mismatch in translation state" in report


@pytest.mark.parametrize("mutant,profile,rule,max_steps", [
    (mutants.StaleAfterUnmap, "intel-vtd", "IOTLB_STALE", 4),
    (mutants.WrongRollbackSize, "intel-vtd", "MAP_ROLLBACK", 5),
    (mutants.SplitWrongRemainder, "arm-lpae-4k", "UNMAP_PARTIAL_LEAF", 4),
    (mutants.GatherMergesDisjoint, "intel-vtd", "IOTLB_STALE", 8),
    (mutants.LeakOnFree, "arm-lpae-4k", "DOMAIN_FREE", 3),
], ids=["stale-iotlb", "short-rollback", "bad-split", "bad-gather", "table-leak"])
def test_bug_class_is_caught_with_a_short_reproducer(mutant, profile, rule, max_steps):
    """Each planted bug class is reported under its rule with a short reproducer."""
    report = catch(mutant, profile)
    assert f"violates {rule}" in report, report
    assert steps_of(report) <= max_steps, report
