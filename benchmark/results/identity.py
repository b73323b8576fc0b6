"""The identity rule: what makes two runs the same run (docs/reliability.md, "The identity rule").

A row of every table is keyed by what produced it, not by names: the method id, the SHA-256 of a user's
method file, the hyper-parameters, the stage-2 kind and its settings, and the protocol's *content* (the
SHA-256 of its resolved settings, :func:`protocol_sha256`), besides the dataset, backbone and seed.

Results stay filed by name (``<results>/<dataset>/<backbone>/<protocol>/<method-id>/seed-<k>.json``), so
each folder records the one configuration it holds and refuses any other:

- ``<protocol folder>/.protocol.json`` holds the protocol's settings and their hash;
- ``<method folder>/.run.json`` holds the identity of the method's runs (:func:`run_identity`).

``run`` claims both before any work, under the protocol folder's lock (``.protocol.lock``), so two
workers with two different protocol files both named ``rtx`` (or two versions of one method) cannot
both write into one folder: the second is refused in one line, whichever starts first. A folder written
before these records existed is claimed after its finished results are checked against the claim.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from datasets.prepared import canonical_json

from ..errors import UserError
from .schema import RunResult, RunSpec
from .store import atomic_write_text, iter_result_files, read_result, result_path

if TYPE_CHECKING:
    from methods.base import Method

    from ..protocol import Protocol as RunProtocol


class Run(Protocol):
    """What a claim needs of a run (:class:`benchmark.grid.Run` is one; the grid imports this module, not
    the other way round)."""

    @property
    def dataset(self) -> str: ...
    @property
    def method(self) -> Method: ...
    @property
    def protocol(self) -> RunProtocol: ...
    @property
    def spec(self) -> RunSpec: ...


#: The longest method id, display name or protocol name (characters): a folder name must fit the file
#: system's 255 bytes, and a table column or a page must stay readable.
MAX_NAME = 100
#: Protocol keys that do not change what a run computes (``name`` files the results; ``datasets`` is
#: applied before hashing).
_NOT_SETTINGS = ("name", "description", "datasets")
PROTOCOL_CLAIM, RUN_CLAIM, CLAIM_LOCK = ".protocol.json", ".run.json", ".protocol.lock"


def name_problem(name: str, what: str = "name") -> str | None:
    """Why ``name`` cannot be a display name or id on a table (too long, or a control character such as a
    newline, which splits a table row), or None when it can (``|`` is escaped where Markdown needs it)."""
    if len(name) > MAX_NAME:
        return f"the {what} is {len(name)} characters long; at most {MAX_NAME}"
    bad = sorted({c for c in name if not c.isprintable()})
    if bad:
        return f"the {what} contains {' '.join(map(repr, bad))}"
    return None


def protocol_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of a resolved protocol (``Protocol.for_dataset(...).as_dict()``) that change what a run
    computes: all but its name and description."""
    return {k: v for k, v in config.items() if k not in _NOT_SETTINGS}


def protocol_sha256(config: Mapping[str, Any]) -> str:
    """The protocol's identity: SHA-256 of its resolved settings (:func:`protocol_settings`), not its name."""
    return hashlib.sha256(canonical_json(protocol_settings(config))).hexdigest()


def run_identity(run: Run) -> dict[str, Any]:
    """What makes a run of ``run``'s method folder the same configuration (the seed aside)."""
    method = run.method
    return {
        "method_id": method.method_id,
        "method": method.display_name,
        "method_source_sha256": method.source_sha256,
        "hyperparameters": method.hyperparameters(),
        "stage2_settings": method.rebalance.stage2.settings() if method.rebalance else None,
        "protocol_sha256": protocol_sha256(run.protocol.as_dict()),
    }


def result_identity(result: RunResult) -> dict[str, Any]:
    """:func:`run_identity` as a result file records it; keys an older file lacks (no stage-2 settings, no
    protocol settings) are left out, so they are not compared."""
    out: dict[str, Any] = {
        "method_id": result.spec.method_id,
        "method": result.spec.method,
        "method_source_sha256": result.method_source_sha256,
        "hyperparameters": result.hyperparameters,
    }
    if result.stage2_settings is not None or not result.two_stage:
        out["stage2_settings"] = result.stage2_settings
    if result.protocol_config:
        out["protocol_sha256"] = protocol_sha256(result.protocol_config)
    return out


def changes(before: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    """``key: old -> now new`` for every key both sides have and whose values differ (the protocol's hash only
    when no protocol setting shown beside it differs)."""
    keys = [k for k in sorted(set(before) & set(now)) if canonical_json(before[k]) != canonical_json(now[k])]
    if len(keys) > 1 and "protocol_sha256" in keys:
        keys.remove("protocol_sha256")
    return ", ".join(f"{k}: {_short(before[k])} -> now {_short(now[k])}" for k in keys)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _recorded(path: Path) -> dict[str, Any] | None:
    """The identity a claim file records (None when there is none or it cannot be read: then re-claimed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, ValueError):
        return None
    return data.get("identity") if isinstance(data, dict) and isinstance(data.get("identity"), dict) else None


def _claim(folder: Path, claim: str, identity: dict[str, Any], finished: Iterable[dict[str, Any]], what: str) -> None:
    """Record ``identity`` in ``folder/claim`` unless the folder holds another one (then a UserError)."""
    fix = f"use another --results directory, or delete {folder} to run it again"
    recorded = _recorded(folder / claim)
    others = [recorded] if recorded is not None else list(finished)
    for other in others:
        diff = changes(other, identity)
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
        recorded = _recorded(claim)
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
    mine = {"protocol_sha256": protocol_sha256(config), **protocol_settings(config), "dataset_params": params}
    protocol = [_protocol_identity(r) for _, r in finished]
    _claim(folder, PROTOCOL_CLAIM, mine, protocol, f"{first.dataset} with protocol {config['name']!r}")
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
        done = [result_identity(r) for path, r in finished if path.parent == method_folder]
        _claim(method_folder, RUN_CLAIM, run_identity(run), done, f"method {method.method_id!r}")


def _protocol_identity(result: RunResult) -> dict[str, Any]:
    """The protocol claim a finished result implies (empty for a file without protocol settings)."""
    config = result.protocol_config
    out = {"protocol_sha256": protocol_sha256(config), **protocol_settings(config)} if config else {}
    if result.dataset_params is not None:
        out["dataset_params"] = result.dataset_params
    return out
