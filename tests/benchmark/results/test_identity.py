"""A row is exactly one configuration: every way two configurations could share one row is refused.

1. two method ids with one display name (they would be one row);
2. two workers with two versions of one protocol name (two real processes here: one is refused);
3. a cell mixing protocol settings or schema versions (``validate`` and every reader refuse it);
4. the same run named several ways (``--method CE --method ce --method "CE " --seeds 0 0``) runs once;
5. an empty protocol file is refused (``tests/benchmark/test_protocol_validation.py``);
6. ``report`` and ``leaderboard`` refuse what ``validate`` refuses.

Each has a test here or a row in the bad-input table (``tests/test_reliability_table.py``); a FIFO where a result
is expected is skipped, never read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.protocol import PROTOCOL_DIR
from benchmark.results.identity import (
    Mismatch,
    describe,
    mismatches,
    result_identity,
    reuse_problem,
    run_identity,
)
from benchmark.results.store import iter_result_files, read_result, result_path
from benchmark.results.validate import load_checked, validate_results
from methods import create_method
from tests import ROOT

METRICS = {"mcr_all": 80.0, "mcr_major": 85.0, "mcr_minor": 75.0}


def _worker(protocol: Path, results: Path, cache: Path) -> subprocess.Popen:
    environ = {**os.environ, "OMP_NUM_THREADS": "1"}
    environ.pop("MEDLT_KILL_AT", None)
    argv = [sys.executable, "-m", "benchmark", "run", "--protocol", str(protocol), "--dataset", "digits-lt"]
    argv += ["--method", "ce", "--seeds", "0", "--quiet", "--no-site", "--device", "cpu"]
    argv += ["--results", str(results), "--cache-dir", str(cache)]
    return subprocess.Popen(argv, cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_workers_with_two_versions_of_one_protocol_name_never_share_a_folder(tmp_path, cache_dir):
    """Started together on one --results, a 2-epoch and a 1-epoch protocol both named "rtx": one runs, the other
    is refused in one line, so that one result never silently replaces the other."""
    text = (PROTOCOL_DIR / "smoke.toml").read_text().replace('name = "smoke"', 'name = "rtx"')
    text = text.replace("epochs = 4", "epochs = 2").replace("warmup_epochs = 1", "warmup_epochs = 0")
    protocols = [tmp_path / "two.toml", tmp_path / "one.toml"]
    protocols[0].write_text(text)
    protocols[1].write_text(text.replace("epochs = 2", "epochs = 1"))
    results = tmp_path / "results"
    main(["datasets", "prepare", "digits-lt", "--size", "20", "--cache-dir", str(cache_dir)])  # not part of the race
    procs = [_worker(p, results, cache_dir) for p in protocols]
    outcomes = [(p.wait(timeout=600), p.stderr.read() if p.stderr else "") for p in procs]
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 2], outcomes
    winner = protocols[[code for code, _ in outcomes].index(0)]
    refusal = next(err for code, err in outcomes if code == 2).strip().splitlines()
    assert len(refusal) == 1 and refusal[0].startswith("error: ") and "other" in refusal[0], refusal
    assert "epochs" in refusal[0]  # names what differs
    files = list(iter_result_files(results))
    assert len(files) == 1
    done = read_result(files[0])
    assert done.status == "ok" and done.protocol_config["epochs"] == (2 if winner.name == "two.toml" else 1)


def test_run_refuses_two_ids_with_one_display_name_before_any_work(tmp_path, capsys):
    path = tmp_path / "two.py"
    path.write_text(
        "from methods.catalog.ce import CE\n\n\nclass A(CE):\n    name = 'Same'\n    id = 'rt-same-a'\n\n\n"
        "class B(CE):\n    name = 'Same'\n    id = 'rt-diff'\n"
    )
    results = tmp_path / "results"
    argv = ["run", "--method", f"{path}:A", "--method", f"{path}:B", "--dataset", "digits-lt", "--seeds", "0"]
    code = main(argv + ["--protocol", "smoke", "--results", str(results), "--quiet", "--no-site", "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "display name 'Same'" in err, err
    assert not results.exists()


def test_readers_refuse_two_ids_with_one_display_name(tmp_path, synthetic_result, capsys):
    """report and the site refuse a directory in which two methods would be one row (a mean mixing two methods)."""
    root = tmp_path / "results"
    for seed in range(3):
        synthetic_result(root, dataset="skin7", method="Same", method_id="rt-same-a", seed=seed, metrics=METRICS)
        synthetic_result(root, dataset="skin7", method="Same", method_id="rt-diff", seed=seed + 3, metrics=METRICS)
    assert main(["report", "--results", str(root)]) == 2
    err = capsys.readouterr().err
    assert "spec.method: display name 'Same' is also method 'rt-diff'" in err
    assert main(["leaderboard", "--results", str(root), "--site", str(tmp_path / "site")]) == 2
    assert not (tmp_path / "site").exists()
    assert not validate_results(root, cache_dir=tmp_path / "cache").ok


def test_validate_refuses_a_cell_mixing_protocol_settings_or_schema_versions(smoke_results, tmp_path):
    root = tmp_path / "results"
    shutil.copytree(smoke_results, root)
    ce = sorted(p for p in iter_result_files(root) if p.parent.name == "ce")
    data = json.loads(ce[1].read_text())
    data["protocol_config"].update(epochs=40, lr=0.5)  # hand-edited, still filed under smoke
    ce[1].write_text(json.dumps(data))
    data = json.loads(ce[2].read_text())
    data["schema_version"] = 1
    ce[2].write_text(json.dumps(data))
    problems = [p for p in validate_results(root, cache_dir=tmp_path / "cache").problems if p.check]
    mixed = [p for p in problems if p.check == "one_configuration"]
    assert [(p.where.split("/")[-1], p.field) for p in mixed] == [
        ("seed-1.json", "protocol_config"),
        ("seed-2.json", "schema_version"),
    ], problems
    assert "protocol: {epochs: 4 there, 40 here; lr: 0.1 there, 0.5 here}" in mixed[0].message
    with pytest.raises(ValueError, match="protocol_config: differs from"):
        load_checked(root)


def test_the_same_run_named_several_ways_runs_once(tmp_path, cache_dir, capsys):
    results = tmp_path / "results"
    argv = ["run", "--method", "CE", "--method", "ce", "--method", "CE ", "--seeds", "0", "0"]
    argv += ["--dataset", "digits-lt", "--dataset", "digits-lt", "--protocol", "smoke", "--results", str(results)]
    assert main(argv + ["--cache-dir", str(cache_dir), "--quiet", "--no-site", "--device", "cpu"]) == 0
    assert "1 runs: 1 ok" in capsys.readouterr().err
    assert len(list(iter_result_files(results))) == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_where_a_result_is_expected_is_skipped_never_read(tmp_path, synthetic_result):
    root = tmp_path / "results"
    for seed in range(3):
        synthetic_result(root, dataset="skin7", method="CE", seed=seed, metrics=METRICS)
    fifo = root / "skin7" / "resnet50" / "paper" / "ce" / "seed-7.json"
    os.mkfifo(fifo)
    for command in (["report"], ["validate", "--min-seeds", "1"]):
        argv = [sys.executable, "-m", "benchmark", *command, str(root) if command[0] == "validate" else "--results"]
        argv += [] if command[0] == "validate" else [str(root)]
        out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)  # a read would block
        assert f"warning: {fifo}: is a FIFO, not a regular file; skipped" in out.stderr, out.stderr
    report = subprocess.run(
        [sys.executable, "-m", "benchmark", "report", "--results", str(root)], cwd=ROOT, capture_output=True, text=True
    )
    assert report.returncode == 0 and "CE" in report.stdout


# -- the one comparison of two identities -------------------------------------------------------------------
def test_mismatches_compare_only_the_parts_both_records_hold_and_name_the_keys_that_differ():
    before = {"method_id": "ce", "hyperparameters": {"scale": 1.0, "tau": 2}, "protocol": {"epochs": 4}}
    now = {"method_id": "ce", "hyperparameters": {"scale": 1.0, "beta": 0.9}, "stage2_settings": None}
    (found,) = mismatches(before, now)  # "protocol" and "stage2_settings" are on one side only: not compared
    assert found.part == "hyperparameters" and found.keys == ("beta", "tau")
    assert str(found) == "hyperparameters: {beta: <absent> -> now 0.9; tau: 2 -> now <absent>}"
    assert mismatches(before, {**before, "hyperparameters": {"tau": 2, "scale": 1.0}}) == []  # order is no change
    assert [m.part for m in mismatches({"a": 1, "b": 2}, {"a": 2, "b": 3}, parts=("b", "a"))] == ["b", "a"]
    assert Mismatch("method_id", "ce", "rw").describe("{key}: {before} there, {now} here") == (
        "method_id: 'ce' there, 'rw' here"
    )


def test_describe_leaves_out_the_protocols_hash_beside_its_settings():
    found = mismatches({"protocol_sha256": "a", "epochs": 4}, {"protocol_sha256": "b", "epochs": 3})
    assert describe(found) == "epochs: 4 -> now 3"
    assert describe(mismatches({"protocol_sha256": "a"}, {"protocol_sha256": "b"})) == "protocol_sha256: 'a' -> now 'b'"


def test_a_run_and_its_result_have_one_identity(smoke_results):
    """The record a finished result gives is the record its run gives: nothing to reuse-refuse, nothing to claim."""
    from benchmark.grid import expand_grid

    (run,) = expand_grid(["digits-lt"], [create_method("ce-crw")], [None], [1], "smoke")
    result = read_result(result_path(smoke_results, run.spec))
    now = run_identity(run, result.dataset_params, result.dataset_manifest_sha256)
    assert mismatches(result_identity(result), now) == []
    assert set(now) <= set(result_identity(result))
    assert reuse_problem(result, now, result.dataset_params or {}, Path("f")) is None
    other = run_identity(run, {**(result.dataset_params or {}), "rho": 5}, result.dataset_manifest_sha256)
    problem = reuse_problem(result, other, result.dataset_params or {}, Path("f"))
    assert problem is not None and "dataset params" in problem and "'rho': 5" in problem
