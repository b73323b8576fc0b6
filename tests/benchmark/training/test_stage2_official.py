"""Stage 2 as the newer baselines' authors ran it (``stage2_official``, the ``paper`` protocol): the schedule each
kind gets, the class-aware sampler against the official one, batch norm in train mode and the best epoch on
validation, through the engine.

Official sources (read from the stored copies of the repositories):

* LWS: facebookresearch/classifier-balancing ``config/ImageNet_LT/cls_lws.yaml`` (lr 0.2, momentum 0.9, weight
  decay 0.0005, batch 512, 5 epochs, ``coslr: true`` with ``endlr: 0.0``, ``ClassAwareSampler`` with
  ``num_samples_cls: 4``), ``run_networks.py`` (``model.train()`` on every network each epoch; the epoch with the
  best validation accuracy is kept) and ``data/ClassAwareSampler.py``.
* MaxNorm: ShadeAlsha/LTR-weight-balancing ``demo2_second-stage-training.py`` (``base_lr = 0.01``,
  ``total_epoch_num = 10``, ``weight_decay = 0.1``, ``batch_size = 64``, ``CosineAnnealingLR(..., eta_min=0.0)``)
  and ``utils/trainval.py`` (``model.train()`` in the training phase; the best mean per-class accuracy kept).
"""

from __future__ import annotations

import copy
import dataclasses
import random

import numpy as np
import pytest
import torch

import datasets
from benchmark.metrics import confusion_matrix, mean_class_recall
from benchmark.protocol import load_protocol
from benchmark.training import inputs, precision, predict, stage2
from benchmark.training.backbones import create_backbone
from benchmark.training.inputs import ImageBank
from benchmark.training.stage1 import train_stage1
from methods import create_method
from methods.samplers import class_aware_indices


# -- the official ClassAwareSampler, transcribed (data/ClassAwareSampler.py) ------------------------------------
class _RandomCycleIter:
    def __init__(self, data, rnd):
        self.data_list, self.rnd = list(data), rnd
        self.length = len(self.data_list)
        self.i = self.length - 1

    def __iter__(self):
        return self

    def __next__(self):
        self.i += 1
        if self.i == self.length:
            self.i = 0
            self.rnd.shuffle(self.data_list)
        return self.data_list[self.i]


def _official_class_aware(labels, num_samples_cls, n, seed):
    rnd = random.Random(seed)
    num_classes = len(np.unique(labels))
    class_iter = _RandomCycleIter(range(num_classes), rnd)
    cls_data_list = [[] for _ in range(num_classes)]
    for i, label in enumerate(labels):
        cls_data_list[label].append(i)
    data_iter_list = [_RandomCycleIter(x, rnd) for x in cls_data_list]
    out, j = [], 0
    for _ in range(n):
        if j >= num_samples_cls:
            j = 0
        if j == 0:
            temp_tuple = next(zip(*[data_iter_list[next(class_iter)]] * num_samples_cls))
        out.append(temp_tuple[j])
        j += 1
    return np.array(out)


def _structure(positions: np.ndarray, labels: np.ndarray, k: int, num_classes: int) -> None:
    """The official sampler's structure: runs of k images of one class; every C runs visit each class once; within
    a class no image repeats before all of the class's images were drawn."""
    classes = labels[positions].reshape(-1, k)
    assert (classes == classes[:, :1]).all(), "a run of k draws mixes classes"
    visits = classes[:, 0]
    for start in range(0, len(visits) - num_classes + 1, num_classes):
        assert sorted(visits[start : start + num_classes]) == list(range(num_classes))
    for c in range(num_classes):
        mine = positions[labels[positions] == c]
        size = int((labels == c).sum())
        for start in range(0, len(mine) - size + 1, size):
            assert len(set(mine[start : start + size])) == size


LABELS = np.repeat(np.arange(5), [40, 17, 9, 4, 2])


@pytest.mark.parametrize("k", [1, 4])
def test_class_aware_sampler_has_the_official_structure(k):
    n = 4 * 5 * 12  # whole cycles of classes
    official = _official_class_aware(LABELS, k, n, seed=0)
    _structure(official, LABELS, k, 5)  # the checks hold for the transcription of the official code ...
    mine = class_aware_indices(LABELS, np.random.default_rng(0), samples_per_class=k, num_samples=n)
    _structure(mine, LABELS, k, 5)  # ... and for ours
    # same class frequencies: uniform over classes
    assert np.array_equal(np.bincount(LABELS[mine], minlength=5), np.bincount(LABELS[official], minlength=5))


def test_class_aware_sampler_defaults_to_one_epoch_and_is_seeded():
    a = class_aware_indices(LABELS, np.random.default_rng(3))
    assert len(a) == len(LABELS) and np.array_equal(a, class_aware_indices(LABELS, np.random.default_rng(3)))
    with pytest.raises(ValueError, match="samples_per_class"):
        class_aware_indices(LABELS, np.random.default_rng(0), samples_per_class=0)


# -- the schedule each kind gets ----------------------------------------------------------------------------------
def test_paper_protocol_trains_lws_and_maxnorm_as_their_official_code():
    paper = load_protocol("paper")
    assert paper.stage2_official
    lws = stage2.stage2_plan(create_method("ce-lws").rebalance.stage2, paper)
    assert (lws.epochs, lws.lr, lws.min_lr, lws.weight_decay, lws.batch_size) == (5, 0.2, 0.0, 5e-4, 512)
    assert (lws.sampling, lws.samples_per_class, lws.bn_train, lws.best_epoch_on_val) == ("class_aware", 4, True, True)
    maxnorm = stage2.stage2_plan(create_method("wb-maxnorm").rebalance.stage2, paper)
    assert (maxnorm.epochs, maxnorm.lr, maxnorm.min_lr, maxnorm.weight_decay, maxnorm.batch_size) == (
        10,
        0.01,
        0.0,
        0.1,
        64,
    )
    assert (maxnorm.sampling, maxnorm.bn_train, maxnorm.best_epoch_on_val) == ("instance", True, True)
    # cRW / cRS have no official schedule: the paper's stage 2 (10 epochs, lr 0.1, eval-mode extractor)
    crw = stage2.stage2_plan(create_method("ce-crw").rebalance.stage2, paper)
    assert (crw.epochs, crw.lr, crw.batch_size, crw.bn_train, crw.best_epoch_on_val) == (10, 0.1, 64, False, False)


@pytest.mark.parametrize("name", ["quick", "smoke"])
def test_other_protocols_keep_their_stage2_settings(name):
    protocol = load_protocol(name)
    assert not protocol.stage2_official
    plan = stage2.stage2_plan(create_method("ce-lws").rebalance.stage2, protocol)
    assert (plan.epochs, plan.lr, plan.batch_size, plan.sampling, plan.bn_train) == (
        protocol.stage2_epochs,
        protocol.stage2_lr,
        protocol.batch_size,
        "class_balanced",
        False,
    )


# -- through the engine -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stage1(cache_dir):
    """CE's stage 1 on digits-lt (smoke protocol, float64), and the smoke protocol with ``stage2_official``."""
    protocol = load_protocol("smoke")
    data = datasets.load("digits-lt", size=protocol.cache_size, cache_root=cache_dir, progress=False)
    device = torch.device("cpu")
    with precision.numeric_precision(protocol.precision):
        train = data.splits["train"]
        split = inputs.TrainSplit(
            ImageBank(data.images, train, device), data.labels[train], torch.tensor(data.train_counts)
        )
        val = inputs.EvalSplit(ImageBank(data.images, data.splits["val"], device), data.labels[data.splits["val"]])
        torch.manual_seed(0)
        backbone, dim = create_backbone(protocol.backbone)
        method = create_method("ce")
        model = method.build(backbone, dim, data.num_classes, split.class_counts)
        train_stage1(method, model, split, protocol, device, seed=0)
    return dataclasses.replace(protocol, stage2_official=True), data, split, val, model


@pytest.mark.parametrize("method_id", ["ce-lws", "wb-maxnorm"])
def test_official_stage2_updates_batch_norm_and_keeps_the_best_validation_epoch(stage1, monkeypatch, method_id):
    protocol, data, split, val, model = stage1
    seen: list[float] = []
    keep_best = stage2._keep_best

    def recording(m, v, num_classes, p, device, best):
        out = keep_best(m, v, num_classes, p, device, best)
        preds = predict.predict(m, v.bank, p, device)
        seen.append(mean_class_recall(confusion_matrix(v.labels, preds, num_classes)))
        return out

    monkeypatch.setattr(stage2, "_keep_best", recording)
    with precision.numeric_precision(protocol.precision):
        tuned = stage2.train_stage2(
            copy.deepcopy(model), create_method(method_id).rebalance, split, protocol, torch.device("cpu"), 0, val=val
        ).model
        final = mean_class_recall(
            confusion_matrix(val.labels, predict.predict(tuned, val.bank, protocol, torch.device("cpu")), 10)
        )
    plan = stage2.stage2_plan(create_method(method_id).rebalance.stage2, protocol)
    assert len(seen) == plan.epochs
    assert final == pytest.approx(max(seen), abs=1e-9)  # the best epoch's model, not the last one's
    # batch norm in train mode: the frozen extractor's running statistics moved; its weights did not
    before, after = dict(model.backbone.named_buffers()), dict(tuned.backbone.named_buffers())
    assert any(not torch.equal(before[k], after[k]) for k in before if k.endswith("running_mean"))
    for name, param in model.backbone.named_parameters():
        assert torch.equal(param, dict(tuned.backbone.named_parameters())[name])


def test_eval_mode_stage2_leaves_batch_norm_alone(stage1):
    protocol, _, split, val, model = stage1
    quick_like = dataclasses.replace(protocol, stage2_official=False)
    with precision.numeric_precision(protocol.precision):
        tuned = stage2.train_stage2(
            copy.deepcopy(model), create_method("ce-lws").rebalance, split, quick_like, torch.device("cpu"), 0, val=val
        ).model
    for name, buf in model.backbone.named_buffers():
        assert torch.equal(buf, dict(tuned.backbone.named_buffers())[name])


def test_protocols_without_official_stage2_keep_their_recorded_identity():
    """``stage2_official`` at its default is left out of the recorded settings, so results and stage-1 checkpoints
    of ``quick`` and ``smoke`` written before it existed stay reusable; ``paper`` records it."""
    from benchmark.protocol import Protocol

    for name in ("quick", "smoke"):
        protocol = load_protocol(name)
        assert "stage2_official" not in protocol.as_dict()
        assert Protocol(**protocol.as_dict()) == protocol
    assert load_protocol("paper").as_dict()["stage2_official"] is True
