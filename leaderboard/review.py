"""Review a leaderboard submission (``python -m benchmark review leaderboard/submissions/<id>``).

A submission folder holds ``method.py`` and ``results/``. The review validates the results (the checks of
``validate``), requires every result of a cell to come from ``method.py`` (its SHA-256), re-runs each cell's method
from that file for every submitted seed where this machine can, and compares submitted and re-run means as the
reproduction check does (:data:`JUDGED_METRICS`). The outcome (:class:`ReviewVerdict`) is pass (exit 0), fail
(exit 1) or could not verify (exit 3); :func:`merge` copies a passed submission into the board. docs/submitting.md
says how a maintainer runs it.
"""

from __future__ import annotations

import ast
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

import datasets as ds
from benchmark import grid
from benchmark.analysis.reproduction import (
    MAX_BANDS,
    compare,
    load_reference_csv,
    normalise_method,
    reference_csv_from_frame,
)
from benchmark.errors import UserError
from benchmark.protocol import load_protocol
from benchmark.results.claims import CLAIM_FILES, read_claim
from benchmark.results.identity import mismatches, result_identity, run_identity
from benchmark.results.reader import load_results, results_frame
from benchmark.results.schema import RunResult
from benchmark.results.store import iter_result_files, result_path
from benchmark.results.validate import load_checked, validate_results
from benchmark.results.validate.manifests import cache_size
from methods import user_files
from methods.registry import UnknownMethodError, load_method_from_file

#: The metrics (short names of :func:`benchmark.results.schema.group_metrics`) a cell is judged on: the mean class
#: recall over all classes, the leaderboard's headline number (minor-class MCR has a seed SD of several pp and
#: a 3-seed check of it a band of about ±7 pp, see README "Statistics").
JUDGED_METRICS: tuple[str, ...] = ("all",)
EXIT_PASS, EXIT_FAIL, EXIT_UNVERIFIED = 0, 1, 3
CellStatus = Literal["pass", "FAIL", "not re-run", "inconclusive"]
Cell = tuple[str, str, str, str]  # dataset, backbone, protocol, method id


@dataclass
class CellVerdict:
    """The review of one result cell."""

    dataset: str
    backbone: str
    protocol: str
    method_id: str
    method: str
    seeds: list[int]
    status: CellStatus = "not re-run"
    submitted_mean: float | None = None
    rerun_mean: float | None = None
    allowed: float | None = None
    reason: str = ""

    @property
    def key(self) -> Cell:
        return (self.dataset, self.backbone, self.protocol, self.method_id)


@dataclass
class ReviewVerdict:
    """The review of a submission: problems that fail it outright, and one :class:`CellVerdict` per cell."""

    submission: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cells: list[CellVerdict] = field(default_factory=list)

    @property
    def outcome(self) -> Literal["pass", "fail", "could not verify"]:
        if self.problems or any(c.status == "FAIL" for c in self.cells):
            return "fail"
        if not self.cells or any(c.status != "pass" for c in self.cells):
            return "could not verify"
        return "pass"

    @property
    def exit_code(self) -> int:
        return {"pass": EXIT_PASS, "fail": EXIT_FAIL}.get(self.outcome, EXIT_UNVERIFIED)

    def markdown(self) -> str:
        """The verdict as Markdown: the overall line, the problems, one table row per cell, the notes."""
        overall = {"pass": "PASS", "fail": "FAIL", "could not verify": "COULD NOT VERIFY"}[self.outcome]
        lines = [f"## Review of `{self.submission}`", "", f"**Overall: {overall}** (exit {self.exit_code})", ""]
        if self.problems:
            lines += ["Problems:", "", *(f"- {_md(p)}" for p in self.problems), ""]
        metrics = "/".join(JUDGED_METRICS)
        lines += [
            f"| dataset | backbone | protocol | method | seeds | submitted mean ({metrics} MCR) | re-run mean "
            "| allowed band | status | why |",
            "| --- | --- | --- | --- | --- | ---: | ---: | ---: | --- | --- |",
        ]
        for c in self.cells:
            lines.append(
                f"| {_md(c.dataset)} | {_md(c.backbone)} | {_md(c.protocol)} | {_md(c.method)} (`{_md(c.method_id)}`) "
                f"| {' '.join(map(str, c.seeds))} | {_num(c.submitted_mean)} | {_num(c.rerun_mean)} "
                f"| {'±' + _num(c.allowed) if c.allowed is not None else '–'} | {c.status} | {_md(c.reason)} |"
            )
        if self.notes:
            lines += ["", "Notes:", "", *(f"- {_md(n)}" for n in self.notes)]
        return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """``text`` safe in a Markdown table cell (one line, ``|`` escaped)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _num(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.2f}"


def _default_max_bands() -> dict[str, float]:
    return dict(MAX_BANDS)


@dataclass(frozen=True)
class ReviewSettings:
    """Where datasets live and how the re-run and the comparison are done."""

    cache_dir: Path
    raw_root: Path | None = None
    device: str = "auto"
    tolerance: float = 1.0
    #: widest band per metric (``check``'s :data:`benchmark.analysis.reproduction.MAX_BANDS` unless given)
    max_band: float | Mapping[str, float] = field(default_factory=_default_max_bands)
    progress: bool = True
    #: Dataset -> expected manifest hashes (``validate --manifest``).
    manifests: Mapping[str, set[str]] = field(default_factory=dict)
    #: Pretrained weights and downloads for the re-run, as :class:`benchmark.grid.GridSettings` takes them.
    weights_dir: Path | None = None
    allow_download: bool = False


def submission_paths(submission: Path) -> tuple[Path, Path]:
    """``(method.py, results/)`` of a submission folder; :class:`benchmark.cli.UserError` when one is missing."""
    method_file, results = submission / "method.py", submission / "results"
    for path, what in ((method_file, "a file"), (results, "a folder")):
        if not (path.is_file() if what == "a file" else path.is_dir()):
            raise UserError(f"{path}: not found; a submission folder holds method.py and results/ ({what})")
    return method_file, results


def review(submission: Path, settings: ReviewSettings) -> ReviewVerdict:
    """Validate, check the method file's hash, re-run and compare every cell (see the module docstring)."""
    method_file, results_dir = submission_paths(submission)
    verdict = ReviewVerdict(submission)
    by_cell = _load_cells(results_dir, verdict)
    unavailable = {key for key, why in _available(by_cell, settings, verdict).items() if why is not None}
    invalid = _validate(results_dir, settings, verdict, skip_unverifiable={key[0] for key in unavailable})
    sha = user_files.file_sha256(method_file)
    todo: dict[Cell, list[RunResult]] = {}
    for key, runs in sorted(by_cell.items()):
        cell = verdict.cells[[c.key for c in verdict.cells].index(key)]
        mismatch = [r for r in runs if r.method_source_sha256 != sha]
        if mismatch:
            cell.status = "FAIL"
            cell.reason = f"method.py has SHA-256 {sha}, the results were produced by another file"
            verdict.problems += [
                f"{_result_where(results_dir, r)}: method_source_sha256 {r.method_source_sha256} differs from "
                f"the SHA-256 of {method_file} ({sha}): the results were produced by a different file"
                for r in mismatch
            ]
        elif key not in unavailable:
            todo[key] = runs
    if todo:
        _rerun_and_compare(method_file, todo, settings, verdict)
    _fail_invalid_cells(results_dir, by_cell, invalid, verdict)
    return verdict


def _fail_invalid_cells(
    results_dir: Path, by_cell: Mapping[Cell, list[RunResult]], invalid: list[str], verdict: ReviewVerdict
) -> None:
    """A cell whose files have validation problems fails, whatever its comparison said (its numbers stay
    shown: they are what the submission claims)."""
    for cell in verdict.cells:
        folder = Path(_result_where(results_dir, by_cell[cell.key][0])).parent.relative_to(results_dir).as_posix()
        mine = sum(1 for where in invalid if where.startswith(folder + "/"))
        if mine and cell.status != "FAIL":
            why = f"validation: {mine} problem{'s' * (mine != 1)} in its files (listed above)"
            cell.status, cell.reason = "FAIL", "; ".join(x for x in (why, cell.reason) if x)


def _load_cells(results_dir: Path, verdict: ReviewVerdict) -> dict[Cell, list[RunResult]]:
    """The finished results of every cell (files the readers refuse are left out: validation names them)."""
    by_cell: dict[Cell, list[RunResult]] = {}
    for _, r in load_checked(results_dir, on_invalid=lambda e: None):
        if r.status == "ok":
            s = r.spec
            by_cell.setdefault((s.dataset, s.backbone, s.protocol, s.method_id), []).append(r)
    for key, runs in sorted(by_cell.items()):
        runs.sort(key=lambda r: r.spec.seed)
        cell = CellVerdict(*key, runs[0].spec.method, [r.spec.seed for r in runs])
        values = [r.metrics.mcr_all for r in runs if r.metrics is not None]
        cell.submitted_mean = sum(values) / len(values) if values else None  # replaced by check's mean if re-run
        verdict.cells.append(cell)
    return by_cell


def _available(
    by_cell: Mapping[Cell, list[RunResult]], settings: ReviewSettings, verdict: ReviewVerdict
) -> dict[Cell, str | None]:
    """Per cell, None when this machine can re-run its dataset, else why not (also set on the cell)."""
    out: dict[Cell, str | None] = {}
    for cell in verdict.cells:
        first = by_cell[cell.key][0]
        try:
            builder = grid.dataset_builder(cell.dataset, first.dataset_params or {})
            size = cache_size(first)
            prepared = size is not None and (builder.folder(settings.cache_dir, size) / "manifest.json").is_file()
            why = (
                None if not builder.needs_raw or prepared else f"{cell.dataset} is not prepared in {settings.cache_dir}"
            )
        except ds.DatasetError as e:
            why = f"{cell.dataset} cannot be built here ({e})"
        out[cell.key] = why
        if why is not None:
            cell.reason = why
    return out


def _validate(
    results_dir: Path, settings: ReviewSettings, verdict: ReviewVerdict, skip_unverifiable: set[str]
) -> list[str]:
    """The ``validate`` command's checks; a manifest hash that cannot be verified because the dataset is not
    here (and no ``--manifest`` was given for it) is a note: its cells are *not re-run*, never passed. Returns
    where each problem is (a file relative to the results directory, or a dataset or cell)."""
    report = validate_results(results_dir, cache_dir=settings.cache_dir, manifests=settings.manifests)
    for p in report.problems:
        unverifiable = (
            p.check == "manifest_hash"
            and p.where in skip_unverifiable
            and p.where not in settings.manifests
            and "cannot verify" in p.message
        )
        (verdict.notes if unverifiable else verdict.problems).append(f"validate: {p}")
    verdict.notes += [f"validate: {n}" for n in report.notes]
    return [p.where for p in report.problems if f"validate: {p}" in verdict.problems]


def _result_where(results_dir: Path, r: RunResult) -> str:
    return result_path(results_dir, r.spec).as_posix()


def find_method_class(method_file: Path, method_id: str, rebalance: str | None) -> Any:
    """The method of ``method_file`` whose id (with the stage-2 suffix ``rebalance``) is ``method_id``, loaded
    as ``run --method FILE:Class[:suffix]`` loads it; :class:`benchmark.cli.UserError` when there is none."""
    try:
        tree = ast.parse(method_file.read_text(encoding="utf-8"), filename=str(method_file))
    except (SyntaxError, UnicodeDecodeError) as e:
        raise UserError(f"{method_file}: not Python source ({e})") from None
    names = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
    errors = []
    for name in names:
        spec = f"{method_file}:{name}" + (f":{rebalance}" if rebalance else "")
        try:
            method = load_method_from_file(spec)
        except UnknownMethodError as e:
            errors.append(str(e))  # not a Method subclass, or a file that fails to import
            continue
        if method.method_id == method_id:
            return method
    why = f"; {errors[-1]}" if errors else ""
    classes = ", ".join(names) or "none"
    raise UserError(f"{method_file}: no method class with id {method_id!r} (classes: {classes}){why}")


def _rerun_and_compare(
    method_file: Path, todo: Mapping[Cell, list[RunResult]], settings: ReviewSettings, verdict: ReviewVerdict
) -> None:
    """Re-run every cell of ``todo`` into a temporary directory, then compare the submitted runs with it."""
    cells = {c.key: c for c in verdict.cells}
    with tempfile.TemporaryDirectory(prefix="medlt-review-") as tmp:
        rerun_dir = Path(tmp) / "results"
        for key, runs in todo.items():
            try:
                _rerun_cell(method_file, runs, rerun_dir, settings)
            except UserError as e:  # the method file or the results do not describe the cell's runs
                cells[key].status, cells[key].reason = "FAIL", f"re-run refused: {e}"
                verdict.problems.append(f"{'/'.join(key)}: re-run refused: {e}")
            except ds.DatasetError as e:  # e.g. a dataset whose official files are not in --raw-root
                cells[key].status, cells[key].reason = "not re-run", f"dataset: {e}"
        rerun = results_frame(load_results(rerun_dir)) if rerun_dir.is_dir() else None
        submitted = results_frame([r for runs in todo.values() for r in runs])
        judged = [cells[k] for k in todo if cells[k].status == "not re-run" and not cells[k].reason]
        _judge(submitted, rerun, judged, Path(tmp), settings)


def _rerun_cell(method_file: Path, runs: list[RunResult], rerun_dir: Path, settings: ReviewSettings) -> None:
    """Run the cell's method from ``method_file`` on its dataset, backbone and protocol for every seed."""
    first = runs[0]
    method = find_method_class(method_file, first.spec.method_id, first.rebalance)
    protocol = load_protocol(first.spec.protocol)
    dataset, backbone = first.spec.dataset, first.spec.backbone
    now = run_identity(grid.Run(dataset, method, backbone, first.spec.seed, protocol.for_dataset(dataset)))
    for d in mismatches(result_identity(first), now, ("hyperparameters", "protocol")):
        if d.part == "hyperparameters":
            raise UserError(f"the results record hyper-parameters {d.before}, {method_file} defaults to {d.now}")
        raise UserError(f"the results' settings of protocol {first.spec.protocol!r} differ from this version's")
    params = dict(first.dataset_params or {})
    seeds = [r.spec.seed for r in runs]
    cell = grid.plan(
        [method],
        [dataset],
        [backbone],
        seeds,
        protocol,
        dataset_params=params,
        weights_dir=settings.weights_dir,
        allow_download=settings.allow_download,
    )
    grid_settings = grid.GridSettings(
        results_dir=rerun_dir,
        cache_dir=settings.cache_dir,
        raw_root=settings.raw_root,
        device=settings.device,
        weights_dir=settings.weights_dir,
        allow_download=settings.allow_download,
        progress=settings.progress,
        dataset_params=params,
    )
    grid.run(cell, grid_settings)


def _judge(submitted: Any, rerun: Any, cells: list[CellVerdict], tmp: Path, settings: ReviewSettings) -> None:
    """Each cell's status from :func:`benchmark.analysis.reproduction.compare` of the submitted runs with a reference
    written from the re-run (a cell the re-run did not finish for every seed is *not re-run*)."""
    done = []
    for cell in cells:
        mine = _cell_rows(rerun, cell) if rerun is not None else None
        if mine is None or sorted(mine["seed"].tolist()) != cell.seeds:
            cell.status, cell.reason = "not re-run", "the re-run did not finish every seed (its results hold the error)"
        else:
            done.append((cell, mine))
    if not done:
        return
    reference_file = tmp / "rerun-reference.csv"
    reference_file.write_text(reference_csv_from_frame(pd.concat([m for _, m in done])), encoding="utf-8")
    reference = [r for r in load_reference_csv(reference_file, source="re-run") if r.metric in JUDGED_METRICS]
    comparisons = compare(submitted, reference, settings.tolerance, max_band=settings.max_band)
    for cell, _ in done:
        _set_status(cell, [c for c in comparisons if c.ran and _same_cell(c, cell)])


def _cell_rows(frame: Any, cell: CellVerdict) -> Any:
    rows = frame[
        (frame["dataset"] == cell.dataset)
        & (frame["backbone"] == cell.backbone)
        & (frame["protocol"] == cell.protocol)
        & (frame["method_id"] == cell.method_id)
    ]
    return rows if len(rows) else None


def _same_cell(comparison: Any, cell: CellVerdict) -> bool:
    ref = comparison.ref
    return (ref.dataset, comparison.backbone, comparison.protocol, ref.method) == (
        cell.dataset,
        cell.backbone,
        cell.protocol,
        normalise_method(cell.method),
    )


def _set_status(cell: CellVerdict, comparisons: list[Any]) -> None:
    """The worst of the cell's comparisons (one per judged metric): FAIL, then inconclusive, else pass."""
    if not comparisons:
        cell.status, cell.reason = "inconclusive", "nothing to compare"
        return
    headline = comparisons[0]
    cell.submitted_mean, cell.rerun_mean, cell.allowed = headline.reproduced, headline.ref.value, headline.allowed
    failed = [c for c in comparisons if not c.ok]
    unsure = [c for c in comparisons if c.ok and c.inconclusive]
    if failed:
        cell.status = "FAIL"
        cell.reason = "; ".join(
            f"{c.ref.metric} MCR: submitted {c.reproduced:.2f} vs re-run {c.ref.value:.2f}, difference "
            f"{c.diff:+.2f} outside ±{c.allowed:.2f}"
            for c in failed
        )
    elif unsure:
        cell.status = "inconclusive"
        cell.reason = "; ".join(f"{c.ref.metric} MCR: {c.inconclusive}" for c in unsure)
    else:
        cell.status, cell.reason = "pass", ""


# -- merging into the published board ----------------------------------------------------------------
def merge(results_dir: Path, board: Path) -> list[Path]:
    """Copy a submission's result files (``seed-*.json``, their ``.preds.npz``) and identity files into
    ``board`` under the same relative paths; returns the files written (the board's paths).

    Refused (:class:`benchmark.cli.UserError` naming the path) before anything is written when a result or
    predictions file already exists in the board, or an identity file (``.protocol.json``, ``.run.json``)
    there records another configuration. Everything is copied into a hidden temporary folder inside
    ``board`` first and then renamed into place, so no file is ever half-written.
    """
    plan = _merge_plan(results_dir, board)
    board.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".merge-", dir=board))
    try:
        for rel in plan:
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(results_dir / rel, staging / rel)
        for rel in plan:  # re-checked at the last moment: another merge may have written meanwhile
            if (board / rel).exists() and rel.name not in CLAIM_FILES:
                raise UserError(f"{board / rel}: already exists in the board; nothing more was merged")
            (board / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, board / rel)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [board / rel for rel in plan]


def _merge_plan(results_dir: Path, board: Path) -> list[Path]:
    """The relative paths to copy; refuses an existing result file or an identity file that differs."""
    plan: list[Path] = []
    for path in iter_result_files(results_dir):
        rel = path.relative_to(results_dir)
        for candidate in (rel, rel.with_name(rel.stem + ".preds.npz")):
            if (board / candidate).exists():
                raise UserError(f"{board / candidate}: already exists in the board; nothing was merged")
            if (results_dir / candidate).is_file():
                plan.append(candidate)
    claims = {c for p in plan if p.name.endswith(".json") for c in _claims_of(p)}
    for claim in sorted(claims):
        if not (results_dir / claim).is_file():
            continue
        target = board / claim
        if target.exists():
            if mismatches(_recorded(target), _recorded(results_dir / claim)):
                raise UserError(f"{target}: the board records another configuration of this column; nothing was merged")
            continue  # the same configuration is recorded already
        plan.append(claim)
    return plan


def _claims_of(rel: Path) -> list[Path]:
    """The identity files of a result's folders: ``.protocol.json`` of its protocol folder, ``.run.json`` of its
    method folder."""
    return [rel.parent.parent / CLAIM_FILES[0], rel.parent / CLAIM_FILES[1]]


def _recorded(claim: Path) -> dict[str, Any]:
    """The identity a claim file records; a UserError naming an unreadable one."""
    recorded = read_claim(claim)
    if recorded is None:
        raise UserError(f"{claim}: unreadable identity file (expected JSON with an 'identity' object)")
    return recorded
