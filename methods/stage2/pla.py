"""Post-hoc logit adjustment, PLA (Menon et al., "Long-tail learning via logit adjustment", ICLR 2021;
google-research/google-research ``logit_adjustment/main.py``, ``mode=posthoc``).

No training: the stage-1 logits minus ``log(π^τ + 1e-12)`` with ``π`` the training class prior
``n_c / N`` (the official ``logits - tf.math.log(base_probs**tau + 1e-12)``); τ chosen on the
validation split from 0, 0.1, …, 2 (the official code takes one ``--tau``, default 1, which the grid contains).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .kind import TAU_GRID, Stage2Kind, frozen

#: The official code's guard inside the log.
LOG_EPS = 1e-12


def logit_adjustment(class_counts: Tensor, tau: float) -> Tensor:
    """``-log(π^τ + 1e-12)`` per class, ``π = n_c / Σ n``: what post-hoc adjustment adds to the logits."""
    prior = class_counts / class_counts.sum()
    return -torch.log(prior.pow(tau) + LOG_EPS)


class LogitAdjustedHead(nn.Module):
    """``base(x) + adjustment``: a frozen head with a fixed per-class offset; ``tau`` says which τ."""

    adjustment: Tensor  # a buffer (moves with the module, saved in its state dict)

    def __init__(self, base: nn.Module, adjustment: Tensor, tau: float) -> None:
        super().__init__()
        self.base = frozen(base)
        self.tau = float(tau)
        self.register_buffer("adjustment", adjustment.detach().clone())

    def forward(self, x: Tensor) -> Tensor:
        logits: Tensor = self.base(x)
        return logits + self.adjustment


@dataclass(frozen=True)
class PostHocLogitAdjustment(Stage2Kind):
    """PLA: stage-1 logits minus ``τ · log π`` (training prior), τ chosen on validation MCR; no training."""

    kind = "pla"
    suffix = "PLA"
    id_suffix = "pla"
    description = (
        "Post-hoc logit adjustment: logits − log(π^τ), π the training prior, τ ∈ {0, 0.1, …, 2} chosen on validation."
    )
    reference = (
        "Menon et al., ICLR 2021, https://github.com/google-research/google-research/tree/master/logit_adjustment"
    )
    url = "https://arxiv.org/abs/2007.07314"
    trains = False

    tau_grid: tuple[float, ...] = TAU_GRID

    def head(self, stage1_head: nn.Module, feat_dim: int, num_classes: int) -> nn.Module:
        return frozen(stage1_head)

    def searched_head(self, head: nn.Module, tau: float, class_counts: Tensor) -> nn.Module:
        return LogitAdjustedHead(head, logit_adjustment(class_counts, tau), tau)
