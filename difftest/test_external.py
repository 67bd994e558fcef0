"""Any implementation, in any language: ``pytest difftest --impl-cmd CMD``.

CMD is started once per profile and spoken to with protocol v1
(docs/protocol.md); each generated sequence runs on a fresh domain of it, in
lockstep with the spec.  ``--semantics`` chooses the variant when the
implementation's hello declares none; ``--impl-timeout`` bounds each reply;
``--save-failure DIR`` also writes a failure as a conformance vector.
"""

import pytest
from hypothesis.stateful import run_state_machine_as_test

from difftest import stats
from difftest.external import ExternalFactory, UnsupportedProfile, resolve_semantics
from difftest.machine import build_machine, saving_failures
from spec import PROFILES


@pytest.mark.parametrize("profile_name", list(PROFILES))
def test_external(profile_name, request):
    """The external implementation agrees with the spec on every call of every generated sequence."""
    config = request.config
    cmd = config.getoption("--impl-cmd")
    if not cmd:
        pytest.skip("no external implementation: pass --impl-cmd 'CMD' (protocol v1, "
                    "docs/protocol.md)")
    with ExternalFactory(cmd, timeout=config.getoption("--impl-timeout"),
                         fresh=config.getoption("--fresh-process")) as factory:
        hello = factory.hello()
        try:
            sem = resolve_semantics(hello.semantics, config.getoption("--semantics"),
                                    PROFILES[profile_name])
        except ValueError as exc:
            pytest.fail(str(exc), pytrace=False)
        try:
            factory(profile_name, sem).close()
        except UnsupportedProfile as exc:
            pytest.skip(str(exc))
        request.node.difftest_key = key = (hello.name, profile_name, sem.name)
        stats.note_set_aside(key, config.difftest_set_aside)
        machine = build_machine(factory, profile_name, sem.name, label=hello.name,
                                set_aside=config.difftest_set_aside,
                                driver_contract=not config.getoption("--out-of-contract"))
        directory = config.getoption("--save-failure")
        if directory:
            machine = saving_failures(machine, directory, hello.name)
        run_state_machine_as_test(machine)
