"""Reading a results directory: every result that passes the checks every reader applies, and a frame of them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .schema import RunResult, metric_names
from .store import ResultFileError
from .validate.loader import load_checked


def load_results(
    results_dir: str | Path, include_failed: bool = False, on_invalid: Callable[[ResultFileError], None] | None = None
) -> list[RunResult]:
    """Every valid result under the directory (finished ones only, unless ``include_failed``).

    The files pass :func:`benchmark.results.validate.load_checked`'s checks (those ``validate`` applies that need
    nothing but the directory). A file that cannot be read or fails one raises :class:`ResultFileError`
    naming it and the field (readers that publish, such as ``report`` and ``check``, refuse a broken
    directory) or, when ``on_invalid`` is given, is passed to it and left out (``run``'s summary, whose
    own runs are saved whatever else is broken).
    """
    return [r for _, r in load_checked(results_dir, on_invalid) if include_failed or r.status == "ok"]


def results_frame(results: list[RunResult]) -> Any:
    """A tidy pandas DataFrame, one row per run: spec fields, every metric of
    :class:`benchmark.results.schema.Metrics` (float; NaN where a result lacks it, e.g. one written before
    schema version 2), status, manifest hash."""
    import pandas as pd  # lazy: the CLI starts without pandas

    metrics = metric_names()
    rows = []
    for r in results:
        row: dict[str, Any] = r.spec.model_dump()
        row.update(r.metrics.model_dump() if r.metrics else {})
        row["status"] = r.status
        row["dataset_manifest_sha256"] = r.dataset_manifest_sha256
        # runs of one stage-1 key and seed share a checkpoint: the statistics pair them by seed
        row["stage1_key"] = json.dumps(r.stage1_key, sort_keys=True, default=str) if r.stage1_key else None
        rows.append(row)
    columns = [
        "dataset",
        "method",
        "method_id",
        "backbone",
        "seed",
        "protocol",
        *metrics,
        "status",
        "dataset_manifest_sha256",
        "stage1_key",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    for name in metrics:  # None (absent) -> NaN, so a column of old results is numeric too
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return frame
