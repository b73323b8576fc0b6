"""Which source files make a method row: the SHA-256 of each, recorded in every result.

A published number is stale when the code that produced it has changed. A row's code is the files
that define the classes it is made of (the method class and its bases in :mod:`methods`, its stage-2
kind and the kind's bases) and, transitively, the files in :mod:`methods` they import from, each
imported name resolved to the file that defines it (``from ..losses import ldam_loss`` is
``methods/losses/ldam.py``, not the whole ``losses`` package). A package's ``__init__`` that a row
imports from is hashed, but its own imports are not followed: they are the catalog of every entry
(all stage-2 kinds, all losses), and a row depends only on the entries it names. Code outside
:mod:`methods` (the training engine, the data pipeline) is shared by every row; the regression test of
published numbers covers it.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

_PACKAGE = "methods"
#: Paths are recorded relative to the directory that holds the ``methods`` package (the repository root).
_ROOT = Path(__file__).resolve().parent.parent


#: Modules the engine calls on every row's behalf (each row's batches come from a sampler there).
ENGINE_COMPONENTS = ("methods.samplers",)


def _ours(module_name: str) -> bool:
    return module_name == _PACKAGE or module_name.startswith(_PACKAGE + ".")


def _is_package(module_name: str) -> bool:
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    return hasattr(module, "__path__")


def _defining_module(module_name: str, name: str) -> str:
    """The module that defines ``module_name.name``: a submodule, a class's or function's own module, or
    ``module_name`` itself for a constant."""
    module = importlib.import_module(module_name)
    value = getattr(module, name, None)
    if value is None:
        candidate = f"{module_name}.{name}"
        return candidate if importlib.util.find_spec(candidate) is not None else module_name
    if inspect.ismodule(value):
        return value.__name__
    if inspect.isclass(value) or inspect.isfunction(value):
        return value.__module__
    return module_name


def _imports(module_name: str) -> set[str]:
    """The modules of :mod:`methods` whose names ``module_name``'s source imports (any nesting level)."""
    module = importlib.import_module(module_name)
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    package = module.__package__ or module_name
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            if _ours(base):
                found.update(_defining_module(base, alias.name) for alias in node.names)
    return {m for m in found if _ours(m)}


def _modules_of(obj: Any) -> set[str]:
    """The modules of :mod:`methods` that define ``type(obj)`` and its bases."""
    return {cls.__module__ for cls in type(obj).__mro__ if _ours(cls.__module__)}


def code_files(method: Any) -> dict[str, str]:
    """``{path relative to the repository root: sha256}`` of every source file of ``method``'s row (see the
    module docstring for what counts). A user's method file is not among them: its SHA-256 is recorded
    separately (``method_source_sha256``)."""
    todo = _modules_of(method) | set(ENGINE_COMPONENTS)
    if method.rebalance is not None:
        todo |= _modules_of(method.rebalance.stage2)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if not _is_package(name):  # a package's own imports are its catalog: not followed
            todo |= _imports(name) - seen
    files: dict[str, str] = {}
    for name in seen:
        file = importlib.import_module(name).__file__
        assert file is not None
        path = Path(file).resolve()
        files[path.relative_to(_ROOT).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return dict(sorted(files.items()))
