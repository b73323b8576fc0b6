"""``evaluate``: a method of yours on the published board's grid, among the published rows, no baseline re-run."""

# The command line imports every command module to build --help: what loads torch or pandas is imported
# inside the functions that run the command.

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .run import add_board_options, board_workers


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="run your method on the board's grid and see it among the published rows",
        description="Runs each --method on the published board's grid (its dataset, protocol, backbone and seeds) "
        "into --results, next to a copy of the published results, then prints the table and the verdicts against "
        "CE and the best, and writes a local site with your rows among the published ones. No baseline is "
        "re-run. Refuses when this checkout's dataset build or protocol settings are not the board's.",
    )
    p.add_argument(
        "--method",
        action="append",
        required=True,
        metavar="FILE.py:Class[:STAGE2]",
        help="your method (repeatable; a stage-2 suffix such as :cRW adds its two-stage row)",
    )
    p.add_argument("--results", type=Path, default=Path("evaluation"), help="results directory (default: evaluation/)")
    p.add_argument("--site", type=Path, default=None, help="site folder (default: site/ next to --results)")
    add_board_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from leaderboard.published import BOARD_DIR, evaluation_runs
    from methods import create_method

    from .. import grid  # lazy: torch
    from .run import _write_site

    # as the board was computed: its runs record their thread count
    executor = grid.choose_executor(on_cpu=True, jobs=board_workers(args), threads=args.threads)
    methods = [create_method(spec) for spec in dict.fromkeys(args.method)]
    runs, note = evaluation_runs(args.board or BOARD_DIR, methods, args.results, args.cache_dir)
    if note:
        print(note, file=sys.stderr)
    env = args.environment
    settings = grid.GridSettings(
        results_dir=args.results,
        cache_dir=args.cache_dir,
        device="cpu",
        weights_dir=env.weights_dir,
        allow_download=env.allow_download,
        progress=not args.quiet,
    )
    t0 = time.perf_counter()
    counts = grid.run(runs, settings, executor)
    wall = time.perf_counter() - t0
    print(f"{len(runs)} runs: {counts['ok']} ok, {counts['failed']} failed ({wall:.1f} s)", file=sys.stderr)
    _print_table(args.results)
    _print_verdicts(args.results, [m.display_name for m in methods])
    _write_site(args.results, args.site)
    return 1 if counts["failed"] else 0


def _print_table(results_dir: Path) -> None:
    """Table 2 of the whole column: the published rows and yours."""
    from ..analysis.tables import format_table2, table2
    from ..results.validate import load_checked

    summary, warnings_ = table2([r for _, r in load_checked(results_dir)], warn=False)
    for w in warnings_:
        print(f"warning: {w}", file=sys.stderr)
    print(format_table2(summary))


def _print_verdicts(results_dir: Path, names: list[str]) -> None:
    """Each new row against CE and against the best, with the difference's interval (vs CE: FCR-adjusted;
    vs best: simultaneous)."""
    from ..analysis.comparisons import compare_methods
    from ..numbers import fixed
    from ..results.reader import results_frame
    from ..results.validate import load_checked

    frame = results_frame([r for _, r in load_checked(results_dir)])
    for metric in ("mcr_all", "mcr_minor"):
        table = compare_methods(frame, metric)
        for row in table[table["method"].isin(names)].itertuples():
            word = {1: "better than", -1: "worse than", 0: "not distinguishable from"}[int(row.direction)]
            print(
                f"{metric}: {row.method} {fixed(row.mean, 2)} is {word} {row.other} ({fixed(row.other_mean, 2)}): "
                f"difference {fixed(row.diff, 2)} pp, 95 % interval [{fixed(row.low, 2)}, "
                f"{fixed(row.high, 2)}] ({'FCR-adjusted' if row.versus == 'baseline' else 'simultaneous'})"
            )
