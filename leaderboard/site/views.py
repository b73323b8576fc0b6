"""Pieces of the site's pages: table rows and their best marks, significance marks, per-class views,
rank-test tables, method links and provenance. Pure functions of the model's tables and the result files."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmark.analysis.comparisons import ALPHA
from benchmark.analysis.stats import BASELINE
from benchmark.numbers import rounded
from benchmark.results.schema import RunResult, group_metric_labels, group_metrics, metric_specs

from .format import p_value, safe_url
from .keys import ColumnKey
from .plots import seed_dots_svg
from .runs import Loaded
from .svg import confusion_svg

METRIC_LABELS = group_metric_labels()
METRIC_COLUMNS = group_metrics()
#: The metrics beyond the MCR headline, in schema order (one list: :func:`benchmark.results.schema.metric_specs`).
EXTRA_METRICS = [name for name, spec in metric_specs().items() if spec.group is None]


def method_links(results: Sequence[RunResult], facts: dict[str, Any] | None) -> dict[str, Any]:
    """A method's paper links (http(s) only; the registered one first), how many were dropped, its source file and
    class (a registered method) and the SHA-256 of a user's method file."""
    urls = sorted({u for u in (safe_url(r.url) for r in results) if u})
    for key in ("stage2_url", "url"):  # the method's paper first, then its stage 2's
        registered = safe_url((facts or {}).get(key))
        if registered and registered not in urls:
            urls.insert(0, registered)
    source = (
        {"file": facts["source"], "class": facts["class"], "href": f"../source/{facts['source']}.txt"}
        if facts and facts.get("source")
        else None
    )
    return {
        "urls": urls,
        "dropped_links": len({r.url for r in results if r.url and not safe_url(r.url)}),
        "source": source,
        "user_files": sorted({r.method_source_sha256 for r in results if r.method_source_sha256}),
    }


def provenance_rows(runs: Sequence[Loaded]) -> list[dict[str, Any]]:
    """One row per run: spec, provenance, stage-1 and manifest hashes, what a stage-2 search chose."""
    ordered = sorted(
        runs, key=lambda r: (r.result.spec.dataset, r.result.spec.backbone, r.result.spec.protocol, r.result.spec.seed)
    )
    return [
        {
            "spec": r.result.spec,
            "p": r.result.provenance,
            "stage1": r.result.stage1_sha256[:12],
            "choice": r.result.stage2_choice,
            "manifest": r.result.dataset_manifest_sha256[:12],
        }
        for r in ordered
    ]


def mean_recall(runs: Sequence[Loaded], order: list[int]) -> list[float | None]:
    """Per-class recall (%) of a cell, mean over its seeds, in ``order`` (None: no test image of the class)."""
    per = np.array(
        [[np.nan if v is None else v for v in r.result.per_class.recall] for r in runs if r.result.per_class],
        dtype=float,
    )
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a class with no test image: all-NaN column
        mean = np.nanmean(per, axis=0) if per.size else np.full(len(order), np.nan)
    return [None if np.isnan(mean[i]) else float(mean[i]) for i in order]


def summed_confusion(runs: Sequence[Loaded], order: list[int], names: list[str], title: str) -> dict[str, Any]:
    """The confusion matrix of a cell summed over its seeds, classes in ``order``, as an SVG (and the seed count)."""
    cm = np.sum([np.asarray(r.result.confusion_matrix) for r in runs], axis=0)[np.ix_(order, order)]
    seeds = f"{len(runs)} seed{'s' * (len(runs) != 1)}"
    return {"n": len(runs), "svg": confusion_svg(cm.tolist(), names, f"{title}, summed over {seeds}")}


def pairwise_table(ranks: Any) -> dict[str, Any] | None:
    """Pairwise Nemenyi p-values in rank order (None without at least 2 blocks)."""
    if ranks.pairwise is None or ranks.n < 2:
        return None
    order = list(ranks.ranks.index)
    return {
        "methods": order,
        "rows": [[p_value(ranks.pairwise.loc[a, b]) if a != b else "–" for b in order] for a in order],
    }


def bayes_rows(table: pd.DataFrame, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Bayesian signed-rank tests of every method against CE (the model's table), in the table's row order."""
    order = {r["name"]: i for i, r in enumerate(rows)}
    return sorted(table.to_dict(orient="records"), key=lambda b: order.get(b["method"], len(order)))


def significance_mark(test: dict[str, Any] | None) -> dict[str, str] | None:
    """▲ / ▼ when a method differs from CE (``test``: its row vs the baseline): the 95 % interval of the
    difference (FCR-adjusted) excludes 0."""
    if not test or not test["significant"]:
        return None
    better = test["direction"] > 0
    return {
        "symbol": "▲" if better else "▼",
        "cls": "sig-up" if better else "sig-down",
        "title": f"{'better' if better else 'worse'} than {BASELINE}: difference {test['diff']:+.2f}, "
        f"{100 * (1 - ALPHA):g} % interval [{test['low']:+.2f}, {test['high']:+.2f}] "
        f"({'paired by seed' if test['paired'] else 'unpaired'}, moderated t, "
        f"Benjamini–Hochberg over {test['family']})",
    }


def metric_column(name: str) -> dict[str, Any]:
    """Header facts of a metric column: label, unit, sort direction and the schema's description."""
    spec = metric_specs()[name]
    label = {"mcr": "MCR", "f1": "F1", "auc": "AUC", "ece": "ECE", "nll": "NLL"}
    text = " ".join(label.get(w, w) for w in name.split("_")).replace(" shot", "-shot")
    return {
        "name": name,
        "label": text[0].upper() + text[1:],
        "unit": "nats" if spec.unit == "nats" else "%",
        "type": "number" if spec.higher_is_better else "rank",
        "title": spec.description,
        "better": "higher" if spec.higher_is_better else "lower",
    }


def long_tail_methods(cells: pd.DataFrame, column: ColumnKey, methods: list[str]) -> list[str]:
    """The methods of the long-tail plot: CE, the best by All-MCR and the best by minor-class MCR (distinct)."""
    part = cells[
        (cells["dataset"] == column.dataset)
        & (cells["backbone"] == column.backbone)
        & (cells["protocol"] == column.protocol)
    ]
    chosen = [BASELINE] if BASELINE in methods else []
    for score in ("all_mean", "minor_mean"):
        ranked = part.dropna(subset=[score]).sort_values(score, ascending=False, kind="stable")
        if len(ranked):
            chosen.append(str(ranked.iloc[0]["method"]))
    return list(dict.fromkeys(chosen)) or methods[:1]


def add_seed_dots(rows: list[dict[str, Any]]) -> None:
    """A dot plot of each row's per-seed All-MCR, on one axis shared by the table (so rows compare)."""
    values = [v for r in rows for v in r["values"] if v is not None and not math.isnan(v)]
    if not values:
        for r in rows:
            r["dots"] = None
        return
    lo, hi = min(values), max(values)
    pad = max(0.5, 0.05 * (hi - lo))
    for r in rows:
        mine = [v for v in r["values"] if v is not None and not math.isnan(v)]
        r["dots"] = seed_dots_svg(mine, lo - pad, hi + pad, f"{r['name']}: All-MCR of each seed")
        r["axis"] = (lo - pad, hi + pad)


def mark_best(rows: list[dict[str, Any]], n_columns: int) -> None:
    """Best (1) and second-best (2) of each numeric column; ranks are lower-is-better.

    Only ``eligible`` cells compete (at least :data:`benchmark.analysis.comparisons.MIN_SEEDS_FOR_BEST` seeds): a
    one-seed number is not a result that can be "best".
    """
    for j in range(n_columns):
        values = [float(r["cells"][j]["value"]) for r in rows if r["cells"][j]["value"] and r["cells"][j]["eligible"]]
        if len(values) < 2:
            continue
        lower = j == 0
        distinct = sorted({rounded(v) for v in values}, reverse=not lower)
        for r in rows:
            cell = r["cells"][j]
            if not cell["value"] or not cell["eligible"]:
                continue
            v = rounded(float(cell["value"]))
            cell["best"] = (
                1 if v == distinct[0] else 2 if len(distinct) > 1 and len(values) > 2 and v == distinct[1] else 0
            )


def sorted_rows(rows: list[dict[str, Any]], column: int, ascending: bool) -> list[dict[str, Any]]:
    """Rows ordered by one column's ``value`` (missing values last, ties in their current order), as the
    sort script orders them when that column is clicked."""

    def key(row: dict[str, Any]) -> tuple[bool, float]:
        raw = row["cells"][column]["value"]
        if not raw:
            return True, 0.0
        return False, float(raw) if ascending else -float(raw)

    return sorted(rows, key=key)
