"""Stage-1 jobs in parallel worker processes on this machine, each with a fixed number of torch threads.

The default grid's models are tiny: a second thread in one process speeds a training step up little,
and loses badly when another process wants the core, while two single-thread processes each keep a
core busy (measured in ``benchmarks/parallel_jobs.py``). A job's numbers depend on its thread count
(float32 sums), never on which worker ran it, so the same ``--threads`` gives the same results; each
result records its thread count (``provenance.threads``).
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import importlib.util
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import faults
from ..errors import WorkerLost

if TYPE_CHECKING:
    from .runner import GridRunner, GridSettings, Job

#: Modules that :func:`methods.registry.load_method_from_file` creates for a user's file.
_USER_MODULE_PREFIX = "medlt_user_method_"


def usable_cores() -> int:
    """The CPU cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class ParallelExecutor:
    """Up to ``jobs`` worker processes, each running whole stage-1 jobs with ``threads`` torch threads."""

    jobs: int
    threads: int = 1

    def __post_init__(self) -> None:
        if self.jobs < 1 or self.threads < 1:
            raise ValueError(f"jobs and threads must be at least 1 (got jobs={self.jobs}, threads={self.threads})")

    def execute(self, runner: GridRunner, jobs: Sequence[Job]) -> Iterator[str]:
        if not jobs:
            return
        # Prepared once here: two workers must not build the same dataset side by side.
        for name, cache_size in sorted({(j.dataset, j.protocol.cache_size) for j in jobs}):
            runner.dataset(name, cache_size)
        settings = dataclasses.replace(runner.settings, progress=False)
        # Longest jobs first (a stage 1 with several stage-2 rows), so no worker is left with a long tail.
        order = sorted(jobs, key=lambda j: -len(j.runs))
        pool = ProcessPoolExecutor(
            max_workers=min(self.jobs, len(order)),
            mp_context=multiprocessing.get_context("spawn"),  # never fork a process that holds torch threads
            initializer=_init_worker,
            initargs=(self.threads, _user_modules(order)),
        )
        try:
            pending: set[Future[list[str]]] = {pool.submit(_run_job, settings, job) for job in order}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield from future.result()
                    faults.kill_point("job-done")
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


def _user_modules(jobs: Sequence[Job]) -> dict[str, tuple[str, str]]:
    """``{module name: (file, sha256)}`` of the user's method files the jobs use: the workers load each
    under the same name, so the pickled methods find their classes."""
    found: dict[str, tuple[str, str]] = {}
    for job in jobs:
        for run in job.runs:
            cls = type(run.method)
            if cls.__module__.startswith(_USER_MODULE_PREFIX):
                module = sys.modules[cls.__module__]
                assert module.__file__ is not None and cls.source_sha256 is not None
                _check_unchanged(module.__file__, cls.source_sha256)
                found[cls.__module__] = (module.__file__, cls.source_sha256)
    return found


def _check_unchanged(file: str, sha256: str) -> None:
    """The workers load the file again: it must still be the one the grid's methods were made from."""
    if hashlib.sha256(Path(file).read_bytes()).hexdigest() != sha256:
        raise RuntimeError(f"{file} changed while the grid ran (sha256 is no longer {sha256[:12]}); run again")


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


def _init_worker(threads: int, user_modules: dict[str, tuple[str, str]]) -> None:
    import torch

    from methods.base import Method

    _die_with_parent()
    torch.set_num_threads(threads)
    for name, (file, sha256) in user_modules.items():
        _check_unchanged(file, sha256)
        spec = importlib.util.spec_from_file_location(name, file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        for value in vars(module).values():  # as load_method_from_file marks the class it returns
            if isinstance(value, type) and issubclass(value, Method) and value.__module__ == name:
                value.source_sha256 = sha256


def _run_job(settings: GridSettings, job: Job) -> list[str]:
    from .runner import GridRunner

    return list(GridRunner(settings).run_job(job))
