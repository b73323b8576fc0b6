"""``validate``: check a results directory before submitting it."""

# The command line imports every command module to build --help: what loads torch or pandas is imported
# inside the functions that run the command.

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check a results directory before submitting it",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Check every result file: the schema, finished runs, provenance, a known protocol, the dataset\n"
        "manifest hash, the file path, duplicates, and at least 3 seeds per\n"
        "(dataset, backbone, protocol, method). Exit 1 listing every problem, 0 with a one-line summary.\n\n"
        "Manifest hashes: datasets that need no download (digits-lt) are built into --cache-dir and\n"
        "must match exactly; for the others the expected hash comes from --manifest NAME=SHA or from\n"
        "a prepared manifest of the default construction in --cache-dir.",
    )
    p.add_argument("results", type=Path, metavar="DIR", help="results directory")
    p.add_argument(
        "--cache-dir", type=Path, default=None, help="prepared datasets (default: $MEDLT_CACHE or ~/.cache/medlt-bench)"
    )
    p.add_argument(
        "--manifest",
        action="append",
        default=[],
        metavar="NAME=SHA256",
        help="expected dataset manifest hash (repeatable; see `datasets info NAME --json`)",
    )
    p.add_argument("--min-seeds", type=int, default=3, help="seeds required per cell (default 3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..results.validate import validate_results

    manifests: dict[str, set[str]] = {}
    for item in args.manifest:
        name, sep, sha = item.partition("=")
        if not sep or not name.strip() or len(sha.strip()) != 64:
            raise UserError(f"--manifest {item!r}: expected NAME=SHA256 (64 hex digits)")
        manifests.setdefault(name.strip(), set()).add(sha.strip().lower())
    report = validate_results(args.results, cache_dir=args.cache_dir, manifests=manifests, min_seeds=args.min_seeds)
    if report.ok:
        print(report.summary())
        return 0
    print(report.summary() + ":")
    for problem in report.problems:
        print(f"  {problem}")
    return 1
