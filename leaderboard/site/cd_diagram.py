"""The critical-difference diagram (Demšar 2006) of a rank test, as hand-written SVG: the rank axis
(1 = best, left), each method's average rank, the CD interval and bars joining the methods that are not
significantly different (:func:`benchmark.analysis.stats.cliques`). See docs/statistics.md."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from benchmark.analysis.stats import RankSummary, cliques

from .svg import esc

_CD_ROW_HEIGHT = 18


def cd_markup(ranks: RankSummary, title: str) -> Markup | None:
    """The diagram of ``ranks`` for a page (None when it would mean nothing: fewer than 2 blocks or methods)."""
    if not ranks.draw_cd:
        return None
    return Markup(cd_diagram_svg(ranks.ranks.to_dict(), ranks.cd, title=title))


def cd_diagram_svg(ranks: Mapping[str, float], cd: float | None, title: str = "", width: int = 640) -> str:
    """A Demšar critical-difference diagram: the rank axis (1 = best, left), each method's average rank,
    the CD interval, and thick bars joining methods that are not significantly different.

    All text is XML-escaped, so method names from submissions are inert.
    """
    items = sorted(ranks.items(), key=lambda kv: kv[1])
    k = len(items)
    if k == 0:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="30" role="img">'
            f'<title>{esc(title)}</title><text x="4" y="20" font-size="12">no complete ranking</text></svg>'
        )
    margin = 170
    right = max(width, 2 * margin + 26 * (k - 1)) - margin
    axis = _RankAxis(left=margin, right=right, hi=float(max(k, 2)))
    width = right + margin
    n_left = math.ceil(k / 2)
    bars = cliques(dict(items), cd)
    label_top = axis.y + 24 + 8 * len(bars)
    height = label_top + _CD_ROW_HEIGHT * max(n_left, k - n_left) + 12
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cd-diagram" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="12">',
        f"<title>{esc(title or 'critical-difference diagram')}</title>",
        *_cd_axis(axis),
        *_cd_interval(axis, cd),
        *_cd_labels(axis, items, n_left, label_top),
        *_cd_bars(axis, ranks, bars),
        "</svg>",
    ]
    return "".join(parts)


@dataclass(frozen=True)
class _RankAxis:
    """The horizontal rank axis of a CD diagram: rank 1 at ``left``, rank ``hi`` at ``right``, drawn at ``y``."""

    left: float
    right: float
    hi: float
    lo: float = 1.0
    y: int = 60

    def x(self, rank: float) -> float:
        return self.left + (rank - self.lo) / (self.hi - self.lo) * (self.right - self.left)


def _cd_axis(axis: _RankAxis) -> list[str]:
    """The axis line, a tick and number at each whole rank, and the axis caption."""
    y = axis.y
    parts = [f'<line x1="{axis.left}" y1="{y}" x2="{axis.right}" y2="{y}" stroke="#222"/>']
    for r in range(1, int(axis.hi) + 1):
        parts.append(
            f'<line x1="{axis.x(r):.1f}" y1="{y - 5}" x2="{axis.x(r):.1f}" y2="{y}" stroke="#222"/>'
            f'<text x="{axis.x(r):.1f}" y="{y - 9}" text-anchor="middle">{r}</text>'
        )
    parts.append(
        f'<text x="{axis.right}" y="{y - 26}" font-size="11" fill="#555" text-anchor="end">'
        "average rank (1 = best)</text>"
    )
    return parts


def _cd_interval(axis: _RankAxis, cd: float | None) -> list[str]:
    """The CD interval from rank 1 (dashed and labelled so when it is wider than the rank range)."""
    if cd is None or not math.isfinite(cd):
        return []
    beyond = 1.0 + cd > axis.hi
    x1, x2 = axis.x(1.0), axis.x(min(1.0 + cd, axis.hi))
    label = f"CD = {cd:.2f}" + (" (wider than the rank range: no pair differs)" if beyond else "")
    dash = ' stroke-dasharray="6 3"' if beyond else ""
    return [
        f'<line x1="{x1:.1f}" y1="22" x2="{x2:.1f}" y2="22" stroke="#c0392b" stroke-width="2"{dash}/>'
        f'<line x1="{x1:.1f}" y1="17" x2="{x1:.1f}" y2="27" stroke="#c0392b"/>'
        f'<line x1="{x2:.1f}" y1="17" x2="{x2:.1f}" y2="27" stroke="#c0392b"/>'
        f'<text x="{x1:.1f}" y="12" fill="#c0392b">{esc(label)}</text>'
    ]


def _cd_labels(axis: _RankAxis, items: Sequence[tuple[str, float]], n_left: int, label_top: int) -> list[str]:
    """Each method's name and rank, joined to its rank by an elbow line: the better half left, the rest right."""
    k = len(items)
    parts = []
    for i, (name, r) in enumerate(items):
        on_left = i < n_left
        row = i if on_left else k - 1 - i
        y = label_top + row * _CD_ROW_HEIGHT
        end = axis.left - 8 if on_left else axis.right + 8
        anchor, tx = ("end", end - 4) if on_left else ("start", end + 4)
        parts.append(
            f'<polyline points="{axis.x(r):.1f},{axis.y} {axis.x(r):.1f},{y} {end:.1f},{y}" fill="none" stroke="#555"/>'
            f'<text x="{tx:.1f}" y="{y + 4}" text-anchor="{anchor}">{esc(name)} ({r:.2f})</text>'
        )
    return parts


def _cd_bars(axis: _RankAxis, ranks: Mapping[str, float], bars: Sequence[Sequence[str]]) -> list[str]:
    """A thick bar under each clique of methods that are not significantly different."""
    parts = []
    for j, group in enumerate(bars):
        y = axis.y + 14 + 8 * j
        r1, r2 = ranks[group[0]], ranks[group[-1]]
        parts.append(
            f'<line x1="{axis.x(r1) - 4:.1f}" y1="{y}" x2="{axis.x(r2) + 4:.1f}" y2="{y}" stroke="#111" '
            f'stroke-width="4" stroke-linecap="round"/>'
        )
    return parts
