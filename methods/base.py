"""The method interface: a frozen dataclass of hyper-parameters with a few hooks.

A method says how a batch becomes a loss and which model and sampler it needs; the
engine owns everything else (optimizer, schedule, loop, precision, evaluation,
checkpoints). A two-stage method is the same object with ``rebalance`` set: stage 1 is
the method's recipe, stage 2 (frozen extractor, new linear head) is the engine's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import user_files
from .stage2 import STAGE2_KINDS, Stage2Kind, kind_for_suffix, stage2_kind

_T = TypeVar("_T")

#: Field metadata of a hyper-parameter added after results were recorded (:func:`later_field`).
ADDED_LATER = "medlt_added_later"


def later_field(default: Any) -> Any:
    """A hyper-parameter added after results of its method were recorded: :meth:`Method.hyperparameters` leaves it
    out while it is at ``default``, so those results and stage-1 checkpoints keep their identity (the methods'
    counterpart of ``benchmark.protocol.LATER_FIELDS``)."""
    return field(default=default, metadata={ADDED_LATER: True})


@dataclass(frozen=True)
class Rebalance:
    """Stage 2 of a two-stage method, named by its kind: ``reweight`` (cRW), ``resample`` (cRS),
    ``taunorm`` (τ-norm), ``lws`` (LWS), ``pla`` (PLA) or ``maxnorm`` (MaxNorm).

    :attr:`stage2` is the kind itself (:mod:`methods.stage2`): its hyper-parameters and the
    capabilities the engine reads.
    """

    kind: str

    def __post_init__(self) -> None:
        stage2_kind(self.kind)  # an unknown kind fails here, naming the valid ones

    @property
    def stage2(self) -> Stage2Kind:
        """The stage-2 kind with its default hyper-parameters."""
        return stage2_kind(self.kind)

    @property
    def suffix(self) -> str:
        """Display suffix of the row: ``CE→{suffix}``."""
        return STAGE2_KINDS[self.kind].suffix

    @property
    def id_suffix(self) -> str:
        """ASCII suffix of the row's id: ``ce-{id_suffix}``."""
        return STAGE2_KINDS[self.kind].id_suffix

    @classmethod
    def from_suffix(cls, suffix: str) -> Rebalance:
        """The stage 2 named by a display or id suffix (``cRW``, ``crw``, ``τ-norm``, ``taunorm``; any case)."""
        return cls(kind_for_suffix(suffix))


@dataclass
class Batch:
    """One training batch on the training device, already augmented and normalised.

    ``views`` holds the augmented views of the same images (``views[0]`` is ``images``);
    ``paired_*`` is a second batch from the method's ``paired_sampling`` stream (BBN, Balanced-MixUp).
    """

    images: Tensor
    labels: Tensor
    views: tuple[Tensor, ...] = ()
    paired_images: Tensor | None = None
    paired_labels: Tensor | None = None


@dataclass
class StepInfo:
    """Where training is, for schedules inside a loss (DRW, BBN's α)."""

    epoch: int  # 0-based
    epochs: int
    step: int  # 0-based global step
    steps_per_epoch: int
    class_counts: Tensor  # training counts per class, on the training device
    generator: torch.Generator = field(default_factory=torch.Generator)  # CPU generator for batch-level randomness
    #: Shared by every step of one training: per-class constants computed once (no host sync per step on GPU).
    cache: dict[Any, Any] = field(default_factory=dict)

    def memo(self, key: Any, compute: Callable[[], _T]) -> _T:
        """``compute()`` once per training for ``key`` (class weights, margins: functions of the counts)."""
        if key not in self.cache:
            self.cache[key] = compute()
        value: _T = self.cache[key]
        return value


class Classifier(nn.Module):
    """Feature extractor + head. ``features(x)`` gives the pooled feature vector, ``forward`` the logits.

    ``extras`` holds method-owned modules trained in stage 1 only (projection head, centres).
    Stage 2 replaces ``head`` and freezes ``backbone``.
    """

    def __init__(self, backbone: nn.Module, feat_dim: int, head: nn.Module, extras: dict[str, nn.Module] | None = None):
        super().__init__()
        self.backbone = backbone
        self.feat_dim = feat_dim
        self.head = head
        self.extras = nn.ModuleDict(extras or {})

    def features(self, x: Tensor) -> Tensor:
        feats: Tensor = self.backbone(x)
        return feats

    def forward(self, x: Tensor) -> Tensor:
        logits: Tensor = self.head(self.features(x))
        return logits


@dataclass(frozen=True, kw_only=True)
class Method:
    """Base class of every method. Subclasses declare facts as class attributes and
    hyper-parameters as dataclass fields, and override :meth:`loss` or :meth:`training_step`.
    """

    #: Display name exactly as the paper writes it (one-stage part: ``CE+SC``).
    name: ClassVar[str] = ""
    #: ASCII id for the shell (``ce+sc``); two-stage ids add the stage 2's id suffix (``-crw``, ``-taunorm``).
    id: ClassVar[str] = ""
    description: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    #: Link to the method's paper (shown on its leaderboard page; http(s) only).
    url: ClassVar[str] = ""
    #: Augmented views per image (SupCon wants 2).
    views: ClassVar[int] = 1
    #: Stage-1 sampler: "instance", "class_balanced" or "reversed".
    sampling: ClassVar[str] = "instance"
    #: A second batch stream drawn with this sampler, or None.
    paired_sampling: ClassVar[str | None] = None
    rebalance: Rebalance | None = None

    # -- identity -------------------------------------------------------------------
    @property
    def source_sha256(self) -> str | None:
        """SHA-256 of the user's file the class was loaded from (``path/file.py:Class``); None for a method of an
        installed package. Part of the stage-1 key and of each result, so an edited file is a different method."""
        return user_files.source_sha256(type(self))

    @property
    def display_name(self) -> str:
        return self.name if self.rebalance is None else f"{self.name}→{self.rebalance.suffix}"

    @property
    def row_description(self) -> str:
        """One line on this row: the method's description (or its docstring's first line) and, for a two-stage
        row, what its stage 2 does (``CE→τ-norm`` is not plain cross-entropy)."""
        text = self.description or (type(self).__doc__ or "").strip().split("\n")[0]
        if self.rebalance is not None:
            text = f"{text} Stage 2 ({self.rebalance.suffix}): {self.rebalance.stage2.description}"
        return text

    @property
    def method_id(self) -> str:
        return self.id if self.rebalance is None else f"{self.id}-{self.rebalance.id_suffix}"

    @property
    def two_stage(self) -> bool:
        return self.rebalance is not None

    def hyperparameters(self) -> dict[str, Any]:
        """Stage-1 hyper-parameters, as given (JSON-serialisable); one declared with :func:`later_field` is left
        out at its default."""
        return {
            f.name: _jsonable(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name != "rebalance" and not (f.metadata.get(ADDED_LATER) and getattr(self, f.name) == f.default)
        }

    def stage1_key(self) -> dict[str, Any]:
        """What defines stage 1: methods with equal keys share one stage-1 checkpoint."""
        key: dict[str, Any] = {"recipe": self.id, "hyperparameters": self.hyperparameters()}
        if self.source_sha256 is not None:  # only user files: registered methods keep their checkpoint keys
            key["source_sha256"] = self.source_sha256
        return key

    # -- hooks ----------------------------------------------------------------------
    def build(self, backbone: nn.Module, feat_dim: int, num_classes: int, class_counts: Tensor) -> Classifier:
        """The stage-1 model; default: backbone + linear head."""
        return Classifier(backbone, feat_dim, nn.Linear(feat_dim, num_classes))

    def param_groups(self, model: Classifier) -> list[dict[str, Any]]:
        """Optimizer parameter groups; a group with ``"scheduled": False`` keeps its own fixed lr."""
        return [{"params": [p for p in model.parameters() if p.requires_grad]}]

    def class_weights(self, info: StepInfo) -> Tensor | None:
        """Per-class loss weights at this step (RW, DRW); None = unweighted."""
        return None

    def loss(self, logits: Tensor, labels: Tensor, info: StepInfo) -> Tensor:
        """Loss of logits against labels; default cross-entropy with :meth:`class_weights`."""
        return F.cross_entropy(logits, labels, weight=self.class_weights(info))

    def training_step(self, model: Classifier, batch: Batch, info: StepInfo) -> dict[str, Tensor]:
        """One stage-1 step: a dict with at least ``"loss"`` (other entries are logged)."""
        return {"loss": self.loss(model(batch.images), batch.labels, info)}


def full_precision(x: Tensor) -> Tensor:
    """``x`` in at least float32: bf16/fp16 autocast outputs are upcast, float32 and float64 kept as they are."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
