"""The checks that keep a result's numbers and texts within bounds: percentages in [0, 100], counts >= 0,
names and texts short enough for a table or a page."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

from ..identity import name_problem
from ..schema import RunResult
from .problems import Problem
from .submission import ResultFile, Submission

#: Upper bounds on what a result file may hold (characters): a page or a table must stay readable and a
#: site small. Method ids, display names and protocol names: :data:`benchmark.results.identity.MAX_NAME`.
MAX_TEXT = {"description": 10_000, "reference": 2_000, "url": 2_000, "error": 100_000}


#: The longest class name, dataset or backbone name, and the most hyper-parameter text (as JSON).
MAX_CLASS_NAME, MAX_SPEC_NAME, MAX_HYPERPARAMETERS = 100, 200, 20_000


def _percent_fields(r: RunResult) -> Iterator[tuple[str, float]]:
    """``(field path, value)`` of every percentage of a result: metrics, validation metrics, per-class recall."""
    for prefix, metrics in (("metrics", r.metrics), ("val_metrics", r.val_metrics)):
        for name, value in (metrics.model_dump() if metrics is not None else {}).items():
            if value is not None and name != "nll":
                yield f"{prefix}.{name}", value
    for i, value in enumerate(r.per_class.recall if r.per_class is not None else []):
        if value is not None:
            yield f"per_class.recall[{i}]", value


def check_ranges(sub: Submission, f: ResultFile) -> list[Problem]:
    """Every percentage (MCR, accuracy, macro-F1, AUC, ECE, per-class recall) lies in [0, 100], NLL is
    >= 0, and training counts and confusion-matrix entries are >= 0 (NaN is ``metrics_defined``'s)."""
    r, out = f.result, []
    for name, value in _percent_fields(r):
        if not math.isnan(value) and not 0 <= value <= 100:
            out.append(Problem(f.where, name, f"{value} is outside 0..100 (a percentage)"))
    for prefix, metrics in (("metrics", r.metrics), ("val_metrics", r.val_metrics)):
        nll = metrics.nll if metrics is not None else None
        if nll is not None and nll < 0:
            out.append(Problem(f.where, f"{prefix}.nll", f"{nll} is negative"))
    counts = r.per_class.train_counts if r.per_class is not None else []
    if any(c < 0 for c in counts):
        out.append(Problem(f.where, "per_class.train_counts", "holds a negative count"))
    if any(v < 0 for row in r.confusion_matrix or [] for v in row):
        out.append(Problem(f.where, "confusion_matrix", "holds a negative count"))
    return out


def check_sizes(sub: Submission, f: ResultFile) -> list[Problem]:
    """Names and texts are bounded: method id, display name and protocol name at most
    :data:`benchmark.results.identity.MAX_NAME` characters with no control character; dataset and backbone
    names, class names, description, reference, link, error and hyper-parameters within :data:`MAX_TEXT` and
    the limits beside it (a 200 MB description would make a 200 MB site, a 5,000-character name a page
    141,000 px wide, a newline a broken table)."""
    r, where = f.result, f.where
    s = r.spec
    out = [
        Problem(where, f"spec.{key}", problem)
        for key, what in (("method_id", "id"), ("method", "display name"), ("protocol", "protocol name"))
        if (problem := name_problem(getattr(s, key), what))
    ]
    texts = {"spec.dataset": (s.dataset, MAX_SPEC_NAME), "spec.backbone": (s.backbone, MAX_SPEC_NAME)}
    texts.update({key: (getattr(r, key) or "", limit) for key, limit in MAX_TEXT.items()})
    texts["hyperparameters"] = (json.dumps(r.hyperparameters, default=str), MAX_HYPERPARAMETERS)
    for i, name in enumerate(r.per_class.class_names if r.per_class is not None else []):
        texts[f"per_class.class_names[{i}]"] = (name, MAX_CLASS_NAME)
    out += [
        Problem(where, key, f"{len(text):,} characters; at most {limit:,}")
        for key, (text, limit) in texts.items()
        if len(text) > limit
    ]
    return out
