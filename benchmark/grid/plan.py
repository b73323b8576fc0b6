"""The plan of a grid: its runs, grouped into stage-1 jobs, and every rule a grid must satisfy before any work.

Runs that share a stage-1 key (CE, CE→cRW, CE→cRS) form one job: stage 1 is trained once per (dataset,
backbone, protocol, seed) and every member run starts from it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets as ds
from datasets.prepared import canonical_json
from methods.base import Method

from ..errors import UserError
from ..protocol import Protocol, load_protocol
from ..results.identity import name_problem
from ..results.schema import RunSpec
from ..results.validate.bounds import MAX_HYPERPARAMETERS, MAX_TEXT
from ..training.backbones import check_backbone


@dataclass
class Run:
    """One cell of the grid: a method on a dataset with a backbone, a protocol and a seed."""

    dataset: str
    method: Method
    backbone: str
    seed: int
    protocol: Protocol

    @property
    def spec(self) -> RunSpec:
        return RunSpec(
            dataset=self.dataset,
            method=self.method.display_name,
            method_id=self.method.method_id,
            backbone=self.backbone,
            seed=self.seed,
            protocol=self.protocol.name,
        )


@dataclass
class Job:
    """Runs that share one stage-1 training."""

    dataset: str
    backbone: str
    seed: int
    protocol: Protocol  # with the dataset's overrides applied
    runs: list[Run] = field(default_factory=list)

    @property
    def stage1_method(self) -> Method:
        return self.runs[0].method


def plan(
    methods: Sequence[Method],
    datasets: Sequence[str],
    backbones: Sequence[str | None],
    seeds: Sequence[int],
    protocol: str | Protocol,
    dataset_params: Mapping[str, Any] | None = None,
    weights_file: Path | None = None,
    weights_dir: Path | None = None,
    allow_download: bool = False,
) -> list[Run]:
    """Every run of the grid, each method, dataset, backbone and seed once (in the order first named).

    Refused before any work, with a :class:`benchmark.errors.UserError` naming the thing at fault: a negative
    seed, two methods with one id or two ids with one display name (they would be one row of every table), an
    id, name or text that no table or folder can hold, a dataset that cannot be built with ``dataset_params``,
    and an unknown backbone or missing pretrained weights.
    """
    for seed in seeds:
        if seed < 0:  # seeds seed numpy's generators, which take no negative number
            raise UserError(f"--seeds {seed}: a seed must be >= 0")
    names = list(dict.fromkeys(datasets))
    for name in names:
        dataset_builder(name, dataset_params or {})
    runs = expand_grid(
        names, distinct_methods(methods), list(dict.fromkeys(backbones)), list(dict.fromkeys(seeds)), protocol
    )
    for backbone, pretrained in sorted({(r.backbone, r.protocol.pretrained) for r in runs}):
        check_backbone(backbone, pretrained, weights_file, weights_dir, allow_download)
    return runs


def expand_grid(
    datasets: Sequence[str],
    methods: Sequence[Method],
    backbones: Sequence[str | None],
    seeds: Sequence[int],
    protocol: str | Protocol,
) -> list[Run]:
    """Every run of the grid, in dataset, backbone, seed, method order (no rule checked: :func:`plan` checks).

    ``protocol`` is a shipped name, a TOML path or a loaded :class:`Protocol`; each run gets it
    with its dataset's overrides applied, and its method with the protocol's hyper-parameters for that
    dataset (``[methods.<id>]``, :meth:`Protocol.configure`). A backbone of None means the protocol's.
    """
    proto = protocol if isinstance(protocol, Protocol) else load_protocol(protocol)
    return [
        Run(d, proto.for_dataset(d).configure(m), b or proto.for_dataset(d).backbone, s, proto.for_dataset(d))
        for d in datasets
        for b in backbones
        for s in seeds
        for m in methods
    ]


def group_jobs(runs: Sequence[Run]) -> list[Job]:
    """Group runs by (dataset, backbone, protocol, seed, stage-1 key); one-stage members first."""
    jobs: dict[str, Job] = {}
    for r in runs:
        key = canonical_json([r.dataset, r.backbone, r.protocol.as_dict(), r.seed, r.method.stage1_key()]).decode()
        jobs.setdefault(key, Job(r.dataset, r.backbone, r.seed, r.protocol)).runs.append(r)
    for job in jobs.values():
        job.runs.sort(key=lambda r: r.method.two_stage)
    return list(jobs.values())


def dataset_builder(name: str, params: Mapping[str, Any]) -> ds.DatasetBuilder:
    """``datasets.create_builder(name, **params)``; a field the builder lacks is a DatasetError naming it."""
    try:
        return ds.create_builder(name, **params)
    except TypeError as e:
        raise ds.DatasetError(f"{name}: bad dataset parameter {sorted(params)} ({e})") from None


def distinct_methods(methods: Sequence[Method]) -> list[Method]:
    """Each method once (``CE``, ``ce`` and ``"CE "`` name one), in the order first named; refused: two methods
    with one id, two ids with one display name, and ids, names or texts no folder or table row can hold."""
    _check_distinct_ids(methods)
    first: dict[str, Method] = {}
    for m in methods:
        first.setdefault(m.method_id, m)
    unique = list(first.values())
    names: dict[str, str] = {}
    for m in unique:
        for text, what in ((m.method_id, "id"), (m.display_name, "display name")):
            problem = name_problem(text, what)
            if problem:
                shown = repr(text) if len(text) <= 40 else f"{text[:40]!r}…"
                raise UserError(f"method {shown}: {problem}")
        _check_texts(m)
        other = names.setdefault(m.display_name, m.method_id)
        if other != m.method_id:
            raise UserError(
                f"two methods have the display name {m.display_name!r} (ids {other!r} and {m.method_id!r}): they "
                "would be one row of every table; give each its own name"
            )
    return unique


def _check_distinct_ids(methods: Sequence[Method]) -> None:
    """Two methods (say two users' files) with one id would write one result folder: refuse."""
    seen: dict[str, tuple[str, str | None]] = {}
    for m in methods:
        cls = type(m)
        where = f"{getattr(sys.modules.get(cls.__module__), '__file__', cls.__module__)}:{cls.__qualname__}"
        mine = (where, m.source_sha256)  # one class of one file, however often it is named
        other = seen.setdefault(m.method_id, mine)
        if other != mine:
            raise UserError(f"two methods have the id {m.method_id!r} ({other[0]} and {mine[0]}); give each its own id")


def _check_texts(method: Method) -> None:
    """A method's description, reference, link and hyper-parameters within what every reader accepts
    (:data:`benchmark.results.validate.MAX_TEXT`): refused here rather than after its runs are written."""
    texts = {"description": (method.row_description, MAX_TEXT["description"])}
    texts.update({key: (getattr(method, key) or "", MAX_TEXT[key]) for key in ("reference", "url")})
    texts["hyperparameters"] = (json.dumps(method.hyperparameters(), default=str), MAX_HYPERPARAMETERS)
    for key, (text, limit) in texts.items():
        if len(text) > limit:
            raise UserError(f"method {method.method_id!r}: its {key} is {len(text):,} characters; at most {limit:,}")
