"""One loaded result file: the record the model (``model.py``) is computed from and the views (``views.py``)
turn into rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmark.results.schema import RunResult


@dataclass
class Loaded:
    path: Path
    result: RunResult
