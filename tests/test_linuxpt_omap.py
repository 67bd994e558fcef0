"""linuxpt: the omap format (drivers/iommu/omap-iommu.c, its own table) built from a real tree.

Needs a kernel tree with drivers/iommu/omap-iommu.c, omap-iommu.h and
omap-iopgtable.h: $IOMMU_SPEC_KERNEL_6_1 / $IOMMU_SPEC_KERNEL_6_12, or one
fetched with ``iommu-spec kernel fetch``.  Without any, these tests are
skipped.  The expected replies are read off the driver (6.1.192 / 6.12.118,
whose table code is the same): omap_iommu_map (6.1 ->map, 6.12 ->map_pages
ignoring count), omap_iopgtable_store_entry, iopgtable_store_entry_core,
iopte_alloc, iopgd_alloc_section / _super, iopte_alloc_page / _large,
omap_iommu_unmap -> iopgtable_clear_entry(_core), omap_iommu_iova_to_phys,
flush_iotlb_page / flush_iotlb_all, omap_iommu_attach_dev,
_omap_iommu_detach_dev -> iopgtable_clear_entry_all.  The harness's TLB holds
the translation at the call's IOVA (see linuxpt/shim/glue_omap.c), so a flush
is reported where the table held one.
"""

import json
import subprocess

import pytest

from difftest.external import ExternalProcess
from tests.conftest import driver_domain, driver_harness

SZ_4K, SZ_64K, SZ_1M, SZ_16M = 1 << 12, 1 << 16, 1 << 20, 1 << 24
READ, WRITE = 1, 2
RW = READ | WRITE
EINVAL = 22
OMAP_BITMAP = SZ_4K | SZ_64K | SZ_1M | SZ_16M  # OMAP_IOMMU_PGSIZES
DRIVER = "drivers/iommu/omap-iommu.c"


@pytest.fixture
def omap(binary):
    """``(version, proc)``: a started harness with an omap domain (a device attached)."""
    yield from driver_domain(binary, "omap", DRIVER, OMAP_BITMAP)


def map_(proc, iova, paddr, pgsize=SZ_4K, prot=RW, pgcount=1):
    return proc.request("map_pages", iova=iova, paddr=paddr, pgsize=pgsize, pgcount=pgcount,
                        prot=prot)


def unmap(proc, iova, pgsize=SZ_4K, pgcount=1):
    return proc.request("unmap_pages", iova=iova, pgsize=pgsize, pgcount=pgcount)


def test_hello_and_domain_alloc(binary):
    version, path = driver_harness(binary, "omap", DRIVER)
    with ExternalProcess([str(path), "--format", "omap"]) as proc:
        hello = proc.start()
        assert hello.name == f"linux-{version}-omap" and hello.driver_only
        assert hello.ops == {"hello", "domain_alloc", "domain_free", "map_pages", "unmap_pages",
                             "iova_to_phys", "dump", "fail_alloc"}  # no iotlb_sync op
        assert hello.core == ("map-v5.15" if version == "6.1" else "map_pages")
        reply = proc.request("domain_alloc", pgsize_bitmap=OMAP_BITMAP | 1 << 21, ias=32, oas=32)
        # no permission bits: prot_mask 0; u32 da / pa (struct iotlb_entry)
        assert (reply["ret"], reply["pgsize_bitmap"], reply["ias"], reply["oas"],
                reply["prot_mask"]) == (0, OMAP_BITMAP, 32, 32, 0)
        # omap_iommu_attach -> flush_iotlb_all (MMU_GFLUSH)
        assert reply["tlb"] == [("all",)]
        dump = proc.request("dump")
        assert dump["leaves"] == [] and dump["tables"] == [] and "problems" not in dump
        # _omap_iommu_detach_dev: iopgtable_clear_entry_all's flush_iotlb_all; the PGD freed
        free = proc.request("domain_free")
        assert free["table_pages"] == 0 and free["tlb"] == [("all",)]
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_4K | 1 << 21, ias=32,
                            oas=32)["pgsize_bitmap"] == SZ_4K
        assert proc.request("domain_alloc", pgsize_bitmap=1 << 21, ias=32, oas=32)["ret"] == -EINVAL


def test_map_unmap_pages_and_iova_to_phys(omap):
    version, proc = omap
    reply = map_(proc, 0x100000, 0x80000000, pgcount=2)
    # 6.12's omap_iommu_map ignores count: one page per call (*mapped = bytes)
    done = 2 * SZ_4K if version == "6.1" else SZ_4K
    # a map into a hole: flush_iotlb_page finds no TLB entry holding da, flushes nothing
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (0, done, [])
    dump = proc.request("dump")
    assert dump["leaves"] == [[0x100000, 0x80000000, SZ_4K, done // SZ_4K, RW]]
    assert dump["tables"] == [[SZ_1M, SZ_1M]]
    # omap_iommu_translate keeps the offset
    assert proc.request("iova_to_phys", iova=0x100123)["ret"] == 0x80000123
    # a hole in a live L2 table ("bogus pte") and a PGD hole ("bogus pgd"): 0
    assert proc.request("iova_to_phys", iova=0x180000)["ret"] == 0
    assert proc.request("iova_to_phys", iova=0x500000)["ret"] == 0
    reply = unmap(proc, 0x100000, pgcount=2)
    # one leaf per call; flush_iotlb_page after each clear
    assert (reply["ret"], reply["tlb"]) == (done, [("range", 0x100000, done)])
    # the last entry gone: iopgtable_clear_entry_core frees the L2 table
    dump = proc.request("dump")
    assert dump["leaves"] == [] and dump["tables"] == []


def test_map_over_live_small_and_large(omap):
    version, proc = omap
    # 4K over 4K: iopte_alloc_page writes over whatever the entry held
    map_(proc, 0x100000, 0x80000000)
    reply = map_(proc, 0x100000, 0x90000000)
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (0, SZ_4K, [("range", 0x100000, SZ_4K)])
    # 64K over 4K: iopte_alloc_large, 16 copies over the slot
    map_(proc, 0x210000, 0x80000000)
    reply = map_(proc, 0x210000, 0xa0000000, SZ_64K)
    assert (reply["ret"], reply["tlb"]) == (0, [("range", 0x210000, SZ_4K)])
    # 4K over one slot of a 64K page: the other 15 copies stay
    map_(proc, 0x310000, 0xb0000000, SZ_64K)
    reply = map_(proc, 0x313000, 0xc0000000)
    assert (reply["ret"], reply["tlb"]) == (0, [("range", 0x310000, SZ_64K)])
    dump = proc.request("dump")
    assert dump["leaves"] == [[0x100000, 0x90000000, SZ_4K, 1, RW],
                              [0x210000, 0xa0000000, SZ_64K, 1, RW],
                              [0x310000, 0xb0000000, SZ_4K, 3, RW],
                              [0x313000, 0xc0000000, SZ_4K, 1, RW],
                              [0x314000, 0xb0004000, SZ_4K, 12, RW]]
    assert proc.request("iova_to_phys", iova=0x312010)["ret"] == 0xb0002010
    assert proc.request("iova_to_phys", iova=0x313010)["ret"] == 0xc0000010


def test_blocks_over_live(omap):
    version, proc = omap
    # 1M over 1M: iopgd_alloc_section overwrites the PGD entry; flushes the old section
    map_(proc, 0x100000, 0x80000000, SZ_1M)
    reply = map_(proc, 0x100000, 0x90000000, SZ_1M)
    assert (reply["ret"], reply["tlb"]) == (0, [("range", 0x100000, SZ_1M)])
    # 16M over a 1M section away from da: iopgd_alloc_super writes 16 entries; the TLB entry
    # of the section at 0x1100000 is not flushed (flush_iotlb_page looks at da only)
    map_(proc, 0x1100000, 0x80000000, SZ_1M)
    reply = map_(proc, 0x1000000, 0xa0000000, SZ_16M)
    assert (reply["ret"], reply["tlb"]) == (0, [])
    # 1M over one slot of a supersection: the other 15 copies stay
    reply = map_(proc, 0x1300000, 0xb0000000, SZ_1M)
    assert (reply["ret"], reply["tlb"]) == (0, [("range", 0x1000000, SZ_16M)])
    dump = proc.request("dump")
    assert dump["leaves"] == [[0x100000, 0x90000000, SZ_1M, 1, RW],
                              [0x1000000, 0xa0000000, SZ_1M, 3, RW],
                              [0x1300000, 0xb0000000, SZ_1M, 1, RW],
                              [0x1400000, 0xa0400000, SZ_1M, 12, RW]]
    assert dump["tables"] == []
    assert proc.request("iova_to_phys", iova=0x1123456)["ret"] == 0xa0123456
    # an unmap at a supersection slot clears all 16 entries, the newer section too: 16M
    reply = unmap(proc, 0x1000000)
    assert (reply["ret"], reply["tlb"]) == (SZ_16M, [("range", 0x1000000, SZ_16M)])
    reply = unmap(proc, 0x100000, SZ_1M)
    assert reply["ret"] == SZ_1M
    assert proc.request("dump")["leaves"] == []


def test_section_over_a_table_leaks_it(omap):
    version, proc = omap
    map_(proc, 0x100000, 0x80000000)
    reply = map_(proc, 0x100000, 0x90000000, SZ_1M)
    # the L2 table's one entry at da is flushed
    assert (reply["ret"], reply["tlb"]) == (0, [("range", 0x100000, SZ_4K)])
    dump = proc.request("dump")
    assert dump["leaves"] == [[0x100000, 0x90000000, SZ_1M, 1, RW]] and dump["tables"] == []
    # the overwritten L2 table is unreachable: iopgtable_clear_entry_all cannot free it
    assert proc.request("domain_free")["table_pages"] == 1
    assert proc.request("domain_alloc", pgsize_bitmap=OMAP_BITMAP, ias=32, oas=32)["ret"] == 0


def test_unmap_whole_leaf_and_holes(omap):
    version, proc = omap
    # a 4K unmap inside a 64K page clears all 16 copies and returns 64K
    map_(proc, 0x110000, 0x80000000, SZ_64K)
    reply = unmap(proc, 0x113000)
    assert (reply["ret"], reply["tlb"]) == (SZ_64K, [("range", 0x110000, SZ_64K)])
    # inside a 16M supersection: 16M
    map_(proc, 0x1000000, 0x90000000, SZ_16M)
    assert unmap(proc, 0x1500000)["ret"] == SZ_16M
    # a hole in a live L2 table counts as 4K (iopgtable_clear_entry_core clears one entry)
    map_(proc, 0x100000, 0x80000000)
    reply = unmap(proc, 0x120000)
    assert (reply["ret"], reply["tlb"]) == (SZ_4K, [])
    assert proc.request("dump")["tables"] == [[SZ_1M, SZ_1M]]
    # a PGD hole: 0
    assert unmap(proc, 0x500000)["ret"] == 0
    assert unmap(proc, 0x100000)["ret"] == SZ_4K


def test_prot_and_paddr_past_4g(omap):
    version, proc = omap
    # prot is never read: prot 0 maps a read-write page
    assert map_(proc, 0x100000, 0x80000000, prot=0)["ret"] == 0
    # iotlb_init_entry's u32 pa: bits 63:32 are cut
    assert map_(proc, 0x200000, 0x180000000)["ret"] == 0
    assert proc.request("dump")["leaves"] == [[0x100000, 0x80000000, SZ_4K, 1, RW],
                                              [0x200000, 0x80000000, SZ_4K, 1, RW]]
    assert proc.request("iova_to_phys", iova=0x200010)["ret"] == 0x80000010


def test_small_page_under_a_section_stops_the_harness(binary):
    """iopte_alloc takes a section entry for a table pointer: in the kernel the PTE is written
    into the section's memory; the harness stops with one line instead."""
    version, path = driver_harness(binary, "omap", DRIVER)
    lines = [{"op": "hello", "version": 1},
             {"op": "domain_alloc", "pgsize_bitmap": OMAP_BITMAP, "ias": 32, "oas": 32},
             {"op": "map_pages", "iova": 0x100000, "paddr": 0x80000000, "pgsize": SZ_1M,
              "pgcount": 1, "prot": RW},
             {"op": "map_pages", "iova": 0x101000, "paddr": 0x90000000, "pgsize": SZ_4K,
              "pgcount": 1, "prot": RW}]
    res = subprocess.run([str(path), "--format", "omap"],
                         input="".join(json.dumps(r) + "\n" for r in lines),
                         capture_output=True, text=True)
    replies = [json.loads(ln) for ln in res.stdout.splitlines()[2:]]
    assert res.returncode != 0 and len(replies) == 1 and replies[0]["ret"] == 0
    assert "harness: omap: the driver takes 0x80000000 for an L2 table" in res.stderr


def test_fail_alloc_l2_table(omap):
    version, proc = omap
    assert proc.request("fail_alloc", after=0)["ret"] == 0
    # iopte_alloc: kmem_cache_zalloc fails -> -ENOMEM, nothing written
    reply = map_(proc, 0x100000, 0x80000000)
    assert (reply["ret"], reply["mapped"]) == (-12, 0)
    assert proc.request("dump")["tables"] == []
    assert map_(proc, 0x100000, 0x80000000)["ret"] == 0
