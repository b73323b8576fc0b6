"""The stage-2 interface: what a two-stage method does with the frozen stage-1 model.

A stage-2 kind is a frozen dataclass whose fields are its hyper-parameters (with defaults) and
whose class attributes declare its capabilities; the engine (``benchmark.engine.train_stage2``)
reads those attributes and never asks which kind it has:

* :meth:`Stage2Kind.head` turns the stage-1 head into the head stage 2 starts from (a new linear
  layer, a wrapped frozen head with learnable scales, the stage-1 head itself);
* ``trains``: gradient steps on that head's trainable parameters over the protocol's stage-2
  schedule, with ``sampling``, :meth:`criterion`, ``weight_decay`` and, after each epoch,
  :meth:`projection`;
* ``tau_grid``: a post-hoc ``τ`` chosen on the validation split (mean class recall), the head
  replaced by :meth:`searched_head` for that ``τ``.

The extractor is always frozen and in eval mode; nothing here imports ``benchmark``.
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

    #: Post-hoc τ values tried on the validation split (empty: no search).
    tau_grid: tuple[float, ...] = ()

    def settings(self) -> dict[str, Any]:
        """What this stage 2 runs with, as JSON (recorded in each two-stage result): the kind, its fields, its
        sampler, whether it trains and its weight decay (None: the protocol's)."""
        fields = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}
        return {
            "kind": self.kind,
            **fields,
            "sampling": self.sampling,
            "trains": self.trains,
            "weight_decay": self.weight_decay,
        }

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
