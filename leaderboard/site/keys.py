"""The keys of the board: a cell (dataset, backbone, protocol, method) and its column (dataset, backbone,
protocol), as in :mod:`benchmark.analysis.stats` (``CELL_KEYS``, ``COLUMN_KEYS``)."""

from __future__ import annotations

from typing import NamedTuple


class ColumnKey(NamedTuple):
    """The methods that compete in one column of a table: one dataset, backbone and protocol."""

    dataset: str
    backbone: str
    protocol: str

    def cell(self, method: str) -> CellKey:
        return CellKey(self.dataset, self.backbone, self.protocol, method)


class CellKey(NamedTuple):
    """One method in one column; its runs differ only in the seed."""

    dataset: str
    backbone: str
    protocol: str
    method: str

    @property
    def column(self) -> ColumnKey:
        return ColumnKey(self.dataset, self.backbone, self.protocol)
