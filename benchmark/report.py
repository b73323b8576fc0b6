"""Tables in the paper's layout, computed from result files only."""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .schema import RunResult


def method_order(names: Sequence[str]) -> list[str]:
    """Registry (paper) order first, then any other method alphabetically."""
    from methods import method_names

    registered = method_names()
    rank = {n: i for i, n in enumerate(registered)}
    return sorted(set(names), key=lambda n: (rank.get(n, len(rank)), n))


def check_manifest_hashes(frame: pd.DataFrame) -> list[str]:
    """A warning per dataset whose runs carry different dataset-manifest hashes (built differently)."""
    out = []
    for dataset, group in frame.groupby("dataset"):
        hashes = sorted(group["dataset_manifest_sha256"].unique())
        if len(hashes) > 1:
            out.append(f"{dataset}: runs carry {len(hashes)} different dataset manifest hashes "
                       f"({', '.join(h[:12] for h in hashes)}); they were built from different constructions "
                       "and should not be compared")
    return out


def summary_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample std and number of seeds of each MCR, per dataset × backbone × protocol × method."""
    keys = ["dataset", "backbone", "protocol", "method"]
    agg = frame.groupby(keys, sort=False).agg(
        all_mean=("mcr_all", "mean"), all_std=("mcr_all", "std"), major=("mcr_major", "mean"),
        medium=("mcr_medium", "mean"), minor=("mcr_minor", "mean"), seeds=("seed", "nunique"))
    return agg.reset_index()


def table2(results: Sequence[RunResult], warn: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """The Table-2 layout: rows = methods, column groups = datasets (All ± std / Major / Minor)."""
    from .results import results_frame

    frame = results_frame(list(results))
    if frame.empty:
        return frame, []
    warnings_ = check_manifest_hashes(frame)
    if warn:
        for w in warnings_:
            warnings.warn(w, stacklevel=2)
    return summary_table(frame), warnings_


def format_table2(summary: pd.DataFrame, fmt: str = "text") -> str:
    """Render the summary as a Table-2 text (best per column marked ``*``) or markdown (best in bold)."""
    if summary.empty:
        return "no results"
    blocks = []
    for (backbone, protocol), part in summary.groupby(["backbone", "protocol"], sort=False):
        datasets = list(dict.fromkeys(part["dataset"]))
        methods = method_order(part["method"].tolist())
        has_medium = part["medium"].notna().any()
        cols = ["All", "Major"] + (["Medium"] if has_medium else []) + ["Minor"]
        cell: dict[tuple[str, str], dict[str, Any]] = {}
        for row in part.itertuples():
            cell[(row.method, row.dataset)] = {"All": row.all_mean, "std": row.all_std, "Major": row.major,
                                               "Medium": row.medium, "Minor": row.minor, "n": row.seeds}
        best = {(d, c): np.nanmax([cell.get((m, d), {}).get(c, np.nan) for m in methods] or [np.nan])
                for d in datasets for c in cols}

        def show(m: str, d: str, c: str) -> str:
            v = cell.get((m, d), {}).get(c)
            if v is None or (isinstance(v, float) and np.isnan(v)):
                return "–"
            s = f"{v:.2f}"
            if c == "All":
                std = cell[(m, d)]["std"]
                s += f" ± {std:.2f}" if std == std else " ± –"
            if np.isclose(v, best[(d, c)]):
                s = f"**{s}**" if fmt == "markdown" else s + " *"
            return s

        header = ["Method"] + [f"{d} {c}" for d in datasets for c in cols]
        rows = [[m] + [show(m, d, c) for d in datasets for c in cols] for m in methods]
        title = f"backbone {backbone}, protocol {protocol} (MCR %, mean over seeds; best per column marked)"
        if fmt == "markdown":
            lines = [f"**{title}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(r) + " |" for r in rows]
        else:
            widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
            fmt_row = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths))  # noqa: E731
            lines = [title, fmt_row(header), "  ".join("-" * w for w in widths)] + [fmt_row(r) for r in rows]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
