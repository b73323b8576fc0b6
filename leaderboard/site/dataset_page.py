"""The dataset pages: per (backbone, protocol) section, each cell's interval, differences vs CE and vs the
best, rank intervals, per-class views, the extra metrics and the rank test over seeds. See docs/statistics.md."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .cd_diagram import cd_markup
from .keys import ColumnKey
from .model import SectionStats, SiteModel
from .plots import RecallSeries, group_bars_svg, recall_vs_count_svg
from .svg import heatmap_svg
from .views import (
    EXTRA_METRICS,
    add_seed_dots,
    long_tail_methods,
    mean_recall,
    metric_column,
    significance_mark,
    summed_confusion,
)


def dataset_context(model: SiteModel, dataset: str) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "facts": model.dataset_facts[dataset],
        "sections": [dataset_section(model, s) for s in model.sections_of(dataset)],
    }


def dataset_section(model: SiteModel, section: SectionStats) -> dict[str, Any]:
    """One (backbone, protocol) section of a dataset page: the table, its plots and the rank test."""
    column, part = section.column, section.part
    present = set(part["method"])
    rows = [_section_row(model, column, m) for m in model.methods if m in present]
    rows.sort(key=lambda r: (math.isnan(r["cell"]["all_mean"]), -np.nan_to_num(r["cell"]["all_mean"])))
    add_seed_dots(rows)
    has_medium = bool(part["mcr_medium"].notna().any())
    ranks = section.ranks
    methods = [r["name"] for r in rows]
    return {
        "backbone": column.backbone,
        "protocol": column.protocol,
        "rows": rows,
        "has_medium": has_medium,
        "extra": extra_table(model, column, methods),
        **class_plots(model, column, methods, has_medium),
        "cd_svg": cd_markup(ranks, f"{column.dataset}: critical-difference diagram over seeds"),
        "ranks": ranks,
        "prior": section.prior,
        "dropped": list(ranks.dropped),
    }


def _section_row(model: SiteModel, column: ColumnKey, method: str) -> dict[str, Any]:
    key = column.cell(method)
    c = model.cell(key)
    assert c is not None
    vs_ce = model.test(key, "all", "baseline")
    return {
        "name": method,
        "slug": model.method_slug[method],
        "cell": c,
        "ci": model.interval(key),
        "seeds": ", ".join(map(str, c["seeds"])),
        "values": [r.result.metrics.mcr_all for r in model.runs_of(key) if r.result.metrics],
        "vs_ce": vs_ce,
        "vs_best": model.test(key, "all", "best"),
        "mark": significance_mark(vs_ce),
    }


def extra_table(model: SiteModel, column: ColumnKey, methods: list[str]) -> dict[str, Any] | None:
    """The metrics beyond MCR (accuracy, macro-F1, AUC, ECE, NLL, many/medium/few-shot MCR) of a section's
    methods: mean ± std over seeds and n, one column per metric that some run here has."""
    cells = {m: model.extra_of(column.cell(m)) for m in methods}
    names = [n for n in EXTRA_METRICS if any(n in c for c in cells.values())]
    if not names:
        return None
    return {
        "metrics": [metric_column(n) for n in names],
        "rows": [{"name": m, "slug": model.method_slug[m], "cells": [cells[m].get(n) for n in names]} for m in methods],
    }


def class_plots(model: SiteModel, column: ColumnKey, methods: list[str], has_medium: bool) -> dict[str, Any]:
    """Per-class views of a section, classes ordered by training count (most first): the recall heat map,
    the long-tail plot, group bars and the confusion matrices summed over seeds."""
    dataset = column.dataset
    first = model.runs_of(column.cell(methods[0]))[0].result
    assert first.per_class is not None
    pc = first.per_class
    order = sorted(range(len(pc.class_names)), key=lambda i: (-pc.train_counts[i], i))
    names = [pc.class_names[i] for i in order]
    counts = [pc.train_counts[i] for i in order]
    notes = [f"{pc.group[i][:3]} {pc.train_counts[i]}" if pc.group[i] else str(pc.train_counts[i]) for i in order]
    recall, confusions = {}, []
    for method in methods:
        runs = model.runs_of(column.cell(method))
        recall[method] = mean_recall(runs, order)
        confusions.append(summed_confusion(runs, order, names, f"{method}: confusion matrix on {dataset}"))
        confusions[-1]["name"] = method
    heat = heatmap_svg(
        [recall[m] for m in methods],
        methods,
        names,
        f"per-class recall (%) on {dataset}, mean over seeds",
        col_notes=notes,
        col_header="class (group, training images), most images first",
    )
    chosen = long_tail_methods(model.cells, column, methods)
    long_tail = recall_vs_count_svg(
        [RecallSeries(m, counts, recall[m]) for m in chosen],
        names,
        f"per-class recall against training images on {dataset}: {', '.join(chosen)}",
    )
    groups = ["major", "medium", "minor"] if has_medium else ["major", "minor"]
    bars = group_bars_svg(
        methods,
        [f"{g} classes" for g in groups],
        [[model.cell(column.cell(m))[f"{g}_mean"] for g in groups] for m in methods],  # type: ignore[index]
        f"MCR of the major / medium / minor classes on {dataset}",
    )
    return {
        "heatmap": heat,
        "confusions": confusions,
        "long_tail": long_tail,
        "long_tail_methods": chosen,
        "group_bars": bars,
    }
