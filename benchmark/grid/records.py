"""A run's result file: what ran, on which data, under which protocol, where, and what it scored."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import datasets as ds
from methods.source import code_files

from .. import provenance
from ..metrics import evaluate_predictions, fit_temperature, group_labels, stored_logits
from ..protocol import Protocol
from ..results.schema import Metrics, PerClass, Provenance, RunResult, metric_names
from ..results.store import write_predictions
from .plan import Run

#: ``(predictions, logits)`` of one split, as :func:`benchmark.training.predict.predict_with_logits` returns them.
Predicted = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class JobContext:
    """What every member run of a job shares once its stage 1 is ready."""

    protocol: Protocol
    data: ds.PreparedDataset
    dataset_params: dict[str, Any]
    s1_hash: str
    device: torch.device
    #: When the job started (UTC, ISO 8601).
    started: str
    #: Whether stage 1 was loaded from a saved checkpoint rather than trained.
    reused: bool
    #: Seconds the stage 1 took (counted into the wall time of runs whose stage 1 was trained).
    stage1_seconds: float


def failed_result(run: Run, context: JobContext, wall: float, error: BaseException) -> RunResult:
    """The result of a run that raised ``error`` (its message and the end of its traceback)."""
    message = f"{type(error).__name__}: {error}"
    trace = "".join(traceback.format_tb(error.__traceback__))[-4000:]
    return RunResult(status="failed", error=message + "\n" + trace, **_fields(run, context, wall, None))


def finished_result(
    path: Path,
    run: Run,
    context: JobContext,
    wall: float,
    test: Predicted,
    val: Predicted | None,
    stage2_choice: dict[str, float] | None,
) -> RunResult:
    """A finished run's result from its test (and validation) predictions; writes its predictions file next to
    ``path`` first. Metrics come from the float16 logits the predictions file keeps, so that they recompute
    exactly."""
    data = context.data
    y_true = data.labels[data.splits["test"]]
    test_pred, test_logits = test[0], _stored(test[1], data.num_classes)
    val_metrics, temperature = None, None
    if val is not None:
        val_labels, val_logits = data.labels[data.splits["val"]], _stored(val[1], data.num_classes)
        # temperature scaling is fitted on the validation split only, then applied to the test logits
        temperature = fit_temperature(val_labels, val_logits)
        v = evaluate_predictions(
            val_labels, val[0], data.num_classes, data.groups, logits=val_logits, train_counts=data.train_counts
        )
        val_metrics = _metrics(v)
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
        val_metrics=val_metrics,
        per_class=PerClass(
            class_names=data.class_names,
            train_counts=data.train_counts,
            recall=m["recall"],
            group=group_labels(data.num_classes, data.groups),
        ),
        confusion_matrix=m["confusion_matrix"],
        predictions_file=preds_path.name,
        calibration_temperature=temperature,
        **_fields(run, context, wall, stage2_choice),
    )


def _fields(run: Run, context: JobContext, wall: float, stage2_choice: dict[str, float] | None) -> dict[str, Any]:
    """The fields of a run's result whether it finished or failed: what ran, on which data, the protocol and
    the provenance (finished now)."""
    method = run.method
    return dict(
        spec=run.spec,
        description=method.row_description,
        reference=method.reference,
        url=method.url or None,
        hyperparameters=method.hyperparameters(),
        two_stage=method.two_stage,
        rebalance=method.rebalance.suffix if method.rebalance else None,
        stage2_choice=stage2_choice,
        stage2_settings=method.rebalance.stage2.settings() if method.rebalance else None,
        dataset_manifest_sha256=context.data.manifest_sha256,
        dataset_params=context.dataset_params,
        stage1_key=method.stage1_key(),
        stage1_sha256=context.s1_hash,
        method_source_sha256=method.source_sha256,
        code_sha256=code_files(method),
        protocol_config=context.protocol.as_dict(),
        provenance=Provenance(
            package_version=provenance.package_version(),
            git_commit=provenance.git_commit(),
            torch_version=torch.__version__,
            python_version=provenance.python_version(),
            device=str(context.device),
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


def _stored(logits: np.ndarray, num_classes: int) -> np.ndarray:
    """Logits as the predictions file keeps them (float16, :func:`benchmark.metrics.stored_logits`); an empty
    split's (0, 0) array becomes (0, C)."""
    if logits.size == 0:
        logits = np.zeros((0, num_classes), np.float32)
    return stored_logits(logits)
