"""`pip install .` into a fresh venv, then the plugin from an empty directory (issue 12).

The venv sees this machine's packages (``--system-site-packages``), so the
install fetches nothing but its build backend (``--no-deps``); what it checks
is what the project itself installs: no generic ``cli`` or ``bench`` module
in site-packages, the ``iommu-spec`` command, and the ``difftest`` pytest
plugin registered through its ``pytest11`` entry point, so that
``pytest -p difftest --impl-cmd CMD`` works from a directory that has
nothing of this project in it.
"""

import os
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_pip_install_then_plugin_from_an_empty_directory(tmp_path):
    """After `pip install .`, `pytest -p difftest --impl-cmd CMD` from an empty directory checks CMD."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["HYPOTHESIS_PROFILE"] = "ci"

    def run(*argv, cwd):
        return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)

    res = run(python, "-m", "pip", "install", "--quiet", "--no-deps",
              "--disable-pip-version-check", str(ROOT), cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                    cwd=tmp_path).stdout.strip())
    installed = {p.name for p in site.iterdir()}
    assert {"spec", "impls", "difftest", "tracecheck", "linuxpt", "iommu_spec"} <= installed
    assert not {"cli", "bench", "tests"} & installed

    empty = tmp_path / "empty"
    empty.mkdir()
    where = run(python, "-c", "import difftest; print(difftest.__file__)", cwd=empty)
    assert where.stdout.startswith(str(site)), where.stdout + where.stderr
    driver = f"{python} {ROOT / 'examples' / 'python_driver.py'}"
    res = run(python, "-m", "pytest", "-p", "difftest", "-p", "no:cacheprovider", "--impl-cmd",
              driver, "--profile", "intel-vtd", "--kernel-src", "none", cwd=empty)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "1 passed" in res.stdout and "difftest summary" in res.stdout
    assert "python-driver     intel-vtd" in res.stdout
    res = run(python, "-m", "pytest", "-p", "difftest", "--impl", "bogus", cwd=empty)
    assert res.returncode == 4 and "unknown --impl 'bogus'" in res.stderr
    res = run(str(env_dir / "bin" / "iommu-spec"), "profiles", cwd=empty)
    assert res.returncode == 0 and res.stdout.startswith("name ")
