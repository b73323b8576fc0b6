"""The identity rule: what makes two runs the same run (docs/reliability.md, "The identity rule").

One record of a run's configuration, built from a run about to start (:func:`run_identity`) or from a result
file (:func:`result_identity`), and one comparison of two such records (:func:`mismatches`). Every question of
sameness asks it: may a finished result be reused (:func:`reuse_problem`), may a folder be claimed
(:mod:`benchmark.results.claims`), is a cell one configuration (``validate``), is a published row stale (the
board), does a submission's method file describe its results (``review``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from datasets.prepared import canonical_json

from .schema import RunResult, RunSpec

if TYPE_CHECKING:
    from methods.base import Method

    from ..protocol import Protocol as RunProtocol


class Run(Protocol):
    """What an identity needs of a run (:class:`benchmark.grid.Run` is one)."""

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

#: The parts of an identity, in the order they are reported. A method folder's claim (``.run.json``) records
#: :data:`CLAIM_PARTS`; ``protocol`` (the settings themselves), ``dataset_params`` and
#: ``dataset_manifest_sha256`` name what differs where a check needs more than the protocol's hash.
CLAIM_PARTS = ("method_id", "method", "method_source_sha256", "hyperparameters", "stage2_settings", "protocol_sha256")
#: What decides whether a finished result is this run's (its path has fixed the names already).
REUSE_PARTS = (
    "method_source_sha256",
    "hyperparameters",
    "stage2_settings",
    "protocol",
    "dataset_params",
    "dataset_manifest_sha256",
)
#: How a missing value is shown where one side of a difference lacks it.
ABSENT = "<absent>"


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


def run_identity(
    run: Run, dataset_params: Mapping[str, Any] | None = None, manifest_sha256: str | None = None
) -> dict[str, Any]:
    """The identity of ``run`` (the seed aside): its method, the protocol's settings and, when given, the
    dataset's construction parameters and the manifest hash of its prepared build."""
    method = run.method
    config = run.protocol.as_dict()
    out: dict[str, Any] = {
        "method_id": method.method_id,
        "method": method.display_name,
        "method_source_sha256": method.source_sha256,
        "hyperparameters": method.hyperparameters(),
        "stage2_settings": method.rebalance.stage2.settings() if method.rebalance else None,
        "protocol_sha256": protocol_sha256(config),
        "protocol": protocol_settings(config),
    }
    if dataset_params is not None:
        out["dataset_params"] = dict(dataset_params)
    if manifest_sha256 is not None:
        out["dataset_manifest_sha256"] = manifest_sha256
    return out


def result_identity(result: RunResult) -> dict[str, Any]:
    """:func:`run_identity` as a result file records it. Parts a file written before they were recorded lacks
    (stage-2 settings of a two-stage row, protocol settings, dataset parameters) are left out, so they are not
    compared."""
    out: dict[str, Any] = {
        "method_id": result.spec.method_id,
        "method": result.spec.method,
        "method_source_sha256": result.method_source_sha256,
        "hyperparameters": result.hyperparameters,
        "dataset_manifest_sha256": result.dataset_manifest_sha256,
    }
    if result.stage2_settings is not None or not result.two_stage:
        out["stage2_settings"] = result.stage2_settings
    if result.protocol_config:
        out["protocol_sha256"] = protocol_sha256(result.protocol_config)
        out["protocol"] = protocol_settings(result.protocol_config)
    if result.dataset_params is not None:
        out["dataset_params"] = result.dataset_params
    return out


@dataclass(frozen=True)
class Mismatch:
    """One part of two identities that differs: its values before and now, and for a mapping the keys that differ."""

    part: str
    before: Any
    now: Any

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys whose values differ, when both values are mappings (a key one side lacks differs too)."""
        if not (isinstance(self.before, Mapping) and isinstance(self.now, Mapping)):
            return ()
        return tuple(sorted(k for k in set(self.before) | set(self.now) if _differs(self.before, self.now, k)))

    def describe(self, template: str = "{key}: {before} -> now {now}") -> str:
        """Each differing key (or the part itself) with both values through ``template``; a mapping's keys are
        shown inside ``part: {…}``."""
        if not self.keys:
            return template.format(key=self.part, before=_short(self.before), now=_short(self.now))
        inner = "; ".join(
            template.format(key=k, before=_short(self.before.get(k, ABSENT)), now=_short(self.now.get(k, ABSENT)))
            for k in self.keys
        )
        return f"{self.part}: {{{inner}}}"

    def __str__(self) -> str:
        return self.describe()


def mismatches(before: Mapping[str, Any], now: Mapping[str, Any], parts: Iterable[str] | None = None) -> list[Mismatch]:
    """Every part (of ``parts``, default all) that both records hold and whose values differ as canonical JSON,
    in the order of ``parts``. A part only one side records is not compared: a record written before that part
    was kept says nothing about it."""
    names = list(parts) if parts is not None else sorted(set(before) | set(now))
    return [Mismatch(p, before[p], now[p]) for p in names if p in before and p in now and _differs(before, now, p)]


def describe(diffs: Iterable[Mismatch]) -> str:
    """The mismatches on one line; the protocol's hash is left out when a protocol setting beside it is shown."""
    shown = list(diffs)
    if len(shown) > 1:
        shown = [d for d in shown if d.part != "protocol_sha256"] or shown
    return ", ".join(str(d) for d in shown)


def _differs(a: Mapping[str, Any], b: Mapping[str, Any], key: str) -> bool:
    return key not in a or key not in b or canonical_json(a[key]) != canonical_json(b[key])


def _short(value: Any, limit: int = 80) -> str:
    text = value if value == ABSENT else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: Why a finished result with a difference in each part is not this run's, and what to do.
_REUSE_REFUSALS = {
    "method_source_sha256": "finished results of {id!r} come from another version of its method file ({diff})",
    "hyperparameters": "finished results of {id!r} were run with other hyper-parameters ({diff})",
    "stage2_settings": "finished results of {id!r} were run with other stage-2 settings ({diff})",
    "protocol": "finished results were run with other settings of protocol {protocol!r} ({diff})",
    "dataset_params": "finished results on {dataset} with dataset params {before}, but this run asks for {now}",
    "dataset_manifest_sha256": "finished results on another build of {dataset} ({diff})",
}


def reuse_problem(
    done: RunResult, now: Mapping[str, Any], default_dataset_params: Mapping[str, Any], folder: Path
) -> str | None:
    """Why the finished result ``done`` is not the run whose identity is ``now`` (:func:`run_identity` with the
    grid's dataset parameters and, when the dataset is prepared, its manifest hash), or None: it may be reused.

    Refusing beats mixing: a result of an edited method file, of changed method defaults or protocol settings,
    of other ``-p`` parameters or of a dataset prepared from other files would otherwise be reported as this
    run's. A result without recorded dataset parameters was run with the builder's defaults.
    """
    recorded = result_identity(done)
    recorded.setdefault("dataset_params", dict(default_dataset_params))
    found = mismatches(recorded, now, REUSE_PARTS)
    if not found:
        return None
    first = found[0]
    fix = (
        "give the changed method a new id"
        if first.part == "method_source_sha256"
        else "use another --results directory"
    )
    spec = done.spec
    words = _REUSE_REFUSALS[first.part].format(
        id=spec.method_id, protocol=spec.protocol, dataset=spec.dataset, diff=first, before=first.before, now=first.now
    )
    return f"{folder}: {words}; {fix} or delete {folder}"
