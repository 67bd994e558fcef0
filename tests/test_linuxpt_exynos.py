"""linuxpt: the exynos format (drivers/iommu/exynos-iommu.c, its own table) built from a real tree.

Needs a kernel tree with drivers/iommu/exynos-iommu.c: $IOMMU_SPEC_KERNEL_6_1 /
$IOMMU_SPEC_KERNEL_6_12, or one fetched with ``iommu-spec kernel fetch``.
Without any, these tests are skipped.  The harness's SysMMU is version 3.3
(32-bit PA, PG_ENT_SHIFT 0, the FLPD cache invalidation on); the expected
replies are read off the driver (6.1.192 / 6.12.118): exynos_iommu_map,
alloc_lv2entry, lv1set_section, lv2set_page, exynos_iommu_unmap,
exynos_iommu_iova_to_phys, sysmmu_tlb_invalidate_entry / _flpdcache,
__sysmmu_enable.
"""


import pytest

from difftest.external import ExternalProcess
from tests.conftest import driver_domain, driver_harness

SZ_4K, SZ_64K, SZ_1M, SZ_4G = 1 << 12, 1 << 16, 1 << 20, 1 << 32
READ, WRITE = 1, 2
ENOMEM, EINVAL, EADDRINUSE = 12, 22, 98
EXY_BITMAP = SZ_1M | SZ_64K | SZ_4K  # SECT_SIZE | LPAGE_SIZE | SPAGE_SIZE
DRIVER = "drivers/iommu/exynos-iommu.c"


@pytest.fixture
def exy(binary):
    """``(version, proc)``: a started harness with an exynos domain."""
    yield from driver_domain(binary, "exynos", DRIVER, EXY_BITMAP)


def map_(proc, iova, paddr, pgsize=SZ_4K, prot=READ | WRITE):
    return proc.request("map_pages", iova=iova, paddr=paddr, pgsize=pgsize, pgcount=1, prot=prot)


def unmap(proc, iova, pgsize):
    return proc.request("unmap_pages", iova=iova, pgsize=pgsize, pgcount=1)


def test_hello_and_domain_alloc(binary):
    version, path = driver_harness(binary, "exynos", DRIVER)
    with ExternalProcess([str(path), "--format", "exynos"]) as proc:
        hello = proc.start()
        assert hello.name == f"linux-{version}-exynos" and hello.driver_only
        assert hello.ops == {"hello", "domain_alloc", "domain_free", "map_pages", "unmap_pages",
                             "iova_to_phys", "dump", "fail_alloc"}
        assert hello.core == ("map-v5.15" if version == "6.1" else "map_pages")
        reply = proc.request("domain_alloc", pgsize_bitmap=EXY_BITMAP, ias=32, oas=32)
        assert (reply["ret"], reply["pgsize_bitmap"], reply["ias"], reply["oas"],
                reply["prot_mask"]) == (0, EXY_BITMAP, 32, 32, READ)
        # __sysmmu_enable -> __sysmmu_set_ptbase -> __sysmmu_tlb_invalidate (flush_all)
        assert reply["tlb"] == [("all",)]
        # every lv1 entry links to the shared empty lv2 table: no leaf, no table of the domain
        dump = proc.request("dump")
        assert dump["leaves"] == [] and dump["tables"] == [] and "problems" not in dump
        free = proc.request("domain_free")
        assert free["table_pages"] == 0 and free["tlb"] == []  # the driver keeps zero_lv2_table
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_4K | 1 << 21, ias=32,
                            oas=32)["pgsize_bitmap"] == SZ_4K
        assert proc.request("domain_alloc", pgsize_bitmap=1 << 21, ias=32, oas=32)["ret"] == -EINVAL


def test_small_pages(exy):
    version, proc = exy
    reply = map_(proc, 0x101000, 0x2345000)
    # a new lv2 table replaces ZERO_LV2LINK: the v3.3 FLPD cache invalidation of that IOVA
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (0, SZ_4K, [("range", 0x101000, SZ_4K)])
    reply = map_(proc, 0x102000, 0x2346000, prot=READ)
    assert (reply["ret"], reply["tlb"]) == (0, [])  # the table exists: nothing to invalidate
    reply = map_(proc, 0x101000, 0x7000)
    # lv2set_page: WARN_ON(!lv2ent_fault(pent)) -> -EADDRINUSE
    assert (reply["ret"], reply["mapped"], reply["tlb"], reply.get("warnings")) == (
        -EADDRINUSE, 0, [], 1)
    dump = proc.request("dump")
    assert dump["leaves"] == [[0x101000, 0x2345000, SZ_4K, 1, READ | WRITE],
                              [0x102000, 0x2346000, SZ_4K, 1, READ]]
    assert dump["tables"] == [[SZ_1M, SZ_1M]]
    assert proc.request("iova_to_phys", iova=0x101123)["ret"] == 0x2345123
    assert proc.request("iova_to_phys", iova=0x103000)["ret"] == 0
    reply = unmap(proc, 0x101000, SZ_4K)
    assert (reply["ret"], reply["tlb"]) == (SZ_4K, [("range", 0x101000, SZ_4K)])


def test_sections(exy):
    version, proc = exy
    reply = map_(proc, SZ_1M, 0x40000000, pgsize=SZ_1M, prot=READ)
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (0, SZ_1M, [])
    assert proc.request("dump")["leaves"] == [[SZ_1M, 0x40000000, SZ_1M, 1, READ]]
    assert proc.request("iova_to_phys", iova=SZ_1M + 0x12345)["ret"] == 0x40012345
    # alloc_lv2entry: "Trying mapping on ... mapped with 1MiB page"
    reply = map_(proc, SZ_1M + SZ_4K, 0x7000)
    assert (reply["ret"], reply.get("warnings")) == (-EADDRINUSE, 1)
    assert map_(proc, SZ_1M, 0x50000000, pgsize=SZ_1M)["ret"] == -EADDRINUSE
    # part of a section: WARN_ON(size < SECT_SIZE) -> 0, nothing unmapped or invalidated
    for iova in (SZ_1M, SZ_1M + SZ_4K):
        reply = unmap(proc, iova, SZ_4K)
        assert (reply["ret"], reply["tlb"], reply.get("warnings")) == (0, [], 1)
    # one flush_entry at the section's IOVA: the TLB entry of the whole section
    reply = unmap(proc, SZ_1M, SZ_1M)
    assert (reply["ret"], reply["tlb"]) == (SZ_1M, [("range", SZ_1M, SZ_1M)])
    dump = proc.request("dump")
    assert dump["leaves"] == [] and dump["tables"] == []  # back to ZERO_LV2LINK


def test_section_over_a_table(exy):
    version, proc = exy
    base = 2 * SZ_1M
    assert map_(proc, base + SZ_4K, 0x9000)["ret"] == 0
    # the table holds a live entry (lv2entcnt != NUM_LV2ENTRIES): -EADDRINUSE
    assert map_(proc, base, 0x40000000, pgsize=SZ_1M)["ret"] == -EADDRINUSE
    assert unmap(proc, base + SZ_4K, SZ_4K)["ret"] == SZ_4K
    assert proc.request("dump")["tables"] == [[base, SZ_1M]]  # emptied, not freed
    # an empty table: lv1set_section frees it and installs the section
    reply = map_(proc, base, 0x40000000, pgsize=SZ_1M)
    assert (reply["ret"], reply["tlb"]) == (0, [])
    dump = proc.request("dump")
    assert dump["leaves"] == [[base, 0x40000000, SZ_1M, 1, READ | WRITE]] and dump["tables"] == []


def test_large_pages(exy):
    version, proc = exy
    base = 3 * SZ_1M + SZ_64K
    # WRITE alone: SYSMMU_LV2_PROT has no write-only encoding ("use read/write")
    reply = map_(proc, base, 0x1230000, pgsize=SZ_64K, prot=WRITE)
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (0, SZ_64K, [("range", base, SZ_4K)])
    assert proc.request("dump")["leaves"] == [[base, 0x1230000, SZ_64K, 1, READ | WRITE]]
    assert proc.request("iova_to_phys", iova=base + 0x1234)["ret"] == 0x1231234
    assert map_(proc, base + 2 * SZ_4K, 0x7000)["ret"] == -EADDRINUSE
    # part of a large page: WARN_ON(size < LPAGE_SIZE) -> 0
    reply = unmap(proc, base + 4 * SZ_4K, SZ_4K)
    assert (reply["ret"], reply.get("warnings")) == (0, 1)
    reply = unmap(proc, base, SZ_64K)
    assert (reply["ret"], reply["tlb"]) == (SZ_64K, [("range", base, SZ_64K)])
    # a 64K page over a live 4K: the slots written before it are zeroed again
    assert map_(proc, base + 5 * SZ_4K, 0x8000)["ret"] == 0
    assert map_(proc, base, 0x1230000, pgsize=SZ_64K)["ret"] == -EADDRINUSE
    assert proc.request("dump")["leaves"] == [[base + 5 * SZ_4K, 0x8000, SZ_4K, 1, READ | WRITE]]


def test_holes_are_counted(exy):
    version, proc = exy
    # an lv1 fault (ZERO_LV2LINK): min(pgsize, SECT_SIZE), with an invalidation
    reply = unmap(proc, 8 * SZ_1M, SZ_1M)
    assert (reply["ret"], reply["tlb"]) == (SZ_1M, [("range", 8 * SZ_1M, SZ_4K)])
    assert map_(proc, 9 * SZ_1M, 0x9000)["ret"] == 0
    # an lv2 fault: SPAGE_SIZE, whatever the pgsize
    reply = unmap(proc, 9 * SZ_1M + SZ_64K, SZ_64K)
    assert (reply["ret"], reply["tlb"]) == (SZ_4K, [("range", 9 * SZ_1M + SZ_64K, SZ_4K)])


def test_iova_past_4g_prot_and_paddr(exy):
    version, proc = exy
    # sysmmu_iova_t is a u32: 2^32 + X is X
    reply = map_(proc, SZ_4G + 0x400000, 0x6000)
    assert (reply["ret"], reply["tlb"]) == (0, [("range", 0x400000, SZ_4K)])
    assert proc.request("iova_to_phys", iova=0x400000)["ret"] == 0x6000
    assert map_(proc, 0x400000, 0x6000)["ret"] == -EADDRINUSE
    # prot & (READ | WRITE) indexes LV2_PROT: 0 is a live entry with no access
    assert map_(proc, 0x401000, 0x3000, prot=0)["ret"] == 0
    assert proc.request("iova_to_phys", iova=0x401000)["ret"] == 0x3000
    assert map_(proc, 0x402000, 0x4000, prot=READ | 0x3C)["ret"] == 0
    # mk_lv2ent_spage keeps 32 bits of PA (PG_ENT_SHIFT 0)
    assert map_(proc, 0x403000, SZ_4G + 0x5000, prot=READ | WRITE)["ret"] == 0
    assert proc.request("dump")["leaves"] == [[0x400000, 0x6000, SZ_4K, 1, READ | WRITE],
                                              [0x401000, 0x3000, SZ_4K, 1, 0],
                                              [0x402000, 0x4000, SZ_4K, 1, READ],
                                              [0x403000, 0x5000, SZ_4K, 1, READ | WRITE]]


def test_fail_alloc_covers_lv2_tables(exy):
    version, proc = exy
    assert proc.request("fail_alloc", after=0)["ret"] == 0
    reply = map_(proc, 16 * SZ_1M, 0x9000)
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (-ENOMEM, 0, [])
    assert proc.request("dump")["tables"] == []
    # a section allocates nothing: fail_alloc stays armed for the next table
    assert proc.request("fail_alloc", after=0)["ret"] == 0
    assert map_(proc, 17 * SZ_1M, 0x40000000, pgsize=SZ_1M)["ret"] == 0
    assert map_(proc, 18 * SZ_1M, 0x9000)["ret"] == -ENOMEM
    for k in range(4):
        assert map_(proc, (20 + k) * SZ_1M, 0x9000)["ret"] == 0
    assert len(proc.request("dump")["tables"]) == 4
