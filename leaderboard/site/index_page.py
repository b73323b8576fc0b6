"""The front page: one board per backbone × protocol (sortable, significance marks vs CE, average ranks,
the rank tests across datasets and their critical-difference diagram). See docs/statistics.md."""

from __future__ import annotations

from typing import Any

from benchmark.analysis.comparisons import MIN_SEEDS_FOR_BEST
from benchmark.analysis.stats import DEFAULT_ROPE

from .cd_diagram import cd_markup
from .format import number, slugify, sort_value
from .keys import CellKey
from .model import BoardStats, SiteModel
from .views import METRIC_LABELS, bayes_rows, mark_best, pairwise_table, significance_mark, sorted_rows


def index_context(model: SiteModel) -> dict[str, Any]:
    facts = model.dataset_facts
    return {
        "boards": [board(model, stats) for stats in model.boards],
        "demos": [d for d in model.datasets if facts[d]["demo"]],
        "notes": [(d, facts[d]["note"]) for d in model.datasets if facts[d]["note"]],
        "methods": [{"name": m, "slug": model.method_slug[m]} for m in model.methods],
    }


def board(model: SiteModel, stats: BoardStats) -> dict[str, Any]:
    """One board: its columns, rows (opening sorted by the headline), rank tests and diagram."""
    ranks = stats.ranks
    groups, columns = board_columns(model, stats)
    present = set(stats.part["method"])
    rows = [board_row(model, stats, method, columns) for method in model.methods if method in present]
    # the table opens sorted by its headline: the average rank when there is one, else the first All column
    sort_col = 1 if not ranks.ranks.empty and ranks.n >= 2 else 2
    rows = sorted_rows(rows, sort_col - 1, ascending=sort_col == 1)  # cells[0] is column 1
    for col in columns:
        col["sorted"] = (
            "ascending" if col["index"] == sort_col == 1 else "descending" if col["index"] == sort_col else ""
        )
    mark_best(rows, len(columns) - 1)
    backbone, protocol = stats.backbone, stats.protocol
    return {
        "backbone": backbone,
        "protocol": protocol,
        "groups": groups,
        "columns": columns,
        "rows": rows,
        "pairwise": pairwise_table(ranks),
        "ranked": stats.ranked,
        "bayes": bayes_rows(stats.bayes, rows) if stats.bayes is not None else None,
        "rope": DEFAULT_ROPE,
        "unranked": [d for d in stats.datasets if d not in stats.ranked],
        "ranks": ranks,
        "cd_svg": cd_markup(ranks, f"critical-difference diagram, {backbone}, {protocol}"),
        "friedman": ranks.friedman,
        "id": slugify(f"{backbone}-{protocol}"),
    }


def board_columns(model: SiteModel, stats: BoardStats) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The dataset column groups of a board and its columns: Method, Avg. rank, then each dataset's
    All / Major / (Medium) / Minor."""
    groups: list[dict[str, Any]] = []
    columns: list[dict[str, Any]] = [
        {"label": "Method", "index": 0, "type": "text", "dataset": ""},
        {"label": "Avg. rank", "index": 1, "type": "rank", "dataset": ""},
    ]
    part = stats.part
    for d in stats.datasets:
        dpart = part[part["dataset"] == d]
        metrics = ["all", "major"] + (["medium"] if dpart["mcr_medium"].notna().any() else []) + ["minor"]
        groups.append(
            {"name": d, "slug": model.dataset_slug[d], "demo": model.dataset_facts[d]["demo"], "span": len(metrics)}
        )
        for m in metrics:
            label = METRIC_LABELS[m] + (" ± std" if m == "all" else "")
            columns.append({"label": label, "index": len(columns), "type": "number", "dataset": d, "metric": m})
    return groups, columns


def board_row(model: SiteModel, stats: BoardStats, method: str, columns: list[dict[str, Any]]) -> dict[str, Any]:
    """One method's row of a board: its average rank, then mean ± std and n seeds of every column."""
    cells = [_rank_cell(model, stats, method)]
    for col in columns[2:]:
        key = CellKey(col["dataset"], stats.backbone, stats.protocol, method)
        c = model.cell(key)
        mean = c[f"{col['metric']}_mean"] if c else None
        text = number(mean)
        if c and col["metric"] == "all":
            text += f" ± {number(c['all_std'])}"
        cells.append(
            {
                "text": text,
                "value": sort_value(mean),
                "n": c["n"] if c else None,
                "best": 0,
                "eligible": c["n"] >= MIN_SEEDS_FOR_BEST if c else False,
                "mark": significance_mark(model.test(key, col["metric"], "baseline")) if c else None,
                "title": (
                    f"mean over {c['n']} seed{'s' * (c['n'] != 1)} ({', '.join(map(str, c['seeds']))})"
                    if c
                    else "not run"
                ),
            }
        )
    return {"name": method, "slug": model.method_slug[method], "cells": cells}


def _rank_cell(model: SiteModel, stats: BoardStats, method: str) -> dict[str, Any]:
    """The Avg. rank cell of a row; with one ranked dataset the rank is that dataset's, shown with its
    95 % rank interval (how certain it is)."""
    ranks, ranked = stats.ranks, stats.ranked
    rank = ranks.ranks.get(method) if not ranks.ranks.empty else None
    keys = [CellKey(d, stats.backbone, stats.protocol, method) for d in ranked]
    seeds = [c["n"] if c else 0 for c in (model.cell(k) for k in keys)]
    within = model.interval(keys[0]) if len(ranked) == 1 and rank is not None else None
    return {
        "text": number(rank) + (f" [{within['rank_low']}–{within['rank_high']}]" if within else ""),
        "value": sort_value(rank),
        "mark": None,
        "best": 0,
        "n": None,
        "eligible": bool(seeds) and min(seeds) >= MIN_SEEDS_FOR_BEST,
        "title": f"average rank over {ranks.n} dataset{'s' * (ranks.n != 1)} (1 = best)"
        if rank is not None
        else "not ranked: not run on every ranked dataset of this table"
        if ranked
        else "not ranked: no dataset of this table is ranked (demonstration sets are not)",
    }
