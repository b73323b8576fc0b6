"""``report``: the paper's Table-2 layout from a results directory."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="print the Table-2 summary of a results directory",
                       description="Mean ± sample std over seeds of MCR (all / major / minor), per dataset.")
    p.add_argument("--results", type=Path, default=Path("results"), help="results directory (default: results/)")
    p.add_argument("--format", choices=["text", "markdown"], default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..cli import UserError
    from ..report import format_table2, table2
    from ..results import load_results

    if not args.results.is_dir():
        raise UserError(f"results directory {args.results} not found")
    try:
        results = load_results(args.results)
    except ValueError as e:
        raise UserError(str(e)) from None
    summary, warnings_ = table2(results, warn=False)
    for w in warnings_:
        print(f"warning: {w}", file=sys.stderr)
    print(format_table2(summary, args.format))
    return 0
