"""Where a grid's stage-1 jobs run: in this process, in parallel worker processes, or as Ray tasks.

An executor is handed a picklable job function (:class:`benchmark.grid.job.JobRunner`) and the jobs; it only
decides where each call runs. Jobs are independent given the shared results directory (file locks keep two
workers off one job). On the CPU one single-thread worker per core is the default: a second thread in one
process gains little on the default grid's tiny models and loses badly when another program wants the core
(``benchmarks/parallel_jobs.py``). A job's numbers depend on its thread count, never on which worker ran it.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from methods import user_files

from .. import events
from ..errors import WorkerLost
from .plan import Job

#: Runs one job where it is called and yields each of its runs' status as the run finishes.
JobFunction = Callable[[Job], Iterable[str]]


class Executor(Protocol):
    """Where a grid's stage-1 jobs run."""

    def execute(self, job_function: JobFunction, jobs: Sequence[Job]) -> Iterator[str]:
        """Run every job; yield one status ("ok", "failed", "skipped", "locked") per run as they finish."""
        ...


def usable_cores() -> int:
    """The CPU cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def choose_executor(on_cpu: bool, jobs: int | None = None, threads: int | None = None) -> Executor:
    """``jobs`` worker processes of ``threads`` threads each (default: one single-thread worker per usable core
    on the CPU; a GPU is one device, so one job at a time in this process there)."""
    count = jobs if jobs is not None else (usable_cores() if on_cpu else 1)
    return ProcessExecutor(jobs=count, threads=threads or 1) if count > 1 else InProcessExecutor(threads)


@dataclass(frozen=True)
class InProcessExecutor:
    """Jobs one after another in this process, with ``threads`` torch threads (None: as they are)."""

    threads: int | None = None

    def execute(self, job_function: JobFunction, jobs: Sequence[Job]) -> Iterator[str]:
        with _torch_threads(self.threads):
            for job in jobs:
                yield from job_function(job)


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """This process at ``threads`` torch threads for the block (restored after)."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class ProcessExecutor:
    """Up to ``jobs`` worker processes, each running whole stage-1 jobs with ``threads`` torch threads."""

    jobs: int
    threads: int = 1

    def __post_init__(self) -> None:
        if self.jobs < 1 or self.threads < 1:
            raise ValueError(f"jobs and threads must be at least 1 (got jobs={self.jobs}, threads={self.threads})")

    def execute(self, job_function: JobFunction, jobs: Sequence[Job]) -> Iterator[str]:
        if not jobs:
            return
        # Longest jobs first (a stage 1 with several stage-2 rows), so no worker is left with a long tail.
        order = sorted(jobs, key=lambda j: -len(j.runs))
        pool = ProcessPoolExecutor(
            max_workers=min(self.jobs, len(order)),
            mp_context=multiprocessing.get_context("spawn"),  # never fork a process that holds torch threads
            initializer=_init_worker,
            initargs=(self.threads, _user_files(order)),
        )
        try:
            pending: set[Future[list[str]]] = {pool.submit(_run_to_end, job_function, job) for job in order}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield from future.result()
                    events.announce("job-done")
        except BrokenProcessPool as e:
            pool.shutdown(wait=False, cancel_futures=True)
            raise WorkerLost(
                "a worker process died mid-job (killed, or out of memory); finished runs are saved: "
                "run the same command again to resume the rest"
            ) from e
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


def _user_files(jobs: Sequence[Job]) -> dict[str, str]:
    """The user's method files the jobs' methods come from: each worker loads them under the same module names,
    so that the pickled methods find their classes."""
    return user_files.user_files([type(run.method) for job in jobs for run in job.runs])


def _die_with_parent() -> None:
    """Linux: SIGKILL this worker when the process that started it dies, so a killed grid leaves no
    worker training on (and holding a job's lock) behind it; a re-run then resumes that job at once."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the worker ends after its current job
        pass
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def _init_worker(threads: int, files: dict[str, str]) -> None:
    _die_with_parent()
    torch.set_num_threads(threads)
    for file, sha256 in files.items():
        user_files.load_module(Path(file), sha256)


def _run_to_end(job_function: JobFunction, job: Job) -> list[str]:
    """The statuses of one whole job (in a worker: a list travels back, a generator does not)."""
    return list(job_function(job))


@dataclass
class RayExecutor:
    """One Ray task per stage-1 job, each with ``gpus_per_job`` GPUs (default: 1 when the cluster has GPUs).

    ``address`` is passed to ``ray.init`` (None starts a local Ray instance; "auto" joins a running cluster).
    The results and cache directories must be shared by all nodes. No home-made scheduler: Ray places the tasks.
    """

    address: str | None = None
    gpus_per_job: float | None = None
    num_cpus: int | None = None

    def execute(self, job_function: JobFunction, jobs: Sequence[Job]) -> Iterator[str]:
        try:  # lazy: Ray is an optional dependency
            import ray
        except ImportError:
            raise RuntimeError("the Ray executor needs Ray: pip install 'medlt-bench[ray]'") from None
        import cloudpickle  # comes with Ray

        for job in jobs:  # methods loaded from a user's file live in a module the workers cannot import
            for run in job.runs:
                if user_files.is_user_module(type(run.method).__module__):
                    cloudpickle.register_pickle_by_value(sys.modules[type(run.method).__module__])
        if not ray.is_initialized():
            ray.init(
                address=self.address,
                num_cpus=self.num_cpus,
                include_dashboard=False,
                log_to_driver=False,
                ignore_reinit_error=True,
            )
        gpus = self.gpus_per_job
        if gpus is None:
            gpus = 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
        task = ray.remote(num_gpus=gpus, num_cpus=1, max_retries=0)(_run_to_end)
        pending = {task.remote(job_function, job): job for job in jobs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                pending.pop(ref)
                yield from ray.get(ref)
