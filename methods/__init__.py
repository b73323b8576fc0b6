"""Methods: the interface, reusable components (losses, samplers, mixing, heads) and the catalog.

Never imports ``datasets`` or ``benchmark``.
"""

from __future__ import annotations

from . import catalog  # noqa: F401  (registers the named methods)
from .base import Batch, Classifier, Method, Rebalance, StepInfo
from .registry import (
    ENTRY_POINT_GROUP,
    MethodEntry,
    UnknownMethodError,
    create_method,
    get_entry,
    load_method_from_file,
    method_entries,
    method_names,
    register_method,
)

__all__ = [
    "Batch",
    "Classifier",
    "ENTRY_POINT_GROUP",
    "Method",
    "MethodEntry",
    "Rebalance",
    "StepInfo",
    "UnknownMethodError",
    "create_method",
    "get_entry",
    "load_method_from_file",
    "method_entries",
    "method_names",
    "register_method",
]
