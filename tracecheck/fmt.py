"""How tracecheck writes numbers for people: fixed-width hex, page sizes, durations."""

from decimal import Decimal


def hex16(value: int) -> str:
    """A 64-bit address in fixed-width hex, as ftrace prints it: ``0x00000000fe980000``."""
    return f"{value:#018x}"


def span(iova: int, size: int) -> str:
    """The half-open IOVA range [iova, iova+size) in fixed-width hex."""
    return f"[{hex16(iova)}, {hex16(iova + size)})"


def human(size: int) -> str:
    """A byte count the way page sizes are spoken: ``4K``, ``2M``, ``1G``; other values in hex."""
    for unit, shift in (("P", 50), ("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return f"{size:#x}"


def duration(seconds: Decimal | None) -> str:
    """A time difference for people: ``1.793 ms``, ``323.2 s``; ``an unknown time`` for None."""
    if seconds is None:
        return "an unknown time"
    if seconds < 0:
        return f"{duration(-seconds)} (timestamps go backwards)"
    if seconds < 1:
        return f"{seconds * 1000:.3f} ms"
    return f"{seconds:.6f}".rstrip("0").rstrip(".") + " s"


def chunks_text(chunks) -> str:
    """``505 x 4K + 7 x 2M`` for ``(pgsize, count)`` pairs, merging equal page sizes in order."""
    merged: list[list[int]] = []
    for pg, count in chunks:
        if merged and merged[-1][0] == pg:
            merged[-1][1] += count
        else:
            merged.append([pg, count])
    return " + ".join(f"{count} x {human(pg)}" for pg, count in merged) or "nothing"


def pages_text(bitmap: int) -> str:
    """The page sizes of a pgsize_bitmap, runs of consecutive powers of two collapsed:
    ``4K 2M 1G``, or ``4K-256G 1T-2P`` for AMD v1."""
    bits = [b for b in range(64) if bitmap >> b & 1]
    runs: list[list[int]] = []
    for b in bits:
        if runs and runs[-1][1] == b - 1:
            runs[-1][1] = b
        else:
            runs.append([b, b])
    return " ".join(human(1 << lo) if hi - lo < 2 and lo == hi else
                    f"{human(1 << lo)} {human(1 << hi)}" if hi - lo == 1 else
                    f"{human(1 << lo)}-{human(1 << hi)}" for lo, hi in runs)


def plural(n: int, word: str) -> str:
    """``1 translation``, ``2 translations``."""
    return f"{n} {word}" + ("" if n == 1 else "s")
