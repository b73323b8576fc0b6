"""One process with every thread against parallel single-thread worker processes: the default of ``run``.

    python benchmarks/parallel_jobs.py [--methods CE RS ...] [--seeds 0 1] [--busy both|idle|one-core]

Each configuration runs the same grid (``--methods`` × ``--seeds`` on ``bloodcell-lt`` with the ``quick``
protocol) from scratch with ``python -m benchmark run`` in a fresh results folder (the prepared dataset is
shared, prepared once before the first timing), and prints the wall time, runs per minute and the ratio to the
one-process configuration. ``--busy one-core`` keeps one core busy with a spinning process during the timing,
as a laptop with a browser open or a second job would. The machine should otherwise be idle; the table says
what it ran on.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_METHODS = ["CE", "RS", "LDAM-DRW", "Focal", "Mixup", "CE+SC→cRW"]


def _spin(stop: multiprocessing.synchronize.Event) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _cores() -> int:
    return len(os.sched_getaffinity(0))


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def timed_run(methods: list[str], seeds: list[str], jobs: int, threads: int, cache: Path, busy: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "benchmark", "run", "--dataset", "bloodcell-lt", "--protocol", "quick"]
        for m in methods:
            cmd += ["--method", m]
        cmd += ["--seeds", *seeds, "--results", f"{tmp}/results", "--cache-dir", str(cache), "--no-site", "--quiet"]
        cmd += ["--jobs", str(jobs), "--threads", str(threads)]
        stop = multiprocessing.Event()
        spinner = multiprocessing.Process(target=_spin, args=(stop,)) if busy else None
        if spinner:
            spinner.start()
        t0 = time.perf_counter()
        try:
            subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        finally:
            wall = time.perf_counter() - t0
            if spinner:
                stop.set()
                spinner.join()
        return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=DEFAULT_METHODS)
    parser.add_argument("--seeds", nargs="+", default=["0", "1"])
    parser.add_argument("--busy", choices=["both", "idle", "one-core"], default="both")
    args = parser.parse_args()
    cores = _cores()
    configs = [(1, cores), (cores, 1)]
    cache = Path(tempfile.mkdtemp(prefix="medlt-cache-"))
    subprocess.run(  # prepares the dataset once, outside the timings
        [sys.executable, "-m", "benchmark", "datasets", "prepare", "bloodcell-lt", "--size", "36",
         "--cache-dir", str(cache)],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    loads = {"both": [False, True], "idle": [False], "one-core": [True]}[args.busy]
    runs = len(args.methods) * len(args.seeds)
    print(f"{_cpu()}, {cores} usable cores; {runs} runs ({', '.join(args.methods)} × seeds {' '.join(args.seeds)})")
    print("| other load | configuration | wall (s) | runs / min | time vs 1 process |")
    print("| --- | --- | ---: | ---: | ---: |")
    for busy in loads:
        base = None
        for jobs, threads in configs:
            wall = timed_run(args.methods, args.seeds, jobs, threads, cache, busy)
            base = base or wall
            label = f"--jobs {jobs} --threads {threads}"
            load = "one core busy" if busy else "idle"
            print(f"| {load} | `{label}` | {wall:.1f} | {60 * runs / wall:.1f} | {wall / base:.2f} |", flush=True)


if __name__ == "__main__":
    main()
