"""The prepared datasets of one process of a grid: each built with the grid's dataset parameters, loaded once."""

from __future__ import annotations

import datasets as ds

from .plan import dataset_builder
from .settings import GridSettings


class PreparedDatasets:
    """Builders and loaded datasets of a grid, by (name, cache size); never pickled (a worker loads its own)."""

    def __init__(self, settings: GridSettings):
        self.settings = settings
        self._loaded: dict[tuple[str, int], ds.PreparedDataset] = {}

    def builder(self, name: str) -> ds.DatasetBuilder:
        """The builder of ``name`` with the grid's dataset parameters."""
        return dataset_builder(name, self.settings.dataset_params)

    def is_prepared(self, name: str, size: int) -> bool:
        """Whether ``name`` at ``size`` is in the cache already (then loading it needs no official file)."""
        return (self.builder(name).folder(self.settings.cache_dir, size) / "manifest.json").exists()

    def load(self, name: str, size: int) -> ds.PreparedDataset:
        """The prepared dataset, prepared from the official files first when the cache has none."""
        key = (name, size)
        if key not in self._loaded:
            s = self.settings
            self._loaded[key] = self.builder(name).load(
                cache_root=s.cache_dir,
                size=size,
                raw_root=s.raw_root,
                progress=s.progress,
                allow_download=s.allow_download,
            )
        return self._loaded[key]
