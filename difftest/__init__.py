"""difftest: drive implementations and the reference model in lockstep.

``check_implementation(factory, profiles=..., semantics=...)`` is the public
conformance checker for in-process implementations (in the spirit of
``trio.testing.check_one_way_stream``): it runs the state machine on each
profile and raises :class:`DiffFailure` with a report naming the violated
rule and a pasteable reproducer.  ``pytest difftest`` runs it for every
implementation in :data:`impls.IMPLEMENTATIONS` on every profile.
"""

from hypothesis import settings as _settings
from hypothesis.stateful import run_state_machine_as_test

from spec import PROFILES

from .machine import DiffFailure, build_machine

__all__ = ["check_implementation", "build_machine", "DiffFailure"]


def check_implementation(factory, profiles=None, semantics: str | None = None,
                         settings: _settings | None = None, label: str | None = None) -> None:
    """Check ``factory(profile_name, semantics_name)`` against the spec on each profile.

    ``profiles``: names or Profile objects (default: every profile in
    spec.PROFILES); ``semantics``: the variant to hold the implementation to
    (default: its own ``semantics``, else the profile's); ``settings``:
    Hypothesis settings (default: the loaded profile).  Raises DiffFailure on
    the first disagreement, after shrinking; returns None when all pass.
    """
    for profile in (profiles or list(PROFILES)):
        machine = build_machine(factory, profile, semantics, label=label)
        run_state_machine_as_test(machine, settings=settings)
