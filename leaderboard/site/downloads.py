"""The downloads: ``results.json`` (every cell's statistics and every run, failed ones too) and ``results.csv``
(one row per run). Missing numbers are null / empty, never NaN."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from benchmark import __version__
from benchmark.analysis.tables import csv_text

from .model import SiteModel


def results_json(model: SiteModel) -> str:
    runs = []
    for r in model.all_runs:
        d = _missing_as_null(r.result.model_dump(mode="json"))
        d["file"] = r.path.name
        runs.append(d)
    cells = model.cells.assign(seeds=model.cells["seeds"].map(list)).to_dict(orient="records")
    cells = [_missing_as_null(c) for c in cells]
    return (
        json.dumps(
            {"generator": f"medlt-bench {__version__}", "cells": cells, "runs": runs},
            indent=1,
            ensure_ascii=False,
            allow_nan=False,
        )
        + "\n"
    )


def results_csv(model: SiteModel) -> str:
    frame = model.all_frame
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(frame.columns))
    for row in frame.itertuples(index=False):
        w.writerow(
            [
                ""
                if v is None or (isinstance(v, float) and math.isnan(v))
                else (csv_text(v) if isinstance(v, str) else v)
                for v in row
            ]
        )
    return buf.getvalue()


def _missing_as_null(value: Any) -> Any:
    """``value`` with every NaN float (a missing number) replaced by None, for strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _missing_as_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_missing_as_null(v) for v in value]
    return value
