"""Learnable weight scaling, LWS (Kang et al., ICLR 2020; facebookresearch/classifier-balancing,
``models/TauNormClassifier.py`` with ``config/*/cls_lws.yaml``).

The stage-1 classifier is frozen and a per-class scale ``f_c`` (initialised to 1) multiplies its
logits, ``f ⊙ (W x + b)``; only ``f`` is trained, with cross-entropy. Under a protocol with
``stage2_official`` (``paper``) it trains as the official ImageNet-LT ``cls_lws.yaml`` with
``run_networks.py``: 5 epochs, lr 0.2 cosine-annealed to 0, momentum 0.9, weight decay 5e-4, batch 512, the
class-aware sampler with 4 images per class visit (``ClassAwareSampler``, ``num_samples_cls: 4``), the
networks in train mode (the frozen extractor's batch norm updates its statistics), and the epoch with the best
validation score kept. Otherwise (``quick``, ``smoke``) it takes the protocol's stage-2 schedule with
class-balanced sampling.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .kind import Stage2Kind, Stage2Schedule, frozen


class ScaledHead(nn.Module):
    """``base(x) * scales``: a frozen head times learnable per-class scales (the official ``x *= self.scales``)."""

    def __init__(self, base: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.base = frozen(base)
        self.scales = nn.Parameter(torch.ones(num_classes))

    def forward(self, x: Tensor) -> Tensor:
        logits: Tensor = self.base(x)
        return logits * self.scales


@dataclass(frozen=True)
class LWS(Stage2Kind):
    """LWS: per-class scales on the frozen stage-1 head's logits, trained with class-balanced sampling."""

    kind = "lws"
    suffix = "LWS"
    id_suffix = "lws"
    description = "Learnable per-class scales on the frozen stage-1 classifier, class-balanced sampling."
    reference = "Kang et al., ICLR 2020, https://github.com/facebookresearch/classifier-balancing"
    url = "https://arxiv.org/abs/1910.09217"
    sampling = "class_balanced"
    official = Stage2Schedule(
        epochs=5,
        lr=0.2,
        min_lr=0.0,
        weight_decay=5e-4,
        batch_size=512,
        sampling="class_aware",
        samples_per_class=4,
        bn_train=True,
        best_epoch_on_val=True,
        source="facebookresearch/classifier-balancing config/ImageNet_LT/cls_lws.yaml, run_networks.py, "
        "data/ClassAwareSampler.py",
    )

    def head(self, stage1_head: nn.Module, feat_dim: int, num_classes: int) -> nn.Module:
        return ScaledHead(stage1_head, num_classes)
