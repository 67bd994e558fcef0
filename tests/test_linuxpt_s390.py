"""linuxpt: the s390 format (drivers/iommu/s390-iommu.c's own zPCI tables, v6.7+) built from a real tree.

Needs a kernel tree with drivers/iommu/s390-iommu.c, drivers/iommu/dma-iommu.h and
arch/s390/include/asm/pci_dma.h: $IOMMU_SPEC_KERNEL_6_12, or one fetched with ``iommu-spec
kernel fetch``.  Without it, these tests are skipped.  6.1's s390-iommu.c has no table of its
own (arch/s390/pci/pci_dma.c's): the harness refuses the format there.  The harness's zPCI
function reports the DMA range [0, 2^64 - 1] and tlb_refresh (a guest whose hypervisor
shadows the table); the boot parameter s390_iommu_aperture=0 lifts the memory-size limit, so
the function's range is [0, 2^42 - 1].  The expected replies are read off the driver
(6.12.118): s390_domain_alloc_paging, s390_iommu_attach_device, s390_iommu_map_pages /
s390_iommu_validate_trans, s390_iommu_unmap_pages / s390_iommu_invalidate_trans,
dma_walk_cpu_trans, dma_update_cpu_trans (validate_pt_entry, invalidate_pt_entry),
s390_iommu_iova_to_phys, s390_iommu_iotlb_sync, s390_iommu_iotlb_sync_map,
dma_cleanup_tables.
"""

import subprocess
from pathlib import Path

import pytest

from difftest.external import ExternalProcess

SZ_4K, SZ_1M, SZ_2G = 1 << 12, 1 << 20, 1 << 31
TOP = 1 << 42  # ZPCI_TABLE_SIZE_RT: the domain's aperture is [0, TOP - 1]
READ, WRITE = 1, 2
EINVAL, ENOMEM = 22, 12
DRIVER = "drivers/iommu/s390-iommu.c"


def _s390(binary):
    version, path = binary
    res = subprocess.run([str(path), "--format", "s390"], input="", capture_output=True, text=True)
    if res.returncode:
        why = res.stderr.strip().partition(": format s390: ")[2]
        pytest.skip(f"the {version} tree serves no s390 format ({why[:80]}...)")
    return version, path


@pytest.fixture
def s3(binary):
    """``(version, proc)``: a started harness with an s390 domain attached to the zPCI function;
    at the end every table the domain allocated is freed (dma_cleanup_tables)."""
    version, path = _s390(binary)
    with ExternalProcess([str(path), "--format", "s390"]) as proc:
        proc.start()
        reply = proc.request("domain_alloc", pgsize_bitmap=SZ_4K, ias=42, oas=64)
        assert reply["ret"] == 0, reply
        yield version, proc
        assert proc.request("domain_free")["table_pages"] == 0


def map_(proc, iova, paddr, pgcount=1, prot=READ | WRITE):
    return proc.request("map_pages", iova=iova, paddr=paddr, pgsize=SZ_4K, pgcount=pgcount,
                        prot=prot)


def unmap(proc, iova, pgcount=1):
    return proc.request("unmap_pages", iova=iova, pgsize=SZ_4K, pgcount=pgcount)


def test_6_1_is_refused(binary, trees):
    """6.1's s390-iommu.c maps through arch/s390/pci/pci_dma.c's tables: one line, status 2."""
    version, path = binary
    if version != "6.1":
        pytest.skip("the refusal is 6.1's")
    if not (Path(trees[version]) / DRIVER).is_file():
        pytest.skip(f"the 6.1 tree has no {DRIVER}")
    res = subprocess.run([str(path), "--format", "s390"], input="", capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "format s390: " in res.stderr and "arch/s390/pci/pci_dma.c" in res.stderr


def test_hello_and_domain_alloc(binary):
    version, path = _s390(binary)
    with ExternalProcess([str(path), "--format", "s390"]) as proc:
        hello = proc.start()
        assert hello.name == f"linux-{version}-s390" and hello.driver_only
        assert hello.ops == {"hello", "domain_alloc", "domain_free", "map_pages", "unmap_pages",
                             "iotlb_sync", "iotlb_sync_map", "iova_to_phys", "dump",
                             "fail_alloc"}
        assert hello.core == "map_pages"
        # s390_iommu_ops.pgsize_bitmap SZ_4K; aperture_end ZPCI_TABLE_SIZE_RT - 1; the PTE keeps
        # every address bit above 11; registering the IOAT is no refresh
        reply = proc.request("domain_alloc", pgsize_bitmap=SZ_4K | SZ_1M, ias=64, oas=64)
        assert (reply["ret"], reply["pgsize_bitmap"], reply["ias"], reply["oas"],
                reply["prot_mask"], reply["tlb"]) == (0, SZ_4K, 42, 64, WRITE, [])
        dump = proc.request("dump")
        assert dump["leaves"] == [] and dump["tables"] == [] and "problems" not in dump
        assert proc.request("domain_free")["table_pages"] == 0
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_1M, ias=42, oas=64)["ret"] == -EINVAL


def test_map_overwrites_prot_and_iova_to_phys(s3):
    _, proc = s3
    reply = map_(proc, 0x1000, 0x200000)
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (0, SZ_4K, [])
    assert "warnings" not in reply
    # a live PTE is overwritten (validate_pt_entry's WARN_ON_ONCE), its protection too
    reply = map_(proc, 0x1000, 0x300000, prot=READ)
    assert (reply["ret"], reply["mapped"], reply["warnings"]) == (0, SZ_4K, 1)
    # prot is not checked: no WRITE is ZPCI_TABLE_PROTECTED, so prot 0 maps read-only and
    # WRITE alone read-write; the address is not cut (ZPCI_PTE_ADDR_MASK keeps bits 63:12)
    assert map_(proc, 0x2000, 0x5000, prot=0)["ret"] == 0
    assert map_(proc, 0x3000, 0x6000, prot=WRITE)["ret"] == 0
    assert map_(proc, 0x8000, (1 << 48) - SZ_4K)["ret"] == 0
    dump = proc.request("dump")
    assert dump["leaves"] == [[0x1000, 0x300000, SZ_4K, 1, READ], [0x2000, 0x5000, SZ_4K, 1, READ],
                              [0x3000, 0x6000, SZ_4K, 1, READ | WRITE],
                              [0x8000, (1 << 48) - SZ_4K, SZ_4K, 1, READ | WRITE]]
    # one segment table (2G span) and one page table (1M span) below the region-third table
    assert dump["tables"] == [[0, SZ_2G], [0, SZ_1M]]
    # iova_to_phys drops the offset in the page (pte & ZPCI_PTE_ADDR_MASK)
    assert proc.request("iova_to_phys", iova=0x1234)["ret"] == 0x300000
    assert proc.request("iova_to_phys", iova=0x8000)["ret"] == (1 << 48) - SZ_4K
    assert proc.request("iova_to_phys", iova=0x4000)["ret"] == 0
    # pgsize other than 4K, or iova|paddr not 4K aligned: -EINVAL
    assert map_(proc, 0x4000, 0x7001)["ret"] == -EINVAL
    assert proc.request("map_pages", iova=0x4000, paddr=0x8000, pgsize=2 * SZ_4K, pgcount=1,
                        prot=READ)["ret"] == -EINVAL


def test_flushes_come_from_the_syncs(s3):
    _, proc = s3
    # map_pages refreshes nothing; iotlb_sync_map RPCITs [iova, iova + size) (tlb_refresh)
    assert map_(proc, 0x10000, 0x10000, pgcount=4)["tlb"] == []
    reply = proc.request("iotlb_sync_map", iova=0x10000, size=4 * SZ_4K)
    assert (reply["ret"], reply["tlb"]) == (0, [("range", 0x10000, 4 * SZ_4K)])
    # unmap_pages only gathers; iotlb_sync RPCITs gather->start .. gather->end
    assert unmap(proc, 0x11000, 2)["tlb"] == []
    assert unmap(proc, 0x20000)["tlb"] == []
    reply = proc.request("iotlb_sync")
    assert reply["tlb"] == [("range", 0x11000, 0x20000 + SZ_4K - 0x11000)]
    # an empty gather (gather->end 0) refreshes nothing
    assert proc.request("iotlb_sync")["tlb"] == []
    # a refresh of the function's whole registered range is everything it can translate
    assert proc.request("iotlb_sync_map", iova=0, size=TOP)["tlb"] == [("all",)]


def test_unmap_counts_holes_and_allocates_tables_for_them(s3):
    _, proc = s3
    assert map_(proc, 0x10000, 0x1000)["ret"] == 0
    # no presence check: every page is invalidated (invalidate_pt_entry WARN_ON_ONCEs on a
    # hole) and the whole size is returned
    reply = unmap(proc, 0x10000, 4)
    assert (reply["ret"], reply["warnings"]) == (4 * SZ_4K, 3)
    assert proc.request("iova_to_phys", iova=0x10000)["ret"] == 0
    # a hole in an empty region: dma_walk_cpu_trans allocates its segment and page tables
    reply = unmap(proc, 4 * SZ_2G + 5 * SZ_1M)
    assert (reply["ret"], reply["warnings"]) == (SZ_4K, 1)
    dump = proc.request("dump")
    assert dump["leaves"] == []
    assert dump["tables"] == [[0, SZ_2G], [0, SZ_1M], [4 * SZ_2G, SZ_2G],
                              [4 * SZ_2G + 5 * SZ_1M, SZ_1M]]


def test_aperture(s3):
    _, proc = s3
    # the last pages below ZPCI_TABLE_SIZE_RT map; a call running past it is -EINVAL whole
    assert map_(proc, TOP - 2 * SZ_4K, 0x1000, pgcount=2)["ret"] == 0
    reply = map_(proc, TOP - 3 * SZ_4K, 0x9000, pgcount=4)
    assert (reply["ret"], reply["mapped"]) == (-EINVAL, 0)
    assert proc.request("iova_to_phys", iova=TOP - 3 * SZ_4K)["ret"] == 0
    assert map_(proc, TOP, 0x1000)["ret"] == -EINVAL
    assert proc.request("iova_to_phys", iova=TOP - SZ_4K)["ret"] == 0x2000
    assert proc.request("iova_to_phys", iova=TOP)["ret"] == 0
    # unmap past it: WARN_ON, 0, nothing unmapped
    reply = unmap(proc, TOP - SZ_4K, 2)
    assert (reply["ret"], reply["warnings"]) == (0, 1)
    assert proc.request("iova_to_phys", iova=TOP - SZ_4K)["ret"] == 0x2000
    assert unmap(proc, TOP - 2 * SZ_4K, 2)["ret"] == 2 * SZ_4K


def test_fail_alloc_undo_drops_overwritten_pages(s3):
    _, proc = s3
    assert map_(proc, SZ_1M - SZ_4K, 0x100000)["ret"] == 0
    # three pages: a new one, the live one (overwritten), then one needing a new page table,
    # whose allocation fails: s390_iommu_validate_trans's undo writes INVALID over the pages
    # the call wrote, the overwritten live one included; nothing is refreshed
    assert proc.request("fail_alloc", after=0)["ret"] == 0
    reply = map_(proc, SZ_1M - 2 * SZ_4K, 0x2000, pgcount=3)
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (-ENOMEM, 0, [])
    assert proc.request("iova_to_phys", iova=SZ_1M - SZ_4K)["ret"] == 0
    dump = proc.request("dump")
    assert dump["leaves"] == [] and dump["tables"] == [[0, SZ_2G], [0, SZ_1M]]
    # a segment table made before a failing page table stays
    assert proc.request("fail_alloc", after=1)["ret"] == 0
    assert map_(proc, 3 * SZ_2G, 0x2000)["ret"] == -ENOMEM
    assert proc.request("dump")["tables"] == [[0, SZ_2G], [0, SZ_1M], [3 * SZ_2G, SZ_2G]]


def test_fail_alloc_midway_unmap_is_unflushed(s3):
    _, proc = s3
    assert map_(proc, SZ_1M - SZ_4K, 0x100000)["ret"] == 0
    # the third page needs a page table (unmap allocates for holes, GFP_ATOMIC): it fails, the
    # call returns 0, but the live page before it is already invalid and not in the gather
    assert proc.request("fail_alloc", after=0)["ret"] == 0
    assert unmap(proc, SZ_1M - 2 * SZ_4K, 3)["ret"] == 0
    assert proc.request("iova_to_phys", iova=SZ_1M - SZ_4K)["ret"] == 0
    assert proc.request("iotlb_sync")["tlb"] == []
