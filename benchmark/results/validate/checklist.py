"""Every check of a submission, in the order they run (:data:`CHECKS`), and their run over a results
directory (:func:`validate_results`, what ``python -m benchmark validate`` reports)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import datasets as ds

from ...protocol import protocol_names
from ..store import iter_result_files
from .bounds import check_ranges, check_sizes
from .configuration import (
    MIN_SEEDS,
    check_dataset_known,
    check_duplicates,
    check_location,
    check_min_seeds,
    check_not_empty,
    check_one_configuration,
    check_protocol_known,
)
from .consistency import (
    check_finished,
    check_metrics_defined,
    check_metrics_match_confusion,
    check_metrics_reproduce,
    check_predictions_file,
    check_predictions_reproduce,
    check_provenance,
    check_recall_matches_confusion,
    check_schema,
    check_tables_complete,
)
from .manifest_checks import check_class_counts, check_manifest_hash
from .problems import Problem, ValidationReport
from .submission import Check, ResultFile, Scope, Submission

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


def describe_checks() -> str:
    """The checks of :data:`CHECKS` as a reST list: name, scope and what each verifies."""
    lines = []
    for check in CHECKS:
        text = textwrap.indent(check.description, "  ").lstrip()
        lines.append(f"* ``{check.name}`` ({check.scope}): {text}")
    return "\n".join(lines) + "\n"
