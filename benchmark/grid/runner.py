"""The run grid: datasets × methods × backbones × seeds, as stage-1 jobs with their stage-2 runs.

Runs that share a stage-1 key (CE, CE→cRW, CE→cRS) form one job: stage 1 is trained once
per (dataset, backbone, protocol, seed), saved under ``<results>/.stage1/``, and every
member run starts from it. Finished runs are skipped before anything is loaded, a killed
stage 1 resumes from its last epoch, a failed run records its error and the grid goes on,
and a file lock keeps two workers off the same job (the worker that takes it checks again which
runs are finished, and removes the temporary files a killed worker left).
"""

from __future__ import annotations

import copy
import dataclasses
import fcntl
import hashlib
import sys
import time
import traceback
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import datasets as ds
from datasets.prepared import canonical_json
from methods.base import Classifier, Method
from methods.source import code_files

from .. import faults, provenance
from ..errors import UserError
from ..metrics import evaluate_predictions, fit_temperature, group_labels, stored_logits
from ..protocol import Protocol, load_protocol
from ..results.identity import claim_folders
from ..results.schema import Metrics, PerClass, Provenance, RunResult, RunSpec, metric_names
from ..results.store import is_finished, read_result, result_path, write_predictions, write_result
from ..training import checkpoints, engine
from ..training.backbones import create_backbone
from ..training.inputs import ImageBank


@dataclass
class Run:
    """One cell of the grid: a method on a dataset with a backbone, a protocol and a seed."""

    dataset: str
    method: Method
    backbone: str
    seed: int
    protocol: Protocol

    @property
    def spec(self) -> RunSpec:
        return RunSpec(
            dataset=self.dataset,
            method=self.method.display_name,
            method_id=self.method.method_id,
            backbone=self.backbone,
            seed=self.seed,
            protocol=self.protocol.name,
        )


@dataclass
class Job:
    """Runs that share one stage-1 training."""

    dataset: str
    backbone: str
    seed: int
    protocol: Protocol  # with the dataset's overrides applied
    runs: list[Run] = field(default_factory=list)

    @property
    def stage1_method(self) -> Method:
        return self.runs[0].method


@dataclass
class GridSettings:
    """Where things live and how to run them."""

    results_dir: Path
    cache_dir: Path = ds.DEFAULT_CACHE
    raw_root: Path | None = None
    device: str = "auto"
    weights_file: Path | None = None
    progress: bool = True
    #: Construction parameters for every dataset (``run -p KEY=VALUE``), as ``datasets prepare -p`` takes them.
    dataset_params: dict[str, Any] = field(default_factory=dict)


def expand_grid(
    datasets: Sequence[str],
    methods: Sequence[Method],
    backbones: Sequence[str | None],
    seeds: Sequence[int],
    protocol: str | Protocol,
) -> list[Run]:
    """Every run of the grid, in dataset, backbone, seed, method order.

    ``protocol`` is a shipped name, a TOML path or a loaded :class:`Protocol`; each run gets it
    with its dataset's overrides applied, and its method with the protocol's hyper-parameters for that
    dataset (``[methods.<id>]``, :meth:`Protocol.configure`). A backbone of None means the protocol's.
    """
    proto = protocol if isinstance(protocol, Protocol) else load_protocol(protocol)
    return [
        Run(d, proto.for_dataset(d).configure(m), b or proto.for_dataset(d).backbone, s, proto.for_dataset(d))
        for d in datasets
        for b in backbones
        for s in seeds
        for m in methods
    ]


def group_jobs(runs: Sequence[Run]) -> list[Job]:
    """Group runs by (dataset, backbone, protocol, seed, stage-1 key); one-stage members first."""
    jobs: dict[str, Job] = {}
    for r in runs:
        key = canonical_json([r.dataset, r.backbone, r.protocol.as_dict(), r.seed, r.method.stage1_key()]).decode()
        jobs.setdefault(key, Job(r.dataset, r.backbone, r.seed, r.protocol)).runs.append(r)
    for job in jobs.values():
        job.runs.sort(key=lambda r: r.method.two_stage)
    return list(jobs.values())


def dataset_builder(name: str, params: dict[str, Any]) -> ds.DatasetBuilder:
    """``datasets.create_builder(name, **params)``; a field the builder lacks is a DatasetError naming it."""
    try:
        return ds.create_builder(name, **params)
    except TypeError as e:
        raise ds.DatasetError(f"{name}: bad dataset parameter {sorted(params)} ({e})") from None


def _short(sha: str | None) -> str:
    return "none" if sha is None else sha[:12]


def stage1_sha256(manifest_sha: str, method: Method, backbone: str, seed: int, protocol: Protocol) -> str:
    """Identity of a stage-1 checkpoint: dataset, recipe, backbone, seed and the full protocol."""
    return hashlib.sha256(
        canonical_json(
            {
                "dataset_manifest_sha256": manifest_sha,
                "stage1": method.stage1_key(),
                "backbone": backbone,
                "seed": seed,
                "protocol": protocol.as_dict(),
            }
        )
    ).hexdigest()


def _stored(logits: np.ndarray, num_classes: int) -> np.ndarray:
    """Logits as the predictions file keeps them (float16, :func:`benchmark.metrics.stored_logits`);
    an empty split's (0, 0) array becomes (0, C)."""
    if logits.size == 0:
        logits = np.zeros((0, num_classes), np.float32)
    return stored_logits(logits)


def _load_stage1(model: torch.nn.Module, path: Path) -> bool:
    """Load a saved stage 1 into ``model``; False (the file set aside if unusable) means: train it."""
    state = checkpoints.load_or_set_aside(path)
    if state is None:
        return False
    problem = checkpoints.state_mismatch(model, state)
    if problem is not None:
        checkpoints.set_aside(path, f"stage-1 checkpoint {problem}")
        return False
    model.load_state_dict(state)
    return True


@dataclass(frozen=True)
class _JobSplits:
    """A job's data on the training device: the training split, the test images, the validation images and
    split (None when the dataset has no validation split)."""

    train: engine.TrainSplit
    test_bank: ImageBank
    val_bank: ImageBank | None
    val: engine.EvalSplit | None


@dataclass(frozen=True)
class _JobContext:
    """What every member run of a job shares once its stage 1 is ready."""

    job: Job
    protocol: Protocol
    data: ds.PreparedDataset
    s1_hash: str
    #: When the job started (UTC, ISO 8601).
    started: str
    #: Whether stage 1 was loaded from a saved checkpoint rather than trained.
    reused: bool
    #: Seconds the stage 1 took (counted into the wall time of runs whose stage 1 was trained).
    stage1_seconds: float


def _changed(before: dict[str, Any], now: dict[str, Any]) -> str:
    """``key: old -> new`` for every key whose value differs (missing on one side: ``<absent>``)."""

    def shown(d: dict[str, Any], key: str) -> str:
        return repr(d[key]) if key in d else "<absent>"

    keys = sorted(set(before) | set(now))
    diffs = [
        f"{k}: {shown(before, k)} -> now {shown(now, k)}"
        for k in keys
        if k not in before or k not in now or canonical_json(before[k]) != canonical_json(now[k])
    ]
    return ", ".join(diffs)


class Executor(typing.Protocol):
    """Where a grid's stage-1 jobs run (:class:`LocalExecutor`, :class:`benchmark.executors.RayExecutor`)."""

    def execute(self, runner: GridRunner, jobs: Sequence[Job]) -> Iterator[str]:
        """Run the jobs; yield one status ("ok", "failed", "skipped", "locked") per run as they finish."""


class LocalExecutor:
    """Jobs one after another in this process (the default of :meth:`GridRunner.run`)."""

    def execute(self, runner: GridRunner, jobs: Sequence[Job]) -> Iterator[str]:
        for job in jobs:
            yield from runner.run_job(job)


class GridRunner:
    """Runs jobs in this process (the local executor)."""

    def __init__(self, settings: GridSettings):
        self.settings = settings
        self.device = engine.resolve_device(settings.device)
        self._datasets: dict[tuple[str, int], ds.PreparedDataset] = {}

    # -- bookkeeping -----------------------------------------------------------------
    def pending(self, runs: Sequence[Run]) -> list[Run]:
        """Runs without a finished result file; raises UserError for a finished one that is not this run's."""
        todo = []
        for r in runs:
            path = result_path(self.settings.results_dir, r.spec)
            if is_finished(path):
                self._check_reusable(path, r)
            else:
                todo.append(r)
        return todo

    def _check_reusable(self, path: Path, run: Run) -> None:
        """A finished result is this run's only for the same method file, hyper-parameters, protocol settings,
        dataset parameters and prepared data.

        Refusing beats mixing: a result of an edited method file, of changed method defaults or protocol
        settings (e.g. after an upgrade), of other ``-p`` parameters or of a dataset prepared from other files
        would otherwise be reported as this run's.
        """
        done, folder = read_result(path), path.parent
        fix = f"give the changed method a new id or delete {folder}"
        if done.method_source_sha256 != run.method.source_sha256:
            raise UserError(
                f"{folder}: finished results of {run.spec.method_id!r} come from another version of its "
                f"method file (sha256 {_short(done.method_source_sha256)}, now "
                f"{_short(run.method.source_sha256)}); {fix}"
            )
        self._check_same_settings(done, folder, run)
        fix = f"use another --results directory or delete {folder}"
        builder = self.builder(run.dataset)
        params = done.dataset_params if done.dataset_params is not None else ds.create_builder(run.dataset).params()
        if canonical_json(params) != canonical_json(builder.params()):
            raise UserError(
                f"{folder}: finished results on {run.dataset} with dataset params {params}, but this run "
                f"asks for {builder.params()}; {fix}"
            )
        if (builder.folder(self.settings.cache_dir, run.protocol.cache_size) / "manifest.json").exists():
            data = self.dataset(run.dataset, run.protocol.cache_size)  # never prepares: finished runs need no raw files
            if done.dataset_manifest_sha256 != data.manifest_sha256:
                raise UserError(
                    f"{folder}: finished results on another build of {run.dataset} (manifest sha256 "
                    f"{_short(done.dataset_manifest_sha256)}) than {data.root} "
                    f"({_short(data.manifest_sha256)}); {fix}"
                )

    def _check_same_settings(self, done: RunResult, folder: Path, run: Run) -> None:
        """The finished result was run with this run's hyper-parameters and protocol settings."""
        fix = f"use another --results directory or delete {folder}"
        now = run.method.hyperparameters()
        if canonical_json(done.hyperparameters) != canonical_json(now):
            raise UserError(
                f"{folder}: finished results of {run.spec.method_id!r} were run with hyper-parameters "
                f"{_changed(done.hyperparameters, now)}; {fix}"
            )
        settings = run.method.rebalance.stage2.settings() if run.method.rebalance else None
        if done.stage2_settings is not None and canonical_json(done.stage2_settings) != canonical_json(settings):
            raise UserError(
                f"{folder}: finished results of {run.spec.method_id!r} were run with other stage-2 settings "
                f"({_changed(done.stage2_settings, settings or {})}); {fix}"
            )
        config = run.protocol.as_dict()
        if done.protocol_config and canonical_json(done.protocol_config) != canonical_json(config):
            raise UserError(
                f"{folder}: finished results were run with other settings of protocol {run.protocol.name!r} "
                f"({_changed(done.protocol_config, config)}); {fix}"
            )

    def builder(self, name: str) -> ds.DatasetBuilder:
        """The builder of ``name`` with this grid's dataset parameters."""
        return dataset_builder(name, self.settings.dataset_params)

    def dataset(self, name: str, size: int) -> ds.PreparedDataset:
        key = (name, size)
        if key not in self._datasets:
            self._datasets[key] = self.builder(name).load(
                cache_root=self.settings.cache_dir,
                size=size,
                raw_root=self.settings.raw_root,
                progress=self.settings.progress,
            )
        return self._datasets[key]

    # -- execution -------------------------------------------------------------------
    def run(self, runs: Sequence[Run], executor: Executor | None = None) -> dict[str, int]:
        """Run every pending run; returns counts of ``ok``, ``failed``, ``skipped``, ``locked``.

        ``executor`` defaults to this process (:class:`LocalExecutor`).
        """
        from tqdm import tqdm

        todo = self.pending(runs)
        # one configuration per folder (benchmark/identity.py)
        claim_folders(self.settings.results_dir, todo, lambda name: self.builder(name).params())
        counts = {"ok": 0, "failed": 0, "skipped": len(runs) - len(todo), "locked": 0}
        bar = tqdm(total=len(todo), desc="runs", unit="run", disable=not self.settings.progress, file=sys.stderr)
        try:
            for status in (executor or LocalExecutor()).execute(self, group_jobs(todo)):
                counts[status] += 1
                bar.update(1)
        finally:
            bar.close()
        return counts

    def run_job(self, job: Job) -> Iterator[str]:
        """Stage 1 once (trained, resumed or loaded), then each member run; yields each run's status."""
        protocol = job.protocol
        data = self.dataset(job.dataset, protocol.cache_size)
        faults.kill_point("dataset-loaded")
        s1_hash = stage1_sha256(data.manifest_sha256, job.stage1_method, job.backbone, job.seed, protocol)
        stage1_dir = Path(self.settings.results_dir) / ".stage1"
        stage1_dir.mkdir(parents=True, exist_ok=True)
        with open(stage1_dir / f"{s1_hash}.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                for _ in job.runs:
                    yield "locked"
                return
            faults.kill_point("job-locked")
            self._remove_orphans(job, stage1_dir, s1_hash)
            # another worker may have finished runs between our pending() and this lock: never redo them
            todo = [r for r in job.runs if not is_finished(result_path(self.settings.results_dir, r.spec))]
            for _ in range(len(job.runs) - len(todo)):
                yield "skipped"
            if todo:
                yield from self._run_locked(dataclasses.replace(job, runs=todo), protocol, data, s1_hash, stage1_dir)

    def _remove_orphans(self, job: Job, stage1_dir: Path, s1_hash: str) -> None:
        """Delete the temporary files a killed worker left for this job (safe: we hold its lock)."""
        orphans = list(stage1_dir.glob(f".{s1_hash}.*.tmp"))  # atomic_write_bytes names them .<name>.<random>.tmp
        for run in job.runs:
            path = result_path(self.settings.results_dir, run.spec)
            orphans += path.parent.glob(f".{path.stem}.*.tmp")  # the result JSON and its .preds.npz
        for orphan in orphans:
            orphan.unlink(missing_ok=True)

    def _run_locked(
        self, job: Job, protocol: Protocol, data: ds.PreparedDataset, s1_hash: str, stage1_dir: Path
    ) -> Iterator[str]:
        # every tensor of the job (model, batches, class counts) in the protocol's precision
        with engine.numeric_precision(protocol.precision):
            yield from self._train_and_evaluate(job, protocol, data, s1_hash, stage1_dir)

    def _train_and_evaluate(
        self, job: Job, protocol: Protocol, data: ds.PreparedDataset, s1_hash: str, stage1_dir: Path
    ) -> Iterator[str]:
        """Stage 1 (loaded, or trained and saved), then every member run evaluated and written; yields each
        run's status. A failed stage 1 fails every member; a failed member does not stop the others."""
        started, t0 = provenance.utc_now(), time.perf_counter()
        splits = self._job_splits(data, protocol)
        final, resume = stage1_dir / f"{s1_hash}.pt", stage1_dir / f"{s1_hash}.resume.pt"
        try:
            model, reused = self._stage1(job, protocol, data, splits.train, s1_hash, final, resume)
            resume.unlink(missing_ok=True)  # also one a worker killed after saving stage 1 left behind
        except Exception as e:  # the grid goes on; every member records the error
            failed = _JobContext(job, protocol, data, s1_hash, started, False, time.perf_counter() - t0)
            for run in job.runs:
                self._write(run, failed, failed.stage1_seconds, error=e)
                yield "failed"
            return
        context = _JobContext(job, protocol, data, s1_hash, started, reused, time.perf_counter() - t0)
        for run in job.runs:
            yield self._evaluate_run(run, context, model, splits)

    def _job_splits(self, data: ds.PreparedDataset, protocol: Protocol) -> _JobSplits:
        """The job's training, test and validation data on the device, in the protocol's precision."""
        train = data.splits["train"]
        split = engine.TrainSplit(
            bank=ImageBank(data.images, train, self.device),
            labels=data.labels[train],
            class_counts=torch.tensor(
                data.train_counts, dtype=engine.PRECISIONS[protocol.precision], device=self.device
            ),
        )
        test_bank = ImageBank(data.images, data.splits["test"], self.device)
        val_bank = ImageBank(data.images, data.splits["val"], self.device) if len(data.splits["val"]) else None
        # stage 2 chooses post-hoc parameters (τ-norm's and PLA's τ) on the validation split only
        val_split = engine.EvalSplit(val_bank, data.labels[data.splits["val"]]) if val_bank is not None else None
        return _JobSplits(split, test_bank, val_bank, val_split)

    def _stage1(
        self,
        job: Job,
        protocol: Protocol,
        data: ds.PreparedDataset,
        split: engine.TrainSplit,
        s1_hash: str,
        final: Path,
        resume: Path,
    ) -> tuple[Classifier, bool]:
        """The job's stage-1 model, seeded by the job's seed: loaded from ``final`` (True: reused) or trained
        (resuming from ``resume``) and saved there (False)."""
        method = job.stage1_method
        torch.manual_seed(job.seed)
        backbone, feat_dim = create_backbone(job.backbone, protocol.pretrained, self.settings.weights_file)
        model = method.build(backbone, feat_dim, data.num_classes, split.class_counts.cpu())
        if _load_stage1(model, final):
            return model, True
        faults.trace("stage1", s1_hash)
        engine.train_stage1(
            method,
            model,
            split,
            protocol,
            self.device,
            job.seed,
            resume,
            self._epoch_bar(f"{job.dataset} {method.name} s{job.seed} stage 1", protocol.epochs),
        )
        checkpoints.save_checkpoint(model.state_dict(), final)
        faults.kill_point("stage1-saved")
        return model, False

    def _evaluate_run(self, run: Run, context: _JobContext, model: Classifier, splits: _JobSplits) -> str:
        """One member run from the stage-1 ``model``: its stage 2 (two-stage rows), test and validation
        predictions, and its result file; ``ok``, or ``failed`` with the error recorded."""
        job, protocol = context.job, context.protocol
        t_run = time.perf_counter()
        try:
            m = model
            rebalance = run.method.rebalance
            if rebalance is not None:  # a two-stage row
                bar = (
                    self._epoch_bar(
                        f"{job.dataset} {run.method.display_name} s{job.seed} stage 2", protocol.stage2_epochs
                    )
                    if rebalance.stage2.trains
                    else None
                )
                m = engine.train_stage2(
                    copy.deepcopy(model), rebalance, splits.train, protocol, self.device, job.seed, bar, val=splits.val
                )
            y_pred = engine.predict_with_logits(m, splits.test_bank, protocol, self.device)
            # val is for monitoring and hyper-parameter choice only; it never picks a test epoch
            val_pred = (
                engine.predict_with_logits(m, splits.val_bank, protocol, self.device)
                if splits.val_bank is not None
                else None
            )
            wall = time.perf_counter() - t_run + (0.0 if context.reused else context.stage1_seconds)
            faults.kill_point("run-evaluated")
            self._write(
                run,
                context,
                wall,
                y_pred=y_pred,
                val_pred=val_pred,
                stage2_choice=getattr(m, "stage2_choice", None) if m is not model else None,
            )
            faults.kill_point("run-written")
            return "ok"
        except Exception as e:
            wall = time.perf_counter() - t_run
            self._write(run, context, wall, error=e)
            return "failed"

    def _epoch_bar(self, desc: str, total: int) -> engine.EpochCallback | None:
        if not self.settings.progress:
            return None
        from tqdm import tqdm

        bar = tqdm(total=total, desc=desc, unit="ep", leave=False, file=sys.stderr)

        def update(epoch: int, epochs: int, loss: float) -> None:
            bar.set_postfix(loss=f"{loss:.3f}")
            bar.update(1)
            if epoch + 1 >= epochs:
                bar.close()

        return update

    def _write(
        self,
        run: Run,
        context: _JobContext,
        wall: float,
        y_pred: tuple[np.ndarray, np.ndarray] | None = None,
        val_pred: tuple[np.ndarray, np.ndarray] | None = None,
        error: BaseException | None = None,
        stage2_choice: dict[str, float] | None = None,
    ) -> None:
        """Write one run's result (and, when it finished, its predictions file); ``y_pred`` / ``val_pred``
        are ``(predictions, logits)`` from :func:`engine.predict_with_logits`; ``stage2_choice`` is what a
        stage-2 search chose on the validation split."""
        path = result_path(self.settings.results_dir, run.spec)
        fields = self._result_fields(run, context, wall, stage2_choice)
        if error is not None:
            msg = f"{type(error).__name__}: {error}"
            result = RunResult(
                status="failed", error=msg + "\n" + "".join(traceback.format_tb(error.__traceback__))[-4000:], **fields
            )
        else:
            assert y_pred is not None
            result = _finished_result(path, context.data, y_pred, val_pred, fields)
        write_result(path, result)
        faults.trace("run", path.relative_to(self.settings.results_dir).as_posix())

    def _result_fields(
        self, run: Run, context: _JobContext, wall: float, stage2_choice: dict[str, float] | None
    ) -> dict[str, Any]:
        """The fields of a run's result whether it finished or failed: what ran, on which data, the
        protocol and the provenance (finished now)."""
        return dict(
            spec=run.spec,
            description=run.method.row_description,
            reference=run.method.reference,
            url=run.method.url or None,
            hyperparameters=run.method.hyperparameters(),
            two_stage=run.method.two_stage,
            rebalance=run.method.rebalance.suffix if run.method.rebalance else None,
            stage2_choice=stage2_choice,
            stage2_settings=run.method.rebalance.stage2.settings() if run.method.rebalance else None,
            dataset_manifest_sha256=context.data.manifest_sha256,
            dataset_params=self.builder(run.dataset).params(),
            stage1_key=run.method.stage1_key(),
            stage1_sha256=context.s1_hash,
            method_source_sha256=run.method.source_sha256,
            code_sha256=code_files(run.method),
            protocol_config=context.protocol.as_dict(),
            provenance=Provenance(
                package_version=provenance.package_version(),
                git_commit=provenance.git_commit(),
                torch_version=torch.__version__,
                python_version=provenance.python_version(),
                device=str(self.device),
                wall_seconds=round(float(wall), 3),
                started=context.started,
                finished=provenance.utc_now(),
                stage1_reused=context.reused,
                threads=torch.get_num_threads(),
            ),
        )


def _metrics(values: dict[str, Any]) -> Metrics:
    """The :class:`Metrics` of :func:`evaluate_predictions`'s output (its other keys left out)."""
    return Metrics(**{k: values[k] for k in metric_names()})


def _finished_result(
    path: Path,
    data: ds.PreparedDataset,
    y_pred: tuple[np.ndarray, np.ndarray],
    val_pred: tuple[np.ndarray, np.ndarray] | None,
    fields: dict[str, Any],
) -> RunResult:
    """A finished run's result from its ``(predictions, logits)`` on the test (and validation) split; writes
    its predictions file next to ``path`` first."""
    y_true = data.labels[data.splits["test"]]
    # metrics from the float16 logits that the predictions file keeps, so that they recompute exactly
    test_pred, test_logits = y_pred[0], _stored(y_pred[1], data.num_classes)
    val, temperature = None, None
    if val_pred is not None:
        val_logits = _stored(val_pred[1], data.num_classes)
        # temperature scaling is fitted on the validation split only, then applied to the test logits
        temperature = fit_temperature(data.labels[data.splits["val"]], val_logits)
        v = evaluate_predictions(
            data.labels[data.splits["val"]],
            val_pred[0],
            data.num_classes,
            data.groups,
            logits=val_logits,
            train_counts=data.train_counts,
        )
        val = _metrics(v)
    m = evaluate_predictions(
        y_true,
        test_pred,
        data.num_classes,
        data.groups,
        logits=test_logits,
        train_counts=data.train_counts,
        temperature=temperature,
    )
    preds_path = path.with_name(path.stem + ".preds.npz")
    write_predictions(preds_path, y_true, test_pred, test_logits)
    return RunResult(
        status="ok",
        metrics=_metrics(m),
        val_metrics=val,
        per_class=PerClass(
            class_names=data.class_names,
            train_counts=data.train_counts,
            recall=m["recall"],
            group=group_labels(data.num_classes, data.groups),
        ),
        confusion_matrix=m["confusion_matrix"],
        predictions_file=preds_path.name,
        calibration_temperature=temperature,
        **fields,
    )
