"""``board``: the published results in the repository: which rows are stale, and re-running exactly those."""

# The command line imports every command module to build --help: what loads torch or pandas is imported
# inside the functions that run the command.

from __future__ import annotations

import argparse
import sys

from .run import add_board_options, board_workers


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "board",
        help="the published board: stale rows, refresh",
        description="The published board (leaderboard/board/: manifest.json and results/). 'status' names every "
        "registered row whose published results are missing or stale (its code, hyper-parameters, stage-2 "
        "settings, protocol or dataset build changed) and exits 1 if any; 'refresh' re-runs exactly those rows "
        "and swaps them in (creating the board on first use).",
    )
    p.add_argument("action", choices=["status", "refresh"])
    add_board_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import datasets
    from leaderboard.published import BOARD_DIR, BoardManifest, current_manifest_sha256, refresh, stale_rows

    root, cache_dir = args.board or BOARD_DIR, args.cache_dir
    if args.action == "status":
        stale = stale_rows(root, cache_dir)
        for row in stale:
            print(f"stale: {row}")
        board = BoardManifest.read(root)
        print(f"{len(stale)} stale rows on the board {root} ({board.dataset}, {board.protocol}, seeds {board.seeds})")
        return 1 if stale else 0
    jobs = board_workers(args)
    init = None
    if not (root / "manifest.json").is_file():
        from ..protocol import load_protocol

        protocol = load_protocol("quick")
        init = BoardManifest(
            dataset=datasets.DEFAULT_DATASET, protocol="quick", backbone=protocol.backbone, seeds=[0, 1, 2],
            dataset_manifest_sha256="",
        )  # fmt: skip
        init = BoardManifest(**{**init.__dict__, "dataset_manifest_sha256": current_manifest_sha256(init, cache_dir)})
    outcome = refresh(root, cache_dir, jobs=jobs, threads=args.threads, progress=not args.quiet, init=init)
    if outcome.manifest is None:
        print(f"the board {root} is current: nothing to re-run")
        return 0
    print(
        f"re-ran {len(outcome.rerun)} rows ({', '.join(outcome.rerun) or 'none'}); removed {len(outcome.removed)} "
        f"({', '.join(outcome.removed) or 'none'}); {root / 'manifest.json'} rewritten",
        file=sys.stderr,
    )
    return 0
