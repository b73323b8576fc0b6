"""The board model: every statistic of the site, computed once from the loaded runs; the page renderers
only look things up here (by :class:`~leaderboard.site.keys.CellKey`). What each statistic means:
docs/statistics.md."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.analysis.comparisons import cell_intervals, compare_methods
from benchmark.analysis.reproduction import Comparison, RefCell, compare, paper_reference
from benchmark.analysis.stats import (
    CELL_KEYS,
    RankSummary,
    bayesian_comparisons,
    cell_stats,
    rank_summary,
    scores_across_datasets,
    scores_across_seeds,
)
from benchmark.analysis.tables import method_order
from benchmark.results.reader import results_frame

from .format import unique_slugs
from .keys import CellKey, ColumnKey
from .runs import Loaded
from .views import EXTRA_METRICS, METRIC_COLUMNS


@dataclass(frozen=True)
class BoardStats:
    """One table of the front page (a backbone × protocol): its datasets, the ranked ones (demonstration sets
    are not evidence) and the rank tests across them."""

    backbone: str
    protocol: str
    part: pd.DataFrame
    datasets: list[str]
    ranked: list[str]
    ranks: RankSummary
    bayes: pd.DataFrame | None  # Bayesian signed rank vs CE, with at least 2 ranked datasets


@dataclass(frozen=True)
class SectionStats:
    """One (backbone, protocol) section of a dataset page: its runs, the rank test over seeds and the
    column's empirical-Bayes prior of the seed variance."""

    column: ColumnKey
    part: pd.DataFrame
    ranks: RankSummary
    prior: dict[str, Any] | None


@dataclass(frozen=True)
class SiteModel:
    """The results of one directory as the site shows them: the tables of statistics, the order and file names
    of datasets and methods, and each cell's runs. Made by :func:`build_model`; the lookups are by key."""

    root: Path
    tolerance: float
    all_runs: list[Loaded]
    runs: list[Loaded]  # the finished ones (status ok): the only ones shown
    failed: list[Loaded]
    frame: pd.DataFrame
    all_frame: pd.DataFrame  # every run, failed ones too (results.csv)
    cells: pd.DataFrame
    tests: pd.DataFrame
    intervals: pd.DataFrame
    methods: list[str]
    datasets: list[str]  # demonstration sets last
    dataset_facts: dict[str, dict[str, Any]]
    method_facts: dict[str, dict[str, Any] | None]
    slices: list[tuple[str, str]]  # (backbone, protocol), in the order of the runs
    dataset_slug: dict[str, str]
    method_slug: dict[str, str]
    extra: dict[CellKey, dict[str, dict[str, Any]]]
    boards: list[BoardStats]
    sections: dict[ColumnKey, SectionStats]
    reference: list[RefCell]
    comparisons: list[Comparison]
    runs_by_key: dict[CellKey, list[Loaded]]  # each cell's runs, by seed
    _cell_row: dict[tuple[Any, ...], int]
    _test_row: dict[tuple[Any, ...], int]
    _interval_row: dict[tuple[Any, ...], int]

    # -- lookups ------------------------------------------------------------------------
    def cell(self, key: CellKey) -> dict[str, Any] | None:
        """The cell's row of :func:`benchmark.analysis.stats.cell_stats` (None: not run)."""
        i = self._cell_row.get(key)
        return None if i is None else self.cells.iloc[i].to_dict()

    def test(self, key: CellKey, metric: str, versus: str) -> dict[str, Any] | None:
        """The cell's row of :func:`benchmark.analysis.comparisons.compare_methods` against CE or the best."""
        i = self._test_row.get((METRIC_COLUMNS[metric], versus, *key))
        return None if i is None else self.tests.iloc[i].to_dict()

    def interval(self, key: CellKey, metric: str = "all") -> dict[str, Any] | None:
        """The cell's row of :func:`benchmark.analysis.comparisons.cell_intervals` (interval, moderated SD,
        rank interval)."""
        i = self._interval_row.get((METRIC_COLUMNS[metric], *key))
        return None if i is None else self.intervals.iloc[i].to_dict()

    def runs_of(self, key: CellKey) -> list[Loaded]:
        return self.runs_by_key.get(key, [])

    def extra_of(self, key: CellKey) -> dict[str, dict[str, Any]]:
        """The cell's metrics beyond MCR that its runs have: mean, std and n seeds each."""
        return self.extra.get(key, {})

    def sections_of(self, dataset: str) -> list[SectionStats]:
        return [s for s in self.sections.values() if s.column.dataset == dataset]


def build_model(
    runs: list[Loaded],
    tolerance: float,
    dataset_facts: Callable[[str], dict[str, Any]],
    method_facts: Callable[[str], dict[str, Any] | None],
    root: Path,
) -> SiteModel:
    """Every statistic of the site, from the runs of ``root`` (``tolerance``: of the paper page, as in ``check``)."""
    ok = [r for r in runs if r.result.status == "ok"]
    frame = results_frame([r.result for r in ok])
    cells = cell_stats(frame)
    tests, intervals = _comparisons(frame)
    methods = method_order(frame["method"].tolist()) if not frame.empty else []
    datasets = (
        sorted(dict.fromkeys(frame["dataset"]), key=lambda d: (bool(dataset_facts(d)["demo"]), d))
        if not frame.empty
        else []
    )
    facts = {d: dataset_facts(d) for d in datasets}
    slices = list(dict.fromkeys(zip(frame["backbone"], frame["protocol"]))) if not frame.empty else []
    reference = paper_reference()
    return SiteModel(
        root=root,
        tolerance=tolerance,
        all_runs=runs,
        runs=ok,
        failed=[r for r in runs if r.result.status != "ok"],
        frame=frame,
        all_frame=results_frame([r.result for r in runs]),
        cells=cells,
        tests=tests,
        intervals=intervals,
        methods=methods,
        datasets=datasets,
        dataset_facts=facts,
        method_facts={m: method_facts(m) for m in methods},
        slices=slices,
        dataset_slug=unique_slugs(datasets, lambda d: d),
        method_slug=_method_slugs(methods, ok),
        extra=extra_metric_cells(frame),
        boards=[_board(frame, datasets, facts, b, p) for b, p in slices],
        sections=_sections(frame, intervals, datasets, slices),
        reference=reference,
        comparisons=compare(frame, reference, tolerance),
        runs_by_key=_runs_by_key(ok),
        _cell_row=_row_index(cells, CELL_KEYS),
        _test_row=_row_index(tests, ["metric", "versus", *CELL_KEYS]),
        _interval_row=_row_index(intervals, ["metric", *CELL_KEYS]),
    )


def _comparisons(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Method-against-CE / -best tests and each cell's intervals, for every MCR metric some run has."""
    metrics = [m for m, col in METRIC_COLUMNS.items() if not frame.empty and frame[col].notna().any()]
    tests = pd.concat(
        [compare_methods(frame, METRIC_COLUMNS[m]) for m in metrics] or [compare_methods(frame)],
        ignore_index=True,
    )
    intervals = pd.concat(
        [cell_intervals(frame, METRIC_COLUMNS[m]) for m in metrics] or [cell_intervals(frame)],
        ignore_index=True,
    )
    return tests, intervals


def extra_metric_cells(frame: pd.DataFrame) -> dict[CellKey, dict[str, dict[str, Any]]]:
    """Per cell, per metric of :data:`EXTRA_METRICS` that its runs have: mean, sample std and n seeds
    (:func:`benchmark.analysis.stats.cell_stats` over those metrics)."""
    stats = cell_stats(frame, {name: name for name in EXTRA_METRICS})
    return {
        CellKey(*(row[k] for k in CELL_KEYS)): {
            name: {"mean": row[f"{name}_mean"], "std": row[f"{name}_std"], "n": row[f"{name}_n"]}
            for name in EXTRA_METRICS
            if row[f"{name}_n"]
        }
        for row in stats.to_dict(orient="records")
    }


def _method_slugs(methods: list[str], runs: Sequence[Loaded]) -> dict[str, str]:
    """File names of the method pages, from each method's first method id."""
    first_id: dict[str, str] = {}
    for r in runs:
        first_id.setdefault(r.result.spec.method, r.result.spec.method_id)
    return unique_slugs(methods, lambda m: first_id.get(m, m))


def _runs_by_key(runs: Sequence[Loaded]) -> dict[CellKey, list[Loaded]]:
    """Each cell's runs ordered by seed (one run a seed: a later file of the same seed wins)."""
    by_seed: dict[tuple[CellKey, int], Loaded] = {}
    for r in runs:
        s = r.result.spec
        by_seed[(CellKey(s.dataset, s.backbone, s.protocol, s.method), s.seed)] = r
    out: dict[CellKey, list[Loaded]] = {}
    for (key, _), r in sorted(by_seed.items(), key=lambda kv: kv[0][1]):
        out.setdefault(key, []).append(r)
    return out


def _row_index(table: pd.DataFrame, columns: list[str]) -> dict[tuple[Any, ...], int]:
    """The position of the first row of ``table`` with each combination of ``columns``."""
    if table.empty:
        return {}
    index: dict[tuple[Any, ...], int] = {}
    for i, values in enumerate(zip(*(table[c] for c in columns))):
        index.setdefault(tuple(values), i)
    return index


def _board(
    frame: pd.DataFrame, datasets: list[str], facts: dict[str, dict[str, Any]], backbone: str, protocol: str
) -> BoardStats:
    part = frame[(frame["backbone"] == backbone) & (frame["protocol"] == protocol)]
    present = [d for d in datasets if d in set(part["dataset"])]
    ranked = [d for d in present if not facts[d]["demo"]]
    scores = scores_across_datasets(part[part["dataset"].isin(ranked)])
    ranks = rank_summary(scores, blocks="datasets")
    bayes = bayesian_comparisons(scores) if len(ranked) >= 2 else None
    return BoardStats(backbone, protocol, part, present, ranked, ranks, bayes)


def _sections(
    frame: pd.DataFrame, intervals: pd.DataFrame, datasets: list[str], slices: list[tuple[str, str]]
) -> dict[ColumnKey, SectionStats]:
    out = {}
    for dataset in datasets:
        for backbone, protocol in slices:
            column = ColumnKey(dataset, backbone, protocol)
            part = frame[
                (frame["dataset"] == dataset) & (frame["backbone"] == backbone) & (frame["protocol"] == protocol)
            ]
            if not part.empty:
                ranks = rank_summary(scores_across_seeds(part), blocks="seeds")
                out[column] = SectionStats(column, part, ranks, _prior(intervals, column))
    return out


def _prior(intervals: pd.DataFrame, column: ColumnKey) -> dict[str, Any] | None:
    """The column's empirical-Bayes prior of the seed variance of All-MCR (d0, s0) and its outliers."""
    t = intervals
    rows = t[
        (t["dataset"] == column.dataset)
        & (t["backbone"] == column.backbone)
        & (t["protocol"] == column.protocol)
        & (t["metric"] == METRIC_COLUMNS["all"])
    ]
    if rows.empty:
        return None
    first = rows.iloc[0]
    own = rows[rows["own_variance"] & (rows["n"] > 1)]["method"].tolist()
    return {"df": first["prior_df"], "sd": first["prior_sd"], "pair_df": first["pair_prior_df"], "own": own}
