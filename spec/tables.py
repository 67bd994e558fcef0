"""Page-table geometry and the tables a domain holds, for variants that keep empty tables.

io-pgtable-arm, io-pgtable-arm-v7s and io-pgtable-dart never free a table
when its last leaf goes: a table is freed only when the entry that points to
it is cleared by an unmap of that entry's whole size, when a block replaces
it, or when the domain is freed.  What an unmap or a map then does depends on
which tables exist, not only on the leaves (rule TABLE_LIFETIME), so the
model tracks them for those variants.

A *geometry* is what a Linux io-pgtable format descriptor states about its
levels: the size one entry maps at each level, from the root down.  A leaf of
``pgsize`` bytes lives at the level whose entry size is the largest one not
above it (its *slot*), and occupies ``pgsize // slot`` consecutive entries
there (v7s keeps 4K and 64K pages in one level-2 table, 1M and 16M sections
in the level-1 table).  Each table below the root covers one entry of the
level above; the root always exists.

Addresses and sizes are ints, in bytes.
"""

from dataclasses import dataclass

from sortedcontainers import SortedSet

SZ_4K, SZ_1M = 1 << 12, 1 << 20
#: io-pgtable-arm's descriptor size, in bytes (arm_lpae_iopte, dart_iopte).
LPAE_PTE_BYTES = 8


@dataclass(frozen=True)
class Geometry:
    """The levels of one page-table format, for one domain.

    ``levels`` are entry sizes in bytes, root level first (strictly
    decreasing); ``top`` is the IOVA span the root covers (2^ias, or more for
    a format that does not check the IOVA, such as DART).
    """

    levels: tuple[int, ...]
    top: int

    def slot(self, pgsize: int) -> int:
        """The entry size of the level that holds a leaf of ``pgsize`` bytes."""
        for entry in self.levels:
            if entry <= pgsize:
                return entry
        raise ValueError(f"page size {pgsize:#x} is below the smallest level {self.levels[-1]:#x}")

    def span(self, entry: int) -> int:
        """The IOVA span of a table whose entries are ``entry`` bytes (the parent entry's size)."""
        i = self.levels.index(entry)
        return self.top if i == 0 else self.levels[i - 1]


def lpae_geometry(granule: int, ias: int) -> Geometry:
    """io-pgtable-arm: ``granule / 8`` entries per table, levels from ias.

    Source: drivers/iommu/io-pgtable-arm.c ``arm_lpae_alloc_pgtable``
    (bits_per_level = granule_shift - 3; levels = DIV_ROUND_UP(ias -
    granule_shift, bits_per_level); the pgd resolves what is left), v3.18+.
    """
    shift = granule.bit_length() - 1
    bits = shift - (LPAE_PTE_BYTES.bit_length() - 1)
    count = -(-(ias - shift) // bits)
    levels = tuple(granule << (bits * k) for k in reversed(range(count)))
    return Geometry(levels, 1 << ias)


#: arm_64_lpae_alloc_pgtable_s2: a level-0 pgd of at most this many entries is folded
#: into a concatenated level-1 pgd (ARM_LPAE_S2_MAX_CONCAT_PAGES).
LPAE_S2_MAX_CONCAT = 16


def lpae_s2_geometry(granule: int, ias: int) -> Geometry:
    """io-pgtable-arm stage 2: stage 1's levels, with a small level-0 pgd concatenated away.

    Source: drivers/iommu/io-pgtable-arm.c ``arm_64_lpae_alloc_pgtable_s2``
    ("Concatenate PGDs at level 1 if possible in order to reduce the depth of
    the stage-2 walk"): when the walk would start at level 0 and the pgd has
    at most ARM_LPAE_S2_MAX_CONCAT_PAGES (16) entries -- ``pgd_pages`` counts
    entries, not pages -- the pgd absorbs level 1 (``pgd_bits +=
    bits_per_level; start_level++``).  With ias 48 that is the 16K granule
    only (2 entries): the level-1 tables of stage 1 are then part of the
    root, so a map allocates one table fewer.  v3.18+ (v5.4 to v6.12 checked
    in 6.1.192 and 6.12.118).
    """
    g = lpae_geometry(granule, ias)
    if len(g.levels) == 4 and (1 << ias) // g.levels[0] <= LPAE_S2_MAX_CONCAT:
        return Geometry(g.levels[1:], g.top)
    return g


def v7s_geometry(ias: int) -> Geometry:
    """io-pgtable-arm-v7s: a level-1 table of 1M entries, level-2 tables of 256 4K entries.

    Source: drivers/iommu/io-pgtable-arm-v7s.c ``ARM_V7S_LVL_SHIFT`` /
    ``_ARM_V7S_LVL_BITS`` (v4.6+).
    """
    return Geometry((SZ_1M, SZ_4K), 1 << ias)


def dart_geometry(granule: int) -> Geometry:
    """io-pgtable-dart: two levels of ``granule / 8`` entries below the TTBR table.

    Source: drivers/iommu/io-pgtable-dart.c ``dart_alloc_pgtable``,
    ``dart_get_l1_index`` / ``dart_get_l2_index`` (v5.15+).  The level-1
    tables are allocated with the domain; only level-2 tables come and go.
    The IOVA is never checked against ias, so the reach is the tables' own:
    ``granule << 2*bits`` for one TTBR.
    """
    shift = granule.bit_length() - 1
    bits = shift - (LPAE_PTE_BYTES.bit_length() - 1)
    return Geometry((granule << bits, granule), granule << (2 * bits))


def vtd_geometry(ias: int) -> Geometry:
    """VT-d's own second-level table: 512 8-byte entries per 4K table, whatever the domain's
    page sizes, as many levels as the address width needs (4 for 48 bits).

    Source: drivers/iommu/intel/iommu.c ``pfn_level_offset`` / ``agaw_to_level`` (LEVEL_STRIDE
    9, VTD_PAGE_SHIFT 12), before generic_pt (v6.1 to v6.18 read).
    """
    return lpae_geometry(SZ_4K, ias)


def geometry_for(fmt: str, min_pagesz: int, ias: int) -> Geometry:
    """The geometry of format ``fmt`` ("lpae", "lpae-s2", "v7s", "dart" or "vtd") for a domain.

    ``min_pagesz`` is the granule (the smallest page size), ``ias`` in bits.
    Raises ValueError for an unknown format.
    """
    if fmt == "lpae":
        return lpae_geometry(min_pagesz, ias)
    if fmt == "lpae-s2":
        return lpae_s2_geometry(min_pagesz, ias)
    if fmt == "v7s":
        return v7s_geometry(ias)
    if fmt == "dart":
        return dart_geometry(min_pagesz)
    if fmt == "vtd":
        return vtd_geometry(ias)
    raise ValueError(f"unknown table format {fmt!r} (known: lpae, lpae-s2, v7s, dart, vtd)")


class TableSet:
    """The tables below the root that exist, by level: ``entry size -> SortedSet of base IOVAs``.

    A table with ``entry``-byte entries at ``base`` covers
    ``[base, base + geometry.span(entry))``.  Invariant: a table's parent
    table exists.
    """

    def __init__(self, geometry: Geometry) -> None:
        self.geometry = geometry
        self.by_entry: dict[int, SortedSet] = {e: SortedSet() for e in geometry.levels[1:]}
        self.version = 0  # bumped by every change

    def copy(self) -> "TableSet":
        out = TableSet(self.geometry)
        out.by_entry = {e: SortedSet(s) for e, s in self.by_entry.items()}
        out.version = self.version
        return out

    def base(self, entry: int, iova: int) -> int:
        span = self.geometry.span(entry)
        return iova - iova % span

    def has(self, entry: int, iova: int) -> bool:
        """True when the table holding ``entry``-byte entries at ``iova`` exists (the root always does)."""
        tables = self.by_entry.get(entry)
        return tables is None or self.base(entry, iova) in tables

    def missing_on_path(self, iova: int, entry: int) -> list[tuple[int, int]]:
        """``(entry size, base)`` of the tables a walk from the root down to ``entry``'s level at iova must allocate, top first."""
        out = []
        for e in self.geometry.levels[1:]:
            if e < entry:
                break
            if not self.has(e, iova):
                out.append((e, self.base(e, iova)))
        return out

    def add(self, entry: int, base: int) -> None:
        self.by_entry[entry].add(base)
        self.version += 1

    def child(self, entry: int, iova: int) -> int | None:
        """The entry size of the table an ``entry``-byte entry at iova points to, if that table exists."""
        levels = self.geometry.levels
        i = levels.index(entry)
        if i + 1 < len(levels) and self.has(levels[i + 1], iova):
            return levels[i + 1]
        return None

    def free_under(self, start: int, end: int, below: int) -> int:
        """Free every table of entries smaller than ``below`` inside [start, end); returns how many.

        [start, end) is a run of ``below``-byte entries being cleared or
        replaced: the tables they point to go, with everything under them.
        """
        freed = 0
        for entry, tables in self.by_entry.items():
            if entry >= below:
                continue
            for base in list(tables.irange(start, end - 1)):
                tables.discard(base)
                freed += 1
        self.version += freed
        return freed

    def listing(self, start: int | None = None, end: int | None = None) -> list[tuple[int, int]]:
        """Every table below the root as ``(base iova, span)``, sorted; with ``start`` and
        ``end``, only those whose span intersects [start, end) (O(levels x log n + k))."""
        if start is None:
            return sorted((base, self.geometry.span(e)) for e, bases in self.by_entry.items()
                          for base in bases)
        out = []
        for e, bases in self.by_entry.items():
            span = self.geometry.span(e)
            out.extend((base, span) for base in bases.irange(start - start % span, end - 1))
        return sorted(out)

    def __len__(self) -> int:
        return sum(map(len, self.by_entry.values()))
