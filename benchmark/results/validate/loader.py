"""The one loader of everything downstream (:func:`load_checked`): every result file of a directory that
passes the checks every reader applies (:data:`READER_CHECKS`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..schema import RunResult
from ..store import ResultFileError, invalid_result, iter_result_files, read_result
from .checklist import CHECKS
from .problems import Problem, ValidationReport
from .submission import Check, ResultFile, Submission, shape_problems


def check_shapes(sub: Submission, f: ResultFile) -> list[Problem]:
    """A finished run has metrics; its confusion matrix, where it has one, is square with one row per class,
    and every per-class list has one entry per class (the part of ``tables_complete`` that readers need)."""
    if not f.finished:
        return []
    if f.result.metrics is None:
        return [Problem(f.where, "metrics", "required when status is 'ok'")]
    return shape_problems(f.where, f.result)


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
