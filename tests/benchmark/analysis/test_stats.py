"""Statistics against hand-computed values, published tables and naive reference loops: Welch, Holm, ranks,
Friedman / Iman-Davenport / exact permutation test, Nemenyi, Bayesian signed rank."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from benchmark.analysis.stats import (
    BAYES_PRIOR,
    FriedmanTest,
    average_ranks,
    bayesian_comparisons,
    bayesian_signed_rank,
    cell_stats,
    critical_difference,
    friedman,
    friedman_chi2_from_average_ranks,
    holm,
    iman_davenport,
    nemenyi_q,
    rank_summary,
    t_interval_halfwidth,
    welch_test,
)


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
                rows.append(
                    {
                        "dataset": dataset,
                        "backbone": "b",
                        "protocol": "p",
                        "method": method,
                        "seed": seed,
                        "mcr_all": v,
                        "mcr_major": v + 1,
                        "mcr_minor": v - 1,
                        "mcr_medium": None,
                    }
                )
    return pd.DataFrame(rows)


def test_cell_stats_mean_sample_std_and_seeds():
    cells = cell_stats(_frame({"d": {"CE": [80.0, 82.0, 84.0], "X": [90.0]}}))
    ce = cells[cells["method"] == "CE"].iloc[0]
    assert ce["all_mean"] == pytest.approx(82.0) and ce["all_std"] == pytest.approx(2.0) and ce["n"] == 3
    assert ce["seeds"] == (0, 1, 2) and ce["major_mean"] == pytest.approx(83.0)
    assert math.isnan(cells[cells["method"] == "X"].iloc[0]["all_std"]) and math.isnan(ce["medium_mean"])


def test_average_ranks_with_ties():
    scores = pd.DataFrame({"A": [90, 70], "B": [80, 75], "C": [80, 60]}, index=["d1", "d2"])
    # d1: A 1, B 2.5, C 2.5; d2: B 1, A 2, C 3
    ranks = average_ranks(scores)
    assert ranks.to_dict() == {"A": 1.5, "B": 1.75, "C": 2.75}


def test_friedman_needs_three_methods_and_two_datasets():
    scores = pd.DataFrame({"A": [90, 70, 60], "B": [80, 75, 55], "C": [70, 60, 50]})
    test = friedman(scores)
    assert isinstance(test, FriedmanTest) and (test.n, test.k) == (3, 3)
    # ranks per row: (1,2,3), (2,1,3), (1,2,3): R = 4, 5, 9; chi² = 12/(N k (k+1)) ΣR² − 3 N (k+1)
    assert test.chi2 == pytest.approx(12 / (3 * 3 * 4) * (16 + 25 + 81) - 3 * 3 * 4)
    assert 0 < test.p_chi2 < 1
    assert friedman(scores[["A", "B"]]) is None  # k = 2
    assert friedman(scores.iloc[:1]) is None  # N = 1


@pytest.mark.parametrize("shape,levels", [((3, 3), 100), ((5, 4), 3), ((14, 4), 2), ((4, 7), 4), ((12, 5), 1000)])
def test_friedman_chi2_matches_scipy_with_and_without_ties(shape, levels):
    """Reference: scipy.stats.friedmanchisquare (tie-corrected statistic, chi-square p-value)."""
    scores = pd.DataFrame(np.random.default_rng(sum(shape)).integers(0, levels, size=shape).astype(float))
    test, ref = friedman(scores), sps.friedmanchisquare(*scores.to_numpy().T)
    assert test.chi2 == pytest.approx(ref.statistic, rel=1e-12)
    assert test.p_chi2 == pytest.approx(ref.pvalue, rel=1e-9)


# Demšar (2006), JMLR 7, Table 6: ranks of C4.5, C4.5+m, C4.5+cf, C4.5+m+cf on 14 data sets (1 = best, ties
# averaged) as printed in the table (the AUCs printed there are rounded; the voting row, 0.975 / 0.975 for the
# last two, is ranked 2 and 3 in the paper from the unrounded values).
DEMSAR_TABLE6_RANKS = np.array(
    [
        [4, 3, 2, 1],
        [1, 2, 3, 4],
        [4, 1, 2, 3],
        [4, 1, 3, 2],
        [4, 2, 3, 1],
        [1, 2.5, 4, 2.5],
        [3, 2, 4, 1],
        [2.5, 2.5, 4, 1],
        [4, 3, 2, 1],
        [2.5, 2.5, 2.5, 2.5],
        [4, 2.5, 1, 2.5],
        [3, 2, 4, 1],
        [4, 1, 2, 3],
        [3, 1, 4, 2],
    ]
)


def test_iman_davenport_reproduces_demsar_2006_worked_example():
    """Demšar (2006), JMLR 7, section 3.2.2: k = 4, N = 14, average ranks 3.143, 2.000, 2.893, 1.964,
    chi²_F = 9.28, F_F = 3.69, and the critical value F(3, 39) at alpha = 0.05 is 2.85 (so H0 is rejected).
    Demšar's chi²_F has no tie correction; ``friedman`` applies it (like scipy), checked here too."""
    scores = pd.DataFrame(-DEMSAR_TABLE6_RANKS, columns=["C4.5", "C4.5+m", "C4.5+cf", "C4.5+m+cf"])
    avg = average_ranks(scores)
    np.testing.assert_allclose(avg.to_numpy(), [3.143, 2.000, 2.893, 1.964], atol=5e-4)
    chi2 = friedman_chi2_from_average_ranks(avg.to_numpy(), 14)
    assert round(chi2, 2) == 9.28
    assert friedman_chi2_from_average_ranks([3.143, 2.000, 2.893, 1.964], 14) == pytest.approx(9.28, abs=0.01)
    f, df1, df2, p_f = iman_davenport(chi2, 14, 4)
    assert round(f, 2) == 3.69 and (df1, df2) == (3, 39)
    assert round(float(sps.f.ppf(0.95, 3, 39)), 2) == 2.85 and p_f < 0.05
    assert p_f == pytest.approx(sps.f.sf(f, 3, 39), rel=1e-12)
    test = friedman(scores)  # the same table through the public function: tie-corrected chi², F from it
    assert test.chi2 == pytest.approx(sps.friedmanchisquare(*DEMSAR_TABLE6_RANKS.T).statistic, rel=1e-12)
    assert test.chi2 > chi2  # 4 blocks have ties: the correction divides by 1 - 78/840
    assert test.chi2 == pytest.approx(chi2 / (1 - 78 / 840), rel=1e-9)
    assert test.F == pytest.approx(13 * test.chi2 / (14 * 3 - test.chi2), rel=1e-12)
    assert test.p_F == pytest.approx(sps.f.sf(test.F, 3, 39), rel=1e-12)
    assert (test.df1, test.df2) == (3, 39)
    assert test.p_exact is None and test.p == test.p_F and test.p_method == "Iman–Davenport F(3, 39)"  # N >= 10


def test_iman_davenport_edge_cases():
    f, _, _, p = iman_davenport(2 * 3, 2, 4)  # chi² = N (k-1): every block ranks alike
    assert f == math.inf and p == 0.0
    f, _, _, p = iman_davenport(0.0, 5, 3)
    assert f == 0.0 and p == 1.0


def _scores_from_ranks(*blocks: tuple[float, ...]) -> pd.DataFrame:
    return pd.DataFrame(-np.asarray(blocks, dtype=float))


# Exact upper-tail probabilities P(chi²_F >= x) as printed in Siegel & Castellan (1988), Table M (from Friedman
# 1937), each also verified by the brute-force enumeration of test_exact_p_equals_brute_force_enumeration's loop
# (e.g. k = 3, N = 3: the maximum chi² = 6.0 needs all 3 blocks to rank alike: 6 of 6³ arrangements, 1/36 = 0.0278).
PUBLISHED_EXACT = [
    (((1, 2, 3), (1, 2, 3), (1, 2, 3)), 6.0, 0.028),
    (((1, 2, 3), (1, 2, 3), (1, 3, 2)), 4.667, 0.194),
    (((1, 2, 3), (1, 2, 3), (1, 2, 3), (1, 2, 3)), 8.0, 0.0046),
    (((1, 2, 3), (1, 2, 3), (1, 2, 3), (1, 3, 2)), 6.5, 0.042),
    (((1, 2, 3, 4), (1, 2, 3, 4)), 6.0, 0.042),
    (((1, 2, 3, 4), (1, 3, 2, 4)), 5.4, 0.167),
]


@pytest.mark.parametrize("blocks,chi2,p", PUBLISHED_EXACT)
def test_exact_p_matches_published_friedman_table(blocks, chi2, p):
    test = friedman(_scores_from_ranks(*blocks))
    assert test.chi2 == pytest.approx(chi2, abs=1e-3)
    assert test.exact and test.n_permutations is None
    assert test.p_exact == pytest.approx(p, abs=5e-4 if p > 0.01 else 5e-5)
    assert test.p == test.p_exact and test.p_method == "exact permutation distribution"


def _brute_force_p(blocks: np.ndarray) -> float:
    """Naive reference: every block's own rank vector permuted in every way (all (k!)^N arrangements, block 1
    included), the tie-corrected statistic recomputed by scipy, share >= the observed one."""
    observed = sps.friedmanchisquare(*blocks.T).statistic
    hits = total = 0
    for arrangement in itertools.product(*(list(itertools.permutations(row)) for row in blocks)):
        stat = sps.friedmanchisquare(*np.asarray(arrangement).T).statistic
        hits += stat >= observed - 1e-9
        total += 1
    return hits / total


@pytest.mark.parametrize(
    "blocks",
    [
        ((1, 2, 3), (2, 1, 3), (1, 3, 2)),
        ((1, 2.5, 2.5), (1, 2, 3), (3, 1, 2)),  # a tie in block 1: its mid-ranks are permuted as they are
        ((1.5, 1.5, 3, 4), (1, 2, 3, 4), (2, 1, 4, 3)),
    ],
)
def test_exact_p_equals_brute_force_enumeration(blocks):
    arr = np.asarray(blocks, dtype=float)
    test = friedman(_scores_from_ranks(*blocks))
    assert test.exact
    assert test.p_exact == pytest.approx(_brute_force_p(arr), abs=1e-12)


def test_monte_carlo_permutation_p_agrees_with_exact_and_is_seeded():
    scores = _scores_from_ranks((1, 2, 3, 4), (2, 1, 3, 4), (1, 3, 2, 4))  # 24² = 576 arrangements: exact
    exact = friedman(scores)
    mc = friedman(scores, max_arrangements=0, n_permutations=20000, seed=3)  # forced Monte Carlo
    assert exact.exact and not mc.exact and mc.n_permutations == 20000
    se = math.sqrt(exact.p_exact * (1 - exact.p_exact) / 20000)
    assert abs(mc.p_exact - exact.p_exact) < 4 * se
    assert mc == friedman(scores, max_arrangements=0, n_permutations=20000, seed=3)
    assert mc.p_method == "Monte-Carlo permutation test, 20,000 permutations"
    big = pd.DataFrame(np.random.default_rng(0).normal(size=(3, 6)))  # 720² > 200 000: Monte Carlo by default
    test = friedman(big)
    assert not test.exact and test.n_permutations == 20000 and test.p_exact >= 1 / 20001


def test_friedman_p_choice_and_degenerate_tables():
    small = pd.DataFrame(np.random.default_rng(1).normal(size=(9, 3)))
    large = pd.DataFrame(np.random.default_rng(1).normal(size=(10, 3)))
    assert friedman(small).p_exact is not None and friedman(small).p == friedman(small).p_exact
    assert friedman(large).p_exact is None and friedman(large).p == friedman(large).p_F
    tied = friedman(pd.DataFrame([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]))  # no ordering at all
    assert tied.chi2 == 0.0 and tied.p_chi2 == 1.0 and tied.p_F == 1.0 and tied.p_exact == 1.0
    alike = friedman(_scores_from_ranks((1, 2, 3), (1, 2, 3)))
    assert alike.F == math.inf and alike.p_F == 0.0 and alike.p_exact == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match="missing scores"):
        friedman(pd.DataFrame([[1.0, np.nan, 2.0], [1.0, 2.0, 3.0]]))


@pytest.mark.parametrize(
    "k,q", [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728), (6, 2.850), (7, 2.949), (8, 3.031), (9, 3.102), (10, 3.164)]
)
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
    assert summary.cd == pytest.approx(critical_difference(3, 3)) and summary.draw_cd
    assert summary.pairwise is not None and summary.pairwise.shape == (3, 3)
    assert summary.friedman == friedman(scores[["A", "B", "C"]])


def test_rank_summary_with_one_block_has_no_cd_and_no_friedman():
    one = rank_summary(pd.DataFrame({"A": [90], "B": [80], "C": [70]}))
    assert one.n == 1 and one.cd is None and not one.draw_cd and one.friedman is None
    two_methods = rank_summary(pd.DataFrame({"A": [90, 80], "B": [80, 85]}))
    assert two_methods.draw_cd and two_methods.cd == pytest.approx(critical_difference(2, 2))
    assert two_methods.friedman is None  # k = 2
    one_method = rank_summary(pd.DataFrame({"A": [90, 80]}))
    assert not one_method.draw_cd and one_method.cd is None


def test_t_interval_halfwidth():
    # s = 1, n = 3: t_{0.975, 2} = 4.302653 ; half-width = 4.302653 / sqrt(3)
    assert t_interval_halfwidth([1.0, 2.0, 3.0]) == pytest.approx(4.302653 / math.sqrt(3), abs=1e-5)
    assert math.isnan(t_interval_halfwidth([1.0]))


def test_welch_without_variance_is_not_a_test():
    assert math.isnan(welch_test([85.0, 85.0, 85.0], [85.0, 85.0, 85.0]).p)
    assert math.isnan(welch_test([85.0, 85.0, 85.0], [80.0, 80.0, 80.0]).p)
    assert math.isnan(welch_test([29.04 - 0.0, 29.04, 29.04 + 1e-15], [28.47, 28.47, 28.47]).p)  # rounding noise


# -- Bayesian signed-rank test --------------------------------------------------------------------
def _naive_bayes_signed_rank(z: np.ndarray, rope: float, samples: int, seed: int) -> tuple[float, float, float]:
    """Naive reference for Benavoli, Corani, Demšar, Zaffalon (JMLR 18(77), 2017), section 4: Dirichlet-process
    posterior with the prior pseudo-observation z_0 = 0 of weight 0.5 and weight 1 per observed difference;
    for each Dirichlet draw w, theta_right = sum over all ordered pairs (i, j), i = j included, of
    w_i w_j [(z_i + z_j) / 2 > rope], theta_left likewise below -rope, theta_rope the rest. p_* is the share of
    draws in which that theta is the largest. A plain loop over pairs; numpy's Generator (not baycomp's
    RandomState) draws the weights, so the two agree only within Monte-Carlo error."""
    values = np.concatenate([[0.0], z])
    w = np.random.default_rng(seed).dirichlet(np.r_[BAYES_PRIOR, np.ones(len(z))], samples)
    theta = np.zeros((samples, 3))
    for i in range(len(values)):
        for j in range(len(values)):
            mean = (values[i] + values[j]) / 2
            region = 2 if mean > rope else (0 if mean < -rope else 1)
            theta[:, region] += w[:, i] * w[:, j]
    wins = np.bincount(theta.argmax(axis=1), minlength=3) / samples
    return float(wins[0]), float(wins[1]), float(wins[2])


@pytest.mark.parametrize(
    "a,b",
    [
        ([71.0, 64.6, 80.5], [68.0, 65.0, 79.0]),
        ([71.0, 64.6, 80.5, 55.0, 68.2], [68.0, 65.0, 79.0, 57.5, 66.9]),
        ([60.0, 62.0], [61.5, 64.1]),
    ],
)
def test_bayesian_signed_rank_matches_naive_posterior(a, b):
    test = bayesian_signed_rank(a, b, rope=1.0, seed=0, nsamples=50000)
    ref = _naive_bayes_signed_rank(np.subtract(a, b), 1.0, samples=200_000, seed=1)
    # Monte-Carlo standard error of the difference <= sqrt(.25/50000 + .25/200000) = 0.0025; 0.01 is 4 SE
    assert (test.p_left, test.p_rope, test.p_right) == pytest.approx(ref, abs=0.01)
    assert test.p_left + test.p_rope + test.p_right == pytest.approx(1.0)
    assert test.n == len(a) and test.rope == 1.0
    assert test == bayesian_signed_rank(a, b, rope=1.0, seed=0, nsamples=50000)  # seeded: deterministic


@pytest.mark.parametrize("n", [1, 2, 3])
def test_bayesian_prior_dominates_with_few_datasets(n):
    """Every difference > 2 rope: theta_rope = w_0², theta_right = 1 - w_0², w_0 ~ Beta(0.5, N), so
    p_right = P(w_0 < sqrt(1/2)) exactly (a derivation, not a simulation): 0.84, 0.96, 0.99 for N = 1, 2, 3."""
    a, b = [80.0, 85.0, 90.0][:n], [70.0, 71.0, 72.0][:n]
    test = bayesian_signed_rank(a, b, rope=1.0)
    expected = float(sps.beta.cdf(math.sqrt(0.5), BAYES_PRIOR, n))
    assert test.p_right == pytest.approx(expected, abs=0.01) and test.p_left == 0.0
    assert test.verdict == ("inconclusive" if n == 1 else f"A better (P = {test.p_right:.2f})")


def test_bayesian_signed_rank_directions_equivalence_and_errors():
    a, b = [80.0, 85.0, 90.0, 75.0, 88.0], [70.0, 71.0, 72.0, 60.0, 70.0]
    right = bayesian_signed_rank(a, b)
    assert right.p_right > 0.95 and right.verdict.startswith("A better (P = ")
    left = bayesian_signed_rank(b, a)
    assert left.p_left > 0.95 and left.verdict.startswith("B better") and left.describe("RW", "CE").startswith("CE")
    same = bayesian_signed_rank([70.0, 65.2, 80.1, 55.3], [70.2, 65.0, 80.0, 55.5], rope=1.0)
    assert same.p_rope > 0.95 and same.verdict.startswith("practically equivalent")
    mixed = bayesian_signed_rank([71.0, 64.6, 80.5], [68.0, 65.0, 79.0])
    assert mixed.verdict == "inconclusive"
    no_rope = bayesian_signed_rank(a, b, rope=0.0)
    assert no_rope.p_rope == 0.0 and no_rope.p_left + no_rope.p_right == pytest.approx(1.0)
    with pytest.raises(ValueError, match="paired"):
        bayesian_signed_rank([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        bayesian_signed_rank([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="rope"):
        bayesian_signed_rank([1.0], [2.0], rope=-1.0)


def test_bayesian_comparisons_one_row_per_method_against_the_baseline():
    scores = pd.DataFrame(
        {
            "CE": [70.0, 60.0, 50.0, 65.0],
            "A": [72.0, 61.0, 49.0, np.nan],
            "B": [90.0, 80.0, 70.0, 85.0],
            "C": [np.nan] * 4,
        },
        index=["d1", "d2", "d3", "d4"],
    )
    table = bayesian_comparisons(scores, baseline="CE", rope=1.0).set_index("method")
    assert list(table.index) == ["A", "B"]  # C shares no dataset with CE
    assert table.loc["A", "n"] == 3 and table.loc["A", "mean_diff"] == pytest.approx((2 + 1 - 1) / 3)
    ref = bayesian_signed_rank([72.0, 61.0, 49.0], [70.0, 60.0, 50.0], rope=1.0)
    assert (table.loc["A", "p_left"], table.loc["A", "p_rope"], table.loc["A", "p_right"]) == (
        ref.p_left,
        ref.p_rope,
        ref.p_right,
    )
    assert table.loc["B", "verdict"].startswith("B better (P = ") and table.loc["B", "baseline"] == "CE"
    assert bayesian_comparisons(scores, baseline="XX").empty


def test_exact_ties_survive_float_noise_in_ranks_and_friedman():
    """Means computed in another summation order (81.875 vs 81.87499999999999) are one value, not two."""
    noisy = pd.DataFrame(
        {"A": [81.875, 60.0, 70.0], "B": [81.87499999999999, 60.0, 70.0 + 1e-13], "C": [50.0, 61.0, 69.0]}
    )
    exact = pd.DataFrame({"A": [81.875, 60.0, 70.0], "B": [81.875, 60.0, 70.0], "C": [50.0, 61.0, 69.0]})
    assert rank_summary(noisy).ranks.to_dict() == rank_summary(exact).ranks.to_dict()
    assert friedman(noisy).chi2 == pytest.approx(friedman(exact).chi2)  # type: ignore[union-attr]
