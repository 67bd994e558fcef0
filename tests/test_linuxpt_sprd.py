"""linuxpt: the sprd format (drivers/iommu/sprd-iommu.c, its own flat table) built from a real tree.

Needs a kernel tree with drivers/iommu/sprd-iommu.c: $IOMMU_SPEC_KERNEL_6_1 /
$IOMMU_SPEC_KERNEL_6_12, or one fetched with ``iommu-spec kernel fetch``.
Without any, these tests are skipped.  The expected replies are read off the
driver (6.1.192 / 6.12.118): sprd_iommu_map, sprd_iommu_unmap,
sprd_iommu_iova_to_phys, sprd_iommu_sync_map / sprd_iommu_sync,
sprd_iommu_attach_device, sprd_iommu_ops.pgsize_bitmap; and the core loops
the glue follows (6.1 ->map / ->unmap per page, 6.12 ->map_pages /
->unmap_pages).
"""

import subprocess

import pytest

from difftest.external import ExternalProcess
from tests.conftest import driver_domain, driver_harness

SZ_4K, SZ_8K, SZ_64K, SZ_2M = 1 << 12, 1 << 13, 1 << 16, 1 << 21
SZ_256M, SZ_4G = 1 << 28, 1 << 32
ALL = (1 << 64) - 1
READ, WRITE = 1, 2
EINVAL = 22
DRIVER = "drivers/iommu/sprd-iommu.c"
#: sprd_iommu_ops.pgsize_bitmap: 6.1 ~0UL << SPRD_IOMMU_PAGE_SHIFT, 6.12 SPRD_IOMMU_PAGE_SIZE
BITMAP = {"6.1": ALL & ~(SZ_4K - 1), "6.12": SZ_4K}


@pytest.fixture
def sprd(binary):
    """``(version, proc)``: a started harness with a sprd domain (every page size asked for)."""
    yield from driver_domain(binary, "sprd", DRIVER, ALL)


def map_(proc, iova, paddr, pgsize=SZ_4K, pgcount=1, prot=READ | WRITE):
    return proc.request("map_pages", iova=iova, paddr=paddr, pgsize=pgsize, pgcount=pgcount,
                        prot=prot)


def unmap(proc, iova, pgsize=SZ_4K, pgcount=1):
    return proc.request("unmap_pages", iova=iova, pgsize=pgsize, pgcount=pgcount)


def test_hello_and_domain_alloc(binary):
    version, path = driver_harness(binary, "sprd", DRIVER)
    with ExternalProcess([str(path), "--format", "sprd"]) as proc:
        hello = proc.start()
        assert hello.name == f"linux-{version}-sprd" and hello.driver_only
        # sprd_iommu_ops has iotlb_sync (sprd_iommu_sync) and iotlb_sync_map (sprd_iommu_sync_map)
        assert hello.ops == {"hello", "domain_alloc", "domain_free", "map_pages", "unmap_pages",
                             "iotlb_sync", "iotlb_sync_map", "iova_to_phys", "dump", "fail_alloc"}
        # 6.1: ->map / ->unmap only; 6.12 (a05d5857cec3, v6.2): ->map_pages / ->unmap_pages
        assert hello.core == ("map-v5.15" if version == "6.1" else "map_pages")
        reply = proc.request("domain_alloc", pgsize_bitmap=ALL, ias=32, oas=32)
        # ias: the aperture [0, SZ_256M - 1]; oas: the PTE is (u32)paddr >> 12; no permissions
        assert (reply["ret"], reply["pgsize_bitmap"], reply["ias"], reply["oas"],
                reply["prot_mask"]) == (0, BITMAP[version], 28, 32, 0)
        # sprd_iommu_attach_device programs the table and enables the IOMMU: no flush
        assert reply["tlb"] == []
        dump = proc.request("dump")
        assert dump["leaves"] == [] and dump["tables"] == [] and "problems" not in dump
        # the table (allocated at attach) is freed by sprd_iommu_cleanup at .free
        free = proc.request("domain_free")
        assert free["table_pages"] == 0 and free["tlb"] == []
        # the page sizes are the driver's, cut to those asked for; none left: -EINVAL
        reply = proc.request("domain_alloc", pgsize_bitmap=SZ_4K | SZ_2M, ias=32, oas=32)
        assert reply["pgsize_bitmap"] == (SZ_4K | SZ_2M if version == "6.1" else SZ_4K)
        reply = proc.request("domain_alloc", pgsize_bitmap=SZ_2M, ias=32, oas=32)
        assert reply["ret"] == (0 if version == "6.1" else -EINVAL)


def test_syncs_flush_everything(sprd):
    version, proc = sprd
    # the driver writes the table and nothing else: no invalidation in map or unmap
    reply = map_(proc, 0x1000, 0x2000, pgcount=3 if version == "6.12" else 1)
    assert (reply["ret"], reply["tlb"]) == (0, [])
    # sprd_iommu_sync_map: 0xffffffff to the UPDATE register, whatever the range
    reply = proc.request("iotlb_sync_map", iova=0x1000, size=SZ_4K)
    assert (reply["ret"], reply["tlb"]) == (0, [("all",)])
    assert unmap(proc, 0x1000)["tlb"] == []
    # sprd_iommu_sync -> sprd_iommu_sync_map(domain, 0, 0)
    assert proc.request("iotlb_sync")["tlb"] == [("all",)]


def test_map_overwrites_and_ignores_prot(sprd):
    version, proc = sprd
    assert map_(proc, 0x10000, 0x80000, prot=READ)["ret"] == 0
    # no valid bit, no check: a live PTE is overwritten, prot is never read (prot 0 maps)
    reply = map_(proc, 0x10000, 0x90000, prot=0)
    assert (reply["ret"], reply["mapped"]) == (0, SZ_4K)
    assert proc.request("dump")["leaves"] == [[0x10000, 0x90000, SZ_4K, 1, 0]]
    assert proc.request("iova_to_phys", iova=0x10123)["ret"] == 0x90123


def test_pages_per_call(sprd):
    version, proc = sprd
    if version == "6.1":
        # ->map gets one power of two (any, from 4K): size >> 12 PTEs
        reply = map_(proc, SZ_2M, 0x400000, pgsize=SZ_2M)
        assert (reply["ret"], reply["mapped"]) == (0, SZ_2M)
        assert proc.request("dump")["leaves"] == [[SZ_2M, 0x400000, SZ_4K, 512, 0]]
    else:
        # ->map_pages honours pgcount: one call, pgcount PTEs, *mapped = the whole size
        reply = map_(proc, SZ_2M, 0x400000, pgcount=512)
        assert (reply["ret"], reply["mapped"]) == (0, SZ_2M)
        assert proc.request("dump")["leaves"] == [[SZ_2M, 0x400000, SZ_4K, 512, 0]]


def test_map_outside_the_aperture(sprd):
    version, proc = sprd
    # the whole range of the driver call must lie in [0, 256M): else -EINVAL, nothing written
    reply = map_(proc, SZ_256M, 0x1000)
    assert (reply["ret"], reply["mapped"]) == (-EINVAL, 0)
    # crossing the end: 6.1 maps page by page and fails at the page that crosses;
    # 6.12's one call is refused whole
    reply = map_(proc, SZ_256M - SZ_4K, 0x1000, pgcount=2)
    assert (reply["ret"], reply["mapped"]) == (-EINVAL, SZ_4K if version == "6.1" else 0)
    leaves = proc.request("dump")["leaves"]
    assert leaves == ([[SZ_256M - SZ_4K, 0x1000, SZ_4K, 1, 0]] if version == "6.1" else [])
    # iova_to_phys outside the aperture: WARN_ON, 0
    reply = proc.request("iova_to_phys", iova=SZ_256M)
    assert (reply["ret"], reply.get("warnings")) == (0, 1)


def test_unmap_return_values(sprd):
    version, proc = sprd
    assert map_(proc, 0x1000, 0x5000)["ret"] == 0
    assert map_(proc, 0x2000, 0x6000)["ret"] == 0
    reply = unmap(proc, 0x1000, pgcount=2)
    if version == "6.1":
        # sprd_iommu_unmap returns 0 on success: the core stops after the first page,
        # which is cleared all the same
        assert reply["ret"] == 0
        assert proc.request("dump")["leaves"] == [[0x2000, 0x6000, SZ_4K, 1, 0]]
        assert unmap(proc, 0x2000)["ret"] == 0
    else:
        # 6.12: the size, pgcount honoured
        assert reply["ret"] == SZ_8K
    assert proc.request("dump")["leaves"] == []
    # a hole: memset and count (6.12: the whole size; 6.1: 0 as always)
    assert unmap(proc, 0x40000, pgcount=16)["ret"] == (0 if version == "6.1" else SZ_64K)
    # outside the aperture: 6.1 -EINVAL cast to size_t (the core adds it and stops), 6.12 0
    reply = unmap(proc, SZ_256M)
    assert reply["ret"] == ((1 << 64) - EINVAL if version == "6.1" else 0)


def test_iova_to_phys_of_a_hole_is_the_offset(sprd):
    version, proc = sprd
    # no valid bit: an unmapped PTE (0) translates to page 0, plus the offset
    assert proc.request("iova_to_phys", iova=0x3000)["ret"] == 0
    assert proc.request("iova_to_phys", iova=0x3456)["ret"] == 0x456


def test_paddr_is_cut_to_32_bits(sprd):
    version, proc = sprd
    # u32 pabase = (u32)paddr: bits above 31 are dropped
    assert map_(proc, 0x7000, SZ_4G + 0x5000)["ret"] == 0
    assert proc.request("iova_to_phys", iova=0x7010)["ret"] == 0x5010
    # physical page 0 (here 4G cut to 0) writes a PTE of 0: no leaf, like a hole
    assert map_(proc, 0x8000, SZ_4G)["ret"] == 0
    assert proc.request("dump")["leaves"] == [[0x7000, 0x5000, SZ_4K, 1, 0]]
    # 6.1: 0 after the first page (the second stays); 6.12: both, counted
    assert unmap(proc, 0x7000, pgcount=2)["ret"] == (0 if version == "6.1" else SZ_8K)
    assert proc.request("dump")["leaves"] == []


def test_no_iotlb_flush_all(binary):
    """sprd_iommu_ops has no flush_iotlb_all; the protocol has no such op either: the two syncs
    are the only invalidations, and an unknown op is refused."""
    version, path = driver_harness(binary, "sprd", DRIVER)
    lines = ['{"op":"hello","version":1}',
             '{"op":"domain_alloc","pgsize_bitmap":4096,"ias":32,"oas":32}',
             '{"op":"flush_iotlb_all"}']
    out = subprocess.run([str(path), "--format", "sprd"], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[2] == '{"error":"unsupported"}'
