"""One loaded result file: the record the site (``site.py``) builds pages from and the views (``views.py``)
turn into rows. It lives here so that both import it and neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmark.results.schema import RunResult


@dataclass
class Loaded:
    path: Path
    result: RunResult
