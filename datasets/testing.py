"""Conformance checks for a dataset builder, as scikit-learn's ``check_estimator`` / ``parametrize_with_checks``.

Every registered builder passes these; run them on your own :class:`~datasets.DatasetBuilder` subclass:
``check_builder(MyBuilder)`` (or a registered name, ``check_builder("medmnist-lt:bloodmnist")``) raises an
AssertionError naming the failing check, and ``@parametrize_with_checks([MyBuilder])`` makes one pytest test per
(builder, check) (docs/architecture.md, "Conformance checks for plug-ins"). Each check is a small function
``check_*(builder, *, argument=None)`` whose docstring says what it asserts. Nothing is downloaded: a builder that
needs raw files is checked against an empty folder, a shipped one prepares at 8 px into a temporary folder.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .base import DatasetBuilder
from .errors import DatasetError
from .registry import builder_class

#: What the checks accept as a builder: a class, or a registered name (``medmnist-lt:bloodmnist``).
BuilderLike = type[DatasetBuilder] | str
Check = Callable[..., None]


def resolve(builder: BuilderLike, argument: str | None = None) -> tuple[type[DatasetBuilder], str | None]:
    """``(class, argument)`` of a builder class or a registered name; ``argument`` wins over the name's."""
    if isinstance(builder, str):
        name, _, arg = builder.partition(":")
        return builder_class(name), argument if argument is not None else (arg or None)
    if isinstance(builder, type):
        return builder, argument
    raise TypeError(f"not a dataset builder: {builder!r} (a DatasetBuilder subclass or a registered name)")


def create(cls: type[DatasetBuilder], argument: str | None, **params: Any) -> DatasetBuilder:
    """The builder with ``params``, through ``from_argument`` for a builder that takes an argument."""
    if getattr(cls, "takes_argument", False):
        assert argument, f"{cls.__name__} takes an argument (name:<argument>): pass argument=..."
        return cls.from_argument(argument, **params)
    assert argument is None, f"{cls.__name__} takes no ':' argument (got {argument!r})"
    return cls(**params)


def expected_id(cls: type[DatasetBuilder], argument: str | None) -> str:
    return cls.name if argument is None else f"{cls.name}:{argument}"


def _label(builder: BuilderLike, argument: str | None = None) -> str:
    try:
        cls, arg = resolve(builder, argument)
        return expected_id(cls, arg)
    except Exception:  # an id for a test that will fail: never fail at collection
        return str(builder)


_CHECKS: list[Check] = []


def _builder_check(fn: Callable[[type[DatasetBuilder], str | None], None]) -> Check:
    """Register ``fn(cls, argument)`` as a public check ``fn(builder, *, argument=None)``."""

    @functools.wraps(fn)
    def check(builder: BuilderLike, *, argument: str | None = None) -> None:
        try:
            fn(*resolve(builder, argument))
        except AssertionError:
            raise
        except Exception as e:  # the class under test raised: that is this check failing
            raise AssertionError(f"{type(e).__name__}: {e}") from e

    _CHECKS.append(check)
    return check


def _changed(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return type(value)(1) if value == 0 else value * 2


def _changed_builders(builder: DatasetBuilder) -> Iterator[tuple[str, DatasetBuilder]]:
    """``(field, builder)`` for each numeric construction parameter other than the seed, changed (doubled; a value
    the class refuses with ValueError / DatasetError is skipped)."""
    for name, value in builder.params().items():
        if name == "seed" or _changed(value) == value:
            continue
        try:
            yield name, dataclasses.replace(builder, **{name: _changed(value)})
        except (ValueError, DatasetError):
            continue


# -- the checks ----------------------------------------------------------------------------------
@_builder_check
def check_is_a_frozen_dataclass(cls: type[DatasetBuilder], argument: str | None) -> None:
    """A :class:`DatasetBuilder` subclass and a frozen dataclass (construction parameters are fields)."""
    assert isinstance(cls, type) and issubclass(cls, DatasetBuilder), f"{cls!r} is not a DatasetBuilder subclass"
    # __dataclass_params__ is set by @dataclass but not declared in typeshed's DataclassInstance
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, "not a frozen dataclass"  # type: ignore[attr-defined]


@_builder_check
def check_declares_facts(cls: type[DatasetBuilder], argument: str | None) -> None:
    """Class attributes ``name`` (no ``:``), ``title``, ``image_type``, ``source_url`` (http(s)), ``license``;
    a positive ``default_size``, ``n_major`` and ``n_minor`` >= 1, and a docstring of its own."""
    assert isinstance(getattr(cls, "name", None), str) and cls.name and ":" not in cls.name, "class attribute 'name'"
    builder = create(cls, argument)
    for attr in ("title", "image_type", "source_url", "license"):
        value = getattr(builder, attr)
        assert isinstance(value, str) and value.strip(), f"class attribute {attr!r} is missing or empty"
    assert builder.source_url.startswith(("https://", "http://")), f"source_url {builder.source_url!r}"
    assert isinstance(builder.default_size, int) and builder.default_size > 0, f"default_size {builder.default_size}"
    assert builder.n_major >= 1 and builder.n_minor >= 1, "n_major and n_minor >= 1"
    doc = (cls.__doc__ or "").strip()
    assert doc and not doc.startswith(cls.__name__ + "(") and doc != (DatasetBuilder.__doc__ or "").strip(), (
        "the class docstring says how the dataset is constructed"
    )


@_builder_check
def check_parameters_stored_as_given(cls: type[DatasetBuilder], argument: str | None) -> None:
    """``seed`` and every construction parameter are stored as given and recorded by ``params()`` (JSON);
    ``id`` is the registry name plus any argument."""
    builder = create(cls, argument, seed=1)
    assert builder.seed == 1, f"seed=1 given, seed is {builder.seed!r}"
    assert builder.id == expected_id(cls, argument), f"id {builder.id!r}, expected {expected_id(cls, argument)!r}"
    params = builder.params()
    assert params.get("seed") == 1, "params() records the seed"
    json.dumps(params)  # TypeError: a parameter that cannot go into the manifest
    for name, other in _changed_builders(builder):
        assert other.params()[name] == _changed(params[name]), (
            f"{name}={_changed(params[name])!r} given, params() says {other.params()[name]!r}"
        )


@_builder_check
def check_folder_identity(cls: type[DatasetBuilder], argument: str | None) -> None:
    """The prepared folder is ``<id>-<hash>/<size>px``, the same for equal builders, and different for another
    seed or another construction parameter (they are part of the dataset's identity)."""
    root = Path("cache")
    builder = create(cls, argument, seed=1)
    folder = builder.folder(root, 8)
    assert folder.name == "8px", folder
    assert folder.parent.name.startswith(expected_id(cls, argument).replace(":", "_") + "-"), folder
    assert folder == create(cls, argument, seed=1).folder(root, 8), "equal builders, different folders"
    assert folder != create(cls, argument, seed=2).folder(root, 8), "the seed is not part of the folder"
    for name, other in _changed_builders(builder):
        assert other.folder(root, 8) != folder, f"parameter {name!r} is not part of the folder"


@_builder_check
def check_missing_files_is_one_line_error(cls: type[DatasetBuilder], argument: str | None) -> None:
    """A builder that needs raw files lists them (``raw_files``), and an empty ``--raw-root`` folder raises a one-line
    DatasetError naming the source URL. A shipped builder: nothing to check."""
    builder = create(cls, argument)
    if not builder.needs_raw:
        return
    assert builder.raw_files, "raw_files names what to download"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "empty").mkdir()
        try:
            builder.prepare(Path(tmp) / "empty", Path(tmp) / "cache", size=8, progress=False)
        except DatasetError as e:
            assert "\n" not in str(e), f"a multi-line error: {e}"
            assert builder.source_url in str(e), f"the error does not name {builder.source_url}: {e}"
        else:
            raise AssertionError("prepare() from an empty raw folder did not raise DatasetError")


@_builder_check
def check_shipped_prepares(cls: type[DatasetBuilder], argument: str | None) -> None:
    """A builder that needs no raw files is ``shipped`` and prepares from nothing: (N, 8, 8, 3) uint8 images at
    8 px, every class in the training split. A builder that needs raw files: nothing to check."""
    builder = create(cls, argument)
    if builder.needs_raw:
        return
    assert builder.shipped, "needs_raw = False, so the data ship with a package: set shipped = True"
    with tempfile.TemporaryDirectory() as tmp:
        data = builder.prepare(None, Path(tmp) / "cache", size=8, progress=False)
        assert data.images.shape[1:] == (8, 8, 3), f"images of shape {data.images.shape}"
        assert min(data.train_counts) > 0, f"train counts {list(data.train_counts)}"


# -- running them --------------------------------------------------------------------------------
def builder_checks(builder: BuilderLike | None = None) -> list[tuple[str, Check]]:
    """``[(name, check)]``, in order; call ``check(builder)`` (or ``check(cls, argument="...")``) to run one."""
    return [(c.__name__, c) for c in _CHECKS]


def check_builder(builder: BuilderLike, *, argument: str | None = None) -> None:
    """Run every check of :func:`builder_checks`; an AssertionError naming the first failing check."""
    label = _label(builder, argument)
    for name, check in builder_checks(builder):
        try:
            check(builder, argument=argument)
        except Exception as e:
            first = next(iter(str(e).splitlines()), "") or type(e).__name__
            raise AssertionError(f"{label}: {name} failed: {first}") from e


def parametrize_with_checks(builders: Iterable[BuilderLike]) -> Any:
    """A ``pytest.mark.parametrize("builder, check", ...)`` over every (builder, check), ids ``<id>-<check>``;
    the test calls ``check(builder)``. Give a builder that takes an argument by name (``medmnist-lt:bloodmnist``)."""
    import pytest  # only the test helper needs pytest

    params = [pytest.param(b, check, id=f"{_label(b)}-{name}") for b in builders for name, check in builder_checks(b)]
    return pytest.mark.parametrize("builder, check", params)


__all__ = [
    "BuilderLike",
    "builder_checks",
    "check_builder",
    "check_declares_facts",
    "check_folder_identity",
    "check_is_a_frozen_dataclass",
    "check_missing_files_is_one_line_error",
    "check_parameters_stored_as_given",
    "check_shipped_prepares",
    "parametrize_with_checks",
    "resolve",
]
