#!/usr/bin/env python
"""Concurrent workers on one grid: count duplicate executions over many trials.

A reliability script, not a test (``tests/benchmark/grid/test_concurrency.py`` runs two trials). Each
trial starts N identical ``python -m benchmark run`` processes on one fresh results directory at
once, each tracing its milestones (``tests/faults/``: ``MEDLT_TRACE``), and counts from the trace how often each
run and each stage 1 was executed. It prints one line per trial and exits 1 when any run was executed twice, a result
is missing, or the confusion matrices differ between trials::

    python benchmarks/concurrent_workers.py --trials 10 --workers 2 3
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.faults import medlt_faults  # noqa: E402  (after the repository root is on the path)

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
    "--quiet",
    "--no-site",
    "--device",
    "cpu",
]


def trial(workers: int, seeds: list[int], results: Path, cache: Path, trace: Path) -> tuple[Counter, Counter, float]:
    """Run ``workers`` identical grids at once; (run executions, stage-1 executions, wall seconds)."""
    env = medlt_faults.subprocess_env(MEDLT_TRACE=str(trace), OMP_NUM_THREADS="1")
    env.pop("MEDLT_KILL_AT", None)
    cmd = [
        sys.executable,
        "-m",
        "benchmark",
        "run",
        *GRID,
        "--seeds",
        *map(str, seeds),
        "--results",
        str(results),
        "--cache-dir",
        str(cache),
    ]
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(workers)
    ]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a worker failed (exit {p.returncode}):\n{err[-2000:]}")
    counts: dict[str, Counter] = {"run-written": Counter(), "stage1-training": Counter()}
    for line in trace.read_text().splitlines():
        _, event, what = line.split(" ", 2)
        if event in counts:
            counts[event][what] += 1
    return counts["run-written"], counts["stage1-training"], time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10, help="trials per worker count (default 10)")
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 3], help="worker counts (default: 2 3)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--cache-dir", type=Path, default=None, help="prepared datasets (default: a fresh folder)")
    args = parser.parse_args(argv)

    from benchmark.results.store import iter_result_files, read_result

    expected = 3 * len(args.seeds)
    failures, reference = 0, None
    with tempfile.TemporaryDirectory(prefix="medlt-workers-") as tmp:
        cache = args.cache_dir or Path(tmp) / "cache"
        for workers in args.workers:
            for t in range(args.trials):
                folder = Path(tmp) / f"w{workers}-t{t}"
                results = folder / "results"
                runs, stage1, wall = trial(workers, args.seeds, results, cache, folder.with_suffix(".trace"))
                cms = {str(p.relative_to(results)): read_result(p).confusion_matrix for p in iter_result_files(results)}
                reference = reference or cms
                dup_runs = sum(n - 1 for n in runs.values())
                dup_stage1 = sum(n - 1 for n in stage1.values())
                ok = dup_runs == 0 and len(runs) == len(cms) == expected and cms == reference
                failures += not ok
                print(
                    f"{workers} workers, trial {t + 1}: {sum(runs.values())} run executions for {len(cms)}/{expected}"
                    f" results, {dup_runs} duplicate runs, {dup_stage1} duplicate stage-1 trainings,"
                    f" {'identical' if cms == reference else 'DIFFERENT'} results ({wall:.1f} s)"
                    f"{'' if ok else '  <-- FAIL'}",
                    flush=True,
                )
    print(f"{failures} failed trials")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
