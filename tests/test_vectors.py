"""Conformance vectors: schema-valid, covering every rule, green on every implementation, and
failures that travel as vectors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from iommu_spec.cli.main import main as cli_main
from difftest import DiffFailure, build_machine
from difftest.report import Call
from difftest.vectors import (FORMAT, SCENARIOS, ExternalTarget, InProcessTarget, applies, coverage,
                              coverage_table, failure_path, generate, generate_all, load_vectors,
                              missing, run_vector, run_vectors, save_failure, schema, validate,
                              vector_from_calls, write_vector)
from impls import IMPLEMENTATIONS, Pgsize
from spec import RULES, SEMANTICS, get_semantics

from .mutants import NoRollback

ROOT = Path(__file__).resolve().parent.parent
PYTHON_DRIVER = f"{sys.executable} {ROOT / 'examples' / 'python_driver.py'}"


@pytest.fixture(scope="module")
def vectors():
    return generate_all()


def test_schema_is_a_valid_draft_2020_12_schema():
    """docs/vectors.schema.json is itself a valid JSON Schema (draft 2020-12)."""
    jsonschema.Draft202012Validator.check_schema(schema())


def test_every_vector_matches_the_schema(vectors):
    """Every emitted vector validates against docs/vectors.schema.json."""
    for v in vectors:
        validate(v)
    assert len({v["id"] for v in vectors}) == len(vectors)


def test_the_schema_rejects_what_the_protocol_forbids(vectors):
    """A negative address, an unknown op or a missing domain_free are schema errors."""
    v = json.loads(json.dumps(vectors[0]))
    v["steps"][1] = {"request": {"op": "map", "iova": -1, "paddr": 0, "size": 4096, "prot": 3},
                     "expect": {"ret": 0}}
    with pytest.raises(jsonschema.ValidationError, match="less than the minimum"):
        validate(v)
    v["steps"][1] = {"request": {"op": "frobnicate"}, "expect": {"ret": 0}}
    with pytest.raises(jsonschema.ValidationError, match="frobnicate"):
        validate(v)
    v = json.loads(json.dumps(vectors[0]))
    v["steps"].pop()
    with pytest.raises(jsonschema.ValidationError):
        validate(v)


def test_every_rule_is_decided_under_every_variant_where_it_can_apply(vectors):
    """Each rule of spec.RULES is decided by some vector of each variant, unless it cannot apply there."""
    cov = coverage(vectors)
    assert set(cov) == set(SEMANTICS)
    assert missing(cov) == []
    table = coverage_table(cov)
    assert "MISSING" not in table and "PGSIZE_SELECT *" in table
    for name in RULES:  # every operation rule applies under some variant
        if RULES[name].fn.__module__ == "spec.rules":
            assert any(applies(name, s) is None for s in SEMANTICS.values()), name


def test_variant_conditions_mark_rules_not_applicable():
    """Rules tied to a variant point are n/a under variants without it, and IOTLB rules are n/a for vectors."""
    assert applies("UNMAP_TABLE_SLOT", get_semantics("generic-pt"))
    assert applies("UNMAP_TABLE_SLOT", get_semantics("arm-lpae-v6.14")) is None
    assert applies("PAGES_TABLE_BATCH", get_semantics("arm-v7s"))
    iotlb = [n for n in RULES if RULES[n].fn.__module__ != "spec.rules"]
    assert all(applies(n, get_semantics("generic-pt")) for n in iotlb)


def test_generation_is_deterministic():
    """Generating twice gives identical vectors (the random sequences are seeded)."""
    assert generate("intel-vtd", "generic-pt") == generate("intel-vtd", "generic-pt")
    assert {v["id"].split("/")[-1].split("--")[0] for v in generate("intel-vtd", "generic-pt")} \
        == set(SCENARIOS) | {"random-1", "random-2"}


def test_files_round_trip(tmp_path):
    """A written vector reads back equal, at the path its id names."""
    v = generate("arm-lpae-4k", "arm-lpae-v6.13")[0]
    path = write_vector(v, tmp_path)
    assert path == tmp_path / (v["id"] + ".json")
    assert load_vectors(tmp_path) == [(path, v)]
    assert v["format"] == FORMAT


def test_vector_records_the_rules_and_expected_replies():
    """The partial-unmap vector expects each variant's answer: split m, refuse 0, whole the block."""
    want = {"arm-lpae-v6.13": 0x1000, "arm-lpae-v6.14": 0, "generic-pt": 0x200000}
    for sem, ret in want.items():
        v = next(v for v in generate("intel-vtd", sem) if v["id"].endswith("unmap-partial-leaf"))
        step = v["steps"][2]
        assert step["request"] == {"op": "unmap", "iova": 1 << 46, "size": 0x1000}
        assert step["expect"] == {"ret": ret} and "UNMAP_PARTIAL_LEAF" in step["rules"]


@pytest.mark.parametrize("name", list(IMPLEMENTATIONS))
def test_vectors_replay_green_on_every_implementation(vectors, name):
    """Every in-process implementation passes every vector that applies to it, and some apply."""
    outcomes = run_vectors(vectors, InProcessTarget(IMPLEMENTATIONS[name]))
    assert [(o.vector_id, o.detail) for o in outcomes if o.status == "fail"] == []
    assert any(o.status == "pass" for o in outcomes)


def test_each_core_loop_gets_its_own_expectations(vectors):
    """Where the core loop changes the outcome, each core has its own vector and runs only that one."""
    base = "intel-vtd/generic-pt/all-sizes/unmap-past-ias"
    batched, = [v for v in vectors if v["id"] == base]
    one_page, = [v for v in vectors if v["id"] == base + "--map-v5.15"]
    assert batched["cores"] == ["map_pages", "map_range"] and one_page["cores"] == ["map-v5.15", "map", "map-v4.16"]
    assert batched["steps"][2]["expect"] == {"ret": 0} and "CORE_BATCHES" in batched["rules"]
    assert one_page["steps"][2]["expect"] == {"ret": 0x1000}
    assert run_vector(batched, InProcessTarget(Pgsize)).status == "skip"
    assert run_vector(one_page, InProcessTarget(Pgsize)).status == "pass"
    assert run_vector(batched, InProcessTarget(IMPLEMENTATIONS["map_pages"])).status == "pass"
    per_entry, = [v for v in vectors if v["id"] == "intel-vtd/generic-pt/all-sizes/map-sg--map-v4.16"]
    assert "MAP_SG_PER_ENTRY" in per_entry["rules"]


def test_a_mutant_fails_the_rollback_vectors(vectors):
    """The implementation without rollback fails vectors, and the detail names the step and rule."""
    outcomes = run_vectors([v for v in vectors if v["profile"] == "intel-vtd"],
                           InProcessTarget(NoRollback))
    failed = [o for o in outcomes if o.status == "fail"]
    assert any(o.vector_id.endswith("map-exists-rollback") for o in failed)
    detail = next(o.detail for o in failed if o.vector_id.endswith("map-exists-rollback"))
    assert "expected" in detail and "got" in detail and "MAP_ROLLBACK" in detail


#: No shrinking: any failing log will do, and the first one is found quickly.
FIND = settings(settings.get_profile("ci"), max_examples=300, stateful_step_count=30,
                phases=[Phase.generate])


def test_a_state_machine_failure_travels_as_a_vector():
    """A failure's call log becomes a schema-valid vector that fails the mutant and passes pgsize."""
    seen = {}

    class Capturing(build_machine(NoRollback, "intel-vtd")):
        def fail(self, rule_name, what, details):
            seen.update(calls=list(self.calls), sem=self.sem, bitmap=self.impl.pgsize_bitmap,
                        core=self.spec.core)
            super().fail(rule_name, what, details)

    with pytest.raises(DiffFailure):
        run_state_machine_as_test(Capturing, settings=FIND)
    v = vector_from_calls(seen["calls"], "intel-vtd", seen["sem"], seen["bitmap"],
                          core=seen["core"])
    validate(v)
    assert v["cores"] == ["map"]  # pgsize's core loop: one page per driver call
    assert run_vector(v, InProcessTarget(NoRollback)).status == "fail"
    assert run_vector(v, InProcessTarget(Pgsize)).status == "pass"


def test_vector_from_calls_translates_the_call_log():
    """unmap_fast becomes unmap, iotlb_sync stays, device accesses and fail_alloc are dropped."""
    calls = [Call("map", {"iova": 0x1000, "paddr": 0x5000, "size": 0x2000, "prot": 3}, 0),
             Call("dma_access", {"iova": 0x1000}, kind="dma"),
             Call("unmap_fast", {"iova": 0x1000, "size": 0x1000}, 0x1000),
             Call("iotlb_sync", {}, 0, kind="impl"),
             Call("fail_alloc", {"after": 3}, 0, kind="impl"),
             Call("map_sg", {"iova": 0x8000, "sg": [(0x9000, 0, 0x800), (0x9000, 0x800, 0x800)],
                             "prot": 1}, 0x1000)]
    v = vector_from_calls(calls, "intel-vtd", "generic-pt", 0x40201000)
    validate(v)
    ops = [s["request"]["op"] for s in v["steps"]]
    assert ops == ["domain_alloc", "map", "unmap", "iotlb_sync", "map_sg", "domain_free"]
    assert v["steps"][4]["request"]["sg"] == [[0x9000, 0, 0x800], [0x9000, 0x800, 0x800]]
    assert v["final_leaves"] == [[0x2000, 0x6000, 0x1000, 1, 3], [0x8000, 0x9000, 0x1000, 1, 1]]
    assert v["requires"] == ["iotlb_sync"]


def test_vector_from_calls_keeps_the_last_domain():
    """After a domain_free and a fresh domain in the log, only the fresh domain's calls are steps."""
    calls = [Call("map", {"iova": 0, "paddr": 0, "size": 0x1000, "prot": 3}, 0),
             Call("domain_free", {}, 0, None, ["DOMAIN_FREE"], kind="impl"),
             Call("fresh domain", {}, kind="restart"),
             Call("unmap", {"iova": 0, "size": 0x1000}, 0)]
    v = vector_from_calls(calls, "intel-vtd", "generic-pt", 0x40201000)
    assert [s["request"]["op"] for s in v["steps"]] == ["domain_alloc", "unmap", "domain_free"]


def test_vector_from_calls_refuses_what_does_not_travel():
    """A map decided by an injected allocation failure, or a log the model disagrees with, is refused."""
    injected = [Call("map", {"iova": 0, "paddr": 0, "size": 0x1000, "prot": 3}, None, -12, [],
                     kind="impl")]
    with pytest.raises(ValueError, match="injected allocation failure"):
        vector_from_calls(injected, "intel-vtd", "generic-pt", 0x40201000)
    wrong = [Call("map", {"iova": 0, "paddr": 0, "size": 0x1000, "prot": 3}, -22)]
    with pytest.raises(ValueError, match="recorded"):
        vector_from_calls(wrong, "intel-vtd", "generic-pt", 0x40201000)


def test_save_failure_keeps_one_file_per_target(tmp_path):
    """Saving twice for one implementation, profile and variant overwrites: the last (shrunk) log wins."""
    first = [Call("map", {"iova": 0, "paddr": 0, "size": 0x1000, "prot": 3}, 0)]
    second = [Call("unmap", {"iova": 0, "size": 0x1000}, 0)]
    for calls in (first, second):
        path = save_failure(tmp_path, calls, "intel-vtd", "generic-pt", 0x40201000, "my impl/1",
                            "violates UNMAP_HOLE")
    assert path == failure_path(tmp_path, "my impl/1", "intel-vtd", "generic-pt")
    assert path.name == "my_impl_1--intel-vtd--generic-pt.json"
    (_, v), = load_vectors(tmp_path)
    assert [s["request"]["op"] for s in v["steps"]] == ["domain_alloc", "unmap", "domain_free"]
    assert "violates UNMAP_HOLE" in v["description"]


def test_cli_vectors_writes_files_and_prints_coverage(tmp_path, capsys):
    """iommu-spec vectors --out DIR writes one file per vector and prints the coverage table."""
    assert cli_main(["vectors", "--out", str(tmp_path), "--profile", "intel-vtd,arm-lpae-4k,armv7s-mediatek"]) == 0
    out = capsys.readouterr().out
    files = list(tmp_path.rglob("*.json"))
    assert f"wrote {len(files)} vectors" in out
    assert "MAP_ROLLBACK" in out and "n/a" in out and "MISSING" not in out
    assert (tmp_path / "intel-vtd" / "generic-pt" / "all-sizes" / "map-sg.json").exists()


def test_cli_run_vectors_passes_and_fails(tmp_path, capsys):
    """run-vectors exits 0 on a passing implementation and 1, showing the step, on a wrong expectation."""
    cli_main(["vectors", "--out", str(tmp_path), "--profile", "intel-vtd", "--semantics", "generic-pt"])
    capsys.readouterr()
    assert cli_main(["run-vectors", str(tmp_path), "--impl", "map_pages"]) == 0
    assert "0 failed" in capsys.readouterr().out
    path = tmp_path / "intel-vtd" / "generic-pt" / "all-sizes" / "map-unmap-page.json"
    v = json.loads(path.read_text())
    v["steps"][1]["expect"]["ret"] = -22
    path.write_text(json.dumps(v))
    assert cli_main(["run-vectors", str(tmp_path), "--impl", "map_pages"]) == 1
    out = capsys.readouterr().out
    assert "FAIL intel-vtd/generic-pt/all-sizes/map-unmap-page" in out
    assert "expected {ret: -EINVAL}, got {ret: 0}" in out


def test_cli_run_vectors_refuses_bad_files(tmp_path, capsys):
    """A file that is not a vector, or breaks the schema, is exit status 2 naming the file."""
    (tmp_path / "junk.json").write_text("{not json")
    assert cli_main(["run-vectors", str(tmp_path), "--impl", "pgsize"]) == 2
    assert "junk.json" in capsys.readouterr().err
    v = generate("intel-vtd", "generic-pt")[0]
    v["steps"][1]["request"]["iova"] = -1
    (tmp_path / "junk.json").write_text(json.dumps(v))
    assert cli_main(["run-vectors", str(tmp_path), "--impl", "pgsize"]) == 2
    assert "does not match docs/vectors.schema.json" in capsys.readouterr().err


def test_cli_run_vectors_external(tmp_path, capsys):
    """run-vectors --impl-cmd replays vectors on an external (driver-only) implementation."""
    for v in generate("intel-vtd", "generic-pt"):
        write_vector(v, tmp_path)
    assert cli_main(["run-vectors", str(tmp_path), "--impl-cmd", PYTHON_DRIVER]) == 0
    out = capsys.readouterr().out
    assert "implementation python-driver" in out and "0 failed" in out


def test_save_failure_option_end_to_end(tmp_path):
    """pytest difftest --save-failure writes a vector that fails the buggy driver and passes the good one."""
    buggy = tmp_path / "buggy_driver.py"
    text = (ROOT / "examples" / "python_driver.py").read_text()
    assert "if self.overlaps(at, at + pgsize):" in text
    buggy.write_text(text.replace("if self.overlaps(at, at + pgsize):", "if False:"))
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "difftest/test_external.py", "-q", "-p", "no:cacheprovider",
         "--impl-cmd", f"{sys.executable} {buggy}", "--profile", "intel-vtd",
         "--save-failure", str(tmp_path / "failures")],
        cwd=ROOT, env={**os.environ, "HYPOTHESIS_PROFILE": "ci"}, capture_output=True, text=True,
        timeout=600)
    assert "1 failed" in out.stdout, out.stdout[-2000:]
    (path, v), = load_vectors(tmp_path / "failures")
    assert path.name == "python-driver--intel-vtd--generic-pt.json"
    validate(v)
    for cmd, status in ((f"{sys.executable} {buggy}", "fail"), (PYTHON_DRIVER, "pass")):
        target = ExternalTarget(cmd, timeout=5.0)
        try:
            assert run_vector(v, target).status == status
        finally:
            target.close()
