"""The shared long-tailed profile and class groups."""

from __future__ import annotations

import numpy as np

from datasets.longtail import class_groups, long_tailed_counts, long_tailed_subsample


def test_pathmnist_profile():
    assert long_tailed_counts(9366, 100, 9) == [9366, 5267, 2962, 1666, 937, 527, 296, 167, 94]


def test_subsample_seeded_and_capped():
    labels = np.repeat(np.arange(3), [50, 5, 40])
    a = long_tailed_subsample(labels, [0, 1, 2], 30, 10, np.random.default_rng(0))
    b = long_tailed_subsample(labels, [0, 1, 2], 30, 10, np.random.default_rng(0))
    np.testing.assert_array_equal(a, b)
    # targets 30, 9 (only 5 available), 3
    assert np.bincount(labels[a], minlength=3).tolist() == [30, 5, 3]
    c = long_tailed_subsample(labels, [0, 1, 2], 30, 10, np.random.default_rng(1))
    assert not np.array_equal(a, c)


def test_groups():
    assert class_groups([50, 40, 30, 20, 10, 5, 1]) == {"major": [0, 1, 2], "medium": None, "minor": [4, 5, 6]}
    assert class_groups([5, 50, 1, 40], n_major=1, n_minor=2)["minor"] == [0, 2]
    g = class_groups(list(range(9, 0, -1)), thirds=True)
    assert g == {"major": [0, 1, 2], "medium": [3, 4, 5], "minor": [6, 7, 8]}
