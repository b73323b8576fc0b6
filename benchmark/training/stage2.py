"""Stage 2: the frozen stage-1 extractor, a new or adapted head, as the method's stage-2 kind declares it."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch

from methods.base import Classifier, Rebalance
from methods.stage2 import Stage2Kind

from .. import events
from ..metrics import confusion_matrix, mean_class_recall
from ..protocol import Protocol
from .inputs import EvalSplit, TrainSplit, batches, epoch_positions, make_augmenter
from .precision import autocast, use_channels_last
from .predict import features, predict
from .schedule import EpochCallback, set_lr, warmup_cosine


def train_stage2(
    model: Classifier,
    rebalance: Rebalance,
    data: TrainSplit,
    protocol: Protocol,
    device: torch.device,
    seed: int,
    on_epoch: EpochCallback | None = None,
    val: EvalSplit | None = None,
) -> Stage2Outcome:
    """Stage 2 on the frozen, eval-mode extractor, as the kind ``rebalance.stage2`` declares it; ``model`` is
    changed in place and returned with what a search chose.

    The kind turns the stage-1 head into its stage-2 head (a new linear layer for cRW / cRS, scales on
    the frozen head for LWS, the stage-1 head itself for τ-norm, PLA and MaxNorm). When it ``trains``,
    the head's trainable parameters take the protocol's stage-2 schedule with the kind's sampler,
    criterion and weight decay (features under ``no_grad``: nothing back-propagates into the extractor),
    and its projection after each epoch. When it ``searches``, τ is chosen on ``val`` (the validation
    split, never the test split) by mean class recall, and the head becomes the kind's head for that τ.
    """
    kind = rebalance.stage2
    if kind.searches and (val is None or len(val.bank) == 0):
        raise ValueError(f"stage 2 {kind.suffix} chooses τ on the validation split, and this dataset has none")
    model.to(device)
    torch.manual_seed(seed)
    model.head = kind.head(model.head, model.feat_dim, data.num_classes).to(device)
    for name, param in model.named_parameters():
        if not name.startswith("head."):
            param.requires_grad_(False)
    model.eval()  # batch-norm statistics stay frozen
    if kind.trains:
        _fit_head(model, kind, data, protocol, device, seed, on_epoch, val)
    choice = None
    if kind.searches:
        assert val is not None
        choice = _choose_tau(model, kind, val, data.class_counts, protocol, device)
    return Stage2Outcome(model, choice)


@dataclass(frozen=True)
class Stage2Outcome:
    """The stage-2 model and, for a kind that searches, what it chose on the validation split
    (``{"tau": ..., "val_mcr": ...}``, recorded in the result as ``stage2_choice``)."""

    model: Classifier
    choice: dict[str, float] | None = None


@dataclass(frozen=True)
class Stage2Plan:
    """The stage-2 training settings a kind gets under a protocol: the protocol's ``stage2_*`` settings (batch-norm
    mode ``stage2_bn_train``, ``stage2_nesterov`` included), the stage-1 batch size and the kind's sampler and weight
    decay, or, where the protocol sets ``stage2_official``, the kind's :attr:`~methods.stage2.Stage2Kind.official`
    schedule over them."""

    epochs: int
    lr: float
    min_lr: float
    weight_decay: float
    batch_size: int
    sampling: str
    samples_per_class: int = 4
    bn_train: bool = False
    best_epoch_on_val: bool = False
    nesterov: bool = False


def stage2_plan(kind: Stage2Kind, protocol: Protocol) -> Stage2Plan:
    """What :func:`train_stage2` trains ``kind`` with under ``protocol`` (see :class:`Stage2Plan`)."""
    p = protocol
    plan = Stage2Plan(
        epochs=p.stage2_epochs,
        lr=p.stage2_lr,
        min_lr=p.stage2_min_lr,
        weight_decay=p.stage2_weight_decay if kind.weight_decay is None else kind.weight_decay,
        batch_size=p.batch_size,
        sampling=kind.sampling,
        bn_train=p.stage2_bn_train,
        nesterov=p.stage2_nesterov,
    )
    official = kind.official if p.stage2_official else None
    if official is None:
        return plan
    given = {k: v for k, v in dataclasses.asdict(official).items() if v is not None and k != "source"}
    # an official schedule is the kind's own code's: plain momentum, whatever the protocol's stage2_nesterov
    return dataclasses.replace(plan, **{"nesterov": False, **given})


def _fit_head(
    model: Classifier,
    kind: Stage2Kind,
    data: TrainSplit,
    protocol: Protocol,
    device: torch.device,
    seed: int,
    on_epoch: EpochCallback | None,
    val: EvalSplit | None = None,
) -> None:
    """Train the head's trainable parameters on frozen features over the stage-2 schedule (:func:`stage2_plan`);
    with ``best_epoch_on_val``, the model of the epoch with the best validation MCR is kept."""
    p, plan = protocol, stage2_plan(kind, protocol)
    augment = make_augmenter(p, use_channels_last(p.precision))
    params = [q for q in model.head.parameters() if q.requires_grad]
    optimizer = torch.optim.SGD(
        params, lr=plan.lr, momentum=0.9, weight_decay=plan.weight_decay, nesterov=plan.nesterov
    )
    criterion = kind.criterion(data.class_counts.to(device))
    project = kind.projection(model.head)
    dtype = params[0].dtype
    steps_per_epoch = len(batches(np.arange(len(data.bank)), plan.batch_size, p.max_steps_per_epoch))
    total = steps_per_epoch * plan.epochs
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    for epoch in range(plan.epochs):
        rng = np.random.default_rng([seed, 10_000 + epoch])
        gen = torch.Generator().manual_seed(seed * 100_003 + 10_000 + epoch)
        model.train(plan.bn_train)  # train: the frozen extractor's batch norm uses and updates batch statistics
        last_loss = torch.tensor(float("nan"))
        positions = epoch_positions(plan.sampling, data.labels, rng, plan.samples_per_class)
        for i, pos in enumerate(batches(positions, plan.batch_size, p.max_steps_per_epoch)):
            set_lr(optimizer, warmup_cosine(epoch * steps_per_epoch + i, total, 0, plan.lr, plan.min_lr))
            images = augment(data.bank.gather(pos), True, gen)
            labels = torch.as_tensor(data.labels[pos], device=device)
            with torch.no_grad(), autocast(device, p.precision):
                feats = model.features(images)
            loss = criterion(model.head(feats.to(dtype)), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            last_loss = loss.detach()
        model.eval()
        if project is not None:
            project(model.head)
        if plan.best_epoch_on_val and val is not None and len(val.bank):
            best = _keep_best(model, val, data.num_classes, protocol, device, best)
        if on_epoch:
            on_epoch(epoch, plan.epochs, float(last_loss))
    if best is not None:
        model.load_state_dict(best[1])


def _keep_best(
    model: Classifier,
    val: EvalSplit,
    num_classes: int,
    protocol: Protocol,
    device: torch.device,
    best: tuple[float, dict[str, torch.Tensor]] | None,
) -> tuple[float, dict[str, torch.Tensor]]:
    """``(validation MCR, state)`` of the model now, or ``best`` when that was strictly better (ties: the earlier)."""
    preds = predict(model, val.bank, protocol, device)
    mcr = mean_class_recall(confusion_matrix(val.labels, preds, num_classes))
    if best is not None and best[0] >= mcr:
        return best
    return mcr, {k: v.detach().clone() for k, v in model.state_dict().items()}


@torch.no_grad()
def _choose_tau(
    model: Classifier,
    kind: Stage2Kind,
    val: EvalSplit,
    class_counts: torch.Tensor,
    protocol: Protocol,
    device: torch.device,
) -> dict[str, float]:
    """Replace the head by ``kind.searched_head(head, τ)`` for the τ of ``kind.tau_grid`` with the best validation MCR;
    returns the choice (τ and its validation MCR).

    Validation features are computed once (centre crop, batch by batch, as :func:`predict_with_logits`), and each
    τ's head is applied to them batch by batch under the same autocast as the final prediction, so that the
    recorded validation MCR is the one of the stored validation predictions (bf16 included). Ties go to the first
    τ of the grid. Only ``val`` is read; the choice is announced as the event ``stage2-search``.
    """
    base = model.head
    feats = list(features(model, val.bank, protocol, device))
    num_classes = len(class_counts)
    best_tau, best_mcr = kind.tau_grid[0], -math.inf
    for tau in kind.tau_grid:
        head = kind.searched_head(base, tau, class_counts)
        with autocast(device, protocol.precision):
            preds = np.concatenate([head(f).argmax(1).cpu().numpy() for f in feats]) if feats else np.zeros(0, int)
        mcr = mean_class_recall(confusion_matrix(val.labels, preds, num_classes))
        if mcr > best_mcr:
            best_tau, best_mcr = tau, mcr
    model.head = kind.searched_head(base, best_tau, class_counts)
    events.announce("stage2-search", f"{kind.id_suffix} split=val tau={best_tau:g} val_mcr={best_mcr:.4f}")
    return {"tau": float(best_tau), "val_mcr": float(best_mcr)}
