"""virtio-iommu's two states: the driver's interval tree and the device's mappings.

virtio-iommu keeps no page table.  ``viommu_map_pages`` adds one mapping per
call to an interval tree (``viommu_add_mapping``) and sends the device one MAP
request for it; ``viommu_unmap_pages`` deletes mappings from the tree
(``viommu_del_mappings``) and sends one UNMAP.  The tree decides every value
Linux returns and ``iova_to_phys``; the device's mappings decide what DMA
sees.  The two can disagree, and where they do Linux is wrong (rules
UNMAP_HOLE_DROPS, UNMAP_SUM_RANGE, MAP_STATUS_LOST, MAP_FAIL_SWEEP).

:class:`MappingTree` is the driver's tree: it accepts overlapping mappings
and orders them as the kernel's interval tree iterates them (by start; an
equal start after the older node).  :func:`device_map` and
:func:`device_unmap` are a device that follows the VIRTIO 1.2 specification
(5.13.6.5.2 and 5.13.6.6.2) on a :class:`spec.leafmap.LeafMap` holding one
leaf per mapping.  A request whose virt_end wrapped below its virt_start breaks the
driver requirements (5.13.6.5.1, 5.13.6.6.1) and gets S_RANGE ("Out-of-range
parameters"); the specification states no status for it.

Source: drivers/iommu/virtio-iommu.c ``viommu_add_mapping``,
``viommu_del_mappings``, ``viommu_iova_to_phys`` (read in Debian 6.1.192 and
6.12.118, identical there); include/linux/interval_tree_generic.h
(``INTERVAL_TREE_DEFINE``: ``_insert`` goes right on an equal start,
``_iter_first`` / ``_iter_next`` visit nodes in start order); OASIS VIRTIO
1.2, 5.13.6 "Device operations".
"""

from typing import NamedTuple

from sortedcontainers import SortedKeyList

from .leafmap import LeafMap

U64 = 1 << 64
MASK64 = U64 - 1

#: Device status codes (VIRTIO 1.2 5.13.6; include/uapi/linux/virtio_iommu.h).
S_OK, S_INVAL, S_RANGE = 0, 4, 5


class Mapping(NamedTuple):
    """One node of the driver's tree: ``size`` bytes from ``iova`` -> paddr, with the prot
    asked for; ``seq`` orders nodes of equal start as the tree does (older first)."""

    iova: int
    size: int
    paddr: int
    prot: int
    seq: int

    @property
    def end(self) -> int:
        return self.iova + self.size

    @property
    def last(self) -> int:
        """The node's ``iova.last``: ``iova + size - 1`` in u64, which wraps below ``iova``
        for a mapping that runs past 2^64 (RANGE_END_WRAPS)."""
        return (self.iova + self.size - 1) & MASK64


class MappingTree:
    """The driver's interval tree of mappings (``viommu_domain.mappings``): may overlap.

    Queries take the kernel's inclusive, unsigned bounds: a node matches [first, last]
    when ``node.iova <= last and node.last >= first``, which is what the interval tree's
    search tests (Cond1 / Cond2), so a node or a query whose end wrapped past 2^64 behaves
    as it does in Linux.
    """

    def __init__(self) -> None:
        self._nodes = SortedKeyList(key=lambda m: (m.iova, m.seq))
        self._seq = 0
        #: The largest size held, and how many nodes wrapped past 2^64: a query need not
        #: look at nodes that start more than that before it, unless one wrapped.
        self._longest = 0
        self._wrapped = 0
        #: Bumped by every change, as LeafMap.version.
        self.version = 0

    def __len__(self) -> int:
        return len(self._nodes)

    def mappings(self) -> list[Mapping]:
        """Every node, in the tree's order (by iova, then age)."""
        return list(self._nodes)

    def overlapping(self, first: int, last: int) -> list[Mapping]:
        """``interval_tree_iter_first`` / ``_iter_next`` over [first, last] (inclusive): the
        matching nodes in tree order."""
        low = None if self._wrapped else (first - self._longest + 1, -1)
        return [m for m in self._nodes.irange_key(low, (last, U64)) if m.last >= first]

    def add(self, iova: int, size: int, paddr: int, prot: int) -> Mapping:
        """``viommu_add_mapping``: insert the node with no overlap check."""
        node = Mapping(iova, size, paddr, prot, self._seq)
        self._seq += 1
        self._nodes.add(node)
        self._longest = max(self._longest, size)
        self._wrapped += node.last < iova
        self.version += 1
        return node

    def delete(self, first: int, last: int) -> list[Mapping]:
        """``viommu_del_mappings(vdomain, first, last)``: remove, in tree order, every
        matching node whole, stopping at the first one that starts before ``first``
        ("Trying to split a mapping?").  Returns the nodes removed (each counts whole)."""
        removed = []
        for node in self.overlapping(first, last):
            if node.iova < first:
                break
            self._drop(node)
            removed.append(node)
        if removed:
            self.version += 1
        return removed

    def remove(self, node: Mapping) -> None:
        self._drop(node)
        self.version += 1

    def _drop(self, node: Mapping) -> None:
        self._nodes.remove(node)
        self._wrapped -= node.last < node.iova

    def lookup(self, iova: int) -> Mapping | None:
        """``viommu_iova_to_phys``'s ``interval_tree_iter_first(mappings, iova, iova)``: the
        first node in tree order that holds ``iova``."""
        found = self.overlapping(iova, iova)
        return found[0] if found else None

    def copy(self) -> "MappingTree":
        out = MappingTree()
        out._nodes = self._nodes.copy()
        out._seq, out.version = self._seq, self.version
        out._longest, out._wrapped = self._longest, self._wrapped
        return out


def device_map(device: LeafMap, iova: int, paddr: int, size: int, prot: int) -> int:
    """A MAP request for [iova, iova + size) -> paddr, to a device that follows the VIRTIO
    1.2 specification; returns its status.

    S_INVAL when a mapping already exists in the range (5.13.6.5.2: "If a mapping already
    exists in the requested range, the device SHOULD reject the request and set status to
    VIRTIO_IOMMU_S_INVAL"), the device unchanged; else the mapping is added whole (one
    leaf of ``size`` bytes) and S_OK.  Linux's core aligns every request to the granule
    and the profile's input range is the whole 64-bit space, so S_RANGE never applies.
    """
    if iova + size > U64:  # virt_end wrapped below virt_start (5.13.6.5.1's driver MUST)
        return S_RANGE
    if device.overlapping(iova, iova + size):
        return S_INVAL
    device.insert(iova, paddr, size, 1, prot)
    return S_OK


def device_unmap(device: LeafMap, iova: int, size: int) -> int:
    """An UNMAP request for [iova, iova + size), to a device that follows the VIRTIO 1.2
    specification; returns its status.

    S_RANGE, removing nothing, when a mapping the range touches is not inside it
    (5.13.6.6.2: "If a mapping affected by the range is not covered in its entirety by the
    range ... the device SHOULD set the request status to VIRTIO_IOMMU_S_RANGE, and SHOULD
    NOT remove any mapping"); else every mapping inside is removed and S_OK, holes or not
    ("If part of the range or the full range is not covered by an existing mapping, then
    the device SHOULD remove all mappings affected by the range and set the request status
    to VIRTIO_IOMMU_S_OK").
    """
    end = iova + size
    if end > U64:  # virt_end wrapped below virt_start
        return S_RANGE
    first, last = device.leaf_at(iova), device.leaf_at(end - 1)
    if (first is not None and first.iova < iova) or (last is not None and last.end > end):
        return S_RANGE
    device.remove(iova, end)
    return S_OK
