"""The method pages: description, links, hyper-parameters, one row per column the method ran in, and the
provenance of every run."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from benchmark.results.schema import RunResult

from .keys import CellKey
from .model import SiteModel
from .views import EXTRA_METRICS, method_links, metric_column, provenance_rows, significance_mark


def method_context(model: SiteModel, method: str) -> dict[str, Any]:
    runs = [r for r in model.runs if r.result.spec.method == method]
    facts = model.method_facts.get(method)
    results = [r.result for r in runs]
    description = _most_common([r.description for r in results if r.description]) or (facts or {}).get(
        "description", ""
    )
    reference = _most_common([r.reference for r in results if r.reference]) or (facts or {}).get("reference", "")
    hyper = sorted({json.dumps(r.hyperparameters, sort_keys=True, ensure_ascii=False) for r in results})
    rows = method_rows(model, method, results)
    extra_names = [n for n in EXTRA_METRICS if any(n in r["extra"] for r in rows)]
    return {
        "method": method,
        "ids": sorted({r.spec.method_id for r in results}),
        "description": description,
        "reference": reference,
        **method_links(results, facts),
        "extra_metrics": [metric_column(n) for n in extra_names],
        "searched": any(r.stage2_choice for r in results),
        "stage2_settings": _most_common(
            [json.dumps(r.stage2_settings, sort_keys=True) for r in results if r.stage2_settings]
        ),
        "two_stage": any(r.two_stage for r in results),
        "rebalance": _most_common([r.rebalance for r in results if r.rebalance]) or "",
        "hyperparameters": [json.loads(h) for h in hyper],
        "facts": facts,
        "rows": rows,
        "provenance": provenance_rows(runs),
    }


def method_rows(model: SiteModel, method: str, results: list[RunResult]) -> list[dict[str, Any]]:
    """One row per (dataset, backbone, protocol) the method ran on: its cell, marks, test and extra metrics."""
    keys = sorted(
        {CellKey(r.spec.dataset, r.spec.backbone, r.spec.protocol, method) for r in results},
        key=lambda k: (model.datasets.index(k.dataset), k.backbone, k.protocol),
    )
    rows: list[dict[str, Any]] = []
    for key in keys:
        c = model.cell(key)
        vs_ce = model.test(key, "all", "baseline")
        rows.append(
            {
                "dataset": key.dataset,
                "slug": model.dataset_slug[key.dataset],
                "backbone": key.backbone,
                "protocol": key.protocol,
                "cell": c,
                "seeds": ", ".join(map(str, c["seeds"])) if c else "",
                "demo": model.dataset_facts[key.dataset]["demo"],
                "mark": significance_mark(vs_ce),
                "vs_ce": vs_ce,
                "extra": model.extra_of(key),
            }
        )
    return rows


def _most_common(items: Sequence[Any]) -> Any:
    """The most frequent item (the first seen among equals; None when there is none)."""
    if not items:
        return None
    return Counter(items).most_common(1)[0][0]
