"""The stage-2 kinds against their official formulas, and the suffix <-> kind table.

Each reference test re-implements, literally, the arithmetic of the authors' code (repository and file
in the test's docstring) and compares within 1e-5 relative.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from methods import Rebalance, create_method, method_entries
from methods.registry import METHOD_ID
from methods.stage2 import (
    STAGE2_KINDS,
    TAU_GRID,
    LogitAdjustedHead,
    MaxNorm,
    MaxNormProjection,
    ScaledHead,
    TauNormalisedHead,
    class_balanced_softmax_bce,
    logit_adjustment,
    maxnorm_threshold,
    stage2_kind,
    tau_normalised_weight,
)
from methods.weights import class_balanced_weights

RTOL = 1e-5
COUNTS = torch.tensor([40.0, 20.0, 8.0, 2.0], dtype=torch.float64)


def _linear(seed: int = 0, classes: int = 4, dim: int = 6) -> nn.Linear:
    torch.manual_seed(seed)
    fc = nn.Linear(dim, classes).double()
    with torch.no_grad():  # long-tailed norms: head classes' rows much larger than tail classes'
        fc.weight.mul_(torch.tensor([4.0, 2.0, 1.0, 0.5], dtype=torch.float64)[:classes, None])
    return fc


def _close(a: torch.Tensor, b: torch.Tensor) -> None:
    torch.testing.assert_close(a, b, rtol=RTOL, atol=0.0)


# -- the table of kinds ---------------------------------------------------------------------------


def test_every_kind_has_a_unique_suffix_and_a_valid_ascii_id_suffix() -> None:
    suffixes = [k.suffix.lower() for k in STAGE2_KINDS.values()]
    ids = [k.id_suffix for k in STAGE2_KINDS.values()]
    assert len(set(suffixes)) == len(suffixes) and len(set(ids)) == len(ids)
    for k in STAGE2_KINDS.values():
        assert k.id_suffix.isascii() and k.id_suffix.isalnum() and k.id_suffix == k.id_suffix.lower()
        assert METHOD_ID.fullmatch(f"ce-{k.id_suffix}") and k.description and k.reference
        assert k.sampling in ("instance", "class_balanced")
        for spelling in (k.suffix, k.id_suffix, k.suffix.upper()):
            assert Rebalance.from_suffix(spelling).kind == k.kind


def test_every_kind_has_a_registered_row_so_the_conformance_suite_runs_it() -> None:
    used = {e.rebalance.kind for e in method_entries() if e.rebalance is not None}
    assert used >= set(STAGE2_KINDS), sorted(set(STAGE2_KINDS) - used)


def test_unknown_suffix_and_kind_are_refused_naming_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="τ-norm"):
        Rebalance.from_suffix("crt")
    with pytest.raises(ValueError, match="valid"):
        Rebalance("tau")


def test_new_rows_are_registered_and_named_by_their_suffix() -> None:
    rows = {e.id: e.name for e in method_entries()}
    assert rows["ce-taunorm"] == "CE→τ-norm" and rows["ce-lws"] == "CE→LWS" and rows["ce-pla"] == "CE→PLA"
    assert rows["wb-maxnorm"] == "WB→MaxNorm" and "wb" not in rows  # WB is registered as its two-stage row only
    assert create_method("CE->τ-norm") == create_method("ce:taunorm") == create_method("ce-taunorm")
    # every CE row shares CE's stage-1 checkpoint; WB (another weight decay) does not
    ce_key = create_method("ce").stage1_key()
    assert all(create_method(i).stage1_key() == ce_key for i in ("ce-taunorm", "ce-lws", "ce-pla"))
    assert create_method("wb-maxnorm").stage1_key() != ce_key


def test_post_hoc_grid_is_the_official_sweep() -> None:
    """facebookresearch/classifier-balancing, ``tau_norm.py``: ``for p in np.linspace(0, 2, 21)``."""
    np.testing.assert_allclose(TAU_GRID, np.linspace(0, 2, 21), rtol=0, atol=1e-12)
    assert stage2_kind("taunorm").tau_grid == TAU_GRID == stage2_kind("pla").tau_grid
    assert not stage2_kind("taunorm").trains and not stage2_kind("pla").trains
    assert stage2_kind("lws").trains and not stage2_kind("lws").searches


# -- τ-norm ---------------------------------------------------------------------------------------


def _official_pnorm(weights: torch.Tensor, p: float) -> torch.Tensor:
    """facebookresearch/classifier-balancing, ``tau_norm.py``: ``pnorm`` (row by row, ``torch.pow(normB[i], p)``)."""
    normB = torch.norm(weights, 2, 1)
    ws = weights.clone()
    for i in range(weights.size(0)):
        ws[i] = ws[i] / torch.pow(normB[i], p)
    return ws


@pytest.mark.parametrize("tau", [0.0, 0.3, 1.0, 1.9, 2.0])
def test_tau_norm_matches_the_official_pnorm_and_drops_the_bias(tau: float) -> None:
    """facebookresearch/classifier-balancing ``tau_norm.py``: ``logits = dotproduct_similarity(feat, pnorm(W, p))``
    = ``feat @ pnorm(W, p).T`` (no bias)."""
    fc = _linear()
    x = torch.randn(5, 6, dtype=torch.float64)
    _close(tau_normalised_weight(fc.weight.detach(), tau), _official_pnorm(fc.weight.detach(), tau))
    head = stage2_kind("taunorm").searched_head(fc, tau, COUNTS)
    assert isinstance(head, TauNormalisedHead) and head.tau == tau
    _close(head(x), torch.mm(x, _official_pnorm(fc.weight.detach(), tau).t()))
    if tau == 1.0:  # τ = 1: every class vector has unit norm
        _close(head.weight.norm(dim=1), torch.ones(4, dtype=torch.float64))


def test_tau_norm_needs_a_linear_head() -> None:
    with pytest.raises(TypeError, match="linear stage-1 head"):
        stage2_kind("taunorm").head(nn.Sequential(nn.Linear(6, 4)), 6, 4)


# -- LWS ------------------------------------------------------------------------------------------


def test_lws_forward_matches_the_official_classifier_and_trains_only_the_scales() -> None:
    """facebookresearch/classifier-balancing ``models/TauNormClassifier.py``: ``x = self.fc(x); x *= self.scales``
    with ``scales = Parameter(torch.ones(num_classes))`` and ``fc`` frozen."""
    fc = _linear()
    head = stage2_kind("lws").head(fc, 6, 4)
    assert isinstance(head, ScaledHead)
    assert [n for n, p in head.named_parameters() if p.requires_grad] == ["scales"]
    torch.testing.assert_close(head.scales.detach(), torch.ones(4))  # initialised to 1: starts as the stage-1 head
    with torch.no_grad():
        head.scales.copy_(torch.tensor([0.5, 1.0, 1.5, 3.0]))
    x = torch.randn(5, 6, dtype=torch.float64)
    expected = fc(x)
    expected *= head.scales.detach().double()
    _close(head(x), expected)


# -- PLA ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 2.0])
def test_post_hoc_logit_adjustment_matches_the_official_formula(tau: float) -> None:
    """google-research/google-research ``logit_adjustment/main.py`` (``mode=posthoc``):
    ``adjusted_logits = logits - tf.math.log(base_probs**tau + 1e-12)``, ``base_probs`` the training prior."""
    fc = _linear()
    x = torch.randn(5, 6, dtype=torch.float64)
    base_probs = (COUNTS / COUNTS.sum()).numpy()
    official = fc(x).detach().numpy() - np.log(base_probs**tau + 1e-12)
    head = stage2_kind("pla").searched_head(fc, tau, COUNTS)
    assert isinstance(head, LogitAdjustedHead) and head.tau == tau
    np.testing.assert_allclose(head(x).detach().numpy(), official, rtol=RTOL, atol=0)
    np.testing.assert_allclose(logit_adjustment(COUNTS, tau).numpy(), -np.log(base_probs**tau + 1e-12), rtol=RTOL)


# -- MaxNorm (weight balancing) ---------------------------------------------------------------------


class _OfficialMaxNormViaPGD:
    """ShadeAlsha/LTR-weight-balancing ``utils/regularizers.py``: ``MaxNorm_via_PGD`` (LpNorm 2, tau 1), applied to
    ``[model.encoder.fc.weight, model.encoder.fc.bias]``; re-implemented line by line."""

    def __init__(self, thresh: float = 1.0, LpNorm: int = 2, tau: float = 1) -> None:
        self.thresh, self.LpNorm, self.tau, self.perLayerThresh = thresh, LpNorm, tau, []

    def setPerLayerThresh(self, model: nn.Module) -> None:
        self.perLayerThresh = []
        for curLayer in [model.encoder.fc.weight, model.encoder.fc.bias]:
            curparam = curLayer.data
            if len(curparam.shape) <= 1:
                self.perLayerThresh.append(float("inf"))
                continue
            curparam_vec = curparam.reshape((curparam.shape[0], -1))
            neuronNorm_curparam = torch.linalg.norm(curparam_vec, ord=self.LpNorm, dim=1).detach().unsqueeze(-1)
            self.perLayerThresh.append(
                neuronNorm_curparam.min() + self.thresh * (neuronNorm_curparam.max() - neuronNorm_curparam.min())
            )

    def PGD(self, model: nn.Module) -> None:
        if len(self.perLayerThresh) == 0:
            self.setPerLayerThresh(model)
        for i, curLayer in enumerate([model.encoder.fc.weight, model.encoder.fc.bias]):
            curparam = curLayer.data
            curparam_vec = curparam.reshape((curparam.shape[0], -1))
            neuronNorm_curparam = (
                (torch.linalg.norm(curparam_vec, ord=self.LpNorm, dim=1) ** self.tau).detach().unsqueeze(-1)
            )
            scalingVect = torch.ones_like(curparam)
            curLayerThresh = self.perLayerThresh[i]
            idx = (neuronNorm_curparam > curLayerThresh).squeeze()
            tmp = curLayerThresh / (neuronNorm_curparam[idx].squeeze()) ** (self.tau)
            for _ in range(len(scalingVect.shape) - 1):
                tmp = tmp.unsqueeze(-1)
            scalingVect[idx] = torch.mul(scalingVect[idx], tmp)
            curparam[idx] = scalingVect[idx] * curparam[idx]


def test_maxnorm_projection_matches_the_official_pgd() -> None:
    """ShadeAlsha/LTR-weight-balancing ``utils/regularizers.py`` ``MaxNorm_via_PGD(thresh=0.1)``:
    ``setPerLayerThresh`` on the stage-1 classifier, then ``PGD`` after training moved the weights."""
    fc = _linear()
    encoder = nn.Module()
    encoder.fc = _linear()
    model = nn.Module()
    model.encoder = encoder
    official = _OfficialMaxNormViaPGD(thresh=0.1)
    official.setPerLayerThresh(model)
    ours = stage2_kind("maxnorm").projection(fc)
    assert isinstance(ours, MaxNormProjection)
    assert math.isclose(ours.threshold, float(official.perLayerThresh[0]), rel_tol=RTOL)
    g = torch.Generator().manual_seed(1)
    delta = 0.05 * torch.randn(4, 6, generator=g, dtype=torch.float64)
    for m in (fc, model.encoder.fc):  # the same "training" moves both
        with torch.no_grad():
            m.weight.add_(delta)
            m.bias.add_(5.0)
    norms_before = fc.weight.detach().norm(dim=1)
    assert (norms_before > ours.threshold).any() and (norms_before < ours.threshold).any()  # both branches run
    ours(fc)
    official.PGD(model)
    _close(fc.weight.detach(), model.encoder.fc.weight.detach())
    _close(fc.bias.detach(), model.encoder.fc.bias.detach())  # the bias is never constrained
    assert (fc.weight.detach().norm(dim=1) <= ours.threshold * (1 + 1e-12)).all()


def test_maxnorm_threshold_is_relative_to_the_norm_range() -> None:
    weight = torch.tensor([[3.0, 4.0], [0.0, 1.0], [0.0, 2.0]])  # norms 5, 1, 2
    assert maxnorm_threshold(weight, 0.1) == pytest.approx(1 + 0.1 * 4)
    assert maxnorm_threshold(weight, 1.0) == pytest.approx(5.0)


def _official_cb_softmax_loss(
    labels: torch.Tensor, logits: torch.Tensor, samples_per_cls: list[float], no_of_classes: int, beta: float
) -> torch.Tensor:
    """ShadeAlsha/LTR-weight-balancing ``utils/class_balanced_loss.py``: ``CB_loss(..., loss_type="softmax")``."""
    effective_num = 1.0 - np.power(beta, samples_per_cls)
    weights = (1.0 - beta) / np.array(effective_num)
    weights = weights / np.sum(weights) * no_of_classes
    labels_one_hot = F.one_hot(labels, no_of_classes).double()
    weights = torch.tensor(weights).double().unsqueeze(0)
    weights = weights.repeat(labels_one_hot.shape[0], 1) * labels_one_hot
    weights = weights.sum(1).unsqueeze(1).repeat(1, no_of_classes)
    pred = logits.softmax(dim=1)
    return F.binary_cross_entropy(input=pred, target=labels_one_hot, weight=weights)


def test_maxnorm_loss_is_the_official_class_balanced_softmax_loss() -> None:
    """ShadeAlsha/LTR-weight-balancing ``demo2_second-stage-training.py``: ``CB_loss(labels, logits, img_num_per_cls,
    nClasses, "softmax", 0.9999, 2.0, device)``."""
    kind = stage2_kind("maxnorm")
    assert isinstance(kind, MaxNorm) and kind.beta == 0.9999 and kind.thresh == 0.1 and kind.weight_decay == 0.1
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(12, 4, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3])
    expected = _official_cb_softmax_loss(labels, logits, COUNTS.tolist(), 4, 0.9999)
    _close(kind.criterion(COUNTS)(logits, labels), expected)
    _close(class_balanced_softmax_bce(logits, labels, class_balanced_weights(COUNTS, 0.9999).double()), expected)


# -- WB's stage 1 ---------------------------------------------------------------------------------


def test_wb_weight_decay_reaches_the_stage1_optimizer(monkeypatch: pytest.MonkeyPatch) -> None:
    """WB's weight decay (a hyper-parameter, hence in its stage-1 key) overrides the protocol's in the engine's SGD."""
    import timm

    from benchmark.protocol import load_protocol
    from benchmark.training import inputs, stage1, stage2
    from benchmark.training.inputs import ImageBank

    labels = np.repeat(np.arange(4), [10, 6, 3, 1])
    images = np.random.default_rng(0).integers(0, 256, size=(len(labels), 20, 20, 3), dtype=np.uint8)
    split = inputs.TrainSplit(
        ImageBank(images, np.arange(len(labels)), torch.device("cpu")),
        labels,
        torch.tensor(np.bincount(labels), dtype=torch.float32),
    )
    seen: list[list[float]] = []
    sgd = torch.optim.SGD

    def recording_sgd(params, **kwargs):
        opt = sgd(params, **kwargs)
        seen.append([g["weight_decay"] for g in opt.param_groups])
        return opt

    monkeypatch.setattr(stage2.torch.optim, "SGD", recording_sgd)
    protocol = load_protocol("smoke")
    for method_id, expected in (("wb-maxnorm", 5e-3), ("ce", protocol.weight_decay)):
        method = create_method(method_id)
        torch.manual_seed(0)
        backbone = timm.create_model("test_resnet", pretrained=False, num_classes=0)
        model = method.build(backbone, int(backbone.num_features), 4, split.class_counts)
        stage1.train_stage1(method, model, split, protocol, torch.device("cpu"), seed=0)
        assert seen[-1] == [expected], method_id
    assert create_method("wb-maxnorm").stage1_key()["hyperparameters"] == {"weight_decay": 5e-3}
