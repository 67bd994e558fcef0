"""pytest wiring for ``pytest difftest``: options, settings profiles, and the summary table."""

import json

import pytest
from tabulate import tabulate

from difftest import stats
from difftest.settings import load_default_profile


def pytest_addoption(parser):
    group = parser.getgroup("difftest", "iommu-spec differential testing")
    group.addoption("--impl", default="", help="comma-separated implementation names to run (default: all)")
    group.addoption("--profile", default="", help="comma-separated profile names to run (default: all)")
    group.addoption("--semantics", default=None,
                    help="semantic variant to hold implementations to (default: each one's own)")
    group.addoption("--impl-cmd", default=None, metavar="CMD",
                    help="command line of an external implementation speaking protocol v1 "
                         "(docs/protocol.md); difftest/test_external.py checks it on every profile")
    group.addoption("--impl-timeout", type=float, default=5.0, metavar="SECONDS",
                    help="seconds to wait for each reply of the --impl-cmd process (default: 5)")
    group.addoption("--save-failure", default=None, metavar="DIR",
                    help="also write each failure as a conformance vector (JSON) into DIR")


def pytest_configure(config):
    if not config.getoption("hypothesis_profile", None):
        load_default_profile()


def pytest_collection_modifyitems(config, items):
    """--impl / --profile deselect the other implementation x profile items."""
    wanted = {opt: [w for w in (config.getoption(opt) or "").split(",") if w]
              for opt in ("--impl", "--profile")}
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        ok = all(not wanted[opt] or params.get(name) in wanted[opt]
                 for opt, name in (("--impl", "impl_name"), ("--profile", "profile_name"))
                 if name in params)
        (keep if ok else drop).append(item)
    # Without --impl-cmd the external items have nothing to run: when the
    # in-process items are collected too, leave them out rather than skip each.
    if not config.getoption("--impl-cmd", None) and any(
            i.nodeid.startswith("difftest/test_difftest.py") for i in keep):
        drop += [i for i in keep if "test_external.py" in i.nodeid]
        keep = [i for i in keep if "test_external.py" not in i.nodeid]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: send the counters home
        workeroutput["difftest_stats"] = json.dumps(stats.export())


def pytest_testnodedown(node, error):
    data = getattr(node, "workeroutput", {}).get("difftest_stats")
    if data:
        stats.merge(json.loads(data))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    key = getattr(item, "difftest_key", None)
    if key and report.when == "call" and report.failed:
        stats.record(key, failures=1)


def pytest_terminal_summary(terminalreporter, config):
    if getattr(config, "workerinput", None) is not None or not stats.STATS:
        return
    rows = [[impl, profile, sem, *counts.values()]
            for (impl, profile, sem), counts in sorted(stats.STATS.items())]
    terminalreporter.section("difftest summary")
    terminalreporter.write_line(tabulate(
        rows, headers=["implementation", "profile", "semantics", *stats.FIELDS]))
