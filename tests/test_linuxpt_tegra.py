"""linuxpt: the tegra-smmu format (drivers/iommu/tegra-smmu.c, its own table) built from a real tree.

Needs a kernel tree with drivers/iommu/tegra-smmu.c: $IOMMU_SPEC_KERNEL_6_1 /
$IOMMU_SPEC_KERNEL_6_12, or one fetched with ``iommu-spec kernel fetch``.
Without any, these tests are skipped.  The harness's memory controller has
num_address_bits 32.  The expected replies are read off the driver (6.1.192 /
6.12.118): tegra_smmu_map / __tegra_smmu_map, tegra_smmu_unmap,
tegra_smmu_iova_to_phys, tegra_smmu_set_pte / _set_pde (their TLB flushes),
tegra_smmu_pte_put_use, tegra_smmu_as_prepare, tegra_smmu_probe.
"""

import pytest

from difftest.external import ExternalProcess
from tests.conftest import driver_domain, driver_harness

SZ_4K, SZ_16K, SZ_4M, SZ_4G = 1 << 12, 1 << 14, 1 << 22, 1 << 32
READ, WRITE = 1, 2
EINVAL, ENOMEM = 22, 12
DRIVER = "drivers/iommu/tegra-smmu.c"


@pytest.fixture
def tg(binary):
    """``(version, proc)``: a started harness with a tegra-smmu domain.  At the end the domain is
    freed, which leaves the page directory and every page table still in use
    (DOMAIN_FREE_LEAK: "TODO: free page directory and page tables"): the dump's tables and
    one."""
    yield from driver_domain(binary, "tegra-smmu", DRIVER, SZ_4K,
                             leaked=lambda tables: 1 + len(tables))


def map_(proc, iova, paddr, pgcount=1, prot=READ | WRITE):
    return proc.request("map_pages", iova=iova, paddr=paddr, pgsize=SZ_4K, pgcount=pgcount,
                        prot=prot)


def unmap(proc, iova, pgcount=1):
    return proc.request("unmap_pages", iova=iova, pgsize=SZ_4K, pgcount=pgcount)


def test_hello_and_domain_alloc(binary):
    version, path = driver_harness(binary, "tegra-smmu", DRIVER)
    with ExternalProcess([str(path), "--format", "tegra-smmu"]) as proc:
        hello = proc.start()
        assert hello.name == f"linux-{version}-tegra-smmu" and hello.driver_only
        assert hello.ops == {"hello", "domain_alloc", "domain_free", "map_pages", "unmap_pages",
                             "iova_to_phys", "dump", "fail_alloc"}
        assert hello.core == ("map-v5.15" if version == "6.1" else "map_pages")
        reply = proc.request("domain_alloc", pgsize_bitmap=SZ_4K | SZ_4M, ias=32, oas=32)
        assert (reply["ret"], reply["pgsize_bitmap"], reply["ias"], reply["oas"],
                reply["prot_mask"]) == (0, SZ_4K, 32, 32, READ | WRITE)
        # tegra_smmu_probe's smmu_flush_tlb, then tegra_smmu_as_prepare's smmu_flush_tlb_asid
        assert reply["tlb"] == [("all",), ("all",)]
        dump = proc.request("dump")
        assert dump["leaves"] == [] and dump["tables"] == [] and "problems" not in dump
        # a domain freed with a live mapping leaves its directory and that page table
        # (DOMAIN_FREE_LEAK); a page table emptied by unmap was freed already
        assert map_(proc, SZ_4M, 0x5000)["ret"] == 0
        assert map_(proc, 3 * SZ_4M, 0x6000)["ret"] == 0
        assert unmap(proc, 3 * SZ_4M)["ret"] == SZ_4K
        assert proc.request("domain_free")["table_pages"] == 2
        # the count is per domain: the next one starts from 0
        reply = proc.request("domain_alloc", pgsize_bitmap=SZ_4K, ias=32, oas=32)
        assert (reply["ret"], reply["tlb"]) == (0, [("all",)])
        assert map_(proc, SZ_4M, 0x6000)["ret"] == 0
        assert proc.request("dump")["leaves"] == [[SZ_4M, 0x6000, SZ_4K, 1, READ | WRITE]]
        assert proc.request("domain_free")["table_pages"] == 2
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_4K, ias=32, oas=32)["ret"] == 0
        assert proc.request("domain_free")["table_pages"] == 1  # the directory alone
        assert proc.request("domain_alloc", pgsize_bitmap=SZ_4M, ias=32, oas=32)["ret"] == -EINVAL


def test_map_overwrite_unmap(tg):
    version, proc = tg
    # the first page of a 4M section: a new PT (its PDE: a section flush), then the PTE (group)
    reply = map_(proc, SZ_4M + SZ_16K, 0x2345000, pgcount=2)
    assert (reply["ret"], reply["mapped"]) == (0, 2 * SZ_4K if version == "6.1" else SZ_4K)
    assert reply["tlb"] == [("range", SZ_4M, SZ_4M)]
    reply = map_(proc, SZ_4M + 3 * SZ_16K, 0x7000, prot=READ)
    assert (reply["ret"], reply["tlb"]) == (0, [("range", SZ_4M + 3 * SZ_16K, SZ_16K)])
    # a live PTE is overwritten: no error
    reply = map_(proc, SZ_4M + SZ_16K, 0x9000, prot=WRITE)
    assert (reply["ret"], reply["mapped"]) == (0, SZ_4K)
    # prot 0 maps (NS only)
    assert map_(proc, SZ_4M + 4 * SZ_16K, 0xa000, prot=0)["ret"] == 0
    leaves = proc.request("dump")["leaves"]
    assert leaves[0] == [SZ_4M + SZ_16K, 0x9000, SZ_4K, 1, WRITE]
    assert leaves[-2:] == [[SZ_4M + 3 * SZ_16K, 0x7000, SZ_4K, 1, READ],
                           [SZ_4M + 4 * SZ_16K, 0xa000, SZ_4K, 1, 0]]
    assert proc.request("iova_to_phys", iova=SZ_4M + SZ_16K + 0x123)["ret"] == 0x9123
    assert proc.request("iova_to_phys", iova=SZ_4M + SZ_4K)["ret"] == 0
    assert proc.request("iova_to_phys", iova=SZ_4G + SZ_4M + SZ_16K)["ret"] == 0x9000  # aliasing
    # a hole ends the unmap
    reply = unmap(proc, SZ_4M + 3 * SZ_16K, 2)
    assert reply["ret"] == SZ_4K
    assert reply["tlb"] == [("range", SZ_4M + 3 * SZ_16K, SZ_16K)]
    assert unmap(proc, SZ_4M)["ret"] == 0
    # the last PTE of a PT: the PT is freed (its PDE cleared: a section flush)
    for iova in (SZ_4M + SZ_16K, SZ_4M + SZ_16K + SZ_4K, SZ_4M + 4 * SZ_16K):
        if version == "6.12" and iova == SZ_4M + SZ_16K + SZ_4K:
            continue  # 6.12 mapped one page of the two
        assert unmap(proc, iova)["ret"] == SZ_4K
    dump = proc.request("dump")
    assert dump["leaves"] == [] and dump["tables"] == []


def test_fail_alloc(tg):
    version, proc = tg
    assert proc.request("fail_alloc", after=0)["ret"] == 0
    reply = map_(proc, 0x500000, 0x5000)  # the PT's page fails: -ENOMEM
    assert (reply["ret"], reply["mapped"]) == (-ENOMEM, 0)
    assert proc.request("dump")["tables"] == []
    assert map_(proc, 0x500000, 0x5000)["ret"] == 0
