"""Writing files safely: atomic writes, modes that follow the umask, names that are one folder, writable places.

``tempfile`` creates 0600 files and 0700 folders whatever the umask, so a result file or a site
renamed into place from one could not be read by a web server or a colleague. After creating
one, the writer gives it the mode an ordinary ``open`` / ``mkdir`` would have: 0666 / 0777 less
the umask (0644 / 0755 with the usual 022).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def current_umask() -> int:
    """The process umask, read without changing it where Linux shows it (``/proc/self/status``).

    Elsewhere it is read by setting and restoring it (``os.umask``), which other threads could
    observe for an instant; that is the only portable way.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file now."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """The mode ``mkdir`` would give a new folder now."""
    return 0o777 & ~current_umask()


def set_default_dir_mode(path: str | Path) -> None:
    """Give a folder made by ``tempfile.mkdtemp`` the mode ``mkdir`` would have given it."""
    os.chmod(path, dir_mode())


def writable_problem(path: str | Path) -> str | None:
    """Why nothing can be written at ``path`` (a folder, or one that would be created), or None when it can.

    The nearest existing folder on the way is probed by creating and removing a temporary file (permission
    bits alone would not say it: root ignores them, a read-only mount does not); nothing is left behind.
    """
    target = Path(path)
    existing = next(p for p in (target, *target.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        return f"{existing} is a file" if existing != target else "is a file"
    try:
        fd, tmp = tempfile.mkstemp(dir=existing, prefix=".medlt-probe.", suffix=".tmp")
    except OSError as e:
        return f"cannot write in {existing} ({e.strerror or e})"
    os.close(fd)
    os.unlink(tmp)
    return None


def path_component_problem(name: str) -> str | None:
    """Why ``name`` cannot be one folder name under a results directory, or None when it can.

    Refused: empty, ``.`` / ``..`` and any leading dot (hidden folders such as ``.stage1`` are not
    read as results), a separator (``/`` or ``\\``) and control characters such as NUL.
    """
    if not name:
        return "is empty"
    if name.startswith("."):
        return "starts with '.'"
    bad = sorted({c for c in name if c in "/\\" or not c.isprintable()})
    return f"contains {' '.join(map(repr, bad))}" if bad else None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, file_mode())  # mkstemp makes 0600; a published result must follow the umask
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """:func:`atomic_write_bytes` of ``text`` encoded (UTF-8 by default)."""
    atomic_write_bytes(path, text.encode(encoding))
