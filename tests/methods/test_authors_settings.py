"""The ``authors`` protocol's switches against the study authors' released code (``official_authors.py``: the
transcriptions, Tsingwaa/classification at the commit it names): values and gradients in float64 (≤ 1e-5), or the
setting a switch produces (optimiser groups, which samples CutMix mixes, batch-norm mode and Nesterov in stage 2);
the switches' defaults keep the other protocols as they were; one smoke-sized run with every switch on."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import torch
from torch import nn

import datasets
from benchmark import grid
from benchmark.grid import GridSettings, expand_grid
from benchmark.protocol import PROTOCOL_DIR, ProtocolError, load_protocol
from benchmark.results.store import iter_result_files, read_result
from benchmark.training import inputs, precision, schedule, stage1, stage2
from benchmark.training.backbones import create_backbone
from benchmark.training.inputs import ImageBank
from methods import create_method
from methods.base import Batch, Classifier, StepInfo
from methods.batch_mixing import cutmix_per_sample, cutmix_samples, mixed_cross_entropy, soft_mix_targets
from methods.catalog.focal import Focal
from methods.catalog.metric import CECT, CESC, CETP
from methods.catalog.mixing import CutMix
from methods.heads import ProjectionHead
from methods.losses import batch_hard_triplet_loss

from . import official_authors as official

TOL = 1e-5
TABLE2 = ("skin7", "xray9", "pathmnist-lt")


@pytest.fixture(autouse=True)
def _float64():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def _info(num_classes: int) -> StepInfo:
    return StepInfo(epoch=0, epochs=1, step=0, steps_per_epoch=1, class_counts=torch.ones(num_classes))


def _authors(dataset: str):
    """The ``authors`` protocol for ``dataset`` (its ``[datasets.X]`` tables applied)."""
    return load_protocol("authors").for_dataset(dataset)


# -- CE+CT: the centre optimiser and the ½ ------------------------------------------------------------------------
def _cect_model(method: CECT, feat_dim: int, num_classes: int, seed: int = 0) -> Classifier:
    torch.manual_seed(seed)
    return method.build(nn.Identity(), feat_dim, num_classes, torch.ones(num_classes))


@pytest.mark.parametrize("dataset", TABLE2)
def test_center_loss_step_matches_the_authors(dataset):
    """Loss, every gradient and two optimiser steps of CE+CT under ``authors`` equal ``train_ce_ct.py`` with
    ``CenterLoss`` (0.5 · mean ‖r − c‖²), the centres' gradient divided by λ, and ``optimizer2``."""
    protocol = _authors(dataset)
    method = protocol.configure(create_method("ce+ct-crw"))
    lam = official.LAMBDA[dataset]["ce+ct"]
    assert method.metric_weight == lam and method.center_factor == 0.5
    n, d, c = 12, 6, 4
    model = _cect_model(method, d, c)
    ref_fc = copy.deepcopy(model.head)
    ref_ct = official.CenterLoss(c, d)
    with torch.no_grad():
        ref_ct.centers.copy_(model.extras["centers"].centers)
    gen = torch.Generator().manual_seed(1)
    opt = torch.optim.SGD(
        method.param_groups(model),
        lr=protocol.lr,
        momentum=protocol.momentum,
        weight_decay=protocol.weight_decay,
        nesterov=protocol.nesterov,
    )
    ref_opt = torch.optim.SGD(
        ref_fc.parameters(), lr=protocol.lr, momentum=0.9, weight_decay=protocol.weight_decay, nesterov=True
    )
    ref_opt2 = torch.optim.SGD(ref_ct.parameters(), **official.CENTER_OPTIMIZER)
    for _ in range(2):
        feats = (3 * torch.randn(n, d, generator=gen)).requires_grad_()
        ref_feats = feats.detach().clone().requires_grad_()
        labels = torch.randint(0, c, (n,), generator=gen)
        loss = method.training_step(model, Batch(images=feats, labels=labels), _info(c))["loss"]
        opt.zero_grad()
        loss.backward()
        centres_grad = model.extras["centers"].centers.grad.clone()
        opt.step()
        ref_loss = official.ce_ct_step(ref_fc, ref_feats, labels, ref_ct, lam, ref_opt, ref_opt2)
        assert float(loss.detach()) == pytest.approx(float(ref_loss.detach()), abs=TOL)
        torch.testing.assert_close(feats.grad, ref_feats.grad, atol=TOL, rtol=0)
        torch.testing.assert_close(centres_grad, ref_ct.centers.grad, atol=TOL, rtol=0)
        torch.testing.assert_close(model.extras["centers"].centers, ref_ct.centers, atol=TOL, rtol=0)
        torch.testing.assert_close(model.head.weight, ref_fc.weight, atol=TOL, rtol=0)


def test_centre_group_under_authors_and_paper():
    """``authors``: the group is ``optimizer2`` (lr 0.005, momentum 0.9, Nesterov, weight decay 1e-6) and follows the
    stage-1 warm-up and cosine from 0.005 (``lr_scheduler2``); ``paper``: fixed lr 0.005, plain SGD, as before."""
    authors = _authors("skin7").configure(create_method("ce+ct-crw"))
    group = authors.param_groups(_cect_model(authors, 4, 3))[1]
    assert {k: group[k] for k in official.CENTER_OPTIMIZER} == official.CENTER_OPTIMIZER
    assert group["scheduled"] and group["peak_lr"] == 0.005
    paper = load_protocol("paper").for_dataset("skin7").configure(create_method("ce+ct-crw"))
    assert paper == create_method("ce+ct-crw")
    group = paper.param_groups(_cect_model(paper, 4, 3))[1]
    assert (group["lr"], group["momentum"], group["weight_decay"], group["nesterov"], group["scheduled"]) == (
        0.005,
        0.0,
        0.0,
        False,
        False,
    )
    assert "peak_lr" not in group
    # the schedule: stage 1's warm-up and cosine, each group from its own peak
    model = _cect_model(authors, 4, 3)
    opt = torch.optim.SGD(authors.param_groups(model), lr=1e-3, momentum=0.9)
    for step in (0, 3, 9, 20, 39):
        schedule.schedule_lr(opt, step, 40, 10, 1e-3, 1e-6)
        rest, centres = opt.param_groups
        assert rest["lr"] == schedule.warmup_cosine(step, 40, 10, 1e-3, 1e-6)
        assert centres["lr"] == schedule.warmup_cosine(step, 40, 10, 0.005, 1e-6)


# -- CE+TP: lone anchors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "labels",
    [[0, 0, 1, 2, 2, 2, 3, 1, 4], [0, 1, 2, 3, 4, 5], [2, 2, 2, 2, 2], [0, 0, 1, 1, 2, 2, 2]],
    ids=["some-lone", "all-lone", "no-negative", "none-lone"],
)
@pytest.mark.parametrize("margin", [50.0, 2.0])
def test_triplet_with_lone_anchors_matches_online_hard_triplet_loss(labels, margin):
    y = torch.tensor(labels)
    gen = torch.Generator().manual_seed(len(labels))
    x = (4 * torch.randn(len(labels), 5, generator=gen)).requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    ours = batch_hard_triplet_loss(x, y, margin, lone_anchors=True)
    ref = official.OnlineHardTripletLoss(margin=margin)(x_ref, y)
    assert ours.item() == pytest.approx(ref.item(), abs=TOL)
    ours.backward()
    ref.backward()
    torch.testing.assert_close(x.grad, x_ref.grad, atol=TOL, rtol=0)
    if labels == [0, 0, 1, 1, 2, 2, 2]:  # every anchor has both: the two rules agree
        assert batch_hard_triplet_loss(x, y, margin).item() == pytest.approx(ref.item(), abs=TOL)


def test_triplet_switch_is_the_methods_and_authors_turns_it_on():
    assert CETP().lone_anchors is False and "lone_anchors" not in CETP().hyperparameters()
    for dataset in TABLE2:
        method = _authors(dataset).configure(create_method("ce+tp-crw"))
        assert method.lone_anchors and method.margin == 50.0
        assert method.metric_weight == official.LAMBDA[dataset]["ce+tp"]
    # a lone anchor in the batch: the step's loss is the authors'
    method = _authors("skin7").configure(create_method("ce+tp-crw"))
    torch.manual_seed(0)
    model = method.build(nn.Identity(), 5, 3, torch.ones(3))
    x, y = 10 * torch.randn(6, 5), torch.tensor([0, 0, 1, 2, 2, 2])
    out = method.training_step(model, Batch(images=x, labels=y), _info(3))
    ref = official.OnlineHardTripletLoss(margin=50)(x, y)
    assert out["triplet"].item() == pytest.approx(ref.item(), abs=TOL)


# -- CE+SC: base temperature, the projection's bias, per-dataset temperature ----------------------------------------
@pytest.mark.parametrize("dataset", TABLE2)
def test_supcon_step_matches_the_authors(dataset):
    protocol = _authors(dataset)
    method = protocol.configure(create_method("ce+sc-crw"))
    assert (method.temperature, method.base_temperature) == (official.SUPCON_TEMPERATURE[dataset], 0.07)
    assert method.metric_weight == official.LAMBDA[dataset]["ce+sc"]
    n, d, c = 6, 16, 3
    torch.manual_seed(0)
    model = method.build(nn.Identity(), d, c, torch.ones(c))
    head = official.pred_head(d)
    projector = model.extras["projector"]
    assert isinstance(projector, ProjectionHead) and projector.net[0].bias is None
    assert {k: v.shape for k, v in projector.net.state_dict().items()} == {
        k: v.shape for k, v in head.state_dict().items()
    }
    head.load_state_dict(projector.net.state_dict())
    fc = copy.deepcopy(model.head)
    gen = torch.Generator().manual_seed(2)
    views = [torch.randn(n, d, generator=gen).requires_grad_() for _ in range(2)]
    labels = torch.tensor([0, 1, 1, 2, 0, 0])
    loss = method.training_step(model, Batch(images=views[0], labels=labels, views=tuple(views)), _info(c))["loss"]
    ref_views = [v.detach().clone().requires_grad_() for v in views]
    criterion = official.SupContrastLoss(temperature=method.temperature)  # base_temperature: the class default
    ref = official.supcon_step_loss(torch.cat(ref_views), fc, head, labels, criterion, method.metric_weight)
    assert loss.item() == pytest.approx(ref.item(), abs=TOL)
    loss.backward()
    ref.backward()
    for ours, theirs in zip(views, ref_views):
        torch.testing.assert_close(ours.grad, theirs.grad, atol=TOL, rtol=0)
    for (name, p), q in zip(projector.net.named_parameters(), head.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=TOL, rtol=0, msg=name)


def test_supcon_defaults_keep_the_papers_head():
    method = CESC()
    assert (method.temperature, method.base_temperature, method.projection_hidden_bias) == (0.05, 0.05, True)
    model = method.build(nn.Identity(), 8, 3, torch.ones(3))
    assert model.extras["projector"].net[0].bias is not None
    assert "projection_hidden_bias" not in method.hyperparameters()


# -- Focal: γ = 2 -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dataset", TABLE2)
def test_focal_under_authors_is_the_authors_focal_loss(dataset):
    method = _authors(dataset).configure(create_method("focal-crw"))
    assert method.gamma == 2.0 and Focal().gamma == 1.0
    gen = torch.Generator().manual_seed(3)
    logits = (3 * torch.randn(10, 5, generator=gen)).requires_grad_()
    ref_logits = logits.detach().clone().requires_grad_()
    y = torch.randint(0, 5, (10,), generator=gen)
    ours = method.loss(logits, y, _info(5))
    ref = official.FocalLoss()(ref_logits, y)
    assert ours.item() == pytest.approx(ref.item(), abs=TOL)
    ours.backward()
    ref.backward()
    torch.testing.assert_close(logits.grad, ref_logits.grad, atol=TOL, rtol=0)


# -- CutMix: per sample, probability 1 ----------------------------------------------------------------------------
def test_cutmix_per_sample_matches_the_authors_dataset():
    """Given the same draws (partner, λ, centre), each sample's image and soft target are the authors'
    ``CutMix.__getitem__``'s, and the loss is ``CELoss`` on those soft targets (value and gradient). λ is chosen
    so that the box side is even: the authors' ``c ± side // 2`` is one pixel shorter for odd sides
    (docs/methods.md#cutmix)."""
    n, c, h = 5, 4, 8
    gen = torch.Generator().manual_seed(4)
    images = torch.randn(n, 3, h, h, generator=gen)
    labels = torch.tensor([0, 1, 2, 3, 1])
    partners = [3, 0, 2, 1, 4]
    lams = [0.75, 0.4375, 0.9375, 0.75, 0.4375]  # sides 4, 6, 2, 4, 6
    centres = [(4, 4), (0, 7), (7, 1), (2, 6), (5, 5)]  # (row, column), two clipped at the border
    mixed = cutmix_samples(images, labels, [True] * n, partners, lams, centres)
    ref_images, ref_targets = [], []
    for i in range(n):
        # the authors index rows with the box drawn from ``cx`` and columns with ``cy`` (square images)
        row, col = centres[i]
        img, target = official.cutmix_getitem(
            images[i],
            int(labels[i]),
            c,
            0.5,
            1.0,
            1.0,
            images[partners[i]],
            int(labels[partners[i]]),
            lams[i],
            row,
            col,
        )
        ref_images.append(img)
        ref_targets.append(target)
    torch.testing.assert_close(mixed.images, torch.stack(ref_images), atol=0, rtol=0)
    targets = torch.stack(ref_targets)
    ours_targets = soft_mix_targets(mixed.labels_a, mixed.labels_b, mixed.sample_lam, c)
    torch.testing.assert_close(ours_targets, targets, atol=TOL, rtol=0)
    logits = torch.randn(n, c, generator=gen).requires_grad_()
    ref_logits = logits.detach().clone().requires_grad_()
    ours = mixed_cross_entropy(logits, mixed, label_weight=mixed.sample_lam)
    ref = official.soft_target_cross_entropy(ref_logits, targets)
    assert ours.item() == pytest.approx(ref.item(), abs=TOL)
    ours.backward()
    ref.backward()
    torch.testing.assert_close(logits.grad, ref_logits.grad, atol=TOL, rtol=0)


def test_cutmix_per_sample_mixes_the_samples_the_authors_rule_picks(monkeypatch):
    """The authors skip a sample when ``r > prob``: with ``prob = 1`` every sample is mixed, each with its own
    draw; with ``prob = 0`` none."""
    import methods.batch_mixing as mixing

    seen: list[list[bool]] = []
    real = mixing.cutmix_samples

    def recording(images, labels, mixed, partners, lams, centres):
        seen.append(list(mixed))
        return real(images, labels, mixed, partners, lams, centres)

    monkeypatch.setattr(mixing, "cutmix_samples", recording)
    images, labels = torch.randn(16, 3, 8, 8), torch.arange(16) % 4
    out = cutmix_per_sample(images, labels, torch.Generator().manual_seed(0), 1.0, 1.0)
    assert seen[-1] == [True] * 16 and out.sample_lam is not None
    assert len(set(out.sample_lam.tolist())) > 1  # each sample its own λ
    out = cutmix_per_sample(images, labels, torch.Generator().manual_seed(0), 1.0, 0.0)
    assert seen[-1] == [False] * 16 and torch.equal(out.images, images)


def test_cutmix_switch_under_authors_and_paper():
    for dataset in TABLE2:
        method = _authors(dataset).configure(create_method("cutmix-crw"))
        assert (method.per_sample, method.prob, method.alpha) == (True, 1.0, 1.0)
    paper = CutMix()
    assert (paper.per_sample, paper.prob) == (False, 0.5) and "per_sample" not in paper.hyperparameters()
    torch.manual_seed(0)
    model = Classifier(nn.Flatten(), 3 * 8 * 8, nn.Linear(3 * 8 * 8, 4))
    batch = Batch(images=torch.randn(6, 3, 8, 8), labels=torch.tensor([0, 1, 2, 3, 0, 1]))
    info = _info(4)
    info.generator.manual_seed(5)
    loss = _authors("skin7").configure(create_method("cutmix")).training_step(model, batch, info)["loss"]
    assert torch.isfinite(loss)


# -- stage 2: batch norm in train mode, Nesterov, per-dataset lr ------------------------------------------------------
@pytest.mark.parametrize("dataset", TABLE2)
def test_stage2_plan_under_authors_is_the_finetune_config(dataset):
    protocol = _authors(dataset)
    plan = stage2.stage2_plan(create_method("ce-crw").rebalance.stage2, protocol)
    ref = official.STAGE2[dataset]
    assert (plan.lr, plan.weight_decay, plan.nesterov, plan.bn_train, plan.epochs, plan.min_lr) == (
        ref["lr"],
        ref["weight_decay"],
        True,
        True,
        10,
        1e-6,
    )
    assert protocol.nesterov is True and protocol.momentum == ref["momentum"]


@pytest.mark.parametrize("name", ["quick", "smoke", "paper"])
def test_other_protocols_keep_stage2_and_identity(name):
    protocol = load_protocol(name)
    plan = stage2.stage2_plan(create_method("ce-crw").rebalance.stage2, protocol)
    assert (plan.nesterov, plan.bn_train) == (False, False)
    recorded = protocol.as_dict()
    for key in ("nesterov", "stage2_nesterov", "stage2_bn_train", "methods"):
        assert key not in recorded
    for entry_id in ("ce+ct-crw", "ce+tp-crw", "ce+sc-crw", "focal-crw", "cutmix-crw"):
        method = create_method(entry_id)
        assert protocol.for_dataset("skin7").configure(method) is method


@pytest.fixture(scope="module")
def digits(cache_dir):
    protocol = load_protocol("smoke")
    data = datasets.load("digits-lt", size=protocol.cache_size, cache_root=cache_dir, progress=False)
    train = data.splits["train"]
    with precision.numeric_precision(protocol.precision):
        split = inputs.TrainSplit(
            ImageBank(data.images, train, torch.device("cpu")), data.labels[train], torch.tensor(data.train_counts)
        )
    return protocol, split, data.num_classes


def _record_sgd(monkeypatch) -> list[dict]:
    """The keyword arguments of every ``torch.optim.SGD`` made from now on (the optimiser still works)."""
    made: list[dict] = []
    sgd = torch.optim.SGD

    def recording(params, **kwargs):
        made.append(kwargs)
        return sgd(params, **kwargs)

    monkeypatch.setattr(torch.optim, "SGD", recording)
    return made


@pytest.mark.parametrize("switched", [False, True])
def test_stage2_batch_norm_mode_and_nesterov_through_the_engine(digits, monkeypatch, switched):
    """``stage2_bn_train``: the frozen extractor's running statistics move (the authors' ``model.train()`` in
    ``finetune.py``) and its weights do not; ``stage2_nesterov``: the head's SGD is Nesterov. Off: neither."""
    protocol, split, num_classes = digits
    protocol = dataclasses.replace(protocol, max_steps_per_epoch=2, stage2_bn_train=switched, stage2_nesterov=switched)
    made = _record_sgd(monkeypatch)
    with precision.numeric_precision(protocol.precision):
        torch.manual_seed(0)
        backbone, dim = create_backbone(protocol.backbone)
        model = create_method("ce").build(backbone, dim, num_classes, split.class_counts)
        tuned = stage2.train_stage2(
            copy.deepcopy(model), create_method("ce-crw").rebalance, split, protocol, torch.device("cpu"), 0
        ).model
    assert made[-1]["nesterov"] is switched and made[-1]["momentum"] == 0.9
    before, after = dict(model.backbone.named_buffers()), dict(tuned.backbone.named_buffers())
    moved = any(not torch.equal(before[k], after[k]) for k in before if k.endswith("running_mean"))
    assert moved is switched
    for name, param in model.backbone.named_parameters():
        assert torch.equal(param, dict(tuned.backbone.named_parameters())[name])


def test_stage1_nesterov_reaches_the_optimiser(digits, monkeypatch):
    protocol, split, num_classes = digits
    made = _record_sgd(monkeypatch)
    for nesterov in (False, True):
        p = dataclasses.replace(protocol, epochs=1, max_steps_per_epoch=1, nesterov=nesterov)
        with precision.numeric_precision(p.precision):
            torch.manual_seed(0)
            backbone, dim = create_backbone(p.backbone)
            method = create_method("ce")
            stage1.train_stage1(
                method, method.build(backbone, dim, num_classes, split.class_counts), split, p, torch.device("cpu"), 0
            )
        assert made[-1]["nesterov"] is nesterov


# -- the protocol ---------------------------------------------------------------------------------------------------
def test_authors_protocol_loads_with_the_authors_values():
    protocol = load_protocol("authors")
    paper = load_protocol("paper")
    assert protocol.name == "authors"
    for key in ("backbone", "pretrained", "image_size", "cache_size", "epochs", "lr", "min_lr", "stage2_epochs"):
        assert getattr(protocol, key) == getattr(paper, key)
    for dataset in TABLE2:
        p = protocol.for_dataset(dataset)
        assert p.stage2_lr == official.STAGE2[dataset]["lr"]
        assert p.stage2_weight_decay == official.STAGE2[dataset]["weight_decay"]
        assert p.batch_size == paper.for_dataset(dataset).batch_size
        for recipe, lam in official.LAMBDA[dataset].items():
            entry = {"ce+ct": "ce+ct-crw", "ce+tp": "ce+tp-crw", "ce+sc": "ce+sc-crw"}[recipe]
            assert p.configure(create_method(entry)).metric_weight == lam
    # the dataset's table adds to the protocol's, per recipe
    assert protocol.for_dataset("xray9").methods["ce+ct"]["center_factor"] == 0.5


BAD = [
    ('[methods."ce+xt"]\nmetric_weight = 1.0', "[methods.ce+xt]: unknown recipe id"),
    ('[methods."ce+ct"]\nlambda = 1.0', "[methods.ce+ct] unknown hyper-parameter 'lambda'"),
    (
        "[datasets.skin7.methods.focal]\ngama = 2.0",
        "[datasets.skin7] [methods.focal] unknown hyper-parameter 'gama'",
    ),
]


@pytest.mark.parametrize(("toml", "message"), BAD)
def test_bad_methods_tables_are_refused(tmp_path: Path, toml, message):
    text = (PROTOCOL_DIR / "smoke.toml").read_text().replace('name = "smoke"', 'name = "mine"') + "\n" + toml + "\n"
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(ProtocolError) as e:
        load_protocol(str(path))
    assert message in str(e.value) and str(path) in str(e.value)


def test_method_identity_leaves_switches_at_their_defaults_out():
    """Hyper-parameters added for ``authors`` are not in a default method's identity: stage-1 checkpoints and results
    of the other protocols keep their keys."""
    assert CECT().hyperparameters() == {"metric_weight": 0.001, "center_lr": 0.005}
    assert CETP().hyperparameters() == {"metric_weight": 0.001, "margin": 50.0}
    assert CutMix().hyperparameters() == {"alpha": 1.0, "prob": 0.5}
    switched = _authors("skin7").configure(create_method("ce+ct-crw")).hyperparameters()
    assert switched["center_factor"] == 0.5 and switched["center_nesterov"] is True


# -- a smoke-sized run with every switch on -------------------------------------------------------------------------
AUTHORS_SWITCHES = """
nesterov = true
stage2_nesterov = true
stage2_bn_train = true

[methods."ce+ct"]
center_momentum = 0.9
center_nesterov = true
center_weight_decay = 1e-6
center_scheduled = true
center_factor = 0.5

[methods."ce+tp"]
lone_anchors = true

[methods.cutmix]
per_sample = true
prob = 1.0

[datasets.digits-lt]
stage2_lr = 0.01

[datasets.digits-lt.methods."ce+ct"]
metric_weight = 0.01
"""


def test_smoke_run_under_the_authors_switches(cache_dir, tmp_path):
    text = (PROTOCOL_DIR / "smoke.toml").read_text().replace('name = "smoke"', 'name = "smoke-authors"')
    for old, new in (("epochs = 4", "epochs = 1"), ("max_steps_per_epoch = 0", "max_steps_per_epoch = 2")):
        text = text.replace(old, new)
    path = tmp_path / "smoke-authors.toml"
    path.write_text(text + AUTHORS_SWITCHES)
    protocol = load_protocol(str(path))
    runs = expand_grid(["digits-lt"], [create_method("ce+ct-crw"), create_method("ce+tp-crw")], [None], [0], protocol)
    settings = GridSettings(results_dir=tmp_path / "results", cache_dir=cache_dir, device="cpu", progress=False)
    counts = grid.run(runs, settings)
    assert counts["ok"] == 2, counts
    results = {r.spec.method_id: r for r in map(read_result, iter_result_files(tmp_path / "results"))}
    ct = results["ce+ct-crw"]
    assert ct.hyperparameters["center_factor"] == 0.5 and ct.hyperparameters["metric_weight"] == 0.01
    assert results["ce+tp-crw"].hyperparameters["lone_anchors"] is True
    assert ct.protocol_config["stage2_bn_train"] is True and ct.protocol_config["stage2_lr"] == 0.01
    assert 0.0 <= ct.metrics.mcr_all <= 100.0


def test_official_stage2_schedules_keep_their_own_optimiser_under_authors():
    """LWS and MaxNorm train with their official code's schedule (``stage2_official``): plain momentum and their own
    batch-norm mode, not the authors' ``finetune.py`` settings."""
    protocol = _authors("skin7")
    for entry_id in ("ce-lws", "wb-maxnorm"):
        kind = create_method(entry_id).rebalance.stage2
        plan = stage2.stage2_plan(kind, protocol)
        assert plan.nesterov is False and plan.bn_train == kind.official.bn_train
