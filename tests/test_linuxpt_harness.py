"""linuxpt: the harness built from a real kernel tree, spoken to with protocol v1.

Needs a kernel tree: $IOMMU_SPEC_KERNEL_6_1 / $IOMMU_SPEC_KERNEL_6_12 (the
root of a Linux source tree), or one fetched with ``iommu-spec kernel fetch
6.12`` (or 6.1).  Without any, these tests are skipped.
"""

import pytest

from difftest.external import ExternalProcess
from linuxpt.build import build

SZ_4K, SZ_16K, SZ_64K = 1 << 12, 1 << 14, 1 << 16
SZ_1M, SZ_2M, SZ_16M, SZ_32M = 1 << 20, 1 << 21, 1 << 24, 1 << 25
SZ_512M, SZ_1G = 1 << 29, 1 << 30
READ, WRITE, CACHE = 1, 2, 4
ENOMEM = 12

def start(binary, fmt):
    proc = ExternalProcess([str(binary), "--format", fmt])
    proc.start()
    return proc


def test_build_and_hello(binary):
    version, path = binary
    for fmt in ("lpae-s1", "v7s", "dart"):
        with ExternalProcess([str(path), "--format", fmt]) as proc:
            hello = proc.start()
            assert hello.name == f"linux-{version}-{fmt}"
            assert hello.driver_only and hello.semantics is None
            assert {"map_pages", "unmap_pages", "iotlb_sync", "iova_to_phys", "dump",
                    "fail_alloc", "domain_alloc", "domain_free"} <= hello.ops


def test_build_is_cached(trees, binaries):
    for version, tree in trees.items():
        assert build(tree) == binaries[version]


PROFILES = [
    ("lpae-s1", SZ_4K | SZ_2M | SZ_1G, 48, 48),
    ("lpae-s1", SZ_16K | SZ_32M, 48, 48),
    ("lpae-s1", SZ_64K | SZ_512M, 48, 48),
    ("v7s", SZ_4K | SZ_64K | SZ_1M | SZ_16M, 32, 32),
    ("dart", SZ_16K, 32, 36),
]


@pytest.mark.parametrize("fmt,bitmap,ias,oas", PROFILES)
def test_domain_alloc_profile(binary, fmt, bitmap, ias, oas):
    with start(binary[1], fmt) as proc:
        reply = proc.request("domain_alloc", pgsize_bitmap=bitmap, ias=ias, oas=oas)
        assert reply["ret"] == 0 and reply["pgsize_bitmap"] == bitmap
        assert proc.request("domain_free")["table_pages"] == 0


def test_domain_alloc_refused(binary):
    with start(binary[1], "dart") as proc:  # io-pgtable-dart takes oas 36 or 42 only
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_16K, ias=32, oas=48)["ret"] == -22
    with start(binary[1], "v7s") as proc:  # v7s: at most 34 bits of IOVA even with MTK_EXT
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_4K, ias=48, oas=32)["ret"] == -22


# (format, profile, a large leaf, the sync's expected tlb)
BLOCKS = [
    ("lpae-s1", (SZ_4K | SZ_2M | SZ_1G, 48, 48), SZ_2M, "range"),
    ("lpae-s1", (SZ_16K | SZ_32M, 48, 48), SZ_32M, "range"),
    ("lpae-s1", (SZ_64K | SZ_512M, 48, 48), SZ_512M, "range"),
    ("v7s", (SZ_4K | SZ_64K | SZ_1M | SZ_16M, 32, 32), SZ_1M, "range"),
    ("v7s", (SZ_4K | SZ_64K | SZ_1M | SZ_16M, 32, 32), SZ_16M, "range"),
    ("v7s", (SZ_4K | SZ_64K | SZ_1M | SZ_16M, 32, 32), SZ_64K, "range"),
    ("dart", (SZ_16K, 32, 36), SZ_16K, "all"),
]


@pytest.mark.parametrize("fmt,profile,size,flush", BLOCKS)
def test_map_dump_unmap_block(binary, fmt, profile, size, flush):
    bitmap, ias, oas = profile
    iova, paddr = 4 * size if size < SZ_1G else size, 2 * size
    with start(binary[1], fmt) as proc:
        assert proc.request("domain_alloc", pgsize_bitmap=bitmap, ias=ias, oas=oas)["ret"] == 0
        reply = proc.request("map_pages", iova=iova, paddr=paddr, pgsize=size, pgcount=1,
                             prot=READ | WRITE)
        assert (reply["ret"], reply["mapped"]) == (0, size)
        dump = proc.request("dump")
        assert [leaf[:4] for leaf in dump["leaves"]] == [[iova, paddr, size, 1]]
        assert dump["leaves"][0][4] & (READ | WRITE) == READ | WRITE
        assert proc.request("iova_to_phys", iova=iova + 0x123)["ret"] == paddr + 0x123
        assert proc.request("iova_to_phys", iova=iova + size)["ret"] == 0
        assert proc.request("unmap_pages", iova=iova, pgsize=size, pgcount=1)["ret"] == size
        tlb = proc.request("iotlb_sync")["tlb"]
        if flush == "all":
            assert tlb == [("all",)]
        else:
            assert tlb == [("range", iova, size)]
        assert proc.request("dump")["leaves"] == []
        assert proc.request("iova_to_phys", iova=iova)["ret"] == 0
        assert proc.request("domain_free")["table_pages"] == 0


@pytest.mark.parametrize("fmt,profile", [
    ("lpae-s1", (SZ_4K | SZ_2M | SZ_1G, 48, 48)),
    ("v7s", (SZ_4K | SZ_64K | SZ_1M | SZ_16M, 32, 32)),
    ("dart", (SZ_16K, 32, 36)),
])
def test_fail_alloc_and_table_pages(binary, fmt, profile):
    bitmap, ias, oas = profile
    page = bitmap & -bitmap
    with start(binary[1], fmt) as proc:
        assert proc.request("domain_alloc", pgsize_bitmap=bitmap, ias=ias, oas=oas)["ret"] == 0
        assert proc.request("fail_alloc", after=0)["ret"] == 0
        reply = proc.request("map_pages", iova=SZ_1G, paddr=SZ_1G, pgsize=page, pgcount=1,
                             prot=READ)
        assert (reply["ret"], reply["mapped"]) == (-ENOMEM, 0)
        # only once: the same map now gets its tables
        reply = proc.request("map_pages", iova=SZ_1G, paddr=SZ_1G, pgsize=page, pgcount=4,
                             prot=READ)
        assert (reply["ret"], reply["mapped"]) == (0, 4 * page)
        assert proc.request("fail_alloc", after=(1 << 62) - 1)["ret"] == 0
        for k in range(8):  # tables all over
            iova = 0x50000000 + k * 0x1100000
            assert proc.request("map_pages", iova=iova, paddr=iova, pgsize=page, pgcount=3,
                                prot=READ | WRITE)["ret"] == 0
        assert proc.request("domain_free")["table_pages"] == 0


def test_empty_table_stays_in_dump(binary):
    with start(binary[1], "lpae-s1") as proc:
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_4K | SZ_2M | SZ_1G, ias=48,
                            oas=48)["ret"] == 0
        assert proc.request("map_pages", iova=SZ_2M + SZ_4K, paddr=SZ_4K, pgsize=SZ_4K,
                            pgcount=2, prot=READ | WRITE)["ret"] == 0
        tables = proc.request("dump")["tables"]
        assert [SZ_2M, SZ_2M] in tables  # the level-3 table covering [2M, 4M)
        assert proc.request("unmap_pages", iova=SZ_2M + SZ_4K, pgsize=SZ_4K, pgcount=2)["ret"] \
            == 2 * SZ_4K
        assert proc.request("iotlb_sync")["tlb"] == [("range", SZ_2M + SZ_4K, 2 * SZ_4K)]
        dump = proc.request("dump")
        assert dump["leaves"] == [] and [SZ_2M, SZ_2M] in dump["tables"]
        # a block over the empty table: io-pgtable-arm frees it and flushes the walk
        reply = proc.request("map_pages", iova=SZ_2M, paddr=SZ_2M, pgsize=SZ_2M, pgcount=1,
                             prot=READ)
        assert reply["ret"] == 0 and reply["tlb"] == [("range", SZ_2M, SZ_2M)]
        dump = proc.request("dump")
        assert [SZ_2M, SZ_2M] not in dump["tables"]
        assert [leaf[:4] for leaf in dump["leaves"]] == [[SZ_2M, SZ_2M, SZ_2M, 1]]
        assert proc.request("domain_free")["table_pages"] == 0


def test_lpae_prot_decoding(binary):
    NOEXEC, MMIO, PRIV = 8, 16, 32
    with start(binary[1], "lpae-s1") as proc:
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_4K | SZ_2M | SZ_1G, ias=48,
                            oas=48)["ret"] == 0
        cases = [READ, READ | WRITE, WRITE, READ | CACHE, READ | MMIO, READ | NOEXEC | PRIV,
                 READ | MMIO | CACHE]
        expect = [READ, READ | WRITE, READ | WRITE, READ | CACHE, READ | MMIO,
                  READ | NOEXEC | PRIV, READ | MMIO]
        for k, prot in enumerate(cases):
            assert proc.request("map_pages", iova=k * SZ_2M, paddr=k * SZ_2M, pgsize=SZ_2M,
                                pgcount=1, prot=prot)["ret"] == 0
        prots = [prot for iova, _, size, count, prot in sorted(proc.request("dump")["leaves"])
                 for _ in range(count)]
        assert prots == expect
        proc.request("domain_free")


def test_lpae_partial_unmap_per_version(binary):
    """6.1 and 6.12 both split a 2M block on a 4K unmap (arm_lpae_split_blk_unmap)."""
    with start(binary[1], "lpae-s1") as proc:
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_4K | SZ_2M | SZ_1G, ias=48,
                            oas=48)["ret"] == 0
        assert proc.request("map_pages", iova=SZ_2M, paddr=SZ_1G, pgsize=SZ_2M, pgcount=1,
                            prot=READ)["ret"] == 0
        assert proc.request("unmap_pages", iova=SZ_2M, pgsize=SZ_4K, pgcount=1)["ret"] == SZ_4K
        leaves = proc.request("dump")["leaves"]
        assert leaves == [[SZ_2M + SZ_4K, SZ_1G + SZ_4K, SZ_4K, 511, READ]]
        assert proc.request("domain_free")["table_pages"] == 0


def test_ranged_dump(binary):
    """{"op":"dump","iova":I,"size":S} lists the leaves and tables that intersect [I, I+S) only."""
    with start(binary[1], "lpae-s1") as proc:
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_4K | SZ_2M | SZ_1G, ias=48,
                            oas=48)["ret"] == 0
        assert proc.request("map_pages", iova=SZ_4K, paddr=SZ_4K, pgsize=SZ_4K, pgcount=2,
                            prot=READ | WRITE)["ret"] == 0
        assert proc.request("map_pages", iova=SZ_1G, paddr=SZ_2M, pgsize=SZ_2M, pgcount=1,
                            prot=READ | WRITE)["ret"] == 0
        whole = proc.request("dump")
        assert [leaf[:4] for leaf in whole["leaves"]] == [[SZ_4K, SZ_4K, SZ_4K, 2],
                                                          [SZ_1G, SZ_2M, SZ_2M, 1]]
        assert sorted(whole["tables"]) == [[0, SZ_2M], [0, SZ_1G], [0, 512 * SZ_1G],
                                           [SZ_1G, SZ_1G]]
        part = proc.request("dump", iova=SZ_1G + SZ_4K, size=SZ_4K)
        assert [leaf[:4] for leaf in part["leaves"]] == [[SZ_1G, SZ_2M, SZ_2M, 1]]
        assert sorted(part["tables"]) == [[0, 512 * SZ_1G], [SZ_1G, SZ_1G]]
        assert proc.request("dump", iova=3 * SZ_4K, size=SZ_1G - 3 * SZ_4K)["leaves"] == []
        assert proc.request("domain_free")["table_pages"] == 0
