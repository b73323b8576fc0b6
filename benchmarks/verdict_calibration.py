"""Do the verdicts keep their promises? Error rate, coverage and power, simulated from a real run.

The generator is fitted to one column of a results directory (by default the largest: the default grid on
``bloodcell-lt``): every method's mean over seeds, its seed-to-seed SD, its stage-1 group, and the correlation of
runs that share a stage-1 checkpoint (pooled over the column's pairs: ``rho = 1 − Σ var(a−b) / Σ (var a + var b)``).
Each simulated benchmark draws, per seed, ``y = mu + sd · (sqrt(rho) z_group,seed + sqrt(1 − rho) e)``.

Three choices of the true seed SDs: ``prior`` (each simulated benchmark draws every method's true variance
from the scaled inverse-chi-square distribution fitted to the column's variances, ``s0^2 d0 / chi2_d0``: the
spread of true variances the data imply, and the model's assumption), ``eb`` (fixed at each method's
empirical-Bayes posterior SD: less spread than that) and ``observed`` (fixed at each method's 3-seed sample
SD: far more unequal than the truth can be, since 3-seed SDs scatter by chance; a stress test of the
borrowing). The estimand is the expected score over
seeds on the fixed test set (``benchmark.analysis.comparisons``), so the test images are not redrawn.

Printed, for the first rule (Welch + Holm against CE, the best cell by mean, the seed-level part of the
two-level bootstrap for a cell's interval), for the moderated, paired differences with Bonferroni against CE
(the rule before Benjamini–Hochberg) and for the current one (``benchmark.analysis.comparisons``):

* A/A: every mean set to CE's; the share of simulated benchmarks with any mark against CE (family-wise
  false-positive rate), and with any "below the best" mark;
* coverage: means as observed; the share of cell intervals that hold the true mean, of vs-CE difference
  intervals that hold the true difference (each), the false-coverage rate of the marked vs-CE intervals
  (Benjamini & Yekutieli 2005: the mean share of marked intervals that miss), and the share of rank intervals
  that hold the true rank (all at once);
* power: every other method's mean set to CE's + delta (2 and 5 pp); the share of methods marked better;
* ``check``: a run of the column and a reference written from another, independent seed set of the same
  truth; the share of cells that fail (false fails), whose band is wider than 5 pp and than the metric's widest
  band (``benchmark.analysis.reproduction.MAX_BANDS``: inconclusive), and that fail when the run is off by that
  widest band;
* re-run: two independent benchmarks of the same truth (means as fitted) with 3, 6 and 10 seeds each; the share
  of verdicts against CE that agree (what ``benchmarks/rerun_agreement.py`` measures on two real runs).

    python benchmarks/verdict_calibration.py --results results [--trials 1000] [--truth prior eb observed]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmark.analysis.comparisons import (
    BASELINE,
    COLUMN_KEYS,
    MIN_SEEDS_FOR_BEST,
    Column,
    fit_variance_prior,
    rank_intervals,
    t_quantile,
    versus_baseline,
    versus_best,
    within_group_pairs,
)
from benchmark.analysis.reproduction import MAX_BANDS, RefCell, allowed_band
from benchmark.analysis.stats import holm, welch_test
from benchmark.results.reader import results_frame
from benchmark.results.store import iter_result_files, read_result


class Generator:
    """The fitted structure of one column (see the module docstring)."""

    def __init__(self, col: pd.DataFrame, metric: str, truth: str):
        self.methods = list(dict.fromkeys(col["method"]))
        self.metric = metric.removeprefix("mcr_")  # check's short name: its widest band is per metric
        self.groups = {m: g["stage1_key"].iloc[0] for m, g in col.groupby("method", sort=False)}
        fitted = Column(
            {m: {int(s): float(v) for s, v in zip(g["seed"], g[metric])} for m, g in col.groupby("method", sort=False)},
            self.groups,
            max_prior_df=math.inf,  # the truth is the fit as it is; the rules under test cap d0 (MAX_PRIOR_DF)
        )
        self.fitted = fitted
        self.mean = np.array([fitted.cells[m].mean for m in self.methods])
        self.prior = fitted.prior if truth == "prior" and fitted.prior.moderates else None
        if truth in ("eb", "prior"):
            sd = [math.sqrt(fitted.cells[m].variance.value) for m in self.methods]
        else:
            sd = [math.sqrt(fitted.cells[m].s2) if fitted.cells[m].n > 1 else math.nan for m in self.methods]
        sd_arr = np.array(sd, dtype=float)
        self.sd = np.where(np.isfinite(sd_arr), np.maximum(sd_arr, 0.05), np.nanmedian(sd_arr))
        self.rho = shared_correlation(fitted)
        group_ids = {g: i for i, g in enumerate(dict.fromkeys(self.groups.values()))}
        self.group_of = np.array([group_ids[self.groups[m]] for m in self.methods])
        sizes = np.bincount(self.group_of)
        self.shared = sizes[self.group_of] > 1
        self.n_seeds = 3

    def true_sd(self, rng: np.random.Generator) -> np.ndarray:
        """The methods' true seed SDs in one simulated world: drawn from the fitted prior, or fixed."""
        if self.prior is None:
            return self.sd
        return np.sqrt(self.prior.scale * self.prior.df / rng.chisquare(self.prior.df, size=len(self.methods)))

    def draw(
        self, rng: np.random.Generator, mean: np.ndarray, sd: np.ndarray | None = None
    ) -> dict[str, dict[int, float]]:
        """One benchmark; ``sd``: the world's true SDs (two runs of one world share them), else a new world."""
        k, n = len(self.methods), self.n_seeds
        sd = self.true_sd(rng) if sd is None else sd
        z = rng.standard_normal((self.group_of.max() + 1, n))[self.group_of]  # (k, n): one per group and seed
        e = rng.standard_normal((k, n))
        w = np.where(self.shared, math.sqrt(self.rho), 0.0)[:, None]
        y = mean[:, None] + sd[:, None] * (w * z + np.sqrt(1 - w**2) * e)
        return {m: dict(enumerate(y[i])) for i, m in enumerate(self.methods)}


def shared_correlation(col: Column) -> float:
    """Pooled correlation of runs that share a stage-1 checkpoint (clipped to [0, 0.99])."""
    num = den = 0.0
    for xa, xb in within_group_pairs(col):
        num += float((xa - xb).var(ddof=1))
        den += float(xa.var(ddof=1) + xb.var(ddof=1))
    return float(np.clip(1 - num / den, 0.0, 0.99)) if den > 0 else 0.0


# -- the previous rule ---------------------------------------------------------------------------
def old_vs_ce(values: dict[str, dict[int, float]]) -> dict[str, int]:
    """Welch + Holm against CE (seeds unpaired), as the site marked it before."""
    ce = list(values[BASELINE].values())
    others = [m for m in values if m != BASELINE]
    tests = [welch_test(list(values[m].values()), ce) for m in others]
    adjusted = holm([t.p for t in tests])
    return {
        m: int(np.sign(np.mean(list(values[m].values())) - np.mean(ce))) if p < 0.05 else 0
        for m, p in zip(others, adjusted)
    }


def bonferroni_vs_ce(col: Column) -> dict[str, int]:
    """The rule before Benjamini–Hochberg: the same moderated, paired differences, Bonferroni over the family."""
    out = {}
    verdicts = versus_baseline(col)
    for v in verdicts:
        d = v.difference
        crit = t_quantile(1 - col.alpha / (2 * v.family), d.df) if d.se > 0 else math.inf
        out[v.method] = int(np.sign(d.diff)) if abs(d.diff) > crit * d.se else 0
    return out


def new_vs_ce(col: Column) -> dict[str, int]:
    return {v.method: v.direction for v in versus_baseline(col)}


def old_vs_best(values: dict[str, dict[int, float]]) -> dict[str, int]:
    means = {m: float(np.mean(list(v.values()))) for m, v in values.items()}
    best = max(means, key=means.__getitem__)
    others = [m for m in values if m != best]
    tests = [welch_test(list(values[m].values()), list(values[best].values())) for m in others]
    return {m: -1 if p < 0.05 else 0 for m, p in zip(others, holm([t.p for t in tests]))}


def old_interval(values: list[float], rng: np.random.Generator, resamples: int = 1000) -> tuple[float, float]:
    """The seed level of the previous two-level bootstrap (percentile interval of resampled seed means)."""
    x = np.asarray(values)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(lo), float(hi)


# -- scenarios --------------------------------------------------------------------------------------
def a_a(gen: Generator, trials: int, rng: np.random.Generator) -> dict[str, float]:
    same = np.full_like(gen.mean, gen.mean[gen.methods.index(BASELINE)])
    counts = dict.fromkeys(("old_ce", "bonf_ce", "new_ce", "old_best", "new_best"), 0)
    for _ in range(trials):
        values = gen.draw(rng, same)
        col = Column(values, gen.groups)
        counts["old_ce"] += any(old_vs_ce(values).values())
        counts["bonf_ce"] += any(bonferroni_vs_ce(col).values())
        counts["new_ce"] += any(new_vs_ce(col).values())
        counts["old_best"] += any(old_vs_best(values).values())
        counts["new_best"] += any(v.direction for v in versus_best(col))
    return {k: v / trials for k, v in counts.items()}


def coverage(gen: Generator, trials: int, rng: np.random.Generator) -> dict[str, float]:
    truth = dict(zip(gen.methods, gen.mean))
    true_rank = dict(zip(gen.methods, pd.Series(-gen.mean).rank(method="average").to_numpy()))
    hits = dict.fromkeys(("old_cell", "new_cell", "new_diff", "new_fcr", "new_rank_all"), 0.0)
    cells = diffs = 0
    rank_trials = max(1, trials // 4)  # all pairs per trial: the slow part
    for t in range(trials):
        values = gen.draw(rng, gen.mean)
        col = Column(values, gen.groups)
        for m, c in col.cells.items():
            hits["new_cell"] += c.low <= truth[m] <= c.high
            lo, hi = old_interval(list(values[m].values()), rng)
            hits["old_cell"] += lo <= truth[m] <= hi
            cells += 1
        verdicts = versus_baseline(col)
        inside = [v.low <= truth[v.method] - truth[BASELINE] <= v.high for v in verdicts]
        hits["new_diff"] += sum(inside)
        marked = [ok for ok, v in zip(inside, verdicts) if v.direction]
        hits["new_fcr"] += (len(marked) - sum(marked)) / max(1, len(marked))  # Benjamini & Yekutieli's FCR
        diffs += len(inside)
        if t < rank_trials:
            hits["new_rank_all"] += all(r.low <= true_rank[m] <= r.high for m, r in rank_intervals(col).items())
    return {
        "old_cell": hits["old_cell"] / cells,
        "new_cell": hits["new_cell"] / cells,
        "new_diff": hits["new_diff"] / diffs,
        "new_fcr": hits["new_fcr"] / trials,
        "new_rank_all": hits["new_rank_all"] / rank_trials,
    }


def power(gen: Generator, delta: float, trials: int, rng: np.random.Generator) -> dict[str, float]:
    shifted = np.full_like(gen.mean, gen.mean[gen.methods.index(BASELINE)] + delta)
    shifted[gen.methods.index(BASELINE)] -= delta
    hits = dict.fromkeys(("old", "bonf", "new"), 0)
    for _ in range(trials):
        values = gen.draw(rng, shifted)
        col = Column(values, gen.groups)
        for rule, verdicts in (("old", old_vs_ce(values)), ("bonf", bonferroni_vs_ce(col)), ("new", new_vs_ce(col))):
            hits[rule] += sum(d > 0 for d in verdicts.values())
    k = len(gen.methods) - 1
    return {rule: n / (trials * k) for rule, n in hits.items()}


def rerun_agreement(gen: Generator, trials: int, rng: np.random.Generator, seeds: int = 3) -> dict[str, float]:
    """Two independent benchmarks of the same truth (means as fitted), ``seeds`` seeds each: the share of
    methods whose verdict against CE (better / no difference / worse) is the same in both."""
    same = {"old": 0, "bonf": 0, "new": 0}
    kept, gen.n_seeds = gen.n_seeds, seeds
    try:
        for _ in range(trials):
            sd = gen.true_sd(rng)  # one world, run twice
            a, b = gen.draw(rng, gen.mean, sd), gen.draw(rng, gen.mean, sd)
            ca, cb = Column(a, gen.groups), Column(b, gen.groups)
            for rule, va, vb in (
                ("old", old_vs_ce(a), old_vs_ce(b)),
                ("bonf", bonferroni_vs_ce(ca), bonferroni_vs_ce(cb)),
                ("new", new_vs_ce(ca), new_vs_ce(cb)),
            ):
                same[rule] += sum(va[m] == vb[m] for m in va)
    finally:
        gen.n_seeds = kept
    k = len(gen.methods) - 1
    return {rule: n / (trials * k) for rule, n in same.items()}


def check_rates(gen: Generator, trials: int, rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    """An exact reproduction (same truth, other seeds) against a reference written from one seed set: the share
    of cells that fail, that are inconclusive at 5 pp and at the metric's widest band (``MAX_BANDS``), and that
    fail when the run is off by that widest band (the check's power at the discrepancy it promises to catch).
    Each share comes with its Monte Carlo 95 % half-width, from the spread of the per-trial shares (the cells of
    one simulated benchmark share a prior, so they are not independent)."""
    limit = MAX_BANDS[gen.metric]
    keys = [f"{rule}_{what}" for rule in ("old", "new") for what in ("fail", "wide5", "wide", "caught")]
    shares: dict[str, list[float]] = {key: [] for key in keys}
    for _ in range(trials):
        counts = dict.fromkeys(keys, 0)
        sd = gen.true_sd(rng)  # an exact reproduction: the same methods, so the same true variances
        run, ref = gen.draw(rng, gen.mean, sd), gen.draw(rng, gen.mean, sd)
        # as check's column_priors: one prior fitted on both sides' variances
        variances = [float(np.var(list(side[m].values()), ddof=1)) for side in (run, ref) for m in gen.methods]
        prior = fit_variance_prior(variances, [gen.n_seeds - 1] * len(variances))
        for m in gen.methods:
            x, r = np.array(list(run[m].values())), np.array(list(ref[m].values()))
            cell = RefCell("sim", m, "d", gen.metric, float(r.mean()), float(r.std(ddof=1)), "b", "p", r.size)
            for rule, band in (
                ("old", allowed_band(list(x), cell, tolerance=0.0)),
                ("new", allowed_band(list(x), cell, tolerance=0.0, prior=prior, same_process=True)),
            ):
                counts[f"{rule}_fail"] += abs(np.mean(x) - cell.value) > band.allowed + 1e-9
                counts[f"{rule}_wide5"] += band.allowed > 5.0
                counts[f"{rule}_wide"] += band.allowed > limit
                # the run shifted by the widest band: the spread (so the band) is unchanged
                counts[f"{rule}_caught"] += abs(np.mean(x) + limit - cell.value) > band.allowed + 1e-9
        for key in keys:
            shares[key].append(counts[key] / len(gen.methods))
    return {
        key: (float(np.mean(x)), 1.96 * float(np.std(x, ddof=1)) / math.sqrt(len(x)) if len(x) > 1 else math.nan)
        for key, x in shares.items()
    }


def pct_mc(share: tuple[float, float]) -> str:
    """A simulated share with its Monte Carlo 95 % half-width."""
    return f"{100 * share[0]:.1f} ± {100 * share[1]:.1f} %"


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def report(gen: Generator, metric: str, truth: str, trials: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    aa = a_a(gen, trials, rng)
    cov = coverage(gen, trials, rng)
    p2, p5 = power(gen, 2.0, trials, rng), power(gen, 5.0, trials, rng)
    # check is cheap to simulate: 5 × the trials, from a stream of its own (so the rows above keep their draws)
    chk = check_rates(gen, 5 * trials, np.random.default_rng([seed, 1]))
    agree = {n: rerun_agreement(gen, max(1, trials // 4), rng, n) for n in (3, 6, 10)}
    sd = gen.sd
    print(
        f"\n## {metric}, true seed SDs: {truth} (median {np.median(sd):.2f} pp, range {sd.min():.2f}–{sd.max():.2f}); "
        f"shared-stage-1 correlation {gen.rho:.2f}; {len(gen.methods)} methods, 3 seeds; {trials} trials"
    )
    rows = [
        ("family-wise false positives vs CE (A/A)", pct(aa["old_ce"]), pct(aa["bonf_ce"]), pct(aa["new_ce"])),
        ("any false 'below the best' (A/A)", pct(aa["old_best"]), "–", pct(aa["new_best"])),
        ("coverage: cell interval (95 %)", pct(cov["old_cell"]), "–", pct(cov["new_cell"])),
        ("coverage: each vs-CE difference interval", "–", "–", pct(cov["new_diff"])),
        ("false coverage among marked vs-CE intervals (FCR)", "–", "–", pct(cov["new_fcr"])),
        ("coverage: all rank intervals at once", "–", "–", pct(cov["new_rank_all"])),
        ("power vs CE at +2 pp", pct(p2["old"]), pct(p2["bonf"]), pct(p2["new"])),
        ("power vs CE at +5 pp", pct(p5["old"]), pct(p5["bonf"]), pct(p5["new"])),
        ("check: exact reproduction fails (per cell)", pct_mc(chk["old_fail"]), "–", pct_mc(chk["new_fail"])),
        # (the metric's widest band is 5 pp: the inconclusive row below says it)
        *(
            [("check: band wider than 5 pp", pct_mc(chk["old_wide5"]), "–", pct_mc(chk["new_wide5"]))]
            if MAX_BANDS[gen.metric] != 5.0
            else []
        ),
        (
            f"check: inconclusive (band wider than {MAX_BANDS[gen.metric]:g} pp, the {gen.metric} MCR limit)",
            pct_mc(chk["old_wide"]),
            "–",
            pct_mc(chk["new_wide"]),
        ),
        (
            f"check: fails a run off by {MAX_BANDS[gen.metric]:g} pp (power)",
            pct_mc(chk["old_caught"]),
            "–",
            pct_mc(chk["new_caught"]),
        ),
        *(
            (f"re-run agreement vs CE, means as fitted, {n} seeds", pct(a["old"]), pct(a["bonf"]), pct(a["new"]))
            for n, a in agree.items()
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"| {'quantity'.ljust(width)} | old (Welch + Holm) | moderated, Bonferroni | new (moderated, BH) |")
    print(f"| {'-' * width} | ---: | ---: | ---: |")
    for name, old, bonf, new in rows:
        print(f"| {name.ljust(width)} | {old} | {bonf} | {new} |")


def load_column(results: Path, min_seeds: int = MIN_SEEDS_FOR_BEST) -> pd.DataFrame:
    frame = results_frame([r for r in map(read_result, iter_result_files(results)) if r.status == "ok"])
    sizes = frame.groupby(COLUMN_KEYS).size()
    if sizes.empty:
        raise SystemExit(f"no results in {results}")
    key = sizes.idxmax()
    col = frame.set_index(COLUMN_KEYS).loc[key].reset_index()
    seeds = col.groupby("method")["seed"].nunique()
    keep = seeds[seeds >= min_seeds].index
    print(f"column {dict(zip(COLUMN_KEYS, key))}: {len(keep)} methods with >= {min_seeds} seeds")
    return col[col["method"].isin(keep)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, default=Path("results"))
    p.add_argument("--trials", type=int, default=1000)
    p.add_argument("--metric", nargs="+", default=["mcr_all", "mcr_minor"])
    p.add_argument("--truth", nargs="+", default=["prior", "eb", "observed"], choices=["prior", "eb", "observed"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-seeds", type=int, default=MIN_SEEDS_FOR_BEST, help="cells with fewer seeds are left out")
    args = p.parse_args()
    start = time.perf_counter()
    col = load_column(args.results, args.min_seeds)
    for metric in args.metric:
        for truth in args.truth:
            report(Generator(col, metric, truth), metric, truth, args.trials, args.seed)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
