"""Cross-entropy and its classic re-balancing: CE, CE-DRW, RS, RW (registered in the paper's Table-2 order)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from ..base import Method, StepInfo
from ..registry import register_method
from ..weights import drw_start_epoch, drw_weights, inverse_frequency_weights


@register_method(variants=("", "cRW", "cRS", "τ-norm", "LWS", "PLA"))
@dataclass(frozen=True, kw_only=True)
class CE(Method):
    """Plain cross-entropy with instance sampling: the baseline every method is compared against.

    The paper's CE row (Zeng et al., Table 2); CE→cRW and CE→cRS re-train its head (Kang et al.,
    "Decoupling Representation and Classifier for Long-Tailed Recognition", ICLR 2020). docs/methods.md#ce
    leaves nothing open. Beyond the paper, the decoupling baselines on the same stage-1 checkpoint:
    CE→τ-norm and CE→LWS (Kang et al.) and CE→PLA (post-hoc logit adjustment, Menon et al., ICLR 2021).
    """

    name = "CE"
    id = "ce"
    description = "Cross-entropy, instance sampling."
    reference = "Zeng et al. (Table 2); stage 2: Kang et al., ICLR 2020; PLA: Menon et al., ICLR 2021"
    url = "https://arxiv.org/abs/2110.14795"


@dataclass(frozen=True, kw_only=True)
class DeferredReweighting(Method):
    """Mixin of the DRW methods (CE-DRW, LDAM-DRW): no class weights until ``start_fraction`` of
    the stage-1 epochs, class-balanced weights (β) after (Cao et al., NeurIPS 2019)."""

    start_fraction: float = 0.8
    beta: float = 0.9999

    def class_weights(self, info: StepInfo) -> Tensor | None:
        active = info.epoch >= drw_start_epoch(info.epochs, self.start_fraction)
        return info.memo(
            ("drw", self.start_fraction, self.beta, active),
            lambda: _on_device(
                drw_weights(info.epoch, info.epochs, info.class_counts, self.start_fraction, self.beta), info
            ),
        )


@register_method
@dataclass(frozen=True, kw_only=True)
class CEDRW(DeferredReweighting):
    """Deferred re-weighting (Cao et al., NeurIPS 2019): plain CE, then class-balanced weights from 80 % of the epochs.

    The switch is at the 0-based epoch ``floor(0.8 · E)`` (80 of 100; the reference's 160 of 200);
    weights ``(1 − β) / (1 − β^{n_c})`` with β = 0.9999, scaled to sum to C, as the reference.
    """

    name = "CE-DRW"
    id = "ce-drw"
    description = "Cross-entropy; class-balanced re-weighting (β = 0.9999) from 80 % of stage-1 epochs."
    reference = "Cao et al., NeurIPS 2019 (LDAM-DRW reference implementation)"
    url = "https://arxiv.org/abs/1906.07413"


@register_method
@dataclass(frozen=True, kw_only=True)
class RS(Method):
    """Re-sampling: cross-entropy on class-balanced batches (a class uniformly, then an image in it).

    The paper's RS row (Zeng et al., Table 2; class-balanced sampling as in Kang et al., ICLR 2020):
    ``N`` draws per epoch with replacement. Nothing is left open (docs/methods.md#rs).
    """

    name = "RS"
    id = "rs"
    description = "Cross-entropy with class-balanced sampling."
    reference = "Zeng et al. (Table 2); Kang et al., ICLR 2020"
    url = "https://arxiv.org/abs/2110.14795"
    sampling = "class_balanced"


@register_method
@dataclass(frozen=True, kw_only=True)
class RW(Method):
    """Re-weighting: cross-entropy weighted by inverse class frequency (weights sum to C).

    The paper's RW row (Zeng et al., Table 2): ``F.cross_entropy(logits, y, weight=w)``, the weighted
    mean. Nothing is left open (docs/methods.md#rw).
    """

    name = "RW"
    id = "rw"
    description = "Inverse-frequency weighted cross-entropy."
    reference = "Zeng et al. (Table 2)"
    url = "https://arxiv.org/abs/2110.14795"

    def class_weights(self, info: StepInfo) -> Tensor | None:
        return info.memo("inverse_frequency", lambda: _on_device(inverse_frequency_weights(info.class_counts), info))


def _on_device(weights: Tensor | None, info: StepInfo) -> Tensor | None:
    return None if weights is None else weights.to(info.class_counts.device)
