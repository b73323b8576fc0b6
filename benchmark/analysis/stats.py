"""Statistics over a results directory: per-cell summaries, rank tests, the Bayesian signed-rank test.

Pure functions of the tidy frame :func:`benchmark.results.reader.results_frame` makes of result files. A *cell*
is (dataset, backbone, protocol, method); :func:`cell_stats` gives the mean, sample SD and seeds of every MCR
metric. Across *blocks* (datasets, or the seeds of one dataset): average ranks, Friedman (tie-corrected) with
Iman–Davenport's F and an exact or Monte-Carlo permutation p, the Nemenyi critical difference, and the Bayesian
signed-rank test against CE. Within a column, verdicts between methods live in
:mod:`benchmark.analysis.comparisons`. What each test assumes and pairs: docs/statistics.md, "Across datasets".
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..results.schema import group_metrics

#: Short name -> result field of the MCR of each class group (:data:`benchmark.results.schema.GROUP_METRICS`).
METRICS: dict[str, str] = group_metrics()
#: A cell is (dataset, backbone, protocol, method); a column, the methods of one (dataset, backbone, protocol).
CELL_KEYS = ["dataset", "backbone", "protocol", "method"]
COLUMN_KEYS = ["dataset", "backbone", "protocol"]
#: The method every other is compared with.
BASELINE = "CE"


# -- per-cell summaries --------------------------------------------------------------
def cell_stats(frame: pd.DataFrame, metrics: Mapping[str, str] = METRICS) -> pd.DataFrame:
    """Mean, sample std (ddof=1; NaN for one seed) and seed count of every metric, per cell.

    Columns: dataset, backbone, protocol, method, n, seeds (sorted tuple), and for each entry
    ``short: column`` of ``metrics`` (default: MCR ``all`` / ``major`` / ``medium`` / ``minor``):
    ``<short>_mean``, ``<short>_std`` and ``<short>_n`` (the seeds that have a value: results written
    before a metric existed have none).
    """
    rows = []
    for key, group in frame.groupby(CELL_KEYS, sort=False):
        row = dict(zip(CELL_KEYS, key))
        row["n"] = int(group["seed"].nunique())
        row["seeds"] = tuple(sorted(int(s) for s in group["seed"].unique()))
        for short, col in metrics.items():
            values = pd.to_numeric(group[col], errors="coerce").dropna().to_numpy(float)
            row[f"{short}_mean"] = float(values.mean()) if values.size else math.nan
            row[f"{short}_std"] = float(values.std(ddof=1)) if values.size > 1 else math.nan
            row[f"{short}_n"] = int(values.size)
        rows.append(row)
    columns = CELL_KEYS + ["n", "seeds"] + [f"{m}_{s}" for m in metrics for s in ("mean", "std", "n")]
    return pd.DataFrame(rows, columns=columns)


def t_interval_halfwidth(values: Sequence[float], level: float = 0.95) -> float:
    """Half-width of the two-sided t-interval of the mean (NaN with fewer than 2 values)."""
    x = np.asarray([v for v in values if v is not None and not np.isnan(v)], dtype=float)
    if x.size < 2:
        return math.nan
    return float(sps.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))


# -- Welch's t-test and Holm's step-down adjustment --------------------------------
@dataclass(frozen=True)
class Welch:
    t: float
    df: float
    p: float


def welch_test(a: Sequence[float], b: Sequence[float]) -> Welch:
    """Welch's two-sided t-test of mean(a) == mean(b) (unequal variances).

    NaN (no test, never significant) with fewer than 2 values a side or when both sides have zero variance.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size < 2 or y.size < 2:
        return Welch(math.nan, math.nan, math.nan)
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    scale = max(1.0, abs(float(x.mean())), abs(float(y.mean())))
    if math.sqrt(vx + vy) <= 1e-9 * scale:  # every seed identical (up to rounding): the t statistic is undefined
        return Welch(math.nan, math.nan, math.nan)
    with warnings.catch_warnings():  # scipy warns about near-identical samples; the numbers are still right
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sps.ttest_ind(x, y, equal_var=False)
    denom = vx**2 / (x.size - 1) + vy**2 / (y.size - 1)
    df = (vx + vy) ** 2 / denom if denom > 0 else math.nan
    return Welch(float(res.statistic), float(df), float(res.pvalue))


def holm(pvalues: Iterable[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control); NaN entries stay NaN.

    Sorted ascending, the i-th smallest of m p-values (i = 0..m-1) becomes
    ``max_{j <= i} min(1, (m - j) * p_(j))``.
    """
    p = np.asarray(list(pvalues), dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adjusted)
    return out


# -- ranks, Friedman, Nemenyi ----------------------------------------------------------
#: Scores are compared to this many decimals (of a percentage point) when ranked: far below any real
#: difference of recall, far above float summation noise.
TIE_DECIMALS = 9


def average_ranks(scores: pd.DataFrame, higher_is_better: bool = True) -> pd.Series:
    """Average rank of each method (column) over blocks (rows); rank 1 = best, ties averaged."""
    # equal scores summed in another order (81.875 vs 81.87499999999999) must tie
    values = np.round(scores.to_numpy(float), TIE_DECIMALS)
    ranks = np.vstack([sps.rankdata(-row if higher_is_better else row, method="average") for row in values])
    return pd.Series(ranks.mean(axis=0), index=scores.columns, name="average_rank")


#: Enumerate the permutation distribution of the Friedman statistic exactly up to this many
#: arrangements, (k!)^(N-1) (block 1 fixed); beyond it, a seeded Monte-Carlo permutation test.
EXACT_MAX_ARRANGEMENTS = 200_000
#: Monte-Carlo permutations when exact enumeration is too large.
N_PERMUTATIONS = 20_000
#: With fewer blocks than this the permutation p-value is computed and is the one shown (``FriedmanTest.p``):
#: the chi-square and F approximations are asymptotic in N and poor for the 1-9 datasets or 3 seeds here.
SMALL_N = 10


@dataclass(frozen=True)
class FriedmanTest:
    """Friedman's test of "all methods rank alike" on a blocks x methods table, in three versions.

    * ``chi2``, ``p_chi2``: Friedman's statistic with the tie correction (equal to
      ``scipy.stats.friedmanchisquare``) and its chi-square approximation (k - 1 df);
    * ``F``, ``df1``, ``df2``, ``p_F``: Iman-Davenport's F = (N-1) chi2 / (N(k-1) - chi2) with
      df1 = k - 1, df2 = (k-1)(N-1) (Demšar 2006, section 3.2.2), less conservative than chi2;
    * ``p_exact``: the permutation p-value P(chi2* >= chi2) under H0 (each block's ranks a uniformly
      random permutation of that block's own rank vector, mid-ranks of ties included), computed when
      N < ``SMALL_N``: exactly (``exact`` True, ``n_permutations`` None) when (k!)^(N-1) <=
      ``EXACT_MAX_ARRANGEMENTS``, else from ``n_permutations`` seeded Monte-Carlo permutations with
      p = (1 + #{chi2* >= chi2}) / (1 + B). None for N >= ``SMALL_N``.
    """

    chi2: float
    p_chi2: float
    F: float
    df1: int
    df2: int
    p_F: float
    p_exact: float | None
    exact: bool
    n_permutations: int | None
    n: int
    k: int

    @property
    def p(self) -> float:
        """The p-value to show: the permutation p-value for N < ``SMALL_N`` blocks, else Iman-Davenport's."""
        return self.p_exact if self.p_exact is not None else self.p_F

    @property
    def p_method(self) -> str:
        """How :attr:`p` was computed, in words (shown beside it)."""
        if self.p_exact is None:
            return f"Iman–Davenport F({self.df1}, {self.df2})"
        if self.exact:
            return "exact permutation distribution"
        return f"Monte-Carlo permutation test, {self.n_permutations:,} permutations"


def _doubled_ranks(values: np.ndarray) -> np.ndarray:
    """Twice the within-block ranks (rank 1 = highest score, ties averaged): integers, so sums compare exactly."""
    return np.vstack([np.rint(2 * sps.rankdata(-row, method="average")) for row in values]).astype(np.int64)


def _rank_sum_squares(doubled: np.ndarray) -> np.ndarray:
    """Sum over methods of the squared (doubled) rank sums; the Friedman statistic is increasing in it."""
    return (doubled.astype(np.int64) ** 2).sum(axis=-1)


def _friedman_chi2(doubled: np.ndarray) -> float:
    """Friedman's chi-square with the tie correction, from doubled ranks (0 when every block is all ties)."""
    n, k = doubled.shape
    sums = doubled.sum(axis=0) / 2.0
    raw = 12.0 / (n * k * (k + 1)) * float((sums**2).sum()) - 3.0 * n * (k + 1)
    ties = sum(float((t**3 - t).sum()) for t in (np.unique(row, return_counts=True)[1] for row in doubled))
    correction = 1.0 - ties / (n * k * (k * k - 1))
    if correction <= 1e-12:  # every block ties every method: no ordering at all
        return 0.0
    return max(raw / correction, 0.0)


def friedman_chi2_from_average_ranks(average: Sequence[float], n: int) -> float:
    """Friedman's statistic from average ranks without tie correction (Demšar 2006, eq. in section 3.2.2):
    ``12 N / (k (k+1)) * (sum_j R_j^2 - k (k+1)^2 / 4)``; for tables that publish only average ranks."""
    r = np.asarray(average, dtype=float)
    k = r.size
    return float(12.0 * n / (k * (k + 1)) * ((r**2).sum() - k * (k + 1) ** 2 / 4.0))


def iman_davenport(chi2: float, n: int, k: int) -> tuple[float, int, int, float]:
    """Iman-Davenport's F = (N-1) chi2 / (N(k-1) - chi2), df1 = k-1, df2 = (k-1)(N-1), and its p-value
    ``P(F_{df1,df2} >= F)``. F is infinite (p = 0) when every block ranks the methods identically."""
    df1, df2 = k - 1, (k - 1) * (n - 1)
    denominator = n * (k - 1) - chi2
    if denominator <= 1e-12 * n * (k - 1):
        return math.inf, df1, df2, 0.0
    f = (n - 1) * chi2 / denominator
    return float(f), df1, df2, float(sps.f.sf(f, df1, df2))


def friedman_permutation_p(
    doubled: np.ndarray,
    max_arrangements: int = EXACT_MAX_ARRANGEMENTS,
    n_permutations: int = N_PERMUTATIONS,
    seed: int = 0,
) -> tuple[float, bool, int | None]:
    """Permutation p-value of the Friedman statistic: ``(p, exact, n_permutations)``.

    ``doubled`` is the N x k table of twice the within-block ranks. Under H0 every block's rank
    vector (with its own mid-ranks, when it has ties) is permuted uniformly and independently.
    Relabelling the methods in every block at once leaves the statistic unchanged, so block 1 is
    fixed and the other N-1 blocks are enumerated: exact when (k!)^(N-1) <= ``max_arrangements``
    (p = share of arrangements with a statistic >= the observed one), else ``n_permutations``
    seeded Monte-Carlo draws with p = (1 + #>=) / (1 + B).
    """
    n, k = doubled.shape
    observed = _rank_sum_squares(doubled.sum(axis=0))
    if math.factorial(k) ** (n - 1) <= max_arrangements:
        sums = doubled[:1]
        for row in doubled[1:]:
            perms = np.array(list(itertools.permutations(row)), dtype=np.int64)
            sums = (sums[:, None, :] + perms[None, :, :]).reshape(-1, k)
        return float(np.mean(_rank_sum_squares(sums) >= observed)), True, None
    rng = np.random.default_rng(seed)
    sums = np.tile(doubled[0], (n_permutations, 1))
    for row in doubled[1:]:
        sums += rng.permuted(np.tile(row, (n_permutations, 1)), axis=1)
    hits = int((_rank_sum_squares(sums) >= observed).sum())
    return (1 + hits) / (1 + n_permutations), False, n_permutations


def friedman(
    scores: pd.DataFrame,
    *,
    max_arrangements: int = EXACT_MAX_ARRANGEMENTS,
    n_permutations: int = N_PERMUTATIONS,
    seed: int = 0,
) -> FriedmanTest | None:
    """Friedman, Iman-Davenport and (for N < ``SMALL_N`` blocks) the permutation test of a complete
    blocks x methods table (higher score = better); None when undefined (k < 3 methods or N < 2 blocks).

    Blocks are datasets (each method's mean over seeds) or the seeds of one dataset; methods are
    paired within a block. See :class:`FriedmanTest` for what each field is.
    """
    n, k = scores.shape
    if k < 3 or n < 2:
        return None
    values = np.round(scores.to_numpy(float), TIE_DECIMALS)  # equal scores summed in another order must tie
    if np.isnan(values).any():
        raise ValueError("friedman: the table has missing scores (drop incomplete methods first)")
    doubled = _doubled_ranks(values)
    chi2 = _friedman_chi2(doubled)
    f, df1, df2, p_f = iman_davenport(chi2, n, k)
    p_exact, exact, permutations = (
        friedman_permutation_p(doubled, max_arrangements, n_permutations, seed) if n < SMALL_N else (None, False, None)
    )
    return FriedmanTest(
        chi2=chi2,
        p_chi2=float(sps.chi2.sf(chi2, k - 1)),
        F=f,
        df1=df1,
        df2=df2,
        p_F=p_f,
        p_exact=p_exact,
        exact=exact,
        n_permutations=permutations,
        n=n,
        k=k,
    )


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """Critical value q_alpha of the Nemenyi test for k methods: studentized range (df = inf) / sqrt(2)."""
    if k < 2:
        raise ValueError("the Nemenyi test needs at least 2 methods")
    return float(sps.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2))


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks: ``q_alpha * sqrt(k (k + 1) / (6 N))``."""
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6.0 * n))


def nemenyi_pairwise(scores: pd.DataFrame) -> pd.DataFrame | None:
    """Pairwise Nemenyi p-values after Friedman (scikit-posthocs); None when k < 3 or N < 2."""
    n, k = scores.shape
    if k < 3 or n < 2:
        return None
    import scikit_posthocs as sp  # lazy: only the site's rank tests need it

    return (
        sp.posthoc_nemenyi_friedman(scores.to_numpy(float))
        .set_axis(scores.columns, axis=0)
        .set_axis(scores.columns, axis=1)
    )


@dataclass
class RankSummary:
    """Average ranks of methods over blocks (datasets, or seeds of one dataset) and the tests on them.

    ``friedman`` is None with fewer than 3 methods or 2 blocks; ``cd`` (the Nemenyi critical
    difference) is None with fewer than 2 methods or 2 blocks: with one block every method has a
    fixed rank and no difference of ranks can be tested.
    """

    blocks: str
    scores: pd.DataFrame
    ranks: pd.Series
    dropped: list[str] = field(default_factory=list)
    friedman: FriedmanTest | None = None
    cd: float | None = None
    pairwise: pd.DataFrame | None = None

    @property
    def k(self) -> int:
        return self.scores.shape[1]

    @property
    def n(self) -> int:
        return self.scores.shape[0]

    @property
    def draw_cd(self) -> bool:
        """Whether a critical-difference diagram means anything: at least 2 blocks and 2 methods."""
        return self.n >= 2 and self.k >= 2


def rank_summary(scores: pd.DataFrame, blocks: str = "datasets", alpha: float = 0.05) -> RankSummary:
    """Ranks, Friedman / Iman-Davenport / permutation test, Nemenyi CD and pairwise p-values of a
    blocks x methods score table.

    Methods missing in some block are dropped (the tests need a complete block design).
    """
    complete = scores.dropna(axis=1, how="any").round(TIE_DECIMALS)  # float noise must not break exact ties
    dropped = [c for c in scores.columns if c not in complete.columns]
    if complete.empty or complete.shape[1] == 0:
        return RankSummary(blocks, complete, pd.Series(dtype=float), dropped)
    ranks = average_ranks(complete).sort_values(kind="stable")
    k, n = complete.shape[1], complete.shape[0]
    return RankSummary(
        blocks,
        complete,
        ranks,
        dropped,
        friedman(complete),
        critical_difference(k, n, alpha) if k >= 2 and n >= 2 else None,
        nemenyi_pairwise(complete),
    )


def scores_across_datasets(frame: pd.DataFrame, metric: str = "mcr_all") -> pd.DataFrame:
    """datasets × methods table of mean ``metric`` over seeds (one backbone/protocol slice of the frame)."""
    return frame.pivot_table(index="dataset", columns="method", values=metric, aggfunc="mean", sort=False)


def scores_across_seeds(frame: pd.DataFrame, metric: str = "mcr_all") -> pd.DataFrame:
    """seeds × methods table of ``metric`` (one dataset/backbone/protocol slice; seeds pair the runs)."""
    return frame.pivot_table(index="seed", columns="method", values=metric, aggfunc="mean", sort=True)


# -- Bayesian signed-rank test (Benavoli, Corani, Demšar, Zaffalon 2017) ---------------------
#: Posterior probability a verdict needs.
BAYES_THRESHOLD = 0.95
#: Strength of the Dirichlet-process prior: one pseudo-observation at difference 0 with this weight
#: (baycomp's default and the paper's choice), against weight 1 for each observed difference.
BAYES_PRIOR = 0.5
#: Region of practical equivalence, in percentage points of MCR.
DEFAULT_ROPE = 1.0


@dataclass(frozen=True)
class BayesSignedRank:
    """Posterior of the Bayesian signed-rank test of paired scores a, b (differences z = a - b).

    ``p_left``, ``p_rope``, ``p_right``: posterior probabilities that "b better by more than the
    rope", "practically equivalent (within +-rope)" and "a better by more than the rope" is the most
    probable of the three outcomes (as baycomp and Benavoli et al. 2017 report them; they sum to 1).
    ``rope`` is in the scores' unit (percentage points), ``n`` the number of pairs.
    """

    p_left: float
    p_rope: float
    p_right: float
    rope: float
    n: int
    threshold: float = BAYES_THRESHOLD

    def describe(self, a: str = "A", b: str = "B") -> str:
        """The verdict with names: "<a> better (P = 0.97)", "<b> better (...)", "practically equivalent
        (P = ...)" when that probability reaches ``threshold``, else "inconclusive"."""
        if self.p_right >= self.threshold:
            return f"{a} better (P = {self.p_right:.2f})"
        if self.p_left >= self.threshold:
            return f"{b} better (P = {self.p_left:.2f})"
        if self.p_rope >= self.threshold:
            return f"practically equivalent (P = {self.p_rope:.2f})"
        return "inconclusive"

    @property
    def verdict(self) -> str:
        """:meth:`describe` with the names A (first argument) and B (second)."""
        return self.describe()


def bayesian_signed_rank(
    a: Sequence[float], b: Sequence[float], rope: float = DEFAULT_ROPE, seed: int = 0, nsamples: int = 50000
) -> BayesSignedRank:
    """Bayesian signed-rank test of paired scores (Benavoli, Corani, Demšar, Zaffalon, JMLR 18(77), 2017).

    ``a`` and ``b`` are paired per block, e.g. the mean MCR over seeds of two methods on each dataset,
    in percentage points; ``rope`` is the region of practical equivalence in the same unit. The
    posterior of the distribution of z = a - b is a Dirichlet process with one prior pseudo-observation
    at z = 0 (weight ``BAYES_PRIOR``); each of ``nsamples`` Dirichlet draws w gives
    theta_right = sum_{i,j} w_i w_j [(z_i + z_j) / 2 > rope] (all ordered pairs, i = j included, the
    pseudo-observation included), theta_left likewise below -rope, theta_rope the rest; p_* is the share
    of draws in which that theta is the largest. Computed by ``baycomp.SignedRankTest`` with
    ``random_state=seed``, so it is deterministic.

    Honest caveat: with N = 1-3 datasets the posterior is dominated by the prior pseudo-observation at
    0, which lies inside the rope. If every difference exceeds 2 x rope, p_right is exactly
    P(w_0^2 < 1/2) with w_0 ~ Beta(0.5, N): 0.84 for N = 1, 0.96 for N = 2, 0.99 for N = 3, so one
    dataset can never give "A better" at 0.95, however large the difference; and one difference
    inside the rope gives p_rope = 1. With so few datasets the verdict restates the observed
    differences against the rope rather than generalising to other datasets.
    """
    import baycomp  # lazy: only the site's Bayesian test needs it

    x, y = np.asarray(b, dtype=float).ravel(), np.asarray(a, dtype=float).ravel()
    if x.size != y.size:
        raise ValueError(f"bayesian_signed_rank: a has {y.size} scores, b {x.size}; they must be paired")
    if x.size == 0:
        raise ValueError("bayesian_signed_rank: no paired scores")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("bayesian_signed_rank: scores must be finite (drop blocks where either method is missing)")
    if not rope >= 0:
        raise ValueError(f"bayesian_signed_rank: rope must be >= 0, got {rope}")
    # baycomp's differences are y - x: "right" means y (our a) is better
    posterior = baycomp.SignedRankTest(x, y, rope, prior=BAYES_PRIOR, nsamples=nsamples, random_state=seed)
    if rope > 0:
        p_left, p_rope, p_right = posterior.probs(with_rope=True)
    else:
        (p_left, p_right), p_rope = posterior.probs(with_rope=False), 0.0
    return BayesSignedRank(float(p_left), float(p_rope), float(p_right), float(rope), int(x.size))


def bayesian_comparisons(
    scores: pd.DataFrame, baseline: str = BASELINE, rope: float = DEFAULT_ROPE, seed: int = 0, nsamples: int = 50000
) -> pd.DataFrame:
    """The Bayesian signed-rank test of every method against ``baseline`` over the blocks of a
    blocks x methods table (e.g. :func:`scores_across_datasets`).

    One row per method other than the baseline, paired over the blocks where both have a score:
    ``method``, ``baseline``, ``n`` (blocks), ``mean_diff`` (method - baseline, mean over blocks),
    ``p_left`` (baseline better by more than the rope), ``p_rope``, ``p_right`` (method better),
    ``rope`` and ``verdict`` (:meth:`BayesSignedRank.describe` with the names). Empty when the
    baseline is not in the table; a method sharing no block with it is left out.
    """
    columns = ["method", "baseline", "n", "mean_diff", "p_left", "p_rope", "p_right", "rope", "verdict"]
    if baseline not in scores.columns:
        return pd.DataFrame([], columns=columns)
    rows = []
    for method in scores.columns:
        if method == baseline:
            continue
        pair = scores[[method, baseline]].dropna()
        if pair.empty:
            continue
        a, b = pair[method].to_numpy(float), pair[baseline].to_numpy(float)
        test = bayesian_signed_rank(a, b, rope=rope, seed=seed, nsamples=nsamples)
        rows.append(
            {
                "method": method,
                "baseline": baseline,
                "n": test.n,
                "mean_diff": float(np.mean(a - b)),
                "p_left": test.p_left,
                "p_rope": test.p_rope,
                "p_right": test.p_right,
                "rope": rope,
                "verdict": test.describe(str(method), str(baseline)),
            }
        )
    return pd.DataFrame(rows, columns=columns)


# -- critical-difference cliques ---------------------------------------------------------
def cliques(ranks: Mapping[str, float], cd: float | None) -> list[list[str]]:
    """Maximal runs of rank-sorted methods whose ranks differ by at most ``cd`` (not significantly different)."""
    if cd is None or not ranks:
        return []
    items = sorted(ranks.items(), key=lambda kv: kv[1])
    out: list[list[str]] = []
    last_end = -1
    for i in range(len(items)):
        j = i
        while j + 1 < len(items) and items[j + 1][1] - items[i][1] <= cd + 1e-12:
            j += 1
        if j > i and j > last_end:
            out.append([name for name, _ in items[i : j + 1]])
            last_end = j
    return out
