"""linuxpt: the vtd format (Intel VT-d's own second-level dma_pte table) built from a real tree.

Needs a kernel tree with drivers/iommu/intel/iommu.c and iommu.h: $IOMMU_SPEC_KERNEL_6_1 /
$IOMMU_SPEC_KERNEL_6_12, or one fetched with ``iommu-spec kernel fetch``.  Without any,
these tests are skipped.  The expected replies are read off the driver (6.1.192 /
6.12.118): intel_iommu_map_pages / intel_iommu_map / __domain_mapping,
pfn_to_dma_pte, hardware_largepage_caps, switch_to_super_page, intel_iommu_unmap /
domain_unmap / dma_pte_clear_level, intel_iommu_tlb_sync (6.1 iommu_flush_iotlb_psi,
6.12 cache_tag_flush_range / calculate_psi_aligned_address), intel_iommu_iova_to_phys,
domain_exit; the IOMMU linuxpt models has MAMV 18 (a PSI covers at most 2^18 pages).
"""

import json
import subprocess

import pytest

from tests.conftest import driver_domain, driver_harness

SZ_4K, SZ_8K, SZ_32K = 1 << 12, 1 << 13, 1 << 15
SZ_2M, SZ_4M, SZ_1G, SZ_512G = 1 << 21, 1 << 22, 1 << 30, 1 << 39
READ, WRITE, CACHE = 1, 2, 4
ENOMEM, EFAULT, EINVAL = 12, 14, 22
VTD_BITMAP = SZ_4K | SZ_2M | SZ_1G  # SZ_4K | domain_super_pgsize_bitmap() with iommu_superpage 2
DRIVER = "drivers/iommu/intel/iommu.c"


@pytest.fixture
def vtd(binary):
    """``(version, proc)``: a started harness with a vtd domain (pgsize_bitmap 4K|2M|1G)."""
    yield from driver_domain(binary, "vtd", DRIVER, VTD_BITMAP)


def map_(proc, iova, paddr, pgsize=SZ_4K, pgcount=1, prot=READ | WRITE):
    return proc.request("map_pages", iova=iova, paddr=paddr, pgsize=pgsize, pgcount=pgcount,
                        prot=prot)


def tlb(reply):
    """The reply's invalidations as lists (ExternalProcess gives tuples)."""
    return [list(cmd) for cmd in reply.get("tlb", [])]


def unmap(proc, iova, pgsize=SZ_4K, pgcount=1):
    return proc.request("unmap_pages", iova=iova, pgsize=pgsize, pgcount=pgcount)


def run_lines(path, requests):
    """The replies and the result of a harness run over ``requests`` (which may abort it)."""
    lines = [{"op": "hello", "version": 1},
             {"op": "domain_alloc", "pgsize_bitmap": VTD_BITMAP, "ias": 48, "oas": 52}] + requests
    res = subprocess.run([str(path), "--format", "vtd"],
                         input="".join(json.dumps(r) + "\n" for r in lines),
                         capture_output=True, text=True)
    return [json.loads(ln) for ln in res.stdout.splitlines()[2:]], res


def test_hello_and_domain_alloc(binary):
    version, path = driver_harness(binary, "vtd", DRIVER)
    replies, res = run_lines(path, [{"op": "dump"}, {"op": "domain_free"},
                                    {"op": "domain_alloc", "pgsize_bitmap": SZ_4K | SZ_8K | SZ_1G,
                                     "ias": 48, "oas": 48},
                                    {"op": "domain_alloc", "pgsize_bitmap": SZ_8K, "ias": 48,
                                     "oas": 48}])
    assert res.returncode == 0, res.stderr
    hello = json.loads(res.stdout.splitlines()[0])
    assert hello["name"] == f"linux-{version}-vtd" and hello["core"] == "map_pages"
    assert set(hello["ops"]) == {"hello", "domain_alloc", "domain_free", "map_pages",
                                 "unmap_pages", "iotlb_sync", "iotlb_sync_map", "iova_to_phys",
                                 "dump", "fail_alloc"}
    alloc = json.loads(res.stdout.splitlines()[1])
    # 4 levels (agaw 2 after prepare_domain_attach_device), the PTE's address bits 51:12;
    # WRITE is the only prot bit that round-trips (every PTE has bit 0, READ)
    assert (alloc["ret"], alloc["pgsize_bitmap"], alloc["ias"], alloc["oas"],
            alloc["prot_mask"]) == (0, VTD_BITMAP, 48, 52, WRITE)
    assert "tlb" not in alloc  # a present context entry needs no flush without caching mode
    dump, free, cut, none = replies
    assert dump["leaves"] == [] and dump["tables"] == [] and "problems" not in dump
    # the device leaves the domain: a domain-selective IOTLB invalidation; domain_exit frees all
    assert free["table_pages"] == 0 and free["tlb"] == [["all"]]
    assert cut["pgsize_bitmap"] == SZ_4K | SZ_1G and none["ret"] == -EINVAL


def test_map_over_live_pte_warns_and_keeps_it(vtd):
    version, proc = vtd
    reply = map_(proc, 0, 0x5000)
    assert (reply["ret"], reply["mapped"]) == (0, SZ_4K) and not reply.get("tlb")
    dump = proc.request("dump")
    assert dump["leaves"] == [[0, 0x5000, SZ_4K, 1, READ | WRITE]]
    assert dump["tables"] == [[0, SZ_512G], [0, SZ_1G], [0, SZ_2M]]
    assert proc.request("iova_to_phys", iova=0x123)["ret"] == 0x5123
    # __domain_mapping: the cmpxchg finds a PTE, pr_crit + WARN_ON(1), and goes on: ret 0
    reply = map_(proc, 0, 0x9000, prot=READ)
    assert (reply["ret"], reply["mapped"], reply["warnings"]) == (0, SZ_4K, 1)
    assert proc.request("dump")["leaves"] == [[0, 0x5000, SZ_4K, 1, READ | WRITE]]


def test_prot(vtd):
    version, proc = vtd
    # neither DMA_PTE_READ nor DMA_PTE_WRITE: -EINVAL (CACHE etc. are not looked at)
    assert map_(proc, 0x10000, 0x5000, prot=0)["ret"] == -EINVAL
    assert map_(proc, 0x10000, 0x5000, prot=CACHE)["ret"] == -EINVAL
    # DMA_FL_PTE_PRESENT (bit 0 = DMA_PTE_READ) goes into every PTE: WRITE alone is READ|WRITE
    assert map_(proc, 0x11000, 0x6000, prot=WRITE | 0x3C)["ret"] == 0
    assert map_(proc, 0x12000, 0x7000, prot=READ)["ret"] == 0
    assert proc.request("dump")["leaves"] == [[0x11000, 0x6000, SZ_4K, 1, READ | WRITE],
                                              [0x12000, 0x7000, SZ_4K, 1, READ]]


def test_superpage_over_a_table_of_4k_pages(vtd):
    version, proc = vtd
    assert map_(proc, SZ_2M, SZ_1G, pgcount=3)["ret"] == 0
    assert [SZ_2M, SZ_2M] in proc.request("dump")["tables"]
    # switch_to_super_page: dma_pte_free_pagetable frees the level-1 table, then the
    # flush of the 2M (iommu_flush_iotlb_psi / cache_tag_flush_range)
    reply = map_(proc, SZ_2M, 2 * SZ_1G, pgsize=SZ_2M)
    assert (reply["ret"], reply["mapped"], tlb(reply)) == (0, SZ_2M, [["range", SZ_2M, SZ_2M]])
    dump = proc.request("dump")
    assert dump["leaves"] == [[SZ_2M, 2 * SZ_1G, SZ_2M, 1, READ | WRITE]]
    assert dump["tables"] == [[0, SZ_512G], [0, SZ_1G]]
    assert proc.request("iova_to_phys", iova=SZ_2M + 0x1234)["ret"] == 2 * SZ_1G + 0x1234
    # 512 2M pages on a 1G boundary: hardware_largepage_caps makes one 1G page
    reply = map_(proc, 6 * SZ_1G, 6 * SZ_1G, pgsize=SZ_2M, pgcount=512)
    assert (reply["ret"], reply["mapped"]) == (0, SZ_1G)
    assert proc.request("dump", iova=6 * SZ_1G, size=SZ_1G)["leaves"] == [
        [6 * SZ_1G, 6 * SZ_1G, SZ_1G, 1, READ | WRITE]]


def test_unmap_grows_to_the_page_and_syncs(vtd):
    version, proc = vtd
    assert map_(proc, SZ_4M, 3 * SZ_1G, pgsize=SZ_2M, pgcount=2, prot=READ)["ret"] == 0
    # intel_iommu_unmap: a 4K unmap at the start of a 2M page removes (and returns) the 2M
    reply = unmap(proc, SZ_4M)
    assert reply["ret"] == SZ_2M and not reply.get("tlb")
    assert tlb(proc.request("iotlb_sync")) == [["range", SZ_4M, SZ_2M]]
    assert proc.request("dump")["leaves"] == [[SZ_4M + SZ_2M, 3 * SZ_1G + SZ_2M, SZ_2M, 1, READ]]
    # 1024 4K pages: both level-1 tables are unlinked at once and freed at the sync
    assert map_(proc, 3 * SZ_1G, SZ_4K, pgcount=1024)["ret"] == 0
    assert unmap(proc, 3 * SZ_1G, pgcount=1024)["ret"] == SZ_4M
    assert [3 * SZ_1G, SZ_2M] not in proc.request("dump")["tables"]
    assert tlb(proc.request("iotlb_sync")) == [["range", 3 * SZ_1G, SZ_4M]]


def test_unmap_of_holes(vtd):
    version, proc = vtd
    assert map_(proc, 0, 0x5000)["ret"] == 0
    # a hole inside a level-1 table that exists: the size asked for; the PSI of pfn 3,
    # 2 pages is not aligned: mask 3, [0, 32K)
    assert unmap(proc, 0x3000, pgcount=2)["ret"] == SZ_8K
    assert tlb(proc.request("iotlb_sync")) == [["range", 0, SZ_32K]]
    # no table under the IOVA: pfn_to_dma_pte stops at the first absent entry and the
    # unmap grows to that level's span, clearing whatever else lies in it
    assert map_(proc, 6 * (1 << 20), 0x6000)["ret"] == 0
    assert unmap(proc, SZ_4M + SZ_8K)["ret"] == SZ_2M
    assert tlb(proc.request("iotlb_sync")) == [["range", SZ_4M, SZ_4M]]
    assert proc.request("dump")["leaves"] == [[0, 0x5000, SZ_4K, 1, READ | WRITE]]
    # pgd entry 1 is absent: a 4K unmap at 512G + 8M grows to 512G, up to 1024G + 8M
    assert map_(proc, 2 * SZ_512G, 0x7000)["ret"] == 0
    assert unmap(proc, SZ_512G + (8 << 20))["ret"] == SZ_512G
    assert tlb(proc.request("iotlb_sync")) == [["all"]]  # mask 27 > MAMV: domain-selective
    assert proc.request("dump")["leaves"] == [[0, 0x5000, SZ_4K, 1, READ | WRITE]]


def test_empty_gather_sync(vtd):
    version, proc = vtd
    # 6.1: size = end - start = 1, one page at IOVA_PFN(ULONG_MAX); 6.12:
    # calculate_psi_aligned_address gives mask 53 > MAMV: domain-selective
    expected = [["range", (1 << 64) - SZ_4K, SZ_4K]] if version == "6.1" else [["all"]]
    assert tlb(proc.request("iotlb_sync")) == expected


def test_range_checks(vtd):
    version, proc = vtd
    top = 1 << 48
    # intel_iommu_map: iova + size above __DOMAIN_MAX_ADDR(gaw) + 1 is -EFAULT
    assert map_(proc, top, 0x5000)["ret"] == -EFAULT
    assert map_(proc, top - SZ_4K, 0x5000, pgcount=2)["ret"] == -EFAULT
    assert map_(proc, top - SZ_4K, 0x5000)["ret"] == 0
    assert proc.request("iova_to_phys", iova=top)["ret"] == 0
    # page size and alignment (intel_iommu_map_pages)
    assert map_(proc, 0, 0, pgsize=SZ_8K)["ret"] == -EINVAL
    assert map_(proc, SZ_4K, 0, pgsize=SZ_2M)["ret"] == -EINVAL
    # no check on the paddr: bit 52 stays in the PTE and in iova_to_phys; dump reports
    # the address bits 51:12 and a problem
    assert map_(proc, SZ_4M, (1 << 52) + 0x7000)["ret"] == 0
    assert proc.request("iova_to_phys", iova=SZ_4M)["ret"] == (1 << 52) + 0x7000
    dump = proc.request("dump", iova=SZ_4M, size=SZ_4K)
    assert dump["leaves"] == [[SZ_4M, 0x7000, SZ_4K, 1, READ | WRITE]] and dump["problems"] == 1
    # unmapping at 2^48: 6.12 pfn_to_dma_pte gives NULL: 0 (6.1 BUG_ONs: below)
    if version == "6.12":
        assert unmap(proc, top)["ret"] == 0


def test_6_1_bug_on_unmap_past_the_domain(binary):
    version, path = driver_harness(binary, "vtd", DRIVER)
    if version != "6.1":
        pytest.skip("6.12 returns 0 (pfn_to_dma_pte is NULL)")
    replies, res = run_lines(path, [{"op": "unmap_pages", "iova": 1 << 48, "pgsize": SZ_4K,
                                     "pgcount": 1}])
    assert res.returncode != 0 and replies == []
    assert "kernel BUG at drivers/iommu/intel/iommu.c" in res.stderr
    assert "!pfn_to_dma_pte(" in res.stderr


def test_fail_alloc(vtd):
    version, proc = vtd
    assert proc.request("fail_alloc", after=0)["ret"] == 0
    assert map_(proc, 0, 0x5000)["ret"] == -ENOMEM
    assert proc.request("dump")["tables"] == []
    assert proc.request("fail_alloc", after=1)["ret"] == 0
    reply = map_(proc, 0, 0x5000)
    assert (reply["ret"], reply["mapped"]) == (-ENOMEM, 0)
    assert proc.request("dump")["tables"] == [[0, SZ_512G]]  # the level-3 table stays
    assert map_(proc, 0, 0x5000)["ret"] == 0
    # a map that runs into a new level-1 table: the PTEs written before the failure stay
    assert proc.request("fail_alloc", after=0)["ret"] == 0
    reply = map_(proc, SZ_2M - SZ_8K, 0x5000, pgcount=4)
    assert (reply["ret"], reply["mapped"]) == (-ENOMEM, 0)
    assert proc.request("dump")["leaves"] == [[0, 0x5000, SZ_4K, 1, READ | WRITE],
                                              [SZ_2M - SZ_8K, 0x5000, SZ_4K, 2, READ | WRITE]]


@pytest.mark.parametrize("case", ["map-4k-under-2m", "unmap-4k-inside-2m", "map-2m-under-1g"])
def test_walk_into_a_superpage_aborts(binary, case):
    """pfn_to_dma_pte (a smaller page under a live superpage) and dma_pte_clear_level (an
    unmap starting inside one) follow the superpage's output address as a table: the kernel
    reads and writes the mapped memory; the harness stops with one line."""
    version, path = driver_harness(binary, "vtd", DRIVER)
    big, small = (SZ_1G, SZ_2M) if case == "map-2m-under-1g" else (SZ_2M, SZ_4K)
    second = ({"op": "unmap_pages", "iova": 2 * big + SZ_4K, "pgsize": SZ_4K, "pgcount": 1}
              if case.startswith("unmap") else
              {"op": "map_pages", "iova": 2 * big + small, "paddr": 0x7000 if small == SZ_4K
               else SZ_2M * 7, "pgsize": small, "pgcount": 1, "prot": 3})
    replies, res = run_lines(path, [
        {"op": "map_pages", "iova": 2 * big, "paddr": 3 * SZ_1G, "pgsize": big, "pgcount": 1,
         "prot": 1}, second])
    assert res.returncode != 0 and replies[0]["ret"] == 0 and len(replies) == 1
    assert f"harness: vtd: the driver walks {hex(3 * SZ_1G)} as a page table" in res.stderr


def test_extract_definitions_without_a_tree():
    """build.extract_definitions: the seeds and what they name, transitively, in file order;
    members after -> and linuxpt's own names are not followed; a missing seed is an error."""
    import importlib

    b = importlib.import_module("linuxpt.build")
    header = ("#define TWO (ONE + ONE)\n#define ONE 1\nstruct pte { int v; };\n"
              "static inline int used(struct pte *p) { return p->v + TWO; }\n"
              "static inline int unused(void) { return 0; }\n")
    source = ("/* seed() { not this } */\n#define ours_flush(x) x\n"
              "static int\nseed(struct pte *p)\n{\n\tp->unused = ours_flush(used(p));\n"
              "\treturn \"{\" [0];\n}\n")
    text = b.extract_definitions([("h", header), ("c", source)], ["seed"], {"ours_flush"}, "t")
    names = [line.split(": ")[1].rstrip(" */") for line in text.splitlines()
             if line.startswith("/* h: ") or line.startswith("/* c: ")]
    assert names == ["TWO", "ONE", "pte", "used", "seed"]
    assert "struct pte;" in text and "static int seed(struct pte *p);" in text
    assert '#line 3 "c"' in text  # the definition's first line in its file
    with pytest.raises(b.KernelTreeError, match="nope not found"):
        b.extract_definitions([("h", header)], ["nope"], set(), "t")
