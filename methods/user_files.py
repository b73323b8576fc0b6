"""A user's method file loaded as a module: the one place that names its module and knows its SHA-256.

The module is named after the file's content (:data:`USER_MODULE_PREFIX` + SHA-256), so the hash of the file a
class came from is read from the class itself (:func:`source_sha256`), an edited file is a new module (a new
method), and a worker process that loads the same file (:func:`load_module` with the hash it expects) gets the
same module name, under which the pickled methods find their classes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

#: Every module made from a user's file is named ``<prefix><sha256 of the file>``.
USER_MODULE_PREFIX = "medlt_user_method_"


class ChangedFileError(RuntimeError):
    """A user's file no longer has the content it was first loaded with."""


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_module(path: Path, expected_sha256: str | None = None) -> ModuleType:
    """Import the Python file ``path`` as the module ``<prefix><its sha256>`` (registered in ``sys.modules``).

    With ``expected_sha256`` the file must still have that content (a worker loading the file its grid's methods
    were made from); else :class:`ChangedFileError`. An exception the file raises while it is imported
    propagates, and no module is left registered.
    """
    sha256 = file_sha256(path)
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise ChangedFileError(
            f"{path} changed while the grid ran (sha256 is no longer {expected_sha256[:12]}); run again"
        )
    name = USER_MODULE_PREFIX + sha256
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def is_user_module(module_name: str) -> bool:
    """Whether ``module_name`` was made from a user's file by :func:`load_module`."""
    return module_name.startswith(USER_MODULE_PREFIX)


def source_sha256(cls: type) -> str | None:
    """The SHA-256 of the user's file that defines ``cls``; None for a class of an installed package."""
    module = cls.__module__
    return module.removeprefix(USER_MODULE_PREFIX) if is_user_module(module) else None


def user_files(classes: list[type]) -> dict[str, str]:
    """``{file: sha256}`` of the user's files that define ``classes`` (each checked to be unchanged on disk),
    for a worker process to load with :func:`load_module`."""
    found: dict[str, str] = {}
    for cls in classes:
        sha256 = source_sha256(cls)
        if sha256 is None:
            continue
        file = sys.modules[cls.__module__].__file__
        assert file is not None
        if file_sha256(Path(file)) != sha256:
            raise ChangedFileError(_changed(Path(file), sha256))
        found[file] = sha256
    return found


def _changed(path: Path, sha256: str) -> str:
    return f"{path} changed while the grid ran (sha256 is no longer {sha256[:12]}); run again"
