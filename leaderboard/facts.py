"""What the registries say about a dataset or method named in a result (for reports and the site).

Result files are the source of truth for numbers; this adds the registered facts a result
does not carry: whether a dataset is a demonstration set, a method's reference and its
hyper-parameter defaults. Names that are not registered (a submitted method) get ``None``.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

import datasets
from methods.registry import UnknownMethodError, get_entry


def dataset_facts(name: str) -> dict[str, Any]:
    """``{"registered", "demo", "note", "title", "image_type", "source_url"}`` of a dataset name."""
    try:
        cls = datasets.builder_class(name)
    except datasets.DatasetError:
        return {"registered": False, "demo": False, "note": "", "title": name, "image_type": "", "source_url": ""}
    return {
        "registered": True,
        "demo": bool(cls.demo),
        "note": cls.note,
        "title": cls.title or name,
        "image_type": cls.image_type,
        "source_url": cls.source_url,
    }


def method_facts(name: str) -> dict[str, Any] | None:
    """Registered facts of a method (display name or id): description, reference, url, docstring, defaults,
    and where it is defined (``source``: the file's path inside the installed package tree, ``class``)."""
    try:
        entry = get_entry(name)
    except UnknownMethodError:
        return None
    defaults = entry.create().hyperparameters()
    return {
        "name": entry.name,
        "id": entry.id,
        "description": entry.cls.description,
        "reference": entry.cls.reference,
        "url": getattr(entry.cls, "url", "") or "",
        "stage2_url": entry.rebalance.stage2.url if entry.rebalance is not None else "",
        "docstring": inspect.cleandoc(entry.cls.__doc__ or ""),
        "two_stage": entry.rebalance is not None,
        "defaults": defaults,
        **_source(entry.cls),
    }


def _source(cls: type) -> dict[str, Any]:
    """``{"source": "methods/catalog/ce.py", "source_path": Path, "class": "CE"}``; empty outside a package."""
    path = inspect.getsourcefile(cls)
    if path is None:
        return {}
    file = Path(path).resolve()
    top = sys.modules[cls.__module__.split(".")[0]].__file__
    root = Path(top).resolve().parent.parent if top else file.parent
    try:
        rel = file.relative_to(root).as_posix()
    except ValueError:
        rel = file.name
    return {"source": rel, "source_path": file, "class": cls.__qualname__}
