"""Can a dataset separate methods? Figures from a results directory (a pure function of it).

For each (dataset, backbone, protocol) column: the spread between the best and the worst method
in minor-class MCR (means over seeds), the number of methods whose minor-class and all-class MCR
differ from CE (:mod:`benchmark.analysis.comparisons`: moderated t, paired by seed where runs share a stage-1
checkpoint, Bonferroni within the column: the verdict the leaderboard site marks), and CE's minor-class
MCR against chance (100 / C %). Usage::

    python benchmarks/separation.py --results results
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmark.analysis.comparisons import compare_methods
from benchmark.analysis.stats import COLUMN_KEYS
from benchmark.results.reader import load_results, results_frame


def separation(results_dir: Path, baseline: str = "CE") -> list[str]:
    """The report's lines for every column of ``results_dir``."""
    results = load_results(results_dir)
    frame = results_frame(results)
    classes = {r.spec.dataset: len(r.per_class.class_names) for r in results if r.per_class}
    lines = []
    for key, col in frame.groupby(COLUMN_KEYS, sort=False):
        means = col.groupby("method")["mcr_minor"].mean().sort_values()
        seeds = col.groupby("method")["seed"].nunique()
        lines.append(f"{' / '.join(map(str, key))}: {len(means)} methods, seeds per method {seeds.min()}–{seeds.max()}")
        lines.append(
            f"  minor-class MCR spread: {means.iloc[-1] - means.iloc[0]:.2f} pp "
            f"(best {means.index[-1]} {means.iloc[-1]:.2f}, worst {means.index[0]} {means.iloc[0]:.2f})"
        )
        for metric in ("mcr_minor", "mcr_all"):
            tests = compare_methods(col, metric, baseline)
            tests = tests[tests.versus == "baseline"]
            better, worse = int((tests.direction > 0).sum()), int((tests.direction < 0).sum())
            lines.append(
                f"  {metric}: {better + worse} of {len(tests)} methods differ from {baseline} "
                f"(Benjamini–Hochberg, FCR-adjusted 95 % intervals): {better} better, {worse} worse"
            )
        if baseline in means.index:
            chance = 100.0 / classes.get(key[0], 1)
            lines.append(f"  {baseline} minor-class MCR {means[baseline]:.2f} % vs chance {chance:.1f} %")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--baseline", default="CE")
    args = parser.parse_args()
    print("\n".join(separation(args.results, args.baseline)))


if __name__ == "__main__":
    main()
