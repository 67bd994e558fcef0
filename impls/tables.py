"""Page-table memory, shared by the table drivers (lpae, generic_pt, amd_v1)."""


def slots(base: int, shift: int, entries: int, start: int | None, end: int | None) -> range:
    """The indices of a table's entries that intersect [start, end).

    The table covers ``entries`` entries of ``1 << shift`` bytes from ``base``;
    with ``start`` None, all of them.  How the table drivers walk only the
    window a ranged ``leaves(iova, end)`` or ``tables(iova, end)`` asks for.
    """
    if start is None:
        return range(entries)
    lo = max(0, (start - base) >> shift) if start > base else 0
    hi = min(entries, ((end - base + (1 << shift) - 1) >> shift)) if end > base else 0
    return range(lo, max(lo, hi))


class TableMemory:
    """Page-table pages in simulated physical memory.

    ``alloc(entries)`` returns the physical address of a new zeroed table of
    ``entries`` 64-bit descriptors, or None when the allocation fails;
    ``pages[pa]`` is that table (a list of ints); ``free(pa)`` gives it back.
    ``counters.table_pages`` always equals the tables allocated now.

    ``fail_alloc(after)`` arms fault injection: the (after+1)-th allocation
    from now on fails, once (as a GFP_ATOMIC allocation may in Linux).
    Addresses start at ``base`` and step by ``page_size``; freed addresses are
    reused, so descriptors hold small, stable numbers.
    """

    def __init__(self, counters, base: int, page_size: int) -> None:
        self.counters = counters
        self.pages: dict[int, list[int]] = {}
        self._base, self._page_size = base, page_size
        self._next = base
        self._free: list[int] = []
        self._fail_after: int | None = None

    def fail_alloc(self, after: int) -> None:
        self._fail_after = after

    def alloc(self, entries: int) -> int | None:
        if self._fail_after is not None:
            if self._fail_after == 0:
                self._fail_after = None
                return None
            self._fail_after -= 1
        if self._free:
            pa = self._free.pop()
        else:
            pa, self._next = self._next, self._next + self._page_size
        self.pages[pa] = [0] * entries
        self.counters.table_pages += 1
        return pa

    def free(self, pa: int) -> None:
        del self.pages[pa]
        self._free.append(pa)
        self.counters.table_pages -= 1


class TableLifetime:
    """``fail_alloc`` and ``free`` for a table driver, written once.

    The driver holds ``mem`` (a TableMemory), ``root`` (the top table's address,
    or None once freed) and ``counters``, and says how to free the tree from
    the root in ``free_root(root)``.
    """

    def fail_alloc(self, after: int) -> None:
        """The (after+1)-th table allocation from now on fails with -ENOMEM, once."""
        self.mem.fail_alloc(after)

    def free(self) -> int:
        """Free every table, the top one included; returns the table pages left (must be 0)."""
        if self.root is not None:
            self.free_root(self.root)
            self.root = None
        return self.counters.table_pages
