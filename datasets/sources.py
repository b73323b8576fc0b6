"""The official files a prepared dataset came from: recorded when it is prepared, checked when it is reused.

Prepared folders stay keyed on the construction parameters only, so ``datasets info``, ``list`` and a
machine without the raw files still find them. Instead, whenever a raw root is given again
(``run --raw-root``, ``datasets prepare``'s load path, ``datasets verify --raw-root``), the manifest's
``source_checksums`` are compared with the files now in that root, and a dataset prepared from other
files is refused with a message naming both. The check is cheap: size and modification time
(recorded in the manifest's ``build`` section) first, the sha256 only when they differ. Keying the
folder on the checksums instead would hash every source file (up to gigabytes) before every load.
A source file absent from the given root is not compared: that root holds some other dataset's files.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import DatasetError
from .prepared import BUILD_KEY, file_sha256

#: Key of the manifest's ``build`` section that records where each source file was and its size and mtime.
SOURCE_FILES = "source_files"


def source_facts(paths: Sequence[Path], raw_root: Path | None) -> dict[str, dict[str, Any]]:
    """File name -> path (relative to ``raw_root`` when inside it), size and mtime, for the manifest."""
    facts = {}
    for p in map(Path, paths):
        st = p.stat()
        try:
            where = p.resolve().relative_to(Path(raw_root).resolve()).as_posix() if raw_root is not None else str(p)
        except ValueError:
            where = str(p)
        facts[p.name] = {"path": where, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    return facts


def find_source(raw_root: Path, name: str, fact: Mapping[str, Any]) -> Path | None:
    """The file ``name`` in ``raw_root``: at its recorded relative path, at the top, or one folder down."""
    rel = fact.get("path")
    candidates = [raw_root / rel] if rel and not Path(rel).is_absolute() else []
    candidates += [raw_root / name, *sorted(raw_root.glob(f"*/{name}"))]
    return next((c for c in candidates if c.is_file()), None)


def changed_sources(manifest: Mapping[str, Any], raw_root: Path) -> Iterator[tuple[str, Path, str, str]]:
    """(name, file now in ``raw_root``, recorded sha256, current sha256) of each source file that differs."""
    facts = manifest.get(BUILD_KEY, {}).get(SOURCE_FILES, {})
    for name, recorded in sorted(manifest.get("source_checksums", {}).items()):
        fact = facts.get(name, {})
        path = find_source(Path(raw_root), name, fact)
        if path is None:
            continue
        st = path.stat()
        if (st.st_size, st.st_mtime_ns) == (fact.get("size"), fact.get("mtime_ns")):
            continue
        current = file_sha256(path)
        if current != recorded:
            yield name, path, recorded, current


def check_sources(
    builder: Any, folder: Path, manifest: Mapping[str, Any], raw_root: str | Path | None, size: int | None = None
) -> None:
    """Raise DatasetError when ``folder`` was prepared from other files than those in ``raw_root``."""
    if raw_root is None or not Path(raw_root).is_dir():
        return
    for name, path, recorded, current in changed_sources(manifest, Path(raw_root)):
        raise DatasetError(
            f"{folder} was prepared from another {name} (sha256 {recorded[:12]}) than {path} (sha256 {current[:12]});"
            f" prepare it again from these files with `{prepare_command(builder, raw_root, size)} --cache-dir"
            f" {folder.parent.parent}` or delete {folder}"
        )


def prepare_command(builder: Any, raw_root: str | Path, size: int | None = None) -> str:
    """The ``datasets prepare`` command line that rebuilds ``builder``'s dataset (at ``size`` px) from ``raw_root``."""
    parts = ["python -m benchmark datasets prepare", builder.id, "--raw-root", str(raw_root)]
    if size is not None and size != builder.default_size:
        parts += ["--size", str(size)]
    for f in dataclasses.fields(builder):
        value = getattr(builder, f.name)
        if f.name == "flag" and ":" in builder.id:
            continue  # given by the name (medmnist-lt:<flag>)
        if f.default is dataclasses.MISSING or value != f.default:
            parts += ["--seed", str(value)] if f.name == "seed" else ["-p", f"{f.name}={_shown(value)}"]
    return " ".join(parts)


def _shown(value: Any) -> str:
    return (
        json.dumps(list(value) if isinstance(value, tuple) else value, separators=(",", ":"))
        if not isinstance(value, str)
        else value
    )
