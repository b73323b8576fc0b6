"""BCL's MLP (Zhu et al., CVPR 2022): the projection head of the features and of the class prototypes."""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["BCLMLP"]


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
