"""The results store: one JSON per run, written atomically; a directory of them is the source of truth."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .schema import RunResult, RunSpec


def result_path(results_dir: str | Path, spec: RunSpec) -> Path:
    """``<results>/<dataset>/<backbone>/<protocol>/<method-id>/seed-<k>.json``."""
    safe = lambda s: s.replace("/", "_").replace(":", "_")  # noqa: E731
    return (Path(results_dir) / safe(spec.dataset) / safe(spec.backbone) / safe(spec.protocol)
            / safe(spec.method_id) / f"seed-{spec.seed}.json")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_result(path: Path, result: RunResult) -> None:
    atomic_write_bytes(path, result.model_dump_json(indent=1).encode())


def write_predictions(path: Path, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    """Test labels and predictions, for bootstrap confidence intervals downstream."""
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, y_true=np.asarray(y_true, np.int32), y_pred=np.asarray(y_pred, np.int32))
    atomic_write_bytes(path, buf.getvalue())


def read_result(path: str | Path) -> RunResult:
    """Parse and validate one result file (pydantic ValidationError names the bad field)."""
    return RunResult.model_validate_json(Path(path).read_bytes())


def is_finished(path: Path) -> bool:
    """A run counts as done when its JSON exists, parses and says ``ok``."""
    try:
        return read_result(path).status == "ok"
    except (OSError, ValueError):
        return False


def iter_result_files(results_dir: str | Path) -> Iterator[Path]:
    """Every ``seed-*.json`` under the directory (hidden folders such as ``.stage1`` skipped)."""
    root = Path(results_dir)
    for path in sorted(root.rglob("seed-*.json")):
        if not any(part.startswith(".") for part in path.relative_to(root).parts):
            yield path


def load_results(results_dir: str | Path, include_failed: bool = False) -> list[RunResult]:
    """Every valid result under the directory; raises ValueError naming the first malformed file."""
    out = []
    for path in iter_result_files(results_dir):
        try:
            r = read_result(path)
        except ValueError as e:
            raise ValueError(f"{path}: not a valid result file: {e}") from None
        if include_failed or r.status == "ok":
            out.append(r)
    return out


def results_frame(results: list[RunResult]) -> Any:
    """A tidy pandas DataFrame, one row per run: spec fields, metrics, manifest hash."""
    import pandas as pd

    rows = []
    for r in results:
        row: dict[str, Any] = r.spec.model_dump()
        row.update(r.metrics.model_dump() if r.metrics else {})
        row["status"] = r.status
        row["dataset_manifest_sha256"] = r.dataset_manifest_sha256
        rows.append(row)
    columns = ["dataset", "method", "method_id", "backbone", "seed", "protocol", "mcr_all", "mcr_major", "mcr_minor",
               "mcr_medium", "status", "dataset_manifest_sha256"]
    return pd.DataFrame(rows, columns=columns)
