"""Stage-2 kinds: what a two-stage row (``CE→cRW``, ``CE→τ-norm``, …) does after the shared stage 1.

One class per kind, one file per concept; :data:`STAGE2_KINDS` (in listing order) is the only table
of them. ``Rebalance(kind)`` in :mod:`methods.base` names one; the registry turns its suffix into
the row's display name (``→suffix``) and id (``-id_suffix``).
"""

from __future__ import annotations

from .kind import TAU_GRID, Criterion, Projection, Stage2Kind, Stage2Schedule
from .lws import LWS, ScaledHead
from .maxnorm import (
    MaxNorm,
    MaxNormProjection,
    class_balanced_softmax_bce,
    maxnorm_project_,
    maxnorm_threshold,
)
from .pla import LogitAdjustedHead, PostHocLogitAdjustment, logit_adjustment
from .retrain import ClassifierResampling, ClassifierReweighting
from .taunorm import TauNorm, TauNormalisedHead, tau_normalised_weight

#: Every stage-2 kind by its ``kind`` value, in listing order.
STAGE2_KINDS: dict[str, type[Stage2Kind]] = {
    k.kind: k for k in (ClassifierReweighting, ClassifierResampling, TauNorm, LWS, PostHocLogitAdjustment, MaxNorm)
}


def stage2_kind(kind: str) -> Stage2Kind:
    """The stage-2 kind named ``kind`` (``"reweight"``, ``"taunorm"``, …) with its default hyper-parameters."""
    if kind not in STAGE2_KINDS:
        raise ValueError(f"unknown stage-2 kind {kind!r}; valid: {', '.join(STAGE2_KINDS)}")
    return STAGE2_KINDS[kind]()


def kind_for_suffix(suffix: str) -> str:
    """The ``kind`` whose display suffix or id suffix is ``suffix`` (case-insensitive; ``tau-norm`` for τ-norm)."""
    key = suffix.strip().lower().replace("tau", "τ")
    for k in STAGE2_KINDS.values():
        if key in (k.suffix.lower(), k.id_suffix.replace("tau", "τ"), k.suffix.lower().replace("-", "")):
            return k.kind
    raise ValueError(f"unknown stage-2 suffix {suffix!r}; valid: {', '.join(k.suffix for k in STAGE2_KINDS.values())}")


__all__ = [
    "LWS",
    "STAGE2_KINDS",
    "TAU_GRID",
    "ClassifierResampling",
    "ClassifierReweighting",
    "Criterion",
    "LogitAdjustedHead",
    "MaxNorm",
    "MaxNormProjection",
    "PostHocLogitAdjustment",
    "Projection",
    "ScaledHead",
    "Stage2Kind",
    "Stage2Schedule",
    "TauNorm",
    "TauNormalisedHead",
    "class_balanced_softmax_bce",
    "kind_for_suffix",
    "logit_adjustment",
    "maxnorm_project_",
    "maxnorm_threshold",
    "stage2_kind",
    "tau_normalised_weight",
]
