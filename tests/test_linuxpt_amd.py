"""linuxpt: the AMD IOMMU formats (amd-v1, amd-v2) of the harness built from a real kernel tree.

Needs a kernel tree with drivers/iommu/amd: $IOMMU_SPEC_KERNEL_6_1 /
$IOMMU_SPEC_KERNEL_6_12, or one fetched with ``iommu-spec kernel fetch``.
Without any, these tests are skipped.
"""

import pytest

from difftest.external import ExternalProcess

SZ_4K, SZ_8K, SZ_32K = 1 << 12, 1 << 13, 1 << 15
SZ_2M, SZ_1G, SZ_1T = 1 << 21, 1 << 30, 1 << 40
READ, WRITE = 1, 2
ENOMEM, EINVAL = 12, 22

# AMD_IOMMU_PGSIZES below 2^52 (6.1's also has 2^52..2^63) and AMD_IOMMU_PGSIZES_V2
V1_BITMAP = ((1 << 52) - 1) & ~(SZ_4K - 1) & ~(1 << 39)
V2_BITMAP = SZ_4K | SZ_2M | SZ_1G
BITMAP = {"amd-v1": V1_BITMAP, "amd-v2": V2_BITMAP}


def start(path, fmt):
    proc = ExternalProcess([str(path), "--format", fmt])
    proc.start()
    return proc


def alloc(proc, fmt):
    reply = proc.request("domain_alloc", pgsize_bitmap=BITMAP[fmt], ias=52, oas=52)
    assert reply["ret"] == 0, reply
    return reply


@pytest.mark.parametrize("fmt", ["amd-v1", "amd-v2"])
def test_hello_and_domain_alloc(binary, fmt):
    version, path = binary
    with ExternalProcess([str(path), "--format", fmt]) as proc:
        hello = proc.start()
        assert hello.name == f"linux-{version}-{fmt}" and hello.driver_only
        assert {"map_pages", "unmap_pages", "iotlb_sync", "iotlb_sync_map", "iova_to_phys",
                "dump", "fail_alloc"} <= hello.ops
        reply = alloc(proc, fmt)
        assert reply["pgsize_bitmap"] == BITMAP[fmt]
        assert (reply["ias"], reply["oas"]) == (52, 52)
        assert reply["prot_mask"] == (READ | WRITE if fmt == "amd-v1" else 0)
        assert proc.request("domain_free")["table_pages"] == 0
        # the page sizes the caller asks for are cut to the domain's; none left: -EINVAL
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_4K | SZ_2M, ias=48, oas=48)[
            "pgsize_bitmap"] == SZ_4K | SZ_2M
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_8K if fmt == "amd-v2" else 1 << 39,
                            ias=48, oas=48)["ret"] == -EINVAL


@pytest.mark.parametrize("fmt", ["amd-v1", "amd-v2"])
def test_map_dump_unmap_2m(binary, fmt):
    version, path = binary
    iova, paddr = 3 * SZ_2M, 5 * SZ_2M
    with start(path, fmt) as proc:
        alloc(proc, fmt)
        reply = proc.request("map_pages", iova=iova, paddr=paddr, pgsize=SZ_2M, pgcount=1,
                             prot=READ | WRITE)
        assert (reply["ret"], reply["mapped"]) == (0, SZ_2M) and not reply.get("tlb")
        dump = proc.request("dump")
        assert dump["leaves"] == [[iova, paddr, SZ_2M, 1, READ | WRITE]]
        # the 1G-span table under the root (v2: also the 512G-span one)
        assert [0, SZ_1G] in dump["tables"]
        assert len(dump["tables"]) == (1 if fmt == "amd-v1" else 2)
        assert proc.request("iova_to_phys", iova=iova + 0x123)["ret"] == paddr + 0x123
        assert proc.request("iova_to_phys", iova=iova + SZ_2M)["ret"] == 0
        assert proc.request("unmap_pages", iova=iova, pgsize=SZ_2M, pgcount=1)["ret"] == SZ_2M
        assert proc.request("iotlb_sync")["tlb"] == [("range", iova, SZ_2M)]
        dump = proc.request("dump")
        assert dump["leaves"] == [] and [0, SZ_1G] in dump["tables"]  # tables stay
        assert proc.request("iova_to_phys", iova=iova)["ret"] == 0
        # amd_iommu_iotlb_sync on an empty gather: [ULONG_MAX, +2) wraps: the whole domain
        assert proc.request("iotlb_sync")["tlb"] == [("all",)]
        assert proc.request("domain_free")["table_pages"] == 0


@pytest.mark.parametrize("size", [SZ_8K, SZ_32K, 1 << 25])
def test_v1_replicated_page_is_one_leaf(binary, size):
    """A v1 page between level sizes is 2..256 copies of one next-level-7 PTE: one leaf."""
    with start(binary[1], "amd-v1") as proc:
        alloc(proc, "amd-v1")
        iova, paddr = 4 * size, 8 * size
        assert proc.request("map_pages", iova=iova, paddr=paddr, pgsize=size, pgcount=2,
                            prot=READ)["ret"] == 0
        dump = proc.request("dump")
        assert dump["leaves"] == [[iova, paddr, size, 2, READ]] and "problems" not in dump
        assert proc.request("iova_to_phys", iova=iova + size + 5)["ret"] == paddr + size + 5
        # unmapping 4K inside the page removes all of it (fetch_pte finds the first copy)
        assert proc.request("unmap_pages", iova=iova + size + SZ_4K, pgsize=SZ_4K,
                            pgcount=1)["ret"] == size
        assert proc.request("dump")["leaves"] == [[iova, paddr, size, 1, READ]]
        assert proc.request("domain_free")["table_pages"] == 0


def test_v1_prot_and_grow(binary):
    version, path = binary
    with start(path, "amd-v1") as proc:
        alloc(proc, "amd-v1")
        for k, prot in enumerate([READ, WRITE, READ | WRITE | 4 | 8 | 16 | 32]):
            assert proc.request("map_pages", iova=k * SZ_4K, paddr=k * SZ_4K, pgsize=SZ_4K,
                                pgcount=1, prot=prot)["ret"] == 0
        assert [leaf[4] for leaf in proc.request("dump")["leaves"]] == [READ, WRITE, READ | WRITE]
        # no IR/IW: -EINVAL (iommu_v1_map_pages)
        assert proc.request("map_pages", iova=SZ_2M, paddr=0, pgsize=SZ_4K, pgcount=1,
                            prot=4)["ret"] == -EINVAL
        # far up: increase_address_space grows the table to 6 levels; no IOTLB command
        high = 1 << 62
        reply = proc.request("map_pages", iova=high, paddr=SZ_8K, pgsize=SZ_4K, pgcount=1,
                             prot=READ)
        assert reply["ret"] == 0 and not reply.get("tlb")
        dump = proc.request("dump")
        assert [high, SZ_8K, SZ_4K, 1, READ] in dump["leaves"]
        assert [0, 1 << 39] in dump["tables"]  # the old 3-level root, now under the new ones
        assert proc.request("iova_to_phys", iova=high + 7)["ret"] == SZ_8K + 7
        free = proc.request("domain_free")
        assert free["table_pages"] == 0
        # 6.1's v1_free_pgtable: amd_iommu_domain_update flushes the domain
        assert free.get("tlb", []) == ([("all",)] if version == "6.1" else [])


@pytest.mark.parametrize("fmt", ["amd-v1", "amd-v2"])
def test_fail_alloc(binary, fmt):
    with start(binary[1], fmt) as proc:
        alloc(proc, fmt)
        assert proc.request("fail_alloc", after=0)["ret"] == 0
        reply = proc.request("map_pages", iova=SZ_1G, paddr=SZ_1G, pgsize=SZ_4K, pgcount=1,
                             prot=READ)
        assert (reply["ret"], reply["mapped"]) == (-ENOMEM, 0)
        reply = proc.request("map_pages", iova=SZ_1G, paddr=SZ_1G, pgsize=SZ_4K, pgcount=4,
                             prot=READ)
        assert (reply["ret"], reply["mapped"]) == (0, 4 * SZ_4K)
        for k in range(8):
            iova = 0x50000000 + k * 0x1100000
            assert proc.request("map_pages", iova=iova, paddr=iova, pgsize=SZ_4K, pgcount=3,
                                prot=READ | WRITE)["ret"] == 0
        assert proc.request("domain_free")["table_pages"] == 0


def test_v1_map_over_live_page_and_holes(binary):
    """No -EEXIST: a live page is replaced silently; a hole in a level-0 table unmaps as 4K."""
    version, path = binary
    with start(path, "amd-v1") as proc:
        alloc(proc, "amd-v1")
        assert proc.request("map_pages", iova=SZ_2M, paddr=SZ_2M, pgsize=SZ_2M, pgcount=1,
                            prot=READ)["ret"] == 0
        reply = proc.request("map_pages", iova=SZ_2M, paddr=2 * SZ_2M, pgsize=SZ_2M, pgcount=1,
                             prot=READ)
        assert reply["ret"] == 0 and not reply.get("tlb")  # same level: nothing flushed
        # a 4K page inside the 2M page: a new table replaces the 2M page whole
        reply = proc.request("map_pages", iova=SZ_2M + SZ_4K, paddr=0, pgsize=SZ_4K, pgcount=1,
                             prot=READ)
        assert reply["ret"] == 0
        assert reply["tlb"] == ([("all",)] if version == "6.1" else [("range", SZ_2M + SZ_4K, SZ_4K)])
        assert proc.request("dump")["leaves"] == [[SZ_2M + SZ_4K, 0, SZ_4K, 1, READ]]
        # fetch_pte returns a level-0 PTE without looking at it: holes count
        assert proc.request("unmap_pages", iova=SZ_2M, pgsize=SZ_4K, pgcount=3)["ret"] == 3 * SZ_4K
        # above level 0 a missing entry ends the unmap
        assert proc.request("unmap_pages", iova=SZ_1G, pgsize=SZ_4K, pgcount=1)["ret"] == 0
        assert proc.request("domain_free")["table_pages"] == 0


def test_v2_aliases_above_48_bits(binary):
    with start(binary[1], "amd-v2") as proc:
        alloc(proc, "amd-v2")
        assert proc.request("map_pages", iova=(1 << 48) + SZ_2M, paddr=SZ_1G, pgsize=SZ_4K,
                            pgcount=1, prot=READ)["ret"] == 0
        assert proc.request("dump")["leaves"] == [[SZ_2M, SZ_1G, SZ_4K, 1, READ]]
        assert proc.request("iova_to_phys", iova=SZ_2M)["ret"] == SZ_1G
        assert proc.request("domain_free")["table_pages"] == 0
