"""Concurrent workers on one results directory: no run executed twice, results complete and identical.

Also two ``datasets prepare`` of one dataset at once. ``benchmarks/concurrent_workers.py`` runs the
worker test for more trials.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

import datasets
from benchmark.cli import main
from benchmark.grid import GridSettings, driver, expand_grid, group_jobs
from benchmark.grid.driver import pending
from benchmark.grid.job import JobRunner
from benchmark.results.store import iter_result_files, read_result
from datasets.prepared import remove_stale_temporaries
from methods import create_method
from tests import ROOT
from tests.faults import medlt_faults

GRID = [
    "--protocol",
    "smoke",
    "--dataset",
    "digits-lt",
    "--method",
    "CE",
    "--method",
    "ce-crw",
    "--method",
    "rw",
    "--seeds",
    "0",
    "--quiet",
    "--no-site",
    "--device",
    "cpu",
]


def start_worker(results: Path, cache: Path, trace: Path, *args: str, **env: str) -> subprocess.Popen:
    """``python -m benchmark run`` of GRID as a separate process, tracing every execution to ``trace``."""
    environ = medlt_faults.subprocess_env(MEDLT_TRACE=str(trace), OMP_NUM_THREADS="1", **env)
    environ.pop("MEDLT_KILL_AT", None)
    return subprocess.Popen(
        [sys.executable, "-m", "benchmark", "run", *GRID, *args, "--results", str(results), "--cache-dir", str(cache)],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def executions(trace: Path, event: str) -> Counter:
    """How often each run (event "run-written") or stage 1 (event "stage1-training") was executed, over all
    processes."""
    lines = trace.read_text().splitlines() if trace.exists() else []
    return Counter(what for _, ev, what in (line.split(" ", 2) for line in lines) if ev == event)


def confusion_matrices(results: Path) -> dict[str, list]:
    return {str(p.relative_to(results)): read_result(p).confusion_matrix for p in iter_result_files(results)}


def test_concurrent_workers_execute_each_run_once(tmp_path):
    cache = tmp_path / "cache"  # fresh: the first workers also race to prepare digits-lt
    seen = []
    for trial, workers in enumerate((2, 3)):
        results, trace = tmp_path / f"results-{trial}", tmp_path / f"trace-{trial}"
        procs = [start_worker(results, cache, trace) for _ in range(workers)]
        for p in procs:
            out, err = p.communicate(timeout=600)
            assert p.returncode == 0, err[-2000:]
        runs, stage1 = executions(trace, "run-written"), executions(trace, "stage1-training")
        assert set(runs) == {f"digits-lt/test_resnet/smoke/{m}/seed-0.json" for m in ("ce", "ce-crw", "rw")}
        assert set(runs.values()) == {1}, f"{workers} workers executed a run twice: {runs}"
        assert len(stage1) == 2 and set(stage1.values()) == {1}, stage1
        cms = confusion_matrices(results)
        assert len(cms) == 3 and all(read_result(results / p).status == "ok" for p in cms)
        seen.append(cms)
    assert seen[0] == seen[1]  # identical whatever the interleaving


def test_worker_rechecks_finished_runs_after_taking_the_lock(cache_dir, tmp_path, synthetic_result, monkeypatch):
    """The race, made deterministic: a worker listed the run as pending, another finished it meanwhile."""
    runs = expand_grid(["digits-lt"], [create_method("CE")], [None], [0], "smoke")
    settings = GridSettings(results_dir=tmp_path / "results", cache_dir=cache_dir, device="cpu", progress=False)
    (job,) = group_jobs(pending(runs, settings))  # listed as pending ...
    done = synthetic_result(
        tmp_path / "results",
        dataset="digits-lt",
        method="CE",
        method_id="ce",
        seed=0,
        backbone="test_resnet",
        protocol="smoke",
        metrics={"mcr_all": 1.0, "mcr_major": 1.0, "mcr_minor": 1.0},
    )  # ... finished by another
    before = done.read_bytes()
    monkeypatch.setattr("benchmark.training.stage1.train_stage1", lambda *a, **k: pytest.fail("trained a finished run"))
    assert list(JobRunner(settings)(job)) == ["skipped"]
    assert done.read_bytes() == before


def test_run_reports_rechecked_runs_as_already_done(cache_dir, tmp_path, synthetic_result, monkeypatch, capsys):
    results = tmp_path / "results"

    def pending_then_finished(runs, settings, prepared=None):  # the other worker finishes right after our listing
        synthetic_result(
            results,
            dataset="digits-lt",
            method="CE",
            method_id="ce",
            seed=0,
            backbone="test_resnet",
            protocol="smoke",
            metrics={"mcr_all": 1.0, "mcr_major": 1.0, "mcr_minor": 1.0},
        )
        return list(runs)

    monkeypatch.setattr(driver, "pending", pending_then_finished)
    assert (
        main(
            [
                "run",
                *GRID[:6],
                "--seeds",
                "0",
                "--quiet",
                "--no-site",
                "--device",
                "cpu",
                "--results",
                str(results),
                "--cache-dir",
                str(cache_dir),
            ]
        )
        == 0
    )
    assert "1 runs: 0 ok, 0 failed, 1 already done, 0 held by another worker" in capsys.readouterr().err


# -- datasets prepare ----------------------------------------------------------------------------
def test_two_prepares_of_one_dataset_at_once(tmp_path):
    cache = tmp_path / "cache"
    cmd = [
        sys.executable,
        "-m",
        "benchmark",
        "datasets",
        "prepare",
        "digits-lt",
        "--size",
        "12",
        "--cache-dir",
        str(cache),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    folder = datasets.create_builder("digits-lt").folder(cache, 12)
    assert datasets.PreparedDataset.load(folder).num_classes == 10
    assert not list(folder.parent.glob("*.tmp-*"))


def test_prepare_waits_for_the_lock_that_load_takes(tmp_path):
    builder = datasets.create_builder("digits-lt")
    folder = builder.folder(tmp_path, 12)
    folder.parent.mkdir(parents=True)
    finished = []
    with open(folder.parent / f"{folder.name}.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process is preparing or loading this folder
        worker = threading.Thread(target=lambda: finished.append(builder.prepare(None, tmp_path, 12, progress=False)))
        worker.start()
        time.sleep(1.0)
        assert not finished and not folder.exists()  # waiting, nothing written
    worker.join(timeout=120)
    assert finished and (folder / "manifest.json").is_file()


def test_stale_temporary_sweep_spares_live_owners(tmp_path):
    out = tmp_path / "ds" / "20px"
    out.parent.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import socket

        host = socket.gethostname()
        folders = {
            name: out.with_name(f"20px.tmp-{name}")
            for name in (f"{host}-{live.pid}", f"{host}-{gone.pid}", str(gone.pid), f"other-host.example-{gone.pid}")
        }
        for f in folders.values():
            f.mkdir()
        remove_stale_temporaries(out)
        left = {name for name, f in folders.items() if f.exists()}
        # the live process's folder and another host's (unknowable here) stay; the dead ones go
        assert left == {f"{host}-{live.pid}", f"other-host.example-{gone.pid}"}
    finally:
        live.kill()
        live.wait()
