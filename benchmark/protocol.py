"""Protocols: every training setting of a run, loaded from a TOML file in ``benchmark/protocols/``."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PROTOCOL_DIR = Path(__file__).parent / "protocols"
DEFAULT_PROTOCOL = "quick"


class ProtocolError(Exception):
    """A protocol file that cannot be used; the message names the file and the problem."""


class UnknownProtocolError(ProtocolError, KeyError):
    """A protocol name with no TOML file; the message lists the valid names."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Protocol:
    """Resolution, augmentation, schedule and stage-2 settings (one TOML file).

    ``datasets`` holds per-dataset overrides (``[datasets.skin7] batch_size = 32``);
    :meth:`for_dataset` applies them.
    """

    name: str
    description: str = ""
    backbone: str = "resnet50"
    pretrained: bool = False
    # images: prepared at cache_size, trained at image_size (random crop), tested on the centre crop
    cache_size: int = 300
    image_size: int = 224
    rotation: float = 30.0
    hflip: bool = True
    # stage 1
    epochs: int = 100
    warmup_epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    min_lr: float = 1e-6
    momentum: float = 0.9
    weight_decay: float = 5e-4
    max_steps_per_epoch: int = 0  # 0 = the whole epoch
    # stage 2 (cRW / cRS): frozen extractor, new linear head
    stage2_epochs: int = 10
    stage2_lr: float = 0.1
    stage2_min_lr: float = 1e-6
    stage2_weight_decay: float = 0.0
    eval_batch_size: int = 256
    # "float64" makes CPU results independent of the thread count and the CPU's SIMD kernels
    # (summation order moves float32 training enough to flip predictions); about 2x slower
    precision: str = "float32"
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def for_dataset(self, dataset: str) -> "Protocol":
        """This protocol with the overrides of ``dataset`` applied (and no override table left)."""
        overrides = self.datasets.get(dataset) or self.datasets.get(dataset.split(":", 1)[0]) or {}
        return dataclasses.replace(self, datasets={}, **overrides)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def protocol_names() -> list[str]:
    """Names of the shipped protocols (TOML files)."""
    return sorted(p.stem for p in PROTOCOL_DIR.glob("*.toml"))


def load_protocol(name_or_path: str) -> Protocol:
    """Load a shipped protocol by name, or any TOML file by path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = PROTOCOL_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise UnknownProtocolError(f"unknown protocol {name_or_path!r}; valid: {', '.join(protocol_names())}")
    with open(path, "rb") as f:
        data = tomllib.load(f)
    known = {f.name for f in dataclasses.fields(Protocol)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ProtocolError(f"{path}: unknown protocol keys {unknown}")
    for dataset, overrides in data.get("datasets", {}).items():
        bad = sorted(set(overrides) - known)
        if bad:
            raise ProtocolError(f"{path}: unknown keys {bad} in [datasets.{dataset}]")
    data.setdefault("name", path.stem)
    protocol = Protocol(**data)
    # Results are filed under the protocol's name: a custom file must not pose as a shipped protocol.
    if path.resolve().parent != PROTOCOL_DIR.resolve() and protocol.name in protocol_names():
        if protocol != load_protocol(protocol.name):
            raise ProtocolError(f"{path}: name {protocol.name!r} is a shipped protocol's but the settings differ; "
                                "give your protocol its own name")
    return protocol
