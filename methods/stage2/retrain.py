"""Classifier re-training on frozen features: cRW and cRS (Kang et al., ICLR 2020; Zeng et al.).

The stage-1 head is replaced by a freshly initialised ``nn.Linear`` trained with plain
cross-entropy over the protocol's stage-2 schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch.nn.functional as F
from torch import Tensor

from ..weights import inverse_frequency_weights
from .kind import Criterion, Stage2Kind


@dataclass(frozen=True)
class ClassifierReweighting(Stage2Kind):
    """cRW: a new linear head trained with inverse-frequency weighted cross-entropy (weights sum to C)."""

    kind = "reweight"
    suffix = "cRW"
    id_suffix = "crw"
    description = "New linear head, inverse-frequency weighted cross-entropy, instance sampling."
    reference = "Zeng et al.; Kang et al., ICLR 2020"
    url = "https://arxiv.org/abs/1910.09217"

    def criterion(self, class_counts: Tensor) -> Criterion:
        weight = inverse_frequency_weights(class_counts).to(class_counts.device)
        return partial(F.cross_entropy, weight=weight)


@dataclass(frozen=True)
class ClassifierResampling(Stage2Kind):
    """cRS: a new linear head trained with plain cross-entropy on class-balanced batches (cRT of Kang et al.)."""

    kind = "resample"
    suffix = "cRS"
    id_suffix = "crs"
    description = "New linear head, cross-entropy, class-balanced sampling."
    reference = "Kang et al., ICLR 2020 (cRT)"
    url = "https://arxiv.org/abs/1910.09217"
    sampling = "class_balanced"
