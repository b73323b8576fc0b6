"""Kill anywhere: SIGKILL a grid at 14 moments (10 distinct points, checkpoint and result writes among
them), run it again each time, and find every result identical to an unbroken run, nothing left over.
The same with parallel worker processes (the CPU default): a worker killed mid-job, and the main process
killed while a worker trains (the worker must die with it, releasing its job).

The kills come from ``MEDLT_KILL_AT``, heard by the audit hook of ``tests/faults/`` (the product only announces
its milestones). Each grid is a forked child of this process (torch is imported once, so 15 grids stay cheap)
running ``python -m benchmark run``'s main; its worker processes start with the same hook (``sitecustomize``).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import torch

from benchmark.cli import main
from benchmark.results.store import iter_result_files, read_result
from tests.faults import medlt_faults

METHODS = ("CE", "ce-crw", "rw")  # two stage-1 jobs: [CE, CE→cRW] and [RW]
FINAL_CHECKPOINT = "write:" + "?" * 64 + ".pt"  # <sha256>.pt, not <sha256>.resume.pt

#: (where to kill, what it leaves behind), in order; each grid continues from what the last one left.
KILLS = [
    ("dataset-loaded:1", "nothing yet"),
    ("job-locked:1", "a lock file"),
    ("write:*.resume.pt:1", "a first epoch checkpoint written, not renamed into place"),
    ("stage1-epoch:2", "epoch checkpoint 2 of 4"),
    ("write:*.resume.pt:2", "resumed at epoch 3; epoch 4's checkpoint not renamed into place"),
    (f"{FINAL_CHECKPOINT}:1", "a stage-1 checkpoint not renamed into place"),
    ("stage1-saved:1", "stage 1 saved, its resume file not yet removed"),
    ("write:seed-0.preds.npz:1", "CE's predictions not renamed into place"),
    ("write:seed-0.json:1", "CE's result not renamed into place"),
    ("run-evaluated:1", "CE evaluated, not written"),
    ("run-written:1", "CE written, CE→cRW not started"),
    ("write:seed-0.json:1", "CE→cRW's result not renamed into place"),
    ("stage1-epoch:1", "RW's first epoch checkpoint"),
    ("write:seed-0.json:1", "RW's result not renamed into place"),
]


def grid_in_child(argv: list[str], kill_at: str | None, log: Path, timeout: float = 600) -> int:
    """Run ``main(argv)`` in a forked child with ``MEDLT_KILL_AT=kill_at``; its exit code (-9: killed)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # not pytest's capture of the parent
            sys.stderr = open(2, "w", buffering=1, closefd=False)
            os.environ.pop("MEDLT_KILL_AT", None)
            if kill_at:
                os.environ.update(medlt_faults.subprocess_env(MEDLT_KILL_AT=kill_at))  # the workers hear it too
                medlt_faults.install_from_environ()
            torch.set_num_threads(1)  # a forked child must not use the parent's OpenMP pool
            code = main(argv)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise TimeoutError(f"grid still running after {timeout} s (kill point {kill_at}); see {log}")
        time.sleep(0.05)


def test_grid_killed_anywhere_finishes_identical_to_an_unbroken_run(cache_dir, smoke_results, tmp_path):
    results, log = tmp_path / "results", tmp_path / "grid.log"
    argv = [
        "run",
        "--protocol",
        "smoke",
        "--dataset",
        "digits-lt",
        "--seeds",
        "0",
        "--device",
        "cpu",
        "--quiet",
        "--no-site",
        "--results",
        str(results),
        "--cache-dir",
        str(cache_dir),
        "--jobs",  # kill points fire in this process
        "1",
    ]
    for m in METHODS:
        argv += ["--method", m]
    for kill_at, leaves in KILLS:
        code = grid_in_child(argv, kill_at, log)
        assert code == -signal.SIGKILL, f"not killed at {kill_at} ({leaves}): exit {code}\n{log.read_text()[-3000:]}"
    assert grid_in_child(argv, None, log) == 0, log.read_text()[-3000:]
    _assert_identical_and_clean(results, smoke_results, cache_dir)


#: (where to kill, which process dies, the grid's exit code); two workers, one per stage-1 job.
PARALLEL_KILLS = [
    ("stage1-epoch:2", "a worker, mid stage 1", 1),
    ("job-done:1", "the main process, one job done, the other's worker training", -signal.SIGKILL),
    ("write:seed-0.json:1", "a worker, its result not renamed into place", 1),
    ("run-written:1", "a worker, one run written", 1),
]


def test_parallel_grid_killed_finishes_identical(cache_dir, smoke_results, tmp_path):
    results, log = tmp_path / "results", tmp_path / "grid.log"
    argv = ["run", "--protocol", "smoke", "--dataset", "digits-lt", "--seeds", "0", "--device", "cpu", "--quiet"]
    argv += ["--no-site", "--results", str(results), "--cache-dir", str(cache_dir), "--jobs", "2"]
    for m in METHODS:
        argv += ["--method", m]
    for kill_at, who, expected in PARALLEL_KILLS:
        code = grid_in_child(argv, kill_at, log)
        assert code == expected, f"{kill_at} ({who}): exit {code}, not {expected}\n{log.read_text()[-3000:]}"
    assert "a worker process died mid-job" in log.read_text()
    assert grid_in_child(argv, None, log) == 0, log.read_text()[-3000:]
    summary = [line for line in log.read_text().splitlines() if "held by another worker" in line][-1]
    assert " 0 failed" in summary and " 0 held by another worker" in summary, summary  # no orphan kept a job
    _assert_identical_and_clean(results, smoke_results, cache_dir)


def _assert_identical_and_clean(results: Path, smoke_results: Path, cache_dir: Path) -> None:
    got = {str(p.relative_to(results)): read_result(p) for p in iter_result_files(results)}
    assert len(got) == len(METHODS) and all(r.status == "ok" for r in got.values())
    for rel, r in got.items():
        unbroken = read_result(smoke_results / rel)
        assert (r.confusion_matrix, r.metrics) == (unbroken.confusion_matrix, unbroken.metrics), rel
    left = [p for p in results.rglob("*") if p.name.endswith((".tmp", ".resume.pt")) or ".corrupt-" in p.name]
    assert not left, left
    assert not list(Path(cache_dir).rglob("*.tmp-*"))
