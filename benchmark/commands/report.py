"""``report``: the paper's tables (2: main, 3: ablation, 4: backbones, 5: with Medium) from a results directory."""

# The command line imports every command module to build --help: what loads torch or pandas is imported
# inside the functions that run the command.

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    from ..analysis.tables import FORMATS, TABLE_HELP, TABLES
    from ..results.schema import metric_specs

    specs = metric_specs()
    lower = [name for name, spec in specs.items() if not spec.higher_is_better]

    p = sub.add_parser(
        "report",
        help="print a paper-layout table (Table 2 by default) of a results directory",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Mean (± sample std over seeds for Table 2) of MCR (or --metric) in the paper's "
        "layouts:\n  "
        + "\n  ".join(TABLE_HELP[t] for t in TABLES)
        + "\nBest per column in bold (text: *), second underlined (text: _); csv has plain numbers.",
    )
    p.add_argument("--results", type=Path, default=Path("results"), help="results directory (default: results/)")
    p.add_argument("--format", choices=list(FORMATS), default="text")
    p.add_argument("--table", type=int, choices=list(TABLES), default=2, help="which table layout (default 2)")
    p.add_argument(
        "--metric",
        metavar="NAME",
        default=None,
        help="show this metric of the result schema instead of the MCR columns All / Major / Minor "
        f"(one column per dataset; lowest marked best for {', '.join(lower)}): {', '.join(specs)}",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the table; a broken result file refuses it (exit 2, naming the file): a table that silently
    left a run out would be a wrong number."""
    from ..analysis.tables import TABLE_HELP, check_metric, render_table
    from ..results.reader import load_results

    if args.metric is not None:
        try:
            check_metric(args.metric)
        except ValueError as e:
            raise UserError(str(e)) from None
    if not args.results.is_dir():
        raise UserError(f"results directory {args.results} not found")
    try:
        results = load_results(args.results)
    except ValueError as e:
        raise UserError(str(e)) from None
    try:
        text, warnings_ = render_table(results, args.table, args.format, args.metric)
    except ValueError as e:
        raise UserError(str(e)) from None
    for w in warnings_:
        print(f"warning: {w}", file=sys.stderr)
    if text is None:
        if not results:
            print("no results")
            return 0
        raise UserError(f"the results hold no runs for {TABLE_HELP[args.table]}")
    print(text)
    return 0
