"""``datasets`` subcommand: prepare a dataset from its official files, show its statistics, list them all.

    python -m benchmark datasets prepare NAME --raw-root DIR [--size PX] [--cache-dir DIR] [--seed N] [--workers N]
    python -m benchmark datasets info NAME [--size PX] [--cache-dir DIR] [--json]
    python -m benchmark datasets list [--cache-dir DIR]
    python -m benchmark datasets embed bloodcell-lt --source FILE.npz [--out FILE.npz]
    python -m benchmark datasets verify NAME [--size PX] [--cache-dir DIR] [--raw-root DIR]   (exit 1 on a mismatch)

``--param KEY=VALUE`` (repeatable) sets a construction field, e.g. ``-p rho=10`` for
``medmnist-lt:bloodmnist`` or ``-p split=patient`` for ``xray9``; ``info`` needs the same
``--seed`` / ``--param`` as ``prepare`` (they are part of the dataset's identity).
"""

# The command line imports every command module to build --help: what loads torch or pandas is imported
# inside the functions that run the command.

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from datasets import (
    DatasetBuilder,
    DatasetError,
    PreparedDataset,
    create_builder,
    manifest_sha256,
    registered_builders,
)
from datasets.prepared import MANIFEST

from ..files import writable_problem

EXIT_ERROR = 2


def register(subparsers: Any) -> None:
    """Add the ``datasets`` command (``prepare`` / ``info`` / ``list``) to a CLI's subparsers."""
    parser = subparsers.add_parser(
        "datasets",
        help="prepare, inspect and list datasets",
        description="Prepare a dataset once from its official files; inspect it; list all.",
    )
    sub = parser.add_subparsers(dest="datasets_command", metavar="{prepare,info,list,verify,embed}")
    sub.required = True
    _add_prepare(sub)
    _add_info(sub)
    _add_verify(sub)
    _add_embed(sub)
    _add_list(sub)


def _add_identity_options(p: argparse.ArgumentParser) -> None:
    """The options that name one prepared dataset: name, size, cache folder, seed, parameters."""
    p.add_argument("name", help="dataset name (see `datasets list`), e.g. skin7 or medmnist-lt:bloodmnist")
    p.add_argument("--size", type=int, default=None, help="cached image size in px (default: the dataset's)")
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="prepared-data folder (default: $MEDLT_CACHE or ~/.cache/medlt-bench)",
    )
    p.add_argument("--seed", type=int, default=0, help="construction seed (default 0)")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="construction parameter, e.g. rho=10 (repeatable)",
    )


def _add_raw_root(p: argparse.ArgumentParser, help_text: str) -> None:
    """``--raw-root DIR`` (``--raw`` still accepted, with a deprecation note)."""
    from ..cli import add_deprecated_alias

    p.add_argument("--raw-root", type=Path, default=None, metavar="DIR", help=help_text)
    add_deprecated_alias(p, "--raw", "--raw-root")


def _add_prepare(sub: Any) -> None:
    prepare = sub.add_parser("prepare", help="decode, resize and cache a dataset from its official files")
    _add_identity_options(prepare)
    _add_raw_root(prepare, "folder holding the official files")
    prepare.add_argument("--workers", type=int, default=2, help="decoding processes (default 2)")
    prepare.set_defaults(func=cmd_prepare)


def _add_info(sub: Any) -> None:
    info = sub.add_parser("info", help="statistics of a prepared dataset (from its manifest)")
    _add_identity_options(info)
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=cmd_info)


def _add_verify(sub: Any) -> None:
    verify = sub.add_parser(
        "verify",
        help="recompute a prepared dataset's checksums and compare with its manifest",
        description="Recompute the label and split checksums and per-split counts of a prepared "
        "dataset (and, with --raw-root, its source files' sha256) and compare them with "
        "its manifest. Prints OK, or each mismatch and exits 1.",
    )
    _add_identity_options(verify)
    _add_raw_root(verify, "folder holding the official files (checks them too)")
    verify.set_defaults(func=cmd_verify)


def _add_embed(sub: Any) -> None:
    embed = sub.add_parser(
        "embed",
        help="regenerate the embedded bloodcell-lt file from a BloodMNIST-format npz",
        description="Re-derive datasets/data/bloodcell_lt.npz (and its manifest) bit-identically from "
        "bloodmnist_pbc_28.npz (shared/data/bloodcell/) or the official bloodmnist.npz (other counts).",
    )
    embed.add_argument("name", choices=["bloodcell-lt"], help="the embedded dataset to build")
    embed.add_argument("--source", type=Path, required=True, help="a BloodMNIST-format .npz")
    embed.add_argument(
        "--out", type=Path, default=None, help="where to write the .npz (default: the shipped file inside the package)"
    )
    embed.set_defaults(func=cmd_embed)


def _add_list(sub: Any) -> None:
    listing = sub.add_parser("list", help="registered datasets and whether they are prepared")
    listing.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="prepared-data folder (default: $MEDLT_CACHE or ~/.cache/medlt-bench)",
    )
    listing.set_defaults(func=cmd_list)


# -- commands ---------------------------------------------------------------------
def cmd_prepare(args: argparse.Namespace) -> int:
    problem = writable_problem(args.cache_dir)
    if problem:  # before decoding anything
        return _error(DatasetError(f"--cache-dir {args.cache_dir}: {problem}"))
    try:
        builder = _builder(args)
        ds = builder.prepare(
            args.raw_root,
            cache_root=args.cache_dir,
            size=args.size,
            workers=args.workers,
            progress=True,
            allow_download=args.environment.allow_download,
        )
    except DatasetError as e:
        return _error(e)
    print(f"prepared {ds.name} in {ds.root}")
    width = max(5, *(len(n) for n in ds.class_names))
    print("train counts:")
    for name, n in zip(ds.class_names, ds.train_counts):
        print(f"  {name:<{width}}  {n:>7}")
    print(f"  {'total':<{width}}  {sum(ds.train_counts):>7}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    try:
        folder = _require_prepared(args)
        manifest = read_manifest(folder)
        try:
            stats = dataset_stats(manifest, folder)
        except (KeyError, TypeError, ValueError) as e:
            raise DatasetError(
                f"{folder / MANIFEST}: incomplete manifest ({type(e).__name__}: {e}); delete {folder} and prepare again"
            ) from None
    except DatasetError as e:
        return _error(e)
    if args.json:
        print(json.dumps(stats, sort_keys=True))
    else:
        print(format_stats(stats))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from datasets.verify import verify_prepared

    try:
        data = PreparedDataset.load(_require_prepared(args))
        problems = verify_prepared(data, args.raw_root)
    except DatasetError as e:
        return _error(e)
    for problem in problems:
        print(f"mismatch: {data.root}: {problem}", file=sys.stderr)
    if problems:
        return 1
    sources = f", {len(data.manifest.get('source_checksums', {}))} source files" if args.raw_root is not None else ""
    print(f"OK {data.root}: labels, {len(data.splits)} splits, split counts{sources}")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from datasets.bloodcell import SHIPPED_FILE, write_bloodcell_lt

    out = args.out or SHIPPED_FILE
    try:
        manifest = write_bloodcell_lt(args.source, out)
    except DatasetError as e:
        return _error(e)
    print(f"wrote {out} ({manifest['bytes']} bytes, sha256 {manifest['sha256']}) and {out.with_suffix('.json')}")
    for split, counts in manifest["split_counts"].items():
        print(f"  {split:<5} {sum(counts):>5}  {counts}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    rows = [("NAME", "TITLE", "DEMO", "PREPARED")]
    for name, cls in sorted(registered_builders().items()):
        shown = name + (":<flag>" if getattr(cls, "takes_argument", False) else "")
        prefix = f"{name}_*" if getattr(cls, "takes_argument", False) else name
        found = sorted(Path(args.cache_dir).glob(f"{prefix}-*/*px/manifest.json"))
        prepared = ", ".join(sorted({_describe_prepared(m) for m in found})) or "-"
        rows.append((shown, cls.title, "demo" if cls.demo else "", prepared))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


# -- statistics (the paper's Table 1, from the manifest only) ---------------------
def read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DatasetError(f"{path}: not found (prepare the dataset first)") from None
    except (OSError, ValueError) as e:
        raise DatasetError(f"{path}: unreadable ({e}); delete {folder} and prepare again") from None


def dataset_stats(manifest: dict[str, Any], folder: str | Path | None = None) -> dict[str, Any]:
    """Table-1 statistics and per-split per-class counts of a prepared dataset, from its manifest only."""
    m = manifest
    names = list(m["class_names"])
    counts = {s: list(m["split_counts"][s]) for s in ("train", "val", "test")}
    train = counts["train"]
    n_max, n_min = max(train), min(train)
    group_of = {c: g for g, members in m["groups"].items() if members for c in members}
    shape = m.get("image_shape", [None, None, None])
    return {
        "name": m["name"],
        "title": m.get("title", ""),
        "demo": bool(m.get("demo", False)),
        "image_type": m.get("image_type", ""),
        "folder": None if folder is None else str(folder),
        "manifest_sha256": manifest_sha256(m),
        "num_classes": len(names),
        "image_size": f"{shape[0]}x{shape[1]}",
        "n_max": n_max,
        "n_max_class": names[train.index(n_max)],
        "n_min": n_min,
        "n_min_class": names[train.index(n_min)],
        "rho": round(n_max / n_min, 1) if n_min > 0 else None,
        "images": {**{s: sum(c) for s, c in counts.items()}, "total": int(m["num_images"])},
        "groups": m["groups"],
        "classes": [
            {"index": i, "name": n, "group": group_of.get(i), **{s: counts[s][i] for s in counts}}
            for i, n in enumerate(names)
        ],
        "construction": m.get("construction", {}),
    }


def format_stats(stats: dict[str, Any]) -> str:
    lines = [f"{stats['name']}: {stats['title']}"]
    if stats["demo"]:
        lines.append("DEMONSTRATION SET (not medical data)")
    rho = "n/a (a class has no training image)" if stats["rho"] is None else f"{stats['rho']:.1f}"
    im = stats["images"]
    lines += [
        f"  folder      {stats['folder']}",
        f"  image type  {stats['image_type']}",
        f"  classes     {stats['num_classes']}",
        f"  image size  {stats['image_size']} (cache)",
        f"  n_max       {stats['n_max']} ({stats['n_max_class']})",
        f"  n_min       {stats['n_min']} ({stats['n_min_class']})",
        f"  rho         {rho}",
        f"  images      train {im['train']}, val {im['val']}, test {im['test']} (total {im['total']})",
        "",
    ]
    rows = [("#", "class", "group", "train", "val", "test")]
    rows += [
        (str(c["index"]), c["name"], c["group"] or "-", str(c["train"]), str(c["val"]), str(c["test"]))
        for c in stats["classes"]
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for r in rows:
        cells = [
            r[0].rjust(widths[0]),
            r[1].ljust(widths[1]),
            r[2].ljust(widths[2]),
            *(c.rjust(w) for c, w in zip(r[3:], widths[3:])),
        ]
        lines.append("  " + "  ".join(cells))
    return "\n".join(lines)


# -- helpers ----------------------------------------------------------------------
def parse_params(items: list[str]) -> dict[str, Any]:
    """``["rho=10", "split=patient"]`` -> ``{"rho": 10, "split": "patient"}`` (values parsed as JSON when they are)."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise DatasetError(f"--param {item!r}: expected KEY=VALUE")
        params[key.strip()] = _parse_value(value.strip())
    return params


def _builder(args: argparse.Namespace) -> DatasetBuilder:
    params = parse_params(args.param)
    try:
        return create_builder(args.name, seed=args.seed, **params)
    except TypeError as e:  # an unknown construction field
        raise DatasetError(f"{args.name}: bad --param ({e})") from None


def _require_prepared(args: argparse.Namespace) -> Path:
    """The prepared folder ``args`` name; a DatasetError with the prepare command when there is none."""
    builder = _builder(args)
    folder = _prepared_folder(builder, Path(args.cache_dir), args.size)
    if folder is None:
        size = args.size or builder.default_size
        extra = "".join(
            [
                f" --size {args.size}" if args.size else "",
                f" --seed {args.seed}" if args.seed else "",
                *(f" -p {p}" for p in args.param),
            ]
        )
        raise DatasetError(
            f"{builder.id} is not prepared at {size} px in {args.cache_dir}; run `python -m benchmark"
            f" datasets prepare {args.name} --raw-root DIR --cache-dir {args.cache_dir}{extra}` first"
        )
    return folder


def _parse_value(text: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return tuple(value) if isinstance(value, list) else value


def _prepared_folder(builder: DatasetBuilder, cache_root: Path, size: int | None) -> Path | None:
    """The prepared folder at ``size``; without ``size``, the default size, else any prepared size."""
    if size is not None:
        folder = builder.folder(cache_root, size)
        return folder if (folder / MANIFEST).is_file() else None
    default = builder.folder(cache_root, builder.default_size)
    if (default / MANIFEST).is_file():
        return default
    found = sorted(default.parent.glob("*px/manifest.json"), key=lambda p: int(p.parent.name[:-2] or 0))
    return found[0].parent if found else None


def _describe_prepared(manifest_path: Path) -> str:
    size = manifest_path.parent.name
    try:
        name = json.loads(manifest_path.read_text())["name"]
    except (OSError, ValueError, KeyError):
        return f"{size} (unreadable manifest)"
    return f"{name} {size}" if ":" in name else size


def _error(e: Exception) -> int:
    message = " ".join(str(e).split()) or type(e).__name__
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR
