"""Method-specific behaviour of the catalog beyond the conformance contract: BBN's α schedule,
CB-Focal's bias, LDAM(-DRW), the center loss's own optimizer group, SupCon's two views, Remix."""

from __future__ import annotations

import math

import pytest
import timm
import torch
import torch.nn.functional as F

from benchmark.training import schedule
from methods import Batch, Classifier, Method, create_method
from methods.batch_mixing import mixed_cross_entropy, mixup_batch, remix_label_weight
from methods.heads import NormedLinear
from methods.losses import center_loss, ldam_loss, ldam_margins, supcon_loss
from methods.testing import COUNTS, LABELS
from methods.testing import tiny_step_info as info
from methods.weights import class_balanced_weights


def build(method: Method, num_classes: int = 4, seed: int = 0) -> Classifier:
    torch.manual_seed(seed)
    backbone = timm.create_model("test_resnet", pretrained=False, num_classes=0)
    return method.build(backbone, int(backbone.num_features), num_classes, COUNTS[:num_classes])


def batch(views: int = 1, paired: bool = False, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    vs = tuple(torch.randn(len(LABELS), 3, 16, 16, generator=g) for _ in range(views))
    b = Batch(images=vs[0], labels=LABELS.clone(), views=vs)
    if paired:
        b.paired_images = torch.randn(len(LABELS), 3, 16, 16, generator=g)
        b.paired_labels = LABELS.flip(0)
    return b


# -- BBN ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("epoch,alpha", [(0, 1.0), (1, 1 - (1 / 4) ** 2), (2, 0.75), (3, 1 - (3 / 4) ** 2)])
def test_bbn_training_step_follows_the_cumulative_schedule(epoch: int, alpha: float) -> None:
    """0-based engine epoch e of E -> α = 1 - (e / E)² (the 1-based formula of docs/methods.md#bbn)."""
    method = create_method("bbn")
    assert method.sampling == "instance" and method.paired_sampling == "reversed"
    model = build(method)
    model.train()
    b = batch(paired=True)
    step = info(epoch, 4)
    assert method.alpha(step) == pytest.approx(alpha)
    out = method.training_step(model, b, step)
    with torch.no_grad():
        f_c, f_r = model.backbone.forward_branches(b.images, b.paired_images)
        logits = model.head(torch.cat([2 * alpha * f_c, 2 * (1 - alpha) * f_r], 1))
        expected = alpha * F.cross_entropy(logits, b.labels) + (1 - alpha) * F.cross_entropy(logits, b.paired_labels)
    torch.testing.assert_close(out["loss"].detach(), expected)


def test_bbn_model_infers_with_alpha_one_half() -> None:
    model = build(create_method("bbn"))
    d = model.backbone.feat_dim
    assert model.feat_dim == 2 * d and model.head.in_features == 2 * d
    model.eval()
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        f_c, f_r = model.backbone.forward_branches(x, x)
        torch.testing.assert_close(model(x), model.head(torch.cat([f_c, f_r], 1)), rtol=1e-5, atol=1e-5)


def test_bbn_needs_the_paired_batch() -> None:
    method = create_method("bbn")
    with pytest.raises(ValueError, match="paired"):
        method.training_step(build(method), batch(), info(0, 4))


# -- CB-Focal -------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_classes", [2, 4, 10])
def test_cb_focal_bias_initialised_to_minus_log_c_minus_one(num_classes: int) -> None:
    model = build(create_method("cb-focal"), num_classes)
    bias = model.head.bias.detach()
    torch.testing.assert_close(bias, torch.full((num_classes,), -math.log(num_classes - 1)))
    torch.testing.assert_close(torch.sigmoid(bias), torch.full((num_classes,), 1 / num_classes))
    assert model.head.weight.abs().sum() > 0  # the weight keeps its default initialisation
    torch.testing.assert_close(build(create_method("cb-focal-crw"), num_classes).head.bias.detach(), bias)


def test_cb_focal_loss_uses_class_balanced_weights() -> None:
    method = create_method("cb-focal")
    logits, step = torch.randn(12, 4), info(0, 4)
    w = class_balanced_weights(COUNTS, 0.9999)
    torch.testing.assert_close(method.class_weights(step), w)
    # The naive loop: Σ_i Σ_j w_{y_i} (1 - p_t)^γ BCE_ij / N with γ = 1.
    total = 0.0
    for i, y in enumerate(LABELS.tolist()):
        for j in range(4):
            p = torch.sigmoid(logits[i, j])
            p_t = p if j == y else 1 - p
            total += w[y] * (1 - p_t) * -torch.log(p_t)
    torch.testing.assert_close(method.loss(logits, LABELS, step), total / 12, rtol=1e-5, atol=1e-6)


# -- LDAM, LDAM-DRW -------------------------------------------------------------------------------


def test_ldam_uses_the_cosine_head_and_margins() -> None:
    method = create_method("ldam")
    model = build(method)
    assert isinstance(model.head, NormedLinear) and model.head.weight.shape == (model.feat_dim, 4)
    b, step = batch(), info(0, 4)
    out = method.training_step(model, b, step)["loss"]
    with torch.no_grad():
        expected = ldam_loss(model(b.images), b.labels, ldam_margins(COUNTS, 0.5), 30.0)
    torch.testing.assert_close(out.detach(), expected)


def test_ldam_drw_reweights_from_80_percent_of_the_epochs() -> None:
    ldam, drw = create_method("ldam"), create_method("ldam-drw")
    cos = torch.rand(12, 4) * 2 - 1
    for epoch in range(7):  # epochs 0..7 of 10 are unweighted
        torch.testing.assert_close(drw.loss(cos, LABELS, info(epoch, 10)), ldam.loss(cos, LABELS, info(epoch, 10)))
    for epoch in (8, 9):
        w = class_balanced_weights(COUNTS, 0.9999)
        torch.testing.assert_close(
            drw.loss(cos, LABELS, info(epoch, 10)), ldam_loss(cos, LABELS, ldam_margins(COUNTS), 30.0, weight=w)
        )
        assert not torch.allclose(drw.loss(cos, LABELS, info(epoch, 10)), ldam.loss(cos, LABELS, info(epoch, 10)))


# -- CE+CT ----------------------------------------------------------------------------------------


def test_center_loss_centres_have_their_own_fixed_sgd_group() -> None:
    method = create_method("ce+ct-crw")
    model = build(method)
    centers = model.extras["centers"].centers
    assert centers.shape == (4, model.feat_dim)
    groups = method.param_groups(model)
    (group,) = [g for g in groups if any(p is centers for p in g["params"])]
    assert group["params"] == [centers]
    assert group["lr"] == 0.005 and group["weight_decay"] == 0.0 and group["scheduled"] is False
    optimizer = torch.optim.SGD(groups, lr=0.1, momentum=0.9, weight_decay=5e-4)
    schedule.set_lr(optimizer, 0.5)  # the engine's schedule leaves the centres' lr alone
    assert [g["lr"] for g in optimizer.param_groups] == [0.5, 0.005]


def test_center_loss_value_and_gradients() -> None:
    """Loss = CE + λ·L_CT; backbone/features get λ·∇L_CT, the centres ∇L_CT (independent of λ)."""
    method = create_method("ce+ct-crw")
    model = build(method)
    b = batch()
    out = method.training_step(model, b, info(0, 4))
    centers = model.extras["centers"].centers
    feats = model.features(b.images)
    ce = F.cross_entropy(model.head(feats), b.labels)
    ct = center_loss(feats, b.labels, centers)
    torch.testing.assert_close(out["loss"], ce + 0.001 * ct)
    out["loss"].backward()
    (expected_grad,) = torch.autograd.grad(center_loss(feats.detach(), b.labels, centers), centers)
    torch.testing.assert_close(centers.grad, expected_grad)
    heavier = create_method("ce+ct-crw", metric_weight=0.1)
    centers.grad = None
    heavier.training_step(model, b, info(0, 4))["loss"].backward()
    torch.testing.assert_close(centers.grad, expected_grad)


# -- CE+TP ----------------------------------------------------------------------------------------


def test_triplet_method_loss() -> None:
    from methods.losses import batch_hard_triplet_loss

    method = create_method("ce+tp-crw")
    assert method.margin == 50.0 and method.metric_weight == 0.001
    model = build(method)
    b = batch()
    out = method.training_step(model, b, info(0, 4))
    feats = model.features(b.images)
    expected = F.cross_entropy(model.head(feats), b.labels) + 0.001 * batch_hard_triplet_loss(feats, b.labels, 50.0)
    torch.testing.assert_close(out["loss"], expected)


# -- CE+SC, SC ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method_id,with_ce", [("ce+sc", True), ("ce+sc-crw", True), ("sc-crw", False)])
def test_supcon_methods_use_both_views(method_id: str, with_ce: bool) -> None:
    method = create_method(method_id)
    assert method.views == 2
    model = build(method)
    assert model.extras["projector"](torch.randn(2, model.feat_dim)).shape == (2, 128)
    b = batch(views=2)
    out = method.training_step(model, b, info(0, 4))
    feats = model.features(torch.cat(b.views, 0))
    z = model.extras["projector"](feats)
    n = len(LABELS)
    expected = supcon_loss(torch.stack([z[:n], z[n:]], 1), b.labels, 0.05, 0.05)
    if with_ce:
        expected = F.cross_entropy(model.head(feats), b.labels.repeat(2)) + 1.0 * expected
    torch.testing.assert_close(out["loss"], expected)
    other = Batch(images=b.images, labels=b.labels, views=(b.images, b.views[1] + 1))
    assert not torch.allclose(method.training_step(model, other, info(0, 4))["loss"], out["loss"])


# -- Remix, Balanced-MixUp ------------------------------------------------------------------------


def test_remix_loss() -> None:
    method = create_method("remix")
    model = build(method)
    b = batch()
    out = method.training_step(model, b, info(0, 4, seed=3))
    mixed = mixup_batch(b.images, b.labels, torch.Generator().manual_seed(3), 1.0)
    weight = remix_label_weight(mixed.lam, COUNTS[mixed.labels_a], COUNTS[mixed.labels_b], 3.0, 0.5)
    torch.testing.assert_close(out["loss"], mixed_cross_entropy(model(mixed.images), mixed, label_weight=weight))


def test_balanced_mixup_draws_a_class_balanced_partner_batch() -> None:
    method = create_method("balanced-mixup")
    assert method.sampling == "instance" and method.paired_sampling == "class_balanced" and method.alpha == 0.2
    with pytest.raises(ValueError, match="paired"):
        method.training_step(build(method), batch(), info(0, 4))
