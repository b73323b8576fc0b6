"""Tables in the paper's layout, computed from result files only."""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..numbers import fixed, rounded
from ..results.reader import results_frame
from ..results.schema import RunResult, group_metric_labels, group_metrics, metric_names, metric_specs
from .comparisons import MIN_SEEDS_FOR_BEST


def method_order(names: Sequence[str]) -> list[str]:
    """Registry (paper) order first, then any other method alphabetically."""
    from methods import method_names  # lazy: methods loads torch, and `report --help` imports this module

    registered = method_names()
    rank = {n: i for i, n in enumerate(registered)}
    return sorted(set(names), key=lambda n: (rank.get(n, len(rank)), n))


def check_manifest_hashes(frame: pd.DataFrame) -> list[str]:
    """A warning per dataset whose runs carry different dataset-manifest hashes (built differently)."""
    out = []
    for dataset, group in frame.groupby("dataset"):
        hashes = sorted(group["dataset_manifest_sha256"].unique())
        if len(hashes) > 1:
            out.append(
                f"{dataset}: runs carry {len(hashes)} different dataset manifest hashes "
                f"({', '.join(h[:12] for h in hashes)}); they were built from different constructions "
                "and should not be compared"
            )
    return out


def check_metric(name: str) -> str:
    """``name`` when it is a metric of the result schema (:func:`benchmark.results.schema.metric_names`), else a
    ValueError that lists the valid names."""
    if name not in metric_names():
        raise ValueError(f"unknown metric {name!r}; valid: {', '.join(metric_names())}")
    return name


def _mean_if_complete(values: pd.Series) -> float:
    """Mean over seeds, NaN unless every seed has the value (a result older than the metric lacks it)."""
    return float(values.mean()) if len(values) and bool(values.notna().all()) else float("nan")


def _std_if_complete(values: pd.Series) -> float:
    return float(values.std()) if len(values) and bool(values.notna().all()) else float("nan")


def summary_table(frame: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """Mean, sample std and number of seeds of each MCR, per dataset × backbone × protocol × method.

    With ``metric`` (a field of :class:`benchmark.results.schema.Metrics`) also ``metric_mean`` and ``metric_std``:
    its mean and sample std over seeds, NaN for a cell where a seed lacks it.
    """
    keys = ["dataset", "backbone", "protocol", "method"]
    mcr = group_metrics()
    # all_mean, all_std, then the mean of every other class group's MCR (major, medium, minor)
    columns: dict[str, Any] = {"all_mean": (mcr["all"], "mean"), "all_std": (mcr["all"], "std")}
    columns.update({short: (name, "mean") for short, name in mcr.items() if short != "all"})
    columns["seeds"] = ("seed", "nunique")
    if metric is not None:
        check_metric(metric)
        columns.update(metric_mean=(metric, _mean_if_complete), metric_std=(metric, _std_if_complete))
    agg = frame.groupby(keys, sort=False).agg(**columns)
    return agg.reset_index()


def table2(
    results: Sequence[RunResult], warn: bool = True, metric: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The Table-2 layout: rows = methods, column groups = datasets (All ± std / Major / Minor); the
    :func:`summary_table` of ``results`` (with ``metric``'s columns when given) and the manifest warnings."""
    frame = results_frame(list(results))
    if frame.empty:
        return frame, []
    warnings_ = check_manifest_hashes(frame)
    if warn:
        for w in warnings_:
            warnings.warn(w, stacklevel=2)
    return summary_table(frame, metric), warnings_


TABLES = (2, 3, 4, 5)
FORMATS = ("text", "markdown", "csv", "latex")
#: Table 3 of the paper: the ablation of supervised contrastive learning (SC) and class re-weighting (cRW).
ABLATION_ROWS = ("CE", "CE+SC", "CE→cRW", "SC→cRW", "CE+SC→cRW")
TABLE_HELP = {
    2: "Table 2: methods × datasets (All ± std / Major / Minor; Medium where a dataset has it)",
    3: "Table 3: the ablation rows " + ", ".join(ABLATION_ROWS) + " × datasets (All / Major / Minor)",
    4: "Table 4: methods × backbones, one block per dataset (All / Minor)",
    5: "Table 5: methods × datasets that define a medium group (All / Major / Medium / Minor)",
}


@dataclass
class Block:
    """One rendered table: rows = methods, column groups (datasets or backbones) of metric columns."""

    title: str
    context: dict[str, str]
    groups: list[tuple[str, list[str]]]
    rows: list[str]
    cells: dict[tuple[str, str, str], tuple[float, float | None]] = field(default_factory=dict)
    #: The column that may carry ± std ("All", or the metric of ``report --metric``).
    std_column: str = "All"
    #: False for a metric where lower is better (ECE, NLL): the best mark goes to the smallest value.
    higher_is_better: bool = True
    #: Seeds behind each (method, group): only cells with at least MIN_SEEDS_FOR_BEST can be marked best.
    seeds: dict[tuple[str, str], int] = field(default_factory=dict)

    def columns(self) -> list[tuple[str, str]]:
        return [(g, c) for g, cols in self.groups for c in cols]

    def marks(self) -> dict[tuple[str, str, str], int]:
        """1 = best, 2 = second best of each column (highest, or lowest when ``higher_is_better`` is False),
        compared at the shown precision (2 decimals), among cells with at least
        :data:`benchmark.analysis.comparisons.MIN_SEEDS_FOR_BEST` seeds (a one-seed number is not a result that can
        be best)."""
        out = {}
        for g, c in self.columns():
            shown = {
                m: rounded(self.cells[(m, g, c)][0])
                for m in self.rows
                if (m, g, c) in self.cells
                and not _nan(self.cells[(m, g, c)][0])
                and self.seeds.get((m, g), MIN_SEEDS_FOR_BEST) >= MIN_SEEDS_FOR_BEST
            }
            distinct = sorted(set(shown.values()), reverse=self.higher_is_better)
            for m, v in shown.items():
                if len(shown) > 1 and v == distinct[0]:
                    out[(m, g, c)] = 1
                elif len(distinct) > 1 and len(shown) > 2 and v == distinct[1]:
                    out[(m, g, c)] = 2
        return out


#: Table column (a class group's label) -> its :func:`summary_table` column.
_COLUMN_SOURCE = {label: "all_mean" if short == "all" else short for short, label in group_metric_labels().items()}


def _labels(*shorts: str) -> list[str]:
    """The table column labels of these class groups (``_labels("all", "minor")`` -> ``["All", "Minor"]``)."""
    labels = group_metric_labels()
    return [labels[short] for short in shorts]


def _nan(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def table_blocks(summary: pd.DataFrame, table: int = 2, metric: str | None = None) -> list[Block]:
    """The blocks of Table ``table`` (2, 3, 4 or 5) from :func:`summary_table`; [] when the results hold none.

    With ``metric`` (``summary`` made with the same ``metric``) every column group shows that one metric
    (± std in Table 2) in place of the MCR columns All / Major / (Medium) / Minor.
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table}; valid: {', '.join(map(str, TABLES))}")
    if summary.empty:
        return []
    unit = _unit(metric)
    if table == 4:
        return _backbone_blocks(summary, unit, metric)
    blocks = []
    for (backbone, protocol), part in summary.groupby(["backbone", "protocol"], sort=True):
        if table == 3:
            part = part[part["method"].isin(ABLATION_ROWS)]
        has_medium = {d: bool(g["medium"].notna().any()) for d, g in part.groupby("dataset", sort=False)}
        if table == 5:
            part = part[part["dataset"].map(has_medium).fillna(False).astype(bool)]
        if part.empty:
            continue
        groups, what = _dataset_groups(table, list(dict.fromkeys(part["dataset"])), has_medium, metric)
        blocks.append(
            _block(
                part,
                f"backbone {backbone}, protocol {protocol} ({unit}, mean over seeds; {what})",
                {"backbone": backbone, "protocol": protocol},
                "dataset",
                groups,
                std=table == 2,
                ablation=table == 3,
                metric=metric,
            )
        )
    return blocks


def _unit(metric: str | None) -> str:
    """What a block's numbers are: MCR %, or ``metric`` with its unit (and "lower is better" where it is)."""
    if metric is None:
        return "MCR %"

    spec = metric_specs()[check_metric(metric)]
    unit = f"{metric}, {'%' if spec.unit == 'percent' else spec.unit}"
    return unit + ("" if spec.higher_is_better else ", lower is better")


def _columns(names: list[str], metric: str | None) -> list[str]:
    """A column group's columns: the class groups' labels, or the one column of ``metric``."""
    return [metric] if metric is not None else names


def _backbone_blocks(summary: pd.DataFrame, unit: str, metric: str | None) -> list[Block]:
    """Table 4: one block per (dataset, protocol), a column group per backbone (All / Minor)."""
    blocks = []
    for (dataset, protocol), part in summary.groupby(["dataset", "protocol"], sort=True):
        backbones = list(dict.fromkeys(part["backbone"]))
        blocks.append(
            _block(
                part,
                f"{dataset}, protocol {protocol}: backbones ({unit}, mean over seeds)",
                {"dataset": dataset, "protocol": protocol},
                "backbone",
                [(b, _columns(_labels("all", "minor"), metric)) for b in backbones],
                std=False,
                metric=metric,
            )
        )
    return blocks


def _dataset_groups(
    table: int, datasets: list[str], has_medium: dict[str, bool], metric: str | None
) -> tuple[list[tuple[str, list[str]]], str]:
    """Tables 2, 3 and 5: a column group per dataset, and what the block's title says about it."""
    if table == 2:
        groups = [
            (d, _columns(_labels("all", "major", *(["medium"] if has_medium[d] else []), "minor"), metric))
            for d in datasets
        ]
        return groups, "best per column marked"
    if table == 3:
        return [(d, _columns(_labels("all", "major", "minor"), metric)) for d in datasets], "ablation"
    return [
        (d, _columns(_labels("all", "major", "medium", "minor"), metric)) for d in datasets
    ], "with the medium group"


def _block(
    part: pd.DataFrame,
    title: str,
    context: dict[str, str],
    group_by: str,
    groups: list[tuple[str, list[str]]],
    std: bool,
    ablation: bool = False,
    metric: str | None = None,
) -> Block:
    present = set(part["method"])
    rows = [m for m in ABLATION_ROWS if m in present] if ablation else method_order(list(present))
    if metric is None:
        block = Block(title, context, groups, rows)
        source, std_source = _COLUMN_SOURCE, "all_std"
    else:
        block = Block(
            title, context, groups, rows, std_column=metric, higher_is_better=metric_specs()[metric].higher_is_better
        )
        source, std_source = {metric: "metric_mean"}, "metric_std"
    for row in part.itertuples(index=False):
        g = getattr(row, group_by)
        for c in dict(groups).get(g, []):
            v = getattr(row, source[c])
            if not _nan(v):
                sd = float(getattr(row, std_source)) if std and c == block.std_column else None
                block.cells[(row.method, g, c)] = (float(v), sd)
        block.seeds[(row.method, g)] = int(row.seeds)
    return block


def format_blocks(blocks: Sequence[Block], fmt: str = "text") -> str:
    """Render blocks as ``text`` (best ``*``, second ``_``), ``markdown`` (**best**, <u>second</u>),
    ``csv`` (plain numbers, one header for all blocks) or ``latex`` (\\textbf / \\underline, booktabs)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
    if not blocks:
        return "no results"
    if fmt == "csv":
        return _csv(blocks)
    return "\n\n".join({"text": _text, "markdown": _markdown, "latex": _latex}[fmt](b) for b in blocks)


def _number(v: float, std: float | None, c: str, pm: str = " ± ") -> str:
    s = fixed(v)
    if std is not None:  # only the block's std column carries one
        s += f"{pm}{fixed(std)}" if not _nan(std) else f"{pm}–"
    return s


def _cells(block: Block, decorate: Any, pm: str = " ± ", missing: str = "–") -> list[list[str]]:
    marks = block.marks()
    out = []
    for m in block.rows:
        row = []
        for g, c in block.columns():
            if (m, g, c) not in block.cells:
                row.append(missing)
                continue
            v, std = block.cells[(m, g, c)]
            row.append(decorate(_number(v, std, c, pm), marks.get((m, g, c), 0)))
        out.append(row)
    return out


def _text(block: Block) -> str:
    header = ["Method"] + [f"{g} {c}" for g, c in block.columns()]
    body = _cells(block, lambda s, k: s + (" *" if k == 1 else " _" if k == 2 else ""))
    rows = [[m] + r for m, r in zip(block.rows, body)]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt_row = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()
    title = block.title + ("" if "marked" in block.title else "; * best, _ second")
    return "\n".join([title, fmt_row(header), "  ".join("-" * w for w in widths)] + [fmt_row(r) for r in rows])


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _markdown(block: Block) -> str:
    header = ["Method"] + [f"{_md_escape(g)} {c}" for g, c in block.columns()]
    body = _cells(block, lambda s, k: f"**{s}**" if k == 1 else f"<u>{s}</u>" if k == 2 else s)
    lines = [f"**{_md_escape(block.title)}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join([_md_escape(m)] + r) + " |" for m, r in zip(block.rows, body)]
    return "\n".join(lines)


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "→": r"$\rightarrow$",
    "±": r"$\pm$",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _latex(block: Block) -> str:
    n = len(block.columns())
    spec = "l" + "".join(" " + "c" * len(cols) for _, cols in block.groups)
    lines = [f"% {latex_escape(block.title)}", f"\\begin{{tabular}}{{{spec}}}", r"\toprule"]
    lines.append(
        " & ".join([""] + [f"\\multicolumn{{{len(cols)}}}{{c}}{{{latex_escape(g)}}}" for g, cols in block.groups])
        + r" \\"
    )
    start, rules = 2, []
    for _, cols in block.groups:
        rules.append(f"\\cmidrule(lr){{{start}-{start + len(cols) - 1}}}")
        start += len(cols)
    lines.append(" ".join(rules))
    lines.append(" & ".join(["Method"] + [c for _, c in block.columns()]) + r" \\")
    lines.append(r"\midrule")
    body = _cells(
        block,
        lambda s, k: f"\\textbf{{{s}}}" if k == 1 else f"\\underline{{{s}}}" if k == 2 else s,
        pm=r" $\pm$ ",
        missing="--",
    )
    lines += [" & ".join([latex_escape(m)] + r) + r" \\" for m, r in zip(block.rows, body)]
    lines += [r"\bottomrule", r"\end{tabular}"]
    assert n == len(block.columns())
    return "\n".join(lines)


def _csv(blocks: Sequence[Block]) -> str:
    context_keys = list(dict.fromkeys(k for b in blocks for k in b.context))
    value_cols: list[str] = []
    for b in blocks:
        for g, c in b.columns():
            value_cols.append(f"{g} {c}")
            if c == b.std_column and any(b.cells.get((m, g, c), (0, None))[1] is not None for m in b.rows):
                value_cols.append(f"{g} {c} std")
    value_cols = list(dict.fromkeys(value_cols))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(context_keys + ["method"] + value_cols)
    for b in blocks:
        for m in b.rows:
            row: dict[str, str] = {}
            for g, c in b.columns():
                if (m, g, c) in b.cells:
                    v, std = b.cells[(m, g, c)]
                    row[f"{g} {c}"] = f"{v:.4f}"
                    if std is not None and not _nan(std):
                        row[f"{g} {c} std"] = f"{std:.4f}"
            writer.writerow(
                [csv_text(b.context.get(k, "")) for k in context_keys]
                + [csv_text(m)]
                + [row.get(c, "") for c in value_cols]
            )
    return buf.getvalue().rstrip("\n")


def csv_text(s: str) -> str:
    """Neutralise spreadsheet formulas in text cells (a submitted name starting with '=' stays text)."""
    return "'" + s if s[:1] in ("=", "+", "@", "-") and not _is_number(s) else s


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def format_table2(summary: pd.DataFrame, fmt: str = "text") -> str:
    """Render the summary as Table 2: text (best ``*``, second ``_``), markdown (**best**, <u>second</u>),
    csv (plain numbers) or latex (\\textbf best, \\underline second)."""
    if summary.empty:
        return "no results"
    return format_blocks(table_blocks(summary, 2), fmt)


def render_table(
    results: Sequence[RunResult], table: int = 2, fmt: str = "text", metric: str | None = None
) -> tuple[str | None, list[str]]:
    """Table ``table`` of ``results`` in ``fmt``; None when the results hold no run of its layout.

    ``metric`` (any field of :class:`benchmark.results.schema.Metrics`) shows that metric instead of the MCR
    columns; ValueError for an unknown name (listing the valid ones) or a metric no result holds.
    """
    if metric is not None:
        check_metric(metric)
    summary, warnings_ = table2(results, warn=False, metric=metric)
    if metric is not None and not summary.empty and not summary["metric_mean"].notna().any():
        *first, last = group_metrics().values()
        raise ValueError(
            f"no result has every seed of a cell with metric {metric!r} (results written before "
            f"schema version 2 hold only {', '.join(first)} and {last})"
        )
    blocks = table_blocks(summary, table, metric) if not summary.empty else []
    return (format_blocks(blocks, fmt) if blocks else None), warnings_
