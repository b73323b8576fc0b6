"""Within-column comparisons (benchmark.analysis.comparisons) against independent references: a line-by-line port of
limma's ``fitFDist`` (Bioconductor limma, R/fitFDist.R, Smyth & Phipson; read in warnes/limma), scipy's
Welch and paired t-tests for the unmoderated limits, Smyth's (2004) theorem that the moderated t follows
t(d0 + d) under the null (by simulation), and hand-worked decisions."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import special
from scipy import stats as sps

from benchmark.analysis.comparisons import (
    MAX_PRIOR_DF,
    MIN_SEEDS_FOR_BEST,
    NO_PRIOR,
    Column,
    VariancePrior,
    cell_intervals,
    compare_methods,
    fit_variance_prior,
    moderate,
    rank_intervals,
    trigamma_inverse,
    versus_baseline,
    versus_best,
)


def _limma_fit_f_dist(x: list[float], df1: list[float]) -> tuple[float, float]:
    """Naive port of limma's fitFDist (no covariate), one R statement per line, loops instead of vectors."""
    n = len(x)
    m = float(np.median(x))
    x = [max(v, 1e-5 * m) for v in x]
    e = [math.log(v) - special.digamma(d / 2) + math.log(d / 2) for v, d in zip(x, df1)]
    emean = sum(e) / n
    evar = sum((v - emean) ** 2 for v in e) / (n - 1)
    evar = evar - sum(special.polygamma(1, d / 2) for d in df1) / n
    if evar > 0:
        # trigammaInverse by Newton's method, as limma's trigammaInverse.R
        y = 0.5 + 1 / evar
        while True:
            tri = special.polygamma(1, y)
            dif = tri * (1 - tri / evar) / special.polygamma(2, y)
            y = y + dif
            if -dif / y < 1e-8:
                break
        df2 = 2 * y
        s20 = math.exp(emean + special.digamma(df2 / 2) - math.log(df2 / 2))
    else:
        df2, s20 = math.inf, math.exp(emean)
    return df2, s20


def test_prior_matches_a_line_by_line_port_of_limma_fitfdist():
    rng = np.random.default_rng(0)
    variances = list(rng.chisquare(2, size=35) / 2 * rng.gamma(4, 0.5, size=35))
    dfs = [2.0] * 35
    prior = fit_variance_prior(variances, dfs, max_df=math.inf)  # limma's own estimate, uncapped
    df2, s20 = _limma_fit_f_dist(variances, dfs)
    assert math.isfinite(df2)
    assert prior.df == pytest.approx(df2, rel=1e-9) and prior.scale == pytest.approx(s20, rel=1e-9)


def test_prior_recovers_the_generating_parameters_and_caps_at_the_pooled_df():
    rng = np.random.default_rng(1)
    d0, s0sq, d = 4.0, 2.5, 2
    sigma2 = s0sq * d0 / rng.chisquare(d0, size=20_000)
    s2 = sigma2 * rng.chisquare(d, size=sigma2.size) / d
    prior = fit_variance_prior(s2, [d] * s2.size, max_df=math.inf)
    assert prior.df == pytest.approx(d0, rel=0.1) and prior.scale == pytest.approx(s0sq, rel=0.05)
    # identical true variances: the scatter is pure chi-square sampling, d0 is "infinite", capped at sum(df)
    equal = 1.7 * np.random.default_rng(2).chisquare(d, size=40) / d
    capped = fit_variance_prior(equal, [d] * 40, max_df=math.inf)
    assert capped.df <= 80 and capped.df > 20 and capped.scale == pytest.approx(1.7, rel=0.3)
    # and at MAX_PRIOR_DF by default, the scale unchanged; a d0 below the cap is left as fitted
    assert fit_variance_prior(equal, [d] * 40) == replace(capped, df=MAX_PRIOR_DF)
    assert prior.df < MAX_PRIOR_DF and fit_variance_prior(s2, [d] * s2.size) == prior
    assert fit_variance_prior([1.0, 2.0], [2, 2]).df == 0  # too few variances: no moderation


def test_trigamma_inverse_inverts_trigamma():
    for x in (1e-7, 0.01, 0.5, 3.0, 1e8):
        assert float(special.polygamma(1, trigamma_inverse(x))) == pytest.approx(x, rel=1e-6)


def test_moderation_formula_and_outliers():
    prior = VariancePrior(df=8.0, scale=1.0, n=35)
    v = moderate(3.0, 2, prior)
    assert v.value == pytest.approx((8 * 1 + 2 * 3) / 10) and v.df == 10 and not v.own
    assert sps.f.sf(60.0, 2, 8) < 0.01
    outlier = moderate(60.0, 2, prior)  # far above the prior: keeps its own variance (conservative)
    assert outlier.value == 60.0 and outlier.df == 2 and outlier.own
    assert moderate(3.0, 2, NO_PRIOR) == moderate(3.0, 2, VariancePrior(0.0, math.nan, 1))
    assert moderate(3.0, 2, NO_PRIOR).own


def test_moderated_t_follows_t_with_d0_plus_d_df_under_the_null():
    """Smyth (2004), Theorem: with variances drawn from the prior, the moderated t is t(d0 + d) under H0."""
    rng = np.random.default_rng(2)
    d0, s0sq, n = 8.0, 1.0, 3
    prior = VariancePrior(d0, s0sq, 100)
    ts = []
    for _ in range(4000):
        sigma2 = s0sq * d0 / rng.chisquare(d0)
        x = rng.normal(0.0, math.sqrt(sigma2), size=n)
        v = moderate(float(x.var(ddof=1)), n - 1, prior)
        ts.append(x.mean() / math.sqrt(v.value / n))
    assert sps.kstest(ts, sps.t(d0 + n - 1).cdf).pvalue > 0.01
    assert sps.kstest(ts, sps.t(n - 1).cdf).pvalue < 0.01  # and not the unmoderated t(2)


def _column(values: dict[str, list[float]], groups: dict[str, str] | None = None) -> Column:
    return Column(
        {m: dict(enumerate(v)) for m, v in values.items()},
        groups or {m: m for m in values},
    )


def test_unmoderated_unpaired_difference_is_welch():
    col = _column({"CE": [80.0, 81.0, 83.0], "A": [85.0, 86.0, 87.5]})  # two variances: no prior
    assert not col.prior.moderates
    d = col.difference("A", "CE")
    ref = sps.ttest_ind([85.0, 86.0, 87.5], [80.0, 81.0, 83.0], equal_var=False)
    assert d.t == pytest.approx(ref.statistic) and d.p_two_sided() == pytest.approx(ref.pvalue)
    assert not d.paired


def test_runs_sharing_a_stage1_checkpoint_are_paired_by_seed():
    rng = np.random.default_rng(3)
    shared = rng.normal(0, 2, size=3)
    values = {
        "CE": list(80 + shared + rng.normal(0, 0.2, 3)),
        "CE→cRW": list(82 + shared + rng.normal(0, 0.2, 3)),
        "CE→cRS": list(81 + shared + rng.normal(0, 0.2, 3)),
        "CE→LWS": list(81.5 + shared + rng.normal(0, 0.2, 3)),
        "RW": list(rng.normal(84, 2, 3)),
    }
    groups = {"CE": "ce", "CE→cRW": "ce", "CE→cRS": "ce", "CE→LWS": "ce", "RW": "rw"}
    col = _column(values, groups)
    assert col.pair_prior.moderates and col.pair_prior.n == 6  # the 6 pairs of the CE group
    d = col.difference("CE→cRW", "CE")
    diffs = np.subtract(values["CE→cRW"], values["CE"])
    assert d.paired and d.diff == pytest.approx(diffs.mean())
    var = moderate(float(diffs.var(ddof=1)), 2, col.pair_prior)
    assert d.se == pytest.approx(math.sqrt(var.value / 3)) and d.df == var.df
    assert not col.difference("RW", "CE").paired  # another stage-1 model: independent
    # with no pair prior to lean on, the paired test is scipy's paired t-test
    two = _column({"CE": values["CE"], "CE→cRW": values["CE→cRW"], "X": [1.0, 2.0, 4.0]}, groups | {"X": "x"})
    assert not two.pair_prior.moderates and not two.difference("CE→cRW", "CE").paired


def _naive_benjamini_hochberg(p_values: list[float], alpha: float) -> set[int]:
    """Benjamini & Hochberg (1995), written from the paper: reject the k smallest, k = max{i : p_(i) <= i alpha / m}."""
    m = len(p_values)
    ranked = sorted(range(m), key=lambda j: p_values[j])
    k = max([i for i in range(1, m + 1) if p_values[ranked[i - 1]] <= i * alpha / m], default=0)
    return set(ranked[:k])


def test_vs_baseline_is_benjamini_hochberg_with_fcr_intervals_that_agree_with_the_marks():
    rng = np.random.default_rng(4)
    marked_some = marked_not_all = 0
    for trial in range(60):
        values = {m: list(rng.normal(rng.normal(80, 3), rng.uniform(0.5, 3), 3)) for m in ["CE", *"ABCDEFGH"]}
        verdicts = versus_baseline(_column(values))
        assert len(verdicts) == 8
        p = [v.difference.p_two_sided() for v in verdicts]
        rejected = _naive_benjamini_hochberg(p, 0.05)
        # scipy's adjusted p-values are an independent reference for ours
        assert [v.p_adj for v in verdicts] == pytest.approx(list(sps.false_discovery_control(p, method="bh")))
        level = max(len(rejected), 1) * 0.05 / 8  # Benjamini & Yekutieli (2005): FCR-adjusted level
        for i, v in enumerate(verdicts):
            excludes = v.low > 0 or v.high < 0
            assert (v.direction != 0) == excludes == (i in rejected), (trial, v)
            assert v.crit == pytest.approx(sps.t.ppf(1 - level / 2, v.difference.df))
            assert v.direction in (0, int(np.sign(v.difference.diff)))
        marked_some += bool(rejected)
        marked_not_all += 0 < len(rejected) < 8
    assert marked_some > 10 and marked_not_all > 10  # both regimes were exercised


def test_a_difference_without_spread_is_left_out_of_the_bh_family():
    """CE and B without seed spread and no prior (too few variances): B − CE has no standard error and is not
    tested. The family is then A's test alone, so A is marked exactly when its adjusted p is at most 0.05 (a
    family counting B made A's interval wider than its p-value said: p_adj 0.049, no mark)."""
    values = {"CE": [70.0, 70.0, 70.0], "B": [73.0, 73.0, 73.0], "A": [71.5, 72.5, 73.5]}
    verdicts = {v.method: v for v in versus_baseline(_column(values))}
    a, b = verdicts["A"], verdicts["B"]
    assert b.difference.se == 0 and math.isnan(b.p_adj) and b.direction == 0
    p = a.difference.p_two_sided()
    assert a.p_adj == pytest.approx(p) and 0.025 < p <= 0.05  # one test: BH adjusts nothing
    assert a.family == 1 and a.direction == 1 and a.low > 0
    assert a.crit == pytest.approx(sps.t.ppf(0.975, a.difference.df))


def test_benjamini_hochberg_marks_what_bonferroni_misses_when_many_differ():
    """Seven methods 2 pp above CE and one equal: Bonferroni over 8 (the previous rule) needs p < 0.05 / 8 each;
    Benjamini–Hochberg, having rejected seven, needs only p <= 7 · 0.05 / 8."""
    noise = [-1.0, 0.0, 1.0]
    values = {"CE": [80 + e for e in noise], "Z": [80 + e for e in [0.5, -0.5, 0.0]]}
    values |= {m: [82 + e for e in noise[::-1]] for m in "ABCDEFG"}
    verdicts = {v.method: v for v in versus_baseline(_column(values))}
    p = verdicts["A"].difference.p_two_sided()
    assert 0.05 / 8 < p <= 7 * 0.05 / 8
    assert all(verdicts[m].direction == 1 for m in "ABCDEFG") and verdicts["Z"].direction == 0


def test_vs_best_ignores_cells_with_fewer_seeds_and_agrees_with_rank_intervals():
    values = {"CE": [80.0, 81.0, 79.0], "A": [90.0, 91.0, 89.0], "B": [99.0], "C": [70.0, 71.0, 69.5]}
    col = _column(values)
    assert col.best() == "A"  # B has the highest mean but one seed: not a result that can be the best
    verdicts = {v.method: v for v in versus_best(col)}
    assert set(verdicts) == {"CE", "C"}  # B cannot be tested (one seed)
    assert all(v.direction in (0, -1) for v in verdicts.values())
    assert verdicts["C"].direction == -1 and verdicts["C"].high < 0
    v = verdicts["CE"]
    assert v.family == 3  # the testable pairs: CE-A, CE-C, A-C
    assert v.crit == pytest.approx(sps.t.ppf(1 - 0.05 / (2 * 3), v.difference.df))
    ranks = rank_intervals(col)
    for m, verdict in verdicts.items():
        assert (verdict.direction < 0) == (ranks[m].low > 1)
    assert MIN_SEEDS_FOR_BEST == 3


def test_vs_best_controls_false_marks_when_every_method_is_equal():
    """The best of 12 equal methods is selected by chance: "below the best" must stay rare (all pairs)."""
    rng = np.random.default_rng(6)
    trials, false = 200, 0
    for _ in range(trials):
        col = _column({f"M{i}": list(rng.normal(80.0, 1.5, 3)) for i in range(12)})
        false += any(v.direction for v in versus_best(col))
    assert false / trials <= 0.08


def test_rank_intervals_are_tight_for_separated_methods_and_wide_for_ties():
    separated = _column({m: [base - 0.1, base, base + 0.1] for m, base in zip("ABCD", (90, 80, 70, 60))})
    assert {m: (r.low, r.high) for m, r in rank_intervals(separated).items()} == {
        "A": (1, 1),
        "B": (2, 2),
        "C": (3, 3),
        "D": (4, 4),
    }
    tied = _column({m: list(np.roll([80.0, 81.2, 79.5], i)) for i, m in enumerate("ABCD")})  # equal means
    for r in rank_intervals(tied).values():
        assert (r.low, r.high) == (1, 4) and r.low <= r.rank <= r.high
    # equal means computed in another order tie exactly
    ties = _column({"A": [81.875] * 3, "B": [81.87499999999999, 81.875, 81.87500000000001], "C": [70.0, 71, 72]})
    ranks = rank_intervals(ties)
    assert ranks["A"].rank == ranks["B"].rank == 1.5


def _frame(cells: dict[str, list[float]], groups: dict[str, str] | None = None) -> pd.DataFrame:
    rows = []
    for method, values in cells.items():
        for seed, v in enumerate(values):
            rows.append(
                {
                    "dataset": "d",
                    "backbone": "b",
                    "protocol": "p",
                    "method": method,
                    "seed": seed,
                    "mcr_all": v,
                    "stage1_key": (groups or {}).get(method, method),
                }
            )
    return pd.DataFrame(rows)


def test_compare_methods_and_cell_intervals_over_a_frame():
    frame = _frame({"CE": [80.0, 81.0, 82.0], "A": [85.0, 86.0, 87.5], "B": [80.5, 81.0, 82.5], "C": [60.0]})
    tests = compare_methods(frame)
    vs_ce = tests[tests["versus"] == "baseline"].set_index("method")
    assert set(vs_ce.index) == {"A", "B"}  # C has one seed: no test
    assert vs_ce.loc["A", "direction"] == 1 and vs_ce.loc["B", "direction"] == 0
    assert (tests["significant"] == ((tests["low"] > 0) | (tests["high"] < 0))).all()
    cells = cell_intervals(frame).set_index("method")
    ce = cells.loc["CE"]
    half = sps.t.ppf(0.975, ce["df"]) * ce["sd_moderated"] / math.sqrt(3)
    assert ce["low"] == pytest.approx(81.0 - half) and ce["high"] == pytest.approx(81.0 + half)
    assert math.isnan(cells.loc["C", "low"])  # one seed: no interval of its own
    assert cells.loc["A", "rank"] == 1 and cells.loc["A", "rank_low"] == 1


def test_interval_coverage_and_familywise_error_in_a_small_simulation():
    """A quick version of benchmarks/verdict_calibration.py under the model's assumption: 10 methods, 3 seeds,
    each trial drawing every method's true variance from a scaled inverse-chi-square with 6 df (unequal
    variances, as the prior allows)."""
    rng = np.random.default_rng(5)
    covered = total = false_marks = 0
    trials = 400
    for _ in range(trials):
        sds = np.sqrt(1.5 * 6 / rng.chisquare(6, size=10))
        values = {f"M{i}": list(rng.normal(75.0, sd, 3)) for i, sd in enumerate(sds)}
        values["CE"] = values.pop("M0")
        col = _column(values)
        false_marks += any(v.direction != 0 for v in versus_baseline(col))
        for c in col.cells.values():
            covered += c.low <= 75.0 <= c.high
            total += 1
    assert false_marks / trials <= 0.075  # nominal 5 %; 400 trials have a standard error of about 1.1 %
    assert 0.92 <= covered / total <= 0.98


def test_false_discovery_rate_and_false_coverage_when_half_the_methods_differ():
    """Benjamini–Hochberg's promise measured: 12 methods against CE, 6 of them 2.5 true SDs better, 6 equal to
    CE; every method's true variance drawn from a scaled inverse-chi-square with 6 df. The mean share of false
    marks among the marks (FDR) and of marked intervals missing their true difference (FCR) stay near 5 %."""
    rng = np.random.default_rng(11)
    trials = 300
    fdp = fcp = marked = 0.0
    for _ in range(trials):
        sds = np.sqrt(1.0 * 6 / rng.chisquare(6, size=13))
        truth = {"CE": 0.0} | {f"U{i}": 2.5 for i in range(6)} | {f"N{i}": 0.0 for i in range(6)}
        values = {m: list(rng.normal(mu, sd, 3)) for (m, mu), sd in zip(truth.items(), sds)}
        marks = [v for v in versus_baseline(_column(values)) if v.direction]
        false = sum(v.method.startswith("N") or v.direction < 0 for v in marks)
        missed = sum(not (v.low <= truth[v.method] <= v.high) for v in marks)
        fdp += false / max(1, len(marks))
        fcp += missed / max(1, len(marks))
        marked += len(marks)
    assert marked / trials > 2  # the test has power here, so the rates are about real marks
    assert fdp / trials <= 0.075  # nominal 5 %; 300 trials have a standard error of about 1 %
    assert fcp / trials <= 0.075
