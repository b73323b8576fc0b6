"""The reproduction check (``python -m benchmark check``): do a results directory's numbers reproduce a reference?

A reference is a CSV of reported means: the paper's tables (``reference/paper_table*.csv``, ``--reference paper``),
the published board (``--reference board``) or any file with the columns of ``paper_table2.csv``. Each reference
cell the results hold runs for passes when ``|reproduced − reported| <= max(tolerance, t · sqrt(s̃²/n + s_ref²/n_ref))``
with both sides' moderated seed variances; a cell with fewer than 3 runs or a band wider than its metric's widest
band (:data:`MAX_BANDS`) is inconclusive, and runs equal to the board's seed for seed are identical. The rule, its
calibration and its price: docs/statistics.md, "`check`".
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..results.reader import results_frame
from ..results.schema import group_metrics
from ..results.validate import load_checked
from .comparisons import NO_PRIOR, VariancePrior, columns, fit_variance_prior, moderate, t_quantile
from .stats import METRICS
from .tables import method_order

REFERENCE_DIR = Path(__file__).parent / "reference"
PAPER_TABLES = {
    2: "paper_table2.csv",
    3: "paper_table3_ablation.csv",
    4: "paper_table4_backbones.csv",
    5: "paper_table5_natural.csv",
}
PAPER_BACKBONE = "resnet50"
#: Reference CSV column -> metric short name (``all_mean`` is Table 2's name for ``all``).
METRIC_COLUMNS = {"all_mean": "all", **{short: short for short in group_metrics()}}
GOLDEN_SMOKE = REFERENCE_DIR / "golden_smoke_digits.csv"
#: Seeds behind a reference mean when the reference does not say (the paper reports 3-seed means).
REFERENCE_SEEDS = 3
#: Widest band (pp) a cell may have and still count as checked, per metric (short names of
#: :func:`benchmark.results.schema.group_metrics`); :func:`max_bands` reads ``--max-band``.
MAX_BANDS: Mapping[str, float] = MappingProxyType({"all": 5.0, "major": 5.0, "medium": 5.0, "minor": 10.0})
#: ``--max-band``: one width for every metric, or a width per metric.
MaxBand = float | Mapping[str, float]
MIN_SEEDS = 3


class ReferenceError(ValueError):
    """A reference file that cannot be read (missing, wrong columns, bad numbers)."""


@dataclass(frozen=True)
class RefCell:
    source: str
    method: str
    dataset: str
    metric: str
    value: float
    std: float | None = None
    backbone: str | None = None
    protocol: str | None = None
    n: int | None = None  # seeds behind the reported mean; None: REFERENCE_SEEDS
    #: ``((seed, value), ...)`` of the runs behind the mean, when the reference has them (the board does)
    seed_values: tuple[tuple[int, float], ...] | None = None


@dataclass(frozen=True)
class Band:
    """The allowed |difference| of one cell: ``max(tolerance, t · se)``, and why it may be inconclusive."""

    se: float  # standard error of (reproduced − reported); NaN when neither side has a spread
    df: float
    allowed: float
    inconclusive: str | None = None  # the reason, or None
    identical: bool = False  # every run equals the reference's run of its seed: no band needed


#: Per-seed values closer than this are the same number (the JSON keeps every digit of a float).
IDENTICAL_TO = 1e-9


def max_bands(specs: Iterable[str] = ()) -> dict[str, float]:
    """The widest band of each metric after ``--max-band`` ``specs``, applied in order to :data:`MAX_BANDS`:
    ``"PP"`` sets every metric, ``"METRIC=PP"`` one (``minor=12``); ``ValueError`` names a bad one."""
    out = dict(MAX_BANDS)
    for spec in specs:
        metric, sep, raw = spec.rpartition("=")
        metric = metric.strip()
        if sep and metric not in out:
            raise ValueError(f"--max-band {spec!r}: unknown metric {metric!r} (one of {', '.join(out)})")
        try:
            width = float(raw)
        except ValueError:
            raise ValueError(f"--max-band {spec!r}: {raw.strip()!r} is not a number of pp") from None
        if not width > 0 or not math.isfinite(width):
            raise ValueError(f"--max-band {spec!r}: the width must be a positive number of pp")
        out.update({metric: width} if sep else dict.fromkeys(out, width))
    return out


def band_limit(max_band: MaxBand, metric: str) -> float:
    """The widest band of ``metric`` under ``max_band`` (a width for every metric, or one per metric)."""
    return max_band[metric] if isinstance(max_band, Mapping) else float(max_band)


def identical_runs(seed_values: Sequence[tuple[int, float]], ref: RefCell) -> bool:
    """Whether the runs are the reference's runs, seed for seed: the same seeds, each value equal."""
    if ref.seed_values is None:
        return False
    mine, theirs = dict(seed_values), dict(ref.seed_values)
    if len(mine) != len(seed_values) or len(theirs) != len(ref.seed_values):  # a seed twice: not one run a seed
        return False
    return mine.keys() == theirs.keys() and all(abs(mine[k] - theirs[k]) <= IDENTICAL_TO for k in mine)


def allowed_band(
    values: Sequence[float],
    ref: RefCell,
    tolerance: float,
    level: float = 0.95,
    max_band: MaxBand = MAX_BANDS,
    min_seeds: int = MIN_SEEDS,
    prior: VariancePrior = NO_PRIOR,
    same_process: bool = False,
) -> Band:
    """The band of a cell (see the module docstring) from the runs' values and the reference.

    ``prior`` is the column's empirical-Bayes prior of seed variances (:mod:`benchmark.analysis.comparisons`): the
    runs' variance is moderated with it; with ``same_process`` (a reference written by this benchmark for the
    same backbone and protocol, e.g. from another seed set) both sides' variances are pooled, then moderated.
    """
    x = np.asarray(values, dtype=float)
    n, n_ref = x.size, ref.n or REFERENCE_SEEDS
    own = moderate(float(x.var(ddof=1)) if n > 1 else math.nan, n - 1, prior)
    s2 = own.value if math.isfinite(own.value) and own.df > 0 else None
    # a std from one seed is undefined (and would divide by n_ref - 1 = 0): the reference's spread is unknown
    ref_known = ref.std is not None and n_ref >= 2
    ref_var = (
        moderate(ref.std**2, n_ref - 1, prior if same_process else NO_PRIOR)  # type: ignore[operator]
        if ref_known
        else None
    )
    if same_process and ref_known and n > 1 and prior.moderates:
        # an exact reproduction is the same method run again: both sides have one seed variance, so the two
        # sample variances are pooled and moderated once (a moderated two-sample t on d0 + (n - 1) + (n_ref - 1)
        # df, Smyth 2004) rather than each side leaning on the prior separately
        d = n - 1 + n_ref - 1
        pooled = moderate(((n - 1) * float(x.var(ddof=1)) + (n_ref - 1) * ref.std**2) / d, d, prior)  # type: ignore[operator]
        se, df = math.sqrt(pooled.value * (1 / n + 1 / n_ref)), float(pooled.df)
    elif s2 is None and ref_var is None:
        se, df = math.nan, math.nan
    elif ref_var is None or s2 is None:  # one side's spread stands in for the other's
        known = own if s2 is not None else ref_var
        assert known is not None  # both None is the branch above
        se, df = math.sqrt(known.value) * math.sqrt(1 / n + 1 / n_ref), float(known.df)
    else:
        a, b = s2 / n, ref_var.value / n_ref
        se = math.sqrt(a + b)
        denom = sum(v * v / d for v, d in ((a, own.df), (b, ref_var.df)) if math.isfinite(d))
        df = (a + b) ** 2 / denom if denom > 0 else math.inf
        if not own.own and not ref_var.own:  # one prior under both: count its d0 once
            df = min(df, prior.df + n - 1 + n_ref - 1)
    half = 0.0 if math.isnan(se) or se == 0 else t_quantile(0.5 + level / 2, df) * se
    allowed = max(tolerance, half)
    reason = None
    if n < min_seeds:
        reason = f"{n} run{'s' if n != 1 else ''} (fewer than {min_seeds} seeds)"
    elif allowed > (limit := band_limit(max_band, ref.metric)):
        reason = f"band ±{allowed:.2f} wider than {limit:g} pp"
    return Band(se, df, allowed, reason)


@dataclass(frozen=True)
class Comparison:
    ref: RefCell
    backbone: str | None
    protocol: str | None
    n: int
    reproduced: float | None
    std: float | None
    band: Band | None

    @property
    def allowed(self) -> float:
        return math.nan if self.band is None else self.band.allowed

    @property
    def inconclusive(self) -> str | None:
        return None if self.band is None else self.band.inconclusive

    @property
    def ran(self) -> bool:
        return self.reproduced is not None

    @property
    def diff(self) -> float:
        return math.nan if self.reproduced is None else self.reproduced - self.ref.value

    @property
    def ok(self) -> bool:
        """Within the band (an inconclusive cell can be within it: see :attr:`inconclusive`)."""
        return self.ran and abs(self.diff) <= self.allowed + 1e-9

    @property
    def status(self) -> str:
        if not self.ran:
            return "not run"
        if not self.ok:
            return "FAIL"
        if self.band is not None and self.band.identical:
            return "identical"
        return "inconclusive" if self.inconclusive else "ok"

    @property
    def label(self) -> str:
        where = f" ({self.backbone}, {self.protocol})" if self.backbone else ""
        return f"{self.ref.method} / {self.ref.dataset} / {self.ref.metric}{where}"


def normalise_method(name: str) -> str:
    return name.strip().replace("->", "→")


def load_reference_csv(path: str | Path, source: str | None = None, backbone: str | None = None) -> list[RefCell]:
    """Reference cells of one CSV; ``backbone`` applies to rows without a ``backbone`` column."""
    path = Path(path)
    if path.exists() and not path.is_file():  # a FIFO would block the reader for ever
        raise ReferenceError(f"reference {path}: not a regular file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ReferenceError(f"reference {path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:  # e.g. a spreadsheet's UTF-16 export
        raise ReferenceError(f"reference {path}: not UTF-8 text (byte {e.start}); save it as a UTF-8 CSV") from None
    reader = csv.DictReader(io.StringIO(text))
    fields = reader.fieldnames or []
    if not {"method", "dataset"} <= set(fields) or not set(fields) & set(METRIC_COLUMNS):
        raise ReferenceError(
            f"reference {path}: needs columns method, dataset and at least one of "
            f"{', '.join(sorted(METRIC_COLUMNS))} (got {', '.join(fields) or 'none'})"
        )
    out = []
    for line, row in enumerate(reader, start=2):
        for col, metric in METRIC_COLUMNS.items():
            raw = (row.get(col) or "").strip()
            if not raw:
                continue
            try:
                value = float(raw)
                std_raw = (row.get(f"{metric}_std") or "").strip()
                std = float(std_raw) if std_raw else None
            except ValueError:
                raise ReferenceError(f"reference {path} line {line}: {col} = {raw!r} is not a number") from None
            n_raw = (row.get("n") or "").strip()
            if n_raw and (not n_raw.isdigit() or int(n_raw) < 1):
                raise ReferenceError(f"reference {path} line {line}: n = {n_raw!r} is not a whole number >= 1")
            out.append(
                RefCell(
                    source or path.name,
                    normalise_method(row["method"]),
                    row["dataset"].strip(),
                    metric,
                    value,
                    std,
                    (row.get("backbone") or "").strip() or backbone,
                    (row.get("protocol") or "").strip() or None,
                    int(n_raw) if n_raw else None,
                )
            )
    return out


def paper_reference() -> list[RefCell]:
    """The paper's Tables 2-5 (copied to ``benchmark/analysis/reference/``), each cell once."""
    cells: dict[tuple, RefCell] = {}
    for table, name in PAPER_TABLES.items():
        for c in load_reference_csv(
            REFERENCE_DIR / name, source=f"Table {table}", backbone=None if table == 4 else PAPER_BACKBONE
        ):
            cells.setdefault((c.method, c.dataset, c.backbone, c.metric), c)
    return list(cells.values())


def board_reference(board_results: Path) -> list[RefCell]:
    """A published board's results directory (``leaderboard/board/results``): each cell's mean, seed std and
    seed count, and its runs' per-seed values."""

    frame = results_frame([r for _, r in load_checked(board_results)])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "board.csv"
        path.write_text(reference_csv_from_frame(frame), encoding="utf-8")
        cells = load_reference_csv(path, source="board")
    # each cell keeps its runs' per-seed values: a reproduction on the board's CPU kind is checked for equality
    runs = frame.assign(_method=frame["method"].map(normalise_method))
    groups = {key: g for key, g in runs.groupby(["_method", "dataset", "backbone", "protocol"])}
    out = []
    for c in cells:
        g = groups[(c.method, c.dataset, c.backbone, c.protocol)]
        g = g[g[METRICS[c.metric]].notna()]
        pairs = tuple(zip(g["seed"].astype(int).tolist(), g[METRICS[c.metric]].astype(float).tolist()))
        out.append(dataclasses.replace(c, seed_values=pairs))
    return out


def load_reference(name: str, board_results: Path) -> list[RefCell]:
    """``paper``, ``board`` (the published results directory ``board_results``) or a path to a CSV."""
    if name == "paper":
        return paper_reference()
    return board_reference(board_results) if name == "board" else load_reference_csv(name)


def column_priors(frame: pd.DataFrame, reference: Sequence[RefCell], metric: str) -> dict[tuple, VariancePrior]:
    """The empirical-Bayes prior of seed variances of each (dataset, backbone, protocol) column for ``metric``,
    fitted on the runs' cells and on the reference cells written by this benchmark for the same column (a
    pinned protocol, a std and at least 2 seeds): both are seeds of the same process, so neither side's luck
    sets the prior alone."""
    out = {}
    for key, col in columns(frame, METRICS[metric]).items():
        dataset, backbone, protocol = key
        variances = [(c.s2, c.n - 1) for c in col.cells.values() if c.n > 1]
        variances += [
            (r.std**2, (r.n or REFERENCE_SEEDS) - 1)
            for r in reference
            if r.metric == metric
            and r.dataset == dataset
            and r.protocol == protocol
            and r.backbone in (None, backbone)
            and r.std is not None
            and (r.n or REFERENCE_SEEDS) >= 2
        ]
        out[key] = fit_variance_prior([v for v, _ in variances], [d for _, d in variances])
    return out


def compare(
    frame: pd.DataFrame,
    reference: Iterable[RefCell],
    tolerance: float,
    level: float = 0.95,
    backbone: str | None = None,
    protocol: str | None = None,
    max_band: MaxBand = MAX_BANDS,
    min_seeds: int = MIN_SEEDS,
) -> list[Comparison]:
    """One comparison per reference cell and (backbone, protocol) of matching runs; a cell without runs
    gives one comparison with ``reproduced`` None. ``backbone`` / ``protocol`` filter the runs."""
    if backbone:
        frame = frame[frame["backbone"] == backbone]
    if protocol:
        frame = frame[frame["protocol"] == protocol]
    frame = frame.assign(_method=frame["method"].map(normalise_method))
    by_cell = {key: group for key, group in frame.groupby(["_method", "dataset"], sort=False)}
    priors: dict[str, dict[tuple, VariancePrior]] = {}  # metric -> column -> the column's variance prior
    reference = list(reference)
    empty = frame.iloc[0:0]
    out = []
    for ref in reference:
        runs = by_cell.get((ref.method, ref.dataset), empty)
        if ref.backbone:
            runs = runs[runs["backbone"] == ref.backbone]
        if ref.protocol:
            runs = runs[runs["protocol"] == ref.protocol]
        runs = runs[runs[METRICS[ref.metric]].notna()]
        if runs.empty:
            out.append(Comparison(ref, ref.backbone, ref.protocol, 0, None, None, None))
            continue
        if ref.metric not in priors:
            priors[ref.metric] = column_priors(frame, reference, ref.metric)
        for (bb, proto), group in runs.groupby(["backbone", "protocol"], sort=True):
            values = group[METRICS[ref.metric]].astype(float).tolist()
            prior = priors[ref.metric].get((ref.dataset, bb, proto), NO_PRIOR)
            std = float(pd.Series(values).std(ddof=1)) if len(values) > 1 else None
            band = allowed_band(
                values, ref, tolerance, level, max_band, min_seeds, prior, same_process=ref.protocol == proto
            )
            if identical_runs(list(zip(group["seed"].astype(int), values)), ref):
                # the same trainings (same CPU kind and threads): equality is checked, not estimated
                band = Band(0.0, math.inf, tolerance, None, identical=True)
            out.append(Comparison(ref, bb, proto, len(values), float(sum(values) / len(values)), std, band))
    return out


def format_comparisons(comparisons: Sequence[Comparison], show_missing: bool = False) -> str:
    """A text table: cell, reported, reproduced, difference, allowed, seeds, status."""
    rows = [("cell", "source", "reported", "reproduced", "diff", "allowed", "n", "status")]
    for c in comparisons:
        if not c.ran and not show_missing:
            continue
        rows.append(
            (
                c.label,
                c.ref.source,
                f"{c.ref.value:.2f}",
                f"{c.reproduced:.2f}" if c.ran else "–",
                f"{c.diff:+.2f}" if c.ran else "–",
                f"±{c.allowed:.2f}" if c.ran else "–",
                str(c.n),
                c.status,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(x.ljust(w) if i < 2 else x.rjust(w) for i, (x, w) in enumerate(zip(r, widths))).rstrip() for r in rows
    )


def why_nothing_matches(frame: pd.DataFrame, reference: Sequence[RefCell]) -> str:
    """What the reference covers against what the results hold (for the "nothing to compare" error)."""

    def listing(values: Iterable) -> str:
        items = sorted({str(v) for v in values if v is not None and v == v})
        return ", ".join(items) or "any"

    return (
        f"the reference has datasets {listing(r.dataset for r in reference)}, backbones "
        f"{listing(r.backbone for r in reference)}, protocols {listing(r.protocol for r in reference)}; "
        f"the results have datasets {listing(frame['dataset'])}, backbones {listing(frame['backbone'])}, "
        f"protocols {listing(frame['protocol'])}"
    )


def reference_csv_from_frame(frame: pd.DataFrame) -> str:
    """A reference CSV of the means (and seed standard deviations) over seeds in ``frame``, one row per
    (method, dataset, backbone, protocol): a reference written by this benchmark, pinned to its backbone and
    protocol (so ``check`` moderates its variance like the runs')."""
    shorts = [s for s in group_metrics() if frame[METRICS[s]].notna().any()]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["method", "dataset", "backbone", "protocol", *[c for s in shorts for c in (s, f"{s}_std")], "n"])
    order = {m: i for i, m in enumerate(method_order(frame["method"].tolist()))}
    keys = ["method", "dataset", "backbone", "protocol"]
    groups = sorted(frame.groupby(keys), key=lambda kv: (order[kv[0][0]], *kv[0][1:]))
    for key, g in groups:
        cells = []
        for short in shorts:
            x = g[METRICS[short]].astype(float)
            std = x.std(ddof=1)
            cells += [f"{x.mean():.6f}", "" if pd.isna(std) else f"{std:.6f}"]
        w.writerow([*key, *cells, len(g)])
    return buf.getvalue()
