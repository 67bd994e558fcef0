"""linuxpt: the virtio format (drivers/iommu/virtio-iommu.c's domain ops, extracted from a
real tree at build time) over a VIRTIO 1.2 device (linuxpt/shim/glue_virtio.c).

Needs a kernel tree with drivers/iommu/virtio-iommu.c, include/uapi/linux/virtio_iommu.h
and the interval tree (include/linux/interval_tree*.h, rbtree*.h, lib/rbtree.c,
lib/interval_tree.c): $IOMMU_SPEC_KERNEL_6_1 / $IOMMU_SPEC_KERNEL_6_12, or one fetched
with ``iommu-spec kernel fetch``.  Without any, these tests are skipped.

The expected replies are those of tests/test_model_virtio.py (read off viommu_map_pages,
viommu_unmap_pages, viommu_del_mappings, viommu_iova_to_phys in 6.1.192 / 6.12.118 and
VIRTIO 1.2 5.13.6.5.2 / 5.13.6.6.2), driven here as Linux's core drives the driver: one
map_pages call per core batch (then iotlb_sync_map where the driver has one, 6.12), and
unmap_pages then iotlb_sync.  The leaves are the DEVICE's mappings, one per accepted MAP;
iova_to_phys and every return value come from the driver's tree.
"""

import pytest

from difftest.external import ExternalProcess
from spec import ReferenceDomain
from tests.conftest import driver_harness

K4, K8, M2, G1 = 0x1000, 0x2000, 1 << 21, 1 << 30
P, Q = 0x8000_0000, 0x9000_0000
READ, WRITE, CACHE, NOEXEC, MMIO, PRIV = 1, 2, 4, 8, 0x10, 0x20
RW = READ | WRITE
EINVAL = 22
BITMAP = K4 | M2 | G1
DRIVER = "drivers/iommu/virtio-iommu.c"
SEM = {"6.1": "virtio-iommu-v6.1", "6.12": "virtio-iommu"}


class Virtio:
    """The harness with one attached virtio domain, called as the core calls the driver."""

    def __init__(self, version, proc):
        self.version, self.proc = version, proc
        self.sync_map = "iotlb_sync_map" in proc.hello.ops

    def map_pages(self, iova, paddr, pgsize, pgcount, prot=RW):
        reply = self.proc.request("map_pages", iova=iova, paddr=paddr, pgsize=pgsize,
                                  pgcount=pgcount, prot=prot)
        tlb = list(reply.get("tlb", []))
        if self.sync_map and reply["ret"] == 0:  # __iommu_map's caller: ops->iotlb_sync_map
            tlb += self.proc.request("iotlb_sync_map", iova=iova, size=pgsize * pgcount).get("tlb", [])
        return reply["ret"], reply["mapped"], tlb

    def map(self, iova, paddr, size, prot=RW):
        """A map the core makes in one batch of 4K pages (size below 2M, no 2M crossing)."""
        return self.map_pages(iova, paddr, K4, size // K4, prot)

    def unmap(self, iova, size, pgsize=K4):
        reply = self.proc.request("unmap_pages", iova=iova, pgsize=pgsize, pgcount=size // pgsize)
        tlb = list(reply.get("tlb", [])) + self.proc.request("iotlb_sync").get("tlb", [])
        return reply["ret"], tlb

    def phys(self, iova):
        return self.proc.request("iova_to_phys", iova=iova)["ret"]

    def leaves(self):
        return [tuple(leaf) for leaf in self.proc.request("dump")["leaves"]]


@pytest.fixture
def virtio(binary):
    version, path = driver_harness(binary, "virtio", DRIVER)
    with ExternalProcess([str(path), "--format", "virtio"]) as proc:
        proc.mapping_leaves = True  # a leaf is a whole mapping, of any size
        proc.start()
        reply = proc.request("domain_alloc", pgsize_bitmap=BITMAP, ias=64, oas=64)
        assert reply["ret"] == 0, reply
        yield Virtio(version, proc)
        # viommu_mapping nodes are kmalloc'd bookkeeping, not table pages
        assert proc.request("domain_free")["table_pages"] == 0


def test_hello_and_domain_alloc(binary):
    version, path = driver_harness(binary, "virtio", DRIVER)
    with ExternalProcess([str(path), "--format", "virtio"]) as proc:
        hello = proc.start()
        assert hello.name == f"linux-{version}-virtio" and hello.driver_only
        assert hello.core == "map_pages"  # viommu_map_pages / viommu_unmap_pages (v6.0+)
        # viommu_iotlb_sync_map came after 6.1
        sync_map = {"iotlb_sync_map"} if version != "6.1" else set()
        assert hello.ops == {"hello", "domain_alloc", "domain_free", "map_pages", "unmap_pages",
                             "iotlb_sync", "iova_to_phys", "dump", "fail_alloc"} | sync_map
        reply = proc.request("domain_alloc", pgsize_bitmap=BITMAP, ias=64, oas=64)
        # the device's page_size_mask is the request's; MAP flags READ, WRITE, MMIO
        assert (reply["ret"], reply["pgsize_bitmap"], reply["ias"], reply["oas"],
                reply["prot_mask"]) == (0, BITMAP, 64, 64, READ | WRITE | MMIO)
        assert proc.request("dump")["leaves"] == []
        assert proc.request("domain_free")["table_pages"] == 0
        assert proc.request("domain_alloc", pgsize_bitmap=0, ias=64, oas=64)["ret"] == -EINVAL


def test_one_call_is_one_mapping_and_an_exact_unmap_removes_it(virtio):
    """T1: one map_pages call (4K x 3) is one mapping, in the tree and in the device."""
    assert virtio.map(0x100000, P, 3 * K4) == (0, 3 * K4, [])
    assert virtio.leaves() == [(0x100000, P, 3 * K4, 1, RW)]
    assert virtio.phys(0x101234) == P + 0x1234
    # the UNMAP [1M, 1M + 12K - 1] drops the device's IOTLB entries of the range
    assert virtio.unmap(0x100000, 3 * K4) == (3 * K4, [("range", 0x100000, 3 * K4)])
    assert virtio.leaves() == [] and virtio.phys(0x101234) == 0


def test_an_unmap_that_starts_inside_a_mapping_removes_nothing(virtio):
    """T2: "Trying to split a mapping?" -- viommu_del_mappings stops, the call returns 0."""
    virtio.map(0, P, K8)
    assert virtio.unmap(K4, K4) == (0, [])
    assert virtio.phys(K4) == P + K4 and virtio.leaves() == [(0, P, K8, 1, RW)]


def test_an_unmap_from_a_mappings_start_removes_it_whole(virtio):
    """T3: unmap(0, 4K) of an 8K mapping removes it whole and returns 8K."""
    virtio.map(0, P, K8)
    assert virtio.unmap(0, K4) == (K8, [("range", 0, K8)])
    assert virtio.phys(K4) == 0 and virtio.leaves() == []


def test_one_unmap_call_removes_two_mappings_it_covers(virtio):
    """T4 (VIRTIO 1.2 5.13.6.6 example 3): map(0, 4K), map(4K, 4K); unmap(0, 8K) -> 8K."""
    virtio.map(0, P, K4)
    virtio.map(K4, Q, K4)
    # adjacent mappings stay two leaves: the device holds two
    assert virtio.leaves() == [(0, P, K4, 1, RW), (K4, Q, K4, 1, RW)]
    assert virtio.unmap(0, K8) == (K8, [("range", 0, K8)])
    assert virtio.leaves() == []


def test_a_hole_in_an_unmap_call_drops_mappings_from_the_tree_only(virtio):
    """UNMAP_HOLE_DROPS: unmap(0, 12K) over [0, 4K) and [8K, 12K) deletes both from the tree
    (8K < 12K), returns 0 and sends no UNMAP: the device keeps both."""
    virtio.map(0, P, K4)
    virtio.map(K8, Q, K4)
    assert virtio.unmap(0, 3 * K4) == (0, [])
    assert virtio.phys(0) == 0 and virtio.phys(K8) == 0
    assert virtio.leaves() == [(0, P, K4, 1, RW), (K8, Q, K4, 1, RW)]


def test_a_refused_map_over_a_later_mapping(virtio):
    """T9: the device refuses map(0, Q, 8K) over A = [4K, 8K) (S_INVAL).  6.1 reads it
    (-EINVAL) and its cleanup deletes the new mapping and A from the tree
    (MAP_FAIL_SWEEP); 6.12 never reads it (MAP_STATUS_LOST): both stay in the tree."""
    virtio.map(K4, P, K4)
    ret, mapped, _ = virtio.map(0, Q, K8)
    assert virtio.leaves() == [(K4, P, K4, 1, RW)]
    if virtio.version == "6.1":
        assert (ret, mapped) == (-EINVAL, 0)
        assert virtio.phys(K4) == 0 and virtio.unmap(K4, K4) == (0, [])
    else:
        assert (ret, mapped) == (0, K8)
        assert virtio.phys(K4) == Q + K4
        # UNMAP_SUM_RANGE: 12K removed, UNMAP [0, 12K - 1] covers the device's A
        assert virtio.unmap(0, K8) == (3 * K4, [("range", 0, 3 * K4)])
        assert virtio.leaves() == []


def test_a_refused_map_over_an_earlier_mapping_leaves_a_ghost(virtio):
    """T10: A = [0, 8K); map(4K, Q + 4K, 8K) is refused by the device; the tree keeps the
    refused mapping either way (6.1's cleanup meets A first and stops)."""
    virtio.map(0, P, K8)
    ret, _, _ = virtio.map(K4, Q + K4, K8)
    assert ret == (-EINVAL if virtio.version == "6.1" else 0)
    assert virtio.leaves() == [(0, P, K8, 1, RW)]
    assert virtio.phys(K4) == P + K4 and virtio.phys(K8) == Q + K8
    assert virtio.unmap(K8, K4) == (0, [])
    assert virtio.unmap(0, K8) == (4 * K4, [("range", 0, 4 * K4)])
    assert virtio.leaves() == []


def test_prot_is_not_checked_and_only_read_write_mmio_reach_the_device(virtio):
    """viommu_map_pages: READ, WRITE, MMIO become the MAP's flags; CACHE, NOEXEC, PRIV are
    dropped; prot 0 maps too."""
    virtio.map(0, P, K4, RW | CACHE | NOEXEC | MMIO | PRIV)
    virtio.map(K8, Q, K4, 0)
    assert virtio.leaves() == [(0, P, K4, 1, RW | MMIO), (K8, Q, K4, 1, 0)]


@pytest.mark.parametrize("calls", [
    # (op, args...) as the core makes them; compared with the model call by call
    [("map_pages", 0, P, K4, 3), ("map_pages", 3 * K4, Q, K4, 1), ("unmap_pages", 0, K4, 4)],
    [("map_pages", 0, P, M2, 2), ("unmap_pages", 0, M2, 1), ("unmap_pages", M2, M2, 1)],
    [("map_pages", K4, P, K4, 1), ("map_pages", 0, Q, K4, 2), ("unmap_pages", 0, K4, 2)],
    [("map_pages", 0, P, K4, 1), ("map_pages", 0, Q, K4, 1), ("unmap_pages", 0, K4, 1)],
    [("map_pages", (1 << 64) - K8, P, K4, 2), ("unmap_pages", (1 << 64) - K8, K4, 2)],
])
def test_driver_calls_agree_with_the_model(virtio, calls):
    """A few driver-call sequences from tests/test_model_virtio.py against the model's
    variant for the tree: every return value, the device's mappings and iova_to_phys."""
    spec = ReferenceDomain("virtio", SEM[virtio.version], pgsize_bitmap=BITMAP)
    probes = set()
    for op, iova, *rest in calls:
        if op == "map_pages":
            paddr, pgsize, pgcount = rest
            ret, mapped, _ = virtio.map_pages(iova, paddr, pgsize, pgcount)
            assert (ret, mapped) == tuple(spec.map_pages(iova, paddr, pgsize, pgcount, RW)), op
        else:
            pgsize, pgcount = rest
            assert virtio.unmap(iova, pgcount * pgsize, pgsize)[0] == \
                spec.unmap_pages(iova, pgsize, pgcount), op
        probes |= {(iova + k * K4) % (1 << 64) for k in range(3)}
        assert virtio.leaves() == [tuple(r) for r in spec.leaves()]
        for at in sorted(probes):
            assert virtio.phys(at) == spec.iova_to_phys(at), hex(at)
