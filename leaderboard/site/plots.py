"""Hand-written SVG plots of the site: the long-tail plot, group bars, per-seed dots, reported vs reproduced.

No plotting library and no script: each function returns one self-contained ``<svg>`` (escaped text,
a ``<title>`` for screen readers and tooltips) that renders from ``file://`` under the site's CSP.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from .svg import esc

#: Okabe–Ito colours (distinguishable with the common colour-vision deficiencies).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
_FONT = 'font-family="sans-serif" font-size="11"'


def _open(cls: str, width: float, height: float, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" {_FONT}>',
        f"<title>{esc(title)}</title>",
    ]


def _ticks(lo: float, hi: float, step: float) -> list[float]:
    first = math.ceil(lo / step - 1e-9) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


@dataclass(frozen=True)
class RecallSeries:
    """One method's per-class recall (%; None where the class has no test image) and the classes' train counts."""

    name: str
    train_counts: Sequence[int]
    recall: Sequence[float | None]


def recall_vs_count_svg(
    series: Sequence[RecallSeries], class_names: Sequence[str], title: str, width: int = 560, height: int = 320
) -> Markup:
    """The standard long-tail plot: per-class recall (y, %) against the class's training count (x, log scale).

    One colour per method, a point per class joined in order of training count; hovering a point
    names the class, its count and the recall.
    """
    counts = [max(1, int(c)) for c in (series[0].train_counts if series else [])]
    left, right, top, bottom = 48, 150, 24, 40
    pw, ph = width - left - right, height - top - bottom
    lo, hi = math.log10(min(counts or [1])), math.log10(max(counts or [10]))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    lo, hi = lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)

    def x(count: float) -> float:
        return left + (math.log10(max(1.0, count)) - lo) / (hi - lo) * pw

    def y(recall: float) -> float:
        return top + (1 - recall / 100.0) * ph

    out = _open("plot recall-vs-count", width, height, title)
    out += _log_count_axes(left, top, pw, ph, height, lo, hi, x, y)
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        points = sorted(
            (
                (int(c), r, name)
                for c, r, name in zip(s.train_counts, s.recall, class_names)
                if r is not None and not math.isnan(r)
            ),
            key=lambda p: (p[0], p[2]),
        )
        if len(points) > 1:
            path = " ".join(f"{x(c):.1f},{y(r):.1f}" for c, r, _ in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5" opacity="0.7"/>')
        for c, r, name in points:
            tip = f"{s.name}: {name} ({c} training images): recall {r:.1f} %"
            out.append(
                f'<circle cx="{x(c):.1f}" cy="{y(r):.1f}" r="3.5" fill="{colour}"><title>{esc(tip)}</title></circle>'
            )
        ly = top + 6 + 16 * i
        out.append(
            f'<circle cx="{left + pw + 14}" cy="{ly}" r="4" fill="{colour}"/>'
            f'<text x="{left + pw + 22}" y="{ly + 4}">{esc(s.name)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def _log_count_axes(
    left: float,
    top: float,
    pw: float,
    ph: float,
    height: float,
    lo: float,
    hi: float,
    x: Callable[[float], float],
    y: Callable[[float], float],
) -> list[str]:
    """Frame, recall gridlines (0-100 %), log-count ticks at 1, 2, 5 × 10^k and the axis titles."""
    out = [f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    for r in _ticks(0, 100, 20):
        out.append(
            f'<line x1="{left - 4}" y1="{y(r):.1f}" x2="{left + pw}" y2="{y(r):.1f}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{y(r) + 4:.1f}" text-anchor="end">{r:.0f}</text>'
        )
    for e in range(math.floor(lo), math.ceil(hi) + 1):
        for m in (1, 2, 5):
            c = m * 10**e
            if lo <= math.log10(c) <= hi:
                out.append(
                    f'<line x1="{x(c):.1f}" y1="{top + ph}" x2="{x(c):.1f}" y2="{top + ph + 4}" stroke="#555"/>'
                    f'<text x="{x(c):.1f}" y="{top + ph + 16}" text-anchor="middle">{c:g}</text>'
                )
    out.append(
        f'<text x="{left + pw / 2:.1f}" y="{height - 6}" text-anchor="middle" fill="#555">training images '
        f"of the class (log scale)</text>"
    )
    out.append(
        f'<text x="12" y="{top + ph / 2:.1f}" transform="rotate(-90 12 {top + ph / 2:.1f})" '
        f'text-anchor="middle" fill="#555">recall (%)</text>'
    )
    return out


def group_bars_svg(
    methods: Sequence[str],
    groups: Sequence[str],
    values: Sequence[Sequence[float | None]],
    title: str,
    width: int = 560,
) -> Markup:
    """Horizontal bars: for each method (row), one bar per class group (e.g. major / medium / minor MCR, %).

    ``values[i][j]`` is method i's value for group j (None: undefined, drawn as a gap with "–").
    """
    label_w = 14 + 7 * max([len(m) for m in methods] + [6])
    bar_h, gap = 9, 8
    row_h = bar_h * len(groups) + gap
    top = 34
    height = top + row_h * len(methods) + 24
    width = max(width, label_w + 300)
    pw = width - label_w - 46

    def x(v: float) -> float:
        return label_w + max(0.0, min(100.0, v)) / 100.0 * pw

    out = _open("plot group-bars", width, height, title)
    for j, g in enumerate(groups):
        colour = PALETTE[j % len(PALETTE)]
        out.append(
            f'<rect x="{label_w + 90 * j}" y="6" width="10" height="10" fill="{colour}"/>'
            f'<text x="{label_w + 90 * j + 14}" y="15">{esc(g)}</text>'
        )
    for tick in _ticks(0, 100, 25):
        out.append(
            f'<line x1="{x(tick):.1f}" y1="{top - 6}" x2="{x(tick):.1f}" y2="{height - 20}" stroke="#eee"/>'
            f'<text x="{x(tick):.1f}" y="{height - 6}" text-anchor="middle" fill="#555">{tick:.0f}</text>'
        )
    for i, m in enumerate(methods):
        y0 = top + i * row_h
        out.append(f'<text x="{label_w - 6}" y="{y0 + row_h / 2:.1f}" text-anchor="end">{esc(m)}</text>')
        for j, g in enumerate(groups):
            v = values[i][j]
            y = y0 + j * bar_h
            if v is None or math.isnan(v):
                out.append(f'<text x="{label_w + 2}" y="{y + bar_h - 1}" font-size="9" fill="#888">–</text>')
                continue
            tip = f"{m}, {g}: {v:.2f} %"
            out.append(
                f'<rect x="{label_w}" y="{y}" width="{x(v) - label_w:.1f}" height="{bar_h - 1}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{esc(tip)}</title></rect>'
                f'<text x="{x(v) + 3:.1f}" y="{y + bar_h - 1}" font-size="9">{v:.1f}</text>'
            )
    out.append("</svg>")
    return Markup("".join(out))


def seed_dots_svg(
    values: Sequence[float], lo: float, hi: float, label: str, width: int = 130, height: int = 18
) -> Markup:
    """A strip of one dot per seed on the axis [lo, hi] shared by the table, and a tick at their mean."""
    pad = 5

    def x(v: float) -> float:
        return pad + (v - lo) / (hi - lo) * (width - 2 * pad) if hi > lo else width / 2

    tip = f"{label}: " + ", ".join(f"{v:.2f}" for v in values)
    out = _open("plot seed-dots", width, height, tip)
    out.append(f'<line x1="{pad}" y1="{height / 2}" x2="{width - pad}" y2="{height / 2}" stroke="#ccc"/>')
    if values:
        mean = sum(values) / len(values)
        out.append(f'<line x1="{x(mean):.1f}" y1="2" x2="{x(mean):.1f}" y2="{height - 2}" stroke="#222"/>')
    for v in values:
        out.append(f'<circle cx="{x(v):.1f}" cy="{height / 2}" r="3" fill="#0072B2" fill-opacity="0.75"/>')
    out.append("</svg>")
    return Markup("".join(out))


@dataclass(frozen=True)
class ScatterPoint:
    reported: float
    reproduced: float
    status: str  # "ok", "FAIL" or "inconclusive"
    label: str


STATUS_COLOURS = {"ok": "#009E73", "FAIL": "#D55E00", "inconclusive": "#999999"}


def reported_vs_reproduced_svg(points: Sequence[ScatterPoint], title: str, size: int = 380) -> Markup:
    """Reported (x) against reproduced (y) mean, with the line y = x; colour = the check's verdict."""
    left, top, legend = 44, 14, 110
    pw = size - left - 30
    values = [v for p in points for v in (p.reported, p.reproduced)]
    lo = math.floor(min(values, default=0.0) / 10) * 10
    hi = math.ceil(max(values, default=100.0) / 10) * 10
    if hi <= lo:
        hi = lo + 10

    def sx(v: float) -> float:
        return left + (v - lo) / (hi - lo) * pw

    def sy(v: float) -> float:
        return top + (1 - (v - lo) / (hi - lo)) * pw

    out = _open("plot reported-vs-reproduced", size + legend, size, title)
    out.append(
        f'<rect x="{left}" y="{top}" width="{pw}" height="{pw}" fill="none" stroke="#999"/>'
        f'<line x1="{sx(lo):.1f}" y1="{sy(lo):.1f}" x2="{sx(hi):.1f}" y2="{sy(hi):.1f}" stroke="#888" '
        f'stroke-dasharray="4 3"/>'
    )
    step = 10 if hi - lo <= 60 else 20
    for v in _ticks(lo, hi, step):
        out.append(
            f'<text x="{sx(v):.1f}" y="{top + pw + 14}" text-anchor="middle">{v:.0f}</text>'
            f'<text x="{left - 5}" y="{sy(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>'
        )
    out.append(
        f'<text x="{left + pw / 2:.1f}" y="{size - 2}" text-anchor="middle" fill="#555">reported (%)</text>'
        f'<text x="11" y="{top + pw / 2:.1f}" transform="rotate(-90 11 {top + pw / 2:.1f})" '
        f'text-anchor="middle" fill="#555">reproduced (%)</text>'
    )
    for p in points:
        colour = STATUS_COLOURS.get(p.status, "#999999")
        tip = f"{p.label}: reported {p.reported:.2f}, reproduced {p.reproduced:.2f} ({p.status})"
        out.append(
            f'<circle cx="{sx(p.reported):.1f}" cy="{sy(p.reproduced):.1f}" r="4" fill="{colour}" '
            f'fill-opacity="0.8"><title>{esc(tip)}</title></circle>'
        )
    for i, (status, colour) in enumerate(STATUS_COLOURS.items()):
        y = top + 10 + 18 * i
        out.append(
            f'<circle cx="{left + pw + 16}" cy="{y}" r="4" fill="{colour}"/>'
            f'<text x="{left + pw + 24}" y="{y + 4}">{esc(status)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))
