"""Shared test setup: the project's Hypothesis settings profiles (difftest.settings), and the
kernel trees the linuxpt tests use.

Kernel trees: $IOMMU_SPEC_KERNEL_6_1 / $IOMMU_SPEC_KERNEL_6_12 (the root of a
Linux source tree), or the ones ``iommu-spec kernel fetch`` cached.  Tests
that need one skip without it, saying how to get one.
"""

import os

import pytest

from difftest.settings import load_default_profile

load_default_profile()

#: The Linux versions whose trees the linuxpt tests use.
KERNEL_VERSIONS = ("6.1", "6.12")
NO_KERNEL_TREE = ("no kernel tree: set IOMMU_SPEC_KERNEL_6_12 (or _6_1) to a Linux source tree, "
                  "or run `iommu-spec kernel fetch 6.12`")


def kernel_tree(version: str) -> str | None:
    """The tree for ``version`` ("6.1", "6.12"): the environment's, else the fetched one, else None."""
    from linuxpt.fetch import cached_tree
    env = os.environ.get("IOMMU_SPEC_KERNEL_" + version.replace(".", "_"))
    if env:
        return env
    tree = cached_tree(version)
    return str(tree) if tree else None


@pytest.fixture(scope="session")
def trees():
    """Version -> tree, for every tree there is (skips when there is none)."""
    found = {v: t for v in KERNEL_VERSIONS if (t := kernel_tree(v))}
    if not found:
        pytest.skip(NO_KERNEL_TREE)
    return found


@pytest.fixture(scope="session")
def binaries(trees):
    """Version -> the linuxpt harness built from that tree."""
    from linuxpt.build import build
    return {v: build(t) for v, t in trees.items()}


@pytest.fixture(params=KERNEL_VERSIONS)
def binary(request, binaries):
    """``(version, harness path)`` for each version, skipping a version without a tree."""
    if request.param not in binaries:
        pytest.skip(f"no {request.param} tree ({NO_KERNEL_TREE})")
    return request.param, binaries[request.param]


def driver_harness(binary, fmt: str, driver_file: str):
    """``binary`` (``(version, harness path)``), skipping a tree whose harness was built
    without ``driver_file`` (it refuses ``--format fmt``)."""
    import subprocess
    version, path = binary
    res = subprocess.run([str(path), "--format", fmt], input="", capture_output=True, text=True)
    if res.returncode:
        pytest.skip(f"the {version} tree has no {driver_file}: {res.stderr.strip()}")
    return version, path


def driver_domain(binary, fmt: str, driver_file: str, pgsize_bitmap: int, leaked=None):
    """Yield ``(version, proc)``: the harness serving ``fmt`` (a table inside a driver) with a
    32-bit domain of ``pgsize_bitmap``; skip a tree without ``driver_file``, and require the
    domain's tables all freed at the end -- or, for a driver that leaks (DOMAIN_FREE_LEAK),
    ``leaked(tables)`` of them, given the table list the dump shows just before the free.
    For the fixtures of test_linuxpt_<driver>.py."""
    from difftest.external import ExternalProcess
    version, path = driver_harness(binary, fmt, driver_file)
    with ExternalProcess([str(path), "--format", fmt]) as proc:
        proc.start()
        reply = proc.request("domain_alloc", pgsize_bitmap=pgsize_bitmap, ias=32, oas=32)
        assert reply["ret"] == 0, reply
        yield version, proc
        want = 0 if leaked is None else leaked(proc.request("dump")["tables"])
        assert proc.request("domain_free")["table_pages"] == want
