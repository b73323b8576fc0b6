"""What the checks read and how they are named: a result file and what is derived from it once
(:class:`ResultFile`), the directory under validation (:class:`Submission`), and one named check
(:class:`Check`)."""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import ValidationError

import datasets as ds

from ..schema import RunResult
from ..store import Predictions, ResultFileError, load_predictions, predictions_path
from .manifests import DatasetRuns, cache_size, run_counts
from .problems import Problem, ValidationReport, pydantic_problems


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
        return shape_problems(where, r)

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


def shape_problems(where: str, r: RunResult) -> list[Problem]:
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
        r = f.parsed
        if r is None:
            return
        self.parsed.append(f)
        try:
            ds.builder_class(r.spec.dataset)
        except ds.DatasetError:
            return
        size = cache_size(r)
        key = (r.spec.dataset, size)
        runs = self.datasets.setdefault(key, DatasetRuns(r.spec.dataset, size, self.cache))
        runs.entries.append((f.where, r.dataset_manifest_sha256))
        counts = run_counts(f.where, r)
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
