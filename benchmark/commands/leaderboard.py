"""``leaderboard``: write the static leaderboard site of a results directory."""

# The command line imports every command module to build --help: what loads torch or pandas is imported
# inside the functions that run the command.

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError
from ..files import writable_problem


def register(sub: argparse._SubParsersAction) -> None:
    from ..cli import add_deprecated_alias

    p = sub.add_parser(
        "leaderboard",
        help="write the static leaderboard site of a results directory",
        description="Write a self-contained static site (open index.html from disk or publish the "
        "folder): the main table, one page per dataset and per method, paper vs "
        "reproduced, and results.json / results.csv.",
    )
    p.add_argument("--results", type=Path, default=Path("results"), help="results directory (default: results/)")
    p.add_argument(
        "--site",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder, replaced as a whole when it is a site this tool wrote (default: site/, "
        "which is not replaced when it holds the site of another results directory)",
    )
    add_deprecated_alias(p, "--out", "--site")
    p.add_argument(
        "--tolerance",
        type=float,
        default=1.0,
        metavar="PP",
        help="tolerance of the paper-vs-reproduced page, as in `check` (default 1.0)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the site; a broken result or predictions file refuses it (exit 2): a published table must hold
    every run of the directory."""
    site = args.site or Path("site")
    problem = writable_problem(site.parent if site.exists() else site)  # the site is renamed in beside it
    if problem:
        raise UserError(f"--site {site}: {problem}")
    index = write_site(
        args.results,
        site,
        tolerance=args.tolerance,
        replace_other_results=args.site is not None,
    )
    print(f"leaderboard site written to {site}; open {index.resolve().as_uri()}")
    return 0


def write_site(results: Path, out: Path, **options: object) -> Path:
    """Build the site, turning the site's own errors into one-line user errors.

    ``replace_other_results=False`` (default locations) keeps a site built from another results directory.
    """
    from leaderboard import build_site
    from leaderboard.site import SiteError

    try:
        return build_site(results, out, **options)
    except SiteError as e:
        raise UserError(str(e)) from None
