"""Mean class recall (MCR) over all / major / medium / minor classes, per-class recall, confusion matrix."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """(C, C) int64 counts; row = true class, column = predicted class."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_recall(cm: np.ndarray) -> np.ndarray:
    """Recall of each class (diagonal / row sum); NaN for a class with no test image.

    A class that is never predicted has recall 0, which is correct: recall needs no predictions.
    """
    support = cm.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / support, np.nan)


def mean_class_recall(cm: np.ndarray, classes: Sequence[int] | None = None) -> float:
    """Mean recall (%) over ``classes`` (all by default), ignoring classes with no test image.

    Over all classes this is scikit-learn's ``balanced_accuracy_score`` (and macro ``recall_score``).
    """
    recall = per_class_recall(cm)
    if classes is not None:
        recall = recall[np.asarray(list(classes), dtype=np.int64)]
    recall = recall[~np.isnan(recall)]
    return float(recall.mean() * 100.0) if recall.size else float("nan")


def group_labels(num_classes: int, groups: Mapping[str, Sequence[int] | None]) -> list[str]:
    """Each class's group name ("major" / "medium" / "minor", or "" when in none)."""
    out = [""] * num_classes
    for name in ("major", "medium", "minor"):
        for c in groups.get(name) or []:
            out[c] = name
    return out


def evaluate_predictions(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int,
                         groups: Mapping[str, Sequence[int] | None]) -> dict[str, Any]:
    """All metrics of one run: MCR all/major/medium/minor (%), per-class recall, confusion matrix."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    medium = groups.get("medium")
    return {
        "mcr_all": mean_class_recall(cm),
        "mcr_major": mean_class_recall(cm, groups["major"]),
        "mcr_minor": mean_class_recall(cm, groups["minor"]),
        "mcr_medium": mean_class_recall(cm, medium) if medium else None,
        "recall": [None if np.isnan(r) else float(r * 100.0) for r in per_class_recall(cm)],
        "confusion_matrix": cm.tolist(),
    }
