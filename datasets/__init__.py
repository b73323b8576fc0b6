"""Raw files in their official formats -> prepared long-tailed datasets.

Never imports ``methods`` or ``benchmark``. Note: this top-level ``datasets`` package
shadows Hugging Face's package of the same name; medlt-bench never depends on it.
"""

from __future__ import annotations

from pathlib import Path

# Builders register themselves on import.
from . import bloodcell, digits, dogs_lt, flower_lt, medmnist_lt, skin7, xray9  # noqa: F401
from .base import DEFAULT_CACHE, DatasetBuilder, RawDataset
from .errors import DatasetError, UnknownDatasetError
from .longtail import class_groups, long_tailed_counts, long_tailed_subsample
from .prepared import PreparedDataset, manifest_sha256, write_prepared
from .registry import builder_class, create_builder, dataset_names, register_dataset, registered_builders

#: The embedded default: real blood-cell images, shipped inside the package (no download).
DEFAULT_DATASET = "bloodcell-lt"


def load(
    name: str = DEFAULT_DATASET,
    size: int | None = None,
    cache_root: str | Path = DEFAULT_CACHE,
    raw_root: str | Path | None = None,
    progress: bool = True,
) -> PreparedDataset:
    """Load a prepared dataset by name, preparing it from ``raw_root`` on first use."""
    return create_builder(name).load(cache_root=cache_root, size=size, raw_root=raw_root, progress=progress)


__all__ = [
    "DEFAULT_CACHE",
    "DEFAULT_DATASET",
    "DatasetBuilder",
    "DatasetError",
    "PreparedDataset",
    "RawDataset",
    "UnknownDatasetError",
    "builder_class",
    "class_groups",
    "create_builder",
    "dataset_names",
    "load",
    "long_tailed_counts",
    "long_tailed_subsample",
    "manifest_sha256",
    "register_dataset",
    "registered_builders",
    "write_prepared",
]
