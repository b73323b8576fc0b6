"""Validate a results directory before it is submitted (``python -m benchmark validate DIR``).

A submission passes the named checks of :data:`CHECKS`, run in that order by :func:`validate_results`; each
failure is reported as ``FILE: FIELD: PROBLEM``. A broken result or predictions file is one such problem, not
an error that stops the validation: the submitter sees everything to fix in one pass (exit 1), and a directory
with any problem is refused as a submission.

The checks of scope ``file`` run on every ``seed-*.json`` in turn (a file that fails ``schema`` is checked no
further), then those of scope ``directory`` once, then those of scope ``dataset`` once per dataset and cache
size that the files name.

The package, one concept a module: what validation finds (``problems``), what the checks read (``submission``:
a result file, the directory, a named check), the checks of one file on its own (``consistency``), of what
run a file is and which row it belongs to (``configuration``), of bounds on numbers and texts (``bounds``),
of each dataset against its manifest (``manifests``, ``manifest_checks``), the ordered list and its run
(``catalog``), and the one loader of every reader (``loader``). Every public name is importable from here.

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
