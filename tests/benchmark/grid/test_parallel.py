"""Parallel worker processes give each run exactly the numbers one process gives at the same thread count."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from benchmark import grid
from benchmark.grid import GridSettings, ProcessExecutor, expand_grid
from benchmark.protocol import load_protocol
from benchmark.results.store import iter_result_files, read_result
from methods import create_method
from methods.registry import load_method_from_file
from tests import ROOT

EXAMPLE = ROOT / "docs" / "examples" / "my_method.py"


def _float32_smoke(tmp_path: Path) -> Path:
    """The smoke protocol in float32: sums then depend on the thread count, so a mismatch can show."""
    text = (ROOT / "benchmark" / "protocols" / "smoke.toml").read_text()
    path = tmp_path / "smoke32.toml"
    path.write_text(text.replace('name = "smoke"', 'name = "smoke32"').replace('"float64"', '"float32"'))
    return path


def test_parallel_jobs_match_one_process_at_one_thread(cache_dir, tmp_path):
    protocol = load_protocol(_float32_smoke(tmp_path))
    user = tmp_path / "user_method.py"
    shutil.copy(EXAMPLE, user)
    methods = [create_method("CE"), create_method("CE→cRW"), create_method("RS")]
    methods.append(load_method_from_file(f"{user}:LogitAdjustedCE"))
    runs = expand_grid(["digits-lt"], methods, [None], [0, 1], protocol)
    results = {}
    threads = torch.get_num_threads()
    for name, executor in (("local", None), ("parallel", ProcessExecutor(jobs=2, threads=1))):
        settings = GridSettings(results_dir=tmp_path / name, cache_dir=cache_dir, device="cpu", progress=False)
        torch.set_num_threads(1)  # the local run at the workers' thread count
        try:
            counts = grid.run(runs, settings, executor)
        finally:
            torch.set_num_threads(threads)
        assert counts == {"ok": 8, "failed": 0, "skipped": 0, "locked": 0}
        results[name] = {(r.spec.method, r.spec.seed): r for r in map(read_result, iter_result_files(tmp_path / name))}
    assert results["parallel"].keys() == results["local"].keys() and len(results["local"]) == 8
    for key, local in results["local"].items():
        other = results["parallel"][key]
        assert other.confusion_matrix == local.confusion_matrix, key
        assert other.provenance.threads == local.provenance.threads == 1
        assert other.method_source_sha256 == local.method_source_sha256
    assert results["parallel"][("LA-CE", 0)].method_source_sha256 is not None  # the user's file, hashed in a worker


def test_worker_refuses_a_method_file_edited_while_the_grid_runs(cache_dir, tmp_path):
    user = tmp_path / "user_method.py"
    shutil.copy(EXAMPLE, user)
    method = load_method_from_file(f"{user}:LogitAdjustedCE")
    user.write_text(user.read_text() + "\n# edited\n")
    runs = expand_grid(["digits-lt"], [method], [None], [0, 1], "smoke")
    settings = GridSettings(results_dir=tmp_path / "r", cache_dir=cache_dir, device="cpu", progress=False)
    with pytest.raises(Exception, match="changed while the grid ran"):
        grid.run(runs, settings, ProcessExecutor(jobs=2))
    assert not list(iter_result_files(tmp_path / "r"))


@pytest.mark.parametrize("jobs, threads", [(0, 1), (2, 0)])
def test_parallel_executor_rejects_nonsense(jobs, threads):
    with pytest.raises(ValueError, match="at least 1"):
        ProcessExecutor(jobs=jobs, threads=threads)


ORPHAN = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
import multiprocessing
from benchmark.grid.executors import _die_with_parent

def job(path):
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(120)

if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_die_with_parent)
    pool.submit(job, sys.argv[1])
    while not os.path.exists(sys.argv[1]) or not open(sys.argv[1]).read():
        time.sleep(0.05)
    os._exit(0)  # the parent dies without shutting the pool down, as a SIGKILL would leave it
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="PR_SET_PDEATHSIG is Linux's")
def test_worker_dies_with_its_parent(tmp_path):
    """A killed grid leaves no worker training on, holding a job's lock, behind it."""
    import os
    import subprocess
    import sys
    import time

    script, pid_file = tmp_path / "orphan.py", tmp_path / "worker.pid"
    script.write_text(ORPHAN)
    root = ROOT
    subprocess.run([sys.executable, str(script), str(pid_file)], cwd=root, check=True, timeout=120,
                   env={**os.environ, "PYTHONPATH": str(root)})  # fmt: skip
    worker = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while Path(f"/proc/{worker}").exists() and "Z" not in _state(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{worker}").exists() or "Z" in _state(worker), f"worker {worker} outlived its parent"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
