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
    group.addoption("--kernel-src", default=None, metavar="DIR[,DIR]",
                    help="Linux source trees whose own page-table code to check (default: "
                         "$IOMMU_SPEC_KERNEL_SRC, else the trees `iommu-spec kernel fetch` cached; "
                         "'none' for no kernel items)")
    group.addoption("--kernel-format", default="", metavar="F[,F]",
                    help="io-pgtable formats of the kernel items: lpae-s1, v7s, dart (default: all)")
    group.addoption("--kernel-semantics", default=None, metavar="NAME",
                    help="hold kernel items to this variant instead of the one their version runs")
    group.addoption("--set-aside", default="", metavar="CLASS[,CLASS]",
                    help="input classes whose calls the generator drops (difftest/inputs.py): "
                         "iova-past-ias, paddr-past-oas, section-split, partial-unmap, no-access-prot, "
                         "zero-length-sg-entry")
    group.addoption("--report-known-findings", action="store_true",
                    help="do not set aside the known Linux defects (docs/linux-findings.md) on "
                         "kernel items: report them")
    group.addoption("--fresh-process", action="store_true",
                    help="start a fresh implementation process for every domain (external and "
                         "kernel items), so memory corruption cannot leak into the next example")
    group.addoption("--out-of-contract", action="store_true",
                    help="also send external and kernel implementations driver calls Linux's core "
                         "never makes (a pgsize outside the domain's bitmap)")



def pytest_configure(config):
    if not config.getoption("hypothesis_profile", None):
        load_default_profile()
    from difftest.inputs import parse_set_aside
    from difftest.kernel import default_trees, kernel_items, split_list
    try:
        config.difftest_set_aside = parse_set_aside(config.getoption("--set-aside", ""))
        src = config.getoption("--kernel-src", None)
        trees = [] if src == "none" else (split_list(src) if src else default_trees())
        formats = split_list(config.getoption("--kernel-format", ""))
        config.difftest_kernel_items = kernel_items(trees, formats) if trees else []
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_collection_modifyitems(config, items):
    """--impl / --profile deselect the other implementation x profile items."""
    wanted = {opt: [w for w in (config.getoption(opt) or "").split(",") if w]
              for opt in ("--impl", "--profile")}
    keep, drop = [], []
    for item in items:
        params = dict(getattr(getattr(item, "callspec", None), "params", {}))
        kernel = params.get("kernel_item")
        if kernel is not None:
            params["profile_name"] = kernel.profile
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
    aside = {key: names for key, names in stats.SET_ASIDE.items() if names}
    if aside:
        terminalreporter.write_line("")
        terminalreporter.write_line("set aside (input classes dropped by the generator; "
                                    "docs/linux-findings.md):")
        for (impl, profile, _), names in sorted(aside.items()):
            terminalreporter.write_line(f"  {impl} {profile}: {', '.join(sorted(names))}")
