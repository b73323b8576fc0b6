#!/usr/bin/env python
"""Table 2 on the embedded default set (``bloodcell-lt``): the paper's 21 Table-2 methods, then every other
registered row (Table 3's ablations, the methods the paper cites, the newer long-tailed baselines), ``quick``
protocol, 3 seeds.

A benchmark script, not a test. It runs the grid through :mod:`benchmark.grid` (finished runs in the
results directory are reused, so a second invocation only prints) and prints, per method, the mean
± sample standard deviation over seeds of the All / Major / Minor mean class recall, and the
difference of the Minor MCR to CE's::

    python benchmarks/table2.py --results /tmp/t2 [--dataset digits-lt] [--rows paper]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


#: The rows of the paper's Table 2, in its order (Table 3's ablations and the cited methods excluded).
def paper_table2_rows() -> list[str]:
    """The rows of the paper's Table 2, in its order, from the reference copy of the table (one source)."""
    from benchmark.analysis.reproduction import PAPER_TABLES, REFERENCE_DIR, load_reference_csv

    return list(dict.fromkeys(cell.method for cell in load_reference_csv(REFERENCE_DIR / PAPER_TABLES[2])))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results"), help="results directory (default: results/)")
    parser.add_argument("--dataset", default=None, help="default: the embedded default dataset (bloodcell-lt)")
    parser.add_argument("--protocol", default="quick")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="prepared datasets (default: $MEDLT_CACHE or ~/.cache/medlt-bench)"
    )
    parser.add_argument(
        "--rows",
        choices=["all", "paper"],
        default="all",
        help="all: Table 2's rows, then every other registered row (default); paper: Table 2 only",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def table_rows(names: list[str], by_method: dict[str, list], n_paper: int) -> list[list[str]]:
    """Method, All / Major / Minor as mean ± std over seeds, the Minor difference to CE, seeds."""
    import numpy as np

    def stats(values: list[float]) -> tuple[float, float]:
        arr = np.asarray(values, dtype=float)
        return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else float("nan")

    ce_minor = stats([m.mcr_minor for m in by_method["CE"]])[0] if by_method["CE"] else float("nan")
    rows = []
    for i, name in enumerate(names):
        if i == n_paper:
            rows.append(["-- beyond Table 2 --", "", "", "", "", ""])
        ms = by_method[name]
        if not ms:
            rows.append([name, "–", "–", "–", "–", "0"])
            continue
        cells = []
        for key in ("mcr_all", "mcr_major", "mcr_minor"):
            mean, std = stats([getattr(m, key) for m in ms])
            cells.append(f"{mean:6.2f} ± {std:5.2f}")
        minor = stats([m.mcr_minor for m in ms])[0]
        rows.append([name, *cells, f"{minor - ce_minor:+6.2f}", str(len(ms))])
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    import datasets
    from benchmark import grid
    from benchmark.environment import Environment
    from benchmark.grid import GridSettings
    from benchmark.results.reader import load_results
    from methods import create_method
    from methods.registry import method_entries

    paper = paper_table2_rows()
    names = paper + ([e.name for e in method_entries() if e.name not in paper] if args.rows == "all" else [])
    args.dataset = args.dataset or datasets.DEFAULT_DATASET
    runs = grid.plan([create_method(name) for name in names], [args.dataset], [None], args.seeds, args.protocol)
    settings = GridSettings(
        results_dir=args.results,
        cache_dir=args.cache_dir or Environment.read().cache_dir,
        device=args.device,
        progress=not args.quiet,
    )
    t0 = time.perf_counter()
    counts = grid.run(runs, settings)
    wall = time.perf_counter() - t0

    wanted = {(r.spec.dataset, r.spec.backbone, r.spec.protocol, r.spec.method, r.spec.seed) for r in runs}
    by_method: dict[str, list] = {name: [] for name in names}
    for r in load_results(args.results):
        if (r.spec.dataset, r.spec.backbone, r.spec.protocol, r.spec.method, r.spec.seed) in wanted:
            by_method[r.spec.method].append(r.metrics)
    header = ["Method", "All", "Major", "Minor", "ΔMinor vs CE", "seeds"]
    rows = table_rows(names, by_method, len(paper))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths))
    print(
        f"{args.dataset}, protocol {args.protocol}, seeds {' '.join(map(str, args.seeds))}: "
        "MCR % (mean ± sample std over seeds)"
    )
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    done = f"{counts['ok']} ok, {counts['failed']} failed, {counts['skipped']} already done"
    print(f"{len(runs)} runs: {done} ({wall:.1f} s)")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
