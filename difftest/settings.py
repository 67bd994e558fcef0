"""Hypothesis settings profiles and the shared example database.

Profiles:

* ``dev`` (default on a workstation): a quick run; failures are saved so they
  replay first next time.
* ``ci`` (loaded when the ``CI`` environment variable is set): deterministic
  (``derandomize``) and with no example database, so a CI run is reproducible
  bit for bit.  Registered here on purpose, replacing Hypothesis's built-in
  ``ci`` profile.  With a shared database configured (below) CI instead
  *reads* it without ever writing (``ReadOnlyDatabase`` over a
  ``MultiplexedDatabase``), so a failure found anywhere replays first in CI;
  Hypothesis does not allow a database together with ``derandomize``, so
  that run is seeded instead (see ``difftest.machine``).
* ``thorough``: long campaigns (2000 examples x 100 steps per item); select it
  with ``--hypothesis-profile=thorough`` or ``HYPOTHESIS_PROFILE=thorough``.

Shared example database: set ``IOMMU_SPEC_DB`` to ``redis://HOST:PORT[/DB]``
(Hypothesis's ``RedisExampleDatabase``; needs the ``redis`` package) or to a
directory shared between machines (``DirectoryBasedExampleDatabase``).  ``dev``
and ``thorough`` then save failures both locally (``.hypothesis/``) and there.

Timing deadlines are off everywhere: machines are shared and noisy, and speed
is measured by the benchmarks, not asserted by tests.  The "explain" phase is
off too: it traces every line of the failing example, which makes a failure
take minutes, and our own report already says what failed.
"""

import os

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import (DirectoryBasedExampleDatabase, ExampleDatabase,
                                 MultiplexedDatabase, ReadOnlyDatabase)

ENV_DB = "IOMMU_SPEC_DB"

_COMMON = dict(deadline=None,
               phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


#: Steps per example under ``ci``: 30 until the windowed comparison and one-draw plans made a
#: step about twice as fast (iommu_spec/bench/RESULTS.md); the main job now makes more steps in
#: less time than it did.
CI_STEPS = 40


class DatabaseConfigError(ValueError):
    """IOMMU_SPEC_DB names something that cannot be used as an example database."""


def shared_database(spec: str | None = None) -> ExampleDatabase | None:
    """The shared example database named by ``spec`` (default: $IOMMU_SPEC_DB), or None.

    ``redis://host:port[/db]`` gives a RedisExampleDatabase (raises
    DatabaseConfigError when the ``redis`` package is missing); anything else
    is a directory, created if needed.
    """
    spec = os.environ.get(ENV_DB) if spec is None else spec
    if not spec:
        return None
    if spec.startswith(("redis://", "rediss://")):
        try:
            import redis
            from hypothesis.extra.redis import RedisExampleDatabase
        except ImportError as exc:
            raise DatabaseConfigError(
                f"{ENV_DB}={spec} needs the redis package: pip install redis ({exc})") from None
        return RedisExampleDatabase(redis.Redis.from_url(spec))
    return DirectoryBasedExampleDatabase(spec)


def register_profiles(shared: ExampleDatabase | None = None) -> None:
    """(Re)register dev, ci and thorough, writing to ``shared`` too when given."""
    local = DirectoryBasedExampleDatabase(".hypothesis/examples")
    writable = MultiplexedDatabase(local, shared) if shared is not None else local
    settings.register_profile("dev", max_examples=40, stateful_step_count=30,
                              database=writable, **_COMMON)
    if shared is not None:
        settings.register_profile("ci", max_examples=40, stateful_step_count=CI_STEPS,
                                  database=ReadOnlyDatabase(MultiplexedDatabase(shared)),
                                  print_blob=False, **_COMMON)
    else:
        settings.register_profile("ci", max_examples=40, stateful_step_count=CI_STEPS,
                                  derandomize=True, database=None, print_blob=False, **_COMMON)
    settings.register_profile("thorough", max_examples=2000, stateful_step_count=100,
                              database=writable, **_COMMON)


register_profiles(shared_database())


def load_default_profile() -> str:
    """Load ``ci`` under CI, else ``dev`` (unless HYPOTHESIS_PROFILE names one); returns its name."""
    name = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
    settings.load_profile(name)
    return name
