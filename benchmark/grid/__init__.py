"""The run grid: datasets × methods × backbones × seeds, planned once and run anywhere (docs/architecture.md).

:func:`plan` turns methods and names into runs and refuses what cannot run; :func:`run` runs the pending ones
on an executor (this process, worker processes, Ray). Every caller (``run``, ``evaluate``, ``board refresh``,
``review``) goes through these two.
"""

from .driver import run
from .executors import Executor, InProcessExecutor, ProcessExecutor, RayExecutor, choose_executor, usable_cores
from .plan import Job, Run, dataset_builder, expand_grid, group_jobs, plan
from .settings import GridSettings

__all__ = [
    "Executor",
    "GridSettings",
    "InProcessExecutor",
    "Job",
    "ProcessExecutor",
    "RayExecutor",
    "Run",
    "choose_executor",
    "dataset_builder",
    "expand_grid",
    "group_jobs",
    "plan",
    "run",
    "usable_cores",
]
