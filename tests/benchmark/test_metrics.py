"""Metrics against scikit-learn and hand-worked cases."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from benchmark.metrics import confusion_matrix, evaluate_predictions, mean_class_recall, per_class_recall

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
    np.testing.assert_allclose(per_class_recall(cm), recall_score(y_true, y_pred, average=None, labels=list(range(c)), zero_division=0))
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
