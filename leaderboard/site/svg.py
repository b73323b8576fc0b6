"""Hand-written SVG matrices (no plotting library): heat maps of per-class recall and confusion matrices.

Every text that goes into an SVG passes through :func:`esc`, so names from submissions are inert.
Labels are never cut: the margins grow with the longest label (column labels are drawn at −45°,
so they need room above the matrix and to the right of its last column).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from markupsafe import Markup

#: Width of one character at font-size 11 (sans-serif), generous so that wide glyphs still fit.
CHAR_W = 7.0


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _colour(frac: float) -> str:
    """White (0) to dark blue (1), linear in RGB."""
    frac = min(1.0, max(0.0, frac))
    lo, hi = (247, 251, 255), (8, 48, 107)
    r, g, b = (round(a + (c - a) * frac) for a, c in zip(lo, hi))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap_svg(
    values: Sequence[Sequence[float | None]],
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str,
    vmax: float = 100.0,
    cell: int = 34,
    col_notes: Sequence[str] | None = None,
    show_values: bool = True,
    digits: int = 0,
    row_header: str = "",
    col_header: str = "",
    cell_text: Sequence[Sequence[str]] | None = None,
) -> Markup:
    """A matrix of coloured cells with labels; None/NaN cells are grey and marked '–'.

    ``cell_text`` (same shape as ``values``) replaces the printed numbers (e.g. counts over shares) and
    is added to each cell's tooltip; ``show_values=False`` prints nothing in the cells.
    """
    rows, cols = len(row_labels), len(col_labels)
    longest_col = max([len(str(c)) for c in col_labels] + [1])
    slant = CHAR_W * longest_col / math.sqrt(2)  # a −45° label rises and runs this far
    note_h = 14 if col_notes else 0
    left = 20 + CHAR_W * max([len(str(r)) for r in row_labels] + [len(row_header), 4])
    top = 30 + note_h + slant
    width = max(left + cols * cell + slant + 10, 20 + CHAR_W * len(col_header))
    height = top + rows * cell + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" font-family="sans-serif" font-size="11">',
        f"<title>{esc(title)}</title>",
    ]
    if col_header:
        out.append(f'<text x="4" y="12" fill="#555">{esc(col_header)}</text>')
    if row_header:
        out.append(f'<text x="4" y="{top - 6:.1f}" fill="#555">{esc(row_header)}</text>')
    base = top - 6 - note_h
    for j, label in enumerate(col_labels):
        x = left + j * cell + cell / 2
        out.append(f'<text x="{x:.1f}" y="{base:.1f}" transform="rotate(-45 {x:.1f} {base:.1f})">{esc(label)}</text>')
        if col_notes:
            out.append(
                f'<text x="{x:.1f}" y="{top - 6:.1f}" text-anchor="middle" fill="#555" font-size="9">'
                f"{esc(col_notes[j])}</text>"
            )
    for i, label in enumerate(row_labels):
        y = top + i * cell
        out.append(f'<text x="{left - 6:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="end">{esc(label)}</text>')
        for j in range(cols):
            text = cell_text[i][j] if cell_text is not None else None
            tip = f"{row_labels[i]} / {col_labels[j]}"
            out.append(_cell(values[i][j], left + j * cell, y, cell, vmax, digits, tip, text, show_values))
    out.append("</svg>")
    return Markup("".join(out))


def _cell(
    value: float | None,
    x: float,
    y: float,
    cell: int,
    vmax: float,
    digits: int,
    tip: str,
    text: str | None,
    show_values: bool,
) -> str:
    """One heat-map cell: the coloured square with its tooltip and, with ``show_values``, its printed text."""
    missing = value is None or math.isnan(value)
    v = 0.0 if missing else float(value)  # type: ignore[arg-type]
    fill = "#dddddd" if missing else _colour(v / vmax if vmax else 0.0)
    shown = text if text is not None else ("–" if missing else f"{v:.{digits}f}")
    tip += ": " + ("no data" if missing else f"{v:.{max(digits, 1)}f}") + (f" ({shown})" if text is not None else "")
    out = (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell - 1}" height="{cell - 1}" fill="{fill}">'
        f"<title>{esc(tip)}</title></rect>"
    )
    if show_values:
        dark = not missing and v / (vmax or 1) > 0.55
        out += (
            f'<text x="{x + cell / 2 - 0.5:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" '
            f'font-size="{9 if text is not None else 10}" fill="{"#ffffff" if dark else "#222222"}">{esc(shown)}</text>'
        )
    return out


def confusion_svg(cm: Sequence[Sequence[int]], class_names: Sequence[str], title: str) -> Markup:
    """A confusion matrix (rows = true class, columns = predicted), coloured by row-normalised share,
    labelled with counts (up to 20 classes; beyond, the counts are in the tooltips only)."""
    shares = []
    for row in cm:
        total = sum(row)
        shares.append([100.0 * c / total if total else None for c in row])
    cell = 30 if len(class_names) <= 12 else 22
    text = [[str(int(c)) for c in row] for row in cm]
    return heatmap_svg(
        shares,
        class_names,
        class_names,
        title,
        vmax=100.0,
        cell=cell,
        show_values=len(class_names) <= 20,
        row_header="true ↓",
        col_header="predicted →",
        cell_text=text,
    )
