"""Logit-adjusted cross-entropy (Menon et al., ICLR 2021): a complete method in one file.

python -m benchmark run --method docs/examples/my_method.py:LogitAdjustedCE --protocol smoke --seeds 0
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor

from methods import Method, StepInfo


@dataclass(frozen=True, kw_only=True)
class LogitAdjustedCE(Method):
    """Cross-entropy on ``logits + τ · log(prior)`` in training; plain argmax of the logits at test time.

    Menon et al., "Long-tail learning via logit adjustment", ICLR 2021. The prior is n_c / N.
    """

    name = "LA-CE"  # display name, as tables show it
    id = "la-ce"  # ASCII id: command line, result paths
    description = "Logit-adjusted cross-entropy: τ · log(class prior) added to the logits in training."
    reference = "Menon et al., ICLR 2021"

    tau: float = 1.0  # a hyper-parameter: a dataclass field with its default

    def loss(self, logits: Tensor, labels: Tensor, info: StepInfo) -> Tensor:
        log_prior = (info.class_counts / info.class_counts.sum()).log().to(logits.dtype)
        return F.cross_entropy(logits + self.tau * log_prior, labels)
