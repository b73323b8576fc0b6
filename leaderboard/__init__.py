"""Publishing: the published board (published.py), reviews of submissions (review.py) and the static site (site/;
``build_site(results_dir, out_dir)`` is its one entry point). Only the command line imports this package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_site(results_dir: str | Path, out_dir: str | Path, **options: Any) -> Path:
    """Write the static site for ``results_dir`` into ``out_dir``; returns the path of ``index.html``."""
    from .site.build import build_site as _build  # lazy: leaderboard.published etc. need no pandas or jinja2

    return _build(results_dir, out_dir, **options)


__all__ = ["build_site"]
