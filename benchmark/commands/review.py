"""``review``: validate, re-run and compare a leaderboard submission; merge it into the board when it passes."""

# The command line imports every command module to build --help: what loads torch or pandas is imported
# inside the functions that run the command.

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UserError
from .check import MAX_BAND_HELP, comparison_settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "review",
        help="review a submission folder (method.py + results/): validate, re-run, compare, optionally merge",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Review leaderboard/submissions/<id>/ (method.py and results/):\n"
        "  1. validate results/ (the checks of `validate`);\n"
        "  2. per result cell (dataset, backbone, protocol, method): the SHA-256 of method.py must be the\n"
        "     method_source_sha256 of every result (else the results came from another file);\n"
        "  3. re-run the method from method.py for every submitted seed in a temporary directory, where\n"
        "     this machine can (bloodcell-lt and digits-lt always; others when prepared in --cache-dir);\n"
        "  4. compare submitted and re-run mean All-MCR as `check` does (--tolerance, --max-band).\n"
        "Prints a Markdown verdict (also written to --report). --merge copies a passed submission into\n"
        "the board (--board) and rebuilds the site (--site).\n\n"
        "exit codes:\n"
        "  0  pass: every cell was re-run and agrees\n"
        "  1  fail: a cell differs, the results came from another method file, or validation found problems\n"
        "  2  usage error (missing folder, a board file that would be overwritten, ...)\n"
        "  3  could not verify: nothing failed, but a cell was not re-run (dataset not here) or is inconclusive",
    )
    p.add_argument("submission", type=Path, metavar="SUBMISSION_DIR", help="folder holding method.py and results/")
    p.add_argument("--report", type=Path, default=None, metavar="FILE", help="also write the Markdown verdict here")
    p.add_argument("--merge", action="store_true", help="when the verdict is pass: add the results to --board")
    p.add_argument(
        "--board",
        type=Path,
        default=Path("leaderboard/board/results"),
        metavar="DIR",
        help="the published results directory (default: leaderboard/board/results)",
    )
    p.add_argument("--site", type=Path, default=Path("site"), metavar="DIR", help="site rebuilt after --merge (site/)")
    p.add_argument(
        "--cache-dir", type=Path, default=None, help="prepared datasets (default: $MEDLT_CACHE or ~/.cache/medlt-bench)"
    )
    p.add_argument(
        "--raw-root", type=Path, default=None, metavar="DIR", help="folder with the datasets' official files"
    )
    p.add_argument(
        "--manifest",
        action="append",
        default=[],
        metavar="NAME=SHA256",
        help="expected dataset manifest hash, as `validate --manifest` (repeatable)",
    )
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="device of the re-run")
    p.add_argument("--tolerance", type=float, default=1.0, metavar="PP", help="as `check --tolerance` (default 1.0)")
    p.add_argument(
        "--max-band", action="append", default=[], metavar="[METRIC=]PP", help=f"as `check`: {MAX_BAND_HELP}"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from leaderboard.review import ReviewSettings, merge, review

    from .leaderboard import write_site

    bands = comparison_settings(args)
    settings = ReviewSettings(
        cache_dir=args.cache_dir,
        raw_root=args.raw_root,
        device=args.device,
        tolerance=args.tolerance,
        max_band=bands,
        progress=not args.quiet,
        manifests=_manifests(args.manifest),
        weights_dir=args.environment.weights_dir,
        allow_download=args.environment.allow_download,
    )
    verdict = review(args.submission, settings)
    text = verdict.markdown()
    print(text)
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text, encoding="utf-8")
    if args.merge:
        if verdict.outcome != "pass":
            print(f"not merged: the verdict is {verdict.outcome}", file=sys.stderr)
        else:
            written = merge(args.submission / "results", args.board)
            print(f"merged {len(written)} files into {args.board}", file=sys.stderr)
            index = write_site(args.board, args.site, replace_other_results=True)
            print(f"leaderboard site written to {args.site}; open {index.resolve().as_uri()}", file=sys.stderr)
    return verdict.exit_code


def _manifests(items: list[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for item in items:
        name, sep, sha = item.partition("=")
        if not sep or not name.strip() or len(sha.strip()) != 64:
            raise UserError(f"--manifest {item!r}: expected NAME=SHA256 (64 hex digits)")
        out.setdefault(name.strip(), set()).add(sha.strip().lower())
    return out
