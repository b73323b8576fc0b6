"""Validate a results directory before it is submitted (``python -m benchmark validate DIR``).

A submission passes the named checks of :data:`CHECKS`, run in that order by :func:`validate_results`; each
failure is reported as ``FILE: FIELD: PROBLEM``. A broken result or predictions file is one such problem, not
an error that stops the validation: the submitter sees everything to fix in one pass (exit 1), and a directory
with any problem is refused as a submission.

The checks of scope ``file`` run on every ``seed-*.json`` in turn (a file that fails ``schema`` is checked no
further), then those of scope ``directory`` once, then those of scope ``dataset`` once per dataset and cache
size that the files name. The checks, in order (this list is made from :data:`CHECKS`):

"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import ValidationError

from .results import Predictions, ResultFileError, iter_result_files, load_predictions, predictions_path, result_path
from .schema import RunResult, group_metrics

MIN_SEEDS = 3


@dataclass(frozen=True)
class Problem:
    """One thing to fix: where (a file, or a dataset or cell), the field at fault (or None) and what is wrong."""

    where: str
    field: str | None
    message: str
    #: The name of the check (:data:`CHECKS`) that found it; not part of the message or of equality.
    check: str = dataclasses.field(default="", compare=False)  # `field` here would be the attribute above

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}" if self.field else f"{self.where}: {self.message}"


@dataclass
class ValidationReport:
    root: Path
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    cells: dict[tuple[str, str, str, str], set[int]] = field(default_factory=dict)
    verified_manifests: list[str] = field(default_factory=list)
    #: (dataset at size) whose class names and train / test counts were checked against its manifest.
    verified_counts: list[str] = field(default_factory=list)
    #: What could not be checked, and why (shown in the summary: nothing is skipped silently).
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def _notes(self) -> str:
        return "".join(f"; {note}" for note in self.notes)

    def summary(self) -> str:
        if not self.ok:
            return f"{len(self.problems)} problem{'s' * (len(self.problems) != 1)} in {self.root}{self._notes()}"
        datasets = {c[0] for c in self.cells}
        methods = {c[3] for c in self.cells}
        backbones = {c[1] for c in self.cells}
        protocols = {c[2] for c in self.cells}
        seeds = sorted({len(s) for s in self.cells.values()})
        plural = lambda n, w: f"{n} {w}{'s' * (n != 1)}"
        return (
            f"OK: {plural(self.files, 'result file')}, {plural(len(self.cells), 'cell')} "
            f"({plural(len(datasets), 'dataset')}, {plural(len(methods), 'method')}, "
            f"{plural(len(backbones), 'backbone')}, {plural(len(protocols), 'protocol')}), "
            f"{seeds[0] if len(seeds) == 1 else f'{seeds[0]}-{seeds[-1]}'} seeds per cell; "
            f"manifests verified: {', '.join(self.verified_manifests) or 'none'}; "
            f"class counts verified: {', '.join(self.verified_counts) or 'none'}{self._notes()}"
        )


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pydantic_problems(where: str, error: ValidationError) -> list[Problem]:
    """One :class:`Problem` per pydantic error: the field path and a plain message."""
    out = []
    for e in error.errors(include_url=False):
        kind = e.get("type", "")
        if kind == "missing":
            message = "required field is missing"
        elif kind == "extra_forbidden":
            message = "unknown field (not in the result schema)"
        else:
            message = f"{e['msg']} (got {_short(e.get('input'))})"
        out.append(Problem(where, _loc(tuple(e["loc"])), message))
    return out


#: How far a stored metric or recall (in %; NLL in nats) may be from the value recomputed from the evidence.
TOLERANCE = 1e-6


def _check_recomputed_metrics(
    where: str, r: RunResult, evidence: Predictions, groups: Mapping[str, list[int]]
) -> list[Problem]:
    """Metrics beyond the MCR of the dataset's groups (schema version 2), where the result has them, against
    the values :func:`benchmark.metrics.evaluate_predictions` recomputes from the predictions file."""
    from .metrics import LOGIT_METRICS, evaluate_predictions
    from .schema import metric_names

    assert r.metrics is not None and r.per_class is not None
    stored = r.metrics.model_dump()
    recomputed = evaluate_predictions(
        evidence.y_true,
        evidence.y_pred,
        len(r.per_class.class_names),
        {"major": groups["major"], "minor": groups["minor"], "medium": groups["medium"] or None},
        logits=evidence.logits,
        train_counts=r.per_class.train_counts,
        temperature=r.calibration_temperature,  # fitted on the validation split, recorded in the result
    )
    out = []
    for name in metric_names():
        got = stored[name]
        if name in group_metrics().values() or got is None or math.isnan(got):
            continue  # check_metrics_match_confusion / absent / check_metrics_defined says so
        source = f"the logits in {r.predictions_file}" if name in LOGIT_METRICS else f"{r.predictions_file}"
        if name in LOGIT_METRICS and evidence.logits is None:
            out.append(Problem(where, f"metrics.{name}", f"cannot be checked: {r.predictions_file} holds no logits"))
            continue
        value = recomputed[name]
        if value is None or math.isnan(value) or abs(got - value) > TOLERANCE:
            shown = "undefined" if value is None or math.isnan(value) else f"{value:.6f}"
            out.append(Problem(where, f"metrics.{name}", f"{got} disagrees with {source} ({shown})"))
    return out


def _check_recall(where: str, r: RunResult, cm: np.ndarray) -> list[Problem]:
    """Per-class recall (%) is the confusion matrix's diagonal over its row sums."""
    assert r.per_class is not None
    rows = cm.sum(axis=1)
    out = []
    for i, (name, got) in enumerate(zip(r.per_class.class_names, r.per_class.recall)):
        if rows[i] == 0 or got is None or (isinstance(got, float) and math.isnan(got)):
            continue
        value = 100.0 * cm[i, i] / rows[i]
        if abs(got - value) > TOLERANCE:
            out.append(
                Problem(
                    where,
                    f"per_class.recall[{i}]",
                    f"{got} for {name!r} disagrees with the confusion matrix ({value:.6f})",
                )
            )
    return out


def _check_predictions_reproduce(
    where: str, r: RunResult, cm: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray
) -> list[Problem]:
    """The predictions file must give exactly the stored confusion matrix (rows: true class)."""
    c = cm.shape[0]
    if y_true.size and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= c):
        return [Problem(where, "predictions_file", f"{r.predictions_file}: labels outside 0..{c - 1}")]
    recomputed = np.zeros((c, c), dtype=np.int64)
    np.add.at(recomputed, (y_true.astype(np.int64), y_pred.astype(np.int64)), 1)
    if not np.array_equal(recomputed, cm):
        i, j = map(int, np.argwhere(recomputed != cm)[0])
        return [
            Problem(
                where,
                "predictions_file",
                f"{r.predictions_file} does not reproduce the confusion matrix "
                f"(true {i}, predicted {j}: {recomputed[i, j]} in the file, "
                f"{cm[i, j]} in the result)",
            )
        ]
    return []


def _check_nan_metrics(where: str, r: RunResult) -> list[Problem]:
    """A metric stored as "NaN" (e.g. a group with no test image) cannot be ranked or compared."""
    if r.metrics is None:
        return []
    return [
        Problem(where, f"metrics.{name}", "NaN (undefined); a submitted run needs every metric")
        for name, value in r.metrics.model_dump().items()
        if value is not None and math.isnan(value)
    ]


def _check_provenance(where: str, r: RunResult) -> list[Problem]:
    return [
        Problem(where, f"provenance.{name}", "empty")
        for name in ("package_version", "torch_version", "python_version", "device", "started", "finished")
        if not str(getattr(r.provenance, name)).strip()
    ]


def _cache_size(r: RunResult) -> int | None:
    size = r.protocol_config.get("cache_size")
    if isinstance(size, int):
        return size
    from .protocol import ProtocolError, load_protocol

    try:
        return load_protocol(r.spec.protocol).for_dataset(r.spec.dataset).cache_size
    except ProtocolError:
        return None


def dataset_manifest(dataset: str, size: int | None, cache_dir: Path) -> tuple[dict[str, Any] | None, str]:
    """The registered construction's prepared manifest (class names, split counts, checksums) at ``size`` px,
    if it can be had here, and how it was found (or why not).

    Datasets that need no download are built into ``cache_dir``; for the others a prepared manifest must be
    there already. Raises :class:`datasets.DatasetError` when a dataset cannot be built.
    """
    import datasets as ds

    builder = ds.create_builder(dataset)
    if size is None:
        return None, "unknown cache size"
    if not builder.needs_raw:
        prepared = builder.load(cache_root=cache_dir, size=size, progress=False)
        return prepared.manifest, f"built here at {size} px"
    path = builder.folder(cache_dir, size) / "manifest.json"
    if not path.is_file():
        return None, f"not prepared in {cache_dir}"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"{path} unreadable ({e})"
    if not isinstance(manifest, dict):
        return None, f"{path} is not a JSON object"
    return manifest, f"prepared in {path.parent}"


def expected_manifest(dataset: str, size: int | None, cache_dir: Path) -> tuple[str | None, str]:
    """The registered construction's manifest hash, if it can be had here, and how it was found."""
    import datasets as ds

    manifest, how = dataset_manifest(dataset, size, cache_dir)
    return (ds.manifest_sha256(manifest) if manifest is not None else None), how


@dataclass(frozen=True)
class RunCounts:
    """What one result file says about its dataset: class names, training and test counts per class."""

    where: str
    manifest_sha256: str
    class_names: list[str]
    train_counts: list[int]
    test_counts: list[int] | None  # row sums of the confusion matrix; None without one


def _run_counts(where: str, r: RunResult) -> RunCounts | None:
    if r.status != "ok" or r.per_class is None:
        return None
    cm = r.confusion_matrix
    return RunCounts(
        where,
        r.dataset_manifest_sha256,
        list(r.per_class.class_names),
        list(r.per_class.train_counts),
        [int(sum(row)) for row in cm] if cm is not None else None,
    )


def _first_difference(got: list[Any], expected: list[Any]) -> int | None:
    return next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), None)


def count_problems(run: RunCounts, manifest: Mapping[str, Any]) -> list[Problem]:
    """The run's class names, training counts and test counts (confusion-matrix row sums) against the
    dataset manifest's ``class_names`` and ``split_counts``; each problem names the first differing class.

    Counts of a different length are left to the consistency checks (they say how many entries there are).
    """
    names = list(manifest["class_names"])
    counts = manifest["split_counts"]
    if len(run.class_names) != len(names):
        return [
            Problem(
                run.where,
                "per_class.class_names",
                f"{len(run.class_names)} classes in the result, {len(names)} in the dataset manifest",
            )
        ]
    out = []
    i = _first_difference(run.class_names, names)
    if i is not None:
        out.append(
            Problem(
                run.where,
                "per_class.class_names",
                f"class {i} is {run.class_names[i]!r} in the result, {names[i]!r} in the dataset manifest",
            )
        )
    for field_name, got, split, unit in (
        ("per_class.train_counts", run.train_counts, "train", ""),
        ("confusion_matrix", run.test_counts, "test", " test images (row sum)"),
    ):
        expected = list(counts[split])
        if got is None or len(got) != len(expected):
            continue
        i = _first_difference(got, expected)
        if i is not None:
            out.append(
                Problem(
                    run.where,
                    field_name,
                    f"class {i} {names[i]!r} has {got[i]}{unit} in the result, {expected[i]} in the dataset manifest",
                )
            )
    return out


# -- what the checks read ----------------------------------------------------------------------
@dataclass
class ResultFile:
    """One ``seed-*.json`` of a submission and what the checks derive from it, each computed once."""

    root: Path
    path: Path
    #: The result when the reader already parsed it (:func:`load_checked`); else the file is parsed here.
    preparsed: RunResult | None = None

    @property
    def where(self) -> str:
        """The file's path relative to the results directory, as problems name it."""
        return self.path.relative_to(self.root).as_posix()

    @cached_property
    def _parsed(self) -> tuple[RunResult | None, list[Problem]]:
        where = self.where
        if self.preparsed is not None:
            return self.preparsed, []
        try:
            data = json.loads(self.path.read_bytes())
        except json.JSONDecodeError as e:
            return None, [Problem(where, None, f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}")]
        except (OSError, UnicodeDecodeError) as e:
            return None, [Problem(where, None, f"unreadable: {e}")]
        if not isinstance(data, dict):
            return None, [Problem(where, None, f"expected a JSON object, got {type(data).__name__}")]
        try:
            return RunResult.model_validate(data), []
        except ValidationError as e:
            return None, pydantic_problems(where, e)

    @property
    def parsed(self) -> RunResult | None:
        """The result, or None when the file is not valid JSON matching the result schema."""
        return self._parsed[0]

    @property
    def parse_problems(self) -> list[Problem]:
        """Why the file is not a result (empty when :attr:`parsed` is one)."""
        return self._parsed[1]

    @property
    def result(self) -> RunResult:
        """The parsed result: the checks after ``schema`` only see files that have one."""
        r = self._parsed[0]
        assert r is not None, "checked after the schema check only"
        return r

    @property
    def finished(self) -> bool:
        """The run says ``ok``: only then are its tables and evidence checked."""
        return self.parsed is not None and self.parsed.status == "ok"

    @cached_property
    def table_problems(self) -> list[Problem]:
        """What a finished run lacks for its tables to be compared: a required field, a square confusion matrix
        of one row per class, one per-class entry per class (checking stops at the first kind that fails)."""
        if not self.finished:
            return []
        r, where = self.result, self.where
        missing = [
            Problem(where, name, "required when status is 'ok'")
            for name in ("metrics", "per_class", "confusion_matrix", "predictions_file")
            if getattr(r, name) is None
        ]
        if missing:
            return missing
        return _shape_problems(where, r)

    @cached_property
    def confusion(self) -> np.ndarray | None:
        """The confusion matrix of a finished run whose tables are complete (:attr:`table_problems`); else None."""
        if not self.finished or self.table_problems:
            return None
        return np.asarray(self.result.confusion_matrix, dtype=np.int64)

    @cached_property
    def groups(self) -> dict[str, list[int]]:
        """The classes of each group of ``per_class.group`` (major, medium, minor)."""
        assert self.result.per_class is not None
        group = self.result.per_class.group
        return {g: [i for i, x in enumerate(group) if x == g] for g in ("major", "medium", "minor")}

    @cached_property
    def _evidence(self) -> tuple[Predictions | None, list[Problem]]:
        cm = self.confusion
        if cm is None:
            return None, []
        r, where = self.result, self.where
        try:
            preds = predictions_path(self.path, str(r.predictions_file), self.root)
        except ResultFileError as e:
            return None, [Problem(where, None, e.problem)]
        if not preds.is_file():
            return None, [Problem(where, "predictions_file", f"{r.predictions_file} not found next to the result file")]
        try:
            evidence = load_predictions(preds, num_classes=cm.shape[0])
        except ResultFileError as e:
            return None, [Problem(where, "predictions_file", f"{r.predictions_file}: {e.problem}")]
        y_true, y_pred = evidence.y_true, evidence.y_pred
        if y_true.shape != y_pred.shape or len(y_true) != int(cm.sum()):
            message = (
                f"{len(y_true)} labels / {len(y_pred)} predictions, but the confusion matrix counts {int(cm.sum())}"
            )
            return None, [Problem(where, "predictions_file", message)]
        return evidence, []

    @property
    def evidence(self) -> Predictions | None:
        """The predictions file of a run with complete tables, when it is usable (:attr:`evidence_problems`)."""
        return self._evidence[0]

    @property
    def evidence_problems(self) -> list[Problem]:
        """Why the predictions file cannot be used: outside the submission, missing, unreadable, wrong length."""
        return self._evidence[1]

    @cached_property
    def reproduce_problems(self) -> list[Problem]:
        """Where the predictions file does not give exactly the stored confusion matrix (empty without one)."""
        evidence, cm = self.evidence, self.confusion
        if evidence is None or cm is None:
            return []
        return _check_predictions_reproduce(self.where, self.result, cm, evidence.y_true, evidence.y_pred)


def _shape_problems(where: str, r: RunResult) -> list[Problem]:
    """A confusion matrix that is not square with one row per class, or a per-class list of another length."""
    if r.per_class is None:
        return []
    c = len(r.per_class.class_names)
    if r.confusion_matrix is not None:
        rows = r.confusion_matrix
        lengths = sorted({len(row) for row in rows})
        if len(rows) != c or lengths != [c]:
            shown = "/".join(map(str, lengths)) or "no"
            message = f"{len(rows)} rows of {shown} entries; expected {c} × {c} (one row and column per class)"
            return [Problem(where, "confusion_matrix", message)]
    return [
        Problem(where, f"per_class.{name}", f"{len(getattr(r.per_class, name))} entries for {c} classes")
        for name in ("train_counts", "recall", "group")
        if len(getattr(r.per_class, name)) != c
    ]


@dataclass
class DatasetRuns:
    """The result files of one registered dataset at one cache size: what the ``dataset`` checks compare with
    the dataset's manifest."""

    dataset: str
    size: int | None
    cache: Path
    #: (file, its ``dataset_manifest_sha256``) of every parsed file of the dataset at this size.
    entries: list[tuple[str, str]] = field(default_factory=list)
    #: The class names and counts of its finished files.
    counts: list[RunCounts] = field(default_factory=list)

    @property
    def at(self) -> str:
        """`` at <size> px`` for messages (empty with no known size)."""
        return f" at {self.size} px" if self.size else ""

    @cached_property
    def manifest(self) -> tuple[Mapping[str, Any] | None, str]:
        """The dataset's manifest here (or None) and how it was found or why not (:func:`dataset_manifest`)."""
        import datasets as ds

        try:
            return dataset_manifest(self.dataset, self.size, self.cache)
        except ds.DatasetError as e:
            return None, f"cannot be built here ({e})"


@dataclass
class Submission:
    """A results directory under validation: the options and what the checks share."""

    root: Path
    #: Where datasets are prepared (``--cache-dir``).
    cache: Path
    #: Dataset -> expected manifest hashes given with ``--manifest``.
    given: dict[str, set[str]]
    min_seeds: int
    #: Where the checks record what they verified and what they could not check.
    report: ValidationReport
    #: The shipped protocols (:func:`benchmark.protocol.protocol_names`).
    protocols: list[str]
    #: Run keys (by method id and by name) -> the first file holding the run.
    seen: dict[tuple[Any, ...], str] = field(default_factory=dict)
    datasets: dict[tuple[str, int | None], DatasetRuns] = field(default_factory=dict)
    #: Every parsed file, for the directory checks that compare files (``one_configuration``).
    parsed: list[ResultFile] = field(default_factory=list)

    def collect(self, f: ResultFile) -> None:
        """File a parsed result of a registered dataset under its dataset and cache size, for the dataset checks."""
        import datasets as ds

        r = f.parsed
        if r is None:
            return
        self.parsed.append(f)
        try:
            ds.builder_class(r.spec.dataset)
        except ds.DatasetError:
            return
        size = _cache_size(r)
        key = (r.spec.dataset, size)
        runs = self.datasets.setdefault(key, DatasetRuns(r.spec.dataset, size, self.cache))
        runs.entries.append((f.where, r.dataset_manifest_sha256))
        counts = _run_counts(f.where, r)
        if counts is not None:
            runs.counts.append(counts)

    def dataset_runs(self) -> list[DatasetRuns]:
        """Every :class:`DatasetRuns`, by dataset name and size."""
        return [runs for _, runs in sorted(self.datasets.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))]


Scope = Literal["file", "directory", "dataset"]


@dataclass(frozen=True)
class Check:
    """One named check of a submission. ``verify`` returns its problems (none when it passes); its docstring
    says what it verifies.

    ``scope`` says what ``verify`` gets besides the :class:`Submission`: ``file``, a :class:`ResultFile` (every
    result file in turn); ``directory``, nothing (once, after the files); ``dataset``, a :class:`DatasetRuns`
    (once per dataset and cache size).
    """

    name: str
    scope: Scope
    verify: Callable[..., list[Problem]]

    @property
    def description(self) -> str:
        """What the check verifies: the docstring of ``verify``."""
        return inspect.getdoc(self.verify) or ""

    def run(self, sub: Submission, *target: ResultFile | DatasetRuns) -> list[Problem]:
        """``verify``'s problems, each marked with this check's name (:attr:`Problem.check`)."""
        return [dataclasses.replace(p, check=self.name) for p in self.verify(sub, *target)]


# -- the checks, in the order they run (CHECKS below) -------------------------------------------
def check_schema(sub: Submission, f: ResultFile) -> list[Problem]:
    """The file parses as a JSON object that matches the result schema (:class:`benchmark.schema.RunResult`;
    pydantic's errors become one line per field path). A file that does not is checked no further."""
    return f.parse_problems


def check_finished(sub: Submission, f: ResultFile) -> list[Problem]:
    """The run finished: ``status`` is ``ok`` (a failed run must be re-run before submitting). Only a finished
    run's tables and predictions are checked."""
    r = f.result
    if r.status == "ok":
        return []
    first = (r.error or "no error message").strip().splitlines()[0] if (r.error or "").strip() else "no message"
    return [Problem(f.where, "status", f"run failed ({first}); re-run it before submitting")]


def check_metrics_defined(sub: Submission, f: ResultFile) -> list[Problem]:
    """No metric of a finished run is NaN (e.g. the MCR of a group with no test image): it could not be
    ranked or compared."""
    if not f.finished:
        return []
    return _check_nan_metrics(f.where, f.result)


def check_tables_complete(sub: Submission, f: ResultFile) -> list[Problem]:
    """A finished run has metrics, per-class recall, a confusion matrix and a predictions file; the matrix is
    square with one row per class and every per-class list has one entry per class."""
    return f.table_problems


def check_metrics_match_confusion(sub: Submission, f: ResultFile) -> list[Problem]:
    """The MCR of all classes and of each class group (:data:`benchmark.schema.GROUP_METRICS`) agree within
    :data:`TOLERANCE` with the confusion matrix."""
    from .metrics import mean_class_recall

    cm = f.confusion
    if cm is None:
        return []
    r, groups = f.result, f.groups
    # the MCR of a group with no class (a dataset without a medium group) is not in the result to check
    expected = {
        name: mean_class_recall(cm, groups.get(short)) if short == "all" or groups[short] else None
        for short, name in group_metrics().items()
    }
    out = []
    for name, value in expected.items():
        got = getattr(r.metrics, name)
        if got is not None and math.isnan(got):
            continue  # check_metrics_defined says so
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if got is None or abs(got - value) > TOLERANCE:
            out.append(Problem(f.where, f"metrics.{name}", f"{got} disagrees with the confusion matrix ({value:.6f})"))
    return out


def check_recall_matches_confusion(sub: Submission, f: ResultFile) -> list[Problem]:
    """Each per-class recall (%) agrees within :data:`TOLERANCE` with the confusion matrix's diagonal over its
    row sum."""
    cm = f.confusion
    return [] if cm is None else _check_recall(f.where, f.result, cm)


def check_predictions_file(sub: Submission, f: ResultFile) -> list[Problem]:
    """The predictions file lies inside the submission (a relative path with no ``..``), exists, is a readable
    ``.npz`` and holds as many labels and predictions as the confusion matrix counts."""
    return f.evidence_problems


def check_predictions_reproduce(sub: Submission, f: ResultFile) -> list[Problem]:
    """The predictions file reproduces the confusion matrix exactly (rows: true class)."""
    return f.reproduce_problems


def check_metrics_reproduce(sub: Submission, f: ResultFile) -> list[Problem]:
    """The metrics of schema version 2, where a result has them, agree within :data:`TOLERANCE` with the values
    recomputed from a predictions file that reproduces the confusion matrix: accuracy, macro-F1 and many /
    medium / few-shot MCR from the labels and predictions, macro AUC, ECE and NLL from its float16 ``logits``
    (``run`` computes them from those same rounded logits, so the recomputation is exact up to float64
    rounding; a result with these metrics and a predictions file without logits cannot be checked, which is a
    problem)."""
    evidence = f.evidence
    if evidence is None or f.reproduce_problems:
        return []
    return _check_recomputed_metrics(f.where, f.result, evidence, f.groups)


def check_provenance(sub: Submission, f: ResultFile) -> list[Problem]:
    """Provenance is filled in: package, torch and Python version, device, start and finish time."""
    return _check_provenance(f.where, f.result)


def check_protocol_known(sub: Submission, f: ResultFile) -> list[Problem]:
    """The protocol is a shipped one (:func:`benchmark.protocol.protocol_names`)."""
    protocol = f.result.spec.protocol
    if protocol in sub.protocols:
        return []
    return [Problem(f.where, "spec.protocol", f"unknown protocol {protocol!r}; valid: {', '.join(sub.protocols)}")]


def check_dataset_known(sub: Submission, f: ResultFile) -> list[Problem]:
    """The dataset is registered (:func:`datasets.dataset_names`); only then are its manifest hash and class
    counts checked (``manifest_hash``, ``class_counts``)."""
    import datasets as ds

    dataset = f.result.spec.dataset
    try:
        ds.builder_class(dataset)
    except ds.DatasetError:
        return [
            Problem(f.where, "spec.dataset", f"unknown dataset {dataset!r}; valid: {', '.join(ds.dataset_names())}")
        ]
    return []


def check_location(sub: Submission, f: ResultFile) -> list[Problem]:
    """The file sits where its spec says: ``<dataset>/<backbone>/<protocol>/<method-id>/seed-<k>.json``."""
    try:
        expected = result_path(sub.root, f.result.spec)
    except ValueError as e:  # a name such as '..' that no run of this tool files
        return [Problem(f.where, "spec", str(e))]
    if expected.resolve() == f.path.resolve():
        return []
    where = expected.relative_to(sub.root).as_posix()
    return [Problem(f.where, "spec", f"the file's path disagrees with its spec: expected {where}")]


def check_duplicates(sub: Submission, f: ResultFile) -> list[Problem]:
    """No two files hold the same run (same dataset, backbone, protocol, method id or name, and seed). The
    first file of a run counts towards its cell's seeds (``min_seeds``) when the run finished; a duplicate
    does not."""
    r, s = f.result, f.result.spec
    keys = (
        (s.dataset, s.backbone, s.protocol, "id", s.method_id, s.seed),
        (s.dataset, s.backbone, s.protocol, "name", s.method, s.seed),
    )
    for key in keys:
        if key in sub.seen:
            message = (
                f"duplicate run: {s.method} ({s.method_id}) seed {s.seed} on "
                f"{s.dataset}/{s.backbone}/{s.protocol} is also in {sub.seen[key]}"
            )
            return [Problem(f.where, "spec", message)]
    for key in keys:
        sub.seen[key] = f.where
    if r.status == "ok":
        sub.report.cells.setdefault((s.dataset, s.backbone, s.protocol, s.method), set()).add(s.seed)
    return []


#: Upper bounds on what a result file may hold (characters): a page or a table must stay readable and a
#: site small. Method ids, display names and protocol names: :data:`benchmark.identity.MAX_NAME`.
MAX_TEXT = {"description": 10_000, "reference": 2_000, "url": 2_000, "error": 100_000}
#: The longest class name, dataset or backbone name, and the most hyper-parameter text (as JSON).
MAX_CLASS_NAME, MAX_SPEC_NAME, MAX_HYPERPARAMETERS = 100, 200, 20_000


def _percent_fields(r: RunResult) -> Iterator[tuple[str, float]]:
    """``(field path, value)`` of every percentage of a result: metrics, validation metrics, per-class recall."""
    for prefix, metrics in (("metrics", r.metrics), ("val_metrics", r.val_metrics)):
        for name, value in (metrics.model_dump() if metrics is not None else {}).items():
            if value is not None and name != "nll":
                yield f"{prefix}.{name}", value
    for i, value in enumerate(r.per_class.recall if r.per_class is not None else []):
        if value is not None:
            yield f"per_class.recall[{i}]", value


def check_ranges(sub: Submission, f: ResultFile) -> list[Problem]:
    """Every percentage (MCR, accuracy, macro-F1, AUC, ECE, per-class recall) lies in [0, 100], NLL is
    >= 0, and training counts and confusion-matrix entries are >= 0 (NaN is ``metrics_defined``'s)."""
    r, out = f.result, []
    for name, value in _percent_fields(r):
        if not math.isnan(value) and not 0 <= value <= 100:
            out.append(Problem(f.where, name, f"{value} is outside 0..100 (a percentage)"))
    for prefix, metrics in (("metrics", r.metrics), ("val_metrics", r.val_metrics)):
        nll = metrics.nll if metrics is not None else None
        if nll is not None and nll < 0:
            out.append(Problem(f.where, f"{prefix}.nll", f"{nll} is negative"))
    counts = r.per_class.train_counts if r.per_class is not None else []
    if any(c < 0 for c in counts):
        out.append(Problem(f.where, "per_class.train_counts", "holds a negative count"))
    if any(v < 0 for row in r.confusion_matrix or [] for v in row):
        out.append(Problem(f.where, "confusion_matrix", "holds a negative count"))
    return out


def check_sizes(sub: Submission, f: ResultFile) -> list[Problem]:
    """Names and texts are bounded: method id, display name and protocol name at most
    :data:`benchmark.identity.MAX_NAME` characters with no control character; dataset and backbone
    names, class names, description, reference, link, error and hyper-parameters within :data:`MAX_TEXT` and
    the limits beside it (a 200 MB description would make a 200 MB site, a 5,000-character name a page
    141,000 px wide, a newline a broken table)."""
    from .identity import name_problem

    r, where = f.result, f.where
    s = r.spec
    out = [
        Problem(where, f"spec.{key}", problem)
        for key, what in (("method_id", "id"), ("method", "display name"), ("protocol", "protocol name"))
        if (problem := name_problem(getattr(s, key), what))
    ]
    texts = {"spec.dataset": (s.dataset, MAX_SPEC_NAME), "spec.backbone": (s.backbone, MAX_SPEC_NAME)}
    texts.update({key: (getattr(r, key) or "", limit) for key, limit in MAX_TEXT.items()})
    texts["hyperparameters"] = (json.dumps(r.hyperparameters, default=str), MAX_HYPERPARAMETERS)
    for i, name in enumerate(r.per_class.class_names if r.per_class is not None else []):
        texts[f"per_class.class_names[{i}]"] = (name, MAX_CLASS_NAME)
    out += [
        Problem(where, key, f"{len(text):,} characters; at most {limit:,}")
        for key, (text, limit) in texts.items()
        if len(text) > limit
    ]
    return out


#: What a row is (:func:`benchmark.identity.result_identity`, and the schema version): the result field each
#: part of the identity comes from, for the problem's field.
_IDENTITY_FIELDS = {
    "method_id": "spec.method_id",
    "method_source_sha256": "method_source_sha256",
    "hyperparameters": "hyperparameters",
    "stage2_settings": "stage2_settings",
    "protocol_sha256": "protocol_config",
    "schema_version": "schema_version",
}


def _identity(r: RunResult) -> dict[str, Any]:
    from .identity import result_identity

    return {**result_identity(r), "schema_version": r.schema_version}


def _differences(first: Mapping[str, Any], other: Mapping[str, Any]) -> list[str]:
    return [k for k in _IDENTITY_FIELDS if k in first and k in other and first[k] != other[k]]


def check_one_configuration(sub: Submission) -> list[Problem]:
    """Each row is one configuration (docs/reliability.md, the identity rule). Within a (dataset, backbone,
    protocol) column every run has the same protocol settings (their SHA-256, not the name) and no two method
    ids share a display name; within a cell (that column and one method) every seed has the same method id,
    method file, hyper-parameters, stage-2 settings and schema version. The first file of a cell sets it."""
    out: list[Problem] = []
    columns: dict[tuple[str, str, str], tuple[ResultFile, dict[str, Any]]] = {}
    cells: dict[tuple[str, str, str, str], tuple[ResultFile, dict[str, Any]]] = {}
    names: dict[tuple[str, str, str, str], tuple[str, str]] = {}
    for f in sub.parsed:
        r, mine = f.result, _identity(f.result)
        s = r.spec
        column = (s.dataset, s.backbone, s.protocol)
        first, theirs = columns.setdefault(column, (f, mine))
        if "protocol_sha256" in theirs and "protocol_sha256" in mine:
            if theirs["protocol_sha256"] != mine["protocol_sha256"]:
                out.append(_differ(f, "protocol_sha256", first, "column", r, first.result))
                continue
        elif "protocol_sha256" in mine:
            columns[column] = (f, mine)
        other = names.setdefault((*column, s.method), (s.method_id, f.where))
        if other[0] != s.method_id:
            message = (
                f"display name {s.method!r} is also method {other[0]!r}'s ({other[1]}): two methods would be one "
                "row; give each its own name"
            )
            out.append(Problem(f.where, "spec.method", message))
            continue
        first, theirs = cells.setdefault((*column, s.method), (f, mine))
        out += [_differ(f, key, first, "cell", r, first.result) for key in _differences(theirs, mine)]
    return out


def _differ(f: ResultFile, key: str, first: ResultFile, scope: str, r: RunResult, other: RunResult) -> Problem:
    """``FILE: FIELD: differs from FIRST of the same cell (what differs)``."""
    from .identity import protocol_settings

    if key == "protocol_sha256":
        there, here = protocol_settings(other.protocol_config), protocol_settings(r.protocol_config)
    elif key in ("hyperparameters", "stage2_settings"):
        there, here = getattr(other, key) or {}, getattr(r, key) or {}
    else:
        there, here = {key: _identity(other)[key]}, {key: _identity(r)[key]}
    absent = "<absent>"
    keys = sorted(k for k in set(there) | set(here) if there.get(k, absent) != here.get(k, absent))
    detail = "; ".join(f"{k}: {_short(there.get(k, absent))} there, {_short(here.get(k, absent))} here" for k in keys)
    message = f"differs from {first.where} in the same {scope} ({detail}): one row must be one configuration"
    return Problem(f.where, _IDENTITY_FIELDS[key], message)


def check_not_empty(sub: Submission) -> list[Problem]:
    """The directory holds at least one result file (``seed-*.json``)."""
    if sub.report.files:
        return []
    return [Problem(str(sub.root), None, "no result files (seed-*.json) found")]


def check_min_seeds(sub: Submission) -> list[Problem]:
    """Every (dataset, backbone, protocol, method) cell has at least ``--min-seeds`` (default 3) finished
    seeds."""
    out = []
    for (dataset, backbone, protocol, method), seeds in sorted(sub.report.cells.items()):
        if len(seeds) < sub.min_seeds:
            message = (
                f"{len(seeds)} seed{'s' * (len(seeds) != 1)} ({', '.join(map(str, sorted(seeds)))}); "
                f"at least {sub.min_seeds} are required"
            )
            out.append(Problem(f"{dataset}/{backbone}/{protocol}", method, message))
    return out


def check_manifest_hash(sub: Submission, runs: DatasetRuns) -> list[Problem]:
    """The dataset manifest hash is the registered construction's.

    - datasets that need no download (``digits-lt``) are prepared into ``--cache-dir`` at the run's cache
      size and the hash of that manifest is the expected one;
    - for the others, the expected hash comes from ``--manifest NAME=SHA`` (repeatable) or from a prepared
      manifest of the default construction found in ``--cache-dir``; all runs of a dataset at one cache size
      must carry one hash, and it must be an expected one (with neither source the hash cannot be verified,
      which is a problem too).
    """
    import datasets as ds

    given = sub.given.get(runs.dataset, set())
    manifest, found = runs.manifest
    expected = set(given)
    how = "--manifest" if given else ""
    sha = ds.manifest_sha256(manifest) if manifest is not None else None
    if sha:
        expected.add(sha)
        how = found if not how else f"{how} and {found}"
    if not expected:
        return _unverifiable_manifest(runs, sub.cache)
    out = [
        Problem(
            where,
            "dataset_manifest_sha256",
            f"{h[:12]}… does not match the registered construction of {runs.dataset}{runs.at} "
            f"(expected {' or '.join(e[:12] + '…' for e in sorted(expected))}, {how})",
        )
        for where, h in runs.entries
        if h not in expected
    ]
    if not out:
        sub.report.verified_manifests.append(f"{runs.dataset}{runs.at}")
    return out


def _unverifiable_manifest(runs: DatasetRuns, cache: Path) -> list[Problem]:
    """No expected hash: say how to give one, and whether the runs disagree among themselves."""
    dataset, at = runs.dataset, runs.at
    hashes = sorted({h for _, h in runs.entries})
    out = [
        Problem(
            dataset,
            "dataset_manifest_sha256",
            f"cannot verify the manifest hash{at} ({', '.join(h[:12] for h in hashes)}): pass "
            f"--manifest {dataset}=SHA256 or prepare {dataset} into --cache-dir {cache}",
        )
    ]
    if len(hashes) > 1:
        counts = {h: sum(1 for _, x in runs.entries if x == h) for h in hashes}
        out.append(
            Problem(
                dataset,
                "dataset_manifest_sha256",
                f"runs{at} carry {len(hashes)} different manifest hashes: "
                + ", ".join(f"{h[:12]} ({n} files)" for h, n in counts.items()),
            )
        )
    return out


def check_class_counts(sub: Submission, runs: DatasetRuns) -> list[Problem]:
    """The class names (``per_class.class_names``), the training counts (``per_class.train_counts``) and the
    test counts (the row sums of ``confusion_matrix``) equal the dataset manifest's ``class_names`` and
    ``split_counts`` (train / test) wherever that manifest can be had here (built into ``--cache-dir`` for
    datasets that need no download, such as the shipped ``bloodcell-lt`` and ``digits-lt``, else a prepared
    manifest found there); a mismatch names the first differing class (:func:`count_problems`). Where no
    manifest can be had, the summary says that the counts were not checked and why (so does it for runs whose
    hash was accepted by ``--manifest`` when the manifest found here is another construction)."""
    import datasets as ds

    dataset, at, report = runs.dataset, runs.at, sub.report
    manifest, found = runs.manifest
    if not runs.counts:
        return []
    if manifest is None:
        report.notes.append(f"class counts of {dataset}{at} not checked: no dataset manifest here ({found})")
        return []
    missing = [k for k in ("class_names", "split_counts") if k not in manifest]
    if missing:
        report.notes.append(
            f"class counts of {dataset}{at} not checked: its manifest ({found}) has no {' or '.join(missing)}"
        )
        return []
    sha = ds.manifest_sha256(manifest)
    given = sub.given.get(dataset, set())
    # a hash accepted by --manifest that is not this manifest's: another construction, whose counts we do not have
    other = [run for run in runs.counts if run.manifest_sha256 != sha and run.manifest_sha256 in given]
    out = [p for run in runs.counts if run not in other for p in count_problems(run, manifest)]
    if other:
        report.notes.append(
            f"class counts of {len(other)} {dataset}{at} file{'s' * (len(other) != 1)} not checked: "
            f"their manifest hash was accepted by --manifest and the manifest here ({found}) is "
            f"another construction"
        )
    if not out and len(other) < len(runs.counts):
        report.verified_counts.append(f"{dataset}{at}")
    return out


#: Every check of a submission, in the order :func:`validate_results` runs them.
CHECKS: tuple[Check, ...] = (
    Check("schema", "file", check_schema),
    Check("finished", "file", check_finished),
    Check("metrics_defined", "file", check_metrics_defined),
    Check("tables_complete", "file", check_tables_complete),
    Check("metrics_match_confusion", "file", check_metrics_match_confusion),
    Check("recall_matches_confusion", "file", check_recall_matches_confusion),
    Check("predictions_file", "file", check_predictions_file),
    Check("predictions_reproduce", "file", check_predictions_reproduce),
    Check("metrics_reproduce", "file", check_metrics_reproduce),
    Check("provenance", "file", check_provenance),
    Check("protocol_known", "file", check_protocol_known),
    Check("dataset_known", "file", check_dataset_known),
    Check("location", "file", check_location),
    Check("duplicates", "file", check_duplicates),
    Check("ranges", "file", check_ranges),
    Check("sizes", "file", check_sizes),
    Check("not_empty", "directory", check_not_empty),
    Check("min_seeds", "directory", check_min_seeds),
    Check("one_configuration", "directory", check_one_configuration),
    Check("manifest_hash", "dataset", check_manifest_hash),
    Check("class_counts", "dataset", check_class_counts),
)


def checks(scope: Scope | None = None) -> list[Check]:
    """The checks of :data:`CHECKS` (of one scope, when given), in order."""
    return [c for c in CHECKS if scope is None or c.scope == scope]


def validate_results(
    results_dir: str | Path,
    cache_dir: str | Path | None = None,
    manifests: Mapping[str, Any] | None = None,
    min_seeds: int = MIN_SEEDS,
) -> ValidationReport:
    """Every problem of a results directory: the checks of :data:`CHECKS`, in order (see the module
    docstring); ``manifests`` maps a dataset name to one expected manifest hash or a collection of them."""
    import datasets as ds

    from .protocol import protocol_names

    root = Path(results_dir)
    report = ValidationReport(root)
    if not root.is_dir():
        report.problems.append(Problem(str(root), None, "results directory not found"))
        return report
    given = {k: ({v} if isinstance(v, str) else set(v)) for k, v in (manifests or {}).items()}
    cache = Path(cache_dir) if cache_dir is not None else ds.DEFAULT_CACHE
    sub = Submission(root, cache, given, min_seeds, report, list(protocol_names()))
    for f in _result_files(sub):
        for check in checks("file"):
            report.problems += check.run(sub, f)
            if f.parsed is None:
                break  # a file that is not a result is checked no further
        sub.collect(f)
    for check in checks("directory"):
        report.problems += check.run(sub)
    for runs in sub.dataset_runs():
        for check in checks("dataset"):
            report.problems += check.run(sub, runs)
    return report


def _result_files(sub: Submission) -> Iterator[ResultFile]:
    """Every ``seed-*.json`` of the submission, counted in the report as it is read."""
    for path in iter_result_files(sub.root):
        sub.report.files += 1
        yield ResultFile(sub.root, path)


def check_shapes(sub: Submission, f: ResultFile) -> list[Problem]:
    """A finished run has metrics; its confusion matrix, where it has one, is square with one row per class,
    and every per-class list has one entry per class (the part of ``tables_complete`` that readers need)."""
    if not f.finished:
        return []
    if f.result.metrics is None:
        return [Problem(f.where, "metrics", "required when status is 'ok'")]
    return _shape_problems(f.where, f.result)


#: What every reader of a results directory (``report``, ``leaderboard``, ``check``, ``run``'s summary) applies
#: before a number is shown: the checks of :data:`CHECKS` that need nothing but the directory (no dataset, no
#: predictions), and ``shapes``. ``validate`` runs all of :data:`CHECKS`.
READER_CHECKS: tuple[Check, ...] = (
    Check("shapes", "file", check_shapes),
    *(c for c in CHECKS if c.name in {"ranges", "sizes", "location", "duplicates", "one_configuration"}),
)


def load_checked(
    results_dir: str | Path, on_invalid: Callable[[ResultFileError], None] | None = None
) -> list[tuple[Path, RunResult]]:
    """Every result file of a directory that passes :data:`READER_CHECKS`, with its path: the one loader of
    everything downstream.

    A file that cannot be read or fails a check raises :class:`ResultFileError` (``FILE: FIELD: PROBLEM``, the
    first problem), or, when ``on_invalid`` is given, is passed to it and left out.
    """
    from .results import invalid_result, read_result

    root = Path(results_dir)
    sub = Submission(root, root, {}, 0, ValidationReport(root), [])
    refused: dict[Path, Problem] = {}
    for path in iter_result_files(root):
        try:
            f = ResultFile(root, path, read_result(path))
        except (OSError, ValueError) as e:
            _refuse(invalid_result(path, e), on_invalid)
            continue
        problems = [p for check in READER_CHECKS if check.scope == "file" for p in check.run(sub, f)]
        if problems:
            refused[path] = problems[0]
        else:
            sub.collect(f)
    for check in READER_CHECKS:
        if check.scope == "directory":
            for p in check.run(sub):
                refused.setdefault(root / p.where, p)
    for path, p in sorted(refused.items()):
        _refuse(ResultFileError(path, f"{p.field}: {p.message}" if p.field else p.message), on_invalid)
    return [(f.path, f.result) for f in sub.parsed if f.path not in refused]


def _refuse(error: ResultFileError, on_invalid: Callable[[ResultFileError], None] | None) -> None:
    if on_invalid is None:
        raise error
    on_invalid(error)


def describe_checks() -> str:
    """The checks of :data:`CHECKS` as a reST list: name, scope and what each verifies."""
    lines = []
    for check in CHECKS:
        text = textwrap.indent(check.description, "  ").lstrip()
        lines.append(f"* ``{check.name}`` ({check.scope}): {text}")
    return "\n".join(lines) + "\n"


__doc__ = (__doc__ or "") + describe_checks()
