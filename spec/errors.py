"""Linux error numbers, as the IOMMU API returns them.

Every error in this project is a *negative* errno value, exactly as Linux
returns it (``iommu_map`` returns ``-EINVAL``, not ``EINVAL``).  The numbers
come from Python's :mod:`errno` module, which on Linux uses Linux's numbering
(EINVAL 22, ENOMEM 12, EEXIST 17, EADDRINUSE 98, ERANGE 34, ...).  This module
is the one place where those names are bound; nothing else writes an errno
as a bare literal.
"""

import errno as _errno

EINVAL = _errno.EINVAL
ENOMEM = _errno.ENOMEM
EEXIST = _errno.EEXIST
EADDRINUSE = _errno.EADDRINUSE
ERANGE = _errno.ERANGE
ENODEV = _errno.ENODEV
EBUSY = _errno.EBUSY
ENOENT = _errno.ENOENT
EOVERFLOW = _errno.EOVERFLOW
ENXIO = _errno.ENXIO
EFAULT = _errno.EFAULT

#: The errno values the protocol and the model may return, by name.
KNOWN = {
    name: getattr(_errno, name)
    for name in ("EINVAL", "ENOMEM", "EEXIST", "EADDRINUSE", "ERANGE",
                 "ENODEV", "EBUSY", "ENOENT", "EOVERFLOW", "ENXIO", "EFAULT")
}


def errno_name(ret: int) -> str:
    """Render a return value for people: ``-22`` -> ``"-EINVAL"``, ``4096`` -> ``"4096"``."""
    if isinstance(ret, int) and ret < 0:
        name = _errno.errorcode.get(-ret)
        if name:
            return f"-{name}"
    return str(ret)


class SpecUsageError(ValueError):
    """A call to the model was malformed (wrong type, value outside [0, 2^64), ...).

    This is a misuse of the Python API, not a Linux error: Linux would never be
    asked such a thing.  The message names the argument and what was expected.
    The model's state is unchanged when it is raised.
    """
