"""Statistics over a results directory: per-cell summaries, significance tests, bootstrap CIs, ranks.

Everything here is a pure function of result files (or of the tidy frame
:func:`benchmark.results.results_frame` makes of them).

* **Cells.** A *cell* is (dataset, backbone, protocol, method); its runs differ only in the seed.
  :func:`cell_stats` gives the mean, the sample standard deviation (``ddof=1``) and the number
  of seeds of every MCR metric.
* **Columns.** A *column* is (dataset, backbone, protocol) and one metric: the methods that
  compete in one column of the paper's Table 2. :func:`compare_methods` tests every method
  against CE and against the column's best method with Welch's t-test over seeds (unequal
  variances), and Holm-adjusts the p-values of each family (all "vs CE" tests of a column,
  all "vs best" tests of a column) with :func:`holm`.
* **Test images and seeds.** :func:`bootstrap_mcr_ci` is a 95 % two-level percentile-bootstrap
  interval of the mean over seeds of mean class recall: test images resampled within each class
  (class sizes stay fixed, as MCR needs every class), one draw shared by all seeds (they share one
  test set), then the seeds resampled; vectorised and seeded, so it is deterministic.
* **Across datasets.** :func:`average_ranks` (rank 1 = best, ties get the average rank),
  :func:`friedman` (``scipy.stats.friedmanchisquare``; it needs k >= 3 methods and N >= 2
  blocks: with one dataset every method has a fixed rank and the test is undefined) and the
  Nemenyi critical difference :func:`critical_difference`
  ``CD = q_alpha * sqrt(k (k + 1) / (6 N))`` with ``q_alpha`` the studentized-range quantile
  divided by sqrt(2) (Demšar 2006). :func:`cd_diagram_svg` draws it (hand-written SVG).
"""
from __future__ import annotations

import html
import math
import warnings
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

METRICS: dict[str, str] = {"all": "mcr_all", "major": "mcr_major", "medium": "mcr_medium", "minor": "mcr_minor"}
CELL_KEYS = ["dataset", "backbone", "protocol", "method"]
COLUMN_KEYS = ["dataset", "backbone", "protocol"]
BASELINE = "CE"


# -- per-cell summaries --------------------------------------------------------------
def cell_stats(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample std (ddof=1; NaN for one seed) and seed count of every metric, per cell.

    Columns: dataset, backbone, protocol, method, n, seeds (sorted tuple), and for each metric
    ``all`` / ``major`` / ``medium`` / ``minor``: ``<m>_mean`` and ``<m>_std``.
    """
    rows = []
    for key, group in frame.groupby(CELL_KEYS, sort=False):
        row = dict(zip(CELL_KEYS, key))
        row["n"] = int(group["seed"].nunique())
        row["seeds"] = tuple(sorted(int(s) for s in group["seed"].unique()))
        for short, col in METRICS.items():
            values = pd.to_numeric(group[col], errors="coerce").dropna().to_numpy(float)
            row[f"{short}_mean"] = float(values.mean()) if values.size else math.nan
            row[f"{short}_std"] = float(values.std(ddof=1)) if values.size > 1 else math.nan
        rows.append(row)
    columns = CELL_KEYS + ["n", "seeds"] + [f"{m}_{s}" for m in METRICS for s in ("mean", "std")]
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
    denom = vx ** 2 / (x.size - 1) + vy ** 2 / (y.size - 1)
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


def compare_methods(frame: pd.DataFrame, metric: str = "mcr_all", baseline: str = BASELINE,
                    alpha: float = 0.05) -> pd.DataFrame:
    """Every method against ``baseline`` and against the column's best, per column (Welch + Holm).

    One row per (column, method, versus) with ``versus`` in {"baseline", "best"}: the other
    method, both means, the difference (method − other), t, Welch df, raw p, Holm-adjusted p
    (within the family of that column and ``versus``), ``significant`` (p_holm < alpha) and
    ``direction`` (+1 significantly better, −1 significantly worse, 0 not significant).
    """
    out = []
    frame = frame[frame[metric].notna()]
    for key, col in frame.groupby(COLUMN_KEYS, sort=False):
        values = {m: g[metric].to_numpy(float) for m, g in col.groupby("method", sort=False)}
        means = {m: float(v.mean()) for m, v in values.items()}
        best = max(means, key=lambda m: (means[m], -list(means).index(m)))
        for versus, other in (("baseline", baseline), ("best", best)):
            if other not in values:
                continue
            family = []
            for m, v in values.items():
                if m == other:
                    continue
                w = welch_test(v, values[other])
                family.append({**dict(zip(COLUMN_KEYS, key)), "method": m, "metric": metric, "versus": versus,
                               "other": other, "mean": means[m], "other_mean": means[other],
                               "diff": means[m] - means[other], "t": w.t, "df": w.df, "p": w.p})
            for row, padj in zip(family, holm(r["p"] for r in family)):
                row["p_holm"] = float(padj)
                row["significant"] = bool(padj < alpha) if not np.isnan(padj) else False
                row["direction"] = int(np.sign(row["diff"])) if row["significant"] else 0
            out += family
    columns = COLUMN_KEYS + ["method", "metric", "versus", "other", "mean", "other_mean", "diff", "t", "df", "p",
                             "p_holm", "significant", "direction"]
    return pd.DataFrame(out, columns=columns)


# -- bootstrap over test images --------------------------------------------------------
@dataclass(frozen=True)
class BootstrapCI:
    point: float
    low: float
    high: float
    n_resamples: int
    level: float
    #: What the interval covers, in words (shown beside it).
    covers: str = "the mean over seeds, resampling seeds and test images (two-level bootstrap)"


def bootstrap_mcr_ci(predictions: Sequence[tuple[np.ndarray, np.ndarray]] | tuple[np.ndarray, np.ndarray],
                     classes: Sequence[int] | None = None, n_resamples: int = 1000, seed: int = 0,
                     level: float = 0.95) -> BootstrapCI:
    """Two-level percentile-bootstrap CI of the mean over seeds of mean class recall (%).

    ``predictions`` is one ``(y_true, y_pred)`` pair or a list of them, one per seed, on the same
    test images (the same ``y_true``). Each resample draws the test images once, within each class
    and with replacement, and applies that draw to every seed (the seeds share one test set, so
    resampling them independently would understate the test-set uncertainty), then draws the
    seeds with replacement and averages their MCRs. The interval therefore covers both sources of
    variation: which test images a study happened to have, and which training seeds. With one seed
    it is the test-image interval alone. ``classes`` restricts MCR to a group (e.g. the minor
    classes); classes with no test image are ignored, as in :func:`benchmark.metrics.mean_class_recall`.
    """
    if isinstance(predictions, tuple) and len(predictions) == 2 and np.ndim(predictions[0]) == 1:
        predictions = [predictions]  # type: ignore[list-item]
    pairs = [(np.asarray(t, dtype=np.int64), np.asarray(p, dtype=np.int64)) for t, p in predictions]  # type: ignore[union-attr]
    y_true = pairs[0][0]
    if any(len(t) != len(y_true) or not np.array_equal(t, y_true) for t, _ in pairs):
        raise ValueError("bootstrap: the runs of one cell do not share one test set (different y_true)")
    wanted = np.unique(y_true) if classes is None else np.intersect1d(np.asarray(classes), np.unique(y_true))
    covers = ("the mean over seeds, resampling seeds and test images (two-level bootstrap)" if len(pairs) > 1
              else "one run, resampling test images")
    if wanted.size == 0:
        return BootstrapCI(math.nan, math.nan, math.nan, n_resamples, level, covers)
    correct = np.stack([p == y_true for _, p in pairs]).astype(np.float64)  # (S, N)
    rng = np.random.default_rng(seed)
    recall = np.empty((n_resamples, len(pairs), wanted.size))  # (B, S, C)
    for j, c in enumerate(wanted):
        members = np.flatnonzero(y_true == c)
        # how often each image of class c is drawn in each resample: one multinomial per resample
        counts = rng.multinomial(len(members), np.full(len(members), 1.0 / len(members)), size=n_resamples)
        recall[:, :, j] = counts @ correct[:, members].T / len(members)
    mcr = recall.mean(axis=2) * 100.0  # (B, S)
    chosen = rng.integers(0, len(pairs), size=(n_resamples, len(pairs)))
    dist = np.take_along_axis(mcr, chosen, axis=1).mean(axis=1)
    point = float(np.mean([[correct[s, y_true == c].mean() for c in wanted] for s in range(len(pairs))]) * 100.0)
    lo, hi = np.quantile(dist, [(1 - level) / 2, (1 + level) / 2])
    return BootstrapCI(point, float(lo), float(hi), n_resamples, level, covers)


# -- ranks, Friedman, Nemenyi ----------------------------------------------------------
def average_ranks(scores: pd.DataFrame, higher_is_better: bool = True) -> pd.Series:
    """Average rank of each method (column) over blocks (rows); rank 1 = best, ties averaged."""
    values = scores.to_numpy(float)
    ranks = np.vstack([sps.rankdata(-row if higher_is_better else row, method="average") for row in values])
    return pd.Series(ranks.mean(axis=0), index=scores.columns, name="average_rank")


def friedman(scores: pd.DataFrame) -> tuple[float, float] | None:
    """Friedman chi-square statistic and p-value, or None when undefined (k < 3 methods or N < 2 blocks)."""
    n, k = scores.shape
    if k < 3 or n < 2:
        return None
    res = sps.friedmanchisquare(*(scores[c].to_numpy(float) for c in scores.columns))
    return float(res.statistic), float(res.pvalue)


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
    import scikit_posthocs as sp

    return sp.posthoc_nemenyi_friedman(scores.to_numpy(float)).set_axis(scores.columns, axis=0).set_axis(
        scores.columns, axis=1)


@dataclass
class RankSummary:
    """Average ranks of methods over blocks (datasets, or seeds of one dataset) and the tests on them."""

    blocks: str
    scores: pd.DataFrame
    ranks: pd.Series
    dropped: list[str] = field(default_factory=list)
    friedman: tuple[float, float] | None = None
    cd: float | None = None
    pairwise: pd.DataFrame | None = None

    @property
    def k(self) -> int:
        return self.scores.shape[1]

    @property
    def n(self) -> int:
        return self.scores.shape[0]


def rank_summary(scores: pd.DataFrame, blocks: str = "datasets", alpha: float = 0.05) -> RankSummary:
    """Ranks, Friedman test, Nemenyi CD and pairwise p-values of a blocks × methods score table.

    Methods missing in some block are dropped (the tests need a complete block design).
    """
    complete = scores.dropna(axis=1, how="any")
    dropped = [c for c in scores.columns if c not in complete.columns]
    if complete.empty or complete.shape[1] == 0:
        return RankSummary(blocks, complete, pd.Series(dtype=float), dropped)
    ranks = average_ranks(complete).sort_values(kind="stable")
    k, n = complete.shape[1], complete.shape[0]
    return RankSummary(blocks, complete, ranks, dropped, friedman(complete),
                       critical_difference(k, n, alpha) if k >= 2 and n >= 1 else None,
                       nemenyi_pairwise(complete))


def scores_across_datasets(frame: pd.DataFrame, metric: str = "mcr_all") -> pd.DataFrame:
    """datasets × methods table of mean ``metric`` over seeds (one backbone/protocol slice of the frame)."""
    return frame.pivot_table(index="dataset", columns="method", values=metric, aggfunc="mean", sort=False)


def scores_across_seeds(frame: pd.DataFrame, metric: str = "mcr_all") -> pd.DataFrame:
    """seeds × methods table of ``metric`` (one dataset/backbone/protocol slice; seeds pair the runs)."""
    return frame.pivot_table(index="seed", columns="method", values=metric, aggfunc="mean", sort=True)


# -- critical-difference diagram (hand-written SVG) -------------------------------------
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
            out.append([name for name, _ in items[i:j + 1]])
            last_end = j
    return out


def cd_diagram_svg(ranks: Mapping[str, float], cd: float | None, title: str = "", width: int = 640) -> str:
    """A Demšar critical-difference diagram: the rank axis (1 = best, left), each method's average rank,
    the CD interval, and thick bars joining methods that are not significantly different.

    All text is XML-escaped, so method names from submissions are inert.
    """
    esc = lambda s: html.escape(str(s), quote=True)  # noqa: E731
    items = sorted(ranks.items(), key=lambda kv: kv[1])
    k = len(items)
    if k == 0:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="30" role="img">'
                f'<title>{esc(title)}</title><text x="4" y="20" font-size="12">no complete ranking</text></svg>')
    lo, hi = 1.0, float(max(k, 2))
    margin, axis_y, row_h = 170, 60, 18
    width = max(width, 2 * margin + 26 * (k - 1))
    left, right = margin, width - margin

    def x(r: float) -> float:
        return left + (r - lo) / (hi - lo) * (right - left)

    n_left = math.ceil(k / 2)
    bars = cliques(dict(items), cd)
    label_top = axis_y + 24 + 8 * len(bars)
    height = label_top + row_h * max(n_left, k - n_left) + 12
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="cd-diagram" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="12">',
             f"<title>{esc(title or 'critical-difference diagram')}</title>"]
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{right}" y2="{axis_y}" stroke="#222"/>')
    for r in range(1, int(hi) + 1):
        parts.append(f'<line x1="{x(r):.1f}" y1="{axis_y - 5}" x2="{x(r):.1f}" y2="{axis_y}" stroke="#222"/>'
                     f'<text x="{x(r):.1f}" y="{axis_y - 9}" text-anchor="middle">{r}</text>')
    parts.append(f'<text x="{right}" y="{axis_y - 26}" font-size="11" fill="#555" text-anchor="end">'
                 'average rank (1 = best)</text>')
    if cd is not None and math.isfinite(cd):
        beyond = 1.0 + cd > hi
        x1, x2 = x(1.0), x(min(1.0 + cd, hi))
        label = f"CD = {cd:.2f}" + (" (wider than the rank range: no pair differs)" if beyond else "")
        dash = ' stroke-dasharray="6 3"' if beyond else ""
        parts.append(f'<line x1="{x1:.1f}" y1="22" x2="{x2:.1f}" y2="22" stroke="#c0392b" stroke-width="2"{dash}/>'
                     f'<line x1="{x1:.1f}" y1="17" x2="{x1:.1f}" y2="27" stroke="#c0392b"/>'
                     f'<line x1="{x2:.1f}" y1="17" x2="{x2:.1f}" y2="27" stroke="#c0392b"/>'
                     f'<text x="{x1:.1f}" y="12" fill="#c0392b">{esc(label)}</text>')
    for i, (name, r) in enumerate(items):
        on_left = i < n_left
        row = i if on_left else k - 1 - i
        y = label_top + row * row_h
        end = left - 8 if on_left else right + 8
        anchor, tx = ("end", end - 4) if on_left else ("start", end + 4)
        parts.append(f'<polyline points="{x(r):.1f},{axis_y} {x(r):.1f},{y} {end:.1f},{y}" fill="none" stroke="#555"/>'
                     f'<text x="{tx:.1f}" y="{y + 4}" text-anchor="{anchor}">{esc(name)} ({r:.2f})</text>')
    for j, group in enumerate(bars):
        y = axis_y + 14 + 8 * j
        r1, r2 = ranks[group[0]], ranks[group[-1]]
        parts.append(f'<line x1="{x(r1) - 4:.1f}" y1="{y}" x2="{x(r2) + 4:.1f}" y2="{y}" stroke="#111" '
                     f'stroke-width="4" stroke-linecap="round"/>')
    parts.append("</svg>")
    return "".join(parts)
