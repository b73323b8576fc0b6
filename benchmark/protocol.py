"""Protocols: every training setting of a run, loaded from a TOML file in ``benchmark/protocols/``.

Each field carries its type and range (pydantic validates them, strictly: ``"3"`` is not a number);
:data:`AT_MOST` relates fields to each other. A file that breaks either is refused with one line
naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import sys
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.dataclasses import dataclass

import datasets as ds

from .files import path_component_problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    from methods.base import Method

M = TypeVar("M", bound="Method")

PROTOCOL_DIR = Path(__file__).parent / "protocols"
DEFAULT_PROTOCOL = "quick"


class ProtocolError(Exception):
    """A protocol file that cannot be used; the message names the file and the problem."""


class UnknownProtocolError(ProtocolError, KeyError):
    """A protocol name with no TOML file; the message lists the valid names."""

    def __str__(self) -> str:
        return str(self.args[0])


Count = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Rate = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]

#: ``key: other`` -- ``key`` must not exceed ``other`` (after per-dataset overrides).
AT_MOST = {"warmup_epochs": "epochs", "image_size": "cache_size", "min_lr": "lr", "stage2_min_lr": "stage2_lr"}
#: Settings whose default means "as the published results were computed": left out of :meth:`Protocol.as_dict`
#: at that default, so that adding one leaves every recorded protocol's identity as it was.
LATER_FIELDS: dict[str, Any] = {
    "stage2_official": False,
    "nesterov": False,
    "stage2_nesterov": False,
    "stage2_bn_train": False,
    "methods": {},
}
#: Keys a ``[datasets.X]`` table may not override: results are filed under the protocol's name.
NOT_OVERRIDABLE = ("name", "datasets")
#: Keys every protocol file must set: an empty or partial file is refused rather than defaulted to a
#: paper-scale run (the field defaults are the paper's settings, for the API).
REQUIRED = ("backbone", "image_size", "epochs", "batch_size", "lr")


# strict: no "3" for 3 or true for 1 (an int is accepted for a float); finite floats; no unknown keys
@dataclass(frozen=True, config=ConfigDict(strict=True, extra="forbid", allow_inf_nan=False))
class Protocol:
    """Resolution, augmentation, schedule and stage-2 settings (one TOML file).

    ``datasets`` holds per-dataset overrides (``[datasets.skin7] batch_size = 32``);
    :meth:`for_dataset` applies them. Constructing one validates it (pydantic).
    """

    name: str
    description: str = ""
    backbone: Annotated[str, Field(min_length=1)] = "resnet50"
    pretrained: bool = False
    # images: prepared at cache_size, trained at image_size (random crop), tested on the centre crop
    cache_size: Count = 300
    image_size: Count = 224
    rotation: Annotated[float, Field(ge=0, le=180)] = 30.0  # degrees, drawn from [-rotation, rotation]
    hflip: bool = True
    # stage 1
    epochs: Count = 100
    warmup_epochs: NonNegativeInt = 5
    batch_size: Count = 64
    lr: Rate = 1e-3
    min_lr: NonNegative = 1e-6
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.9
    weight_decay: NonNegative = 5e-4
    nesterov: bool = False  # Nesterov momentum in stage 1 (the authors' configuration: true)
    max_steps_per_epoch: NonNegativeInt = 0  # 0 = the whole epoch
    # stage 2 (cRW / cRS): frozen extractor, new linear head
    stage2_epochs: Count = 10
    stage2_lr: Rate = 0.1
    stage2_min_lr: NonNegative = 1e-6
    stage2_weight_decay: NonNegative = 0.0
    stage2_nesterov: bool = False  # Nesterov momentum in stage 2
    # true: the frozen extractor's batch norm is in train mode during stage 2 (batch statistics, running
    # statistics updated), as the authors' finetune.py (model.train() every epoch); false: eval mode
    stage2_bn_train: bool = False
    # true: a stage-2 kind with an official schedule (methods.stage2.Stage2Schedule: LWS, MaxNorm) trains with
    # it (epochs, lr, batch, sampler, batch-norm mode, epoch choice) instead of the stage2_* settings above
    stage2_official: bool = False
    eval_batch_size: Count = 256
    # "float64" makes CPU results independent of the thread count and the CPU's SIMD kernels
    # (summation order moves float32 training enough to flip predictions); about 2x slower.
    # "bf16": float32 weights under bf16 autocast on every device, the CPU included (CUDA autocasts
    # "float32" to bf16 as well); channels-last except in float64.
    precision: Literal["float32", "float64", "bf16"] = "float32"
    # hyper-parameters of methods under this protocol, by recipe id (the class's id: "ce+ct" covers CE+CT→cRW):
    # [methods."ce+ct"] metric_weight = 0.01; applied by :meth:`configure` (benchmark.grid.expand_grid)
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name_is_a_folder_name(cls, name: str) -> str:
        problem = path_component_problem(name)
        if problem:  # results are filed under <results>/<dataset>/<backbone>/<name>/
            raise ValueError(f"{problem}; a protocol name is a folder name")
        return name

    @model_validator(mode="after")
    def _ordered(self) -> Protocol:
        for key, other in AT_MOST.items():
            value, limit = getattr(self, key), getattr(self, other)
            if value > limit:
                raise ValueError(f"{key} = {_toml(value)}: must be <= {other} ({_toml(limit)})")
        return self

    def for_dataset(self, dataset: str) -> Protocol:
        """This protocol with the overrides of ``dataset`` applied (and no override table left)."""
        overrides = dict(self.datasets.get(dataset) or self.datasets.get(dataset.split(":", 1)[0]) or {})
        if "methods" in overrides:  # merged per recipe: a dataset's table adds to the protocol's
            merged = {k: dict(v) for k, v in self.methods.items()}
            for recipe, values in overrides["methods"].items():
                merged[recipe] = {**merged.get(recipe, {}), **values}
            overrides["methods"] = merged
        return dataclasses.replace(self, datasets={}, **overrides)

    def configure(self, method: M) -> M:
        """``method`` with this protocol's hyper-parameters for its recipe (``[methods.<id>]``, after
        :meth:`for_dataset`) set; the method itself when the protocol sets none. The values are stored
        on the method as given, so they are part of its results and stage-1 key."""
        values = self.methods.get(type(method).id)
        return dataclasses.replace(method, **values) if values else method

    def as_dict(self) -> dict[str, Any]:
        """The settings as recorded in results and stage-1 keys; a field of :data:`LATER_FIELDS` at its default is
        left out, so that results and checkpoints of protocols that do not use it keep their identity."""
        out = dataclasses.asdict(self)
        for key, default in LATER_FIELDS.items():
            if out.get(key) == default:
                del out[key]
        return out


def protocol_names() -> list[str]:
    """Names of the shipped protocols (TOML files)."""
    return sorted(p.stem for p in PROTOCOL_DIR.glob("*.toml"))


def load_protocol(name_or_path: str) -> Protocol:
    """Load a shipped protocol by name, or any TOML file by path; a bad file raises :class:`ProtocolError`."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        if name_or_path not in protocol_names():
            raise UnknownProtocolError(
                f"unknown protocol {name_or_path!r}; valid: {', '.join(protocol_names())} (or a .toml file)"
            )
        path = PROTOCOL_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise UnknownProtocolError(f"{path}: protocol file not found; shipped protocols: {', '.join(protocol_names())}")
    data = _read_toml(path)
    data.setdefault("name", path.stem)
    protocol = _validated(path, data)
    _check_methods(path, "", protocol.methods)
    for dataset, overrides in protocol.datasets.items():
        _check_methods(path, f"[datasets.{dataset}] ", overrides.get("methods") or {})
    # Results are filed under the protocol's name: a custom file must not pose as a shipped protocol.
    if path.resolve().parent != PROTOCOL_DIR.resolve() and protocol.name in protocol_names():
        if protocol != load_protocol(protocol.name):
            raise ProtocolError(
                f"{path}: name {protocol.name!r} is a shipped protocol's but the settings differ; "
                "give your protocol its own name"
            )
    return protocol


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:  # the message ends with "(at line L, column C)"
        raise ProtocolError(f"{path}: not valid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise ProtocolError(f"{path}: not valid TOML: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise ProtocolError(f"{path}: cannot read: {e.strerror}") from None


def _validated(path: Path, data: dict[str, Any]) -> Protocol:
    """``data`` as a :class:`Protocol`, every ``[datasets.X]`` table applied once to check it too."""
    try:
        protocol = Protocol(**data)
    except ValidationError as e:
        raise ProtocolError(f"{path}: {_describe(e)}") from None
    for dataset, overrides in protocol.datasets.items():
        where = f"[datasets.{dataset}]"
        _check_dataset_known(path, where, dataset)
        for key in NOT_OVERRIDABLE:
            if key in overrides:
                raise ProtocolError(f"{path}: {where} {key}: cannot be set per dataset")
        try:
            protocol.for_dataset(dataset)
        except ValidationError as e:
            raise ProtocolError(f"{path}: {where} {_describe(e)}") from None
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise ProtocolError(
            f"{path}: missing required key{'s' * (len(missing) > 1)} {', '.join(missing)} "
            f"(every protocol file sets {', '.join(REQUIRED)})"
        )
    return protocol


def _check_methods(path: Path, where: str, tables: dict[str, dict[str, Any]]) -> None:
    """Every ``[methods.<id>]`` table names a registered recipe and only its hyper-parameters (a misspelt id or
    key would be ignored otherwise)."""
    from methods.registry import method_entries  # lazy: methods loads torch

    classes = {e.cls.id: e.cls for e in method_entries()}
    for recipe, values in tables.items():
        cls = classes.get(recipe)
        if cls is None:
            close = difflib.get_close_matches(recipe, list(classes), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ProtocolError(
                f"{path}: {where}[methods.{recipe}]: unknown recipe id; {hint}known: {', '.join(classes)}"
            )
        if not isinstance(values, dict):
            raise ProtocolError(f"{path}: {where}methods.{recipe}: must be a table of hyper-parameters")
        known = [f.name for f in dataclasses.fields(cls) if f.name != "rebalance"]
        for key in values:
            if key not in known:
                raise ProtocolError(
                    f"{path}: {where}[methods.{recipe}] unknown hyper-parameter {key!r}; valid: {', '.join(known)}"
                )
        try:
            cls(**values)
        except (TypeError, ValueError) as e:
            raise ProtocolError(f"{path}: {where}[methods.{recipe}] {e}") from None


def _check_dataset_known(path: Path, where: str, dataset: str) -> None:
    """A ``[datasets.X]`` table for a dataset that is not registered would be ignored: refuse it, naming the
    known datasets (a misspelt name is the usual cause)."""
    try:
        ds.builder_class(dataset)
    except ds.DatasetError:
        known = ", ".join(ds.dataset_names())
        close = difflib.get_close_matches(dataset, [n.split(":")[0] for n in ds.dataset_names()], n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ProtocolError(f"{path}: {where}: unknown dataset {dataset!r}; {hint}known datasets: {known}") from None


def _describe(error: ValidationError) -> str:
    """The first problem as ``key = value: must be ...`` (one line)."""
    e = error.errors(include_url=False)[0]
    key = ".".join(str(part) for part in e["loc"])
    if e["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        known = [f.name for f in dataclasses.fields(Protocol)]
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"valid: {', '.join(known)}"
        return f"unknown key {key!r}; {hint}"
    ctx = e.get("ctx") or {}
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if e["type"] in bounds:
        rule = f"must be {bounds[e['type']]} {next(iter(ctx.values()))}"
    else:
        rule = e["msg"].replace("Value error, ", "").replace("Input should be", "must be")
    if not key:  # a check across fields: its message names the keys
        return rule
    return f"{key} = {_toml(e['input'])}: {rule}"


def _toml(value: Any) -> str:
    """A value as TOML writes it (strings quoted, true/false), for error messages."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
