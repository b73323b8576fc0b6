"""``check``: regression check of a results directory against reported numbers."""

# The command line imports every command module to build --help: what loads torch or pandas is imported
# inside the functions that run the command.

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError
from ..files import atomic_write_bytes

#: ``--max-band`` of ``check`` and ``review`` (its defaults are :data:`benchmark.analysis.reproduction.MAX_BANDS`,
#: a test keeps them equal; importing it here would load pandas for ``--help``).
MAX_BAND_HELP = (
    "widest band (pp) for a cell to count as checked: PP for every metric or METRIC=PP for one, "
    "repeatable, applied in order (default all=5 major=5 medium=5 minor=10)"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="check that results reproduce reported numbers within a tolerance",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Compare the mean over seeds of every (method, dataset, metric all/major/medium/minor) cell\n"
        "that the results and the reference both hold, with a two-sided test at 95 %. A cell fails when\n"
        "  |reproduced - reported| > max(TOLERANCE, t_0.975,df * sqrt(s~^2/n + s_ref^2/n_ref))\n"
        "using the runs' seed SD over n seeds, moderated with their column's empirical-Bayes prior (s~), and\n"
        "the reference's std s_ref over n_ref seeds (the paper's are 3-seed means; a reference without a std\n"
        "is assumed to share the runs' spread; one written by --write-reference is moderated like the runs).\n"
        "A cell with fewer than 3 runs or a band wider than its metric's --max-band (5 pp; 10 pp for minor\n"
        "MCR, whose seed SD and method range are about 2.6 times All-MCR's) is INCONCLUSIVE: it could not\n"
        "have failed a real difference. Exit 1 naming every failing (or inconclusive) cell, 0 when all\n"
        "pass, 2 when nothing can be compared.",
    )
    p.add_argument("--results", type=Path, default=Path("results"), help="results directory (default: results/)")
    p.add_argument(
        "--reference",
        default="paper",
        help="'paper' (the paper's Tables 2-5, shipped in benchmark/analysis/reference/), 'board' (the published "
        "board, leaderboard/board/results) or a CSV with the columns "
        "of paper_table2.csv: method,dataset,all_mean,all_std,major,minor (default: paper)",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=1.0,
        metavar="PP",
        help="least allowed |difference| in percentage points (default 1.0)",
    )
    p.add_argument(
        "--max-band",
        action="append",
        default=[],
        metavar="[METRIC=]PP",
        help=MAX_BAND_HELP,
    )
    p.add_argument(
        "--allow-inconclusive",
        action="store_true",
        help="report inconclusive cells (too few seeds, too wide a band) but do not fail on them",
    )
    p.add_argument("--backbone", default=None, help="only runs with this backbone")
    p.add_argument("--protocol", default=None, help="only runs of this protocol")
    p.add_argument("--show-missing", action="store_true", help="also list reference cells the results have no runs for")
    p.add_argument(
        "--write-reference",
        type=Path,
        default=None,
        metavar="FILE",
        help="instead of checking, write the results' means as a reference CSV (e.g. a golden file)",
    )
    p.set_defaults(func=run)


def comparison_settings(args: argparse.Namespace) -> dict[str, float]:
    """Check ``--tolerance`` and read ``--max-band`` (of ``check`` and ``review``): each metric's widest band;
    :class:`benchmark.cli.UserError` naming a bad value."""
    from ..analysis.reproduction import max_bands

    if args.tolerance < 0:
        raise UserError("--tolerance must be >= 0")
    try:
        return max_bands(args.max_band)
    except ValueError as e:
        raise UserError(str(e)) from None


def run(args: argparse.Namespace) -> int:
    """Compare with the reference; a broken result file refuses the check (exit 2, naming the file): a
    verdict must cover every run of the directory."""

    from ..analysis.reproduction import (
        ReferenceError,
        compare,
        format_comparisons,
        load_reference,
        reference_csv_from_frame,
        why_nothing_matches,
    )
    from ..results.reader import load_results, results_frame

    bands = comparison_settings(args)
    if not args.results.is_dir():
        raise UserError(f"results directory {args.results} not found")
    try:
        frame = results_frame(load_results(args.results))
    except ValueError as e:
        raise UserError(str(e)) from None
    if args.write_reference:
        if frame.empty:
            raise UserError(f"no finished runs in {args.results}")
        atomic_write_bytes(args.write_reference, reference_csv_from_frame(frame).encode())
        print(f"wrote {args.write_reference}")
        return 0
    try:
        reference = load_reference(args.reference, _board_results())
    except ReferenceError as e:
        raise UserError(str(e)) from None
    comparisons = compare(
        frame, reference, args.tolerance, backbone=args.backbone, protocol=args.protocol, max_band=bands
    )
    ran = [c for c in comparisons if c.ran]
    if not ran:
        raise UserError(
            f"no run in {args.results} matches a cell of reference {args.reference!r} "
            f"({len(reference)} reference cells): {why_nothing_matches(frame, reference)}"
        )
    print(format_comparisons(comparisons, show_missing=args.show_missing))
    failed = [c for c in ran if not c.ok]
    inconclusive = [c for c in ran if c.ok and c.inconclusive]
    print()
    for c in failed:
        print(
            f"FAIL {c.label}: reproduced {c.reproduced:.2f} vs reported {c.ref.value:.2f} ({c.ref.source}), "
            f"difference {c.diff:+.2f} outside ±{c.allowed:.2f}"
        )
    for c in inconclusive:
        print(f"INCONCLUSIVE {c.label}: {c.inconclusive}; run more seeds (or raise --max-band)")
    print(_summary(comparisons, args.tolerance))
    return 1 if failed or (inconclusive and not args.allow_inconclusive) else 0


def _summary(comparisons: list, tolerance: float) -> str:
    """The last line: how many cells were compared, and how they came out."""
    ran = [c for c in comparisons if c.ran]
    failed = sum(not c.ok for c in ran)
    inconclusive = sum(c.ok and bool(c.inconclusive) for c in ran)
    identical = sum(c.status == "identical" for c in ran)
    missing = len(comparisons) - len(ran)
    return (
        f"{len(ran)} cells compared: {len(ran) - failed} within tolerance, {failed} outside"
        + (f" ({identical} identical to the reference's runs, seed for seed)" if identical else "")
        + (f", {inconclusive} of those within inconclusive" if inconclusive else "")
        + (f"; {missing} reference cells have no runs" if missing else "")
        + f" (band at 95 %, at least {tolerance:g} pp)"
    )


def _board_results() -> Path:
    """The published board's results directory (``--reference board``)."""
    from leaderboard.published import BOARD_DIR  # lazy: the board module loads torch

    return BOARD_DIR / "results"
