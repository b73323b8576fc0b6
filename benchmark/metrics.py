"""The metrics of one run, all computed here (``run`` writes them, ``validate`` recomputes them).

From the predictions: mean class recall (MCR) over all / major / medium / minor classes, per-class recall, the
confusion matrix, accuracy, macro-F1 and many / medium / few-shot MCR (:func:`shot_groups`). From the test logits
as the predictions file stores them (float16, :func:`stored_logits`): macro AUC, ECE (15 bins) and NLL, and both
again after temperature scaling fitted on the validation split (:func:`fit_temperature`). Percentages except NLL
(nats); class averages are over the classes with test images. docs/statistics.md, "Metrics beyond mean class
recall", says what each assumes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np

#: Count-based head / medium / tail split of Liu et al., "Large-Scale Long-Tailed Recognition in an Open
#: World" (OLTR, CVPR 2019): many-shot (head) classes have more than 100 training images, few-shot (tail)
#: classes fewer than 20, medium-shot classes 20 to 100.
MANY_SHOT_MIN = 100
FEW_SHOT_MAX = 20
#: Equal-width confidence bins of the expected calibration error (Guo et al., ICML 2017).
ECE_BINS = 15
#: float16's largest finite value: stored logits are clipped to +-this before rounding.
FLOAT16_MAX = float(np.finfo(np.float16).max)
#: Metrics that need the logits (None when a run has none).
LOGIT_METRICS = ("macro_auc", "ece", "nll", "ece_calibrated", "nll_calibrated")
#: Metrics after temperature scaling (None without a fitted temperature).
CALIBRATED_METRICS = ("ece_calibrated", "nll_calibrated")
#: The temperatures :func:`fit_temperature` searches: ``T`` in [1/100, 100], on a log scale.
TEMPERATURE_BOUNDS = (1e-2, 1e2)

#: Class ids, one per image: a sequence of ints or an integer array.
ClassIds: TypeAlias = "Sequence[int] | np.ndarray"


def confusion_matrix(y_true: ClassIds, y_pred: ClassIds, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts; row = true class, column = predicted class."""
    true, pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if true.shape != pred.shape:
        raise ValueError(f"y_true {true.shape} and y_pred {pred.shape} differ in shape")
    return np.bincount(true * num_classes + pred, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


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


def shot_groups(train_counts: Sequence[int]) -> dict[str, list[int]]:
    """Count-based head / medium / tail classes (OLTR): ``many`` (> 100 training images), ``medium``
    (20 to 100) and ``few`` (< 20); see :data:`MANY_SHOT_MIN` and :data:`FEW_SHOT_MAX`.

    Unlike the dataset's major / minor groups (its 3 most / least frequent classes, or thirds), the
    thresholds are absolute, so the groups compare across datasets; a group may be empty.
    """
    counts = [int(n) for n in train_counts]
    return {
        "many": [c for c, n in enumerate(counts) if n > MANY_SHOT_MIN],
        "medium": [c for c, n in enumerate(counts) if FEW_SHOT_MAX <= n <= MANY_SHOT_MIN],
        "few": [c for c, n in enumerate(counts) if n < FEW_SHOT_MAX],
    }


def accuracy(cm: np.ndarray) -> float:
    """Overall accuracy (%): correct predictions over all test images; NaN with no test image.

    scikit-learn's ``accuracy_score`` times 100.
    """
    total = int(cm.sum())
    return float(np.trace(cm) / total * 100.0) if total else float("nan")


def macro_f1(cm: np.ndarray) -> float:
    """Macro-F1 (%): the mean over classes with at least one test image of F1 = 2 TP / (2 TP + FP + FN).

    A class that is never predicted has F1 0. A class with no test image is left out (as in MCR): its
    F1 is undefined, and the false positives it receives already lower the recall of their true classes.
    With every class in the test set this is scikit-learn's ``f1_score(average="macro")`` times 100.
    """
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    present = support > 0
    if not present.any():
        return float("nan")
    f1 = 2 * tp[present] / (support[present] + predicted[present])  # 2TP + FP + FN = support + predicted
    return float(f1.mean() * 100.0)


def stored_logits(logits: np.ndarray) -> np.ndarray:
    """Logits as the predictions file stores them: float16, finite values clipped to +-65504 (float16's
    range; +-inf becomes +-65504), NaN kept. Metrics are computed from these, so they can be recomputed
    exactly from the file."""
    x = np.asarray(logits)
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"logits must be a 2-D float array (images, classes), got {x.dtype} shape {x.shape}")
    return np.clip(x.astype(np.float64), -FLOAT16_MAX, FLOAT16_MAX).astype(np.float16)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64 (max-subtracted, so large logits do not overflow)."""
    x = np.asarray(logits, dtype=np.float64)
    z = x - x.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax probabilities in float64."""
    return np.exp(log_softmax(logits))


def _labels_and_scores(y_true: ClassIds, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.int64)
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != len(y):
        raise ValueError(f"expected scores of shape ({len(y)}, C) for {len(y)} labels, got {x.shape}")
    return y, x


def macro_auc_ovr(y_true: ClassIds, probs: np.ndarray) -> float:
    """One-vs-rest macro ROC AUC (%) of probabilities ``probs`` (N, C).

    Each class's AUC is the Mann-Whitney statistic of its probability, its test images against all
    others (ties count one half: scikit-learn's ``roc_auc_score`` of the binary problem). The mean is
    over the classes that have both positives and negatives in the test set: a class absent from the
    test set (its AUC is undefined) is left out, never counted as 0.5. With every class present this is
    ``roc_auc_score(y_true, probs, multi_class="ovr", average="macro")`` times 100. NaN when no class
    qualifies (fewer than two classes in the test set) or a probability is not finite.
    """
    from scipy.stats import rankdata  # lazy: the command line imports this module at its start

    y, p = _labels_and_scores(y_true, probs)
    if p.size == 0 or not np.isfinite(p).all():
        return float("nan")
    aucs = []
    for c in range(p.shape[1]):
        pos = y == c
        n_pos = int(pos.sum())
        n_neg = len(y) - n_pos
        if n_pos == 0 or n_neg == 0:
            continue
        ranks = rankdata(p[:, c])  # midranks for ties
        aucs.append((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    return float(np.mean(aucs) * 100.0) if aucs else float("nan")


def expected_calibration_error(
    y_true: ClassIds, probs: np.ndarray, n_bins: int = ECE_BINS, y_pred: ClassIds | None = None
) -> float:
    """Expected calibration error (%) of the top-1 confidence (Guo et al., ICML 2017).

    Each image's prediction is ``y_pred`` (the run's stored predictions, made from the full-precision
    logits) and its confidence that class's probability; without ``y_pred``, the class of the largest
    probability (the first on a tie). Passing ``y_pred`` matters when ``probs`` come from rounded (float16)
    logits, whose argmax can differ from the prediction the run made. Confidences fall into ``n_bins``
    equal-width bins (i/n, (i+1)/n] (0 joins the first bin);
    ECE = sum over bins of (images in bin / all images) * |accuracy in bin - mean confidence in bin|,
    times 100. NaN with no image or a probability that is not finite.
    """
    y, p = _labels_and_scores(y_true, probs)
    if p.size == 0 or not np.isfinite(p).all():
        return float("nan")
    pred = p.argmax(axis=1) if y_pred is None else np.asarray(y_pred, dtype=np.int64).reshape(-1)
    if pred.shape != y.shape:
        raise ValueError(f"{pred.size} predictions for {y.size} labels")
    conf = p[np.arange(len(y)), pred]
    correct = (pred == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    acc_sum = np.bincount(bins, weights=correct, minlength=n_bins)
    conf_sum = np.bincount(bins, weights=conf, minlength=n_bins)
    # n_b/N * |acc_b - conf_b| = |sum of correct_b - sum of conf_b| / N
    return float(np.abs(acc_sum - conf_sum).sum() / len(y) * 100.0)


def negative_log_likelihood(y_true: ClassIds, logits: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class under the softmax, in nats (natural log).

    scikit-learn's ``log_loss(y_true, softmax(logits), labels=range(C))``. NaN with no image or a
    logit that is not finite.
    """
    y, x = _labels_and_scores(y_true, logits)
    if x.size == 0 or not np.isfinite(x).all():
        return float("nan")
    return float(-log_softmax(x)[np.arange(len(y)), y].mean())


def fit_temperature(y_true: ClassIds, logits: np.ndarray) -> float | None:
    """Temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017): the ``T`` in
    :data:`TEMPERATURE_BOUNDS` that minimises the mean NLL of ``softmax(logits / T)`` against ``y_true``.

    One parameter, fitted on held-out data (the validation split); it never changes a prediction (argmax).
    Minimised over ``log T`` by bounded Brent search (scipy ``minimize_scalar``, tolerance 1e-7 in ``log T``),
    in float64. None with no image or a logit that is not finite.
    """
    from scipy.optimize import minimize_scalar  # lazy: as rankdata above

    y, x = _labels_and_scores(y_true, logits)
    if x.size == 0 or not np.isfinite(x).all():
        return None
    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        return float(-log_softmax(x / np.exp(log_t))[rows, y].mean())

    lo, hi = np.log(TEMPERATURE_BOUNDS[0]), np.log(TEMPERATURE_BOUNDS[1])
    found = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-7})
    return float(np.exp(found.x))


def _calibrated(
    y_true: ClassIds, logits: np.ndarray | None, temperature: float | None, y_pred: ClassIds | None = None
) -> dict[str, float | None]:
    """ECE and NLL of ``logits / temperature`` (:data:`CALIBRATED_METRICS`); None without either. ECE judges
    correctness by ``y_pred`` (the stored predictions) as the raw ECE does."""
    if logits is None or temperature is None:
        return dict.fromkeys(CALIBRATED_METRICS)
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    probs = softmax(scaled) if np.isfinite(scaled).all() else np.full(scaled.shape, np.nan)
    return {
        "ece_calibrated": expected_calibration_error(y_true, probs, y_pred=y_pred),
        "nll_calibrated": negative_log_likelihood(y_true, scaled),
    }


def evaluate_predictions(
    y_true: ClassIds,
    y_pred: ClassIds,
    num_classes: int,
    groups: Mapping[str, Sequence[int] | None],
    *,
    logits: np.ndarray | None = None,
    train_counts: Sequence[int] | None = None,
    temperature: float | None = None,
) -> dict[str, Any]:
    """All metrics of one run (see the module docstring for units and conventions).

    ``groups``: the dataset's major / medium / minor classes. ``train_counts`` (per class) gives the
    many / medium / few-shot MCR (None without it, or for an empty group). ``logits`` (N, C), best
    already rounded by :func:`stored_logits`, gives macro AUC, ECE and NLL (None without them), and with
    ``temperature`` (:func:`fit_temperature` on the validation split) the ECE and NLL of ``logits / temperature``
    (None without it).
    Returns the metric fields of :class:`benchmark.results.schema.Metrics` plus ``recall`` (per class, %) and
    ``confusion_matrix``.
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    medium = groups.get("medium")
    out: dict[str, Any] = {
        "mcr_all": mean_class_recall(cm),
        "mcr_major": mean_class_recall(cm, groups["major"]),
        "mcr_minor": mean_class_recall(cm, groups["minor"]),
        "mcr_medium": mean_class_recall(cm, medium) if medium else None,
        "accuracy": accuracy(cm),
        "macro_f1": macro_f1(cm),
    }
    if train_counts is not None and len(train_counts) != num_classes:
        raise ValueError(f"{len(train_counts)} training counts for {num_classes} classes")
    shots = shot_groups(train_counts) if train_counts is not None else {}
    for name in ("many", "medium", "few"):
        members = shots.get(name)
        out[f"mcr_{name}_shot"] = mean_class_recall(cm, members) if members else None
    if logits is None:
        out.update(dict.fromkeys(LOGIT_METRICS))
    else:
        x = np.asarray(logits)
        n = len(np.asarray(y_true))
        if x.ndim != 2 or x.shape != (n, num_classes) or not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"logits must be a float array of shape ({n}, {num_classes}), got {x.dtype} {x.shape}")
        probs = softmax(x) if np.isfinite(x).all() else np.full(x.shape, np.nan)
        out["macro_auc"] = macro_auc_ovr(y_true, probs)
        out["ece"] = expected_calibration_error(y_true, probs, y_pred=y_pred)
        out["nll"] = negative_log_likelihood(y_true, x)
    out.update(_calibrated(y_true, logits, temperature, y_pred))
    out["recall"] = [None if np.isnan(r) else float(r * 100.0) for r in per_class_recall(cm)]
    out["confusion_matrix"] = cm.tolist()
    return out
