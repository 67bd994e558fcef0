"""linuxpt: the rockchip format (drivers/iommu/rockchip-iommu.c, its own table) built from a real tree.

Needs a kernel tree with drivers/iommu/rockchip-iommu.c: $IOMMU_SPEC_KERNEL_6_1 /
$IOMMU_SPEC_KERNEL_6_12, or one fetched with ``iommu-spec kernel fetch``.
Without any, these tests are skipped.  The expected replies are read off the
driver (6.1.192 / 6.12.118): rk_iommu_map / rk_iommu_map_iova,
rk_iommu_unmap / rk_iommu_unmap_iova, rk_iommu_iova_to_phys, rk_mk_pte (v1),
rk_iommu_zap_iova(_first_last) / rk_iommu_zap_lines, rk_iommu_enable.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from difftest.external import ExternalProcess
from tests.conftest import driver_domain, driver_harness
from linuxpt.build import build

SZ_4K, SZ_16K, SZ_32K, SZ_64K = 1 << 12, 1 << 14, 1 << 15, 1 << 16
SZ_4M, SZ_1G, SZ_4G = 1 << 22, 1 << 30, 1 << 32
READ, WRITE = 1, 2
ENOMEM, EINVAL, EADDRINUSE = 12, 22, 98
RK_BITMAP = 0x007FF000  # RK_IOMMU_PGSIZE_BITMAP: 4K..4M
DRIVER = "drivers/iommu/rockchip-iommu.c"


@pytest.fixture
def rk(binary):
    """``(version, proc)``: a started harness with a rockchip domain (pgsize_bitmap RK_BITMAP)."""
    yield from driver_domain(binary, "rockchip", DRIVER, RK_BITMAP)


def map_(proc, iova, paddr, pgsize=SZ_4K, pgcount=1, prot=READ | WRITE):
    return proc.request("map_pages", iova=iova, paddr=paddr, pgsize=pgsize, pgcount=pgcount,
                        prot=prot)


def test_hello_and_domain_alloc(binary):
    version, path = driver_harness(binary, "rockchip", DRIVER)
    with ExternalProcess([str(path), "--format", "rockchip"]) as proc:
        hello = proc.start()
        assert hello.name == f"linux-{version}-rockchip" and hello.driver_only
        # no iotlb_sync / iotlb_sync_map: rk_iommu_ops has neither
        assert hello.ops == {"hello", "domain_alloc", "domain_free", "map_pages", "unmap_pages",
                             "iova_to_phys", "dump", "fail_alloc"}
        # 6.1: ->map / ->unmap only (the core goes page by page); 6.12: ->map_pages
        assert hello.core == ("map-v5.15" if version == "6.1" else "map_pages")
        reply = proc.request("domain_alloc", pgsize_bitmap=RK_BITMAP, ias=32, oas=32)
        assert (reply["ret"], reply["pgsize_bitmap"], reply["ias"], reply["oas"],
                reply["prot_mask"]) == (0, RK_BITMAP, 32, 32, READ | WRITE)
        # attach: rk_iommu_enable zaps the whole IOTLB (RK_MMU_CMD_ZAP_CACHE)
        assert reply["tlb"] == [("all",)]
        dump = proc.request("dump")
        assert dump["leaves"] == [] and dump["tables"] == [] and "problems" not in dump
        free = proc.request("domain_free")
        assert free["table_pages"] == 0 and free["tlb"] == []  # rk_iommu_disable zaps nothing
        # the page sizes are the driver's, cut to those asked for; none left: -EINVAL
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_4K | SZ_16K | SZ_1G, ias=32,
                            oas=32)["pgsize_bitmap"] == SZ_4K | SZ_16K
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_1G, ias=32, oas=32)["ret"] == -EINVAL


def test_no_iotlb_sync(binary):
    version, path = driver_harness(binary, "rockchip", DRIVER)
    lines = ['{"op":"hello","version":1}',
             '{"op":"domain_alloc","pgsize_bitmap":%d,"ias":32,"oas":32}' % RK_BITMAP,
             '{"op":"iotlb_sync"}', '{"op":"iotlb_sync_map","iova":0,"size":4096}']
    out = subprocess.run([str(path), "--format", "rockchip"], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[2:] == ['{"error":"unsupported"}'] * 2


def test_map_twice_is_eaddrinuse(rk):
    version, proc = rk
    iova, paddr = 0x101000, 0x2345000
    reply = map_(proc, iova, paddr)
    # rk_iommu_zap_iova_first_last: the first (and only) 4K line
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (0, SZ_4K, [("range", iova, SZ_4K)])
    reply = map_(proc, iova, 0x7000, prot=READ)
    # rk_iommu_map_iova: a valid PTE -> unwind, -EADDRINUSE, no zap
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (-EADDRINUSE, 0, [])
    assert proc.request("dump")["leaves"] == [[iova, paddr, SZ_4K, 1, READ | WRITE]]
    assert proc.request("iova_to_phys", iova=iova + 0x123)["ret"] == paddr + 0x123
    assert proc.request("iova_to_phys", iova=iova + SZ_4K)["ret"] == 0


def test_failed_map_unwinds_its_own_ptes(rk):
    version, proc = rk
    assert map_(proc, 0x22000, 0x9000)["ret"] == 0
    # 16K at 0x20000: PTEs 0x20000 and 0x21000 are written, 0x22000 is live -> unwind
    reply = map_(proc, 0x20000, 0x40000, pgsize=SZ_16K)
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (-EADDRINUSE, 0, [])
    dump = proc.request("dump")
    assert dump["leaves"] == [[0x22000, 0x9000, SZ_4K, 1, READ | WRITE]]
    assert dump["tables"] == [[0, SZ_4M]]
    assert proc.request("iova_to_phys", iova=0x20000)["ret"] == 0


def test_one_call_maps_one_pgsize_of_4k_ptes(rk):
    version, proc = rk
    # pgsize 16K: four 4K PTEs, zaps of the first and last line only
    reply = map_(proc, 0x10000, 0x80000, pgsize=SZ_16K, prot=READ)
    assert (reply["ret"], reply["mapped"]) == (0, SZ_16K)
    assert reply["tlb"] == [("range", 0x10000, SZ_4K), ("range", 0x13000, SZ_4K)]
    assert proc.request("dump")["leaves"] == [[0x10000, 0x80000, SZ_4K, 4, READ]]
    # 6.12's rk_iommu_map ignores pgcount (*mapped = size); 6.1's ->map is called per page
    reply = map_(proc, 0x100000, 0x100000, pgcount=3)
    assert (reply["ret"], reply["mapped"]) == (0, SZ_4K if version == "6.12" else 3 * SZ_4K)
    # 4M: one whole page table
    reply = map_(proc, SZ_4M, 0x800000, pgsize=SZ_4M)
    assert (reply["ret"], reply["mapped"]) == (0, SZ_4M)
    assert reply["tlb"] == [("range", SZ_4M, SZ_4K), ("range", 2 * SZ_4M - SZ_4K, SZ_4K)]
    dump = proc.request("dump", iova=SZ_4M, size=SZ_4M)
    assert dump["leaves"] == [[SZ_4M, 0x800000, SZ_4K, 1024, READ | WRITE]]
    # every line unmapped is zapped (one RK_MMU_ZAP_ONE_LINE write per 4K, reported merged)
    reply = proc.request("unmap_pages", iova=SZ_4M, pgsize=SZ_4M, pgcount=1)
    assert (reply["ret"], reply["tlb"]) == (SZ_4M, [("range", SZ_4M, SZ_4M)])


def test_unmap_stops_at_a_hole(rk):
    version, proc = rk
    assert map_(proc, 0x10000, 0x80000, pgsize=SZ_16K)["ret"] == 0
    # rk_iommu_unmap_iova breaks at the first invalid PTE: the mapped prefix
    reply = proc.request("unmap_pages", iova=0x10000, pgsize=SZ_32K, pgcount=1)
    assert (reply["ret"], reply["tlb"]) == (SZ_16K, [("range", 0x10000, SZ_16K)])
    # a hole in a page table that exists: 0, nothing zapped
    reply = proc.request("unmap_pages", iova=0x14000, pgsize=SZ_4K, pgcount=1)
    assert (reply["ret"], reply["tlb"]) == (0, [])
    # no page table under the DTE ("Just return 0 if iova is unmapped")
    assert proc.request("unmap_pages", iova=0x800000, pgsize=SZ_4K, pgcount=1)["ret"] == 0
    dump = proc.request("dump")
    assert dump["leaves"] == [] and dump["tables"] == [[0, SZ_4M]]  # the PT stays


def test_iova_past_4g_aliases(rk):
    version, proc = rk
    # rk_iova_dte_index keeps IOVA bits 31:22: 2^32 + X is X; the zap writes the u32 X
    reply = map_(proc, SZ_4G + 0x5000, 0x6000)
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (0, SZ_4K, [("range", 0x5000, SZ_4K)])
    assert proc.request("dump")["leaves"] == [[0x5000, 0x6000, SZ_4K, 1, READ | WRITE]]
    assert proc.request("iova_to_phys", iova=0x5000)["ret"] == 0x6000
    assert proc.request("iova_to_phys", iova=SZ_4G + 0x5000)["ret"] == 0x6000
    assert map_(proc, 0x5000, 0x6000)["ret"] == -EADDRINUSE
    reply = proc.request("unmap_pages", iova=SZ_4G + 0x5000, pgsize=SZ_4K, pgcount=1)
    assert (reply["ret"], reply["tlb"]) == (SZ_4K, [("range", 0x5000, SZ_4K)])


def test_prot_and_paddr_truncation(rk):
    version, proc = rk
    # prot 0 is a valid PTE with neither R nor W: it translates and blocks later maps
    assert map_(proc, 0x7000, 0x3000, prot=0)["ret"] == 0
    assert proc.request("iova_to_phys", iova=0x7000)["ret"] == 0x3000
    assert map_(proc, 0x7000, 0x3000)["ret"] == -EADDRINUSE
    # rk_mk_pte encodes READ and WRITE only
    assert map_(proc, 0x8000, 0x4000, prot=WRITE | 0x3C)["ret"] == 0
    # v1: page &= 0xfffff000: paddr bits above 31 are dropped
    assert map_(proc, 0x9000, SZ_4G + 0x5000, prot=READ)["ret"] == 0
    assert proc.request("dump")["leaves"] == [[0x7000, 0x3000, SZ_4K, 1, 0],
                                              [0x8000, 0x4000, SZ_4K, 1, WRITE],
                                              [0x9000, 0x5000, SZ_4K, 1, READ]]
    assert proc.request("iova_to_phys", iova=0x9000)["ret"] == 0x5000


def test_fail_alloc_covers_page_tables(rk):
    version, proc = rk
    assert proc.request("fail_alloc", after=0)["ret"] == 0
    reply = map_(proc, SZ_1G, SZ_1G)
    assert (reply["ret"], reply["mapped"], reply["tlb"]) == (-ENOMEM, 0, [])
    assert proc.request("dump")["tables"] == []
    assert map_(proc, SZ_1G, SZ_1G)["ret"] == 0
    # a page table that exists needs no allocation: fail_alloc stays armed for the next one
    assert proc.request("fail_alloc", after=0)["ret"] == 0
    assert map_(proc, SZ_1G + SZ_4K, SZ_1G)["ret"] == 0
    assert map_(proc, SZ_1G + SZ_4M, SZ_1G)["ret"] == -ENOMEM
    for k in range(5):
        assert map_(proc, k * SZ_4M + SZ_4K, SZ_4K)["ret"] == 0
    assert len(proc.request("dump")["tables"]) == 6


def test_tree_without_the_drivers(binary, trees, tmp_path):
    """A tree without the driver files builds; the harness refuses those formats in one line."""
    version, path = binary
    copy = tmp_path / "tree"
    shutil.copytree(Path(trees[version]), copy,
                    ignore=shutil.ignore_patterns("rockchip-iommu.c", "exynos-iommu.c",
                                                 "sun50i-iommu.c", "tegra-smmu.c", "s390-iommu.c",
                                                 "sprd-iommu.c", "omap-iommu.c", "virtio-iommu.c"))
    harness = build(copy, cache_dir=tmp_path / "cache")
    for fmt, driver in [("rockchip", DRIVER), ("exynos", "drivers/iommu/exynos-iommu.c"),
                        ("sun50i", "drivers/iommu/sun50i-iommu.c"),
                        ("tegra-smmu", "drivers/iommu/tegra-smmu.c"),
                        ("s390", "drivers/iommu/s390-iommu.c"),
                        ("sprd", "drivers/iommu/sprd-iommu.c"),
                        ("omap", "drivers/iommu/omap-iommu.c"),
                        ("virtio", "drivers/iommu/virtio-iommu.c")]:
        res = subprocess.run([str(harness), "--format", fmt], input="", capture_output=True,
                             text=True)
        assert res.returncode == 2
        assert res.stderr.count("\n") == 1 and f"format {fmt}: " in res.stderr
        assert f"built from a tree without {driver}" in res.stderr
    # the io-pgtable formats still work
    res = subprocess.run([str(harness), "--format", "lpae-s1"], input='{"op":"hello","version":1}\n',
                         capture_output=True, text=True)
    assert res.returncode == 0 and '"name":"linux-' in res.stdout
    res = subprocess.run([str(harness), "--format", "nope"], input="", capture_output=True,
                         text=True)
    assert res.returncode == 2 and "tegra-smmu, vtd, s390, sprd, v7s-msm, omap, virtio)" in res.stderr
