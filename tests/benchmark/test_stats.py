"""Statistics against hand-computed values: Welch, Holm, ranks, Friedman, Nemenyi, bootstrap, CD diagram."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmark.stats import (average_ranks, bootstrap_mcr_ci, cd_diagram_svg, cell_stats, cliques, compare_methods,
                             critical_difference, friedman, holm, nemenyi_q, rank_summary, t_interval_halfwidth,
                             welch_test)


def test_welch_t_test_matches_hand_computation():
    # a = 1..4: mean 2.5, s² = 5/3; b = 2,4,..,10: mean 6, s² = 10
    # se² = (5/3)/4 + 10/5 = 2.416667; t = -3.5 / sqrt(2.416667) = -2.251436
    # df = se⁴ / ((5/12)²/3 + 2²/4) = 5.840278 / 1.057870 = 5.520788
    w = welch_test([1, 2, 3, 4], [2, 4, 6, 8, 10])
    assert w.t == pytest.approx(-2.251436, abs=1e-6)
    assert w.df == pytest.approx(5.520788, abs=1e-6)
    assert w.p == pytest.approx(0.069134, abs=1e-6)  # 2 · P(T_5.52 > 2.2514)
    assert math.isnan(welch_test([1.0], [2.0, 3.0]).p)  # one seed: no test


def test_holm_adjustment_matches_hand_computation():
    # sorted: 0.005 (×4 = 0.02), 0.01 (×3 = 0.03), 0.03 (×2 = 0.06), 0.04 (×1 = 0.04 -> monotone 0.06)
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])  # capped at 1
    out = holm([0.01, float("nan"), 0.02])  # NaN stays NaN and does not count in m
    assert math.isnan(out[1]) and out[0] == pytest.approx(0.02) and out[2] == pytest.approx(0.02)
    assert holm([]).size == 0


def _frame(values: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    rows = []
    for dataset, methods in values.items():
        for method, seeds in methods.items():
            for seed, v in enumerate(seeds):
                rows.append({"dataset": dataset, "backbone": "b", "protocol": "p", "method": method, "seed": seed,
                             "mcr_all": v, "mcr_major": v + 1, "mcr_minor": v - 1, "mcr_medium": None})
    return pd.DataFrame(rows)


def test_cell_stats_mean_sample_std_and_seeds():
    cells = cell_stats(_frame({"d": {"CE": [80.0, 82.0, 84.0], "X": [90.0]}}))
    ce = cells[cells["method"] == "CE"].iloc[0]
    assert ce["all_mean"] == pytest.approx(82.0) and ce["all_std"] == pytest.approx(2.0) and ce["n"] == 3
    assert ce["seeds"] == (0, 1, 2) and ce["major_mean"] == pytest.approx(83.0)
    assert math.isnan(cells[cells["method"] == "X"].iloc[0]["all_std"]) and math.isnan(ce["medium_mean"])


def test_compare_methods_welch_with_holm_per_column():
    frame = _frame({"d": {"CE": [80.0, 81.0, 82.0], "A": [85.0, 86.0, 87.5], "B": [80.5, 81.0, 82.5]}})
    tests = compare_methods(frame, "mcr_all")
    vs_ce = tests[tests["versus"] == "baseline"].set_index("method")
    raw = {m: welch_test(frame[frame.method == m].mcr_all, frame[frame.method == "CE"].mcr_all).p for m in ("A", "B")}
    expected = holm([raw["A"], raw["B"]])
    assert vs_ce.loc["A", "p"] == pytest.approx(raw["A"]) and vs_ce.loc["A", "p_holm"] == pytest.approx(expected[0])
    assert vs_ce.loc["B", "p_holm"] == pytest.approx(expected[1])
    assert vs_ce.loc["A", "significant"] and vs_ce.loc["A", "direction"] == 1
    assert not vs_ce.loc["B", "significant"] and vs_ce.loc["B", "direction"] == 0
    vs_best = tests[tests["versus"] == "best"]
    assert set(vs_best["other"]) == {"A"} and set(vs_best["method"]) == {"CE", "B"}
    assert (vs_best["direction"] <= 0).all()


def test_average_ranks_with_ties():
    scores = pd.DataFrame({"A": [90, 70], "B": [80, 75], "C": [80, 60]}, index=["d1", "d2"])
    # d1: A 1, B 2.5, C 2.5; d2: B 1, A 2, C 3
    ranks = average_ranks(scores)
    assert ranks.to_dict() == {"A": 1.5, "B": 1.75, "C": 2.75}


def test_friedman_needs_three_methods_and_two_datasets():
    scores = pd.DataFrame({"A": [90, 70, 60], "B": [80, 75, 55], "C": [70, 60, 50]})
    stat, p = friedman(scores)
    # ranks per row: (1,2,3), (2,1,3), (1,2,3): R = 4, 5, 9; chi² = 12/(N k (k+1)) ΣR² − 3 N (k+1)
    assert stat == pytest.approx(12 / (3 * 3 * 4) * (16 + 25 + 81) - 3 * 3 * 4)
    assert 0 < p < 1
    assert friedman(scores[["A", "B"]]) is None  # k = 2
    assert friedman(scores.iloc[:1]) is None  # N = 1


@pytest.mark.parametrize("k,q", [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728), (6, 2.850), (7, 2.949), (8, 3.031),
                                 (9, 3.102), (10, 3.164)])
def test_nemenyi_q_matches_published_table(k, q):
    assert nemenyi_q(k) == pytest.approx(q, abs=1e-3)  # Demšar (2006), Table 5(a)


def test_critical_difference_formula():
    # CD = q · sqrt(k (k+1) / (6 N)); k = 4, N = 5: 2.569 · sqrt(20 / 30)
    assert critical_difference(4, 5) == pytest.approx(2.569 * math.sqrt(20 / 30), abs=1e-3)
    assert critical_difference(10, 14) == pytest.approx(3.164 * math.sqrt(110 / 84), abs=1e-3)


def test_rank_summary_drops_incomplete_methods():
    scores = pd.DataFrame({"A": [90, 70, 60], "B": [80, 75, 55], "C": [70, 60, 50], "D": [1, None, 1]})
    summary = rank_summary(scores)
    assert summary.dropped == ["D"] and summary.k == 3 and summary.n == 3
    assert summary.cd == pytest.approx(critical_difference(3, 3))
    assert summary.pairwise is not None and summary.pairwise.shape == (3, 3)


def test_t_interval_halfwidth():
    # s = 1, n = 3: t_{0.975, 2} = 4.302653 ; half-width = 4.302653 / sqrt(3)
    assert t_interval_halfwidth([1.0, 2.0, 3.0]) == pytest.approx(4.302653 / math.sqrt(3), abs=1e-5)
    assert math.isnan(t_interval_halfwidth([1.0]))


def _predictions(rng: np.random.Generator, n_per_class=(60, 30, 8), accuracy=(0.9, 0.6, 0.4)):
    y_true = np.concatenate([np.full(n, c) for c, n in enumerate(n_per_class)])
    correct = np.concatenate([rng.random(n) < a for n, a in zip(n_per_class, accuracy)])
    y_pred = np.where(correct, y_true, (y_true + 1) % len(n_per_class))
    return y_true, y_pred


def test_bootstrap_ci_contains_point_and_is_deterministic():
    y_true, y_pred = _predictions(np.random.default_rng(1))
    a = bootstrap_mcr_ci((y_true, y_pred), n_resamples=1000, seed=0)
    b = bootstrap_mcr_ci((y_true, y_pred), n_resamples=1000, seed=0)
    recall = [np.mean(y_pred[y_true == c] == c) for c in range(3)]
    assert a.point == pytest.approx(100 * np.mean(recall))
    assert a.low < a.point < a.high and a == b
    assert bootstrap_mcr_ci((y_true, y_pred), seed=1) != a
    # perfect predictions: resampling within classes keeps every recall at 100 %
    perfect = bootstrap_mcr_ci((y_true, y_true))
    assert perfect.low == perfect.high == perfect.point == 100.0
    # group MCR and several seeds (averaged)
    minor = bootstrap_mcr_ci((y_true, y_pred), classes=[2])
    assert minor.point == pytest.approx(100 * recall[2])
    two = bootstrap_mcr_ci([(y_true, y_pred), (y_true, y_true)])
    assert two.point == pytest.approx((a.point + 100) / 2)


def test_bootstrap_matches_naive_index_resampling_within_classes():
    """The binomial shortcut has the same distribution as resampling image indices within each class."""
    rng = np.random.default_rng(2)
    y_true, y_pred = _predictions(rng)
    fast = bootstrap_mcr_ci((y_true, y_pred), n_resamples=4000, seed=3)
    naive = []
    for _ in range(4000):
        recalls = []
        for c in range(3):
            idx = np.flatnonzero(y_true == c)
            pick = rng.choice(idx, size=idx.size, replace=True)
            recalls.append(np.mean(y_pred[pick] == c))
        naive.append(100 * np.mean(recalls))
    lo, hi = np.quantile(naive, [0.025, 0.975])
    assert fast.low == pytest.approx(lo, abs=1.0) and fast.high == pytest.approx(hi, abs=1.0)


def test_two_level_bootstrap_matches_naive_resampling_of_shared_images_and_seeds():
    """Reference: a naive loop that draws image indices within each class once per resample, applies
    them to every seed, then draws seeds with replacement."""
    rng = np.random.default_rng(4)
    y_true, y_pred = _predictions(rng)
    seeds = [y_pred, np.where(rng.random(y_pred.size) < 0.2, y_true, y_pred), np.roll(y_pred, 7)]
    fast = bootstrap_mcr_ci([(y_true, p) for p in seeds], n_resamples=4000, seed=5)
    naive = []
    for _ in range(4000):
        picks = {c: rng.choice(np.flatnonzero(y_true == c), size=(y_true == c).sum()) for c in range(3)}
        mcr = [100 * np.mean([np.mean(p[picks[c]] == c) for c in range(3)]) for p in seeds]
        naive.append(np.mean(rng.choice(mcr, size=len(mcr))))
    lo, hi = np.quantile(naive, [0.025, 0.975])
    assert fast.low == pytest.approx(lo, abs=1.0) and fast.high == pytest.approx(hi, abs=1.0)
    assert "seeds and test images" in fast.covers
    with pytest.raises(ValueError, match="share one test set"):
        bootstrap_mcr_ci([(y_true, y_pred), (y_true[::-1], y_pred)])


def test_interval_on_the_golden_results_is_wider_than_the_old_and_covers_the_seed_spread(smoke_results):
    for method in ("ce", "ce-crw", "rw"):
        preds = []
        for f in sorted((smoke_results / "digits-lt/test_resnet/smoke" / method).glob("seed-*.preds.npz")):
            with np.load(f) as z:
                preds.append((z["y_true"], z["y_pred"]))
        new = bootstrap_mcr_ci(preds, n_resamples=2000, seed=0)
        # the old interval: each seed's test set resampled independently, seeds never resampled
        rng = np.random.default_rng(0)
        old = np.mean([[100 * np.mean([rng.binomial((t == c).sum(), np.mean(p[t == c] == c)) / (t == c).sum()
                                       for c in np.unique(t)]) for _ in range(2000)] for t, p in preds], axis=0)
        old_lo, old_hi = np.quantile(old, [0.025, 0.975])
        assert new.high - new.low > old_hi - old_lo, method
        mcrs = [100 * np.mean([np.mean(p[t == c] == c) for c in np.unique(t)]) for t, p in preds]
        se = np.std(mcrs, ddof=1) / np.sqrt(len(mcrs))
        assert new.low <= np.mean(mcrs) - se and new.high >= np.mean(mcrs) + se, method


def test_cliques_and_cd_diagram_svg_escapes_names():
    ranks = {"A": 1.0, "B": 1.5, "C": 3.2, "<script>x</script>": 3.4}
    assert cliques(ranks, 1.0) == [["A", "B"], ["C", "<script>x</script>"]]
    assert cliques(ranks, None) == []
    svg = cd_diagram_svg(ranks, 1.0, title="t & <b>")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script>" not in svg and "&lt;script&gt;x&lt;/script&gt;" in svg and "t &amp; &lt;b&gt;" in svg
    assert "CD = 1.00" in svg and svg.count("stroke-width=\"4\"") == 2
    assert "no complete ranking" in cd_diagram_svg({}, None)


def test_welch_without_variance_is_not_a_test():
    assert math.isnan(welch_test([85.0, 85.0, 85.0], [85.0, 85.0, 85.0]).p)
    assert math.isnan(welch_test([85.0, 85.0, 85.0], [80.0, 80.0, 80.0]).p)
    assert math.isnan(welch_test([29.04 - 0.0, 29.04, 29.04 + 1e-15], [28.47, 28.47, 28.47]).p)  # rounding noise
