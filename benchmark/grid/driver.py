"""Running a planned grid: skip what is finished, claim the folders, prepare each dataset once, hand the jobs
to an executor and count what comes back."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..errors import UserError
from ..results.claims import claim_folders
from ..results.identity import reuse_problem, run_identity
from ..results.store import read_finished, result_path
from .executors import Executor, InProcessExecutor
from .job import JobRunner
from .plan import Run, dataset_builder, group_jobs
from .prepared import PreparedDatasets
from .settings import GridSettings


def run(runs: Sequence[Run], settings: GridSettings, executor: Executor | None = None) -> dict[str, int]:
    """Run every run of ``runs`` that has no finished result, on ``executor`` (default: this process); returns
    how many finished (``ok``), ``failed``, were finished already (``skipped``) or held by another worker
    (``locked``).

    Before any work: a finished result that is not this run's (another method file, other settings, another
    dataset build) is refused (:class:`benchmark.errors.UserError`), the results folders are claimed for their
    configuration, and each dataset is prepared once here, so that workers never race to build one folder.
    """
    from tqdm import tqdm  # lazy: the CLI starts without tqdm

    prepared = PreparedDatasets(settings)
    todo = pending(runs, settings, prepared)
    claim_folders(settings.results_dir, todo, lambda name: prepared.builder(name).params())
    counts = {"ok": 0, "failed": 0, "skipped": len(runs) - len(todo), "locked": 0}
    jobs = group_jobs(todo)
    for name, size in sorted({(j.dataset, j.protocol.cache_size) for j in jobs}):
        prepared.load(name, size)
    bar = tqdm(total=len(todo), desc="runs", unit="run", disable=not settings.progress, file=sys.stderr)
    try:
        for status in (executor or InProcessExecutor()).execute(JobRunner(settings, prepared), jobs):
            counts[status] += 1
            bar.update(1)
    finally:
        bar.close()
    return counts


def pending(runs: Sequence[Run], settings: GridSettings, prepared: PreparedDatasets | None = None) -> list[Run]:
    """The runs without a finished result; a finished one that is not this run's is refused (UserError)."""
    prepared = prepared or PreparedDatasets(settings)
    todo = []
    for r in runs:
        path = result_path(settings.results_dir, r.spec)
        done = read_finished(path)
        if done is None:
            todo.append(r)
            continue
        builder = prepared.builder(r.dataset)
        size = r.protocol.cache_size
        # a finished run needs no raw files: its dataset's manifest is compared only where it is prepared
        manifest = prepared.load(r.dataset, size).manifest_sha256 if prepared.is_prepared(r.dataset, size) else None
        now = run_identity(r, builder.params(), manifest)
        defaults = dataset_builder(r.dataset, {}).params()
        problem = reuse_problem(done, now, defaults, path.parent)
        if problem is not None:
            raise UserError(problem)
    return todo
