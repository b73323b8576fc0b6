"""Shared fixtures: the repository on sys.path and a per-session cache for prepared datasets."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prepared datasets for the whole session (digits-lt is prepared once)."""
    path = tmp_path_factory.mktemp("medlt-cache")
    os.environ["MEDLT_CACHE"] = str(path)
    return path
