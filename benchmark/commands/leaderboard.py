"""``leaderboard``: write the static leaderboard site of a results directory."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="write the static leaderboard site of a results directory",
                       description="Write a self-contained static site (open index.html from disk or publish the "
                                   "folder): the main table, one page per dataset and per method, paper vs "
                                   "reproduced, and results.json / results.csv.")
    p.add_argument("--results", type=Path, default=Path("results"), help="results directory (default: results/)")
    p.add_argument("--out", type=Path, default=Path("site"), help="output folder, replaced as a whole (default: site/)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the CIs (default 1000)")
    p.add_argument("--tolerance", type=float, default=1.0, metavar="PP",
                   help="tolerance of the paper-vs-reproduced page, as in `check` (default 1.0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    index = write_site(args.results, args.out, n_resamples=args.resamples, tolerance=args.tolerance)
    print(f"leaderboard site written to {args.out}; open {index.resolve().as_uri()}")
    return 0


def write_site(results: Path, out: Path, **options: object) -> Path:
    """Build the site, turning the site's own errors into one-line user errors."""
    from leaderboard import build_site
    from leaderboard.site import SiteError

    from ..cli import UserError

    try:
        return build_site(results, out, **options)
    except SiteError as e:
        raise UserError(str(e)) from None
