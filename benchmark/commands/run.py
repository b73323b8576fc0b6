"""``run``: the grid of datasets × methods × backbones × seeds."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


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
    """``--jobs`` (default: the usable cores), with ``--jobs`` and ``--threads`` checked."""
    from ..cli import UserError
    from ..grid.processes import usable_cores

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
    import datasets

    from ..grid.runner import GridRunner, GridSettings

    runs, dataset_params = _plan(args)
    settings = GridSettings(
        results_dir=args.results,
        cache_dir=args.cache_dir or datasets.DEFAULT_CACHE,
        raw_root=args.raw_root,
        device=args.device,
        weights_file=args.weights,
        progress=not args.quiet,
        dataset_params=dataset_params,
    )
    t0 = time.perf_counter()
    runner = GridRunner(settings)
    counts = runner.run(runs, _executor(args, runner))
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


def _executor(args: argparse.Namespace, runner: Any) -> Any:
    """Ray, parallel worker processes, or None (this process); sets this process's threads for the last."""
    import torch

    from ..grid.processes import ParallelExecutor, usable_cores

    if args.executor == "ray":
        from ..grid.executors import RayExecutor

        return RayExecutor(address=args.ray_address)
    # On the CPU, one single-thread worker per core is the default: faster than one process with every
    # thread, idle and far more so with a core busy (benchmarks/parallel_jobs.py). A GPU is one device.
    jobs = args.jobs if args.jobs is not None else (usable_cores() if _on_cpu(args.device) else 1)
    if jobs > 1:
        return ParallelExecutor(jobs=jobs, threads=args.threads or 1)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    return None


def _on_cpu(device: str) -> bool:
    from ..training.engine import resolve_device

    return resolve_device(device).type == "cpu"


def _plan(args: argparse.Namespace) -> tuple[list, dict]:
    """The grid's runs and dataset parameters; every user error (names, seeds, parameters, backbones)
    fails here, before any work."""
    import datasets
    from methods import method_entries

    from ..cli import UserError
    from ..grid.runner import dataset_builder, expand_grid
    from ..protocol import load_protocol
    from ..training.backbones import check_backbone
    from .datasets import parse_params

    if not args.all and not args.method:
        raise UserError("name methods with --method NAME (repeatable) or run them all with --all")
    _check_seeds(args.seeds)
    for option, value in (("--jobs", args.jobs), ("--threads", args.threads)):
        if value is not None and not 1 <= value <= 1024:
            raise UserError(f"{option} must be between 1 and 1024 (got {value})")
    _check_results_dir(args.results)
    _check_places(args)
    protocol = load_protocol(args.protocol)
    methods = [e.create() for e in method_entries()] if args.all else []
    methods += [_create(m) for m in args.method if not (args.all and _registered(m))]
    methods = _distinct_methods(methods)
    dataset_names = list(dict.fromkeys(args.dataset or [datasets.DEFAULT_DATASET]))  # each dataset once
    dataset_params = parse_params(args.dataset_param)
    for name in dataset_names:  # unknown names and parameters fail here, before any work
        dataset_builder(name, dataset_params)
    seeds, backbones = list(dict.fromkeys(args.seeds)), list(dict.fromkeys(args.backbone or [None]))
    runs = expand_grid(dataset_names, methods, backbones, seeds, protocol)
    for backbone, pretrained in sorted({(r.backbone, r.protocol.pretrained) for r in runs}):
        check_backbone(backbone, pretrained, args.weights)  # unknown names, missing weights: fail before any work
    return runs, dataset_params


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
    from ..cli import UserError
    from .leaderboard import write_site

    where = site or results_dir.resolve().parent / "site"
    try:  # the default location never replaces the site of another results directory
        index = write_site(results_dir, where, replace_other_results=site is not None)
        print(f"leaderboard site: open {index.resolve().as_uri()}", file=sys.stderr)
    except UserError as e:  # the runs are done and saved; a site problem must not fail them
        print(f"warning: leaderboard site not written: {e}", file=sys.stderr)


def _check_distinct_ids(methods: list) -> None:
    """Two methods (say two users' files) with one id would write one result folder: refuse."""
    from ..cli import UserError

    seen: dict[str, tuple[str, str | None]] = {}
    for m in methods:
        cls = type(m)
        where = f"{getattr(sys.modules.get(cls.__module__), '__file__', cls.__module__)}:{cls.__qualname__}"
        mine = (where, m.source_sha256)  # one class of one file, however often it is named
        other = seen.setdefault(m.method_id, mine)
        if other != mine:
            raise UserError(f"two methods have the id {m.method_id!r} ({other[0]} and {mine[0]}); give each its own id")


def _distinct_methods(methods: list) -> list:
    """Each method once (``--method CE --method ce --method "CE "`` name one), in the order first named;
    refused: two methods with one id, two ids with one display name (they would be one row of every table),
    and ids or names that cannot be a folder or a table row (too long, a newline)."""
    from ..cli import UserError
    from ..results.identity import name_problem

    _check_distinct_ids(methods)
    first: dict[str, Any] = {}
    for m in methods:
        first.setdefault(m.method_id, m)
    unique = list(first.values())
    names: dict[str, str] = {}
    for m in unique:
        for text, what in ((m.method_id, "id"), (m.display_name, "display name")):
            problem = name_problem(text, what)
            if problem:
                shown = repr(text) if len(text) <= 40 else f"{text[:40]!r}…"
                raise UserError(f"method {shown}: {problem}")
        _check_texts(m)
        other = names.setdefault(m.display_name, m.method_id)
        if other != m.method_id:
            raise UserError(
                f"two methods have the display name {m.display_name!r} (ids {other!r} and {m.method_id!r}): they "
                "would be one row of every table; give each its own name"
            )
    return unique


def _check_texts(method: Any) -> None:
    """A method's description, reference, link and hyper-parameters within what every reader accepts
    (:data:`benchmark.validate.MAX_TEXT`): refused here rather than after its runs are written."""
    import json

    from ..cli import UserError
    from ..results.validate import MAX_HYPERPARAMETERS, MAX_TEXT

    texts = {key: (getattr(method, attr), MAX_TEXT[key]) for key, attr in (("description", "row_description"),)}
    texts.update({key: (getattr(method, key) or "", MAX_TEXT[key]) for key in ("reference", "url")})
    texts["hyperparameters"] = (json.dumps(method.hyperparameters(), default=str), MAX_HYPERPARAMETERS)
    for key, (text, limit) in texts.items():
        if len(text) > limit:
            raise UserError(f"method {method.method_id!r}: its {key} is {len(text):,} characters; at most {limit:,}")


def _create(name: str) -> Any:
    """``methods.create_method(name)``; a method whose constructor raises is one line naming it."""
    from methods import create_method
    from methods.registry import UnknownMethodError

    from ..cli import UserError

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
    import datasets

    from ..cli import UserError
    from ..files import writable_problem

    places = [("--results", args.results), ("--cache-dir", args.cache_dir or datasets.DEFAULT_CACHE)]
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


def _check_seeds(seeds: list[int]) -> None:
    """Seeds seed numpy's generators, which take no negative number: refuse before any work."""
    from ..cli import UserError

    for seed in seeds:
        if seed < 0:
            raise UserError(f"--seeds {seed}: a seed must be >= 0")


def _check_results_dir(results: Path) -> None:
    """``--results`` must be a folder or creatable as one (checked before any work, nothing created)."""
    from ..cli import UserError

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
