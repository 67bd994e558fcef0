"""Kernel versions as data: which mainline releases a behaviour holds for, and why.

Every rule (:mod:`spec.rules`), every core (:mod:`spec.cores`) and every
variant point (:mod:`spec.semantics`) carries :class:`Span` values: the first
and last mainline release it holds for, the commit that started it and the
commit that ended it.  ``iommu-spec rules`` prints them, and
:mod:`spec.kernels` uses them to answer "what does *my* kernel do?".

Versions are mainline release numbers (``v6.12``); a stable release
(``6.12.118``, as Debian ships) is the mainline release it branched from.
"""

from dataclasses import dataclass
import re

from .errors import SpecUsageError


@dataclass(frozen=True, order=True)
class Version:
    """A mainline release, ``Version(6, 12)`` for v6.12.  Ordered; ``str()`` is ``"v6.12"``."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: "str | Version") -> "Version":
        """``"6.12"``, ``"v6.12"`` or ``"6.12.118"`` (the stable patch level is dropped).

        Raises SpecUsageError for anything else.
        """
        if isinstance(text, Version):
            return text
        m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", str(text).strip())
        if not m:
            raise SpecUsageError(f"kernel version must look like 6.12 or v6.12, got {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}"


#: The newest mainline release the model states (v7.1, June 2026).
NEWEST = Version(7, 1)
#: The oldest release ``--kernel`` answers for.
OLDEST = Version(5, 4)

#: Mainline releases from v3.0 to NEWEST, in order (each major ends at the given minor).
_LAST_MINOR = {3: 19, 4: 20, 5: 19, 6: 19, 7: NEWEST.minor}
RELEASES: tuple[Version, ...] = tuple(Version(major, minor) for major, last in _LAST_MINOR.items()
                                      for minor in range(last + 1))


def v(text: str) -> Version:
    """Shorthand for :meth:`Version.parse` in the tables of this package."""
    return Version.parse(text)


@dataclass(frozen=True)
class Span:
    """The releases a behaviour holds for: ``first`` to ``last`` inclusive.

    ``last`` None: it still holds in NEWEST.  ``since`` is the commit that
    started it (``"6093cd582f8e iommu/io-pgtable-arm: ..."``; empty when it
    is older than the versions the model covers, say why in ``note``),
    ``until`` the commit whose release ended it.
    """

    first: Version
    last: Version | None = None
    since: str = ""
    until: str = ""
    note: str = ""

    def holds(self, version: "Version | str") -> bool:
        version = Version.parse(version)
        return self.first <= version and (self.last is None or version <= self.last)

    @property
    def releases(self) -> str:
        """``"v6.11+"``, ``"v5.15 to v6.13"`` or ``"v7.1"``."""
        if self.last is None:
            return f"{self.first}+"
        if self.last == self.first:
            return str(self.first)
        return f"{self.first} to {self.last}"

    def __str__(self) -> str:
        parts = [self.releases]
        if self.since:
            parts.append(f"since {self.since.split()[0]}")
        if self.until:
            parts.append(f"until {self.until.split()[0]}")
        return parts[0] + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")

    def as_dict(self) -> dict:
        return {"first": str(self.first), "last": None if self.last is None else str(self.last),
                "since": self.since, "until": self.until, "note": self.note}


def span(first: str, last: str | None = None, since: str = "", until: str = "",
         note: str = "") -> Span:
    """A :class:`Span` from version texts."""
    return Span(v(first), None if last is None else v(last), since, until, note)
