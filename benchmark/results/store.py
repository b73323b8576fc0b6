"""The results store: one JSON per run, written atomically; a directory of them is the source of truth.

Paths, atomic writes, reading one result or predictions file, and the errors that name a broken one. Reading a
whole directory through the checks every reader applies is :mod:`benchmark.results` (it needs
:mod:`benchmark.results.validate`, which needs this module).
"""

from __future__ import annotations

import io
import stat
import sys
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from ..files import atomic_write_bytes, atomic_write_text, path_component_problem
from ..metrics import stored_logits
from .schema import RunResult, RunSpec


def result_path(results_dir: str | Path, spec: RunSpec) -> Path:
    """``<results>/<dataset>/<backbone>/<protocol>/<method-id>/seed-<k>.json``.

    Raises ValueError for a component that is not one safe folder name: the last defence against a
    name such as ``..`` filing results outside their folder (protocols and methods refuse them first).
    """
    # ':' (dataset flags such as medmnist-lt:bloodmnist) is not allowed in Windows file names; '/' is
    # part of a dataset's or timm hub backbone's name by design, never of a protocol name or method id.
    outside = lambda s: s.replace("/", "_").replace(":", "_")
    parts = [
        outside(spec.dataset),
        outside(spec.backbone),
        spec.protocol.replace(":", "_"),
        spec.method_id.replace(":", "_"),
        f"seed-{spec.seed}.json",
    ]
    for part in parts:
        problem = path_component_problem(part)
        if problem:
            raise ValueError(f"result path component {part!r} {problem}; it must be one folder name")
    return Path(results_dir).joinpath(*parts)


def write_result(path: Path, result: RunResult) -> None:
    """One run's result file (indented JSON), written atomically."""
    atomic_write_text(path, result.model_dump_json(indent=1))


def write_predictions(path: Path, y_true: np.ndarray, y_pred: np.ndarray, logits: np.ndarray | None = None) -> None:
    """Test labels and predictions (int32, for bootstrap confidence intervals downstream) and, when given,
    the test logits (``logits``, float16 (N, C); see :func:`benchmark.metrics.stored_logits`), from which
    every metric can be recomputed without training."""
    arrays: dict[str, Any] = {"y_true": np.asarray(y_true, np.int32), "y_pred": np.asarray(y_pred, np.int32)}
    if logits is not None:
        arrays["logits"] = stored_logits(logits)
        if arrays["logits"].shape[0] != len(arrays["y_true"]):
            raise ValueError(f"{path}: {arrays['logits'].shape[0]} rows of logits for {len(arrays['y_true'])} labels")
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


#: The largest result file read (bytes): a result is a few kB (a 1,000-class confusion matrix ~10 MB).
MAX_RESULT_BYTES = 64 * 2**20


def special_file_problem(path: Path, max_bytes: int | None = MAX_RESULT_BYTES) -> str | None:
    """Why ``path``, which exists, must not be read as a result or predictions file (a FIFO, socket or device
    would block or never end; a result file over ``max_bytes`` would fill memory), or None."""
    try:
        info = path.stat()
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a folder" if stat.S_ISDIR(info.st_mode) else "special"
        return f"is {kind}, not a regular file"
    if max_bytes is not None and info.st_size > max_bytes:
        return f"is {info.st_size:,} bytes; a result file is at most {max_bytes:,}"
    return None


def read_result(path: str | Path) -> RunResult:
    """Parse and validate one result file (pydantic ValidationError names the bad field; a FIFO, special or
    over-large file is a :class:`ResultFileError` and is never read)."""
    problem = special_file_problem(Path(path))
    if problem is not None:
        raise ResultFileError(path, problem)
    return RunResult.model_validate_json(Path(path).read_bytes())


def read_finished(path: Path) -> RunResult | None:
    """The result at ``path`` when its JSON exists, parses and says ``ok``; else None (the run is not done)."""
    try:
        result = read_result(path)
    except (OSError, ValueError):
        return None
    return result if result.status == "ok" else None


def is_finished(path: Path) -> bool:
    """A run counts as done when its JSON exists, parses and says ``ok``."""
    return read_finished(path) is not None


def iter_result_files(results_dir: str | Path) -> Iterator[Path]:
    """Every ``seed-*.json`` under the directory (hidden folders such as ``.stage1`` skipped); one that is not a
    regular file (a FIFO would block its reader for ever) is skipped with a warning on stderr, never opened."""
    root = Path(results_dir)
    for path in sorted(root.rglob("seed-*.json")):
        if not any(part.startswith(".") for part in path.relative_to(root).parts):
            if path.is_file() or not path.exists():
                yield path
            else:
                print(f"warning: {path}: {special_file_problem(path)}; skipped", file=sys.stderr)


class ResultFileError(ValueError):
    """A result or predictions file that cannot be read: ``PATH: PROBLEM`` on one line."""

    def __init__(self, path: str | Path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = Path(path), problem

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (Ray) although it takes two arguments
        return type(self), (self.path, self.problem)


def invalid_result(path: str | Path, error: Exception) -> ResultFileError:
    """``PATH: not a valid result file: WHERE: PROBLEM``, the first of pydantic's errors on one line."""
    if not isinstance(error, ValidationError):
        return ResultFileError(path, f"not a valid result file: {type(error).__name__}: {error}")
    errors = error.errors(include_url=False)
    where = ".".join(str(part) for part in errors[0]["loc"])
    more = f" (and {len(errors) - 1} more; `python -m benchmark validate` lists them)" if len(errors) > 1 else ""
    return ResultFileError(path, f"not a valid result file: {where + ': ' if where else ''}{errors[0]['msg']}{more}")


@dataclass(frozen=True)
class Predictions:
    """The contents of a ``.preds.npz``: labels, predictions and (schema version 2 on) the logits."""

    y_true: np.ndarray
    y_pred: np.ndarray
    #: float16 (N, C) test logits; None in a file written before schema version 2.
    logits: np.ndarray | None = None


def load_predictions(path: str | Path, num_classes: int | None = None) -> Predictions:
    """Every array of a ``.preds.npz``; :class:`ResultFileError` naming the file when it cannot be read.

    ``y_true`` and ``y_pred`` are required; ``logits`` is optional (older files have none) but, when
    present, must be a float array of shape (N, C): N the number of labels and C ``num_classes`` when
    given.
    """
    problem = special_file_problem(Path(path), max_bytes=None)
    if problem is not None:  # np.load would block on a FIFO
        raise ResultFileError(path, f"not a readable predictions file: {problem}")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("not an .npz archive")
        with data:  # members decompress lazily: a truncated one fails here
            y_true, y_pred = np.asarray(data["y_true"]), np.asarray(data["y_pred"])
            logits = np.asarray(data["logits"]) if "logits" in data.files else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise ResultFileError(
            path,
            f"not a readable predictions file ({type(e).__name__}: {e}); "
            "expected an .npz with arrays y_true and y_pred",
        ) from None
    if logits is not None:
        n = len(y_true) if y_true.ndim == 1 else None
        expected = f"({n if n is not None else 'N'}, {num_classes if num_classes is not None else 'C'})"
        if (
            not np.issubdtype(logits.dtype, np.floating)
            or logits.ndim != 2
            or (n is not None and logits.shape[0] != n)
            or (num_classes is not None and logits.shape[1] != num_classes)
        ):
            raise ResultFileError(
                path,
                f"logits: {logits.dtype} array of shape {logits.shape}; expected a float "
                f"array of shape {expected} (images, classes)",
            )
    return Predictions(y_true, y_pred, logits)


def read_predictions(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, y_pred)`` of a ``.preds.npz``; :class:`ResultFileError` naming the file when it cannot be
    read (:func:`load_predictions` also gives the logits)."""
    p = load_predictions(path)
    return p.y_true, p.y_pred


def predictions_path(result_file: str | Path, predictions_file: str, root: str | Path) -> Path:
    """Where a result's ``predictions_file`` lies (relative to the result file), refused unless inside ``root``.

    An absolute path, a ``..`` or a link out of the results directory would make ``validate`` and
    the site read a file the submission does not hold.
    """
    value = Path(predictions_file)
    target = Path(result_file).parent / value
    inside = not value.is_absolute() and ".." not in value.parts
    if inside:
        try:
            target.resolve().relative_to(Path(root).resolve())
        except ValueError:
            inside = False
    if not inside:
        raise ResultFileError(
            result_file,
            f"predictions_file: {predictions_file!r} is outside the submission; "
            "expected a file name next to the result file",
        )
    return target
