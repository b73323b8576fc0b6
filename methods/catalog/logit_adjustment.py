"""Logit-adjusted cross-entropy (Menon et al., ICLR 2021): cross-entropy on logits + τ · log(class prior)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from ..base import Method, StepInfo, full_precision
from ..losses import logit_adjusted_cross_entropy
from ..registry import register_method


@register_method(variants=("", "cRW"))
@dataclass(frozen=True, kw_only=True)
class LogitAdjustedCE(Method):
    """Logit-adjusted cross-entropy (Menon et al., "Long-tail learning via logit adjustment", ICLR 2021).

    Stage-1 loss ``CE(logits + τ · log π_c, y)`` with ``π_c = n_c / N`` the training class prior and
    τ = 1 (:func:`methods.losses.logit_adjusted_cross_entropy`, the authors' ``build_loss_fn`` in
    ``logit_adjustment/utils.py`` with ``mode=loss``); instance sampling, the default backbone + linear
    head; prediction is the plain argmax of the logits (the adjustment is applied in training only).

    With τ = 1 this loss equals Balanced Softmax (:class:`BalancedSoftmax`): ``τ · log π_c`` and
    ``log n_c`` differ by the constant ``log N``, which softmax ignores, so loss values and gradients
    coincide; the two rows train identical models up to floating-point rounding.

    Where the paper leaves a choice open, or where this row departs from the authors' code:

    * τ = 1, the paper's default for the loss (a field: another τ is another row with its own ``id``).
    * π comes from the training-split counts the engine passes in :class:`StepInfo` (the reference
      reads a ``*_base_probs.txt`` file of the training label distribution).
    * The reference adds ``1e-12`` inside the log (``log(π^τ + 1e-12)``) to guard ``π_c = 0``; it is
      left out, a relative change of ``1e-12 / π_c`` to the adjustment of any class with a training image.
    * Only the loss variant: the paper's post-hoc logit adjustment is a different (stage-2) procedure.
    * Under bf16 autocast the loss is computed on fp32 logits.
    * Named "LA-loss" (the paper's "logit adjusted loss", as opposed to its post-hoc logit adjustment):
      ``LA-CE`` / ``la-ce`` is the user-file example of ``docs/adding-a-method.md``
      (``docs/examples/my_method.py``), which a registered row of the same name or id would refuse to
      load, and display names carry no spaces (``list methods`` prints name and id as columns).
    """

    name = "LA-loss"
    id = "la-loss"
    description = "Logit-adjusted cross-entropy: τ · log(training class prior) added to the logits, τ = 1."
    reference = (
        "Menon et al., Long-tail learning via logit adjustment, ICLR 2021, "
        "https://github.com/google-research/google-research/tree/master/logit_adjustment"
    )
    url = "https://arxiv.org/abs/2007.07314"

    tau: float = 1.0

    def loss(self, logits: Tensor, labels: Tensor, info: StepInfo) -> Tensor:
        return logit_adjusted_cross_entropy(full_precision(logits), labels, info.class_counts, self.tau)
