"""The settings medlt-bench takes from environment variables, read once by the command line and passed in.

No other module reads ``os.environ``: a library call gets these as arguments, so what a run does never depends
on when a module was imported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import datasets


@dataclass(frozen=True)
class Environment:
    """``MEDLT_CACHE`` (prepared datasets), ``MEDLT_ALLOW_DOWNLOAD=1`` (missing official files or pretrained
    weights may be downloaded) and ``MEDLT_WEIGHTS_DIR`` (a folder of pretrained backbone weights)."""

    cache_dir: Path = datasets.DEFAULT_CACHE
    allow_download: bool = False
    weights_dir: Path | None = None

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> Environment:
        """The settings of ``environ`` (default: this process's environment)."""
        env = os.environ if environ is None else environ
        weights = env.get("MEDLT_WEIGHTS_DIR")
        return cls(
            cache_dir=Path(env["MEDLT_CACHE"]) if env.get("MEDLT_CACHE") else datasets.DEFAULT_CACHE,
            allow_download=env.get("MEDLT_ALLOW_DOWNLOAD") == "1",
            weights_dir=Path(weights) if weights else None,
        )
