"""The paper page (paper vs reproduced) as the paper's own grids: per table, methods × (dataset, backbone,
metric) cells, and a scatter of reported against reproduced means.

Each cell holds the reported number and, where the results have runs, the reproduced mean with the
verdict of :func:`benchmark.analysis.reproduction.compare` (the rule of ``python -m benchmark check``). A cell
without runs says "not run" and points to a one-line reason (no runs of that dataset, of that
backbone, or of that method there), listed once under its table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from benchmark.analysis.reproduction import MAX_BANDS, Comparison, normalise_method
from benchmark.results.schema import group_metrics

from .model import SiteModel
from .plots import ScatterPoint, reported_vs_reproduced_svg
from .views import METRIC_COLUMNS

METRIC_ORDER = tuple(group_metrics())
VERDICTS = {"ok": "consistent", "FAIL": "differs", "inconclusive": "inconclusive"}


def paper_context(model: SiteModel) -> dict[str, Any]:
    comparisons = model.comparisons
    statuses = [c.status for c in comparisons if c.ran]
    return {
        "grids": paper_grids(comparisons, model.frame, METRIC_COLUMNS),
        "scatter": scatter(comparisons),
        "tolerance": model.tolerance,
        "max_bands": MAX_BANDS,
        "verdicts": VERDICTS,
        "n_compared": len(statuses),
        "n_ok": statuses.count("ok"),
        "n_fail": statuses.count("FAIL"),
        "n_inconclusive": statuses.count("inconclusive"),
        "n_cells": len(model.reference),
    }


@dataclass
class GridCell:
    reported: float | None = None
    reported_std: float | None = None
    comparisons: list[Comparison] = field(default_factory=list)
    reason: int | None = None  # 1-based index into the table's reasons when not run

    @property
    def css(self) -> str:
        """The cell's class: ``not-run``, or the worst verdict of its comparisons (``verdict-fail`` first)."""
        statuses = {c.status for c in self.comparisons}
        if not statuses:
            return "not-run"
        worst = next(s for s in ("FAIL", "inconclusive", "ok") if s in statuses)
        return f"verdict-{worst.lower()}"


@dataclass
class PaperGrid:
    source: str
    columns: list[dict[str, Any]]  # {"dataset", "backbone", "metric"}
    groups: list[dict[str, Any]]  # {"dataset", "backbone", "span"}
    rows: list[dict[str, Any]]  # {"method", "cells": [GridCell | None]}
    reasons: list[str]


def not_run_reason(frame: pd.DataFrame, method: str, dataset: str, backbone: str | None, metric_column: str) -> str:
    """Why a reference cell has no runs to compare with, in one line."""
    runs = frame[frame["dataset"] == dataset]
    if runs.empty:
        return f"no {dataset} runs in the results directory"
    if backbone and runs[runs["backbone"] == backbone].empty:
        have = ", ".join(sorted(set(runs["backbone"])))
        return f"no {backbone} runs on {dataset} (the results have {have})"
    if backbone:
        runs = runs[runs["backbone"] == backbone]
    mine = runs[runs["_method"] == method]
    if mine.empty:
        return f"{method} not run on {dataset}" + (f" with {backbone}" if backbone else "")
    if mine[metric_column].isna().all():
        return f"the {method} runs on {dataset} have no value for this metric"
    return "no matching runs"


def paper_grids(
    comparisons: Sequence[Comparison], frame: pd.DataFrame, metric_columns: dict[str, str]
) -> list[PaperGrid]:
    """One grid per reference table, in the tables' order; ``frame`` is the results frame (for the reasons)."""
    frame = (
        frame.assign(_method=frame["method"].map(normalise_method))
        if not frame.empty
        else pd.DataFrame(columns=["dataset", "backbone", "_method", *metric_columns.values()])
    )
    by_source: dict[str, list[Comparison]] = defaultdict(list)
    for c in comparisons:
        by_source[c.ref.source].append(c)
    grids = []
    for source in sorted(by_source):
        items = by_source[source]
        keys = list(dict.fromkeys((c.ref.dataset, c.ref.backbone) for c in items))
        metrics = {
            k: [
                m
                for m in METRIC_ORDER
                if any(c.ref.metric == m and (c.ref.dataset, c.ref.backbone) == k for c in items)
            ]
            for k in keys
        }
        columns = [{"dataset": d, "backbone": b, "metric": m} for d, b in keys for m in metrics[(d, b)]]
        index = {(col["dataset"], col["backbone"], col["metric"]): j for j, col in enumerate(columns)}
        methods = list(dict.fromkeys(c.ref.method for c in items))
        cells: dict[str, list[GridCell | None]] = {m: [None] * len(columns) for m in methods}
        reasons: list[str] = []
        for c in items:
            j = index[(c.ref.dataset, c.ref.backbone, c.ref.metric)]
            cell = cells[c.ref.method][j] or GridCell(c.ref.value, c.ref.std)
            cells[c.ref.method][j] = cell
            if c.ran:
                cell.comparisons.append(c)
            else:
                why = not_run_reason(frame, c.ref.method, c.ref.dataset, c.ref.backbone, metric_columns[c.ref.metric])
                if why not in reasons:
                    reasons.append(why)
                cell.reason = reasons.index(why) + 1
        groups = [{"dataset": d, "backbone": b, "span": len(metrics[(d, b)])} for d, b in keys]
        grids.append(PaperGrid(source, columns, groups, [{"method": m, "cells": cells[m]} for m in methods], reasons))
    return grids


def scatter(comparisons: Sequence[Comparison]) -> Any:
    """Reported vs reproduced for every compared cell (None when nothing was compared)."""
    points = [
        ScatterPoint(
            c.ref.value,
            float(c.reproduced),
            c.status,
            f"{c.ref.source}: {c.label}",
        )
        for c in comparisons
        if c.reproduced is not None  # c.ran
    ]
    if not points:
        return None
    return reported_vs_reproduced_svg(points, "reported vs reproduced mean (%), one point per compared cell")
