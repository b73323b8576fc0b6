"""``run``: the grid of datasets × methods × backbones × seeds."""

# The command line imports every command module to build --help: what loads torch or pandas is imported
# inside the functions that run the command.

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..files import writable_problem
from .datasets import parse_params


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run a grid of datasets × methods × backbones × seeds",
        description="Train and evaluate methods. Finished runs are skipped, a killed run resumes, "
        "and the Table-2 summary is printed at the end.",
    )
    _add_grid_options(p)
    _add_data_options(p)
    _add_execution_options(p)
    _add_site_options(p)
    p.set_defaults(func=run)


def _add_grid_options(p: argparse.ArgumentParser) -> None:
    """What to run: methods, datasets, backbones, seeds, protocol."""
    p.add_argument("--all", action="store_true", help="every registered method")
    p.add_argument(
        "--method",
        action="append",
        default=[],
        metavar="NAME",
        help="a method name or id (repeatable), or path/to/file.py:ClassName",
    )
    p.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="NAME",
        help="a dataset (repeatable; default: bloodcell-lt, real blood-cell images shipped with the package)",
    )
    p.add_argument(
        "--backbone",
        action="append",
        default=[],
        metavar="TIMM_NAME",
        help="any timm model name (repeatable; default: the protocol's)",
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], metavar="N", help="seeds (default: 0 1 2)")
    p.add_argument("--protocol", default="quick", help="quick (default), paper, smoke, or a .toml file")


def _add_data_options(p: argparse.ArgumentParser) -> None:
    """Where results and data live, and how datasets are built."""
    from ..cli import add_deprecated_alias

    p.add_argument("--results", type=Path, default=Path("results"), help="results directory (default: results/)")
    p.add_argument(
        "--cache-dir", type=Path, default=None, help="prepared datasets (default: $MEDLT_CACHE or ~/.cache/medlt-bench)"
    )
    p.add_argument(
        "--raw-root", type=Path, default=None, metavar="DIR", help="folder with the dataset's official files"
    )
    add_deprecated_alias(p, "--data-root", "--raw-root")
    p.add_argument(
        "-p",
        "--dataset-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="dataset construction parameter, as `datasets prepare -p` takes it (repeatable; applies to "
        "every --dataset; seed=N sets the construction seed), e.g. -p split=patient for xray9",
    )


def _add_execution_options(p: argparse.ArgumentParser) -> None:
    """Where and how the jobs run."""
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--weights", type=Path, default=None, help="pretrained backbone weights file (offline machines)")
    p.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="local: jobs in this process (default); ray: one Ray task per stage-1 job",
    )
    p.add_argument(
        "--ray-address",
        default=None,
        help="Ray cluster address ('auto' joins a running cluster; default: start a local Ray instance)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="stage-1 jobs run side by side in N worker processes, each with --threads threads (local executor; "
        "default: one per usable CPU core on the CPU, 1 on a GPU; 1 runs in this process)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="torch threads per job (default: 1 with parallel jobs, torch's default in this process); results "
        "record it, and the same thread count gives the same numbers",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_board_options(p: argparse.ArgumentParser) -> None:
    """The options ``board`` and ``evaluate`` share: the board, the cache and the worker processes."""
    p.add_argument("--board", type=Path, default=None, help="the board folder (default: leaderboard/board)")
    p.add_argument("--cache-dir", type=Path, default=None, help="prepared datasets (default: the package's cache)")
    p.add_argument("--jobs", type=int, default=None, metavar="N", help="worker processes (default: usable cores)")
    p.add_argument("--threads", type=int, default=1, metavar="N", help="torch threads per job (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def board_workers(args: argparse.Namespace) -> int:
    """``--jobs`` of ``board`` and ``evaluate`` (default: the usable cores), with ``--jobs`` and ``--threads``
    checked."""
    from ..grid import usable_cores

    jobs: int = args.jobs or usable_cores()
    if not (1 <= jobs <= 1024 and 1 <= args.threads <= 1024):
        raise UserError("--jobs and --threads must be between 1 and 1024")
    return jobs


def _add_site_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--site",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the leaderboard site here at the end (default: site/ next to the results directory, "
        "left alone when it holds the site of another results directory)",
    )
    p.add_argument("--no-site", action="store_true", help="do not write the leaderboard site")


def run(args: argparse.Namespace) -> int:
    from .. import grid  # lazy: torch

    runs = _plan(args)
    env = args.environment
    settings = grid.GridSettings(
        results_dir=args.results,
        cache_dir=args.cache_dir,
        raw_root=args.raw_root,
        device=args.device,
        weights_file=args.weights,
        weights_dir=env.weights_dir,
        allow_download=env.allow_download,
        progress=not args.quiet,
        dataset_params=parse_params(args.dataset_param),
    )
    t0 = time.perf_counter()
    counts = grid.run(runs, settings, _executor(args))
    wall = time.perf_counter() - t0
    print(
        f"{len(runs)} runs: {counts['ok']} ok, {counts['failed']} failed, {counts['skipped']} already done, "
        f"{counts['locked']} held by another worker ({wall:.1f} s)",
        file=sys.stderr,
    )
    _print_summary(args.results, runs)
    if not args.no_site:
        _write_site(args.results, args.site)
    if counts["failed"]:
        print(f"{counts['failed']} runs failed: their result files hold the error (status 'failed')", file=sys.stderr)
    return 1 if counts["failed"] else 0


def _executor(args: argparse.Namespace) -> Any:
    """Ray, or on this machine (one single-thread worker per usable core on the CPU by default)."""
    from ..grid import RayExecutor, choose_executor
    from ..training.precision import resolve_device

    if args.executor == "ray":
        return RayExecutor(address=args.ray_address)
    return choose_executor(resolve_device(args.device).type == "cpu", args.jobs, args.threads)


def _plan(args: argparse.Namespace) -> list:
    """The grid's runs; every user error (names, seeds, parameters, backbones, places) fails here, before any
    work."""
    import datasets
    from methods import method_entries

    from ..grid import plan
    from ..protocol import load_protocol

    if not args.all and not args.method:
        raise UserError("name methods with --method NAME (repeatable) or run them all with --all")
    for option, value in (("--jobs", args.jobs), ("--threads", args.threads)):
        if value is not None and not 1 <= value <= 1024:
            raise UserError(f"{option} must be between 1 and 1024 (got {value})")
    _check_results_dir(args.results)
    _check_places(args)
    methods = [e.create() for e in method_entries()] if args.all else []
    methods += [_create(m) for m in args.method if not (args.all and _registered(m))]
    return plan(
        methods,
        args.dataset or [datasets.DEFAULT_DATASET],
        args.backbone or [None],
        args.seeds,
        load_protocol(args.protocol),
        dataset_params=parse_params(args.dataset_param),
        weights_file=args.weights,
        weights_dir=args.environment.weights_dir,
        allow_download=args.environment.allow_download,
    )


def _print_summary(results_dir: Path, runs: list) -> None:
    """Table 2 of this grid's runs (warnings on stderr)."""
    from ..analysis.tables import format_table2, table2
    from ..results.reader import load_results

    wanted = {(r.spec.dataset, r.spec.method, r.spec.backbone, r.spec.protocol) for r in runs}
    # This summary warns about, and leaves out, a broken file of another run instead of failing: the
    # grid's own runs are saved by now. `report`, `check` and the site refuse such a directory.
    results = [
        r
        for r in load_results(results_dir, on_invalid=_warn_left_out)
        if (r.spec.dataset, r.spec.method, r.spec.backbone, r.spec.protocol) in wanted
    ]
    summary, warnings_ = table2(results, warn=False)
    for w in warnings_:
        print(f"warning: {w}", file=sys.stderr)
    print(format_table2(summary))


def _write_site(results_dir: Path, site: Path | None) -> None:
    """The leaderboard site at the end of a grid; a problem is a warning, never a failure of the runs."""
    from .leaderboard import write_site

    where = site or results_dir.resolve().parent / "site"
    try:  # the default location never replaces the site of another results directory
        index = write_site(results_dir, where, replace_other_results=site is not None)
        print(f"leaderboard site: open {index.resolve().as_uri()}", file=sys.stderr)
    except UserError as e:  # the runs are done and saved; a site problem must not fail them
        print(f"warning: leaderboard site not written: {e}", file=sys.stderr)


def _create(name: str) -> Any:
    """``methods.create_method(name)``; a method whose constructor raises is one line naming it."""
    from methods import create_method
    from methods.registry import UnknownMethodError

    try:
        return create_method(name)
    except UnknownMethodError:
        raise
    except Exception as e:  # the user's __post_init__ (or a hyper-parameter check) failed
        first = (str(e).strip().splitlines() or [""])[0]
        raise UserError(f"method {name!r}: creating it failed: {type(e).__name__}: {first}") from None


def _check_places(args: argparse.Namespace) -> None:
    """The results, site and cache folders can be written and ``--device cuda`` has a GPU: checked before
    any work (a read-only folder would otherwise fail after training)."""
    places = [("--results", args.results), ("--cache-dir", args.cache_dir)]
    if args.site is not None and not args.no_site:
        places.append(("--site", args.site))
    for option, path in places:
        problem = writable_problem(path)
        if problem:
            raise UserError(f"{option} {path}: {problem}")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError("--device cuda: no CUDA device is available here; use --device cpu or auto")


def _check_results_dir(results: Path) -> None:
    """``--results`` must be a folder or creatable as one (checked before any work, nothing created)."""
    existing = next(p for p in (results, *results.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        where = "is a file" if existing == results else f"cannot be created: {existing} is a file"
        raise UserError(f"--results {results}: {where}; give a directory")


def _warn_left_out(error: ValueError) -> None:
    """One line for a result file the end-of-grid summary cannot read (not one of this grid's saved runs)."""
    print(f"warning: {error}; left out of this summary", file=sys.stderr)


def _registered(name: str) -> bool:
    from methods.registry import UnknownMethodError, get_entry

    try:
        get_entry(name)
        return True
    except UnknownMethodError:
        return False
