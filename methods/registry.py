"""The one method registry.

``@register_method(variants=("", "cRW"))`` on a :class:`Method` subclass registers its
one-stage row (``""``) and its two-stage rows (a stage-2 suffix of :mod:`methods.stage2`: ``"cRW"``,
``"cRS"``, ``"τ-norm"``, ``"LWS"``, ``"PLA"``, ``"MaxNorm"``) under their display names
(``CE→τ-norm``) and ASCII ids (``ce-taunorm``). The CLI, the grid, the leaderboard and the tests read this registry
and nothing else. Methods from outside the package come from a file
(``path/to/file.py:MyMethod``) or from the ``medlt_bench.methods`` entry-point group.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeVar

from . import user_files
from .base import Method, Rebalance

ENTRY_POINT_GROUP = "medlt_bench.methods"


class UnknownMethodError(KeyError):
    """A method name that is not registered; the message lists the valid names."""

    def __str__(self) -> str:
        return str(self.args[0])


class MethodFileError(UnknownMethodError):
    """A user's method file that cannot be used (it fails to import, a bad id or suffix); the message names the file."""


#: A method id names its results folder and is typed on the command line: no '/', no leading '.', no ':'.
METHOD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def method_id_problem(method_id: str) -> str | None:
    """Why ``method_id`` is not a valid id, or None when it is."""
    if METHOD_ID.fullmatch(method_id):
        return None
    return (
        f"id {method_id!r} is not a valid method id (ASCII letters, digits and . _ + -, starting with a "
        "letter or digit; it names the results folder)"
    )


def _rebalance(suffix: str, where: str, error: type[Exception]) -> Rebalance:
    """The stage 2 named by ``suffix`` (display or id suffix); ``error`` naming ``where`` otherwise."""
    try:
        return Rebalance.from_suffix(suffix)
    except ValueError as e:  # names the suffix and lists the valid ones
        raise error(f"{where}: {e}") from None


@dataclass(frozen=True)
class MethodEntry:
    """One row of the catalog: a method class and its stage 2 (None for one-stage)."""

    cls: type[Method]
    rebalance: Rebalance | None

    @property
    def name(self) -> str:
        return self.cls.name if self.rebalance is None else f"{self.cls.name}→{self.rebalance.suffix}"

    @property
    def id(self) -> str:
        return self.cls.id if self.rebalance is None else f"{self.cls.id}-{self.rebalance.id_suffix}"

    def create(self, **hyperparameters: Any) -> Method:
        return self.cls(rebalance=self.rebalance, **hyperparameters)


_ENTRIES: list[MethodEntry] = []
M = TypeVar("M", bound=type[Method])


def register_method(cls: M | None = None, *, variants: Sequence[str] = ("",)) -> Any:
    """Class decorator. ``variants``: ``""`` for the one-stage row, a stage-2 suffix (``"cRW"``, ``"τ-norm"``, …)
    for each two-stage row."""

    def decorate(c: M) -> M:
        if not c.name or not c.id:
            raise ValueError(f"{c.__qualname__} must declare class attributes 'name' and 'id'")
        if method_id_problem(c.id):
            raise ValueError(f"{c.__qualname__}: {method_id_problem(c.id)}")
        for v in variants:
            entry = MethodEntry(c, Rebalance.from_suffix(v) if v else None)
            if method_id_problem(entry.id):  # the stage-2 id suffix keeps the id a valid folder name
                raise ValueError(f"{c.__qualname__}: {method_id_problem(entry.id)}")
            for other in _ENTRIES:
                if other.cls is not c and (other.name == entry.name or other.id == entry.id):
                    raise ValueError(f"method {entry.name!r} / {entry.id!r} registered twice")
            if entry not in _ENTRIES:
                _ENTRIES.append(entry)
        return c

    return decorate(cls) if cls is not None else decorate


def method_entries() -> list[MethodEntry]:
    """Every registered row, in catalog (paper) order; entry points loaded first."""
    _load_entry_points()
    return list(_ENTRIES)


def method_names() -> list[str]:
    """Display names of every registered row."""
    return [e.name for e in method_entries()]


def _normalise(name: str) -> str:
    return name.strip().lower().replace("->", "→").replace(" ", "")


def get_entry(name: str) -> MethodEntry:
    """Look a row up by display name or id (case-insensitive; ``->`` for ``→``, ``ce:cRW`` for ``ce-crw``)."""
    key = _normalise(name)
    base, sep, suffix = name.partition(":")
    if sep:  # the suffix syntax of user files, for a registered row
        key = f"{_normalise(base)}-{_rebalance(suffix.strip(), f'method {name!r}', UnknownMethodError).id_suffix}"
    for e in method_entries():
        if key in (_normalise(e.name), _normalise(e.id)):
            return e
    raise UnknownMethodError(
        f"unknown method {name!r}; valid: {', '.join(e.id for e in method_entries())} (or path/to/file.py:ClassName)"
    )


def create_method(name: str, **hyperparameters: Any) -> Method:
    """A method by registered name/id, or ``path/to/file.py:ClassName[:cRW]`` for a user's file."""
    if ".py:" in name:
        return load_method_from_file(name, **hyperparameters)
    return get_entry(name).create(**hyperparameters)


def load_method_from_file(spec: str, **hyperparameters: Any) -> Method:
    """``path/to/file.py:ClassName`` (optionally a stage-2 suffix: ``:cRW``, ``:taunorm``, …) -> a method instance.

    The class needs no registration; it must subclass :class:`Method` and declare ``name`` and ``id``,
    and neither may equal a registered method's name or id (its results would be taken for that
    method's). The file's SHA-256 names its module (:mod:`methods.user_files`): an edited file is a new method.
    """
    path_str, _, rest = spec.partition(".py:")
    path = Path(path_str + ".py")
    class_name, _, suffix = rest.partition(":")
    rebalance = _rebalance(suffix, spec, MethodFileError) if suffix else None
    if not path.is_file():
        raise UnknownMethodError(f"method file {path} not found")
    try:
        module = user_files.load_module(path)
    except Exception as e:  # the user's code: report it in one line, naming the file
        first = next(iter(str(e).splitlines()), "")
        raise MethodFileError(f"{path}: importing it failed: {type(e).__name__}: {first}") from e
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise UnknownMethodError(f"{path}: no Method subclass named {class_name!r}")
    if not cls.name or not cls.id:
        raise UnknownMethodError(f"{path}:{class_name} must declare class attributes 'name' and 'id'")
    if method_id_problem(cls.id):
        raise MethodFileError(f"{path}:{class_name}: {method_id_problem(cls.id)}")
    method = cls(rebalance=rebalance, **hyperparameters)
    if any(e.cls is cls for e in method_entries()):
        return method  # the file re-exports a registered class: that method, unchanged
    clash = _clashing_entry(method)
    if clash is not None:
        raise UnknownMethodError(
            f"{path}:{class_name}: name {method.display_name!r} / id {method.method_id!r} clashes with the registered "
            f"method {clash.name!r} (id {clash.id!r}); give your method its own 'name' and 'id'"
        )
    return method


def _clashing_entry(method: Method) -> MethodEntry | None:
    """The registered row whose name or id equals the method's name or id (compared as :func:`get_entry` does)."""
    mine = {_normalise(method.display_name), _normalise(method.method_id)}
    return next((e for e in method_entries() if mine & {_normalise(e.name), _normalise(e.id)}), None)


_entry_points_loaded = False


def _load_entry_points() -> None:
    """Import installed plugins once; each entry point names a module or a Method subclass."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()  # importing the module runs its @register_method decorators
            if isinstance(obj, type) and issubclass(obj, Method) and not any(e.cls is obj for e in _ENTRIES):
                register_method(obj, variants=getattr(obj, "variants", ("",)))
        except Exception as e:  # a broken plugin must not take the catalog (and the CLI) down with it
            warnings.warn(
                f"{ENTRY_POINT_GROUP} entry point {ep.name!r} ({ep.value}) skipped: {type(e).__name__}: {e}",
                RuntimeWarning,
                stacklevel=2,
            )


Factory = Callable[..., Method]
