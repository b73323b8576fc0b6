"""The published board: the default grid's results kept in the repository, and when a number on it is stale.

``leaderboard/board/`` holds ``manifest.json`` (what was run, where, when) and ``results/`` (a results
directory as ``run`` writes it: one JSON and one predictions file per run, the folders' identity
claims, no checkpoints). A published result is *stale* when the registered row it belongs to would
now run differently: other code (``code_sha256``, :mod:`methods.source`), other hyper-parameters or
stage-2 settings, another protocol or another dataset build. :func:`stale_rows` names them and
:func:`refresh` re-runs exactly those and swaps them in, so the board never shows a number that the
code in the repository did not produce.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import datasets as ds
from benchmark import grid, provenance
from benchmark.errors import UserError
from benchmark.files import atomic_write_text
from benchmark.protocol import Protocol, load_protocol
from benchmark.results.identity import mismatches, protocol_settings, result_identity, run_identity
from benchmark.results.schema import RunResult, RunSpec
from benchmark.results.store import iter_result_files, read_result, result_path
from methods import create_method, method_entries
from methods.base import Method
from methods.source import code_files

#: The board in the repository (next to the site templates that render it).
BOARD_DIR = Path(__file__).resolve().parent / "board"
MANIFEST = "manifest.json"
#: What a published results directory keeps: results, predictions and the folders' identity claims.
PUBLISHED_PATTERNS = ("seed-*.json", "seed-*.preds.npz", ".protocol.json", ".run.json")


def machine() -> str:
    """The CPU model and the cores this process may use, as ``lscpu`` names them."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {grid.usable_cores()} cores"


@dataclass(frozen=True)
class BoardManifest:
    """What the board is a run of, and where and when it was computed."""

    dataset: str
    protocol: str
    backbone: str
    seeds: list[int]
    dataset_manifest_sha256: str
    jobs: int = 1
    threads: int = 1
    package_version: str = ""
    commit: str | None = None
    date: str = ""
    machine: str = ""
    note: str = field(default="", compare=False)

    @classmethod
    def read(cls, root: Path) -> BoardManifest:
        path = root / MANIFEST
        if not path.is_file():
            raise UserError(f"{path}: no board manifest (create the board with: python -m benchmark board refresh)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (ValueError, TypeError) as e:
            raise UserError(f"{path}: not a board manifest ({type(e).__name__}: {e})") from None

    def write(self, root: Path) -> None:
        atomic_write_text(root / MANIFEST, json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n")

    def load_protocol(self) -> Protocol:
        """The board's protocol as its dataset's runs use it (per-dataset settings applied)."""
        return load_protocol(self.protocol).for_dataset(self.dataset)

    def spec(self, method_id: str, name: str, seed: int) -> RunSpec:
        return RunSpec(
            dataset=self.dataset, method=name, method_id=method_id, backbone=self.backbone, seed=seed,
            protocol=self.protocol,
        )  # fmt: skip


@dataclass(frozen=True)
class StaleRow:
    """A registered row whose published results are missing or no longer what its code produces."""

    method_id: str
    name: str
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name} ({self.method_id}): " + "; ".join(self.reasons)


def _code_changes(recorded: dict[str, str] | None, now: dict[str, str]) -> str | None:
    if recorded is None:
        return "its code is not recorded (computed before code hashes were kept)"
    changed = [p for p in now if p in recorded and recorded[p] != now[p]]
    parts = [f"{p} changed" for p in changed]
    parts += [f"{p} now used" for p in now if p not in recorded]
    parts += [f"{p} no longer used" for p in recorded if p not in now]
    return ", ".join(parts) or None


#: How each part of the identity rule that differs makes a published row stale.
_STALE_BECAUSE = {
    "hyperparameters": "hyper-parameters changed: {keys}",
    "stage2_settings": "stage-2 settings changed: {keys}",
    "protocol": "protocol {protocol!r} changed: {keys}",
}


def row_problems(result: RunResult, method: Method, protocol: Protocol, manifest_sha256: str) -> list[str]:
    """Why ``result`` is not what ``method`` produces now under ``protocol`` on the dataset build
    ``manifest_sha256`` (empty: it is): a failed run, other code, or a part of the identity rule that differs."""
    problems = []
    if result.status != "ok":
        problems.append("the run failed")
    code = _code_changes(result.code_sha256, code_files(method))
    if code:
        problems.append(code)
    s = result.spec
    now = run_identity(grid.Run(s.dataset, method, s.backbone, s.seed, protocol), manifest_sha256=manifest_sha256)
    for d in mismatches(result_identity(result), now, (*_STALE_BECAUSE, "dataset_manifest_sha256")):
        if d.part == "dataset_manifest_sha256":
            problems.append(f"the {result.spec.dataset} build changed (manifest {d.before[:12]}…)")
        else:
            problems.append(_STALE_BECAUSE[d.part].format(keys=", ".join(d.keys) or d.part, protocol=protocol.name))
    return problems


def current_manifest_sha256(board: BoardManifest, cache_dir: Path) -> str:
    """The manifest hash of the board's dataset as this checkout builds it (prepared into ``cache_dir``)."""
    data = ds.create_builder(board.dataset).load(
        cache_root=cache_dir, size=board.load_protocol().cache_size, progress=False
    )
    return data.manifest_sha256


def stale_rows(root: Path, cache_dir: Path, methods: Sequence[Method] | None = None) -> list[StaleRow]:
    """Every registered row whose published results are missing or stale, and every published row that is no
    longer registered, in registry order; ``methods`` stands for the registry (tests use a small one)."""
    board = BoardManifest.read(root)
    protocol = board.load_protocol()
    manifest_sha256 = current_manifest_sha256(board, cache_dir)
    rows = [e.create() for e in method_entries()] if methods is None else list(methods)
    stale = []
    for method in rows:
        reasons: list[str] = []
        for seed in board.seeds:
            path = result_path(root / "results", board.spec(method.method_id, method.display_name, seed))
            if not path.is_file():
                reasons.append(f"seed {seed}: no published result")
                continue
            reasons += [f"seed {seed}: {p}" for p in row_problems(read_result(path), method, protocol, manifest_sha256)]
        if reasons:
            stale.append(StaleRow(method.method_id, method.display_name, tuple(_merge_seeds(reasons))))
    known = {m.method_id for m in rows}
    for method_id, name in sorted(published_rows(root).items()):
        if method_id not in known:
            stale.append(StaleRow(method_id, name, (_GONE,)))
    return stale


def _merge_seeds(reasons: list[str]) -> list[str]:
    """``seed 0: X``, ``seed 1: X`` -> ``seeds 0, 1: X`` (the same reason said once)."""
    by_reason: dict[str, list[str]] = {}
    for r in reasons:
        seed, _, reason = r.partition(": ")
        by_reason.setdefault(reason, []).append(seed.removeprefix("seed "))
    return [f"seed{'s' if len(s) > 1 else ''} {', '.join(s)}: {reason}" for reason, s in by_reason.items()]


def published_rows(root: Path) -> dict[str, str]:
    """``{method id: display name}`` of every row with a published result."""
    return {(r := read_result(p)).spec.method_id: r.spec.method for p in iter_result_files(root / "results")}


def copy_published(source: Path, target: Path, method_ids: Iterable[str] | None = None) -> list[Path]:
    """Copy the published files (results, predictions, identity claims) of ``source`` into ``target``, of
    every row or of ``method_ids``; returns the files written. Never overwrites: a file that exists with
    other contents is an error naming it."""
    wanted = set(method_ids) if method_ids is not None else None
    written = []
    for pattern in PUBLISHED_PATTERNS:
        for file in sorted(source.rglob(pattern)):
            rel = file.relative_to(source)
            if ".stage1" in rel.parts:
                continue
            if wanted is not None and pattern != ".protocol.json" and file.parent.name not in wanted:
                continue
            out = target / rel
            if out.exists():
                if out.read_bytes() != file.read_bytes():
                    raise UserError(f"{out}: exists with other contents than the board's {file}")
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, out)
            written.append(out)
    return written


def staging_dir(root: Path) -> Path:
    """A fresh folder beside the board (same file system: the swap is a rename)."""
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".refresh-", dir=root))


def swap_in(root: Path, staged_results: Path, method_ids: Iterable[str], board: BoardManifest) -> None:
    """Replace each row of ``method_ids`` in the board by the staged one (or remove it when the staging area
    has none), and the column's protocol claim; the old folders go to the staging area, deleted last."""
    column = Path(board.dataset) / board.backbone / board.protocol
    live, new = root / "results" / column, staged_results / column
    trash = staged_results.parent / "replaced"
    trash.mkdir(exist_ok=True)
    live.mkdir(parents=True, exist_ok=True)
    claim = new / ".protocol.json"
    if claim.is_file():
        os.replace(claim, live / ".protocol.json")
    for method_id in method_ids:
        if (live / method_id).exists():
            os.replace(live / method_id, trash / method_id)
        if (new / method_id).exists():
            for junk in (new / method_id).glob("*.lock"):
                junk.unlink()
            os.replace(new / method_id, live / method_id)


def new_manifest(board: BoardManifest, jobs: int, threads: int, manifest_sha256: str) -> BoardManifest:
    """``board`` stamped with this machine, checkout, time and dataset build."""
    return BoardManifest(
        **{
            **asdict(board),
            "dataset_manifest_sha256": manifest_sha256,
            "jobs": jobs,
            "threads": threads,
            "package_version": provenance.package_version(),
            "commit": provenance.git_commit(),
            "date": provenance.utc_now(),
            "machine": machine(),
        }
    )


@dataclass(frozen=True)
class RefreshOutcome:
    """What :func:`refresh` re-ran (ids), removed (ids no longer registered), and the new manifest."""

    rerun: list[str]
    removed: list[str]
    manifest: BoardManifest | None


def refresh(
    root: Path,
    cache_dir: Path,
    jobs: int = 1,
    threads: int = 1,
    progress: bool = True,
    init: BoardManifest | None = None,
    methods: Sequence[Any] | None = None,
) -> RefreshOutcome:
    """Re-run exactly the stale rows of the board at ``root`` and swap them in; ``init`` creates a board.

    The rows run into a staging folder beside the board; only when every run finished are the old folders
    replaced (a rename each) and the manifest rewritten, so a failed or killed refresh leaves the
    published board as it was.
    """
    if init is not None and not (root / MANIFEST).is_file():
        init.write(root)
    board = BoardManifest.read(root)
    stale = stale_rows(root, cache_dir, methods)
    rerun = [s.method_id for s in stale if s.reasons != (_GONE,)]
    removed = [s.method_id for s in stale if s.reasons == (_GONE,)]
    if not stale:
        return RefreshOutcome([], [], None)
    staging = staging_dir(root)
    keep_staging = False
    try:
        if rerun:
            by_id = {m.method_id: m for m in methods} if methods is not None else {}
            chosen = [by_id[i] if i in by_id else create_method(i) for i in rerun]
            runs = grid.plan(chosen, [board.dataset], [board.backbone], board.seeds, board.protocol)
            settings = grid.GridSettings(
                results_dir=staging / "results", cache_dir=cache_dir, device="cpu", progress=progress
            )
            counts = grid.run(runs, settings, grid.choose_executor(on_cpu=True, jobs=jobs, threads=threads))
            if counts["failed"] or counts["locked"]:
                keep_staging = True
                raise UserError(
                    f"{counts['failed']} runs failed, {counts['locked']} held by another worker: the board is "
                    f"unchanged; the failed results (with their errors) are in {staging / 'results'}"
                )
        manifest = new_manifest(board, jobs, threads, current_manifest_sha256(board, cache_dir))
        swap_in(root, staging / "results", rerun + removed, board)
        manifest.write(root)
    finally:
        if not keep_staging:
            shutil.rmtree(staging, ignore_errors=True)
    return RefreshOutcome(rerun, removed, manifest)


_GONE = "published, but no longer registered"


def evaluation_runs(root: Path, methods: Sequence[Method], results_dir: Path, cache_dir: Path) -> tuple[list[Any], str]:
    """The runs that put ``methods`` on the board's grid in ``results_dir``, after copying the published
    results there (no baseline is re-run), and a note (empty, or that the package version differs).

    Refuses, in one line naming what differs, a dataset build or protocol settings other than the board's,
    and a method that is already a published row.
    """
    board = BoardManifest.read(root)
    published = published_rows(root)
    for method in methods:
        if method.method_id in published:
            raise UserError(f"{method.method_id!r} is a published row of the board; evaluate runs new methods")
    protocol = board.load_protocol()
    sample = next(iter_result_files(root / "results"), None)
    if sample is not None:
        recorded = {"protocol": protocol_settings(read_result(sample).protocol_config)}
        if found := mismatches(recorded, {"protocol": protocol_settings(protocol.as_dict())}):
            raise UserError(
                f"protocol {board.protocol!r} here differs from the board's in {', '.join(found[0].keys)}: "
                "results would not be comparable (check out the board's version of benchmark/protocols)"
            )
    here = current_manifest_sha256(board, cache_dir)
    if here != board.dataset_manifest_sha256:
        raise UserError(
            f"dataset {board.dataset} here (manifest {here[:12]}…) is not the board's build "
            f"({board.dataset_manifest_sha256[:12]}…): results would not be comparable"
        )
    note = ""
    if board.package_version and board.package_version != provenance.package_version():
        note = (
            f"note: the board was computed with medlt-bench {board.package_version}, this is "
            f"{provenance.package_version()}: the comparison holds only if training did not change between them"
        )
    copy_published(root / "results", results_dir)
    return grid.plan(list(methods), [board.dataset], [board.backbone], board.seeds, protocol), note
