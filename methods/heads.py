"""Classifier and projection heads."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["BCLMLP", "NormedLinear", "ProjectionHead"]


class NormedLinear(nn.Module):
    """LDAM's cosine classifier: ``scale · normalize(x) @ normalize(W, dim=0)``, no bias.

    As in the LDAM-DRW reference, ``weight`` has shape ``(in_features,
    out_features)`` (one column per class; note: transposed w.r.t. ``nn.Linear``)
    and is initialised with ``uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5)``.
    With ``scale = 1`` (LDAM, whose reference scales in the loss) the outputs are cosines, in ``[-1, 1]`` up
    to float rounding (not clamped, like the reference); BCL's reference head outputs ``30 · cos``
    (``NormedLinear.s = 30`` in its ``models/resnext.py``). ``scale`` is a constant, not a parameter or buffer.
    """

    def __init__(self, in_features: int, out_features: int, scale: float = 1.0) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.scale = float(scale)
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reference initialisation (columns of unit-ish norm, direction uniform)."""
        with torch.no_grad():
            self.weight.uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5)

    def forward(self, x: Tensor) -> Tensor:
        cos = F.normalize(x, dim=1) @ F.normalize(self.weight, dim=0)
        return cos if self.scale == 1.0 else self.scale * cos

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, scale={self.scale:g}"


class ProjectionHead(nn.Module):
    """SupCon projection MLP ``Linear(in, hidden) -> ReLU -> Linear(hidden, out)``.

    The paper uses ``feat_dim -> 512 -> ReLU -> 128``; the outputs are
    L2-normalised inside :func:`methods.losses.supcon_loss`, not here. ``hidden_bias=False`` drops the first
    layer's bias (the authors' ``pred_head``).
    """

    def __init__(self, in_features: int, hidden: int = 512, out_features: int = 128, hidden_bias: bool = True) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden, bias=hidden_bias),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out_features),
        )

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.net(x)
        return out


class BCLMLP(nn.Module):
    """``Linear(in, hidden) -> BatchNorm1d -> ReLU -> Linear(hidden, out)``, the reference's ``head`` and ``head_fc``.

    In ``BCLModel`` (``models/resnext.py`` of github.com/FlamieZhu/Balanced-Contrastive-Learning) both
    MLPs are ``dim_in -> dim_in -> feat_dim`` with batch normalisation after the first layer; the
    outputs are L2-normalised by the loss (:func:`methods.losses.balanced_contrastive_loss`), not here.
    """

    def __init__(self, in_features: int, hidden: int, out_features: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out_features),
        )

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.net(x)
        return out
