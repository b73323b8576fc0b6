"""The stage-2 interface: what a two-stage method does with the frozen stage-1 model.

A stage-2 kind is a frozen dataclass whose fields are its hyper-parameters and whose class attributes declare its
capabilities; the engine (:func:`benchmark.training.stage2.train_stage2`) reads them and never asks which kind it
has: :meth:`Stage2Kind.head` (the head stage 2 starts from), ``trains`` (gradient steps with ``sampling``,
:meth:`criterion`, ``weight_decay`` and an after-epoch :meth:`projection`), ``tau_grid`` (a post-hoc τ chosen on
the validation split, applied by :meth:`searched_head`) and ``official`` (its authors' schedule, used where the
protocol says ``stage2_official``). Nothing here imports ``benchmark``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch.nn.functional as F
from torch import Tensor, nn

#: ``criterion(logits, labels) -> loss`` of one stage-2 step.
Criterion = Callable[[Tensor, Tensor], Tensor]
#: Called with the head after each stage-2 epoch (a projection such as MaxNorm's).
Projection = Callable[[nn.Module], None]

#: The τ grid of the post-hoc searches: 0, 0.1, …, 2.0 (the official τ-norm sweep,
#: ``np.linspace(0, 2, 21)`` in facebookresearch/classifier-balancing ``tau_norm.py``).
TAU_GRID: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(21))


@dataclass(frozen=True)
class Stage2Schedule:
    """A stage-2 kind's own training settings, as its official code runs them; a field left None keeps the
    protocol's (``stage2_epochs``, ``stage2_lr``, ``stage2_min_lr``, ``batch_size``, the kind's ``sampling`` and
    ``weight_decay``). Read by the engine only when the protocol sets ``stage2_official``."""

    epochs: int | None = None
    lr: float | None = None
    #: Where the cosine schedule ends (per step, as every schedule of the engine).
    min_lr: float | None = None
    weight_decay: float | None = None
    batch_size: int | None = None
    #: "instance", "class_balanced" or "class_aware" (``samples_per_class`` consecutive images per class visit).
    sampling: str | None = None
    samples_per_class: int = 4
    #: The frozen extractor's batch norm in train mode while the head trains (batch statistics, running
    #: statistics updated), as the official loops call ``model.train()``; False: eval mode.
    bn_train: bool = False
    #: Keep the epoch with the best validation MCR (head and batch-norm statistics), not the last one.
    best_epoch_on_val: bool = False
    #: Repository and files the values were read from.
    source: str = ""


@dataclass(frozen=True)
class Stage2Kind:
    """Base class of the stage-2 kinds (cRW, cRS, τ-norm, LWS, PLA, MaxNorm)."""

    #: The ``Rebalance.kind`` value (``"reweight"``); unique.
    kind: ClassVar[str] = ""
    #: Display suffix of the two-stage row (``CE→cRW``); unique, case-insensitively.
    suffix: ClassVar[str] = ""
    #: ASCII id suffix (``ce-crw``): lowercase letters and digits.
    id_suffix: ClassVar[str] = ""
    description: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    #: Link to the paper that defines this stage 2 (shown on the two-stage row's page; http(s) only).
    url: ClassVar[str] = ""
    #: Whether stage 2 takes gradient steps (over ``protocol.stage2_epochs``); False: no training at all.
    trains: ClassVar[bool] = True
    #: Stage-2 sampler when it trains: "instance" or "class_balanced".
    sampling: ClassVar[str] = "instance"
    #: Stage-2 weight decay; None: the protocol's ``stage2_weight_decay``.
    weight_decay: ClassVar[float | None] = None
    #: The official stage-2 schedule (None: the kind has no official one beyond the protocol's settings).
    official: ClassVar[Stage2Schedule | None] = None

    #: Post-hoc τ values tried on the validation split (empty: no search).
    tau_grid: tuple[float, ...] = ()

    def settings(self) -> dict[str, Any]:
        """What this stage 2 runs with, as JSON (recorded in each two-stage result): the kind, its fields, its
        sampler, whether it trains, its weight decay (None: the protocol's) and, for a kind with one, its official
        schedule (used where the protocol sets ``stage2_official``)."""
        fields = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}
        out = {
            "kind": self.kind,
            **fields,
            "sampling": self.sampling,
            "trains": self.trains,
            "weight_decay": self.weight_decay,
        }
        if self.official is not None:  # only these kinds: the others keep the settings their results recorded
            out["official"] = dataclasses.asdict(self.official)
        return out

    @property
    def searches(self) -> bool:
        """Whether a τ is chosen on the validation split after training."""
        return bool(self.tau_grid)

    def head(self, stage1_head: nn.Module, feat_dim: int, num_classes: int) -> nn.Module:
        """The head stage 2 starts from; its parameters with ``requires_grad`` are the ones trained.

        Called right after ``torch.manual_seed(seed)``, so a freshly initialised head is reproducible.
        Default: a new ``nn.Linear(feat_dim, num_classes)`` (classifier re-training, Kang et al.).
        """
        return nn.Linear(feat_dim, num_classes)

    def criterion(self, class_counts: Tensor) -> Criterion:
        """The stage-2 loss, built once from the training class counts (on the training device)."""
        return F.cross_entropy

    def projection(self, head: nn.Module) -> Projection | None:
        """A projection applied to the head after each stage-2 epoch, set up from the head before training."""
        return None

    def searched_head(self, head: nn.Module, tau: float, class_counts: Tensor) -> nn.Module:
        """The head used for prediction with post-hoc parameter ``tau`` (only for kinds with a ``tau_grid``)."""
        raise NotImplementedError(f"{type(self).__name__} has no post-hoc τ search")


def frozen(module: nn.Module) -> nn.Module:
    """``module`` with every parameter's ``requires_grad`` off (returned for chaining)."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def linear_head(head: nn.Module, kind: str) -> nn.Linear:
    """``head`` as an ``nn.Linear``; a TypeError naming the stage-2 kind when the stage-1 head is another module."""
    if not isinstance(head, nn.Linear):
        raise TypeError(
            f"stage 2 {kind!r} needs a linear stage-1 head (one weight row per class); "
            f"this method's head is {type(head).__name__}"
        )
    return head
