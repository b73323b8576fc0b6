"""The checks of what run a file is and which row it belongs to: a known protocol and dataset, the file where
its spec says, no run twice, one configuration per row (the identity rule), and enough seeds per cell."""

from __future__ import annotations

from typing import Any

import datasets as ds

from ..identity import Mismatch, mismatches, result_identity
from ..schema import RunResult
from ..store import result_path
from .problems import Problem
from .submission import ResultFile, Submission

MIN_SEEDS = 3


def check_protocol_known(sub: Submission, f: ResultFile) -> list[Problem]:
    """The protocol is a shipped one (:func:`benchmark.protocol.protocol_names`)."""
    protocol = f.result.spec.protocol
    if protocol in sub.protocols:
        return []
    return [Problem(f.where, "spec.protocol", f"unknown protocol {protocol!r}; valid: {', '.join(sub.protocols)}")]


def check_dataset_known(sub: Submission, f: ResultFile) -> list[Problem]:
    """The dataset is registered (:func:`datasets.dataset_names`); only then are its manifest hash and class
    counts checked (``manifest_hash``, ``class_counts``)."""
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


#: The parts of the identity rule every seed of a cell shares (and the schema version), with the result field each
#: is read from, for the problem's field.
_CELL_PARTS = {
    "method_id": "spec.method_id",
    "method_source_sha256": "method_source_sha256",
    "hyperparameters": "hyperparameters",
    "stage2_settings": "stage2_settings",
    "protocol": "protocol_config",
    "schema_version": "schema_version",
}


def _identity(r: RunResult) -> dict[str, Any]:
    return {**result_identity(r), "schema_version": r.schema_version}


def check_one_configuration(sub: Submission) -> list[Problem]:
    """Each row is one configuration (docs/reliability.md, the identity rule). Within a (dataset, backbone,
    protocol) column every run has the same protocol settings and no two method ids share a display name; within
    a cell (that column and one method) every seed has the same method id, method file, hyper-parameters, stage-2
    settings and schema version. The first file of a cell sets it."""
    out: list[Problem] = []
    columns: dict[tuple[str, str, str], tuple[ResultFile, dict[str, Any]]] = {}
    cells: dict[tuple[str, str, str, str], tuple[ResultFile, dict[str, Any]]] = {}
    names: dict[tuple[str, str, str, str], tuple[str, str]] = {}
    for f in sub.parsed:
        mine, s = _identity(f.result), f.result.spec
        column = (s.dataset, s.backbone, s.protocol)
        first, theirs = columns.setdefault(column, (f, mine))
        if "protocol" not in theirs and "protocol" in mine:
            columns[column] = (f, mine)  # the first file that records the protocol's settings sets the column's
        elif found := mismatches(theirs, mine, ("protocol",)):
            out.append(_differ(f, found[0], first, "column"))
            continue
        other = names.setdefault((*column, s.method), (s.method_id, f.where))
        if other[0] != s.method_id:
            message = (
                f"display name {s.method!r} is also method {other[0]!r}'s ({other[1]}): two methods would be one "
                "row; give each its own name"
            )
            out.append(Problem(f.where, "spec.method", message))
            continue
        first, theirs = cells.setdefault((*column, s.method), (f, mine))
        out += [_differ(f, m, first, "cell") for m in mismatches(theirs, mine, _CELL_PARTS)]
    return out


def _differ(f: ResultFile, mismatch: Mismatch, first: ResultFile, scope: str) -> Problem:
    """``FILE: FIELD: differs from FIRST in the same cell (what differs)``."""
    detail = mismatch.describe("{key}: {before} there, {now} here")
    message = f"differs from {first.where} in the same {scope} ({detail}): one row must be one configuration"
    return Problem(f.where, _CELL_PARTS[mismatch.part], message)


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
