"""Hypothesis settings profiles for the differential tester.

* ``dev`` (default on a workstation): a quick run, failures saved in the local
  example database so they replay first next time.
* ``ci`` (loaded when the ``CI`` environment variable is set): deterministic
  (``derandomize``), no example database, so a CI run is reproducible
  bit for bit and never depends on what an earlier run saved.  Registered
  here on purpose, replacing Hypothesis's built-in ``ci`` profile.
* ``thorough``: long campaigns; select it with ``--hypothesis-profile=thorough``.

Timing deadlines are off everywhere: machines are shared and noisy, and speed
is measured by the benchmarks, not asserted by tests.
"""

import os

from hypothesis import HealthCheck, Phase, settings

# No "explain" phase: it traces every line the failing example runs, which
# makes a failure take minutes, and our own report already says what failed.
_COMMON = dict(deadline=None,
               phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

settings.register_profile("dev", max_examples=40, stateful_step_count=30, **_COMMON)
settings.register_profile("ci", max_examples=40, stateful_step_count=30, derandomize=True,
                          database=None, print_blob=False, **_COMMON)
settings.register_profile("thorough", max_examples=2000, stateful_step_count=100, **_COMMON)


def load_default_profile() -> str:
    """Load ``ci`` under CI, else ``dev`` (unless HYPOTHESIS_PROFILE names one); returns its name."""
    name = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
    settings.load_profile(name)
    return name
