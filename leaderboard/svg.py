"""Tiny hand-written SVG plots (no plotting library): heat maps of per-class recall and confusion matrices.

Every text that goes into an SVG passes through :func:`esc`, so names from submissions are inert.
"""
from __future__ import annotations

import html
import math
from typing import Sequence

from markupsafe import Markup


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _colour(frac: float) -> str:
    """White (0) to dark blue (1), linear in RGB."""
    frac = min(1.0, max(0.0, frac))
    lo, hi = (247, 251, 255), (8, 48, 107)
    r, g, b = (round(a + (c - a) * frac) for a, c in zip(lo, hi))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap_svg(values: Sequence[Sequence[float | None]], row_labels: Sequence[str], col_labels: Sequence[str],
                title: str, vmax: float = 100.0, cell: int = 34, col_notes: Sequence[str] | None = None,
                show_values: bool = True, digits: int = 0, row_header: str = "", col_header: str = "") -> Markup:
    """A matrix of coloured cells with labels; None/NaN cells are grey and marked '–'."""
    rows, cols = len(row_labels), len(col_labels)
    left = 20 + 8 * max([len(str(r)) for r in row_labels] + [len(row_header), 4])
    top = 44 + (14 if col_notes else 0) + 7 * min(12, max([len(str(c)) for c in col_labels] + [1]))
    width, height = left + cols * cell + 10, top + rows * cell + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="11">',
           f"<title>{esc(title)}</title>"]
    if col_header:
        out.append(f'<text x="{left}" y="12" fill="#555">{esc(col_header)}</text>')
    if row_header:
        out.append(f'<text x="4" y="{top - 6}" fill="#555">{esc(row_header)}</text>')
    for j, label in enumerate(col_labels):
        x = left + j * cell + cell / 2
        out.append(f'<text x="{x:.1f}" y="{top - 6 - (14 if col_notes else 0)}" transform="rotate(-45 {x:.1f} '
                   f'{top - 6 - (14 if col_notes else 0)})">{esc(label)}</text>')
        if col_notes:
            out.append(f'<text x="{x:.1f}" y="{top - 6}" text-anchor="middle" fill="#555" font-size="9">'
                       f'{esc(col_notes[j])}</text>')
    for i, label in enumerate(row_labels):
        y = top + i * cell
        out.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end">{esc(label)}</text>')
        for j in range(cols):
            v = values[i][j]
            x = left + j * cell
            missing = v is None or (isinstance(v, float) and math.isnan(v))
            fill = "#dddddd" if missing else _colour(float(v) / vmax if vmax else 0.0)
            tip = f"{row_labels[i]} / {col_labels[j]}: " + ("no data" if missing else f"{float(v):.{max(digits, 1)}f}")
            out.append(f'<rect x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{fill}">'
                       f"<title>{esc(tip)}</title></rect>")
            if show_values:
                text = "–" if missing else f"{float(v):.{digits}f}"
                dark = not missing and float(v) / (vmax or 1) > 0.55
                out.append(f'<text x="{x + cell / 2 - 0.5:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" '
                           f'font-size="10" fill="{"#ffffff" if dark else "#222222"}">{esc(text)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def confusion_svg(cm: Sequence[Sequence[int]], class_names: Sequence[str], title: str) -> Markup:
    """A confusion matrix (rows = true class, columns = predicted), coloured by row-normalised share,
    labelled with counts."""
    rows = []
    for row in cm:
        total = sum(row)
        rows.append([100.0 * c / total if total else None for c in row])
    svg = heatmap_svg(rows, class_names, class_names, title, vmax=100.0, cell=30 if len(class_names) <= 12 else 22,
                      show_values=False, row_header="true ↓", col_header="predicted →")
    # counts on top of the colours
    cell = 30 if len(class_names) <= 12 else 22
    left = 20 + 8 * max([len(str(r)) for r in class_names] + [len("true ↓"), 4])
    top = 44 + 7 * min(12, max([len(str(c)) for c in class_names] + [1]))
    texts = []
    if len(class_names) <= 20:
        for i, row in enumerate(cm):
            for j, c in enumerate(row):
                share = rows[i][j] or 0.0
                texts.append(f'<text x="{left + j * cell + cell / 2 - 0.5:.1f}" y="{top + i * cell + cell / 2 + 4:.1f}" '
                             f'text-anchor="middle" font-size="9" fill="{"#ffffff" if share > 55 else "#222222"}">'
                             f"{int(c)}</text>")
    return Markup(str(svg).replace("</svg>", "".join(texts) + "</svg>"))
