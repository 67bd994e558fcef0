"""A failure saved by one run to a shared example database replays first in the next run."""

import shutil
import socket
import subprocess
import time
import unittest

import pytest
from hypothesis import Phase, settings
from hypothesis.database import (DirectoryBasedExampleDatabase, MultiplexedDatabase,
                                 ReadOnlyDatabase)
from hypothesis.stateful import run_state_machine_as_test

from difftest import DiffFailure, build_machine
from difftest.settings import shared_database

from .mutants import NoRollback


def find_failure(db):
    """First run: generate until the planted bug is found; Hypothesis saves it to ``db``."""
    machine = build_machine(NoRollback, "intel-vtd")
    with pytest.raises(DiffFailure):
        run_state_machine_as_test(machine, settings=settings(
            settings.get_profile("dev"), database=db, max_examples=300,
            phases=[Phase.generate]))


def replay_only(db) -> str:
    """Second run: no generation at all, only examples replayed from ``db``.

    Returns "nothing to replay" when the database held nothing for this machine
    (Hypothesis then skips the run).
    """
    machine = build_machine(NoRollback, "intel-vtd")
    try:
        run_state_machine_as_test(machine, settings=settings(
            settings.get_profile("dev"), database=db, phases=[Phase.reuse], max_examples=1))
    except (pytest.skip.Exception, unittest.SkipTest):
        return "nothing to replay"
    return "replayed, no failure"


def test_replay_only_run_finds_nothing_in_an_empty_database(tmp_path):
    """Control: with nothing saved, a replay-only run has nothing to run."""
    assert replay_only(DirectoryBasedExampleDatabase(str(tmp_path / "empty"))) == "nothing to replay"


def test_failure_saved_to_a_shared_directory_replays_first(tmp_path):
    """Run 1 saves the failure in a shared directory; run 2, replaying only, fails at once."""
    shared = shared_database(str(tmp_path / "shared"))
    find_failure(MultiplexedDatabase(DirectoryBasedExampleDatabase(str(tmp_path / "a")), shared))
    with pytest.raises(DiffFailure, match="MAP_ROLLBACK"):
        replay_only(ReadOnlyDatabase(MultiplexedDatabase(shared_database(str(tmp_path / "shared")))))


def test_read_only_database_is_never_written(tmp_path):
    """CI's view of the shared database (ReadOnlyDatabase) saves nothing."""
    shared_dir = tmp_path / "shared"
    find_failure(ReadOnlyDatabase(MultiplexedDatabase(shared_database(str(shared_dir)))))
    assert not shared_dir.exists() or not any(p.is_file() for p in shared_dir.rglob("*"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url():
    """A real redis-server on loopback, started for this test and stopped after it."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    pytest.importorskip("redis", reason="the redis Python package is not installed (pip install redis)")
    port = _free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_failure_saved_to_redis_replays_first(redis_url):
    """The same through Hypothesis's RedisExampleDatabase on a real redis-server."""
    find_failure(shared_database(redis_url))
    with pytest.raises(DiffFailure, match="MAP_ROLLBACK"):
        replay_only(ReadOnlyDatabase(MultiplexedDatabase(shared_database(redis_url))))
