"""τ-normalisation (Kang et al., "Decoupling Representation and Classifier for Long-Tailed
Recognition", ICLR 2020; facebookresearch/classifier-balancing, ``tau_norm.py``).

No training: each row of the stage-1 linear classifier is divided by its L2 norm to the power τ,
``w̃_c = w_c / ‖w_c‖^τ``, the bias is dropped (the official ``dotproduct_similarity``), and τ is
chosen on the validation split from 0, 0.1, …, 2 (the official sweep).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .kind import TAU_GRID, Stage2Kind, frozen, linear_head


def tau_normalised_weight(weight: Tensor, tau: float) -> Tensor:
    """``weight`` (C, d) with row ``c`` divided by ``‖w_c‖₂^τ`` (the official ``pnorm(weights, p)``)."""
    norms: Tensor = torch.linalg.vector_norm(weight, ord=2, dim=1, keepdim=True)
    return weight / norms.pow(tau)


class TauNormalisedHead(nn.Module):
    """Logits ``x @ w̃ᵀ`` with the τ-normalised weights (a frozen buffer) and no bias; ``tau`` says which τ."""

    weight: Tensor  # a buffer (moves with the module, saved in its state dict)

    def __init__(self, weight: Tensor, tau: float) -> None:
        super().__init__()
        self.tau = float(tau)
        self.register_buffer("weight", tau_normalised_weight(weight.detach(), tau))

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight)

    def extra_repr(self) -> str:
        return f"classes={self.weight.shape[0]}, tau={self.tau:g}"


@dataclass(frozen=True)
class TauNorm(Stage2Kind):
    """τ-norm: the stage-1 linear head's rows divided by ``‖w_c‖^τ`` (bias dropped), τ chosen on validation MCR."""

    kind = "taunorm"
    suffix = "τ-norm"
    id_suffix = "taunorm"
    description = "τ-normalised stage-1 classifier (w_c / ‖w_c‖^τ, no bias), τ ∈ {0, 0.1, …, 2} chosen on validation."
    reference = "Kang et al., ICLR 2020, https://github.com/facebookresearch/classifier-balancing"
    url = "https://arxiv.org/abs/1910.09217"
    trains = False

    tau_grid: tuple[float, ...] = TAU_GRID

    def head(self, stage1_head: nn.Module, feat_dim: int, num_classes: int) -> nn.Module:
        return frozen(linear_head(stage1_head, self.suffix))

    def searched_head(self, head: nn.Module, tau: float, class_counts: Tensor) -> nn.Module:
        return TauNormalisedHead(linear_head(head, self.suffix).weight, tau)
