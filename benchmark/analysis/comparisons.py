"""Within a column: every cell's interval, method against CE, against the best, and rank intervals.

The estimand is a method's expected score over training seeds on this fixed test set. Per column (dataset,
backbone, protocol) and metric the seed variances are moderated by empirical Bayes (Smyth 2004), runs that share a
stage-1 checkpoint are compared paired by seed, verdicts against CE are Benjamini–Hochberg at a 5 % false-discovery
rate with FCR-adjusted intervals, and all pairs, "vs best" and rank intervals are Bonferroni over the column's
pairs. The model, its assumptions and the measured error rates: docs/statistics.md, "The model within a column".
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as sps

from .stats import BASELINE, COLUMN_KEYS

ALPHA = 0.05
#: A cell needs this many seeds to be the column's best (the reference of ``vs best``) or to be marked best.
MIN_SEEDS_FOR_BEST = 3
#: A method whose seed variance is above this upper-tail probability of ``F(d, d0)`` keeps its own variance.
OUTLIER_P = 0.01
#: Fewest variances a prior is fitted from; with fewer, no moderation (d0 = 0).
MIN_PRIOR_VARIANCES = 3
#: Most degrees of freedom a fitted prior may claim. From a column's dozen or two 3-seed variances the moment
#: estimate of d0 is too noisy to tell 5 from infinity (their log-variances scatter by about 1.6 from
#: sampling alone; d0 = 5 adds 0.49, about half that scatter's standard error), and an over-estimated d0
#: over-trusts the pooled variance. Simulated from the default run (3,000 benchmarks, nothing differing from CE,
#: Benjamini–Hochberg): any false mark vs CE 5.3 % with d0 capped at 8, 4.8 % at 6, 4.4 % at 5
#: (``benchmarks/verdict_calibration.py``, docs/statistics.md).
MAX_PRIOR_DF = 5.0


# -- empirical-Bayes variance prior (Smyth 2004) -------------------------------------------
@dataclass(frozen=True)
class VariancePrior:
    """Scaled inverse-chi-square prior of seed variances: ``df`` (d0) and ``scale`` (s0^2)."""

    df: float
    scale: float
    n: int  # variances it was fitted from

    @property
    def moderates(self) -> bool:
        return self.df > 0 and self.scale > 0 and math.isfinite(self.scale)


NO_PRIOR = VariancePrior(0.0, math.nan, 0)


def trigamma_inverse(x: float) -> float:
    """The y with trigamma(y) = x (x > 0), by Newton's method as in limma's ``trigammaInverse``."""
    if x > 1e7:
        return 1.0 / math.sqrt(x)
    if x < 1e-6:
        return 1.0 / x
    y = 0.5 + 1.0 / x
    for _ in range(50):
        tri = float(special.polygamma(1, y))
        dif = tri * (1.0 - tri / x) / float(special.polygamma(2, y))
        y += dif
        if -dif / y < 1e-8:
            break
    return y


def fit_variance_prior(variances: Sequence[float], dfs: Sequence[float], max_df: float = MAX_PRIOR_DF) -> VariancePrior:
    """Moment estimates of ``(d0, s0^2)`` from sample variances with ``dfs`` degrees of freedom.

    limma's ``fitFDist`` without covariate (Smyth 2004, section 6.2): on ``e = log s^2 − digamma(d/2) +
    log(d/2)``, ``d0 = 2 · trigamma^-1(var(e) − mean(trigamma(d/2)))`` and ``s0^2 = exp(mean(e) +
    digamma(d0/2) − log(d0/2))``. When the variances scatter no more than chi-square sampling explains
    (d0 infinite, or at least ``sum(dfs)``), they are taken as one variance: the pooled variance on
    ``sum(dfs)`` df (the prior cannot know more than the pooled data). The df is then capped at
    ``max_df`` (:data:`MAX_PRIOR_DF`; the scale keeps its estimate): a noisy d0 must not be trusted as known.
    Zero variances are offset to ``1e-5 × median`` as limma does.
    """
    s2 = np.asarray(variances, dtype=float)
    d = np.asarray(dfs, dtype=float)
    ok = np.isfinite(s2) & np.isfinite(d) & (d > 0) & (s2 >= 0)
    s2, d = s2[ok], d[ok]
    if s2.size < MIN_PRIOR_VARIANCES:
        return VariancePrior(0.0, math.nan, int(s2.size))
    median = float(np.median(s2))
    if median <= 0:  # more than half the cells have identical seeds: nothing to moderate towards
        return VariancePrior(0.0, math.nan, int(s2.size))
    s2 = np.maximum(s2, 1e-5 * median)
    e = np.log(s2) - special.digamma(d / 2) + np.log(d / 2)
    emean = float(e.mean())
    evar = float(((e - emean) ** 2).sum() / (e.size - 1)) - float(special.polygamma(1, d / 2).mean())
    pooled_df = float(d.sum())
    d0 = 2.0 * trigamma_inverse(evar) if evar > 0 else math.inf
    if d0 >= pooled_df:
        # no more scatter than sampling explains: the variances are one variance, and its best estimate is the
        # pooled one (the classical pooled-variance t-test); the log-scale moment estimate of s0^2 would be
        # noisier than d0 = sum(dfs) claims
        return VariancePrior(min(pooled_df, max_df), float((d * s2).sum() / pooled_df), int(s2.size))
    scale = math.exp(emean + float(special.digamma(d0 / 2)) - math.log(d0 / 2))
    return VariancePrior(min(float(d0), max_df), float(scale), int(s2.size))


@dataclass(frozen=True)
class Variance:
    """A posterior (moderated) variance and its degrees of freedom; ``own``: not moderated (outlier or no prior)."""

    value: float
    df: float
    own: bool = False


def moderate(s2: float, df: float, prior: VariancePrior) -> Variance:
    """``(d0 s0^2 + d s^2) / (d0 + d)`` on ``d0 + d`` df; the sample variance itself when ``prior`` does
    not moderate, or when ``s2`` is an upper-tail outlier of ``F(d, d0)`` (:data:`OUTLIER_P`)."""
    if df <= 0 or not math.isfinite(s2):
        if prior.moderates:  # no own estimate (one seed): the prior alone
            return Variance(prior.scale, prior.df)
        return Variance(math.nan, 0.0, True)
    if not prior.moderates:
        return Variance(s2, df, True)
    if is_outlier(s2, df, prior):
        return Variance(s2, df, True)
    return Variance((prior.df * prior.scale + df * s2) / (prior.df + df), prior.df + df)


def is_outlier(s2: float, df: float, prior: VariancePrior) -> bool:
    """Whether ``s2`` is implausibly large under the prior: ``P(F(df, d0) >= s2 / s0^2) < OUTLIER_P``."""
    if not prior.moderates or df <= 0:
        return False
    return bool(sps.f.sf(s2 / prior.scale, df, prior.df) < OUTLIER_P)


# -- one column ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CellEstimate:
    """A cell's mean over seeds, its moderated variance and the 95 % interval of its expected score."""

    method: str
    mean: float
    n: int
    s2: float  # sample variance (NaN with one seed)
    variance: Variance
    low: float
    high: float


@dataclass(frozen=True)
class Difference:
    """``mean(a) − mean(b)``, its standard error, df and whether it was paired by seed."""

    a: str
    b: str
    diff: float
    se: float
    df: float
    paired: bool

    @property
    def t(self) -> float:
        return self.diff / self.se if self.se > 0 else math.nan

    def p_two_sided(self) -> float:
        return float(2 * sps.t.sf(abs(self.t), self.df)) if self.se > 0 else math.nan


def t_quantile(q: float, df: float) -> float:
    return float(sps.norm.ppf(q)) if not math.isfinite(df) else float(sps.t.ppf(q, df))


@dataclass
class Column:
    """The fitted model of one column and metric (see the module docstring)."""

    values: dict[str, dict[int, float]]  # method -> seed -> score
    groups: dict[str, str]  # method -> stage-1 group (runs of one group and seed share a checkpoint)
    alpha: float = ALPHA
    max_prior_df: float = MAX_PRIOR_DF  # see MAX_PRIOR_DF; a simulation's truth may take the fit uncapped
    prior: VariancePrior = field(init=False)
    pair_prior: VariancePrior = field(init=False)
    cells: dict[str, CellEstimate] = field(init=False)
    pairs: dict[tuple[str, str], PairVerdict] | None = field(default=None, init=False, repr=False)  # cache

    def __post_init__(self) -> None:
        stats = {m: _sample(v) for m, v in self.values.items()}
        # one variance per stage-1 group: runs that share a checkpoint share their seed noise, so their sample
        # variances rise and fall together and would make the prior look better informed than it is
        first: dict[object, str] = {}
        for m in stats:
            first.setdefault(self.groups.get(m) or ("alone", m), m)
        fitting = [stats[m] for m in first.values() if stats[m][2] > 1]
        self.prior = fit_variance_prior([s2 for _, s2, _ in fitting], [n - 1 for *_, n in fitting], self.max_prior_df)
        pair_prior = fit_variance_prior(*_pair_variances(self), self.max_prior_df)
        if pair_prior.moderates and self.prior.moderates and pair_prior.df > self.prior.df:
            # a paired difference's variance inherits the spread of its two methods' variances: its prior may
            # not claim them more alike than the methods' own prior does (the pairs share members, so their
            # apparent agreement overstates it)
            pair_prior = replace(pair_prior, df=self.prior.df)
        self.pair_prior = pair_prior
        self.cells = {}
        for m, (mean, s2, n) in stats.items():
            var = moderate(s2, n - 1, self.prior)
            half = (
                t_quantile(1 - self.alpha / 2, var.df) * math.sqrt(var.value / n) if n > 1 and var.df > 0 else math.nan
            )
            self.cells[m] = CellEstimate(m, mean, n, s2, var, mean - half, mean + half)

    def paired(self, a: str, b: str) -> list[int]:
        """The common seeds of two methods that share a stage-1 checkpoint ([] when they are not paired)."""
        if self.groups.get(a) is None or self.groups.get(a) != self.groups.get(b) or not self.pair_prior.moderates:
            return []
        common = sorted(set(self.values[a]) & set(self.values[b]))
        return common if len(common) >= 2 else []

    def difference(self, a: str, b: str) -> Difference:
        """``a − b`` paired by seed when they share a stage-1 checkpoint, else as independent cells."""
        ca, cb = self.cells[a], self.cells[b]
        seeds = self.paired(a, b)
        if seeds:
            d = np.array([self.values[a][s] - self.values[b][s] for s in seeds])
            var = moderate(float(d.var(ddof=1)), d.size - 1, self.pair_prior)
            return Difference(a, b, float(d.mean()), math.sqrt(var.value / d.size), var.df, True)
        if ca.n < 2 or cb.n < 2:
            return Difference(a, b, ca.mean - cb.mean, math.nan, math.nan, False)
        va, vb = ca.variance.value / ca.n, cb.variance.value / cb.n
        terms = [v * v / df for v, df in ((va, ca.variance.df), (vb, cb.variance.df)) if math.isfinite(df)]
        df = (va + vb) ** 2 / sum(terms) if terms and sum(terms) > 0 else math.inf
        if not ca.variance.own and not cb.variance.own:
            # both lean on one estimated prior: Welch-Satterthwaite would count its d0 twice; the pair holds at
            # most d0 + d_a + d_b degrees of freedom of information about its variance
            df = min(df, self.prior.df + ca.n - 1 + cb.n - 1)
        return Difference(a, b, ca.mean - cb.mean, math.sqrt(va + vb), df, False)

    def best(self) -> str | None:
        """The cell with the highest mean among those with at least :data:`MIN_SEEDS_FOR_BEST` seeds."""
        eligible = [c for c in self.cells.values() if c.n >= MIN_SEEDS_FOR_BEST and c.mean == c.mean]
        return max(eligible, key=lambda c: c.mean).method if eligible else None

    def testable(self, m: str) -> bool:
        return self.cells[m].n >= 2 and math.isfinite(self.cells[m].variance.value)


def _sample(by_seed: Mapping[int, float]) -> tuple[float, float, int]:
    x = np.asarray(list(by_seed.values()), dtype=float)
    return float(x.mean()), float(x.var(ddof=1)) if x.size > 1 else math.nan, int(x.size)


def within_group_pairs(col: Column) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The scores over their common seeds (at least 2) of every pair of methods that share a stage-1 group."""
    by_group: dict[str, list[str]] = {}
    for m, g in col.groups.items():
        if g is not None and m in col.values:
            by_group.setdefault(g, []).append(m)
    for members in by_group.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                seeds = sorted(set(col.values[a]) & set(col.values[b]))
                if len(seeds) >= 2:
                    yield np.array([col.values[a][s] for s in seeds]), np.array([col.values[b][s] for s in seeds])


def _pair_variances(col: Column) -> tuple[list[float], list[float]]:
    """Variances (and df) of the per-seed differences of every pair of methods that share a stage-1 group."""
    diffs = [a - b for a, b in within_group_pairs(col)]
    return [float(d.var(ddof=1)) for d in diffs], [float(d.size - 1) for d in diffs]


# -- decisions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairVerdict:
    """One comparison with its interval (vs CE: FCR-adjusted; all pairs and vs best: simultaneous);
    ``direction`` +1 better, −1 worse, 0 no difference."""

    method: str
    versus: str  # "baseline" or "best"
    other: str
    difference: Difference
    crit: float
    p_adj: float
    family: int
    direction: int

    @property
    def low(self) -> float:
        return self.difference.diff - self.crit * self.difference.se

    @property
    def high(self) -> float:
        return self.difference.diff + self.crit * self.difference.se


def versus_baseline(col: Column, baseline: str = BASELINE) -> list[PairVerdict]:
    """Every testable method against ``baseline``: two-sided tests, Benjamini–Hochberg at false-discovery rate
    ``alpha`` over the family, each difference with its FCR-adjusted interval (Benjamini & Yekutieli 2005).

    With ``R`` of the ``m`` comparisons marked, every interval has level ``1 − max(R, 1) · alpha / m``: the marked
    ones then miss their true difference at a rate of at most ``alpha`` (the false-coverage rate), and a mark
    holds exactly when the interval excludes 0 (the marked p-values are at most ``R alpha / m``; by the step-up
    rule every other one is above ``(R + 1) alpha / m``)."""
    if baseline not in col.cells or not col.testable(baseline):
        return []
    others = [m for m in col.cells if m != baseline and col.testable(m)]
    differences = [col.difference(method, baseline) for method in others]
    testable = [i for i, d in enumerate(differences) if d.se > 0]  # a difference without spread is not tested
    m = len(testable)  # the family: the tests BH runs over, so that mark, interval and p_adj agree
    # scipy's BH-adjusted p-values: p_adj <= alpha marks exactly the step-up rejections (p_(i) <= i alpha / m)
    adjusted = sps.false_discovery_control([differences[i].p_two_sided() for i in testable]) if testable else []
    p_adj = dict(zip(testable, map(float, adjusted)))
    rejected = sum(p <= col.alpha for p in p_adj.values())
    level = max(rejected, 1) * col.alpha / max(m, 1)
    out = []
    for i, (method, d) in enumerate(zip(others, differences)):
        if d.se > 0:
            crit = t_quantile(1 - level / 2, d.df)
            significant = abs(d.diff) > crit * d.se
            out.append(
                PairVerdict(
                    method, "baseline", baseline, d, crit, p_adj[i], m, int(np.sign(d.diff)) if significant else 0
                )
            )
        else:
            out.append(PairVerdict(method, "baseline", baseline, d, math.nan, math.nan, m, 0))
    return out


def significant_pairs(col: Column) -> dict[tuple[str, str], PairVerdict]:
    """All pairs of testable methods, two-sided, Bonferroni over the pairs: ``(a, b)`` -> the verdict of
    ``a − b`` (each pair once, in column order); a pair is significant iff its interval excludes 0."""
    if col.pairs is not None:
        return col.pairs
    methods = [m for m in col.cells if col.testable(m)]
    pairs = [(a, b) for i, a in enumerate(methods) for b in methods[i + 1 :]]
    out: dict[tuple[str, str], PairVerdict] = {}
    for a, b in pairs:
        d = col.difference(a, b)
        if not d.se > 0:
            continue
        crit = t_quantile(1 - col.alpha / (2 * len(pairs)), d.df)
        p_adj = min(1.0, len(pairs) * d.p_two_sided())
        significant = abs(d.diff) > crit * d.se
        out[(a, b)] = PairVerdict(a, "pair", b, d, crit, p_adj, len(pairs), int(np.sign(d.diff)) if significant else 0)
    col.pairs = out
    return out


def _oriented(v: PairVerdict) -> PairVerdict:
    """The same verdict read the other way round (``b − a``)."""
    d = v.difference
    flipped = Difference(d.b, d.a, -d.diff, d.se, d.df, d.paired)
    return PairVerdict(v.other, v.versus, v.method, flipped, v.crit, v.p_adj, v.family, -v.direction)


def versus_best(col: Column) -> list[PairVerdict]:
    """Every testable method against the best: marked (direction −1) when some method is significantly better
    in the all-pairs comparison (:func:`significant_pairs`): then it cannot be the best, whatever the truth of
    the others, and the family-wise error over all such claims is at most ``alpha``. The shown comparison is
    with the column's best cell (:meth:`Column.best`), or, for a marked method, with the method whose interval
    lies furthest above it (the mark and the shown interval always agree)."""
    best = col.best()
    if best is None or not col.testable(best):
        return []
    pairs = significant_pairs(col)
    by_method: dict[str, list[PairVerdict]] = {}
    for v in pairs.values():
        by_method.setdefault(v.method, []).append(v)
        by_method.setdefault(v.other, []).append(_oriented(v))
    out = []
    for method in col.cells:
        if method == best or not col.testable(method):
            continue
        mine = by_method.get(method, [])
        below = [v for v in mine if v.direction < 0]
        if below:
            shown = max(below, key=lambda v: -v.high)
        else:
            shown = next((v for v in mine if v.other == best), None)  # type: ignore[assignment]
            if shown is None:
                continue
        out.append(
            PairVerdict(
                method,
                "best",
                shown.other,
                shown.difference,
                shown.crit,
                shown.p_adj,
                shown.family,
                min(0, shown.direction),
            )
        )
    return out


@dataclass(frozen=True)
class RankInterval:
    method: str
    rank: float  # rank of the mean (1 = best; ties averaged)
    low: int
    high: int


def rank_intervals(col: Column) -> dict[str, RankInterval]:
    """Simultaneous rank intervals from the all-pairs comparison (:func:`significant_pairs`, Bonferroni):
    ``[1 + #significantly better, k − #significantly worse]``; a cell that cannot be tested (one seed) gets
    ``[1, k]``. Consistent with :func:`versus_best`: a method is marked below the best iff its interval
    excludes rank 1."""
    methods = [m for m in col.cells if col.cells[m].mean == col.cells[m].mean]
    k = len(methods)
    better = dict.fromkeys(methods, 0)
    worse = dict.fromkeys(methods, 0)
    for v in significant_pairs(col).values():
        if v.direction:
            hi, lo = (v.method, v.other) if v.direction > 0 else (v.other, v.method)
            better[lo] += 1
            worse[hi] += 1
    means = np.round([col.cells[m].mean for m in methods], 9)
    ranks = sps.rankdata(-means, method="average") if k else []
    return {m: RankInterval(m, float(r), 1 + better[m], k - worse[m]) for m, r in zip(methods, ranks)}


# -- over a results frame -------------------------------------------------------------------
def columns(frame: pd.DataFrame, metric: str, alpha: float = ALPHA) -> dict[tuple, Column]:
    """The fitted :class:`Column` of every (dataset, backbone, protocol) of ``frame`` for ``metric``."""
    out = {}
    frame = frame[frame[metric].notna()]
    has_groups = "stage1_key" in frame.columns
    for key, part in frame.groupby(COLUMN_KEYS, sort=False):
        values: dict[str, dict[int, float]] = {}
        groups: dict[str, str] = {}
        for method, g in part.groupby("method", sort=False):
            values[method] = {int(s): float(v) for s, v in zip(g["seed"], g[metric])}
            keys = set(g["stage1_key"]) if has_groups else set()
            groups[method] = next(iter(keys)) if len(keys) == 1 else None  # type: ignore[assignment]
        out[tuple(key)] = Column(values, groups, alpha)
    return out


VERDICT_COLUMNS = COLUMN_KEYS + [
    "method", "metric", "versus", "other", "mean", "other_mean", "diff", "se", "df", "t", "paired",
    "crit", "low", "high", "p", "p_adj", "family", "significant", "direction",
]  # fmt: skip


def compare_methods(
    frame: pd.DataFrame, metric: str = "mcr_all", baseline: str = BASELINE, alpha: float = ALPHA
) -> pd.DataFrame:
    """One row per (column, method, versus ∈ {baseline, best}) with the difference, its interval
    ``[low, high]`` (vs CE: FCR-adjusted; vs best: simultaneous), the adjusted p-value and the verdict (see
    the module docstring)."""
    rows = []
    for key, col in columns(frame, metric, alpha).items():
        for v in versus_baseline(col, baseline) + versus_best(col):
            d = v.difference
            rows.append(
                {
                    **dict(zip(COLUMN_KEYS, key)),
                    "method": v.method,
                    "metric": metric,
                    "versus": v.versus,
                    "other": v.other,
                    "mean": col.cells[v.method].mean,
                    "other_mean": col.cells[v.other].mean,
                    "diff": d.diff,
                    "se": d.se,
                    "df": d.df,
                    "t": d.t,
                    "paired": d.paired,
                    "crit": v.crit,
                    "low": v.low,
                    "high": v.high,
                    "p": d.p_two_sided(),
                    "p_adj": v.p_adj,
                    "family": v.family,
                    "significant": v.direction != 0,
                    "direction": v.direction,
                }
            )
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


CELL_COLUMNS = COLUMN_KEYS + [
    "method", "metric", "mean", "n", "sd", "sd_moderated", "df", "own_variance", "low", "high",
    "rank", "rank_low", "rank_high", "prior_df", "prior_sd", "pair_prior_df",
]  # fmt: skip


def cell_intervals(frame: pd.DataFrame, metric: str = "mcr_all", alpha: float = ALPHA) -> pd.DataFrame:
    """Per cell: mean, sample and moderated seed SD, the 95 % interval of the expected score over seeds
    on this test set, and the simultaneous rank interval; with the column's prior (d0, s0)."""
    rows = []
    for key, col in columns(frame, metric, alpha).items():
        ranks = rank_intervals(col)
        for m, c in col.cells.items():
            r = ranks.get(m)
            rows.append(
                {
                    **dict(zip(COLUMN_KEYS, key)),
                    "method": m,
                    "metric": metric,
                    "mean": c.mean,
                    "n": c.n,
                    "sd": math.sqrt(c.s2) if c.s2 == c.s2 else math.nan,
                    "sd_moderated": math.sqrt(c.variance.value) if c.variance.value == c.variance.value else math.nan,
                    "df": c.variance.df,
                    "own_variance": c.variance.own,
                    "low": c.low,
                    "high": c.high,
                    "rank": r.rank if r else math.nan,
                    "rank_low": r.low if r else math.nan,
                    "rank_high": r.high if r else math.nan,
                    "prior_df": col.prior.df,
                    "prior_sd": math.sqrt(col.prior.scale) if col.prior.moderates else math.nan,
                    "pair_prior_df": col.pair_prior.df,
                }
            )
    return pd.DataFrame(rows, columns=CELL_COLUMNS)
