"""The pytest plugin of ``pytest difftest``: options, their checks, item selection, the summary table.

Registered through the ``pytest11`` entry point ``difftest`` (pyproject.toml),
so once the project is installed its options work from any directory:
``pytest -p difftest --impl-cmd CMD`` (no paths: the external items only) or
``pytest --pyargs difftest ...``.  ``difftest/conftest.py`` registers this
module only when the entry point did not (an uninstalled clone).

Every option is checked once, before collection: an unknown name, an empty
``--impl-cmd`` or a timeout that is not a positive number is a usage error
(one line, exit status 4) listing what would be right, never a run that
skips or checks nothing.  A failing item's report is the failure report
itself (:mod:`difftest.report`), not a traceback through the harness.
"""

import json
from pathlib import Path

import pytest
from tabulate import tabulate

from difftest import stats
from difftest.external import check_impl_cmd, check_timeout
from difftest.settings import load_default_profile

#: The modules of the main job, whose items --impl / --profile select.
ITEM_MODULES = ("test_difftest.py", "test_external.py", "test_kernel.py")


def pytest_addoption(parser):
    group = parser.getgroup("difftest", "iommu-spec differential testing")
    group.addoption("--impl", default=None, metavar="NAME[,NAME]",
                    help="implementations to run: names from impls.IMPLEMENTATIONS or kernel "
                         "items (linux-6.12-lpae-s1, ...) (default: all)")
    group.addoption("--profile", default=None, metavar="NAME[,NAME]",
                    help="profiles to run (default: all; `iommu-spec profiles` lists them)")
    group.addoption("--semantics", default=None,
                    help="semantic variant to hold implementations to (default: each one's own)")
    group.addoption("--impl-cmd", default=None, metavar="CMD",
                    help="command line of an external implementation speaking protocol v1 "
                         "(docs/protocol.md); difftest/test_external.py checks it on every profile. "
                         "Given without paths, only those external items run")
    group.addoption("--impl-timeout", type=float, default=5.0, metavar="SECONDS",
                    help="seconds to wait for each reply of the --impl-cmd process (default: 5)")
    group.addoption("--save-failure", default=None, metavar="DIR",
                    help="also write each failure as a conformance vector (JSON) into DIR")
    group.addoption("--kernel-src", default=None, metavar="DIR[,DIR]",
                    help="Linux source trees whose own page-table code to check (default: "
                         "$IOMMU_SPEC_KERNEL_SRC, else the trees `iommu-spec kernel fetch` cached; "
                         "'none' for no kernel items)")
    group.addoption("--kernel-format", default="", metavar="F[,F]",
                    help="io-pgtable formats of the kernel items (default: all of lpae-s1, lpae-s2, v7s, dart, amd-v1, amd-v2, rockchip, exynos the tree has)")
    group.addoption("--kernel-semantics", default=None, metavar="NAME",
                    help="hold kernel items to this variant instead of the one their version runs")
    group.addoption("--kernel-version", default=None, metavar="X.Y",
                    help="hold in-process implementations to what release X.Y (v5.4 to v7.1) runs "
                         "for each profile's driver (spec.kernels): its variant, and only "
                         "implementations of its core (`iommu-spec semantics --kernel X.Y`)")
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


def names(text: str | None, known, option: str) -> list[str]:
    """The comma-separated names of ``option`` ([] when not given); ValueError for an unknown or empty one."""
    if text is None:
        return []
    listed = [n.strip() for n in text.split(",")]
    if not any(listed):
        raise ValueError(f"{option} needs at least one name; known: {', '.join(known)}")
    unknown = [n for n in listed if n not in known]
    if unknown:
        raise ValueError(f"unknown {option} {', '.join(map(repr, unknown))}; known: "
                         f"{', '.join(known)}")
    return listed


def kernel_name(item) -> str:
    """The --impl name of a kernel item: ``linux-6.12-lpae-s1`` (its id less the profile)."""
    return f"linux-{item.version[0]}.{item.version[1]}-{item.fmt}"


def pytest_configure(config):
    if not config.getoption("hypothesis_profile", None):
        load_default_profile()
    from difftest.inputs import parse_set_aside
    from difftest.kernel import default_trees, kernel_items, split_list
    from impls import IMPLEMENTATIONS
    from spec import PROFILES, SEMANTICS
    try:
        config.difftest_set_aside = parse_set_aside(config.getoption("--set-aside", ""))
        src = config.getoption("--kernel-src", None)
        trees = [] if src == "none" else (split_list(src) if src else default_trees())
        formats = split_list(config.getoption("--kernel-format", ""))
        config.difftest_kernel_items = kernel_items(trees, formats) if trees else []
        known_impls = [*IMPLEMENTATIONS,
                       *dict.fromkeys(kernel_name(i) for i in config.difftest_kernel_items)]
        config.difftest_wanted = {
            "impl": names(config.getoption("--impl"), known_impls, "--impl"),
            "profile": names(config.getoption("--profile"), list(PROFILES), "--profile"),
        }
        for option in ("--semantics", "--kernel-semantics"):
            value = config.getoption(option)
            if value is not None:
                names(value, list(SEMANTICS), option)
                if "," in value:
                    raise ValueError(f"{option} takes one variant, got {value!r}")
        kv = config.getoption("--kernel-version", None)
        config.difftest_kernel_version = None
        if kv is not None:
            from spec import SpecUsageError
            from spec.kernels import era_of
            try:
                era_of(kv, "arm-smmu-v3")  # a release the model answers for
            except SpecUsageError as exc:
                raise ValueError(f"--kernel-version: {exc}") from None
            if config.getoption("--semantics") is not None:
                raise ValueError("--kernel-version picks each item's variant; it cannot be "
                                 "combined with --semantics")
            config.difftest_kernel_version = kv
        check_impl_cmd(config.getoption("--impl-cmd"))
        check_timeout(config.getoption("--impl-timeout"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if config.getoption("--impl-cmd") is not None and _no_paths_given(config):
        # ``pytest -p difftest --impl-cmd CMD`` from anywhere: check that implementation.
        config.args[:] = [str(Path(__file__).with_name("test_external.py"))]


def _no_paths_given(config) -> bool:
    return config.args_source == pytest.Config.ArgsSource.INVOCATION_DIR


def _module_of(item) -> str | None:
    path = Path(str(getattr(item, "path", "")))
    if path.parent.name == "difftest" and path.name in ITEM_MODULES:
        return path.name
    return None


def pytest_collection_modifyitems(config, items):
    """--impl / --profile deselect the other implementation x profile items."""
    ours = [item for item in items if _module_of(item)]
    if not ours:
        return
    config.difftest_active = True
    wanted = getattr(config, "difftest_wanted", {"impl": [], "profile": []})
    keep, drop = [], []
    for item in items:
        params = dict(getattr(getattr(item, "callspec", None), "params", {}))
        if "kernel_item" in params:  # None: no tree, an item that only says how to get one
            kernel = params["kernel_item"]
            params["profile_name"] = kernel.profile if kernel else None
            params["impl_name"] = kernel_name(kernel) if kernel else None
        ok = all(not wanted[opt] or params.get(name) in wanted[opt]
                 for opt, name in (("impl", "impl_name"), ("profile", "profile_name"))
                 if name in params)
        forced = config.getoption("--semantics")
        if ok and forced and params.get("profile_name") and "kernel_item" not in params:
            from spec import PROFILES, SEMANTICS
            prof = PROFILES[params["profile_name"]]
            ok = SEMANTICS[forced].fits(prof.pgsize_bitmap, prof.ias)
        if ok and _module_of(item) == "test_difftest.py" and \
                getattr(config, "difftest_kernel_version", None):
            ok = kernel_choice(config, params["impl_name"], params["profile_name"]) is not None
        (keep if ok else drop).append(item)
    # Without --impl-cmd the external items have nothing to run: when the
    # in-process items are collected too, leave them out rather than skip each.
    if config.getoption("--impl-cmd") is None and any(
            _module_of(i) == "test_difftest.py" for i in items):
        drop += [i for i in keep if _module_of(i) == "test_external.py"]
        keep = [i for i in keep if _module_of(i) != "test_external.py"]
    runnable = [i for i in keep if _module_of(i) and getattr(
        getattr(i, "callspec", None), "params", {}).get("kernel_item", True) is not None]
    kv = getattr(config, "difftest_kernel_version", None)
    if not runnable and (wanted["impl"] or wanted["profile"] or kv):
        chosen = " ".join(f"--{opt} {','.join(v)}" for opt, v in wanted.items() if v)
        if kv:
            chosen = f"{chosen} --kernel-version {kv}".strip()
        raise pytest.UsageError(f"no implementation x profile item matches {chosen} (an "
                                f"implementation may not support that profile: "
                                f"`pytest difftest --collect-only -q` lists the items)")
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def kernel_choice(config, impl_name: str, profile_name: str) -> str | None:
    """Under --kernel-version: the variant an in-process item is held to, or None when that
    release does not run this implementation's core (or any modelled variant) for the profile's
    driver (spec.kernels.for_kernel; the item is then left out)."""
    from impls import IMPLEMENTATIONS
    from spec import SEMANTICS, SpecUsageError
    from spec.kernels import PROFILE_DRIVER, for_kernel
    driver = PROFILE_DRIVER.get(profile_name)
    if driver is None:
        return None
    try:
        k = for_kernel(config.difftest_kernel_version, driver)
    except SpecUsageError:
        return None
    cls = IMPLEMENTATIONS[impl_name]
    if getattr(cls, "core", "map_pages") != k.core:
        return None
    if getattr(cls, "semantics_name", None) not in (None, k.variant):
        return None
    holds = getattr(getattr(cls, "driver_class", None), "holds", None)
    if holds is not None and not holds(SEMANTICS[k.variant]):
        return None
    return k.variant


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None and getattr(session.config, "difftest_active", False):
        # a pytest-xdist worker that ran the main job: send the counters home
        workeroutput["difftest_stats"] = json.dumps(stats.export())


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook
def pytest_testnodedown(node, error):
    data = getattr(node, "workeroutput", {}).get("difftest_stats")
    if data:
        node.config.difftest_active = True
        stats.merge(json.loads(data))


def failure_text(exc: BaseException) -> str | None:
    """The failure report(s) an exception carries, or None when it carries none.

    A DiffFailure's message is the report; an external implementation's
    crash, hang or protocol failure raised outside the state machine carries
    its own one-paragraph message.  Hypothesis groups distinct failures (and
    flaky ones) in an exception group: each report is shown.
    """
    from difftest.external import ExternalError, ExternalTimeout
    from difftest.machine import DiffFailure
    if isinstance(exc, (DiffFailure, ExternalError, ExternalTimeout)):
        return str(exc)
    if isinstance(exc, BaseExceptionGroup):
        texts = [t for t in map(failure_text, exc.exceptions) if t]
        if texts:
            return "\n\n".join(texts)
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing item shows the failure report first, not the harness's traceback (unless --tb is given)."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    key = getattr(item, "difftest_key", None)
    if key:
        stats.record(key, failures=1)
    if call.excinfo is not None and item.config.option.tbstyle == "auto":
        text = failure_text(call.excinfo.value)
        if text:
            report.longrepr = text


#: The summary's columns, as the README explains them.
COLUMNS = ["implementation", "profile", "semantics", *stats.FIELDS]


def pytest_terminal_summary(terminalreporter, config):
    if getattr(config, "workerinput", None) is not None or not stats.STATS \
            or not getattr(config, "difftest_active", False):
        return
    rows = [[impl, profile, sem, *counts.values()]
            for (impl, profile, sem), counts in sorted(stats.STATS.items(), key=lambda kv: str(kv[0]))]
    terminalreporter.section("difftest summary")
    terminalreporter.write_line(tabulate(rows, headers=COLUMNS))
    aside = {key: names_ for key, names_ in stats.SET_ASIDE.items() if names_}
    if aside:
        terminalreporter.write_line("")
        terminalreporter.write_line("set aside (input classes dropped by the generator; "
                                    "docs/linux-findings.md):")
        for (impl, profile, _), names_ in sorted(aside.items(), key=lambda kv: str(kv[0])):
            terminalreporter.write_line(f"  {impl} {profile}: {', '.join(sorted(names_))}")
