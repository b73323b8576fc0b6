"""What the registries say about a dataset or method named in a result (for reports and the site).

Result files are the source of truth for numbers; this adds the registered facts a result
does not carry: whether a dataset is a demonstration set, a method's reference and its
hyper-parameter defaults. Names that are not registered (a submitted method) get ``None``.
"""
from __future__ import annotations

import inspect
from typing import Any


def dataset_facts(name: str) -> dict[str, Any]:
    """``{"registered", "demo", "note", "title", "image_type", "source_url"}`` of a dataset name."""
    import datasets

    try:
        cls = datasets.builder_class(name)
    except datasets.DatasetError:
        return {"registered": False, "demo": False, "note": "", "title": name, "image_type": "", "source_url": ""}
    return {"registered": True, "demo": bool(cls.demo), "note": cls.note, "title": cls.title or name,
            "image_type": cls.image_type, "source_url": cls.source_url}


def method_facts(name: str) -> dict[str, Any] | None:
    """Registered facts of a method (display name or id): description, reference, docstring, defaults."""
    from methods.registry import UnknownMethodError, get_entry

    try:
        entry = get_entry(name)
    except UnknownMethodError:
        return None
    defaults = entry.create().hyperparameters()
    return {"name": entry.name, "id": entry.id, "description": entry.cls.description,
            "reference": entry.cls.reference, "docstring": inspect.cleandoc(entry.cls.__doc__ or ""),
            "two_stage": entry.rebalance is not None, "defaults": defaults}
