"""Tests for methods.samplers: instance, class-balanced and reversed (BBN) sampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from methods.samplers import class_balanced_indices, instance_indices, reversed_indices

COUNTS = np.array([500, 200, 50, 10])
LABELS = np.repeat(np.arange(4), COUNTS)
# Shuffle so that classes are not contiguous.
LABELS = LABELS[np.random.default_rng(123).permutation(LABELS.size)]


def _chi2_ok(observed: np.ndarray, probs: np.ndarray, alpha: float = 1e-3) -> bool:
    expected = probs / probs.sum() * observed.sum()
    statistic = ((observed - expected) ** 2 / expected).sum()
    return statistic < stats.chi2.ppf(1 - alpha, df=observed.size - 1)


def test_instance_is_permutation() -> None:
    idx = instance_indices(LABELS, np.random.default_rng(0))
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(np.sort(idx), np.arange(LABELS.size))
    assert not np.array_equal(idx, np.arange(LABELS.size))


@pytest.mark.parametrize("sampler", [instance_indices, class_balanced_indices, reversed_indices])
def test_deterministic_under_seed(sampler) -> None:
    a = sampler(LABELS, np.random.default_rng(7))
    b = sampler(LABELS, np.random.default_rng(7))
    c = sampler(LABELS, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.int64 and a.shape == (LABELS.size,)
    assert a.min() >= 0 and a.max() < LABELS.size


def test_class_balanced_distribution() -> None:
    idx = class_balanced_indices(LABELS, np.random.default_rng(1), num_samples=40_000)
    assert idx.shape == (40_000,)
    per_class = np.bincount(LABELS[idx], minlength=4)
    assert _chi2_ok(per_class, np.ones(4))
    # Uniform within the rarest class (10 images, ~1000 draws each).
    rare = np.flatnonzero(LABELS == 3)
    per_image = np.array([(idx == i).sum() for i in rare])
    assert _chi2_ok(per_image, np.ones(rare.size))
    # Only images of the drawn classes; every rare image is drawn.
    assert per_image.min() > 0


def test_reversed_distribution() -> None:
    idx = reversed_indices(LABELS, np.random.default_rng(2), num_samples=40_000)
    per_class = np.bincount(LABELS[idx], minlength=4)
    probs = COUNTS.max() / COUNTS  # [1, 2.5, 10, 50]
    assert _chi2_ok(per_class, probs.astype(float))
    # And clearly not class-balanced: the rarest class dominates.
    assert per_class[3] > 0.7 * 40_000


def test_default_num_samples_and_absent_class() -> None:
    labels = np.array([0, 0, 0, 2, 2, 5])  # classes 1, 3, 4 absent
    for sampler in (class_balanced_indices, reversed_indices):
        idx = sampler(labels, np.random.default_rng(0))
        assert idx.shape == (labels.size,)
        big = sampler(labels, np.random.default_rng(0), num_samples=30_000)
        assert set(np.unique(labels[big])) == {0, 2, 5}
    big = class_balanced_indices(labels, np.random.default_rng(3), num_samples=30_000)
    assert _chi2_ok(np.bincount(labels[big])[[0, 2, 5]], np.ones(3))


def test_bad_labels() -> None:
    with pytest.raises(ValueError):
        class_balanced_indices(np.array([]), np.random.default_rng(0))
    with pytest.raises(ValueError):
        reversed_indices(np.array([0.5, 1.0]), np.random.default_rng(0))
