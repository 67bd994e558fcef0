"""linuxpt: the v7s-msm format (io-pgtable-arm-v7s.c as drivers/iommu/msm_iommu.c sets it up).

Needs a kernel tree ($IOMMU_SPEC_KERNEL_6_1 / $IOMMU_SPEC_KERNEL_6_12, or one
fetched with ``iommu-spec kernel fetch``); skipped without one.  What is
asserted is read off the trees (6.1.192 / 6.12.118): msm_iommu_domain_config
(ARM_V7S, no quirks, ias 32, oas 32, MSM_IOMMU_PGSIZES, msm_iommu_flush_ops),
msm_iommu_ops (.iotlb_sync = NULL, .iotlb_sync_map = msm_iommu_sync_map;
6.1 .map/.unmap, 6.12 .map_pages/.unmap_pages), __flush_iotlb_range /
__flush_iotlb_walk / __flush_iotlb_page / __flush_iotlb, and
io-pgtable-arm-v7s.c's arm_v7s_init_pte, __arm_v7s_unmap and
arm_v7s_prot_to_pte.
"""

import subprocess

import pytest

from difftest.external import ExternalProcess

SZ_4K, SZ_8K, SZ_64K, SZ_1M, SZ_16M = 1 << 12, 1 << 13, 1 << 16, 1 << 20, 1 << 24
MSM_PGSIZES = SZ_4K | SZ_64K | SZ_1M | SZ_16M
READ, WRITE, CACHE, NOEXEC, MMIO, PRIV = 1, 2, 4, 8, 16, 32
ALL = (1 << 64) - 1


@pytest.fixture
def msm(binary):
    """``(version, proc)``: a started harness with a v7s-msm domain."""
    version, path = binary
    with ExternalProcess([str(path), "--format", "v7s-msm"]) as proc:
        proc.start()
        reply = proc.request("domain_alloc", pgsize_bitmap=ALL, ias=32, oas=32)
        assert reply["ret"] == 0, reply
        yield version, proc
        free = proc.request("domain_free")
        # free_io_pgtable_ops -> io_pgtable_tlb_flush_all -> __flush_iotlb (TLBIALL)
        assert free["table_pages"] == 0 and free["tlb"] == [("all",)]


def map_(proc, iova, paddr, pgsize=SZ_4K, pgcount=1, prot=READ | WRITE):
    return proc.request("map_pages", iova=iova, paddr=paddr, pgsize=pgsize, pgcount=pgcount,
                        prot=prot)


def unmap(proc, iova, pgsize=SZ_4K, pgcount=1):
    return proc.request("unmap_pages", iova=iova, pgsize=pgsize, pgcount=pgcount)


def test_hello_and_domain_alloc(binary):
    version, path = binary
    with ExternalProcess([str(path), "--format", "v7s-msm"]) as proc:
        hello = proc.start()
        assert hello.name == f"linux-{version}-v7s-msm" and hello.driver_only
        # msm_iommu_ops: .iotlb_sync = NULL, .iotlb_sync_map = msm_iommu_sync_map
        assert hello.ops == {"hello", "domain_alloc", "domain_free", "map_pages", "unmap_pages",
                             "iotlb_sync_map", "iova_to_phys", "dump", "fail_alloc"}
        # 6.1's msm_iommu_map calls priv->iop->map (one page); 6.12's iop->map_pages
        assert hello.core == ("map-v5.15" if version == "6.1" else "map_pages")
        reply = proc.request("domain_alloc", pgsize_bitmap=ALL, ias=48, oas=48)
        # msm_iommu_domain_config: ias 32 and oas 32 whatever is asked; no NO_PERMS, so
        # READ-only vs READ|WRITE, PRIV and NOEXEC survive besides the memory type
        assert (reply["ret"], reply["pgsize_bitmap"], reply["ias"], reply["oas"],
                reply["prot_mask"]) == (0, MSM_PGSIZES, 32, 32, CACHE | NOEXEC | MMIO | PRIV)
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_4K | (1 << 21), ias=32,
                            oas=32)["pgsize_bitmap"] == SZ_4K
        assert proc.request("domain_alloc", pgsize_bitmap=1 << 21, ias=32, oas=32)["ret"] == -22


def test_no_iotlb_sync(binary):
    version, path = binary
    lines = ['{"op":"hello","version":1}',
             '{"op":"domain_alloc","pgsize_bitmap":%d,"ias":32,"oas":32}' % MSM_PGSIZES,
             '{"op":"iotlb_sync"}']
    out = subprocess.run([str(path), "--format", "v7s-msm"], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[2] == '{"error":"unsupported"}'


def test_sync_map_flushes_the_range(msm):
    version, proc = msm
    reply = map_(proc, SZ_1M + SZ_4K, 0x20000, pgcount=2)
    # a new level-2 table is no invalidation; the leaves are not either
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (0, SZ_8K, [])
    # msm_iommu_sync_map: __flush_iotlb_range(iova, size, SZ_4K): one TLBIVA per 4K
    reply = proc.request("iotlb_sync_map", iova=SZ_1M + SZ_4K, size=SZ_8K)
    assert (reply["ret"], reply["tlb"]) == (0, [("range", SZ_1M + SZ_4K, SZ_8K)])
    # a size of 0 counts the int down through 2^32: every 4K of the 32-bit space
    assert proc.request("iotlb_sync_map", iova=0, size=0)["tlb"] == [("all",)]
    assert unmap(proc, SZ_1M + SZ_4K, pgcount=2)["ret"] == SZ_8K


def test_unmap_invalidates_each_leaf_at_once(msm):
    version, proc = msm
    # __arm_v7s_unmap -> io_pgtable_tlb_add_page -> __flush_iotlb_page: a TLBIVA per entry,
    # in the unmap call itself (there is no iotlb_sync to wait for)
    assert map_(proc, 0x100000, 0x200000, pgcount=2)["ret"] == 0
    reply = unmap(proc, 0x100000, pgcount=2)
    assert (reply["ret"], reply["tlb"]) == (SZ_8K, [("range", 0x100000, SZ_8K)])
    # a 64K large page: 16 replicated entries, 16 TLBIVAs of 4K
    assert map_(proc, 0x400000, 0x500000, pgsize=SZ_64K)["ret"] == 0
    reply = unmap(proc, 0x400000, pgsize=SZ_64K)
    assert (reply["ret"], reply["tlb"]) == (SZ_64K, [("range", 0x400000, SZ_64K)])
    # a section: one TLBIVA for its 1M; a supersection: 16 of 1M
    assert map_(proc, 0x800000, 0x900000, pgsize=SZ_1M)["ret"] == 0
    reply = unmap(proc, 0x800000, pgsize=SZ_1M)
    assert (reply["ret"], reply["tlb"]) == (SZ_1M, [("range", 0x800000, SZ_1M)])
    assert map_(proc, SZ_16M, SZ_16M, pgsize=SZ_16M)["ret"] == 0
    reply = unmap(proc, SZ_16M, pgsize=SZ_16M)
    assert (reply["ret"], reply["tlb"]) == (SZ_16M, [("range", SZ_16M, SZ_16M)])
    # a hole: nothing unmapped, nothing invalidated
    reply = unmap(proc, 0x100000)
    assert (reply["ret"], reply["tlb"]) == (0, [])


@pytest.mark.parametrize("live", [False, True])
def test_block_over_a_table_is_invalidated_in_the_map(msm, live):
    version, proc = msm
    assert map_(proc, SZ_1M + SZ_4K, 0x30000)["ret"] == 0
    if not live:
        assert unmap(proc, SZ_1M + SZ_4K)["ret"] == SZ_4K
    assert proc.request("dump")["tables"] == [[SZ_1M, SZ_1M]]
    # arm_v7s_init_pte: a section over a level-2 table (empty or not) unmaps it with
    # __arm_v7s_unmap -> io_pgtable_tlb_flush_walk(iova, 1M, 4K) -> __flush_iotlb_walk:
    # 256 TLBIVAs of 4K, before the table is freed, inside the map call
    reply = map_(proc, SZ_1M, 0x400000, pgsize=SZ_1M)
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (0, SZ_1M, [("range", SZ_1M, SZ_1M)])
    dump = proc.request("dump")
    assert dump["tables"] == [] and dump["leaves"] == [[SZ_1M, 0x400000, SZ_1M, 1, READ | WRITE]]
    assert unmap(proc, SZ_1M, pgsize=SZ_1M)["ret"] == SZ_1M


@pytest.mark.parametrize("prot, recorded", [
    (READ, READ),
    (WRITE, READ | WRITE),              # AP has no write-only: AP_RDONLY clear is read-write
    (READ | WRITE | CACHE, READ | WRITE | CACHE),
    (READ | NOEXEC | PRIV, READ | NOEXEC | PRIV),
    (READ | WRITE | MMIO | CACHE, READ | WRITE | MMIO),
])
@pytest.mark.parametrize("pgsize", [SZ_4K, SZ_64K, SZ_1M, SZ_16M])
def test_prot_decoding(msm, prot, recorded, pgsize):
    """arm_v7s_prot_to_pte without IO_PGTABLE_QUIRK_NO_PERMS: AF, AP_UNPRIV unless PRIV,
    AP_RDONLY unless WRITE, XN with NOEXEC; TEX/C/B for the memory type (large pages and
    sections keep them where arm_v7s_pte_to_cont / the level-1 layout put them)."""
    from linuxpt.formats import recorded_prot
    version, proc = msm
    assert recorded_prot("v7s-msm", prot) == recorded
    iova = 2 * SZ_16M
    assert map_(proc, iova, 3 * SZ_16M, pgsize=pgsize, prot=prot)["ret"] == 0
    dump = proc.request("dump")
    assert dump["leaves"] == [[iova, 3 * SZ_16M, pgsize, 1, recorded]] and "problems" not in dump
    assert unmap(proc, iova, pgsize=pgsize)["ret"] == pgsize
