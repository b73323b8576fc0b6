"""Where stage-1 jobs run: in this process, or as Ray tasks on a cluster (one task per job).

Jobs are independent given the shared results directory (file locks keep two workers off
one job), so an executor only decides where ``GridRunner.run_job`` runs. No home-made
scheduler: Ray places the tasks.

Imports point one way, executors -> grid: the :class:`Executor` protocol and the in-process
:class:`LocalExecutor` (the grid's default) live in :mod:`benchmark.grid` and are re-exported here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .runner import Executor, GridRunner, GridSettings, Job, LocalExecutor

__all__ = ["Executor", "LocalExecutor", "RayExecutor"]


def _run_job_remote(settings: GridSettings, job: Job) -> list[str]:
    return list(GridRunner(settings).run_job(job))


@dataclass
class RayExecutor:
    """One Ray task per stage-1 job, each with ``gpus_per_job`` GPUs (default: 1 when the cluster has GPUs).

    ``address`` is passed to ``ray.init`` (None starts a local Ray instance; "auto" joins a
    running cluster). The results and cache directories must be shared by all nodes.
    """

    address: str | None = None
    gpus_per_job: float | None = None
    num_cpus: int | None = None

    def execute(self, runner: GridRunner, jobs: Sequence[Job]) -> Iterator[str]:
        try:
            import ray
        except ImportError:
            raise RuntimeError("the Ray executor needs Ray: pip install 'medlt-bench[ray]'") from None
        import cloudpickle

        # Methods loaded from a user's file live in a module the workers cannot import.
        for job in jobs:
            for run in job.runs:
                module = sys.modules.get(type(run.method).__module__)
                if module is not None and module.__name__.startswith("medlt_user_method_"):
                    cloudpickle.register_pickle_by_value(module)
        # Prepare each dataset once here, so workers never race to write the same folder.
        for name, size in {(j.dataset, j.protocol.cache_size) for j in jobs}:
            runner.dataset(name, size)
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
        settings = GridSettings(**{**runner.settings.__dict__, "progress": False})
        task = ray.remote(num_gpus=gpus, num_cpus=1, max_retries=0)(_run_job_remote)
        pending = {task.remote(settings, job): job for job in jobs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                pending.pop(ref)
                yield from ray.get(ref)
