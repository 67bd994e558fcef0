"""Linux's own page-table code in the main job: every kernel tree x io-pgtable format x profile.

Each item builds linuxpt's harness from the tree (cached), serves it over
protocol v1 as a driver-only implementation, and runs the state machine on it
under the spec's core, with the variant the tree's version runs
(difftest.kernel.semantics_for).  Known Linux defects are set aside by input
class (difftest.inputs.KNOWN_LINUX_FINDINGS, docs/linux-findings.md) unless
``--report-known-findings`` is given.  Without a tree the items skip, saying
how to get one; under CI they fail instead, since CI must check real Linux.
"""

import os

import pytest
from hypothesis.stateful import run_state_machine_as_test

from difftest import stats
from difftest.external import ExternalFactory, ExternalError, UnsupportedProfile
from difftest.inputs import known_set_aside
from difftest.kernel import harness_command, semantics_for
from difftest.machine import build_machine, saving_failures

NO_TREE = ("no kernel tree to check: run `iommu-spec kernel fetch 6.12` (and 6.1), or pass "
           "--kernel-src DIR (a Linux source tree)")


def pytest_generate_tests(metafunc):
    if "kernel_item" in metafunc.fixturenames:
        items = metafunc.config.difftest_kernel_items
        metafunc.parametrize("kernel_item", items or [None],
                             ids=[i.id for i in items] or ["linux-no-tree"])


def test_kernel(kernel_item, request):
    """Linux's own page-table code agrees with the spec on every call of every generated sequence."""
    config = request.config
    if kernel_item is None:
        if os.environ.get("CI") and not config.getoption("--kernel-src") == "none":
            pytest.fail(f"{NO_TREE}; CI must run the real-Linux items (.ci/run fetches the trees)",
                        pytrace=False)
        pytest.skip(NO_TREE)
    from linuxpt.build import KernelTreeError
    try:
        cmd = harness_command(kernel_item)
    except KernelTreeError as exc:
        pytest.fail(f"cannot build the kernel harness for {kernel_item.tree}: {exc}", pytrace=False)
    version = kernel_item.version[:2]
    sem = config.getoption("--kernel-semantics") or semantics_for(kernel_item.fmt, version)
    if sem is None:
        pytest.fail(f"the model states no variant for {kernel_item.fmt} in Linux "
                    f"{version[0]}.{version[1]} (spec.kernels); name one with --kernel-semantics",
                    pytrace=False)
    set_aside = config.difftest_set_aside
    if not config.getoption("--report-known-findings"):
        set_aside = set_aside | known_set_aside(kernel_item.fmt, version)
    key = (kernel_item.label, kernel_item.profile, sem)
    request.node.difftest_key = key
    stats.note_set_aside(key, set_aside)
    with ExternalFactory(cmd, timeout=config.getoption("--impl-timeout"),
                         fresh=config.getoption("--fresh-process")) as factory:
        try:
            factory(kernel_item.profile, sem).close()
        except UnsupportedProfile as exc:
            pytest.fail(f"the kernel harness declines {kernel_item.profile}: {exc}", pytrace=False)
        except ExternalError as exc:
            pytest.fail(str(exc), pytrace=False)
        machine = build_machine(factory, kernel_item.profile, sem, label=kernel_item.label,
                                set_aside=set_aside,
                                driver_contract=not config.getoption("--out-of-contract"))
        directory = config.getoption("--save-failure")
        if directory:
            machine = saving_failures(machine, directory, kernel_item.label)
        run_state_machine_as_test(machine)
