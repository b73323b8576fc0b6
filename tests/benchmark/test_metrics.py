"""Metrics against scikit-learn and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, log_loss, recall_score, roc_auc_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from benchmark.metrics import (
    FEW_SHOT_MAX,
    MANY_SHOT_MIN,
    accuracy,
    confusion_matrix,
    evaluate_predictions,
    expected_calibration_error,
    log_softmax,
    macro_auc_ovr,
    macro_f1,
    mean_class_recall,
    negative_log_likelihood,
    per_class_recall,
    shot_groups,
    softmax,
    stored_logits,
)

CASES = [
    # (y_true, y_pred, num_classes)
    ([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], 3),
    # class 2 is never predicted (its recall is 0; precision would be undefined)
    ([0, 0, 0, 1, 1, 2, 2, 2, 2], [0, 0, 1, 1, 0, 0, 1, 0, 1], 3),
    # long-tailed: many head samples, one tail sample
    ([0] * 20 + [1] * 5 + [2], [0] * 18 + [1, 1] + [1] * 4 + [0] + [2], 3),
]


@pytest.mark.parametrize("y_true,y_pred,c", CASES)
def test_matches_scikit_learn(y_true, y_pred, c):
    cm = confusion_matrix(y_true, y_pred, c)
    np.testing.assert_array_equal(cm, sk_confusion_matrix(y_true, y_pred, labels=list(range(c))))
    np.testing.assert_allclose(
        per_class_recall(cm), recall_score(y_true, y_pred, average=None, labels=list(range(c)), zero_division=0)
    )
    assert mean_class_recall(cm) == pytest.approx(100 * balanced_accuracy_score(y_true, y_pred))
    assert mean_class_recall(cm) == pytest.approx(100 * recall_score(y_true, y_pred, average="macro", zero_division=0))


def test_class_with_no_predictions_has_zero_recall():
    cm = confusion_matrix([0, 0, 1, 2], [0, 0, 0, 0], 3)
    np.testing.assert_allclose(per_class_recall(cm), [1.0, 0.0, 0.0])
    assert mean_class_recall(cm) == pytest.approx(100 / 3)


def test_groups_hand_worked():
    # recalls: c0 = 1, c1 = 0.5, c2 = 0, c3 = 1 ; major = {0, 1}, minor = {2, 3}
    y_true = [0, 0, 1, 1, 2, 3]
    y_pred = [0, 0, 1, 0, 0, 3]
    m = evaluate_predictions(y_true, y_pred, 4, {"major": [0, 1], "minor": [2, 3], "medium": None})
    assert m["mcr_all"] == pytest.approx(62.5)
    assert m["mcr_major"] == pytest.approx(75.0)
    assert m["mcr_minor"] == pytest.approx(50.0)
    assert m["mcr_medium"] is None
    assert m["recall"] == [100.0, 50.0, 0.0, 100.0]
    assert m["confusion_matrix"][1] == [1, 1, 0, 0]


def test_class_absent_from_test_is_ignored():
    cm = confusion_matrix([0, 0, 1], [0, 1, 1], 3)  # class 2 has no test image
    assert np.isnan(per_class_recall(cm)[2])
    assert mean_class_recall(cm) == pytest.approx(75.0)


# -- schema version 2: accuracy, macro-F1, macro AUC, ECE, NLL, many / medium / few-shot MCR ----------------


def _random_run(seed: int, n: int = 200, c: int = 5, scale: float = 3.0):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, c, n)
    logits = rng.normal(size=(n, c)) * scale
    logits[np.arange(n), y_true] += rng.normal(1.0, 1.0, n)  # better than chance, not perfect
    return y_true, logits


@pytest.mark.parametrize("y_true,y_pred,c", CASES)
def test_accuracy_and_macro_f1_match_scikit_learn(y_true, y_pred, c):
    cm = confusion_matrix(y_true, y_pred, c)
    assert accuracy(cm) == pytest.approx(100 * accuracy_score(y_true, y_pred), abs=1e-12)
    assert macro_f1(cm) == pytest.approx(100 * f1_score(y_true, y_pred, average="macro", zero_division=0), abs=1e-12)


def test_macro_f1_leaves_out_classes_absent_from_the_test_set():
    y_true, y_pred = [0, 0, 1, 1], [0, 2, 1, 1]  # class 2 has no test image but is predicted once
    cm = confusion_matrix(y_true, y_pred, 3)
    expected = f1_score(y_true, y_pred, labels=[0, 1], average="macro", zero_division=0)
    assert macro_f1(cm) == pytest.approx(100 * expected)
    # scikit-learn's default counts class 2 (F1 0): we do not, as MCR does not
    assert macro_f1(cm) != pytest.approx(100 * f1_score(y_true, y_pred, average="macro", zero_division=0))
    assert np.isnan(macro_f1(np.zeros((3, 3), np.int64)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_and_nll_match_scikit_learn(seed):
    y_true, logits = _random_run(seed)
    probs = softmax(logits)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    assert macro_auc_ovr(y_true, probs) == pytest.approx(
        100 * roc_auc_score(y_true, probs, multi_class="ovr", average="macro"), abs=1e-9
    )
    assert negative_log_likelihood(y_true, logits) == pytest.approx(
        log_loss(y_true, probs, labels=list(range(logits.shape[1]))), abs=1e-9
    )


def test_auc_handles_ties_like_scikit_learn():
    y_true = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    probs = softmax(np.round(np.random.default_rng(3).normal(size=(8, 3)), 0))  # many tied scores
    assert macro_auc_ovr(y_true, probs) == pytest.approx(
        100 * roc_auc_score(y_true, probs, multi_class="ovr", average="macro"), abs=1e-9
    )


def test_auc_leaves_out_classes_absent_from_the_test_set():
    y_true, logits = _random_run(4, c=4)
    keep = y_true != 3  # class 3 has no test image: its one-vs-rest AUC is undefined
    y, probs = y_true[keep], softmax(logits[keep])
    per_class = [roc_auc_score(y == k, probs[:, k]) for k in range(3)]
    assert macro_auc_ovr(y, probs) == pytest.approx(100 * np.mean(per_class), abs=1e-9)
    import warnings

    with warnings.catch_warnings():  # scikit-learn's multi-class call: undefined (NaN, or an error in old versions)
        warnings.simplefilter("ignore")
        try:
            sk = roc_auc_score(y, probs, multi_class="ovr", labels=[0, 1, 2, 3])
        except ValueError:
            sk = float("nan")
    assert np.isnan(sk) and np.isfinite(macro_auc_ovr(y, probs))
    assert np.isnan(macro_auc_ovr([1, 1, 1], softmax(logits[:3])))  # one class only: no negatives
    assert np.isnan(macro_auc_ovr(y[:2], np.full((2, 4), np.nan)))


def test_ece_two_bins_hand_worked():
    # bins (0, 0.5] and (0.5, 1]
    probs = np.array(
        [
            [0.40, 0.30, 0.30],  # conf 0.40, predicts 0, true 0: correct   -> bin 0
            [0.20, 0.45, 0.35],  # conf 0.45, predicts 1, true 2: wrong     -> bin 0
            [0.90, 0.05, 0.05],  # conf 0.90, predicts 0, true 0: correct   -> bin 1
            [0.10, 0.70, 0.20],
        ]
    )  # conf 0.70, predicts 1, true 0: wrong     -> bin 1
    y_true = [0, 2, 0, 0]
    # bin 0: accuracy 0.5, confidence 0.425 ; bin 1: accuracy 0.5, confidence 0.8
    # ECE = 2/4 * 0.075 + 2/4 * 0.3 = 0.1875
    assert expected_calibration_error(y_true, probs, n_bins=2) == pytest.approx(18.75)
    # a confidence of exactly 0.5 is in the first bin, (0, 0.5]
    assert expected_calibration_error([0], np.array([[0.5, 0.5]]), n_bins=2) == pytest.approx(50.0)
    assert expected_calibration_error([0, 1], np.array([[1.0, 0.0], [0.0, 1.0]])) == 0.0  # perfectly calibrated


def _naive_ece(y_true, probs, n_bins):
    conf, pred = probs.max(axis=1), probs.argmax(axis=1)
    edges = np.linspace(0, 1, n_bins + 1)
    total = 0.0
    for i in range(n_bins):
        members = [j for j in range(len(conf)) if (edges[i] < conf[j] <= edges[i + 1]) or (i == 0 and conf[j] == 0)]
        if members:
            acc = np.mean([pred[j] == y_true[j] for j in members])
            total += len(members) / len(conf) * abs(acc - np.mean(conf[members]))
    return 100 * total


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ece_matches_a_naive_loop_with_15_bins(seed):
    y_true, logits = _random_run(seed, scale=1.0)
    probs = softmax(logits)
    value = expected_calibration_error(y_true, probs)
    assert value == pytest.approx(_naive_ece(y_true, probs, 15), abs=1e-9)
    assert value != pytest.approx(_naive_ece(y_true, probs, 10), abs=1e-6)  # the default really is 15 bins


def test_log_softmax_is_stable_for_large_logits():
    x = np.array([[60000.0, 0.0, -60000.0]])
    assert np.isfinite(log_softmax(x)).all() and negative_log_likelihood([1], x) == pytest.approx(60000.0)


def test_shot_groups_follow_the_oltr_thresholds():
    counts = [MANY_SHOT_MIN + 1, MANY_SHOT_MIN, FEW_SHOT_MAX, FEW_SHOT_MAX - 1, 500, 0]
    assert shot_groups(counts) == {"many": [0, 4], "medium": [1, 2], "few": [3, 5]}
    assert shot_groups([50, 60]) == {"many": [], "medium": [0, 1], "few": []}


def test_evaluate_predictions_fills_every_schema_metric():
    from benchmark.results.schema import Metrics, metric_names

    y_true, logits = _random_run(5, n=300, c=6)
    y_pred = logits.argmax(axis=1)
    counts = [400, 150, 60, 30, 10, 5]  # many: 0 1 ; medium: 2 3 ; few: 4 5
    groups = {"major": [0, 1, 2], "minor": [3, 4, 5], "medium": None}
    stored = stored_logits(logits)
    m = evaluate_predictions(y_true, y_pred, 6, groups, logits=stored, train_counts=counts)
    assert set(metric_names()) <= set(m)
    Metrics(**{k: m[k] for k in metric_names()})  # schema-valid
    cm = confusion_matrix(y_true, y_pred, 6)
    assert m["accuracy"] == pytest.approx(100 * accuracy_score(y_true, y_pred))
    assert m["macro_f1"] == pytest.approx(100 * f1_score(y_true, y_pred, average="macro"))
    assert m["mcr_many_shot"] == pytest.approx(mean_class_recall(cm, [0, 1]))
    assert m["mcr_medium_shot"] == pytest.approx(mean_class_recall(cm, [2, 3]))
    assert m["mcr_few_shot"] == pytest.approx(mean_class_recall(cm, [4, 5]))
    probs = softmax(stored)  # from the float16 logits, as the predictions file keeps them
    assert m["macro_auc"] == pytest.approx(100 * roc_auc_score(y_true, probs, multi_class="ovr"), abs=1e-9)
    assert m["nll"] == pytest.approx(log_loss(y_true, probs, labels=list(range(6))), abs=1e-9)
    assert m["ece"] == pytest.approx(_naive_ece(y_true, probs, 15), abs=1e-9)
    bare = evaluate_predictions(y_true, y_pred, 6, groups)  # no logits, no training counts
    assert all(bare[k] is None for k in ("macro_auc", "ece", "nll", "mcr_many_shot", "mcr_medium_shot", "mcr_few_shot"))
    assert bare["accuracy"] == m["accuracy"] and bare["mcr_all"] == m["mcr_all"]
    only_medium = evaluate_predictions(y_true, y_pred, 6, groups, train_counts=[50] * 6)
    assert only_medium["mcr_many_shot"] is None and only_medium["mcr_few_shot"] is None
    assert only_medium["mcr_medium_shot"] == pytest.approx(m["mcr_all"])


def test_non_finite_logits_give_nan_not_a_crash():
    y_true, logits = _random_run(6, n=20, c=3)
    logits[3, 1] = np.nan
    m = evaluate_predictions(y_true, logits.argmax(1), 3, {"major": [0], "minor": [2], "medium": None}, logits=logits)
    assert all(np.isnan(m[k]) for k in ("macro_auc", "ece", "nll"))


def test_stored_logits_are_float16_clipped_to_its_range():
    x = np.array([[1e6, -np.inf, 0.1234567], [np.nan, 65519.0, -1.0]])
    s = stored_logits(x)
    assert s.dtype == np.float16 and s.shape == x.shape
    assert s[0, 0] == 65504 and s[0, 1] == -65504 and s[1, 1] == 65504 and np.isnan(s[1, 0])
    assert s[0, 2] == np.float16(0.1234567)
    with pytest.raises(ValueError, match="2-D float array"):
        stored_logits(np.zeros(3))
    with pytest.raises(ValueError, match="2-D float array"):
        stored_logits(np.zeros((3, 2), np.int64))


def test_metric_functions_refuse_scores_that_do_not_match_the_labels():
    with pytest.raises(ValueError, match=r"shape \(3, C\)"):
        expected_calibration_error([0, 1, 1], np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match=r"shape \(2, C\)"):
        macro_auc_ovr([0, 1], np.full(2, 0.5))
    with pytest.raises(ValueError, match=r"shape \(1, C\)"):
        negative_log_likelihood([0], np.zeros((2, 2)))


def test_evaluate_predictions_refuses_logits_of_the_wrong_shape():
    groups = {"major": [0], "minor": [1], "medium": None}
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        evaluate_predictions([0, 1, 1], [0, 1, 0], 2, groups, logits=np.zeros((3, 3), np.float16))
    with pytest.raises(ValueError, match="training counts"):
        evaluate_predictions([0, 1, 1], [0, 1, 0], 2, groups, train_counts=[1, 2, 3])


def test_ece_judges_correctness_by_the_stored_predictions():
    """Float16 logits can tie or swap the top two classes: the run's prediction decides what was correct."""
    y_true = np.array([0, 1, 1, 0])
    logits = np.array([[2.0, 2.0], [0.0, 3.0], [1.0, 0.0], [0.5, 0.5]], dtype=np.float16)  # two exact ties
    y_pred = np.array([1, 1, 0, 0])  # the full-precision logits chose class 1 for image 0, class 0 for image 3
    probs = softmax(logits.astype(np.float64))
    conf = probs[np.arange(4), y_pred]
    correct = (y_pred == y_true).astype(float)
    # naive reference: 15 equal-width bins, |sum correct - sum confidence| / N per bin
    bins = np.clip(np.ceil(conf * 15).astype(int) - 1, 0, 14)
    naive = sum(abs(correct[bins == b].sum() - conf[bins == b].sum()) for b in range(15)) / 4 * 100
    assert expected_calibration_error(y_true, probs, y_pred=y_pred) == pytest.approx(naive)
    assert expected_calibration_error(y_true, probs) != pytest.approx(naive)  # the argmax of rounded logits
