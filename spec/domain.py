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

from . import iotlb as I, lifetime as L, pgsize as _pgsize, rules as R
from .rules import _amd_level
from .errors import ERANGE, SpecUsageError
from .leafmap import LeafMap, LeafRun, Translation, clip_leaves, translations_of
from .profiles import Profile, get_profile
from .prot import IOMMU_MMIO, IOMMU_PROT_MASK, IOMMU_READ, IOMMU_WRITE
from .semantics import Semantics, get_semantics
from .tables import TableSet, geometry_for
from .virtio import S_INVAL, S_OK, MappingTree, device_map, device_unmap

U64 = 1 << 64
#: The ARM short-descriptor section (1M): omap's PGD entries map 1M / 16M, its L2 tables 4K / 64K.
_SECTION = 1 << 20
#: Linux's unsigned long arithmetic on IOVAs in the core's loops wraps at 2^64.
MASK64 = U64 - 1


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


def _lookup(what: str, value, cls, get, name_text: str):
    """``value`` as a ``cls``: itself, or the one named by it; SpecUsageError otherwise."""
    if isinstance(value, str):
        try:
            return get(value)
        except KeyError as exc:
            raise SpecUsageError(exc.args[0]) from None
    if not isinstance(value, cls):
        raise SpecUsageError(f"{what} must be a spec.{cls.__name__} or {name_text}, got "
                             f"{type(value).__name__} {value!r}")
    return value


#: The prot bits virtio-iommu's MAP request carries (viommu_map_pages).
_VIRTIO_FLAGS = IOMMU_READ | IOMMU_WRITE | IOMMU_MMIO

# The core loops the model can state (see rule CORE_BATCHES), defined in spec.cores.
from .cores import CORES, SSIZE_MAP_SG_CORES, get_core  # noqa: E402  (re-exported)


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
      -errno; the default), ``"map-v5.15"`` (the v5.15+ core over a driver that
      offers only ``->map`` / ``->unmap``, as 6.1's mtk_iommu: one page per
      driver call, map_sg returns -errno), ``"map"`` (v4.17 to v5.14: one page
      per driver call, map_sg returns 0 on error), ``"map-v4.16"`` (v3.3 to
      v4.16: as ``"map"``, and map_sg maps entry by entry, MAP_SG_PER_ENTRY),
      or ``"map_range"``  (v7.1 iommupt domains: the whole request in one
      driver ``map_range`` / ``unmap_range`` call, no core alignment check;
      semantics generic-pt only).  :mod:`spec.cores` lists them with their
      versions; :func:`spec.kernels.for_kernel` picks one by kernel and driver.

    Raises SpecUsageError (naming the known ones) for an unknown profile or
    variant name or a value of the wrong type, a bitmap that is not a
    non-empty subset, an unknown core, or core ``"map_range"`` under a
    variant other than generic-pt.
    """

    def __init__(self, profile: Profile | str, semantics: Semantics | str | None = None,
                 pgsize_bitmap: int | None = None, core: str = "map_pages") -> None:
        if core not in CORES:
            raise SpecUsageError(f"core must be one of {', '.join(CORES)}, got {core!r}")
        self.core = core
        self.core_info = get_core(core)
        self.profile = _lookup("profile", profile, Profile, get_profile, "a profile name")
        if semantics is None:
            semantics = self.profile.default_semantics
        self.semantics = _lookup("semantics", semantics, Semantics, get_semantics, "a variant name")
        if self.core_info.whole_range and self.semantics.name != "generic-pt":
            raise SpecUsageError(f"core {core!r} runs only generic_pt (iommupt) domains: semantics "
                                 f"generic-pt, not {self.semantics.name}")
        if pgsize_bitmap is None:
            pgsize_bitmap = self.profile.pgsize_bitmap
        _check_u64("pgsize_bitmap", pgsize_bitmap)
        if not pgsize_bitmap or pgsize_bitmap & ~self.profile.pgsize_bitmap:
            raise SpecUsageError(
                f"pgsize_bitmap {pgsize_bitmap:#x} must be a non-empty subset of profile "
                f"{self.profile.name}'s {self.profile.pgsize_bitmap:#x}")
        if not self.semantics.fits(pgsize_bitmap, self.profile.ias):
            sem = self.semantics
            raise SpecUsageError(
                f"semantics {sem.name} holds page sizes {sem.page_sizes or 'any':#x} and "
                f"{sem.iova_bits or 64} IOVA bits: not pgsize_bitmap {pgsize_bitmap:#x} with "
                f"ias {self.profile.ias} (profile {self.profile.name}): its table cannot hold "
                f"that domain" if sem.page_sizes else
                f"semantics {sem.name} indexes {sem.iova_bits} IOVA bits: not ias "
                f"{self.profile.ias} (profile {self.profile.name}): its table cannot hold "
                f"that domain")
        self.pgsize_bitmap = pgsize_bitmap
        self.min_pagesz = pgsize_bitmap & -pgsize_bitmap
        self.ias = self.profile.ias
        self.oas = self.profile.oas
        self.state = LeafMap()
        #: virtio-iommu (``Semantics.leaf_unit`` "call"): the driver's interval tree of
        #: mappings, which decides every return value and iova_to_phys, while ``state``
        #: holds the device's mappings (spec.virtio); else None.
        self.tree = MappingTree() if self.semantics.leaf_unit == "call" else None
        #: The legacy AMD v1 table's tables below the root, by the level of their entries
        #: (``_amd_walk``), and its number of levels, as alloc_pte grows it (6.12).
        self.amd_tables: list[SortedSet] = [SortedSet() for _ in range(6)]
        self.amd_mode = self.semantics.fixed_levels or 3
        #: Bases of the live last-level tables (the AMD v1 level-0 tables), for the variant
        #: whose unmap steps over holes inside them (``Semantics.hole_in_table``).
        self.last_level_tables: SortedSet = self.amd_tables[0]
        self.last_level_version = 0
        #: The table geometry and the tables that exist, under variants that keep
        #: empty tables (``Semantics.tables``; rule TABLE_LIFETIME), else None.
        self.geometry = None
        self.tables: TableSet | None = None
        if self.semantics.tables:
            self.geometry = geometry_for(self.semantics.tables, self.min_pagesz, self.ias)
            self.tables = TableSet(self.geometry)
        #: Fault injection: page-table allocations left before one fails (None: never).
        self.alloc_fail_in: int | None = None
        #: Names of the rules that decided the most recent call, in order.
        self.decided: list[str] = []

    @classmethod
    def for_kernel(cls, version: str, driver: str, profile: Profile | str | None = None,
                   pgsize_bitmap: int | None = None) -> "ReferenceDomain":
        """The domain kernel ``version`` (``"6.12"``) runs for ``driver`` (``"arm-smmu-v3"``):
        the variant and core :func:`spec.kernels.for_kernel` names, on ``profile`` (default:
        the driver's first profile).

        Raises SpecUsageError for an unknown driver or release, a release the model does
        not cover for that driver, or a profile that is not the driver's.
        """
        from .kernels import for_kernel
        k = for_kernel(version, driver)
        if profile is None:
            if not k.profiles:
                raise SpecUsageError(f"{driver} has no profile")
            profile = k.profiles[0]
        name = profile if isinstance(profile, str) else profile.name
        if name not in k.profiles:
            raise SpecUsageError(f"profile {name!r} is not {driver}'s hardware; its profiles: "
                                 f"{', '.join(k.profiles)}")
        return cls(profile, k.variant, pgsize_bitmap=pgsize_bitmap, core=k.core)

    def __repr__(self) -> str:
        core = "" if self.core == "map_pages" else f", core={self.core!r}"
        return (f"ReferenceDomain({self.profile.name!r}, {self.semantics.name!r}, "
                f"pgsize_bitmap={self.pgsize_bitmap:#x}{core})")

    # -- iommu_map ------------------------------------------------------------
    def map(self, iova: int, paddr: int, size: int, prot: int) -> int:
        """``iommu_map``: map [iova, iova+size) to [paddr, paddr+size) with prot.

        Returns 0, or a negative errno: -EINVAL (MAP_ALIGN, MAP_PROT), -ERANGE
        (MAP_RANGE), -EEXIST / -EADDRINUSE (MAP_EXISTS, then MAP_ROLLBACK);
        under core ``"map_range"`` also -EINVAL for 0 bytes (MAP_ZERO_SIZE),
        -ERANGE for a start paddr past 2^oas (MAP_RANGE_OA), -EOVERFLOW
        (MAP_OVERFLOW) and -ENXIO instead of MAP_ALIGN (MAP_NO_PGSIZE).
        Under virtio-iommu-v6.1 the device's refusal of a MAP: -EINVAL
        (MAP_EXISTS, then MAP_FAIL_SWEEP) or -ERANGE (RANGE_END_WRAPS);
        virtio-iommu (v6.8+) never reads it (MAP_STATUS_LOST).
        Source: drivers/iommu/iommu.c ``__iommu_map`` (v5.15+ loop over
        map_pages; the cores of spec.cores), ``iommu_map_nosync`` +
        generic_pt ``map_range`` (v7.1).
        """
        for name, value in (("iova", iova), ("paddr", paddr), ("size", size)):
            _check_u64(name, value)
        _check_prot(prot)
        self.decided = []
        return self._map(iova, paddr, size, prot)

    def _map(self, iova, paddr, size, prot) -> int:
        if self.core_info.whole_range:
            return self._map_whole_range(iova, paddr, size, prot)
        for ret in (R.map_align(self, iova, paddr, size), R.map_zero_size(self, size)):
            if ret is not None:
                return ret
        mapped = 0
        while mapped < size:  # iova and paddr are unsigned long / phys_addr_t: they wrap
            at, pa = (iova + mapped) & MASK64, (paddr + mapped) & MASK64
            pg, count = R.core_batches.fn(self, at, pa, size - mapped)
            ret, done = self._map_pages(at, pa, pg, count, prot)
            mapped += done
            if ret:
                if mapped:
                    R.map_rollback(self, iova, mapped)
                return ret
        return 0

    def _map_whole_range(self, iova, paddr, size, prot) -> int:
        """The v7.1 core: ``iommu_map_nosync`` hands the whole request to ``map_range``.

        Checks in generic_pt's order (iommu_pt.h ``map_range``): prot
        (MAP_PROT), the start paddr (MAP_RANGE_OA), the length and wrap
        (MAP_ZERO_SIZE, MAP_OVERFLOW, ``make_range_no_check``), a first page
        (MAP_NO_PGSIZE), the whole IOVA range (MAP_RANGE, ``check_map_range``).
        Then the greedy batches are written in one walk; a live leaf
        (MAP_EXISTS) or a tail no page fits (MAP_NO_PGSIZE) ends it, and the
        core unmaps the bytes ``map_range`` reported (MAP_ROLLBACK).
        """
        for check in (lambda: R.map_prot(self, prot), lambda: R.map_range_oa(self, paddr),
                      lambda: R.map_zero_size(self, size), lambda: R.map_overflow(self, iova, size),
                      lambda: R.map_no_pgsize(self, iova, paddr, size),
                      lambda: R.map_range(self, iova, paddr, size)):
            ret = check()
            if ret is not None:
                return ret
        R.paddr_past_oas(self, paddr, size)
        mapped, ret = 0, 0
        while mapped < size:
            at, pa, left = iova + mapped, paddr + mapped, size - mapped
            ret = R.map_no_pgsize(self, at, pa, left)
            if ret is not None:
                R.map_range_tail(self, iova, paddr, size)
                break
            pg, count = _pgsize.pgsize_and_count(self.pgsize_bitmap, at, pa, left)
            ret, done = self._map_leaves(at, pa, pg, count, prot)
            mapped += done
            if ret:
                break
        if ret:
            if mapped:
                R.map_rollback(self, iova, mapped)
            return ret
        return 0

    # -- iommu_unmap ----------------------------------------------------------
    def unmap(self, iova: int, size: int) -> int:
        """``iommu_unmap``: unmap from iova; returns the bytes unmapped (never negative).

        0 for a misaligned request (UNMAP_ALIGN) or size 0 (UNMAP_ZERO_SIZE);
        stops at the first hole (UNMAP_HOLE); a leaf covered only in part
        follows UNMAP_PARTIAL_LEAF, so the result may be less or, under the
        "whole" variant, more than size.  Under core ``"map_range"`` there is no
        alignment check: one unmap_range call, 0 when make_range rejects the
        range (UNMAP_RANGE).  Under virtio-iommu each driver call removes whole
        mappings (UNMAP_WHOLE_MAPPINGS) and returns 0 at a hole having dropped
        them from its tree (UNMAP_HOLE_DROPS).  Source: drivers/iommu/iommu.c ``__iommu_unmap``
        (v5.15+ loop over unmap_pages; v7.1 unmap_range for iommupt domains).
        """
        _check_u64("iova", iova)
        _check_u64("size", size)
        self.decided = []
        return self._unmap(iova, size)

    def _unmap(self, iova, size) -> int:
        if self.core_info.whole_range:
            # v7.1: __iommu_unmap calls unmap_range once, with no alignment check; a range
            # make_range rejects (0 bytes, a wrap, past 2^ias) unmaps nothing.
            ret = R.unmap_zero_size(self, size)
            if ret is None:
                ret = R.unmap_range(self, iova, size)
            if ret is not None:
                return ret
            return self._unmap_leaves(iova, iova + size)
        for ret in (R.unmap_align(self, iova, size), R.unmap_zero_size(self, size)):
            if ret is not None:
                return ret
        unmapped = 0
        while unmapped < size:
            at = (iova + unmapped) & MASK64  # unsigned long: wraps past 2^64 as Linux's does
            pg, count = R.core_batches.fn(self, at, at, size - unmapped)
            done = self._unmap_pages(at, pg, count)
            if not done:
                break
            unmapped += done
        return unmapped & MASK64  # size_t: sprd 6.1 adds (size_t)-EINVAL

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
        if isinstance(sg, (str, bytes)) or not hasattr(sg, "__iter__"):
            raise SpecUsageError(f"sg must be a sequence of (paddr, offset, length), got "
                                 f"{type(sg).__name__} {sg!r}")
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
        if self.core_info.map_sg_per_entry:
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
        """``iommu_iova_to_phys``: the physical address for iova (offset included), or 0.

        Under virtio-iommu the answer comes from the driver's tree (``tree``), which may
        disagree with the device's mappings (``leaves``)."""
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
        include/linux/iommu.h ``iommu_domain_ops.map_pages`` (v5.15+).
        SpecUsageError under core ``"map_range"``, whose domains have no map_pages.
        """
        self._check_pages_op("map_pages")
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
        ``iommu_domain_ops.unmap_pages`` (v5.15+).  SpecUsageError under core
        ``"map_range"``.
        """
        self._check_pages_op("unmap_pages")
        for name, value in (("iova", iova), ("pgsize", pgsize), ("pgcount", pgcount)):
            _check_u64(name, value)
        self.decided = []
        if R.pages_args(self, iova, 0, pgsize, pgcount) is not None:
            return 0
        return self._unmap_pages(iova, pgsize, pgcount)

    def _check_pages_op(self, op: str) -> None:
        if self.core_info.whole_range:
            raise SpecUsageError(f"{op} is not a driver operation under core {self.core!r}: v7.1 "
                                 f"iommupt domains offer map_range / unmap_range instead "
                                 f"(99fb8afa16ad, d6c65b0fd621)")

    def _map_pages(self, iova, paddr, pg, count, prot) -> tuple[int, int]:
        sem = self.semantics
        if sem.pages_per_call == "one":  # the driver ignores pgcount: one page, *mapped = pg
            count = 1
        checks = ((R.map_prot, (prot,)), (R.map_range, (iova, paddr, pg * count)))
        if not sem.prot_checked:
            checks = checks[1:]
        for check, args in (checks if sem.prot_first else checks[::-1]):
            ret = check(self, *args)
            if ret is not None:
                return ret, 0
        if not sem.pte_valid_bit:  # sprd: physical page 0 is a PTE of 0
            R.map_paddr_zero_hole(self, paddr, pg * count)
        if sem.map_over_live == "keep":
            return self._vtd_map(iova, paddr, pg, count, prot)
        if self.tree is not None:
            return self._virtio_map(iova, paddr, pg * count, prot)
        if self.tables is not None:
            return self._map_pages_tables(iova, paddr, pg, count, prot)
        return self._map_leaves(iova, paddr, pg, count, prot)

    def _map_leaves(self, iova, paddr, pg, count, prot) -> tuple[int, int]:
        """Write ``count`` leaves of ``pg`` under a variant without a table format (checks done)."""
        sem = self.semantics
        if sem.map_over_live == "replace":
            if sem.iova_bits:  # PM_LEVEL_INDEX drops the IOVA bits above the top level
                R.iova_past_ias(self, iova, pg * count)
            R.paddr_past_oas(self, paddr, pg * count)
            head = min(count, (U64 - iova) // pg)  # the driver's unsigned long iova wraps at 2^64
            total = 0
            for at, pa, n in ((iova, paddr, head), (0, (paddr + head * pg) & MASK64, count - head)):
                if n:
                    R.map_page_above_top(self, pg, self.amd_mode)
                    done = self._amd_map(at, pa, pg, n, prot)
                    total += done
                    if done < n:  # an allocation failed
                        return L.map_fail_alloc(self), pg * total
            return 0, pg * count
        end = iova + pg * count  # generic_pt: any live leaf under the new pages is a conflict
        if sem.iova_bits:  # the index drops the IOVA bits above iova_bits
            R.iova_past_ias(self, iova, pg * count)
        if sem.range_check in ("none", "paddr_einval", "iova_einval"):  # no paddr check
            R.paddr_past_oas(self, paddr, pg * count)
        leaf, per = (sem.pte_size, pg // sem.pte_size) if sem.pte_size else (pg, 1)
        # the driver's unsigned long iova wraps at 2^64 (a call accepted that far is
        # IOVA_PAST_IAS, recorded above): the pages past it are stated at 0 on
        head = min(count, (U64 - iova) // pg)
        done = 0
        for at, pa, n in ((iova, paddr, head), (0, (paddr + head * pg) & MASK64, count - head)):
            if not n:
                continue
            stop = at + n * pg
            if sem.map_over_live == "overwrite":
                done += self._map_overwrite(at, pa, pg, leaf, n * per, prot)
                continue
            run = next(iter(self.state.overlapping(at, stop)), None)
            if run is None:
                done += R.map_pages_install(self, at, pa, leaf, n * per, prot)
                continue
            conflict = (max(run.iova, at) - at) // pg
            if not sem.map_fail_keeps:  # the driver undoes its own writes first
                if done:
                    self.state.remove(iova, iova + done)
                done, conflict = 0, 0
            if conflict:
                done += R.map_pages_install(self, at, pa, leaf, conflict * per, prot)
            return R.map_exists(self, sem.exists_errno), done
        return 0, done

    def _map_overwrite(self, at, pa, pg, leaf, n, prot) -> int:
        """A table that checks nothing writes ``n`` leaves of ``leaf`` bytes over whatever is
        there (MAP_OVERWRITE: tegra-smmu, s390, sprd, omap); returns the bytes mapped.

        With entries of two levels (omap: 1M and 16M in the PGD, 4K and 64K in L2 tables
        of 1M), a small page under a live section is written into the section's memory
        (MAP_UNDER_SUPERPAGE: nothing changes), a page over one of a larger page's 16
        copies keeps the other 15 (MAP_OVERWRITE_PART), and a section over small pages
        leaks their L2 table (MAP_OVERWRITE_LEAKS_TABLE).  Only the TLB entry at the new
        page's start is flushed (MAP_OVERWRITE_FLUSH_ONE).
        """
        stop = at + leaf * n
        section = _SECTION if self.semantics.page_sizes & -_SECTION and \
            self.semantics.page_sizes & (_SECTION - 1) else 0
        if section:
            old = self.state.leaf_at(at)
            if old is not None and old.pgsize >= section > pg:
                return R.map_under_superpage(self, at, stop)
            for edge in (at, stop - 1):  # a larger page of the same level, in part
                part = self.state.leaf_at(edge)
                if part is not None and part.pgsize > pg and (part.iova < at or part.end > stop):
                    R.map_overwrite_part(self, part, pg)
            if pg >= section:
                L.map_overwrite_leaks_table(self, at, stop)
            first = self.state.leaf_at(at)
            live = sum(min(r.end, stop) - max(r.iova, at) for r in self.state.overlapping(at, stop))
            if live > (first.pgsize if first is not None else 0):
                I.map_overwrite_flush_one(self, at, stop)
        R.map_overwrite(self, at, stop)
        return R.map_pages_install(self, at, pa, leaf, n, prot)

    # -- variants that keep their tables (Semantics.tables) ---------------------
    def fail_alloc(self, after: int) -> None:
        """Fault injection: the (after+1)-th page-table allocation from now on fails, once.

        Allocations are the tables a map's walk makes (TABLE_LIFETIME); the
        failing one makes its driver call fail with -ENOMEM (MAP_FAIL_ALLOC).
        Only where the model knows the tables (``predicts_alloc``: a variant
        with a table format, or the legacy AMD v1 table): raises SpecUsageError
        otherwise.
        """
        _check_u64("after", after)
        if not self.predicts_alloc:
            raise SpecUsageError(f"fail_alloc needs a variant whose tables the model tracks; "
                                 f"{self.semantics.name} has none (Semantics.tables)")
        self.alloc_fail_in = after

    @property
    def predicts_alloc(self) -> bool:
        """True when the model knows the tables, so it predicts which map fails under fail_alloc:
        a variant with a table format, or the legacy AMD v1 table."""
        return self.tables is not None or self.semantics.map_over_live == "replace"

    def table_listing(self, iova: int | None = None, end: int | None = None) -> list[tuple[int, int]] | None:
        """The tables below the root as ``(base iova, span)``, sorted; None when not tracked.

        With ``iova`` and ``end``: only the tables whose span intersects [iova, end).
        """
        return None if self.tables is None else self.tables.listing(iova, end)

    def _alloc_table(self) -> bool:
        left = self.alloc_fail_in
        if left is None:
            return True
        if left == 0:
            self.alloc_fail_in = None
            return False
        self.alloc_fail_in = left - 1
        return True

    def _walk_down(self, iova: int, entry: int) -> int | None:
        """A map's walk from the root to the level of ``entry``-byte entries at iova.

        -EEXIST (MAP_EXISTS) at a leaf above that level; -ENOMEM when an
        allocation fails (MAP_FAIL_ALLOC); else None, with every table on the
        way made (TABLE_LIFETIME).
        """
        leaf = self.state.leaf_at(iova)
        if leaf is not None and self.geometry.slot(leaf.pgsize) > entry:
            return R.map_exists(self, self.semantics.exists_errno)
        for level, base in self.tables.missing_on_path(iova, entry):
            if not self._alloc_table():
                return L.map_fail_alloc(self)
            self.tables.add(level, base)
            L.table_lifetime.fn(self, level, base, True)  # bookkeeping: not a deciding rule
        return None

    def _make_tables(self, iova: int, size: int) -> None:
        """The tables a split makes on its way down to the level of ``size`` at iova."""
        for level, base in self.tables.missing_on_path(iova, self.geometry.slot(size)):
            self.tables.add(level, base)
            L.table_lifetime.fn(self, level, base, True)

    def _map_pages_tables(self, iova, paddr, pg, count, prot) -> tuple[int, int]:
        """io-pgtable map_pages: walk down, replace tables below the page's level, refuse live leaves.

        With per-table batches (io-pgtable-arm, DART) the pages share one walk
        and are written only when every entry is free; otherwise (v7s) each
        page walks on its own and the pages before a failure stay mapped.
        Pages in one table share their walk, so the model takes them a table
        at a time.
        """
        sem, geo = self.semantics, self.geometry
        entry = geo.slot(pg)
        if sem.per_table_batches:
            count = R.pages_table_batch(self, iova, pg, count) or count
        end = iova + pg * count
        R.iova_past_ias(self, iova, pg * count)
        R.paddr_past_oas(self, paddr, pg * count)
        span = geo.span(entry)
        at = iova
        while at < end:
            ret = self._walk_down(at, entry)
            if ret is not None:
                return ret, at - iova
            stop = end if sem.per_table_batches else min(end, max(at - at % span + span, at + pg))
            conflict = next((max(run.iova, at) for run in self.state.overlapping(at, stop)
                             if geo.slot(run.pgsize) >= entry or not sem.replace_nonempty_table),
                            None)
            replaced = None
            if conflict is None or sem.replace_nonempty_table:
                replaced = R.map_replace_table(self, at, stop if conflict is None else conflict,
                                               entry)
            if conflict is not None:
                if replaced is not None and sem.replaced_table_flush == "sync_map":
                    I.map_replace_unflushed(self, at, conflict)
                if not sem.per_table_batches:  # the pages before the failing one are written
                    good = conflict - (conflict - at) % pg
                    if good > at:
                        R.map_pages_install(self, at, paddr + (at - iova), pg, (good - at) // pg, prot)
                    at = good
                return R.map_exists(self, sem.exists_errno), at - iova
            R.map_pages_install(self, at, paddr + (at - iova), pg, (stop - at) // pg, prot)
            at = stop
        return 0, at - iova

    def _unmap_pages_tables(self, iova, pg, count) -> int:
        """io-pgtable unmap_pages: page by page from iova, each cleared only where its entries are valid.

        A page whose level lies below a live leaf is a partial unmap of that
        leaf (UNMAP_PARTIAL_LEAF); a missing table on the way is a hole
        (UNMAP_HOLE); at the page's level each entry must be a leaf of that
        level or a table, which is freed with everything under it and counted
        (UNMAP_TABLE_SLOT, empty or not).  Pages inside one run of leaves of
        the page's level are taken together.
        """
        geo, tables = self.geometry, self.tables
        entry = geo.slot(pg)
        R.iova_past_ias(self, iova, pg * count)
        end = iova + pg * count
        at = iova
        while at < end:
            run = self.state.find(at)
            if run is not None and (geo.slot(run.pgsize) > entry or run.pgsize > pg):
                got = R.unmap_partial_leaf(self, self.state.leaf_at(at), at, at + pg)
                if not got:
                    break
                at += got
                continue
            if run is not None and geo.slot(run.pgsize) == entry and run.end >= at + pg:
                # whole pages inside one run of leaves of this level: take them together
                stop = min(end, at + (run.end - at) // pg * pg)
                R.unmap_leaves(self, at, stop)
                at = stop
                continue
            if not tables.has(entry, at) or not all(
                    self._entry_valid(entry, e) for e in range(at, at + pg, entry)):
                R.unmap_hole(self, at)
                break
            if any(tables.child(entry, e) is not None for e in range(at, at + pg, entry)):
                R.unmap_table_slot(self, at, at + pg, entry)  # frees the tables it holds
            else:
                R.unmap_leaves(self, at, at + pg)
            at += pg
        return at - iova

    def _entry_valid(self, entry: int, at: int) -> bool:
        """True when the ``entry``-byte entry at ``at`` holds a leaf of its level or a table."""
        leaf = self.state.leaf_at(at)
        if leaf is not None and self.geometry.slot(leaf.pgsize) == entry:
            return True
        return self.tables.child(entry, at) is not None

    # -- VT-d's own table (Semantics.map_over_live == "keep") --------------------------------
    # intel/iommu.c before generic_pt: 4 levels of 512 entries (the lpae 4K geometry), tables
    # made on map and freed by an unmap whose range covers their span; __domain_mapping picks
    # the page size itself (hardware_largepage_caps), keeps a live 4K PTE, and clears a
    # superpage's slot whatever it holds (switch_to_super_page).

    def _vtd_map(self, iova, paddr, pg, count, prot) -> tuple[int, int]:
        """intel_iommu_map_pages -> __domain_mapping over [iova, iova + pg*count) (checks done).

        The page size at each IOVA is the largest the IOMMU supports (the profile's bitmap:
        iommu_superpage, whatever the domain's bitmap or ``pg``) to which iova and paddr are
        aligned and that the rest of the call fills (hardware_largepage_caps).  Returns
        ``(ret, mapped)``.
        """
        geo, tables = self.geometry, self.tables
        total = pg * count
        R.paddr_past_oas(self, paddr, total)
        done = 0
        while done < total:
            at, pa = iova + done, paddr + done
            size, n = _pgsize.pgsize_and_count(self.profile.pgsize_bitmap, at, pa, total - done)
            entry = geo.slot(size)
            span = geo.span(entry)
            stop = min(at + n * size, at - at % span + span)  # up to the end of this table
            leaf = self.state.leaf_at(at)
            if leaf is not None and leaf.pgsize > entry:  # it covers the whole table's span
                R.map_under_superpage(self, at, stop)
                done = stop - iova
                continue
            for level, base in tables.missing_on_path(at, entry):
                if not self._alloc_table():
                    L.map_fail_uncounted(self, done)
                    return L.map_fail_alloc(self), done
                tables.add(level, base)
                L.table_lifetime.fn(self, level, base, True)  # bookkeeping: not a deciding rule
            if entry > geo.levels[-1]:  # switch_to_super_page: each present slot is cleared
                if len(geo.levels) >= 3 and entry == geo.levels[-3]:  # a 1G page
                    for s_at in range(at, stop, entry):
                        L.map_replace_leaks_table(self, s_at, s_at + entry)
                for run in self.state.overlapping(at, stop):
                    if run.pgsize == entry:
                        R.map_superpage_replaces(self, max(run.iova, at), min(run.end, stop))
                R.map_replace_table(self, at, stop, entry)
                R.map_pages_install(self, at, pa, entry, (stop - at) // entry, prot)
            else:  # 4K PTEs: a live one is kept (cmpxchg64_local fails, WARN)
                cur = at
                for run in self.state.overlapping(at, stop):
                    lo, hi = max(run.iova, at), min(run.end, stop)
                    if lo > cur:
                        R.map_pages_install(self, cur, pa + (cur - at), entry, (lo - cur) // entry, prot)
                    R.map_keeps_live(self, lo, hi)
                    cur = hi
                if stop > cur:
                    R.map_pages_install(self, cur, pa + (cur - at), entry, (stop - cur) // entry, prot)
            done = stop - iova
        return 0, total

    def _vtd_unmap(self, iova, size) -> int:
        """intel_iommu_unmap_pages -> intel_iommu_unmap / domain_unmap over [iova, iova + size).

        The walk from the root stops at the first superpage or missing entry, or at the
        last level (pfn_to_dma_pte, target level 0); the size is raised to that entry's span
        (the start is not moved).  From a superpage's base that removes it whole
        (UNMAP_PARTIAL_LEAF "whole"); at a hole above the last level it is the defect
        UNMAP_HOLE_ROUNDS, and the model keeps the size asked for.  Every leaf the range
        covers is removed, holes in it are counted (UNMAP_HOLE_COUNTED), and every table
        whose whole span it covers is freed.  Returns the bytes the driver reports.
        """
        geo, tables = self.geometry, self.tables
        if iova >> self.ias:  # 6.12: pfn_to_dma_pte is NULL -> 0; 6.1: BUG_ON
            R.iova_past_ias(self, iova, size)
            return 0
        entry, leaf = geo.levels[-1], None
        for e in geo.levels:
            run = self.state.leaf_at(iova)
            if run is not None and run.pgsize == e:
                entry, leaf = e, run
                break
            if e == geo.levels[-1] or tables.child(e, iova) is None:
                entry = e
                break
        if leaf is not None and leaf.iova != iova:  # Linux keeps it and clears past it
            R.unmap_partial_superpage_kept(self, leaf, iova, min(leaf.end, iova + max(size, entry)))
            return R.unmap_partial_leaf(self, leaf, iova, min(leaf.end, iova + size))  # "whole": 0
        if entry > size:
            if leaf is not None:  # from its base: the whole superpage goes
                return R.unmap_partial_leaf(self, leaf, iova, iova + size)
            R.unmap_hole_rounds(self, iova, size, entry)  # the model keeps the size asked for
        end = iova + size
        if end > 1 << self.ias:  # 6.12: WARN in domain_unmap, nothing cleared; 6.1: BUG_ON
            R.iova_past_ias(self, iova, size)
            return 0
        last = self.state.leaf_at(end - 1)
        if last is not None and last.end > end:  # a superpage the range covers in part
            R.unmap_partial_superpage_kept(self, last, last.iova, end)
            end = last.iova + R.unmap_partial_leaf(self, last, last.iova, end)  # "whole"
        removed = R.unmap_leaves(self, iova, end) or 0
        if removed < end - iova:
            R.unmap_hole_counted(self, iova, iova + (end - iova - removed))
        for e in geo.levels[1:]:  # dma_pte_clear_level: tables whose span the range covers
            span = geo.span(e)
            for base in list(tables.by_entry[e].irange(iova, end - span)):
                tables.by_entry[e].discard(base)
                tables.version += 1
                L.table_lifetime.fn(self, e, base, False)
        return end - iova

    # -- the legacy AMD v1 table (Semantics.map_over_live == "replace") ----------------------
    # Its tables are tracked at every level, as alloc_pte makes them, so that fail_alloc is
    # predicted and an unmap knows which last-level tables exist (UNMAP_HOLE_IN_TABLE):
    # ``amd_tables[L]`` holds the bases of the tables below the root whose entries are at
    # level L (a level-L table spans 4K << 9(L+1)); the root has ``amd_mode`` levels.

    def _virtio_map(self, iova, paddr, size, prot) -> tuple[int, int]:
        """virtio-iommu's viommu_map_pages: one mapping in the tree, one MAP to the device."""
        prot &= _VIRTIO_FLAGS  # VIRTIO_IOMMU_MAP_F_READ / _WRITE / _MMIO; the rest is dropped
        R.range_end_wraps(self, iova, size)
        node = R.map_call_mapping(self, iova, paddr, size, prot)
        status = device_map(self.state, iova, paddr, size, prot)
        if status == S_OK:
            return 0, size
        if self.semantics.map_over_live == "stack":  # v6.8+: the MAP's status is never read
            return 0, R.map_status_lost(self, iova, size)
        if status == S_INVAL:  # viommu_get_req_errno: S_INVAL -> -EINVAL
            ret = R.map_exists(self, self.semantics.exists_errno)
        else:  # S_RANGE -> -ERANGE
            ret = -ERANGE
        R.map_fail_sweep(self, node)  # viommu_del_mappings(iova, end): applies if it did not
        return ret, 0                 # delete exactly the refused mapping

    def _virtio_unmap(self, iova, size) -> int:
        """virtio-iommu's viommu_unmap_pages: whole mappings out of the tree, then one UNMAP."""
        R.range_end_wraps(self, iova, size)
        nodes = R.unmap_whole_mappings(self, iova, size)
        removed = sum(n.size for n in nodes) & MASK64  # viommu_del_mappings' size_t sum
        if removed < size:  # a hole, or a sum that wrapped past 2^64
            if R.unmap_hole_drops(self, iova, nodes) is None and self.tree.lookup(iova) is None:
                R.unmap_hole(self, iova)  # else a mapping starts before iova: it stopped the call
            return 0
        R.unmap_sum_range(self, iova, removed, nodes)
        device_unmap(self.state, iova, removed)  # its status is never read
        return removed

    @staticmethod
    def _amd_span(level: int) -> int:
        """The bytes one entry at ``level`` maps (PTE_LEVEL_PAGE_SIZE)."""
        return 1 << (12 + 9 * level)

    def _amd_add_table(self, level: int, base: int) -> bool:
        """One table allocation (``get_zeroed_page``); False when fail_alloc makes it fail."""
        if not self._alloc_table():
            return False
        self.amd_tables[level].add(base)
        self.last_level_version += 1
        return True

    def _amd_walk(self, address: int, pg: int) -> tuple[bool, int]:
        """alloc_pte (AMD v1, 6.12) / v2_alloc_pte (AMD v2): grow the root (v1 only), then
        walk to the page's level making tables.

        A page of a level's size or a group of replicated PTEs on the way is torn down whole
        and a table takes its place.  Returns ``(ok, torn)``: ok is False when an allocation
        failed, with the tables made before it kept; torn the bytes of leaves torn down (a PTE
        group, and under ``teardown_first`` any page, is cleared before its table is
        allocated, so it is gone even on failure, while a v1 level-size page is replaced only
        once its table exists).
        """
        end_lvl = _amd_level(pg)
        last = address + pg - 1
        torn = 0
        first = self.semantics.teardown_first
        while not self.semantics.fixed_levels and self.amd_mode < 6 and (
                last > self._amd_span(self.amd_mode) - 1 or self.amd_mode - 1 < end_lvl):
            # increase_address_space: the old root becomes a table below the new one
            if not self._amd_add_table(self.amd_mode - 1, 0):
                return False, torn
            self.amd_mode += 1
        for level in range(self.amd_mode - 1, end_lvl, -1):
            base = address - address % self._amd_span(level)
            if base in self.amd_tables[level - 1]:
                continue
            leaf = self.state.leaf_at(address)
            here = leaf is not None and _amd_level(leaf.pgsize) == level
            # a PTE group (v1) or any large page (v2, teardown_first) is cleared first; a
            # v1 level-size page is replaced only once its table exists
            cleared_first = here and (first or leaf.pgsize != self._amd_span(level))
            if cleared_first:
                torn += self.state.remove(leaf.iova, leaf.end)
            if not self._amd_add_table(level - 1, base):
                return False, torn
            if here and not cleared_first:
                torn += self.state.remove(leaf.iova, leaf.end)
        return True, torn

    def _amd_free_under(self, start: int, end: int, level: int) -> None:
        """free_clear_pte over [start, end) at ``level``: every table below it there is freed."""
        for lower in range(level):
            tables = self.amd_tables[lower]
            span = self._amd_span(lower + 1)
            gone = list(tables.irange(start - start % span, end - 1))
            for base in gone:
                if start <= base and base + span <= end:
                    tables.discard(base)
                    self.last_level_version += 1

    def _amd_map(self, iova, paddr, pg, n, prot) -> int:
        """iommu_v1_map_pages for n pages of pg from iova (no wrap inside): the pages written."""
        level = _amd_level(pg)
        group = self._amd_span(level + 1)  # the pages sharing one walk: one level-`level` table
        done = 0
        replaced = []  # the spans of the leaves this call removed (MAP_REPLACE_FLUSH_ONE_PAGE)
        while done < n:
            at = iova + done * pg
            stop = min(iova + n * pg, at - at % group + group)
            defects = R.amd_replace_defects(self, at, stop, pg)
            span = R.replaced_span(self, at, stop)
            ok, torn = self._amd_walk(at, pg)
            if not ok:
                if torn:  # a larger page was torn down before the failing allocation
                    R.map_replace_leaves(self, at, at, torn)
                    replaced.append(span)
                    for rule, args in defects:
                        rule(self, *args)
                break
            if R.map_replace_leaves(self, at, stop, torn):
                replaced.append(span)
            for rule, args in defects:
                rule(self, *args)
            self._amd_free_under(at, stop, level)
            k = (stop - at) // pg
            R.map_pages_install(self, at, paddr + done * pg, pg, k, prot)
            done += k
        if replaced and self.semantics.replace_flush == "replaced":
            I.map_replace_flush_one_page(self, iova, done, replaced)
        return done

    def _unmap_pages(self, iova, pg, count) -> int:
        sem = self.semantics
        if sem.pages_per_call == "one":  # the driver ignores pgcount: one page per call
            count = 1
        ret = R.unmap_range(self, iova, pg * count)
        if ret is not None:
            return ret
        if sem.per_table_batches:
            count = R.pages_table_batch(self, iova, pg, count) or count
        end = iova + pg * count
        if sem.map_over_live == "keep":  # VT-d's own table
            return self._vtd_unmap(iova, end - iova)
        if self.tree is not None:
            return self._virtio_unmap(iova, end - iova)
        if self.tables is not None and sem.unmap_slots:  # the io-pgtable walk
            return self._unmap_pages_tables(iova, pg, count)
        if sem.iova_bits:  # the index drops the bits above iova_bits
            R.iova_past_ias(self, iova, end - iova)
        if sem.partial_unmap == "whole_any":
            return self._unmap_ptes(iova, end - iova)
        done = self._unmap_leaves(iova, end)
        if sem.unmap_returns_zero and done:  # sprd 6.1: the range is cleared, 0 returned
            return R.unmap_returns_zero(self, done)
        return done

    def _unmap_leaves(self, iova, end) -> int:
        """generic_pt style: walk leaves from iova; an empty entry ends the walk (or, under
        ``hole_unmap == "count"``, is stepped over and counted).  Under ``unmap_one_leaf``
        the call ends after one leaf or one hole."""
        sem = self.semantics
        at = iova
        while at < end:
            run = self.state.find(at)
            if run is None:
                if sem.hole_unmap != "count":
                    R.unmap_hole(self, at)
                    break
                nxt = self.state.next_start(at)
                stop = min(end, U64 if nxt is None else nxt)
                if sem.unmap_one_leaf:  # exynos: an lv2 fault is one 4K entry, an lv1 fault
                    sect = self.geometry.levels[0]  # min(pgsize, SECT_SIZE)
                    has_table = self.tables is not None and self.tables.has(self.geometry.levels[-1], at)
                    stop = min(stop, at + (self.geometry.levels[-1] if has_table else sect))
                if stop <= at:  # at or past 2^64: no leaf can follow, the rest is counted
                    stop = end
                at += R.unmap_hole_counted(self, at, stop)
                if sem.unmap_one_leaf:
                    break
                continue
            leaf = self.state.leaf_at(at)
            if leaf.iova != at:  # the request starts inside a leaf
                got = R.unmap_partial_leaf(self, leaf, at, min(end, leaf.end))
                if not got:
                    break
                at += got
                continue
            if sem.unmap_one_leaf:  # exynos: one section, large page or small page per call
                if leaf.end > end:
                    at += R.unmap_partial_leaf(self, leaf, at, end)
                    break
                R.unmap_leaves(self, at, leaf.end)
                at = leaf.end
                break
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
        sem = self.semantics
        # the span of a last-level table: AMD's 512 PTEs, tracked as alloc_pte makes them;
        # omap's L2 table of 256 (1M), which exists exactly while it holds a small page
        omap = sem.map_over_live == "overwrite"
        span = _SECTION if omap else sem.hole_in_table << 9
        at, done = iova, 0
        while done < size:
            run = self.state.find(at)
            if run is None:
                base = at - at % span if span else None
                live = base is not None and (
                    any(r.pgsize < span for r in self.state.overlapping(base, base + span))
                    if omap else base in self.last_level_tables)
                if not live:
                    R.unmap_hole(self, at)
                    break
                nxt = self.state.next_start(at)
                stop = min(base + span, at + size - done, U64 if nxt is None else nxt)
                if sem.unmap_one_leaf:  # omap: one empty L2 entry per call (IOPTE_SIZE)
                    stop = min(stop, at + sem.hole_in_table)
                done += R.unmap_hole_in_table(self, at, stop)
                at = stop & MASK64  # the driver's unsigned long iova wraps
                if sem.unmap_one_leaf:
                    break
                continue
            leaf = self.state.leaf_at(at)
            if leaf.iova != at:  # the request starts inside a leaf
                done += R.unmap_partial_leaf(self, leaf, at, min(leaf.end, at + size - done))
                at = leaf.end & MASK64
                if sem.unmap_one_leaf:
                    break
                continue
            n = min((run.end - at) // run.pgsize, -(-(size - done) // run.pgsize))
            if sem.unmap_one_leaf:  # omap: iopgtable_clear_entry clears the one leaf at da
                n = 1
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
            at = stop & MASK64
            if sem.unmap_one_leaf:
                break
        return done

    def domain_free(self) -> int:
        """Free the domain: returns the page-table pages Linux must leave allocated, 0 (rule
        DOMAIN_FREE; the protocol's ``table_pages``).

        ``decided`` is ``["DOMAIN_FREE"]``, with DOMAIN_FREE_LEAK after it under a variant
        whose driver leaves pages behind (``Semantics.domain_free_leaks``: sun50i,
        tegra-smmu), so that a leak is reported under that Linux defect.  The domain's
        leaves are left as they are (a freed domain takes no more calls).
        """
        self.decided = ["DOMAIN_FREE"]
        L.domain_free_leak(self)
        return 0

    # -- state ----------------------------------------------------------------
    def copy(self) -> "ReferenceDomain":
        """An independent copy of this domain (its leaves, tables and fault injection)."""
        out = object.__new__(ReferenceDomain)
        out.__dict__.update(self.__dict__)
        out.state = self.state.copy()
        out.amd_tables = [SortedSet(t) for t in self.amd_tables]
        out.last_level_tables = out.amd_tables[0]
        out.tables = None if self.tables is None else self.tables.copy()
        out.tree = None if self.tree is None else self.tree.copy()
        out.decided = list(self.decided)
        return out

    def fingerprint(self) -> tuple:
        """Equal before and after a call exactly when the call changed nothing in the model
        (leaves, tables, fault injection).  For telling no-op calls apart (difftest.report)."""
        return (id(self.state), self.state.version, id(self.tables),
                self.tables.version if self.tables is not None else 0,
                self.last_level_version, self.alloc_fail_in,
                id(self.tree), self.tree.version if self.tree is not None else 0)

    def leaves(self, iova: int | None = None, end: int | None = None) -> list[LeafRun]:
        """The page-table leaves the model implies: ``(iova, paddr, pgsize, count, prot)``
        runs of equal-size pages, sorted by iova.  Under virtio-iommu, the device's
        mappings, one leaf of its own size each (what DMA sees).

        With ``iova`` and ``end`` (bytes, end exclusive): only the leaves that
        intersect [iova, end), whole (``clip_leaves``), in O(log n + k) for k
        runs in the window.
        """
        if iova is None:
            return self.state.runs()
        return clip_leaves(self.state.overlapping(iova, end), iova, end)

    def translations(self) -> list[Translation]:
        """The translation state: maximal linear ranges (iova, paddr, size, prot), by iova."""
        return translations_of(self.state.runs())

    def mapped_bytes(self) -> int:
        """Total bytes mapped."""
        return sum(r.size for r in self.state.runs())
