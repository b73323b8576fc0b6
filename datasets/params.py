"""Construction parameters checked before any work: a wrong type or an out-of-range value is one line.

``-p rho=abc`` or ``-p val_fraction=1.5`` would otherwise construct a builder that fails deep inside
``prepare`` (a traceback) or, worse, builds a dataset nobody asked for. :func:`check_params` checks every
field of a builder by its declared type and, for the fields the shipped builders share, by its range.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import typing
from typing import Any

from .errors import DatasetError

#: Fields that count things: whole numbers >= 1 (None where the builder allows it).
_COUNTS = ("n_max", "val_per_class", "test_per_class", "medmnist_size")


def _shown(value: Any) -> str:
    """A value as the command line would write it (strings quoted)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _type_problem(hint: Any, value: Any) -> str | None:
    """Why ``value`` is not of the declared type ``hint`` (int, float, str, bool, tuples, optionals), or None."""
    args = typing.get_args(hint)
    if type(None) in args:
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
    origin = typing.get_origin(hint) or hint
    if hint is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if hint is int:
        return None if _is_int(value) else "must be a whole number"
    if hint is float:
        if not _is_real(value):
            return "must be a number"
        return None if math.isfinite(float(value)) else "must be a finite number"
    if hint is str:
        return None if isinstance(value, str) else "must be a string"
    if origin is tuple:
        ok = isinstance(value, (tuple, list)) and all(_is_int(v) for v in value)
        return None if ok else "must be a list of whole numbers"
    return None


def _range_problem(name: str, value: Any) -> str | None:
    """Why ``value`` is out of range for the shared field ``name``, or None."""
    if name == "seed" and value < 0:
        return "must be >= 0"
    if name == "rho" and value < 1:
        return "must be >= 1 (the ratio of the largest to the smallest class)"
    if name.endswith("_fraction") and not 0 <= value < 1:
        return "must be >= 0 and < 1"
    if name in _COUNTS and value is not None and value < 1:
        return "must be >= 1"
    return None


def check_params(builder: Any) -> None:
    """Raise :class:`DatasetError` (``NAME: KEY = VALUE: must be ...``) for the first construction parameter of
    ``builder`` (a dataclass) of the wrong type or out of range; the fractions together must leave a training
    split (their sum < 1)."""
    cls = type(builder)
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that cannot be resolved: check ranges only
        hints = {}
    name = getattr(builder, "id", cls.__name__)
    for f in dataclasses.fields(builder):
        value = getattr(builder, f.name)
        problem = _type_problem(hints[f.name], value) if f.name in hints else None
        if problem is None and (_is_real(value) or value is None):
            problem = _range_problem(f.name, value)
        if problem is not None:
            raise DatasetError(f"{name}: {f.name} = {_shown(value)}: {problem}")
    fractions = {f.name: getattr(builder, f.name) for f in dataclasses.fields(builder) if f.name.endswith("_fraction")}
    if len(fractions) > 1 and sum(fractions.values()) >= 1:
        keys = " + ".join(f"{k} ({_shown(v)})" for k, v in fractions.items())
        raise DatasetError(f"{name}: {keys} must be < 1 (the rest is the training split)")
