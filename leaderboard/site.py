"""Results directory -> static, self-contained leaderboard site (opens from ``file://``, no CDN).

Pages: ``index.html`` (the main table per backbone × protocol, sortable, significance marks vs CE,
average ranks and a critical-difference diagram across datasets), ``datasets/<name>.html``
(intervals of each cell's expected score, differences vs CE (FCR-adjusted intervals) / vs best
(simultaneous intervals), rank intervals, per-class recall heat map, confusion matrices, a CD diagram
with seeds as blocks), ``methods/<name>.html`` (description, hyper-parameters, seeds, provenance),
``paper.html`` (paper vs reproduced) and the downloads ``results.json`` / ``results.csv``.

Safety: Jinja2 autoescaping is on for every template, every SVG text is escaped, links from
result files pass :func:`safe_url` (http and https only), and each page carries a
Content-Security-Policy that allows only the bundled script and stylesheet.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark import __version__
from benchmark.analysis.comparisons import ALPHA, MIN_SEEDS_FOR_BEST, cell_intervals, compare_methods
from benchmark.analysis.reproduction import MAX_BANDS, compare, paper_reference
from benchmark.analysis.stats import (
    BASELINE,
    DEFAULT_ROPE,
    cd_diagram_svg,
    cell_stats,
    rank_summary,
    scores_across_datasets,
    scores_across_seeds,
)
from benchmark.analysis.tables import csv_text, method_order
from benchmark.files import set_default_dir_mode
from benchmark.results.reader import results_frame
from benchmark.results.schema import RunResult
from benchmark.results.store import ResultFileError, predictions_path, read_predictions

from .format import number, p_equals, p_value, safe_url, slugify, sort_value, unique_slugs
from .paper_grid import VERDICTS, paper_grids, scatter
from .plots import RecallSeries, group_bars_svg, recall_vs_count_svg
from .runs import Loaded
from .svg import heatmap_svg
from .views import (
    EXTRA_METRICS,
    METRIC_COLUMNS,
    METRIC_LABELS,
    add_seed_dots,
    bayes_rows,
    extra_metric_cells,
    long_tail_methods,
    mark_best,
    mean_recall,
    method_links,
    metric_column,
    pairwise_table,
    provenance_rows,
    sorted_rows,
    summed_confusion,
)

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES = PACKAGE_DIR / "templates"
STATIC = PACKAGE_DIR / "static"
MARKER = ".medlt-site"


class SiteError(ValueError):
    """The site cannot be built (malformed results, an output folder that is not a site)."""


# -- small helpers ------------------------------------------------------------------------


def load_runs(results_dir: Path) -> list[Loaded]:
    """Every result file, through the checks every reader applies (:func:`benchmark.validate.load_checked`);
    a broken one refuses the site (a published table must hold every run)."""
    from benchmark.results.validate import load_checked

    try:
        return [Loaded(path, result) for path, result in load_checked(results_dir)]
    except ResultFileError as e:
        raise SiteError(str(e)) from None


def marker_text(results_dir: Path) -> str:
    """The :data:`MARKER` file: this tool wrote the folder, which version, from which results directory."""
    return (
        json.dumps(
            {"generator": "medlt-bench", "version": __version__, "results": str(results_dir.resolve())}, indent=1
        )
        + "\n"
    )


def marked_results(out_dir: Path) -> str | None:
    """The results directory a marked site was built from (None for a site marked before it was recorded)."""
    try:
        value = json.loads((out_dir / MARKER).read_text(encoding="utf-8")).get("results")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def check_replaceable(out_dir: Path, results_dir: Path, replace_other_results: bool) -> None:
    """Refuse to replace anything but an empty folder or a site this tool wrote (and, unless
    ``replace_other_results``, one it wrote from ``results_dir``)."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / MARKER).is_file()):
        raise SiteError(f"{out_dir} exists and is not a leaderboard site (no {MARKER} file); refusing to replace it")
    source = marked_results(out_dir) if (out_dir / MARKER).is_file() else None
    if not replace_other_results and source is not None and source != str(results_dir.resolve()):
        raise SiteError(
            f"{out_dir} holds the site of {source}, not of {results_dir}; name the site folder to "
            "write (--site DIR, in run and leaderboard) to replace it or to write elsewhere"
        )


# -- the build ----------------------------------------------------------------------------
def build_site(
    results_dir: str | Path,
    out_dir: str | Path,
    *,
    tolerance: float = 1.0,
    dataset_facts: Callable[[str], dict[str, Any]] | None = None,
    method_facts: Callable[[str], dict[str, Any] | None] | None = None,
    replace_other_results: bool = True,
) -> Path:
    """Write the site for ``results_dir`` into ``out_dir`` (replaced atomically); returns ``index.html``.

    ``out_dir`` must be absent, empty or a site this tool wrote (its :data:`MARKER` file); with
    ``replace_other_results=False`` (a default location the user did not name) also one written
    from ``results_dir``. ``dataset_facts`` / ``method_facts`` default to the registries
    (:mod:`benchmark.facts`): they say which datasets are demonstration sets and add a
    registered method's reference and defaults.
    """
    from leaderboard import facts

    results_dir, out_dir = Path(results_dir), Path(out_dir)
    if not results_dir.is_dir():
        raise SiteError(f"results directory {results_dir} not found")
    check_replaceable(out_dir, results_dir, replace_other_results)
    builder = _SiteBuilder(
        load_runs(results_dir),
        tolerance,
        dataset_facts or facts.dataset_facts,
        method_facts or facts.method_facts,
        results_dir,
    )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        set_default_dir_mode(tmp)  # mkdtemp makes 0700: a published site must follow the umask
        builder.write(tmp, marker_text(results_dir))
        check_replaceable(out_dir, results_dir, replace_other_results)  # again: it may have appeared meanwhile
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir / "index.html"


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=select_autoescape(("html", "htm", "xml", "svg"), default_for_string=True, default=True),
    )
    env.filters["safe_url"] = safe_url
    env.filters["num"] = number
    env.filters["pval"] = p_value
    env.filters["peq"] = p_equals
    env.filters["sortvalue"] = sort_value
    return env


class _SiteBuilder:
    def __init__(
        self,
        runs: list[Loaded],
        tolerance: float,
        dataset_facts: Callable[[str], dict[str, Any]],
        method_facts: Callable[[str], dict[str, Any] | None],
        root: Path,
    ):
        self.root = root
        self.all_runs = runs
        self.runs = [r for r in runs if r.result.status == "ok"]
        self.failed = [r for r in runs if r.result.status != "ok"]
        self.tolerance = tolerance
        self.frame = results_frame([r.result for r in self.runs])
        self.cells = cell_stats(self.frame)
        metrics = [m for m, col in METRIC_COLUMNS.items() if not self.frame.empty and self.frame[col].notna().any()]
        self.tests = pd.concat(
            [compare_methods(self.frame, METRIC_COLUMNS[m]) for m in metrics] or [compare_methods(self.frame)],
            ignore_index=True,
        )
        self.intervals = pd.concat(
            [cell_intervals(self.frame, METRIC_COLUMNS[m]) for m in metrics] or [cell_intervals(self.frame)],
            ignore_index=True,
        )
        self.methods = method_order(self.frame["method"].tolist()) if not self.frame.empty else []
        self.datasets = (
            sorted(dict.fromkeys(self.frame["dataset"]), key=lambda d: (bool(dataset_facts(d)["demo"]), d))
            if not self.frame.empty
            else []
        )
        self.dataset_facts = {d: dataset_facts(d) for d in self.datasets}
        self.method_facts = {m: method_facts(m) for m in self.methods}
        self.slices = (
            list(dict.fromkeys(zip(self.frame["backbone"], self.frame["protocol"]))) if not self.frame.empty else []
        )
        self.dataset_slug = unique_slugs(self.datasets, lambda d: d)
        first_id: dict[str, str] = {}
        for r in self.runs:
            first_id.setdefault(r.result.spec.method, r.result.spec.method_id)
        self.method_slug = unique_slugs(self.methods, lambda m: first_id.get(m, m))
        self.by_key: dict[tuple, Loaded] = {}
        for r in self.runs:
            s = r.result.spec
            self.by_key[(s.dataset, s.backbone, s.protocol, s.method, s.seed)] = r
        self.extra = extra_metric_cells(self.frame)
        self.env = _environment()

    # -- lookups ------------------------------------------------------------------------
    def cell(self, dataset: str, backbone: str, protocol: str, method: str) -> dict[str, Any] | None:
        c = self.cells
        rows = c[
            (c["dataset"] == dataset)
            & (c["backbone"] == backbone)
            & (c["protocol"] == protocol)
            & (c["method"] == method)
        ]
        return rows.iloc[0].to_dict() if len(rows) else None

    def test(self, dataset: str, backbone: str, protocol: str, method: str, metric: str, versus: str) -> dict | None:
        """The cell's row of :func:`benchmark.comparisons.compare_methods` against CE or the best."""
        keys = {"dataset": dataset, "backbone": backbone, "protocol": protocol, "method": method, "versus": versus}
        return _first_row(self.tests, metric=METRIC_COLUMNS[metric], **keys)

    def interval(self, dataset: str, backbone: str, protocol: str, method: str, metric: str = "all") -> dict | None:
        """The cell's row of :func:`benchmark.comparisons.cell_intervals` (interval, moderated SD, rank interval)."""
        keys = {"dataset": dataset, "backbone": backbone, "protocol": protocol, "method": method}
        return _first_row(self.intervals, metric=METRIC_COLUMNS[metric], **keys)

    def mark(self, dataset: str, backbone: str, protocol: str, method: str, metric: str) -> dict[str, str] | None:
        """▲ / ▼ when the method differs from CE: its 95 % interval of the difference (FCR-adjusted) excludes 0."""
        t = self.test(dataset, backbone, protocol, method, metric, "baseline")
        if not t or not t["significant"]:
            return None
        better = t["direction"] > 0
        return {
            "symbol": "▲" if better else "▼",
            "cls": "sig-up" if better else "sig-down",
            "title": f"{'better' if better else 'worse'} than {BASELINE}: difference {t['diff']:+.2f}, "
            f"{100 * (1 - ALPHA):g} % interval [{t['low']:+.2f}, {t['high']:+.2f}] "
            f"({'paired by seed' if t['paired'] else 'unpaired'}, moderated t, Benjamini–Hochberg over {t['family']})",
        }

    def runs_of(self, dataset: str, backbone: str, protocol: str, method: str) -> list[Loaded]:
        return [
            v
            for k, v in sorted(self.by_key.items(), key=lambda kv: kv[0][4])
            if k[:4] == (dataset, backbone, protocol, method)
        ]

    # -- pages ----------------------------------------------------------------------------
    def common(self, root: str) -> dict[str, Any]:
        return {
            "root": root,
            "version": __version__,
            "n_runs": len(self.runs),
            "n_failed": len(self.failed),
            "nav_datasets": [
                {"name": d, "slug": self.dataset_slug[d], "demo": self.dataset_facts[d]["demo"]} for d in self.datasets
            ],
        }

    def write(self, out: Path, marker: str) -> None:
        (out / "static").mkdir(parents=True)
        for f in STATIC.iterdir():
            if f.is_file():
                shutil.copyfile(f, out / "static" / f.name)
        (out / MARKER).write_text(marker, encoding="utf-8")
        self.render(
            out / "index.html",
            "index.html",
            boards=[self.board(b, p) for b, p in self.slices],
            demos=[d for d in self.datasets if self.dataset_facts[d]["demo"]],
            notes=[(d, self.dataset_facts[d]["note"]) for d in self.datasets if self.dataset_facts[d]["note"]],
            methods=[{"name": m, "slug": self.method_slug[m]} for m in self.methods],
            **self.common(""),
        )
        (out / "datasets").mkdir()
        for d in self.datasets:
            self.render(
                out / "datasets" / f"{self.dataset_slug[d]}.html",
                "dataset.html",
                **self.dataset_page(d),
                **self.common("../"),
            )
        (out / "methods").mkdir()
        for m in self.methods:
            self.render(
                out / "methods" / f"{self.method_slug[m]}.html",
                "method.html",
                **self.method_page(m),
                **self.common("../"),
            )
        self.render(out / "paper.html", "paper.html", **self.paper_page(), **self.common(""))
        self.copy_sources(out / "source")
        (out / "results.json").write_text(self.results_json(), encoding="utf-8")
        (out / "results.csv").write_text(self.results_csv(), encoding="utf-8")

    def copy_sources(self, out: Path) -> None:
        """The source file of every registered method shown, as text (its page links there)."""
        for facts in self.method_facts.values():
            if facts and facts.get("source") and Path(facts["source_path"]).is_file():
                target = out / f"{facts['source']}.txt"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(facts["source_path"], target)

    def render(self, path: Path, template: str, **context: Any) -> None:
        path.write_text(self.env.get_template(template).render(**context), encoding="utf-8")

    # index ---------------------------------------------------------------------------------
    def board(self, backbone: str, protocol: str) -> dict[str, Any]:
        part = self.frame[(self.frame["backbone"] == backbone) & (self.frame["protocol"] == protocol)]
        datasets = [d for d in self.datasets if d in set(part["dataset"])]
        ranked = [d for d in datasets if not self.dataset_facts[d]["demo"]]  # a demo set is not evidence
        ranked_scores = scores_across_datasets(part[part["dataset"].isin(ranked)])
        ranks = rank_summary(ranked_scores, blocks="datasets")
        groups, columns = self.board_columns(part, datasets)
        rows = [
            self.board_row(method, backbone, protocol, columns, ranks, ranked)
            for method in self.methods
            if method in set(part["method"])
        ]
        # the table opens sorted by its headline: the average rank when there is one, else the first All column
        sort_col = 1 if not ranks.ranks.empty and ranks.n >= 2 else 2
        rows = sorted_rows(rows, sort_col - 1, ascending=sort_col == 1)  # cells[0] is column 1
        for col in columns:
            col["sorted"] = (
                "ascending" if col["index"] == sort_col == 1 else "descending" if col["index"] == sort_col else ""
            )
        mark_best(rows, len(columns) - 1)
        cd = (
            cd_diagram_svg(
                ranks.ranks.to_dict(), ranks.cd, title=f"critical-difference diagram, {backbone}, {protocol}"
            )
            if ranks.draw_cd
            else None
        )
        return {
            "backbone": backbone,
            "protocol": protocol,
            "groups": groups,
            "columns": columns,
            "rows": rows,
            "pairwise": pairwise_table(ranks),
            "ranked": ranked,
            "bayes": bayes_rows(ranked_scores, rows) if len(ranked) >= 2 else None,
            "rope": DEFAULT_ROPE,
            "unranked": [d for d in datasets if d not in ranked],
            "ranks": ranks,
            "cd_svg": _markup(cd),
            "friedman": ranks.friedman,
            "id": slugify(f"{backbone}-{protocol}"),
        }

    def board_columns(
        self, part: pd.DataFrame, datasets: list[str]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The dataset column groups of a board and its columns: Method, Avg. rank, then each dataset's
        All / Major / (Medium) / Minor."""
        groups: list[dict[str, Any]] = []
        columns: list[dict[str, Any]] = [
            {"label": "Method", "index": 0, "type": "text", "dataset": ""},
            {"label": "Avg. rank", "index": 1, "type": "rank", "dataset": ""},
        ]
        for d in datasets:
            dpart = part[part["dataset"] == d]
            metrics = ["all", "major"] + (["medium"] if dpart["mcr_medium"].notna().any() else []) + ["minor"]
            groups.append(
                {"name": d, "slug": self.dataset_slug[d], "demo": self.dataset_facts[d]["demo"], "span": len(metrics)}
            )
            for m in metrics:
                label = METRIC_LABELS[m] + (" ± std" if m == "all" else "")
                columns.append({"label": label, "index": len(columns), "type": "number", "dataset": d, "metric": m})
        return groups, columns

    def board_row(
        self, method: str, backbone: str, protocol: str, columns: list[dict[str, Any]], ranks: Any, ranked: list[str]
    ) -> dict[str, Any]:
        """One method's row of a board: its average rank, then mean ± std and n seeds of every column."""
        rank = ranks.ranks.get(method) if not ranks.ranks.empty else None
        seeds = [c["n"] if c else 0 for c in (self.cell(d, backbone, protocol, method) for d in ranked)]
        # with one ranked dataset the rank is that dataset's: show how certain it is (its 95 % rank interval)
        within = self.interval(ranked[0], backbone, protocol, method) if len(ranked) == 1 and rank is not None else None
        cells = [
            {
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
        ]
        for col in columns[2:]:
            c = self.cell(col["dataset"], backbone, protocol, method)
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
                    "mark": self.mark(col["dataset"], backbone, protocol, method, col["metric"]) if c else None,
                    "title": (
                        f"mean over {c['n']} seed{'s' * (c['n'] != 1)} ({', '.join(map(str, c['seeds']))})"
                        if c
                        else "not run"
                    ),
                }
            )
        return {"name": method, "slug": self.method_slug[method], "cells": cells}

    # dataset pages -----------------------------------------------------------------------------
    def dataset_page(self, dataset: str) -> dict[str, Any]:
        sections = []
        for backbone, protocol in self.slices:
            part = self.frame[
                (self.frame["dataset"] == dataset)
                & (self.frame["backbone"] == backbone)
                & (self.frame["protocol"] == protocol)
            ]
            if not part.empty:
                sections.append(self.dataset_section(dataset, backbone, protocol, part))
        return {"dataset": dataset, "facts": self.dataset_facts[dataset], "sections": sections}

    def dataset_section(self, dataset: str, backbone: str, protocol: str, part: pd.DataFrame) -> dict[str, Any]:
        """One (backbone, protocol) section of a dataset page: the table, its plots and the rank test."""
        methods = [m for m in self.methods if m in set(part["method"])]
        rows: list[dict[str, Any]] = []
        for method in methods:
            c = self.cell(dataset, backbone, protocol, method)
            assert c is not None
            runs = self.runs_of(dataset, backbone, protocol, method)
            rows.append(
                {
                    "name": method,
                    "slug": self.method_slug[method],
                    "cell": c,
                    "ci": self.checked_interval(runs, dataset, backbone, protocol, method),
                    "seeds": ", ".join(map(str, c["seeds"])),
                    "values": [r.result.metrics.mcr_all for r in runs if r.result.metrics],
                    "vs_ce": self.test(dataset, backbone, protocol, method, "all", "baseline"),
                    "vs_best": self.test(dataset, backbone, protocol, method, "all", "best"),
                    "mark": self.mark(dataset, backbone, protocol, method, "all"),
                }
            )
        rows.sort(key=lambda r: (math.isnan(r["cell"]["all_mean"]), -np.nan_to_num(r["cell"]["all_mean"])))
        add_seed_dots(rows)
        has_medium = bool(part["mcr_medium"].notna().any())
        ranks = rank_summary(scores_across_seeds(part), blocks="seeds")
        cd = (
            cd_diagram_svg(ranks.ranks.to_dict(), ranks.cd, title=f"{dataset}: critical-difference diagram over seeds")
            if ranks.draw_cd
            else None
        )
        extra = self.extra_table(dataset, backbone, protocol, [r["name"] for r in rows])
        return {
            "backbone": backbone,
            "protocol": protocol,
            "rows": rows,
            "has_medium": has_medium,
            "extra": extra,
            **self.class_plots(dataset, backbone, protocol, [r["name"] for r in rows], has_medium),
            "cd_svg": _markup(cd),
            "ranks": ranks,
            "prior": self.prior_of(dataset, backbone, protocol),
            "dropped": list(ranks.dropped),
        }

    def extra_table(self, dataset: str, backbone: str, protocol: str, methods: list[str]) -> dict[str, Any] | None:
        """The metrics beyond MCR (accuracy, macro-F1, AUC, ECE, NLL, many/medium/few-shot MCR) of a section's
        methods: mean ± std over seeds and n, one column per metric that some run here has."""
        cells = {m: self.extra.get((dataset, backbone, protocol, m), {}) for m in methods}
        names = [n for n in EXTRA_METRICS if any(n in c for c in cells.values())]
        if not names:
            return None
        return {
            "metrics": [metric_column(n) for n in names],
            "rows": [
                {"name": m, "slug": self.method_slug[m], "cells": [cells[m].get(n) for n in names]} for m in methods
            ],
        }

    def class_plots(
        self, dataset: str, backbone: str, protocol: str, methods: list[str], has_medium: bool
    ) -> dict[str, Any]:
        """Per-class views of a section, classes ordered by training count (most first): the recall heat map,
        the long-tail plot, group bars and the confusion matrices summed over seeds."""
        first = self.runs_of(dataset, backbone, protocol, methods[0])[0].result
        assert first.per_class is not None
        pc = first.per_class
        order = sorted(range(len(pc.class_names)), key=lambda i: (-pc.train_counts[i], i))
        names = [pc.class_names[i] for i in order]
        counts = [pc.train_counts[i] for i in order]
        notes = [f"{pc.group[i][:3]} {pc.train_counts[i]}" if pc.group[i] else str(pc.train_counts[i]) for i in order]
        recall, confusions = {}, []
        for method in methods:
            runs = self.runs_of(dataset, backbone, protocol, method)
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
        chosen = long_tail_methods(self.cells, dataset, backbone, protocol, methods)
        long_tail = recall_vs_count_svg(
            [RecallSeries(m, counts, recall[m]) for m in chosen],
            names,
            f"per-class recall against training images on {dataset}: {', '.join(chosen)}",
        )
        groups = ["major", "medium", "minor"] if has_medium else ["major", "minor"]
        bars = group_bars_svg(
            methods,
            [f"{g} classes" for g in groups],
            [
                [self.cell(dataset, backbone, protocol, m)[f"{g}_mean"] for g in groups]  # type: ignore[index]
                for m in methods
            ],
            f"MCR of the major / medium / minor classes on {dataset}",
        )
        return {
            "heatmap": heat,
            "confusions": confusions,
            "long_tail": long_tail,
            "long_tail_methods": chosen,
            "group_bars": bars,
        }

    def checked_interval(
        self, runs: Sequence[Loaded], dataset: str, backbone: str, protocol: str, method: str
    ) -> dict[str, Any] | None:
        """The cell's interval of the expected All-MCR, after reading every run's predictions file: a missing,
        outside or broken one is a :class:`SiteError` naming the file (a published cell must hold its runs)."""
        for r in runs:
            if not r.result.predictions_file:
                continue
            try:
                read_predictions(predictions_path(r.path, r.result.predictions_file, self.root))
            except ResultFileError as e:
                raise SiteError(str(e)) from None
        return self.interval(dataset, backbone, protocol, method)

    def prior_of(self, dataset: str, backbone: str, protocol: str) -> dict[str, Any] | None:
        """The column's empirical-Bayes prior of the seed variance of All-MCR (d0, s0) and its outliers."""
        t = self.intervals
        rows = t[
            (t["dataset"] == dataset)
            & (t["backbone"] == backbone)
            & (t["protocol"] == protocol)
            & (t["metric"] == METRIC_COLUMNS["all"])
        ]
        if rows.empty:
            return None
        first = rows.iloc[0]
        own = rows[rows["own_variance"] & (rows["n"] > 1)]["method"].tolist()
        return {"df": first["prior_df"], "sd": first["prior_sd"], "pair_df": first["pair_prior_df"], "own": own}

    # method pages ------------------------------------------------------------------------------
    def method_page(self, method: str) -> dict[str, Any]:
        runs = [r for r in self.runs if r.result.spec.method == method]
        facts = self.method_facts.get(method)
        results = [r.result for r in runs]
        description = _most_common([r.description for r in results if r.description]) or (facts or {}).get(
            "description", ""
        )
        reference = _most_common([r.reference for r in results if r.reference]) or (facts or {}).get("reference", "")
        hyper = sorted({json.dumps(r.hyperparameters, sort_keys=True, ensure_ascii=False) for r in results})
        rows = self.method_rows(method, results)
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

    def method_rows(self, method: str, results: list[RunResult]) -> list[dict[str, Any]]:
        """One row per (dataset, backbone, protocol) the method ran on: its cell, marks, test and extra metrics."""
        rows: list[dict[str, Any]] = []
        for dataset, backbone, protocol in sorted(
            {(r.spec.dataset, r.spec.backbone, r.spec.protocol) for r in results},
            key=lambda k: (self.datasets.index(k[0]), k[1], k[2]),
        ):
            c = self.cell(dataset, backbone, protocol, method)
            rows.append(
                {
                    "dataset": dataset,
                    "slug": self.dataset_slug[dataset],
                    "backbone": backbone,
                    "protocol": protocol,
                    "cell": c,
                    "seeds": ", ".join(map(str, c["seeds"])) if c else "",
                    "demo": self.dataset_facts[dataset]["demo"],
                    "mark": self.mark(dataset, backbone, protocol, method, "all"),
                    "vs_ce": self.test(dataset, backbone, protocol, method, "all", "baseline"),
                    "extra": self.extra.get((dataset, backbone, protocol, method), {}),
                }
            )
        return rows

    # paper page --------------------------------------------------------------------------------
    def paper_page(self) -> dict[str, Any]:
        reference = paper_reference()
        comparisons = compare(self.frame, reference, self.tolerance)
        ran = [c for c in comparisons if c.ran]
        statuses = [c.status for c in ran]
        return {
            "grids": paper_grids(comparisons, self.frame, METRIC_COLUMNS),
            "scatter": scatter(comparisons),
            "tolerance": self.tolerance,
            "max_bands": MAX_BANDS,
            "verdicts": VERDICTS,
            "n_compared": len(ran),
            "n_ok": statuses.count("ok"),
            "n_fail": statuses.count("FAIL"),
            "n_inconclusive": statuses.count("inconclusive"),
            "n_cells": len(reference),
        }

    # downloads -----------------------------------------------------------------------------------
    def results_json(self) -> str:
        runs = []
        for r in self.all_runs:
            d = _missing_as_null(r.result.model_dump(mode="json"))  # a NaN metric downloads as null (missing)
            d["file"] = r.path.name
            runs.append(d)
        cells = self.cells.assign(seeds=self.cells["seeds"].map(list)).to_dict(orient="records")
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

    def results_csv(self) -> str:
        frame = results_frame([r.result for r in self.all_runs])
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


def _markup(svg: str | None) -> Any:
    from markupsafe import Markup

    return Markup(svg) if svg else None


def _first_row(table: pd.DataFrame, **equal: Any) -> dict[str, Any] | None:
    """The first row of ``table`` whose columns equal ``equal``, as a dict (None when there is none)."""
    if table.empty:
        return None
    mask = np.ones(len(table), dtype=bool)
    for column, value in equal.items():
        mask &= (table[column] == value).to_numpy()
    rows = table[mask]
    return rows.iloc[0].to_dict() if len(rows) else None


def _most_common(items: Sequence[Any]) -> Any:
    if not items:
        return None
    counts: dict[Any, int] = defaultdict(int)
    for x in items:
        counts[x] += 1
    return max(counts, key=lambda x: counts[x])
