"""ReferenceDomain: the executable statement of Linux's IOMMU mapping API.

Conventions for the whole public API: addresses and sizes are ints in
[0, 2^64), sizes in bytes; errors are negative errno values exactly as Linux
returns them (see :mod:`spec.errors`); prot is a bitmap of :mod:`spec.prot`
flags.  A malformed *call* (a non-int, a value outside [0, 2^64), an unknown
prot bit) raises :class:`spec.errors.SpecUsageError` and changes nothing:
Linux would never see it.

Each public method mirrors one API function, checks its preconditions as
named rules at the top, and composes the rules of :mod:`spec.rules` in its
body.  After every call ``decided`` lists the rules that decided it.
"""

from typing import Sequence

from sortedcontainers import SortedSet

from . import rules as R
from .errors import SpecUsageError
from .leafmap import LeafMap, LeafRun, Translation, translations_of
from .profiles import Profile, get_profile
from .prot import IOMMU_PROT_MASK
from .semantics import Semantics, get_semantics

U64 = 1 << 64


def _check_u64(name: str, value) -> None:
    if type(value) is not int:
        raise SpecUsageError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if not 0 <= value < U64:
        raise SpecUsageError(f"{name} must be in [0, 2^64), got {value:#x}")


def _check_prot(prot) -> None:
    _check_u64("prot", prot)
    if prot & ~IOMMU_PROT_MASK:
        raise SpecUsageError(
            f"prot {prot:#x} has bits Linux does not define (known: {IOMMU_PROT_MASK:#x}: "
            f"IOMMU_READ, IOMMU_WRITE, IOMMU_CACHE, IOMMU_NOEXEC, IOMMU_MMIO, IOMMU_PRIV)")


#: The core loops the model can state (see rule CORE_BATCHES).
CORES = ("map_pages", "map", "map-v4.16")


class ReferenceDomain:
    """A paging domain as Linux's core plus one driver variant would run it.

    ``ReferenceDomain(profile, semantics=None, pgsize_bitmap=None)``:

    * ``profile`` -- a :class:`spec.Profile` or its name (``"intel-vtd"``, ...);
    * ``semantics`` -- a :class:`spec.Semantics` or its name; default: the
      profile's ``default_semantics``;
    * ``pgsize_bitmap`` -- the page sizes actually used, a non-empty subset of
      the profile's (as a driver may report in ``domain_alloc``); default: all;
    * ``core`` -- which core loop hands work to the driver (rule CORE_BATCHES):
      ``"map_pages"`` (v5.15+: ``(pgsize, count)`` batches, map_sg returns
      -errno; the default), ``"map"`` (v4.17 to v5.13: one page per driver
      call, map_sg returns 0 on error) or ``"map-v4.16"`` (v3.3 to v4.16: as
      ``"map"``, and map_sg maps entry by entry, MAP_SG_PER_ENTRY).

    Raises KeyError for an unknown profile or variant name and SpecUsageError
    for a bitmap that is not a non-empty subset or an unknown core.
    """

    def __init__(self, profile: Profile | str, semantics: Semantics | str | None = None,
                 pgsize_bitmap: int | None = None, core: str = "map_pages") -> None:
        if core not in CORES:
            raise SpecUsageError(f"core must be one of {', '.join(CORES)}, got {core!r}")
        self.core = core
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        if semantics is None:
            semantics = self.profile.default_semantics
        self.semantics = get_semantics(semantics) if isinstance(semantics, str) else semantics
        if pgsize_bitmap is None:
            pgsize_bitmap = self.profile.pgsize_bitmap
        _check_u64("pgsize_bitmap", pgsize_bitmap)
        if not pgsize_bitmap or pgsize_bitmap & ~self.profile.pgsize_bitmap:
            raise SpecUsageError(
                f"pgsize_bitmap {pgsize_bitmap:#x} must be a non-empty subset of profile "
                f"{self.profile.name}'s {self.profile.pgsize_bitmap:#x}")
        self.pgsize_bitmap = pgsize_bitmap
        self.min_pagesz = pgsize_bitmap & -pgsize_bitmap
        self.ias = self.profile.ias
        self.oas = self.profile.oas
        self.state = LeafMap()
        #: Bases of the live last-level tables, tracked only under variants whose
        #: unmap steps over holes inside them (``Semantics.hole_in_table``).
        self.last_level_tables: SortedSet = SortedSet()
        #: Names of the rules that decided the most recent call, in order.
        self.decided: list[str] = []

    def __repr__(self) -> str:
        core = "" if self.core == "map_pages" else f", core={self.core!r}"
        return (f"ReferenceDomain({self.profile.name!r}, {self.semantics.name!r}, "
                f"pgsize_bitmap={self.pgsize_bitmap:#x}{core})")

    # -- iommu_map ------------------------------------------------------------
    def map(self, iova: int, paddr: int, size: int, prot: int) -> int:
        """``iommu_map``: map [iova, iova+size) to [paddr, paddr+size) with prot.

        Returns 0, or a negative errno: -EINVAL (MAP_ALIGN, MAP_PROT, and
        MAP_ZERO_SIZE under generic-pt), -ERANGE (MAP_RANGE), -EEXIST /
        -EADDRINUSE (MAP_EXISTS, then MAP_ROLLBACK).  Source:
        drivers/iommu/iommu.c ``__iommu_map`` (v5.14+ loop over map_pages).
        """
        for name, value in (("iova", iova), ("paddr", paddr), ("size", size)):
            _check_u64(name, value)
        _check_prot(prot)
        self.decided = []
        return self._map(iova, paddr, size, prot)

    def _map(self, iova, paddr, size, prot) -> int:
        for ret in (R.map_align(self, iova, paddr, size), R.map_zero_size(self, size),
                    R.map_prot(self, prot), R.map_range(self, iova, paddr, size)):
            if ret is not None:
                return ret
        mapped = 0
        while mapped < size:
            pg, count = R.core_batches.fn(self, iova + mapped, paddr + mapped, size - mapped)
            ret, done = self._map_pages(iova + mapped, paddr + mapped, pg, count, prot)
            mapped += done
            if ret:
                R.map_rollback(self, iova, mapped)
                return ret
        return 0

    # -- iommu_unmap ----------------------------------------------------------
    def unmap(self, iova: int, size: int) -> int:
        """``iommu_unmap``: unmap from iova; returns the bytes unmapped (never negative).

        0 for a misaligned request (UNMAP_ALIGN) or size 0 (UNMAP_ZERO_SIZE);
        stops at the first hole (UNMAP_HOLE); a leaf covered only in part
        follows UNMAP_PARTIAL_LEAF, so the result may be less or, under the
        "whole" variant, more than size.  Source: drivers/iommu/iommu.c
        ``__iommu_unmap`` (v5.14+ loop over unmap_pages).
        """
        _check_u64("iova", iova)
        _check_u64("size", size)
        self.decided = []
        return self._unmap(iova, size)

    def _unmap(self, iova, size) -> int:
        for ret in (R.unmap_align(self, iova, size), R.unmap_zero_size(self, size)):
            if ret is not None:
                return ret
        unmapped = 0
        while unmapped < size:
            at = iova + unmapped
            if at >= U64:
                break
            pg, count = R.core_batches.fn(self, at, at, size - unmapped)
            done = self._unmap_pages(at, pg, count)
            if not done:
                break
            unmapped += done
        return unmapped

    # -- iommu_map_sg ---------------------------------------------------------
    def map_sg(self, iova: int, sg: Sequence[tuple[int, int, int]], prot: int) -> int:
        """``iommu_map_sg``: map a scatterlist at iova; returns bytes mapped or a negative errno.

        ``sg`` is a sequence of ``(paddr, offset, length)``; an entry's physical
        start is ``paddr + offset``.  Contiguous entries form runs
        (MAP_SG_COALESCE), each mapped with ``map``'s rules at the next IOVA; on
        an error every run already mapped is unmapped (MAP_SG_ROLLBACK).
        Source: drivers/iommu/iommu.c ``__iommu_map_sg`` (v5.15+ ssize_t).
        """
        _check_u64("iova", iova)
        _check_prot(prot)
        entries = []
        for i, entry in enumerate(sg):
            if not isinstance(entry, (tuple, list)) or len(entry) != 3:
                raise SpecUsageError(f"sg[{i}] must be (paddr, offset, length), got {entry!r}")
            for name, value in zip(("paddr", "offset", "length"), entry):
                _check_u64(f"sg[{i}].{name}", value)
            if entry[0] + entry[1] >= U64:
                raise SpecUsageError(f"sg[{i}]: paddr + offset must be below 2^64")
            entries.append(tuple(entry))
        self.decided = []
        if not entries:
            return 0
        if self.core == "map-v4.16":
            return self._map_sg_per_entry(iova, entries, prot)
        mapped = run_len = run_start = 0
        n = len(entries)
        for i in range(n + 1):
            paddr, offset, length = entries[min(i, n - 1)]  # Linux re-reads the last entry
            s_phys = paddr + offset
            if run_len and s_phys != run_start + run_len:
                R.map_sg_coalesce(self, run_start, run_len)
                ret = self._map(iova + mapped, run_start, run_len, prot)
                if ret:
                    return R.map_sg_rollback(self, iova, mapped, ret)
                mapped += run_len
                run_len = 0
            if run_len:
                run_len += length
            else:
                run_start, run_len = s_phys, length
        return mapped

    def _map_sg_per_entry(self, iova, entries, prot) -> int:
        mapped = 0
        for paddr, offset, length in entries:
            ret = R.map_sg_per_entry(self, offset)
            if ret is None:
                ret = self._map(iova + mapped, paddr + offset, length, prot)
            if ret:
                return R.map_sg_rollback(self, iova, mapped, ret)
            mapped += length
        return mapped

    # -- iommu_iova_to_phys ---------------------------------------------------
    def iova_to_phys(self, iova: int) -> int:
        """``iommu_iova_to_phys``: the physical address for iova (offset included), or 0."""
        _check_u64("iova", iova)
        self.decided = []
        return R.iova_to_phys(self, iova)

    # -- driver level ---------------------------------------------------------
    def map_pages(self, iova: int, paddr: int, pgsize: int, pgcount: int,
                  prot: int) -> tuple[int, int]:
        """Driver ``map_pages``: install pgcount pages of pgsize; returns ``(ret, mapped)``.

        ``ret`` is 0 or a negative errno (PAGES_ARGS, MAP_PROT, MAP_RANGE:
        -EINVAL/-ERANGE; MAP_EXISTS); ``mapped`` is the bytes installed, which
        under per-table batches (PAGES_TABLE_BATCH) can be fewer than asked for
        with ret 0.  No rollback happens at this level.  Source:
        include/linux/iommu.h ``iommu_domain_ops.map_pages`` (v5.14+).
        """
        for name, value in (("iova", iova), ("paddr", paddr), ("pgsize", pgsize),
                            ("pgcount", pgcount)):
            _check_u64(name, value)
        _check_prot(prot)
        self.decided = []
        ret = R.pages_args(self, iova, paddr, pgsize, pgcount)
        if ret is not None:
            return ret, 0
        return self._map_pages(iova, paddr, pgsize, pgcount, prot)

    def unmap_pages(self, iova: int, pgsize: int, pgcount: int) -> int:
        """Driver ``unmap_pages``: returns the bytes unmapped (no IOTLB sync at this level).

        0 for bad arguments (PAGES_ARGS).  Source: include/linux/iommu.h
        ``iommu_domain_ops.unmap_pages`` (v5.14+).
        """
        for name, value in (("iova", iova), ("pgsize", pgsize), ("pgcount", pgcount)):
            _check_u64(name, value)
        self.decided = []
        if R.pages_args(self, iova, 0, pgsize, pgcount) is not None:
            return 0
        return self._unmap_pages(iova, pgsize, pgcount)

    def _map_pages(self, iova, paddr, pg, count, prot) -> tuple[int, int]:
        for ret in (R.map_prot(self, prot), R.map_range(self, iova, paddr, pg * count)):
            if ret is not None:
                return ret, 0
        sem = self.semantics
        if sem.map_over_live == "replace":
            end = iova + pg * count
            R.map_replace_leaves(self, iova, end)
            self._track_tables(iova, end, pg)
            return 0, R.map_pages_install(self, iova, paddr, pg, count, prot)
        if sem.per_table_batches:
            count = R.pages_table_batch(self, iova, pg, count) or count
        end = iova + pg * count
        conflict = None
        for run in self.state.overlapping(iova, end):
            if sem.replace_table and run.pgsize < pg:
                continue
            conflict = (max(run.iova, iova) - iova) // pg
            break
        good_end = end if conflict is None else iova + conflict * pg
        if sem.replace_table:
            R.map_replace_table(self, iova, good_end)
        if conflict is None:
            return 0, R.map_pages_install(self, iova, paddr, pg, count, prot)
        ret = R.map_exists(self, sem.exists_errno)
        if sem.per_table_batches:
            return ret, 0  # the batch's entries are written only after all were checked
        if conflict:
            R.map_pages_install(self, iova, paddr, pg, conflict, prot)
        return ret, good_end - iova

    def _track_tables(self, iova, end, pg) -> None:
        """Last-level tables after pages of pg were written over [iova, end).

        A page smaller than a table's span goes into a last-level table, made if
        missing; a page of that span or more clears the entries above, freeing
        the last-level tables under it (AMD v1 alloc_pte / free_clear_pte).
        """
        span = self.semantics.hole_in_table << 9
        if not span:
            return
        tables = self.last_level_tables
        if pg < span:
            tables.update(range(iova - iova % span, end, span))
        else:
            for base in list(tables.irange(iova, end - 1)):
                tables.discard(base)

    def _unmap_pages(self, iova, pg, count) -> int:
        sem = self.semantics
        if sem.unmap_range_checked:
            ret = R.unmap_range(self, iova, pg * count)
            if ret is not None:
                return ret
        if sem.per_table_batches:
            count = R.pages_table_batch(self, iova, pg, count) or count
        end = iova + pg * count
        if sem.unmap_slots:
            return self._unmap_slots(iova, end, pg)
        if sem.partial_unmap == "whole_any":
            return self._unmap_ptes(iova, end - iova)
        return self._unmap_leaves(iova, end)

    def _unmap_slots(self, iova, end, pg) -> int:
        """io-pgtable-arm style: walk slots of the core's page size."""
        at = iova
        while at < end:
            runs = self.state.overlapping(at, at + pg)
            if not runs:
                R.unmap_hole(self, at)
                break
            first = runs[0]
            if first.pgsize > pg:  # a block larger than the slot contains it
                got = R.unmap_partial_leaf(self, self.state.leaf_at(at), at, at + pg)
                if not got:
                    break
                at += got
            elif first.pgsize == pg and first.iova <= at:
                stop = min(end, first.end)
                R.unmap_leaves(self, at, stop)
                at = stop
            else:  # only smaller leaves: a table
                at += R.unmap_table_slot(self, at, at + pg)
        return at - iova

    def _unmap_leaves(self, iova, end) -> int:
        """generic_pt style: walk leaves from iova; an empty entry ends the walk."""
        at = iova
        while at < end:
            run = self.state.find(at)
            if run is None:
                R.unmap_hole(self, at)
                break
            leaf = self.state.leaf_at(at)
            if leaf.iova != at:  # the request starts inside a leaf
                got = R.unmap_partial_leaf(self, leaf, at, min(end, leaf.end))
                if not got:
                    break
                at += got
                continue
            stop = min(run.end, at + -(-(end - at) // run.pgsize) * run.pgsize)
            if stop <= end:
                R.unmap_leaves(self, at, stop)
                at = stop
                continue
            last = stop - run.pgsize  # the last leaf is covered only in part
            R.unmap_leaves(self, at, last)
            at = last + R.unmap_partial_leaf(self, self.state.leaf_at(last), last, end)
            break
        return at - iova

    def _unmap_ptes(self, iova, size) -> int:
        """legacy AMD v1 style: clear the PTE found at each address whole, counting its size.

        The count, not the position, is what the driver returns: a walk that
        starts inside a leaf counts the whole leaf and goes on from its end.
        """
        span = self.semantics.hole_in_table << 9
        at, done = iova, 0
        while done < size:
            run = self.state.find(at)
            if run is None:
                base = at - at % span if span else None
                if base is None or base not in self.last_level_tables:
                    R.unmap_hole(self, at)
                    break
                nxt = self.state.next_start(at)
                stop = min(base + span, at + size - done, U64 if nxt is None else nxt)
                done += R.unmap_hole_in_table(self, at, stop)
                at = stop
                continue
            leaf = self.state.leaf_at(at)
            if leaf.iova != at:  # the request starts inside a leaf
                done += R.unmap_partial_leaf(self, leaf, at, min(leaf.end, at + size - done))
                at = leaf.end
                continue
            n = min((run.end - at) // run.pgsize, -(-(size - done) // run.pgsize))
            stop = at + n * run.pgsize
            if done + (stop - at) <= size:
                R.unmap_leaves(self, at, stop)
            else:  # the last leaf runs past the request: it goes whole
                last = stop - run.pgsize
                if last > at:
                    R.unmap_leaves(self, at, last)
                R.unmap_partial_leaf(self, self.state.leaf_at(last), last,
                                     last + size - done - (last - at))
            done += stop - at
            at = stop
        return done

    # -- state ----------------------------------------------------------------
    def leaves(self) -> list[LeafRun]:
        """The page-table leaves the model implies: ``(iova, paddr, pgsize, count, prot)``
        runs of equal-size pages, sorted by iova."""
        return self.state.runs()

    def translations(self) -> list[Translation]:
        """The translation state: maximal linear ranges (iova, paddr, size, prot), by iova."""
        return translations_of(self.state.runs())

    def mapped_bytes(self) -> int:
        """Total bytes mapped."""
        return sum(r.size for r in self.state.runs())
