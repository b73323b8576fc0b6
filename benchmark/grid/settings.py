"""Where a grid's files live and how its runs are made: the settings every executor hands to its workers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GridSettings:
    """Where things live and how to run them (picklable: a worker process gets a copy)."""

    results_dir: Path
    #: Prepared datasets (``--cache-dir``; the command line's default comes from the environment).
    cache_dir: Path
    raw_root: Path | None = None
    device: str = "auto"
    weights_file: Path | None = None
    #: A folder of pretrained backbone weights (``$MEDLT_WEIGHTS_DIR``), searched before the hub cache.
    weights_dir: Path | None = None
    #: Whether missing official files or weights may be downloaded (``$MEDLT_ALLOW_DOWNLOAD=1``).
    allow_download: bool = False
    progress: bool = True
    #: Construction parameters for every dataset (``run -p KEY=VALUE``), as ``datasets prepare -p`` takes them.
    dataset_params: Mapping[str, Any] = field(default_factory=dict)
