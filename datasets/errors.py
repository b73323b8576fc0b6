"""Errors raised by dataset builders: one line, naming the file or name at fault."""

from __future__ import annotations


class DatasetError(Exception):
    """A dataset cannot be built or loaded; the message names the file and what is wrong."""


class UnknownDatasetError(DatasetError, KeyError):
    """A dataset name that is not registered; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])
