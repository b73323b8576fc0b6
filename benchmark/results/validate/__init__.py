"""Validate a results directory before it is submitted (``python -m benchmark validate DIR``).

The named checks of :data:`CHECKS` run in order (``file`` checks on every ``seed-*.json``, then ``directory``
checks, then ``dataset`` checks per dataset and cache size); every failure is one ``FILE: FIELD: PROBLEM``, so a
submitter sees everything to fix in one pass. One concept a module: problems, submission (what the checks read),
consistency, configuration, bounds, manifests and manifest_checks, checklist (the ordered list), loader (the one
loader of every reader). Every public name is importable from here.

The checks, in order (this list is made from :data:`CHECKS`):

"""

from __future__ import annotations

from .bounds import MAX_CLASS_NAME, MAX_HYPERPARAMETERS, MAX_SPEC_NAME, MAX_TEXT, check_ranges, check_sizes
from .checklist import CHECKS, checks, describe_checks, validate_results
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
    TOLERANCE,
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
from .loader import READER_CHECKS, check_shapes, load_checked
from .manifest_checks import check_class_counts, check_manifest_hash
from .manifests import DatasetRuns, RunCounts, count_problems, dataset_manifest, expected_manifest
from .problems import Problem, ValidationReport, pydantic_problems
from .submission import Check, ResultFile, Scope, Submission

__all__ = [
    "CHECKS",
    "MAX_CLASS_NAME",
    "MAX_HYPERPARAMETERS",
    "MAX_SPEC_NAME",
    "MAX_TEXT",
    "MIN_SEEDS",
    "READER_CHECKS",
    "TOLERANCE",
    "Check",
    "DatasetRuns",
    "Problem",
    "ResultFile",
    "RunCounts",
    "Scope",
    "Submission",
    "ValidationReport",
    "check_class_counts",
    "check_dataset_known",
    "check_duplicates",
    "check_finished",
    "check_location",
    "check_manifest_hash",
    "check_metrics_defined",
    "check_metrics_match_confusion",
    "check_metrics_reproduce",
    "check_min_seeds",
    "check_not_empty",
    "check_one_configuration",
    "check_predictions_file",
    "check_predictions_reproduce",
    "check_protocol_known",
    "check_provenance",
    "check_ranges",
    "check_recall_matches_confusion",
    "check_schema",
    "check_shapes",
    "check_sizes",
    "check_tables_complete",
    "checks",
    "count_problems",
    "dataset_manifest",
    "describe_checks",
    "expected_manifest",
    "load_checked",
    "pydantic_problems",
    "validate_results",
]

__doc__ = (__doc__ or "") + describe_checks()
