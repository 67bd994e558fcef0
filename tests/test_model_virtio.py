"""Unit tests of the model's virtio-iommu variants: the driver's tree and the device.

Worked out by hand from drivers/iommu/virtio-iommu.c as Debian's 6.1.192
(``virtio-iommu-v6.1``: the MAP's status is read) and 6.12.118 (``virtio-iommu``:
it is not) have it -- ``viommu_map_pages``, ``viommu_unmap_pages``,
``viommu_del_mappings``, ``viommu_iova_to_phys`` -- the core's loops
(iommu.c ``__iommu_map`` / ``__iommu_unmap`` / ``iommu_pgsize``) and the VIRTIO 1.2
device requirements (5.13.6.5.2 MAP, 5.13.6.6.2 UNMAP).  The expected values
come from that reading, not from the model.  "tree" is what Linux answers
from (``iova_to_phys``); the leaves are the device's mappings (what DMA sees).
"""

import pytest

from spec import IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_PRIV, IOMMU_READ, \
    ReferenceDomain, SpecUsageError
from spec.kernels import for_kernel
from spec.leafmap import LeafMap
from spec.virtio import S_INVAL, S_OK, S_RANGE, MappingTree, device_map, device_unmap

RW, K4, K8, M2, G1 = 3, 0x1000, 0x2000, 1 << 21, 1 << 30
P, Q = 0x8000_0000, 0x9000_0000
OLD, NEW = "virtio-iommu-v6.1", "virtio-iommu"
BOTH = pytest.mark.parametrize("sem", [OLD, NEW])


def virtio(sem, bitmap=K4 | M2 | G1):
    return ReferenceDomain("virtio", sem, pgsize_bitmap=bitmap)


def leaves(d):
    return [tuple(r) for r in d.leaves()]


def tree(d):
    return [(m.iova, m.size, m.paddr) for m in d.tree.mappings()]


@BOTH
def test_one_call_is_one_mapping_and_an_exact_unmap_removes_it(sem):
    """T1: map(1M, P, 12K) is one map_pages call (4K x 3), one mapping (MAP_CALL_MAPPING)."""
    d = virtio(sem)
    assert d.map(0x100000, P, 3 * K4, RW) == 0 and "MAP_CALL_MAPPING" in d.decided
    assert tree(d) == [(0x100000, 3 * K4, P)] and leaves(d) == [(0x100000, P, 3 * K4, 1, RW)]
    assert d.iova_to_phys(0x101234) == P + 0x1234
    assert d.unmap(0x100000, 3 * K4) == 3 * K4 and "UNMAP_WHOLE_MAPPINGS" in d.decided
    assert tree(d) == [] and leaves(d) == []


@BOTH
def test_an_unmap_that_starts_inside_a_mapping_removes_nothing(sem):
    """T2: "Trying to split a mapping?" -- viommu_del_mappings stops, the call returns 0."""
    d = virtio(sem)
    d.map(0, P, K8, RW)
    assert d.unmap(K4, K4) == 0 and d.decided == ["UNMAP_WHOLE_MAPPINGS"]
    assert d.iova_to_phys(K4) == P + K4 and leaves(d) == [(0, P, K8, 1, RW)]


@BOTH
def test_an_unmap_from_a_mappings_start_removes_it_whole_and_counts_it_whole(sem):
    """T3, T11: unmap(0, 4K) of an 8K mapping returns 8K; of a 4M one (2M x 2) unmap(0, 2M)
    returns 4M: iommu_unmap reports more than it was asked."""
    d = virtio(sem)
    d.map(0, P, K8, RW)
    assert d.unmap(0, K4) == K8 and d.iova_to_phys(K4) == 0 and leaves(d) == []
    d.map(0, P, 2 * M2, RW)
    assert tree(d) == [(0, 2 * M2, P)]
    assert d.unmap(0, M2) == 2 * M2 and d.iova_to_phys(3 << 20) == 0


@BOTH
def test_one_unmap_call_removes_two_mappings_it_covers(sem):
    """T4 (VIRTIO 1.2 5.13.6.6 example 3): map(0, 4K), map(4K, 4K); unmap(0, 8K) -> 8K."""
    d = virtio(sem)
    d.map(0, P, K4, RW)
    d.map(K4, Q, K4, RW)
    assert d.unmap(0, K8) == K8 and tree(d) == [] and leaves(d) == []


@BOTH
def test_a_map_the_core_splits_is_several_mappings(sem):
    """T5: map(0, P, 2M + 4K) is a 2M call and a 4K call; unmap(0, 4K) removes the 2M one."""
    d = virtio(sem)
    d.map(0, P, M2 + K4, RW)
    assert tree(d) == [(0, M2, P), (M2, K4, P + M2)]
    assert d.unmap(0, K4) == M2 and d.iova_to_phys(M2) == P + M2
    assert d.unmap(M2, K4) == K4


@BOTH
def test_the_devices_mask_decides_how_many_mappings_a_map_makes(sem):
    """T5: with QEMU's mask (every power of two from 4K) map(0, P, 12K) is 8K + 4K, so
    unmap(0, 4K) returns 8K and 8K still translates; under 4K|2M|1G it is one 12K mapping."""
    d = virtio(sem, bitmap=None)
    d.map(0, P, 3 * K4, RW)
    assert tree(d) == [(0, K8, P), (K8, K4, P + K8)]
    assert d.unmap(0, K4) == K8 and d.iova_to_phys(K8) == P + K8
    d = virtio(sem)
    d.map(0, P, 3 * K4, RW)
    assert d.unmap(0, K4) == 3 * K4


@BOTH
def test_a_hole_in_an_unmap_call_drops_mappings_from_the_tree_only(sem):
    """T6, T7: the mappings starting in the call's range are deleted, the call returns 0 and
    sends no UNMAP (UNMAP_HOLE_DROPS): iova_to_phys says unmapped, the device keeps them."""
    d = virtio(sem)
    d.map(K4, P, K4, RW)
    assert d.unmap(0, K8) == 0 and "UNMAP_HOLE_DROPS" in d.decided
    assert d.iova_to_phys(K4) == 0 and leaves(d) == [(K4, P, K4, 1, RW)]
    d = virtio(sem)  # T7 (a): hole at the end
    d.map(0, P, K4, RW)
    assert d.unmap(0, K8) == 0 and tree(d) == [] and leaves(d) == [(0, P, K4, 1, RW)]
    d = virtio(sem)  # T7 (b): hole in the middle, one call of 4K x 3
    d.map(0, P, K4, RW)
    d.map(K8, Q, K4, RW)
    assert d.unmap(0, 3 * K4) == 0 and tree(d) == []
    assert leaves(d) == [(0, P, K4, 1, RW), (K8, Q, K4, 1, RW)]
    d = virtio(sem)  # T7 (c)
    d.map(0, P, K4, RW)
    d.map(K8, Q, K4, RW)
    assert d.unmap(0, K4) == K4 and d.unmap(K4, K8) == 0
    assert tree(d) == [] and leaves(d) == [(K8, Q, K4, 1, RW)]


@BOTH
def test_nothing_in_the_range_unmaps_nothing(sem):
    d = virtio(sem)
    d.map(M2, P, K4, RW)
    assert d.unmap(0, K4) == 0 and "UNMAP_HOLE" in d.decided and tree(d) == [(M2, K4, P)]


@BOTH
def test_the_unmap_sent_covers_the_sum_of_sizes_not_the_mappings_removed(sem):
    """T8: A = [0, 4K), B = [8K, 24K); unmap(0, 12K) is one call that removes both and
    returns 20K; its UNMAP [0, 20K - 1] ends inside B, so the device refuses it (S_RANGE)
    and keeps both (UNMAP_SUM_RANGE)."""
    d = virtio(sem)
    d.map(0, P, K4, RW)
    d.map(K8, Q + K8, 4 * K4, RW)
    assert tree(d) == [(0, K4, P), (K8, 4 * K4, Q + K8)]
    assert d.unmap(0, 3 * K4) == 5 * K4 and "UNMAP_SUM_RANGE" in d.decided
    assert tree(d) == [] and d.iova_to_phys(4 * K4) == 0
    assert leaves(d) == [(0, P, K4, 1, RW), (K8, Q + K8, 4 * K4, 1, RW)]


def test_6_1_a_refused_map_over_a_later_mapping_deletes_it_from_the_tree():
    """T9, 6.1: the device refuses map(0, Q, 8K) over A = [4K, 8K) (S_INVAL -> -EINVAL); the
    cleanup viommu_del_mappings(0, 8K - 1) deletes the new mapping and A (MAP_FAIL_SWEEP).
    A stays in the device, and no unmap can reach it."""
    d = virtio(OLD)
    d.map(K4, P, K4, RW)
    assert d.map(0, Q, K8, RW) == -22
    assert "MAP_EXISTS" in d.decided and "MAP_FAIL_SWEEP" in d.decided
    assert tree(d) == [] and leaves(d) == [(K4, P, K4, 1, RW)]
    assert d.iova_to_phys(K4) == 0 and d.unmap(K4, K4) == 0


def test_6_12_a_refused_map_is_reported_mapped_and_stacks_in_the_tree():
    """T9, 6.12: the MAP is queued and its S_INVAL never read: 0 (MAP_STATUS_LOST).  The
    tree holds both, iova_to_phys answers from the lower start; unmap(0, 8K) removes both
    (12K) with UNMAP [0, 12K - 1], which covers the device's A."""
    d = virtio(NEW)
    d.map(K4, P, K4, RW)
    assert d.map(0, Q, K8, RW) == 0 and "MAP_STATUS_LOST" in d.decided
    assert tree(d) == [(0, K8, Q), (K4, K4, P)] and leaves(d) == [(K4, P, K4, 1, RW)]
    assert d.iova_to_phys(K4) == Q + K4
    assert d.unmap(0, K8) == 3 * K4 and "UNMAP_SUM_RANGE" in d.decided
    assert tree(d) == [] and leaves(d) == []


def test_a_map_at_the_same_start():
    """T9: map(0, P, 4K) then map(0, Q, 4K).  6.1: -EINVAL and both deleted from the tree.
    6.12: 0; an equal start goes after the older node, so iova_to_phys(0) is still P, and
    unmap(0, 4K) removes both (8K)."""
    d = virtio(OLD)
    d.map(0, P, K4, RW)
    assert d.map(0, Q, K4, RW) == -22 and tree(d) == [] and leaves(d) == [(0, P, K4, 1, RW)]
    d = virtio(NEW)
    d.map(0, P, K4, RW)
    assert d.map(0, Q, K4, RW) == 0 and d.iova_to_phys(0) == P
    assert d.unmap(0, K4) == K8 and leaves(d) == []


@BOTH
def test_a_refused_map_over_an_earlier_mapping_leaves_a_ghost(sem):
    """T10: A = [0, 8K); map(4K, Q + 4K, 8K).  6.1: -EINVAL, and the cleanup meets A first
    and stops, so the refused N stays in the tree (MAP_FAIL_SWEEP); 6.12: 0.  Either way the
    tree translates 8K to Q + 8K where the device has nothing, and unmap(0, 8K) removes A
    and N (16K)."""
    d = virtio(sem)
    d.map(0, P, K8, RW)
    assert d.map(K4, Q + K4, K8, RW) == (-22 if sem == OLD else 0)
    assert ("MAP_FAIL_SWEEP" if sem == OLD else "MAP_STATUS_LOST") in d.decided
    assert tree(d) == [(0, K8, P), (K4, K8, Q + K4)] and leaves(d) == [(0, P, K8, 1, RW)]
    assert d.iova_to_phys(K4) == P + K4 and d.iova_to_phys(K8) == Q + K8
    assert d.unmap(K8, K4) == 0
    assert d.unmap(0, K8) == 4 * K4 and tree(d) == [] and leaves(d) == []


def test_6_1_a_refused_second_batch_is_rolled_back_by_the_core():
    """6.1: map(0, P, 2M + 4K) over B = [2M, 2M + 4K): the 2M call maps, the 4K call is
    refused and its cleanup deletes B from the tree too (MAP_FAIL_SWEEP); the core unmaps
    the 2M (MAP_ROLLBACK).  The device keeps B."""
    d = virtio(OLD)
    d.map(M2, Q, K4, RW)
    assert d.map(0, P, M2 + K4, RW) == -22 and "MAP_ROLLBACK" in d.decided
    assert tree(d) == [] and leaves(d) == [(M2, Q, K4, 1, RW)]


@BOTH
def test_prot_is_not_checked_and_only_read_write_mmio_reach_the_device(sem):
    """T12: prot 0 maps a mapping with no access; CACHE, NOEXEC and PRIV are dropped from
    the MAP's flags; QEMU's device offers VIRTIO_IOMMU_F_MMIO, so MMIO is kept."""
    d = virtio(sem)
    assert d.map(0, P, K4, 0) == 0 and d.iova_to_phys(0) == P
    assert d.map(K4, P, K4, IOMMU_READ | IOMMU_CACHE | IOMMU_NOEXEC | IOMMU_PRIV) == 0
    assert d.map(K8, P, K4, IOMMU_READ | IOMMU_MMIO) == 0
    assert leaves(d) == [(0, P, K4, 1, 0), (K4, P, K4, 1, IOMMU_READ),
                         (K8, P, K4, 1, IOMMU_READ | IOMMU_MMIO)]


@BOTH
def test_the_core_checks_alignment_and_nothing_checks_the_range(sem):
    """T13: map of 2K -> -EINVAL (MAP_ALIGN); size 0 -> 0; unmap of 2K or 0 -> 0; an IOVA
    at 2^48 or near 2^64 maps (the profile's input range is the whole 64-bit space)."""
    d = virtio(sem)
    assert d.map(0, P, 0x800, RW) == -22 and "MAP_ALIGN" in d.decided
    assert d.map(0, P, 0, RW) == 0 and tree(d) == []
    assert d.unmap(0, 0x800) == 0 and d.unmap(0, 0) == 0
    assert d.map(1 << 48, P, K4, RW) == 0
    assert d.map((1 << 64) - K4, P, K4, RW) == 0 and d.iova_to_phys((1 << 64) - 1) == P + K4 - 1
    assert d.unmap((1 << 64) - K4, K4) == K4


@pytest.mark.parametrize("sem, ret", [(OLD, -34), (NEW, 0)])
def test_a_map_past_2_64_wraps_its_end_and_the_tree_never_finds_it(sem, ret):
    """map(2^64 - 4K, P, 8K) is one call (4K x 2) whose end = iova + size - 1 wraps to
    4K - 1 (RANGE_END_WRAPS).  The device refuses the MAP (virt_end below virt_start):
    6.1 reads S_RANGE (-ERANGE) and its cleanup's wrapped query deletes nothing; 6.12
    returns 0.  Either way iova_to_phys finds nothing and the unmap's wrapped query
    removes nothing."""
    top = (1 << 64) - K4
    d = virtio(sem)
    assert d.map(top, P, K8, RW) == ret and "RANGE_END_WRAPS" in d.decided
    assert tree(d) == [(top, K8, P)] and leaves(d) == []
    assert d.iova_to_phys(top) == 0 and d.iova_to_phys(0) == 0
    assert d.unmap(top, K8) == 0 and tree(d) == [(top, K8, P)]


def test_the_device_follows_virtio_1_2():
    """spec.virtio's device: an overlapping MAP is S_INVAL (5.13.6.5.2); an UNMAP that would
    split a mapping is S_RANGE and removes nothing; holes do not fail an UNMAP (5.13.6.6.2,
    examples 1, 4, 6 and 7)."""
    dev = LeafMap()
    assert device_unmap(dev, 0, 5) == S_OK  # example 1
    assert device_map(dev, 0, P, 10, RW) == S_OK and device_map(dev, 5, Q, 10, RW) == S_INVAL
    assert device_unmap(dev, 0, 5) == S_RANGE and len(dev) == 1  # example 4
    assert device_unmap(dev, 0, 20) == S_OK and len(dev) == 0  # example 6
    assert device_map(dev, 0, P, 5, RW) == S_OK and device_map(dev, 10, Q, 5, RW) == S_OK
    assert device_unmap(dev, 0, 15) == S_OK and len(dev) == 0  # example 7
    # two adjacent mappings whose paddrs continue each other are still two mappings
    device_map(dev, 0, P, K4, RW)
    device_map(dev, K4, P + K4, K4, RW)
    assert device_unmap(dev, 0, K4) == S_OK and [tuple(r) for r in dev.runs()] == [
        (K4, P + K4, K4, 1, RW)]


def test_the_tree_iterates_by_start_then_age_and_stops_at_an_earlier_start():
    """interval_tree_generic.h: an equal start is inserted to the right (after the older
    node); viommu_del_mappings stops at a node that starts before its range."""
    t = MappingTree()
    a, b, c = t.add(K4, K4, P, RW), t.add(0, 3 * K4, Q, RW), t.add(K4, K8, P, RW)
    assert t.mappings() == [b, a, c] and t.lookup(K4) == b
    assert t.delete(K4, K8 - 1) == [] and len(t) == 3
    assert t.delete(0, K8 - 1) == [b, a, c] and len(t) == 0


def test_a_query_matches_by_the_trees_unsigned_bounds():
    """A node whose last address wrapped past 2^64 holds neither its first page nor page 0."""
    t = MappingTree()
    top = (1 << 64) - K4
    node = t.add(top, K8, P, RW)
    assert node.last == K4 - 1
    assert t.lookup(top) is None and t.lookup(0) is None and t.delete(top, K4 - 1) == []
    assert t.overlapping(0, (1 << 64) - 1) == [node]  # a query over both of its ends does
    assert t.overlapping(K4, top - 1) == []


def test_kernels_and_the_profile_name_the_virtio_variants():
    assert for_kernel("6.1", "virtio-iommu").variant == OLD
    assert for_kernel("6.7", "virtio-iommu").variant == OLD
    assert for_kernel("6.8", "virtio-iommu").variant == NEW
    assert ReferenceDomain.for_kernel("6.12", "virtio-iommu").semantics.name == NEW
    with pytest.raises(SpecUsageError, match="not covered"):
        for_kernel("6.0", "virtio-iommu")


def test_the_sum_of_stacked_mappings_wraps_as_a_size_t():
    """6.12: 4K and two 2^63 mappings stacked at 0 (MAP_STATUS_LOST); unmap(0, 4K) removes all
    three and viommu_del_mappings' size_t sum, 4K + 2^64, wraps to 4K, which is what the call
    returns."""
    d = virtio(NEW, bitmap=None)
    d.map(0, 0, K4, RW)
    d.map(0, 0, 1 << 63, RW)
    d.map(0, 0, 1 << 63, RW)
    assert len(d.tree) == 3 and d.unmap(0, K4) == K4 and tree(d) == [] and leaves(d) == []


def test_a_sum_that_wraps_to_0_drops_the_mappings_like_a_hole():
    """Found by the kernel harness: 4K at 0 and a map of 2^64 - 4K from 4K (46 mappings, the
    last [2^57, 2^64)); unmap_pages(0, 2^56, 3) removes all 47, whose size_t sum is 2^64,
    i.e. 0 < 3 * 2^56: the call returns 0 and sends no UNMAP (UNMAP_HOLE_DROPS)."""
    d = virtio(NEW, bitmap=None)
    d.map(0, 0, K4, IOMMU_READ)
    d.map(K4, (1 << 57) + K4, (1 << 64) - K4, IOMMU_READ)
    assert len(d.tree) == 47
    assert d.unmap_pages(0, 1 << 56, 3) == 0 and "UNMAP_HOLE_DROPS" in d.decided
    assert tree(d) == [] and len(d.leaves()) == 47 and d.iova_to_phys(0) == 0


def test_iova_to_phys_wraps_as_a_phys_addr_t():
    """Found by the kernel harness: map(0, 2^64 - 4K, 8K) is one mapping whose physical range
    runs past 2^64; viommu_iova_to_phys(4K) = paddr + 4K wraps to 0."""
    d = virtio(NEW)
    assert d.map(0, (1 << 64) - K4, K8, IOMMU_READ) == 0
    assert d.iova_to_phys(K4) == 0 and d.iova_to_phys(0) == (1 << 64) - K4
