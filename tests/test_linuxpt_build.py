"""linuxpt's build step: its error messages and the extraction from iommu.h (no kernel tree needed)."""

import subprocess
import sys

import pytest

from linuxpt.build import KernelTreeError, build, extract_gather, kernel_version

# A made-up iommu.h in the shape of the real one (our own text): the
# CONFIG_IOMMU_API definitions first, the stubs after.
FAKE_IOMMU_H = """
/* kernel-doc: struct iommu_iotlb_gather - mentioned in a comment { */
struct iommu_iotlb_gather {
	unsigned long start;
	unsigned long end; /* } a brace in a comment */
	size_t pgsize;
};
static inline void iommu_iotlb_gather_init(struct iommu_iotlb_gather *gather)
{
	*gather = (struct iommu_iotlb_gather) { .start = ULONG_MAX };
}
static inline void iommu_iotlb_sync(struct iommu_domain *domain,
				  struct iommu_iotlb_gather *g)
{
	if (domain->ops->iotlb_sync) { domain->ops->iotlb_sync(domain, g); }
	iommu_iotlb_gather_init(g);
}
static inline
bool iommu_iotlb_gather_is_disjoint(struct iommu_iotlb_gather *g, unsigned long iova, size_t size)
{
	return g->end != 0 && iova > g->end + 1;
}
static inline void iommu_iotlb_gather_add_range(struct iommu_iotlb_gather *g,
						unsigned long iova, size_t size)
{
	const char *s = "}";
	if (g->start > iova) g->start = iova;
}
static inline void iommu_iotlb_gather_add_page(struct iommu_domain *d, struct iommu_iotlb_gather *g,
					       unsigned long iova, size_t size)
{
	if (iommu_iotlb_gather_is_disjoint(g, iova, size)) iommu_iotlb_sync(d, g);
	iommu_iotlb_gather_add_range(g, iova, size);
}
#else
struct iommu_iotlb_gather {};
static inline void iommu_iotlb_sync(struct iommu_domain *domain, struct iommu_iotlb_gather *g) { }
#endif
"""


def test_extract_gather_by_brace_matching():
    out = extract_gather(FAKE_IOMMU_H)
    assert "unsigned long end; /* } a brace in a comment */\n\tsize_t pgsize;\n};" in out
    assert 'const char *s = "}";' in out
    assert "iommu_iotlb_sync(d, g);" in out
    assert "struct iommu_iotlb_gather {};" not in out  # the stub is not taken
    assert out.count("static inline void iommu_iotlb_sync(") == 1
    # definitions in file order: the sync before add_page, which calls it
    assert out.index("iommu_iotlb_sync(struct") < out.index("iommu_iotlb_gather_add_page(struct")


def test_extract_gather_missing_function():
    text = FAKE_IOMMU_H.replace("iommu_iotlb_sync", "iommu_iotlb_flush")
    with pytest.raises(KernelTreeError, match=r"iommu_iotlb_sync\(\) not found"):
        extract_gather(text)


def test_extract_gather_queued_needed_by_a_user():
    extract_gather(FAKE_IOMMU_H)  # queued is optional when nothing uses it
    with pytest.raises(KernelTreeError, match=r"iommu_iotlb_gather_queued\(\) not found"):
        extract_gather(FAKE_IOMMU_H, needed_by="if (!iommu_iotlb_gather_queued(gather))")


def test_missing_tree(tmp_path):
    with pytest.raises(KernelTreeError, match="does not exist"):
        build(tmp_path / "nope", cache_dir=tmp_path / "cache")


def test_tree_without_io_pgtable_arm(tmp_path):
    (tmp_path / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 1\nEXTRAVERSION =\n")
    with pytest.raises(KernelTreeError, match=r"lacks drivers/iommu/io-pgtable-arm\.c"):
        build(tmp_path, cache_dir=tmp_path / "cache")


def test_kernel_version(tmp_path):
    (tmp_path / "Makefile").write_text("# SPDX\nVERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 118\n"
                                       "EXTRAVERSION = -rc1\nNAME = Baby Opossum Posse\n")
    assert kernel_version(tmp_path) == (6, 12, 118, "-rc1")
    (tmp_path / "Makefile").write_text("all:\n")
    with pytest.raises(KernelTreeError, match="VERSION"):
        kernel_version(tmp_path)


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "iommu_spec", "kernel", *args],
                          capture_output=True, text=True, env=env)


def test_cli_errors_are_one_line(tmp_path):
    for args, text in [
        (["build", "--src", str(tmp_path / "nope")], "does not exist"),
        (["build", "--src", str(tmp_path)], "lacks drivers/iommu/io-pgtable-arm.c"),
        (["serve", "--src", str(tmp_path), "--format", "sv48"], "known: lpae-s1, lpae-s2, v7s, dart"),
        (["fetch", "2.6"], "known: 6.1, 6.12"),
        ([], "sub-command"),
    ]:
        res = _cli(*args)
        assert res.returncode == 2, (args, res.stderr)
        assert res.stderr.startswith("iommu-spec kernel: ") and text in res.stderr, res.stderr
        assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


def test_fetch_refreshes_a_tree_extracted_with_another_list(tmp_path, monkeypatch, capsys):
    """A cached tree without the current file list is extracted again; if that fails, it is used as is."""
    from linuxpt import fetch as F
    monkeypatch.setenv("IOMMU_SPEC_CACHE", str(tmp_path))
    tree = F.tree_path("6.1")
    (tree / "drivers/iommu").mkdir(parents=True)
    (tree / "Makefile").write_text("VERSION = 6\n")
    (tree / "drivers/iommu/io-pgtable-arm.c").write_text("")
    calls = []

    def offline(version, path, quiet):
        calls.append(version)
        raise KernelTreeError("apt-get not found: fetching needs a Debian-like system")

    monkeypatch.setattr(F, "_fetch", offline)
    assert F.fetch("6.1") == tree and calls == ["6.1"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot refresh" in err
    assert "drivers/iommu/rockchip-iommu.c" in err and "drivers/iommu/exynos-iommu.c" in err
    assert "drivers/iommu/omap-iommu.c" in err and "drivers/iommu/omap-iopgtable.h" in err
    # a tree extracted with the current list is reused as it is
    (tree / F.MANIFEST).write_text(F._manifest_text())
    assert F.fetch("6.1") == tree and calls == ["6.1"]
    assert {"drivers/iommu/rockchip-iommu.c", "drivers/iommu/exynos-iommu.c",
            "drivers/iommu/sprd-iommu.c", "drivers/iommu/msm_iommu.c",
            "drivers/iommu/omap-iommu.c", "drivers/iommu/omap-iommu.h",
            "drivers/iommu/omap-iopgtable.h", "drivers/iommu/virtio-iommu.c",
            "include/uapi/linux/virtio_iommu.h", "include/linux/interval_tree.h",
            "include/linux/interval_tree_generic.h", "include/linux/rbtree.h",
            "include/linux/rbtree_types.h", "include/linux/rbtree_augmented.h",
            "lib/rbtree.c", "lib/interval_tree.c"} <= set(F.WANTED)
    assert "drivers/iommu/virtio-iommu.c" in err and "lib/interval_tree.c" in err


def test_s390_own_tables(tmp_path):
    """The s390 format is built only from an s390-iommu.c that defines its own table walk (v6.7+);
    6.1's calls arch/s390/pci/pci_dma.c's (made-up files in the two shapes, our own text)."""
    from linuxpt.build import s390_own_tables
    drv = tmp_path / "drivers/iommu/s390-iommu.c"
    assert not s390_own_tables(tmp_path)
    drv.parent.mkdir(parents=True)
    drv.write_text("/* dma_walk_cpu_trans(rto, addr) { in a comment */\n"
                   "static int s390_iommu_update_trans(void)\n{\n"
                   "\tentry = dma_walk_cpu_trans(domain->dma_table, dma_addr, GFP_ATOMIC);\n}\n")
    assert not s390_own_tables(tmp_path)
    drv.write_text("static unsigned long *dma_walk_cpu_trans(unsigned long *rto, dma_addr_t dma_addr,\n"
                   "\t\t\t\t\tgfp_t gfp)\n{\n\treturn NULL;\n}\n")
    assert s390_own_tables(tmp_path)
