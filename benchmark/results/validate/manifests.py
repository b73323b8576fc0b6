"""What a dataset's manifest says and what a result says about the same dataset: the registered construction's
manifest at a cache size (:func:`dataset_manifest`), a run's class names and counts (:class:`RunCounts`) and
where they differ (:func:`count_problems`), and the runs of one dataset at one size (:class:`DatasetRuns`)
that the manifest checks (:mod:`benchmark.results.validate.manifest_checks`) compare with it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import datasets as ds

from ...protocol import ProtocolError, load_protocol
from ..schema import RunResult
from .problems import Problem


def cache_size(r: RunResult) -> int | None:
    size = r.protocol_config.get("cache_size")
    if isinstance(size, int):
        return size

    try:
        return load_protocol(r.spec.protocol).for_dataset(r.spec.dataset).cache_size
    except ProtocolError:
        return None


def dataset_manifest(dataset: str, size: int | None, cache_dir: Path) -> tuple[dict[str, Any] | None, str]:
    """The registered construction's prepared manifest (class names, split counts, checksums) at ``size`` px,
    if it can be had here, and how it was found (or why not).

    Datasets that need no download are built into ``cache_dir``; for the others a prepared manifest must be
    there already. Raises :class:`datasets.DatasetError` when a dataset cannot be built.
    """
    builder = ds.create_builder(dataset)
    if size is None:
        return None, "unknown cache size"
    if not builder.needs_raw:
        prepared = builder.load(cache_root=cache_dir, size=size, progress=False)
        return prepared.manifest, f"built here at {size} px"
    path = builder.folder(cache_dir, size) / "manifest.json"
    if not path.is_file():
        return None, f"not prepared in {cache_dir}"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"{path} unreadable ({e})"
    if not isinstance(manifest, dict):
        return None, f"{path} is not a JSON object"
    return manifest, f"prepared in {path.parent}"


def expected_manifest(dataset: str, size: int | None, cache_dir: Path) -> tuple[str | None, str]:
    """The registered construction's manifest hash, if it can be had here, and how it was found."""
    manifest, how = dataset_manifest(dataset, size, cache_dir)
    return (ds.manifest_sha256(manifest) if manifest is not None else None), how


@dataclass(frozen=True)
class RunCounts:
    """What one result file says about its dataset: class names, training and test counts per class."""

    where: str
    manifest_sha256: str
    class_names: list[str]
    train_counts: list[int]
    test_counts: list[int] | None  # row sums of the confusion matrix; None without one


def run_counts(where: str, r: RunResult) -> RunCounts | None:
    if r.status != "ok" or r.per_class is None:
        return None
    cm = r.confusion_matrix
    return RunCounts(
        where,
        r.dataset_manifest_sha256,
        list(r.per_class.class_names),
        list(r.per_class.train_counts),
        [int(sum(row)) for row in cm] if cm is not None else None,
    )


def _first_difference(got: list[Any], expected: list[Any]) -> int | None:
    return next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), None)


def count_problems(run: RunCounts, manifest: Mapping[str, Any]) -> list[Problem]:
    """The run's class names, training counts and test counts (confusion-matrix row sums) against the
    dataset manifest's ``class_names`` and ``split_counts``; each problem names the first differing class.

    Counts of a different length are left to the consistency checks (they say how many entries there are).
    """
    names = list(manifest["class_names"])
    counts = manifest["split_counts"]
    if len(run.class_names) != len(names):
        return [
            Problem(
                run.where,
                "per_class.class_names",
                f"{len(run.class_names)} classes in the result, {len(names)} in the dataset manifest",
            )
        ]
    out = []
    i = _first_difference(run.class_names, names)
    if i is not None:
        out.append(
            Problem(
                run.where,
                "per_class.class_names",
                f"class {i} is {run.class_names[i]!r} in the result, {names[i]!r} in the dataset manifest",
            )
        )
    for field_name, got, split, unit in (
        ("per_class.train_counts", run.train_counts, "train", ""),
        ("confusion_matrix", run.test_counts, "test", " test images (row sum)"),
    ):
        expected = list(counts[split])
        if got is None or len(got) != len(expected):
            continue
        i = _first_difference(got, expected)
        if i is not None:
            out.append(
                Problem(
                    run.where,
                    field_name,
                    f"class {i} {names[i]!r} has {got[i]}{unit} in the result, {expected[i]} in the dataset manifest",
                )
            )
    return out


@dataclass
class DatasetRuns:
    """The result files of one registered dataset at one cache size: what the ``dataset`` checks compare with
    the dataset's manifest."""

    dataset: str
    size: int | None
    cache: Path
    #: (file, its ``dataset_manifest_sha256``) of every parsed file of the dataset at this size.
    entries: list[tuple[str, str]] = field(default_factory=list)
    #: The class names and counts of its finished files.
    counts: list[RunCounts] = field(default_factory=list)

    @property
    def at(self) -> str:
        """`` at <size> px`` for messages (empty with no known size)."""
        return f" at {self.size} px" if self.size else ""

    @cached_property
    def manifest(self) -> tuple[Mapping[str, Any] | None, str]:
        """The dataset's manifest here (or None) and how it was found or why not (:func:`dataset_manifest`)."""
        try:
            return dataset_manifest(self.dataset, self.size, self.cache)
        except ds.DatasetError as e:
            return None, f"cannot be built here ({e})"
