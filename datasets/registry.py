"""The one dataset registry: ``@register_dataset`` on a builder class, ``create_builder`` by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .base import DatasetBuilder
from .errors import UnknownDatasetError
from .params import check_params

_REGISTRY: dict[str, type[DatasetBuilder]] = {}
B = TypeVar("B", bound=type[DatasetBuilder])


def register_dataset(cls: B) -> B:
    """Class decorator: register a builder under its ``name``."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"dataset {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def dataset_names() -> list[str]:
    """Registered dataset names, sorted (parametrised ones end in ``:<arg>``)."""
    return sorted(n + (":<flag>" if getattr(c, "takes_argument", False) else "") for n, c in _REGISTRY.items())


def builder_class(name: str) -> type[DatasetBuilder]:
    base = name.split(":", 1)[0]
    if base not in _REGISTRY:
        raise UnknownDatasetError(f"unknown dataset {name!r}; valid: {', '.join(dataset_names())}")
    return _REGISTRY[base]


def create_builder(name: str, **params: Any) -> DatasetBuilder:
    """A builder for ``name`` (``medmnist-lt:bloodmnist`` passes ``bloodmnist`` as its argument)."""
    cls = builder_class(name)
    if ":" in name:
        if not getattr(cls, "takes_argument", False):
            raise UnknownDatasetError(f"dataset {cls.name!r} takes no ':' argument (got {name!r})")
        builder = cls.from_argument(name.split(":", 1)[1], **params)
    elif getattr(cls, "takes_argument", False):
        raise UnknownDatasetError(f"dataset {name!r} needs an argument, e.g. {name}:bloodmnist")
    else:
        builder = cls(**params)
    check_params(builder)  # -p rho=abc, val_fraction=1.5, seed=-1: one line here, not a traceback in prepare
    return builder


def registered_builders() -> dict[str, type[DatasetBuilder]]:
    """A copy of the registry (for conformance tests and listings)."""
    return dict(_REGISTRY)


Factory = Callable[..., DatasetBuilder]
