"""The model's state: an ordered interval map of leaf runs.

A *leaf* is one page-table entry that translates a page: ``pgsize`` bytes at
``iova`` to ``paddr``, with ``prot``.  A *run* is a maximal sequence of leaves of
the same size that are contiguous in IOVA and in physical address and share a
prot; it is stored as one entry, so mapping or unmapping a TiB costs about what
4 KiB does and each operation costs O(log runs) plus the runs it touches.
Runs are kept in a ``sortedcontainers.SortedDict`` keyed by IOVA and never
overlap.
"""

from typing import Iterable, NamedTuple

from sortedcontainers import SortedDict


class LeafRun(NamedTuple):
    """``count`` leaves of ``pgsize`` bytes: [iova, iova + pgsize*count) -> paddr.., with prot."""

    iova: int
    paddr: int
    pgsize: int
    count: int
    prot: int

    @property
    def end(self) -> int:
        return self.iova + self.pgsize * self.count

    @property
    def size(self) -> int:
        return self.pgsize * self.count


class Translation(NamedTuple):
    """A maximal range that translates linearly: [iova, iova+size) -> [paddr, paddr+size), prot."""

    iova: int
    paddr: int
    size: int
    prot: int


def translations_of(leaves: Iterable) -> list[Translation]:
    """Merge leaf runs ``(iova, paddr, pgsize, count, prot)`` into maximal translations.

    This is the translation state as a device sees it, with page sizes forgotten:
    two implementations agree on it exactly when every IOVA translates to the same
    physical address with the same prot.  Leaves must be sorted by iova and must
    not overlap (ValueError otherwise).
    """
    out: list[Translation] = []
    last_end = -1
    for iova, paddr, pgsize, count, prot in leaves:
        size = pgsize * count
        if iova < last_end:
            raise ValueError(f"leaves overlap or are unsorted at iova {iova:#x}")
        last_end = iova + size
        if out:
            prev = out[-1]
            if (prev.iova + prev.size == iova and prev.paddr + prev.size == paddr
                    and prev.prot == prot):
                out[-1] = prev._replace(size=prev.size + size)
                continue
        out.append(Translation(iova, paddr, size, prot))
    return out


def canonical_leaves(leaves: Iterable) -> list[LeafRun]:
    """Sort leaf runs and merge adjacent runs of equal page size, so two lists compare equal
    exactly when they describe the same leaves."""
    out: list[LeafRun] = []
    cur = None  # (iova, paddr, pgsize, count, prot) of the run being extended
    for iova, paddr, pgsize, count, prot in sorted(leaves):
        if not count:
            continue
        if cur is not None:
            c_iova, c_paddr, c_pgsize, c_count, c_prot = cur
            size = c_pgsize * c_count
            if (c_iova + size == iova and c_pgsize == pgsize and c_prot == prot
                    and c_paddr + size == paddr):
                cur = (c_iova, c_paddr, c_pgsize, c_count + count, c_prot)
                continue
            out.append(LeafRun(*cur))
        cur = (iova, paddr, pgsize, count, prot)
    if cur is not None:
        out.append(LeafRun(*cur))
    return out


def clip_leaves(leaves: Iterable, start: int, end: int) -> list[LeafRun]:
    """The leaves of ``leaves`` that intersect [start, end), whole, as canonical runs.

    A run partly inside the window is cut at leaf boundaries (never inside a
    leaf), so two leaf lists that describe the same leaves give the same
    result however their runs were split.  This is the window a state
    machine step compares (difftest.machine): O(k log k) in the k runs given.
    """
    out = []
    for iova, paddr, pgsize, count, prot in leaves:
        run_end = iova + pgsize * count
        if run_end <= start or iova >= end or not count:
            continue
        first = max(0, (start - iova) // pgsize)
        last = min(count, -(-(end - iova) // pgsize))
        off = first * pgsize
        out.append((iova + off, paddr + off, pgsize, last - first, prot))
    return canonical_leaves(out)


class LeafMap:
    """Non-overlapping leaf runs, ordered by IOVA."""

    def __init__(self) -> None:
        self._runs: SortedDict = SortedDict()
        #: Bumped by every change (insert, remove of something, clear): two equal versions of
        #: one LeafMap mean the same leaves.
        self.version = 0

    # -- queries -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._runs)

    def runs(self) -> list[LeafRun]:
        return list(self._runs.values())

    def nth(self, index: int) -> LeafRun:
        """The ``index``-th run in IOVA order (O(log n)); IndexError when there is none."""
        return self._runs.peekitem(index)[1]

    def find(self, addr: int) -> LeafRun | None:
        """The run that contains ``addr``, or None."""
        idx = self._runs.bisect_right(addr) - 1
        if idx < 0:
            return None
        run = self._runs.peekitem(idx)[1]
        return run if addr < run.end else None

    def leaf_at(self, addr: int) -> LeafRun | None:
        """The single leaf (a run of count 1) that contains ``addr``, or None."""
        run = self.find(addr)
        if run is None:
            return None
        k = (addr - run.iova) // run.pgsize
        return LeafRun(run.iova + k * run.pgsize, run.paddr + k * run.pgsize,
                       run.pgsize, 1, run.prot)

    def overlapping(self, start: int, end: int) -> list[LeafRun]:
        """Runs that intersect [start, end), in IOVA order."""
        if end <= start:
            return []
        runs = self._runs
        idx = runs.bisect_right(start) - 1
        if idx < 0:
            idx = 0
        out = []
        for key in runs.islice(idx):
            if key >= end:
                break
            run = runs[key]
            if run.end > start:
                out.append(run)
        return out

    def next_start(self, addr: int) -> int | None:
        """The IOVA of the first run that starts at or after ``addr``."""
        idx = self._runs.bisect_left(addr)
        return self._runs.peekitem(idx)[0] if idx < len(self._runs) else None

    # -- updates -------------------------------------------------------------
    def insert(self, iova: int, paddr: int, pgsize: int, count: int, prot: int) -> None:
        """Add ``count`` leaves of ``pgsize`` at iova -> paddr.  The range must be empty."""
        if count <= 0:
            return
        run = LeafRun(iova, paddr, pgsize, count, prot)
        assert not self.overlapping(iova, run.end), "insert over live leaves"
        self.version += 1
        left = self.find(iova - 1) if iova else None
        if (left is not None and left.end == iova and left.pgsize == pgsize
                and left.prot == prot and left.paddr + left.size == paddr):
            del self._runs[left.iova]
            run = left._replace(count=left.count + count)
        right = self._runs.get(run.end)
        if (right is not None and right.pgsize == pgsize and right.prot == prot
                and run.paddr + run.size == right.paddr):
            del self._runs[right.iova]
            run = run._replace(count=run.count + right.count)
        self._runs[run.iova] = run

    def remove(self, start: int, end: int) -> int:
        """Remove every leaf inside [start, end); returns the bytes removed.

        ``start`` and ``end`` must fall on leaf boundaries of the runs they cut
        (a leaf is never cut here: splitting a leaf is a rule of its own).
        """
        removed = 0
        for run in self.overlapping(start, end):
            lo, hi = max(start, run.iova), min(end, run.end)
            assert (lo - run.iova) % run.pgsize == 0 and (hi - run.iova) % run.pgsize == 0, \
                "remove would cut a leaf"
            del self._runs[run.iova]
            head = (lo - run.iova) // run.pgsize
            tail = (run.end - hi) // run.pgsize
            if head:
                self._runs[run.iova] = run._replace(count=head)
            if tail:
                off = hi - run.iova
                self._runs[hi] = LeafRun(hi, run.paddr + off, run.pgsize, tail, run.prot)
            removed += hi - lo
        if removed:
            self.version += 1
        return removed

    def clear(self) -> None:
        self._runs.clear()
        self.version += 1

    def copy(self) -> "LeafMap":
        out = LeafMap()
        out._runs = self._runs.copy()
        out.version = self.version
        return out
