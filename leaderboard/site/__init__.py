"""Results directory -> static, self-contained leaderboard site (opens from ``file://``, no CDN).

:func:`build_site` computes the board model once (:mod:`.model`) and renders the pages from it
(``*_page.py``, :mod:`.downloads`); docs/architecture.md has the layout, docs/statistics.md every number.
Safety: autoescaping on every template, escaped SVG text, http(s) links only, a strict CSP on every page.
"""

from __future__ import annotations

from .build import MARKER, SiteError, build_site

__all__ = ["MARKER", "SiteError", "build_site"]
