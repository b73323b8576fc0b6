"""Weight balancing, WB (Alshammari et al., "Long-Tailed Recognition via Weight Balancing", CVPR 2022)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..base import Classifier, Method
from ..registry import register_method


@register_method(variants=("MaxNorm",))
@dataclass(frozen=True, kw_only=True)
class WB(Method):
    """Weight balancing (Alshammari et al., CVPR 2022; https://github.com/ShadeAlsha/LTR-weight-balancing).

    Stage 1: plain cross-entropy with instance sampling and a tuned, larger weight decay applied to
    every parameter (``weight_decay`` = 5e-3, the official ``demo1_first-stage-training`` value, ten
    times the protocols' 5e-4); it replaces the protocol's stage-1 weight decay through this method's
    optimizer group, and being a hyper-parameter it is part of :meth:`stage1_key`, so WB never shares
    CE's checkpoint. Stage 2 (the one registered row, ``WB→MaxNorm``): the stage-1 classifier is
    fine-tuned on frozen features with the class-balanced loss, weight decay and the MaxNorm
    constraint (:class:`methods.stage2.MaxNorm`, the official ``demo2_second-stage-training``).
    """

    name = "WB"
    id = "wb"
    description = "Cross-entropy with a tuned weight decay (5e-3); stage 2 re-trains the head with MaxNorm."
    reference = "Alshammari et al., CVPR 2022, https://github.com/ShadeAlsha/LTR-weight-balancing"
    url = "https://arxiv.org/abs/2203.14197"

    #: Stage-1 weight decay on every parameter (the official first stage's 5e-3).
    weight_decay: float = 5e-3

    def param_groups(self, model: Classifier) -> list[dict[str, Any]]:
        return [{"params": [p for p in model.parameters() if p.requires_grad], "weight_decay": self.weight_decay}]
