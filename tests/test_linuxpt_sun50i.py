"""linuxpt: the sun50i format (drivers/iommu/sun50i-iommu.c, its own table) built from a real tree.

Needs a kernel tree with drivers/iommu/sun50i-iommu.c: $IOMMU_SPEC_KERNEL_6_1 /
$IOMMU_SPEC_KERNEL_6_12, or one fetched with ``iommu-spec kernel fetch``.
Without any, these tests are skipped.  The expected replies are read off the
driver (6.1.192 / 6.12.118): sun50i_iommu_map (6.12's paddr check),
sun50i_iommu_unmap, sun50i_iommu_iova_to_phys, sun50i_mk_pte,
sun50i_iommu_zap_range, sun50i_iommu_flush_all_tlb, sun50i_iommu_enable.
"""

import pytest

from difftest.external import ExternalProcess
from tests.conftest import driver_domain, driver_harness

SZ_4K, SZ_1M, SZ_4G = 1 << 12, 1 << 20, 1 << 32
READ, WRITE = 1, 2
EINVAL, EBUSY = 22, 16
DRIVER = "drivers/iommu/sun50i-iommu.c"


@pytest.fixture
def sun(binary):
    """``(version, proc)``: a started harness with a sun50i domain.  At the end the domain is
    freed, which leaves every page table it allocated (DOMAIN_FREE_LEAK: its refcnt never
    reaches 0, so sun50i_iommu_detach_domain never runs); unmap frees none, so those are the
    tables the dump shows."""
    yield from driver_domain(binary, "sun50i", DRIVER, SZ_4K, leaked=len)


def map_(proc, iova, paddr, pgcount=1, prot=READ | WRITE):
    return proc.request("map_pages", iova=iova, paddr=paddr, pgsize=SZ_4K, pgcount=pgcount,
                        prot=prot)


def unmap(proc, iova, pgcount=1):
    return proc.request("unmap_pages", iova=iova, pgsize=SZ_4K, pgcount=pgcount)


def test_hello_and_domain_alloc(binary):
    version, path = driver_harness(binary, "sun50i", DRIVER)
    with ExternalProcess([str(path), "--format", "sun50i"]) as proc:
        hello = proc.start()
        assert hello.name == f"linux-{version}-sun50i" and hello.driver_only
        assert hello.ops == {"hello", "domain_alloc", "domain_free", "map_pages", "unmap_pages",
                             "iotlb_sync", "iotlb_sync_map", "iova_to_phys", "dump", "fail_alloc"}
        assert hello.core == ("map-v5.15" if version == "6.1" else "map_pages")
        reply = proc.request("domain_alloc", pgsize_bitmap=SZ_4K | SZ_1M, ias=32, oas=32)
        assert (reply["ret"], reply["pgsize_bitmap"], reply["ias"], reply["oas"],
                reply["prot_mask"]) == (0, SZ_4K, 32, 32, READ | WRITE)
        # sun50i_iommu_enable -> sun50i_iommu_flush_all_tlb, for the default domain's attach
        # (once, after probe), then for this domain's
        assert reply["tlb"] == [("all",), ("all",)]
        dump = proc.request("dump")
        assert dump["leaves"] == [] and dump["tables"] == [] and "problems" not in dump
        # the PTs a domain allocated outlive it (DOMAIN_FREE_LEAK): the core's detach (the
        # default domain's attach) leaves refcnt at 1, so sun50i_iommu_detach_domain never
        # runs; sun50i_iommu_domain_free frees the DT only.  An emptied PT leaks too.
        assert map_(proc, SZ_1M, 0x5000)["ret"] == 0
        assert map_(proc, 3 * SZ_1M, 0x6000)["ret"] == 0
        assert unmap(proc, 3 * SZ_1M)["ret"] == SZ_4K
        reply = proc.request("domain_free")
        assert (reply["table_pages"], reply["tlb"]) == (2, [("all",)])  # the default's enable
        # the count is per domain: the next domain starts from 0, and attaches as the first did
        reply = proc.request("domain_alloc", pgsize_bitmap=SZ_4K, ias=32, oas=32)
        assert (reply["ret"], reply["tlb"]) == (0, [("all",)])
        assert map_(proc, SZ_1M, 0x6000)["ret"] == 0
        assert proc.request("dump")["leaves"] == [[SZ_1M, 0x6000, SZ_4K, 1, READ | WRITE]]
        assert proc.request("domain_free")["table_pages"] == 1
        reply = proc.request("domain_alloc", pgsize_bitmap=SZ_4K, ias=32, oas=32)
        assert proc.request("domain_free")["table_pages"] == 0  # no map: no PT
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_1M, ias=32, oas=32)["ret"] == -EINVAL


def test_map_unmap(sun):
    version, proc = sun
    # one 4K page per driver call: 6.12's map_pages ignores pgcount, 6.1's core maps each
    reply = map_(proc, 0x101000, 0x2345000, pgcount=3)
    assert (reply["ret"], reply["mapped"]) == (0, 3 * SZ_4K if version == "6.1" else SZ_4K)
    assert "tlb" not in reply or reply["tlb"] == []  # map itself invalidates nothing
    # every prot maps, prot 0 included (ACI_NONE): READ and WRITE each on its own
    for k, prot in enumerate((READ, WRITE, 0)):
        assert map_(proc, 0x200000 + k * SZ_4K, 0x10000 + k * SZ_4K, prot=prot)["ret"] == 0
    # a valid PTE: -EBUSY, nothing changed
    reply = map_(proc, 0x101000, 0x7000)
    assert (reply["ret"], reply["mapped"]) == (-EBUSY, 0)
    leaves = proc.request("dump")["leaves"]
    # a run of 3 pages on 6.1, 1 on 6.12 ([iova, paddr, size, count, prot])
    assert leaves[0] == [0x101000, 0x2345000, SZ_4K, 3 if version == "6.1" else 1, READ | WRITE]
    assert leaves[-3:] == [[0x200000, 0x10000, SZ_4K, 1, READ], [0x201000, 0x11000, SZ_4K, 1, WRITE],
                           [0x202000, 0x12000, SZ_4K, 1, 0]]
    assert proc.request("iova_to_phys", iova=0x101123)["ret"] == 0x2345123
    assert proc.request("iova_to_phys", iova=0x1ff000)["ret"] == 0
    # the IOVA's bits past 31 are ignored: iova 2^32 + x is x
    assert proc.request("iova_to_phys", iova=SZ_4G + 0x101123)["ret"] == 0x2345123
    # a hole ends the unmap (6.1's core stops at 0); unmap invalidates nothing itself
    reply = unmap(proc, 0x202000, 2)
    assert reply["ret"] == SZ_4K and reply.get("tlb", []) == []
    assert unmap(proc, 0x203000)["ret"] == 0
    # iotlb_sync: sun50i_iommu_iotlb_sync -> flush_iotlb_all
    assert proc.request("iotlb_sync")["tlb"] == [("all",)]
    assert proc.request("dump")["tables"] == [[SZ_1M, SZ_1M], [2 * SZ_1M, SZ_1M]]  # kept


def test_iotlb_sync_map(sun):
    version, proc = sun
    # sun50i_iommu_zap_range: the TLB at iova, iova+4K, and (size > 4K) iova+size, +4K
    reply = proc.request("iotlb_sync_map", iova=0x300000, size=SZ_4K)
    assert (reply["ret"], reply["tlb"]) == (0, [("range", 0x300000, 2 * SZ_4K)])
    reply = proc.request("iotlb_sync_map", iova=0x300000, size=8 * SZ_4K)
    assert reply["tlb"] == [("range", 0x300000, 2 * SZ_4K), ("range", 0x308000, 2 * SZ_4K)]
    reply = proc.request("iotlb_sync_map", iova=0x300000, size=2 * SZ_4K)
    assert reply["tlb"] == [("range", 0x300000, 4 * SZ_4K)]


def test_paddr_past_4g(sun):
    version, proc = sun
    reply = map_(proc, 0x400000, SZ_4G + 0x5000)
    if version == "6.1":  # sun50i_mk_pte keeps bits 31:12
        assert reply["ret"] == 0
        assert proc.request("iova_to_phys", iova=0x400000)["ret"] == 0x5000
    else:  # 6.12: "attempt to map address beyond 4GB", before any table is allocated
        assert (reply["ret"], reply["mapped"]) == (-EINVAL, 0)
        assert proc.request("dump")["tables"] == []


def test_fail_alloc(sun):
    version, proc = sun
    assert proc.request("fail_alloc", after=0)["ret"] == 0
    reply = map_(proc, 0x500000, 0x5000)  # the PT from pt_pool fails: -ENOMEM
    assert (reply["ret"], reply["mapped"]) == (-12, 0)
    assert proc.request("dump")["tables"] == []
    assert map_(proc, 0x500000, 0x5000)["ret"] == 0
