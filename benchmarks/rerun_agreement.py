"""Do the verdicts reproduce when the benchmark is re-run? Two results directories of the same grid with
independent seeds (e.g. the default grid with ``--seeds 0 1 2`` and again with ``--seeds 3 4 5``):

* per metric, the share of methods whose verdict against CE (better / no difference / worse) is the same in
  both runs, for the previous rule (Welch + Holm) and the new one (:mod:`benchmark.analysis.comparisons`);
* how many methods "really differ" from CE, judged by the new rule on both runs pooled (6 seeds), and how many
  of those each 3-seed run detects (same direction);
* Kendall's tau between the two runs' means, and the share of methods whose rank in one run lies inside the
  other run's 95 % rank interval;
* ``check`` of the first run against a reference written from the second (``check --write-reference``):
  how many cells pass, fail or are inconclusive (at each metric's widest band,
  ``benchmark.analysis.reproduction.MAX_BANDS``, and at the former 5 pp for every metric).

    python -m benchmark run --all --seeds 0 1 2 --results results-012
    python -m benchmark run --all --seeds 3 4 5 --results results-345
    python benchmarks/rerun_agreement.py results-012 results-345
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from verdict_calibration import bonferroni_vs_ce, old_vs_ce  # the same folder: the previous rules, written once

from benchmark.analysis.comparisons import columns, rank_intervals, versus_baseline
from benchmark.analysis.reproduction import compare, load_reference_csv, reference_csv_from_frame
from benchmark.analysis.stats import COLUMN_KEYS
from benchmark.results.reader import results_frame
from benchmark.results.store import iter_result_files, read_result


def load(path: Path) -> pd.DataFrame:
    return results_frame([r for r in map(read_result, iter_result_files(path)) if r.status == "ok"])


def old_verdicts(col: pd.DataFrame, metric: str) -> dict[str, int]:
    """The previous rule (Welch + Holm against CE), as the simulation applies it."""
    (fitted,) = columns(col, metric).values()
    return old_vs_ce(fitted.values)


def bonferroni_verdicts(col: pd.DataFrame, metric: str) -> dict[str, int]:
    (fitted,) = columns(col, metric).values()
    return bonferroni_vs_ce(fitted)


def new_verdicts(col: pd.DataFrame, metric: str) -> dict[str, int]:
    (fitted,) = columns(col, metric).values()
    return {v.method: v.direction for v in versus_baseline(fitted)}


def agreement(a: dict[str, int], b: dict[str, int]) -> tuple[float, int]:
    common = sorted(set(a) & set(b))
    return (float(np.mean([a[m] == b[m] for m in common])) if common else float("nan")), len(common)


def counts(v: dict[str, int]) -> str:
    values = list(v.values())
    return f"{values.count(1)} better, {values.count(-1)} worse"


def compare_metric(a: pd.DataFrame, b: pd.DataFrame, metric: str) -> None:
    pooled = pd.concat([a, b], ignore_index=True)
    truth = new_verdicts(pooled, metric)
    differ = {m for m, d in truth.items() if d}
    print(f"\n## {metric}: {len(differ)} of {len(truth)} methods differ from CE on the 6 seeds pooled (new rule)")
    print("| rule | verdicts agree | run 1 | run 2 | of those that differ, detected (run 1 / run 2) |")
    print("| --- | ---: | --- | --- | ---: |")
    rules = (
        ("old: Welch + Holm", old_verdicts),
        ("moderated, paired, Bonferroni", bonferroni_verdicts),
        ("new: moderated, paired, Benjamini–Hochberg", new_verdicts),
    )
    for name, rule in rules:
        va, vb = rule(a, metric), rule(b, metric)
        share, n = agreement(va, vb)
        hits = [sum(v.get(m, 0) == truth[m] for m in differ) for v in (va, vb)]
        print(f"| {name} | {100 * share:.0f} % of {n} | {counts(va)} | {counts(vb)} | {hits[0]} / {hits[1]} |")
    (ca,) = columns(a, metric).values()
    (cb,) = columns(b, metric).values()
    common = sorted(set(ca.cells) & set(cb.cells))
    tau = sps.kendalltau([ca.cells[m].mean for m in common], [cb.cells[m].mean for m in common]).statistic
    ra, rb = rank_intervals(ca), rank_intervals(cb)
    inside = np.mean([ra[m].low <= rb[m].rank <= ra[m].high and rb[m].low <= ra[m].rank <= rb[m].high for m in common])
    width = np.mean([ra[m].high - ra[m].low + 1 for m in common])
    print(
        f"Kendall tau of the means: {tau:.2f}; each run's rank inside the other's 95 % rank interval: "
        f"{100 * inside:.0f} % of methods (mean interval width {width:.1f} ranks)"
    )


def check_against(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """``check`` of run 1 against the reference ``check --write-reference`` writes from run 2."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reference.csv"
        path.write_text(reference_csv_from_frame(b), encoding="utf-8")
        reference = load_reference_csv(path, source="run 2")
        results = compare(a, reference, tolerance=1.0)
        uniform = [c for c in compare(a, reference, tolerance=1.0, max_band=5.0) if c.ran]
    ran = [c for c in results if c.ran]
    statuses = pd.Series([c.status for c in ran]).value_counts()
    print(
        f"\n## check of run 1 against a reference written from run 2: {len(ran)} cells — "
        + ", ".join(f"{n} {s}" for s, n in statuses.items())
        + f" (inconclusive {100 * statuses.get('inconclusive', 0) / max(1, len(ran)):.1f} %)"
    )
    for metric in dict.fromkeys(c.ref.metric for c in ran):
        cells = [c for c in ran if c.ref.metric == metric]
        per = pd.Series([c.status for c in cells]).value_counts()
        print(f"- {metric}: {len(cells)} cells — " + ", ".join(f"{n} {s}" for s, n in per.items()))
    wide = sum(c.status == "inconclusive" for c in uniform)
    print(f"with one widest band of 5 pp for every metric (before): {wide} of {len(uniform)} inconclusive")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("first", type=Path)
    p.add_argument("second", type=Path)
    p.add_argument("--metric", nargs="+", default=["mcr_all", "mcr_minor"])
    args = p.parse_args()
    a, b = load(args.first), load(args.second)
    keys = sorted(set(map(tuple, a[COLUMN_KEYS].drop_duplicates().to_numpy())))
    if len(keys) != 1:
        raise SystemExit(f"expected one column (dataset, backbone, protocol) in each directory, got {keys}")
    seeds_a, seeds_b = set(a["seed"]), set(b["seed"])
    if seeds_a & seeds_b:
        raise SystemExit(f"the runs share seeds {sorted(seeds_a & seeds_b)}: they are not independent re-runs")
    print(f"run 1: {args.first} (seeds {sorted(seeds_a)}); run 2: {args.second} (seeds {sorted(seeds_b)})")
    for metric in args.metric:
        compare_metric(a, b, metric)
    check_against(a, b)


if __name__ == "__main__":
    main()
