"""The checks of one result file on its own: it is a result (schema), the run finished, its metrics are
defined, its tables are complete and agree with the confusion matrix, its predictions file reproduces them,
its provenance is filled in."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ...metrics import LOGIT_METRICS, evaluate_predictions, mean_class_recall
from ..schema import RunResult, group_metrics, metric_names
from ..store import Predictions
from .problems import Problem
from .submission import ResultFile, Submission

#: How far a stored metric or recall (in %; NLL in nats) may be from the value recomputed from the evidence.
TOLERANCE = 1e-6


def _check_recomputed_metrics(
    where: str, r: RunResult, evidence: Predictions, groups: Mapping[str, list[int]]
) -> list[Problem]:
    """Metrics beyond the MCR of the dataset's groups (schema version 2), where the result has them, against
    the values :func:`benchmark.metrics.evaluate_predictions` recomputes from the predictions file."""
    assert r.metrics is not None and r.per_class is not None
    stored = r.metrics.model_dump()
    recomputed = evaluate_predictions(
        evidence.y_true,
        evidence.y_pred,
        len(r.per_class.class_names),
        {"major": groups["major"], "minor": groups["minor"], "medium": groups["medium"] or None},
        logits=evidence.logits,
        train_counts=r.per_class.train_counts,
        temperature=r.calibration_temperature,  # fitted on the validation split, recorded in the result
    )
    out = []
    for name in metric_names():
        got = stored[name]
        if name in group_metrics().values() or got is None or math.isnan(got):
            continue  # check_metrics_match_confusion / absent / check_metrics_defined says so
        source = f"the logits in {r.predictions_file}" if name in LOGIT_METRICS else f"{r.predictions_file}"
        if name in LOGIT_METRICS and evidence.logits is None:
            out.append(Problem(where, f"metrics.{name}", f"cannot be checked: {r.predictions_file} holds no logits"))
            continue
        value = recomputed[name]
        if value is None or math.isnan(value) or abs(got - value) > TOLERANCE:
            shown = "undefined" if value is None or math.isnan(value) else f"{value:.6f}"
            out.append(Problem(where, f"metrics.{name}", f"{got} disagrees with {source} ({shown})"))
    return out


def _check_recall(where: str, r: RunResult, cm: np.ndarray) -> list[Problem]:
    """Per-class recall (%) is the confusion matrix's diagonal over its row sums."""
    assert r.per_class is not None
    rows = cm.sum(axis=1)
    out = []
    for i, (name, got) in enumerate(zip(r.per_class.class_names, r.per_class.recall)):
        if rows[i] == 0 or got is None or (isinstance(got, float) and math.isnan(got)):
            continue
        value = 100.0 * cm[i, i] / rows[i]
        if abs(got - value) > TOLERANCE:
            out.append(
                Problem(
                    where,
                    f"per_class.recall[{i}]",
                    f"{got} for {name!r} disagrees with the confusion matrix ({value:.6f})",
                )
            )
    return out


def _check_nan_metrics(where: str, r: RunResult) -> list[Problem]:
    """A metric stored as "NaN" (e.g. a group with no test image) cannot be ranked or compared."""
    if r.metrics is None:
        return []
    return [
        Problem(where, f"metrics.{name}", "NaN (undefined); a submitted run needs every metric")
        for name, value in r.metrics.model_dump().items()
        if value is not None and math.isnan(value)
    ]


def _check_provenance(where: str, r: RunResult) -> list[Problem]:
    return [
        Problem(where, f"provenance.{name}", "empty")
        for name in ("package_version", "torch_version", "python_version", "device", "started", "finished")
        if not str(getattr(r.provenance, name)).strip()
    ]


def check_schema(sub: Submission, f: ResultFile) -> list[Problem]:
    """The file parses as a JSON object that matches the result schema (:class:`benchmark.results.schema.RunResult`;
    pydantic's errors become one line per field path). A file that does not is checked no further."""
    return f.parse_problems


def check_finished(sub: Submission, f: ResultFile) -> list[Problem]:
    """The run finished: ``status`` is ``ok`` (a failed run must be re-run before submitting). Only a finished
    run's tables and predictions are checked."""
    r = f.result
    if r.status == "ok":
        return []
    first = (r.error or "no error message").strip().splitlines()[0] if (r.error or "").strip() else "no message"
    return [Problem(f.where, "status", f"run failed ({first}); re-run it before submitting")]


def check_metrics_defined(sub: Submission, f: ResultFile) -> list[Problem]:
    """No metric of a finished run is NaN (e.g. the MCR of a group with no test image): it could not be
    ranked or compared."""
    if not f.finished:
        return []
    return _check_nan_metrics(f.where, f.result)


def check_tables_complete(sub: Submission, f: ResultFile) -> list[Problem]:
    """A finished run has metrics, per-class recall, a confusion matrix and a predictions file; the matrix is
    square with one row per class and every per-class list has one entry per class."""
    return f.table_problems


def check_metrics_match_confusion(sub: Submission, f: ResultFile) -> list[Problem]:
    """The MCR of all classes and of each class group (:data:`benchmark.results.schema.GROUP_METRICS`) agree within
    :data:`TOLERANCE` with the confusion matrix."""
    cm = f.confusion
    if cm is None:
        return []
    r, groups = f.result, f.groups
    # the MCR of a group with no class (a dataset without a medium group) is not in the result to check
    expected = {
        name: mean_class_recall(cm, groups.get(short)) if short == "all" or groups[short] else None
        for short, name in group_metrics().items()
    }
    out = []
    for name, value in expected.items():
        got = getattr(r.metrics, name)
        if got is not None and math.isnan(got):
            continue  # check_metrics_defined says so
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if got is None or abs(got - value) > TOLERANCE:
            out.append(Problem(f.where, f"metrics.{name}", f"{got} disagrees with the confusion matrix ({value:.6f})"))
    return out


def check_recall_matches_confusion(sub: Submission, f: ResultFile) -> list[Problem]:
    """Each per-class recall (%) agrees within :data:`TOLERANCE` with the confusion matrix's diagonal over its
    row sum."""
    cm = f.confusion
    return [] if cm is None else _check_recall(f.where, f.result, cm)


def check_predictions_file(sub: Submission, f: ResultFile) -> list[Problem]:
    """The predictions file lies inside the submission (a relative path with no ``..``), exists, is a readable
    ``.npz`` and holds as many labels and predictions as the confusion matrix counts."""
    return f.evidence_problems


def check_predictions_reproduce(sub: Submission, f: ResultFile) -> list[Problem]:
    """The predictions file reproduces the confusion matrix exactly (rows: true class)."""
    return f.reproduce_problems


def check_metrics_reproduce(sub: Submission, f: ResultFile) -> list[Problem]:
    """The metrics of schema version 2, where a result has them, agree within :data:`TOLERANCE` with the values
    recomputed from a predictions file that reproduces the confusion matrix: accuracy, macro-F1 and many /
    medium / few-shot MCR from the labels and predictions, macro AUC, ECE and NLL from its float16 ``logits``
    (``run`` computes them from those same rounded logits, so the recomputation is exact up to float64
    rounding; a result with these metrics and a predictions file without logits cannot be checked, which is a
    problem)."""
    evidence = f.evidence
    if evidence is None or f.reproduce_problems:
        return []
    return _check_recomputed_metrics(f.where, f.result, evidence, f.groups)


def check_provenance(sub: Submission, f: ResultFile) -> list[Problem]:
    """Provenance is filled in: package, torch and Python version, device, start and finish time."""
    return _check_provenance(f.where, f.result)
