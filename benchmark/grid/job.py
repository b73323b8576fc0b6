"""One stage-1 job in this process: stage 1 once (trained, resumed or loaded), then every member run.

A file lock keeps two workers off one job; the worker that takes it checks again which runs are finished and
removes the temporary files a killed worker left. A failed stage 1 fails every member; a failed member run
records its error and the others go on.
"""

from __future__ import annotations

import copy
import dataclasses
import fcntl
import hashlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

import datasets as ds
from datasets.prepared import canonical_json
from methods.base import Classifier, Method

from .. import events, provenance
from ..protocol import Protocol
from ..results.schema import RunResult
from ..results.store import is_finished, result_path, write_result
from ..training import checkpoints, stage1, stage2
from ..training.backbones import create_backbone
from ..training.inputs import EvalSplit, ImageBank, TrainSplit
from ..training.precision import PRECISIONS, numeric_precision, resolve_device
from ..training.predict import predict_with_logits
from ..training.schedule import EpochCallback
from .plan import Job, Run
from .prepared import PreparedDatasets
from .records import JobContext, failed_result, finished_result
from .settings import GridSettings


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


@dataclass(frozen=True)
class _JobSplits:
    """A job's data on the training device: the training split, the test images, the validation images and
    split (None when the dataset has no validation split)."""

    train: TrainSplit
    test_bank: ImageBank
    val_bank: ImageBank | None
    val: EvalSplit | None


class JobRunner:
    """The job function every executor calls: ``runner(job)`` runs one job here and yields each run's status
    ("ok", "failed", "skipped" or "locked") as it finishes. Picklable: a worker process gets the settings and
    loads its own datasets."""

    def __init__(self, settings: GridSettings, prepared: PreparedDatasets | None = None):
        self.settings = settings
        self.prepared = prepared or PreparedDatasets(settings)

    def __getstate__(self) -> dict[str, Any]:
        # a worker draws no progress bars: several would interleave on one terminal
        return {"settings": dataclasses.replace(self.settings, progress=False)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.settings = state["settings"]
        self.prepared = PreparedDatasets(self.settings)

    def __call__(self, job: Job) -> Iterator[str]:
        data = self.prepared.load(job.dataset, job.protocol.cache_size)
        events.announce("dataset-loaded", job.dataset)
        s1_hash = stage1_sha256(data.manifest_sha256, job.stage1_method, job.backbone, job.seed, job.protocol)
        stage1_dir = Path(self.settings.results_dir) / ".stage1"
        stage1_dir.mkdir(parents=True, exist_ok=True)
        with open(stage1_dir / f"{s1_hash}.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                for _ in job.runs:
                    yield "locked"
                return
            events.announce("job-locked", s1_hash)
            self._remove_orphans(job, stage1_dir, s1_hash)
            # another worker may have finished runs between the driver's check and this lock: never redo them
            todo = [r for r in job.runs if not is_finished(result_path(self.settings.results_dir, r.spec))]
            for _ in range(len(job.runs) - len(todo)):
                yield "skipped"
            if todo:
                # every tensor of the job (model, batches, class counts) in the protocol's precision
                with numeric_precision(job.protocol.precision):
                    yield from self._train_and_evaluate(dataclasses.replace(job, runs=todo), data, s1_hash, stage1_dir)

    def _remove_orphans(self, job: Job, stage1_dir: Path, s1_hash: str) -> None:
        """Delete the temporary files a killed worker left for this job (safe: we hold its lock)."""
        orphans = list(stage1_dir.glob(f".{s1_hash}.*.tmp"))  # atomic_write_bytes names them .<name>.<random>.tmp
        for run in job.runs:
            path = result_path(self.settings.results_dir, run.spec)
            orphans += path.parent.glob(f".{path.stem}.*.tmp")  # the result JSON and its .preds.npz
        for orphan in orphans:
            orphan.unlink(missing_ok=True)

    def _train_and_evaluate(self, job: Job, data: ds.PreparedDataset, s1_hash: str, stage1_dir: Path) -> Iterator[str]:
        """Stage 1 (loaded, or trained and saved), then every member run evaluated and written."""
        started, t0 = provenance.utc_now(), time.perf_counter()
        device = resolve_device(self.settings.device)
        splits = _job_splits(data, job.protocol, device)
        final, resume = stage1_dir / f"{s1_hash}.pt", stage1_dir / f"{s1_hash}.resume.pt"
        params = self.prepared.builder(job.dataset).params()
        try:
            model, reused = self._stage1(job, data, splits.train, device, s1_hash, final, resume)
            resume.unlink(missing_ok=True)  # also one a worker killed after saving stage 1 left behind
        except Exception as e:  # the grid goes on; every member records the error
            failed = JobContext(job.protocol, data, params, s1_hash, device, started, False, time.perf_counter() - t0)
            for run in job.runs:
                self._write(run, failed_result(run, failed, failed.stage1_seconds, e))
                yield "failed"
            return
        context = JobContext(job.protocol, data, params, s1_hash, device, started, reused, time.perf_counter() - t0)
        for run in job.runs:
            yield self._evaluate_run(run, context, model, splits)

    def _stage1(
        self,
        job: Job,
        data: ds.PreparedDataset,
        split: TrainSplit,
        device: torch.device,
        s1_hash: str,
        final: Path,
        resume: Path,
    ) -> tuple[Classifier, bool]:
        """The job's stage-1 model, seeded by the job's seed: loaded from ``final`` (True: reused) or trained
        (resuming from ``resume``) and saved there (False)."""
        method, s = job.stage1_method, self.settings
        torch.manual_seed(job.seed)
        backbone, feat_dim = create_backbone(
            job.backbone, job.protocol.pretrained, s.weights_file, s.weights_dir, s.allow_download
        )
        model = method.build(backbone, feat_dim, data.num_classes, split.class_counts.cpu())
        if _load_stage1(model, final):
            return model, True
        events.announce("stage1-training", s1_hash)
        bar = self._epoch_bar(f"{job.dataset} {method.name} s{job.seed} stage 1", job.protocol.epochs)
        stage1.train_stage1(method, model, split, job.protocol, device, job.seed, resume, bar)
        checkpoints.save_checkpoint(model.state_dict(), final)
        events.announce("stage1-saved", s1_hash)
        return model, False

    def _evaluate_run(self, run: Run, context: JobContext, model: Classifier, splits: _JobSplits) -> str:
        """One member run from the stage-1 ``model``: its stage 2 (two-stage rows), test and validation
        predictions, and its result file; ``ok``, or ``failed`` with the error recorded."""
        protocol, device, t_run = context.protocol, context.device, time.perf_counter()
        path = result_path(self.settings.results_dir, run.spec)
        try:
            m, choice = model, None
            rebalance = run.method.rebalance
            if rebalance is not None:  # a two-stage row
                bar = (
                    self._epoch_bar(
                        f"{run.dataset} {run.method.display_name} s{run.seed} stage 2", protocol.stage2_epochs
                    )
                    if rebalance.stage2.trains
                    else None
                )
                outcome = stage2.train_stage2(
                    copy.deepcopy(model), rebalance, splits.train, protocol, device, run.seed, bar, val=splits.val
                )
                m, choice = outcome.model, outcome.choice
            test = predict_with_logits(m, splits.test_bank, protocol, device)
            # val is for monitoring and hyper-parameter choice only; it never picks a test epoch
            val = predict_with_logits(m, splits.val_bank, protocol, device) if splits.val_bank is not None else None
            wall = time.perf_counter() - t_run + (0.0 if context.reused else context.stage1_seconds)
            events.announce("run-evaluated", run.spec.method_id)
            self._write(run, finished_result(path, run, context, wall, test, val, choice))
            return "ok"
        except Exception as e:
            self._write(run, failed_result(run, context, time.perf_counter() - t_run, e))
            return "failed"

    def _write(self, run: Run, result: RunResult) -> None:
        path = result_path(self.settings.results_dir, run.spec)
        write_result(path, result)
        events.announce("run-written", path.relative_to(self.settings.results_dir).as_posix())

    def _epoch_bar(self, desc: str, total: int) -> EpochCallback | None:
        if not self.settings.progress:
            return None
        bar = tqdm(total=total, desc=desc, unit="ep", leave=False, file=sys.stderr)

        def update(epoch: int, epochs: int, loss: float) -> None:
            bar.set_postfix(loss=f"{loss:.3f}")
            bar.update(1)
            if epoch + 1 >= epochs:
                bar.close()

        return update


def _job_splits(data: ds.PreparedDataset, protocol: Protocol, device: torch.device) -> _JobSplits:
    """The job's training, test and validation data on the device, in the protocol's precision."""
    train = data.splits["train"]
    split = TrainSplit(
        bank=ImageBank(data.images, train, device),
        labels=data.labels[train],
        class_counts=torch.tensor(data.train_counts, dtype=PRECISIONS[protocol.precision], device=device),
    )
    test_bank = ImageBank(data.images, data.splits["test"], device)
    val_bank = ImageBank(data.images, data.splits["val"], device) if len(data.splits["val"]) else None
    # stage 2 chooses post-hoc parameters (τ-norm's and PLA's τ) on the validation split only
    val_split = EvalSplit(val_bank, data.labels[data.splits["val"]]) if val_bank is not None else None
    return _JobSplits(split, test_bank, val_bank, val_split)


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
