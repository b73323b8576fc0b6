"""Folder claims: each results folder records the one configuration it holds and refuses any other.

``<protocol folder>/.protocol.json`` records the protocol's settings, their hash and the dataset's construction
parameters; ``<method folder>/.run.json`` the method's identity (:data:`benchmark.results.identity.CLAIM_PARTS`).
``run`` claims both before any work, under the protocol folder's lock, so two workers with two configurations
of one name cannot both write into one folder (docs/reliability.md, "The identity rule").
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..files import atomic_write_text
from .identity import (
    CLAIM_PARTS,
    Run,
    describe,
    mismatches,
    protocol_settings,
    protocol_sha256,
    result_identity,
    run_identity,
)
from .schema import RunResult
from .store import iter_result_files, read_result, result_path

PROTOCOL_CLAIM, RUN_CLAIM, CLAIM_LOCK = ".protocol.json", ".run.json", ".protocol.lock"
#: The identity files ``run`` writes beside the results.
CLAIM_FILES = (PROTOCOL_CLAIM, RUN_CLAIM)


def protocol_claim(config: Mapping[str, Any], dataset_params: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a protocol folder's claim records: the settings' hash, the settings, and the dataset parameters; a
    part left out when unknown (a result written before it was recorded)."""
    out: dict[str, Any] = {"protocol_sha256": protocol_sha256(config), **protocol_settings(config)} if config else {}
    if dataset_params is not None:
        out["dataset_params"] = dict(dataset_params)
    return out


def method_claim(identity: Mapping[str, Any]) -> dict[str, Any]:
    """What a method folder's claim records of an identity (:data:`CLAIM_PARTS` it holds)."""
    return {k: identity[k] for k in CLAIM_PARTS if k in identity}


def read_claim(path: Path) -> dict[str, Any] | None:
    """The identity a claim file records (None when there is none or it cannot be read: then re-claimed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, ValueError):
        return None
    return data.get("identity") if isinstance(data, dict) and isinstance(data.get("identity"), dict) else None


def _claim(folder: Path, claim: str, identity: dict[str, Any], finished: Iterable[dict[str, Any]], what: str) -> None:
    """Record ``identity`` in ``folder/claim`` unless the folder holds another one (then a UserError)."""
    fix = f"use another --results directory, or delete {folder} to run it again"
    recorded = read_claim(folder / claim)
    others = [recorded] if recorded is not None else list(finished)
    for other in others:
        diff = describe(mismatches(other, identity))
        if diff:
            raise UserError(f"{folder}: holds results of another configuration of {what} ({diff}); {fix}")
    if recorded is None:
        atomic_write_text(folder / claim, json.dumps({"identity": identity}, indent=1, sort_keys=True) + "\n")


def _finished(folder: Path) -> list[tuple[Path, RunResult]]:
    """The finished results under ``folder``, with their paths."""
    out = []
    for path in iter_result_files(folder):
        try:
            result = read_result(path)
        except (OSError, ValueError):
            continue  # a broken file is no configuration; the run replaces it or `validate` names it
        if result.status == "ok":
            out.append((path, result))
    return out


def _names(folder: Path, finished: list[tuple[Path, RunResult]]) -> dict[str, str]:
    """Display name -> method id of the methods the protocol folder holds (finished results and claims)."""
    names = {r.spec.method: r.spec.method_id for _, r in finished}
    for claim in sorted(folder.glob(f"*/{RUN_CLAIM}")):
        recorded = read_claim(claim)
        if recorded is not None and isinstance(recorded.get("method"), str):
            names.setdefault(recorded["method"], str(recorded.get("method_id")))
    return names


def claim_folders(results_dir: Path, runs: Iterable[Run], dataset_params: Callable[[str], dict[str, Any]]) -> None:
    """Claim the protocol and method folders of ``runs`` for their configuration, before any work.

    Raises :class:`benchmark.errors.UserError` naming the folder and what differs when one holds another
    configuration: another protocol with the same name, other dataset construction parameters
    (``dataset_params(name)``, ``run -p``), another version of a method with the same id, or another method
    id with the same display name (two rows that every table would show as one).
    """
    by_folder: dict[Path, dict[Path, Run]] = {}
    for run in runs:
        method_folder = result_path(results_dir, run.spec).parent
        by_folder.setdefault(method_folder.parent, {}).setdefault(method_folder, run)
    for folder, methods in by_folder.items():
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / CLAIM_LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # held for milliseconds: two workers claim one after the other
            first = next(iter(methods.values()))
            _claim_locked(folder, methods, dataset_params(first.dataset))


def _claim_locked(folder: Path, methods: Mapping[Path, Run], params: dict[str, Any]) -> None:
    """:func:`claim_folders` for one protocol folder, whose lock the caller holds."""
    finished = _finished(folder)
    first = next(iter(methods.values()))
    config = first.protocol.as_dict()
    implied = [protocol_claim(r.protocol_config, r.dataset_params) for _, r in finished]
    what = f"{first.dataset} with protocol {config['name']!r}"
    _claim(folder, PROTOCOL_CLAIM, protocol_claim(config, params), implied, what)
    names = _names(folder, finished)
    for method_folder, run in methods.items():
        method = run.method
        other = names.setdefault(method.display_name, method.method_id)
        if other != method.method_id:
            raise UserError(
                f"{folder}: holds results of method {other!r} with the display name {method.display_name!r}; "
                f"{method.method_id!r} would share its row: give it its own name"
            )
        method_folder.mkdir(exist_ok=True)
        done = [method_claim(result_identity(r)) for path, r in finished if path.parent == method_folder]
        _claim(method_folder, RUN_CLAIM, method_claim(run_identity(run)), done, f"method {method.method_id!r}")
