"""The training engine: stage 1 (the method's recipe), stage 2 (frozen extractor, new head), prediction.

The engine owns the optimizer, the warmup + cosine schedule, mixed precision, the loop,
epoch checkpoints for resuming, and evaluation; methods only turn batches into losses.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from methods.base import Batch, Classifier, Method, Rebalance, StepInfo
from methods.stage2 import Stage2Kind

from .. import faults
from ..metrics import confusion_matrix, mean_class_recall
from ..protocol import Protocol
from . import checkpoints
from .augment import BatchAugmenter
from .inputs import ImageBank, batches, epoch_positions, make_augmenter

#: Called after each epoch with (epoch index, epochs, last loss).
EpochCallback = Callable[[int, int, float], None]


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> cuda when available, else cpu."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda: no CUDA device is available")
    return torch.device(name)


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, lr: float, min_lr: float) -> float:
    """Learning rate at ``step``: linear warmup to ``lr``, then cosine annealing to ``min_lr``."""
    if warmup_steps > 0 and step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * progress))


def autocast(device: torch.device, precision: str = "float32") -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (``float32`` or ``bf16``), and on the CPU with ``precision = "bf16"`` (the GPU's
    numerics, testable without a GPU); nothing otherwise (``float32`` on the CPU stays exactly reproducible)
    or in ``float64``."""
    if precision == "bf16" or (device.type == "cuda" and precision != "float64"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


#: Parameter and tensor dtype of each protocol ``precision`` ("bf16": float32 weights under bf16 autocast).
PRECISIONS = {"float32": torch.float32, "float64": torch.float64, "bf16": torch.float32}


def use_channels_last(precision: str) -> bool:
    """Channels-last batches and weights, on CUDA and CPU alike, except in float64.

    On the CPU, oneDNN's channels-last convolutions train the quick protocol's ResNet about 19 %
    faster than NCHW (benchmarks/engine_throughput.py); float64 has no oneDNN kernels, and its
    golden results were recorded in NCHW.
    """
    return precision != "float64"


@contextlib.contextmanager
def numeric_precision(precision: str) -> Iterator[None]:
    """Create every tensor and parameter in the dtype of ``precision`` (:data:`PRECISIONS`) inside the block.

    float64 is the portable reference path: with float32, the summation order of a reduction
    (which depends on the thread count and on the CPU's SIMD kernels) moves a short training
    enough to flip test predictions; in float64 those differences stay ~1e-12 and never do.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    before = torch.get_default_dtype()
    torch.set_default_dtype(PRECISIONS[precision])
    try:
        yield
    finally:
        torch.set_default_dtype(before)


@dataclass
class TrainSplit:
    """The training split bound to a device: images, labels, class counts."""

    bank: ImageBank
    labels: np.ndarray  # per position in the bank
    class_counts: torch.Tensor  # on the device

    @property
    def num_classes(self) -> int:
        return len(self.class_counts)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the learning rate of every parameter group the schedule drives: a group that says
    ``"scheduled": False`` (e.g. a method's class centres, see ``Method.param_groups``) keeps its own."""
    for group in optimizer.param_groups:
        if group.get("scheduled", True):
            group["lr"] = lr


def schedule_lr(optimizer: torch.optim.Optimizer, step: int, total: int, warmup: int, lr: float, min_lr: float) -> None:
    """Stage 1's :func:`warmup_cosine` at ``step`` for every scheduled group; a group with a ``"peak_lr"`` (the
    authors' centre optimiser of CE+CT, ``Method.param_groups``) follows the same warm-up and cosine to ``min_lr``
    from its own peak; a group with ``"scheduled": False`` keeps its lr."""
    for group in optimizer.param_groups:
        if group.get("scheduled", True):
            group["lr"] = warmup_cosine(step, total, warmup, group.get("peak_lr", lr), min_lr)


def _resume(path: Path, model: Classifier, optimizer: torch.optim.Optimizer, device: torch.device, epochs: int) -> int:
    """The epoch to start from: the one after the saved epoch, or 0 without a usable resume file.

    A resume file that is corrupt or does not belong to this training (wrong keys or shapes,
    an epoch outside the protocol's) is set aside, and training starts over.
    """
    state = checkpoints.load_or_set_aside(path, device)
    if state is None:
        return 0
    problem = _resume_problem(state, model, epochs)
    if problem is None:
        try:
            optimizer.load_state_dict(state["optimizer"])  # validates before it changes anything
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            problem = f"optimizer state does not fit ({type(e).__name__}: {e})"
    if problem is not None:
        checkpoints.set_aside(path, f"stale resume file: {problem}")
        return 0
    model.load_state_dict(state["model"])
    return int(state["epoch"]) + 1


def _resume_problem(state: object, model: Classifier, epochs: int) -> str | None:
    if not isinstance(state, dict) or not {"model", "optimizer", "epoch"} <= set(state):
        return "not a resume file (keys model, optimizer, epoch expected)"
    epoch = state["epoch"]
    if not isinstance(epoch, int) or not 0 <= epoch < epochs:
        return f"epoch {epoch!r} outside 0..{epochs - 1}"
    mismatch = checkpoints.state_mismatch(model, state["model"])
    return None if mismatch is None else f"model state {mismatch}"


def train_stage1(
    method: Method,
    model: Classifier,
    data: TrainSplit,
    protocol: Protocol,
    device: torch.device,
    seed: int,
    resume_path: Path | None = None,
    on_epoch: EpochCallback | None = None,
) -> Classifier:
    """Train the method's stage-1 recipe; resumes from ``resume_path`` (saved after every epoch)."""
    p = protocol
    model.to(device)
    channels_last = use_channels_last(p.precision)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    loop = _Stage1Loop(
        method,
        model,
        data,
        p,
        device,
        seed,
        optimizer=torch.optim.SGD(
            method.param_groups(model), lr=p.lr, momentum=p.momentum, weight_decay=p.weight_decay, nesterov=p.nesterov
        ),
        augment=make_augmenter(p, channels_last),
        steps_per_epoch=len(batches(np.arange(len(data.bank)), p.batch_size, p.max_steps_per_epoch)),
    )
    start_epoch = _resume(resume_path, model, loop.optimizer, device, p.epochs) if resume_path is not None else 0
    for epoch in range(start_epoch, p.epochs):
        loss_value = loop.epoch(epoch)
        if not math.isfinite(loss_value):
            raise FloatingPointError(f"{method.display_name}: non-finite loss in epoch {epoch + 1}")
        if resume_path is not None:
            checkpoints.save_checkpoint(
                {"model": model.state_dict(), "optimizer": loop.optimizer.state_dict(), "epoch": epoch}, resume_path
            )
            faults.kill_point("stage1-epoch")
        if on_epoch:
            on_epoch(epoch, p.epochs, loss_value)
    return model


@dataclass
class _Stage1Loop:
    """One stage-1 training: what every epoch of :func:`train_stage1` shares."""

    method: Method
    model: Classifier
    data: TrainSplit
    protocol: Protocol
    device: torch.device
    seed: int
    optimizer: torch.optim.Optimizer
    augment: BatchAugmenter
    steps_per_epoch: int
    #: StepInfo.memo: per-class constants, computed once per training.
    step_cache: dict = field(default_factory=dict)

    def epoch(self, epoch: int) -> float:
        """Train one epoch; its last step's loss (read once: a per-step float() would make the CPU wait for
        the GPU every step, and a NaN stays NaN through the remaining steps, so the caller's check still
        catches it)."""
        p, method, data = self.protocol, self.method, self.data
        self.model.train()
        rng = np.random.default_rng([self.seed, epoch])  # per-epoch streams: a resumed run matches an unbroken one
        gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        positions = batches(epoch_positions(method.sampling, data.labels, rng), p.batch_size, p.max_steps_per_epoch)
        paired = (
            batches(epoch_positions(method.paired_sampling, data.labels, rng), p.batch_size, p.max_steps_per_epoch)
            if method.paired_sampling
            else None
        )
        total = self.steps_per_epoch * p.epochs
        last_loss = torch.tensor(float("nan"))
        for i, pos in enumerate(positions):
            step = epoch * self.steps_per_epoch + i
            schedule_lr(self.optimizer, step, total, p.warmup_epochs * self.steps_per_epoch, p.lr, p.min_lr)
            batch = _make_batch(
                data, pos, paired[i % len(paired)] if paired else None, method.views, self.augment, gen, self.device
            )
            info = StepInfo(
                epoch=epoch,
                epochs=p.epochs,
                step=step,
                steps_per_epoch=self.steps_per_epoch,
                class_counts=data.class_counts,
                generator=gen,
                cache=self.step_cache,
            )
            with autocast(self.device, p.precision):
                out = method.training_step(self.model, batch, info)
            loss = out["loss"]
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            last_loss = loss.detach()
        return float(last_loss)


def _make_batch(
    data: TrainSplit,
    pos: np.ndarray,
    paired_pos: np.ndarray | None,
    views: int,
    augment: BatchAugmenter,
    gen: torch.Generator,
    device: torch.device,
) -> Batch:
    raw = data.bank.gather(pos)
    labels = torch.as_tensor(data.labels[pos], device=device)
    all_views = tuple(augment(raw, True, gen) for _ in range(max(1, views)))
    batch = Batch(images=all_views[0], labels=labels, views=all_views)
    if paired_pos is not None:
        batch.paired_images = augment(data.bank.gather(paired_pos), True, gen)
        batch.paired_labels = torch.as_tensor(data.labels[paired_pos], device=device)
    return batch


@dataclass
class EvalSplit:
    """A held-out split bound to a device: images and labels (the validation split for stage-2 searches)."""

    bank: ImageBank
    labels: np.ndarray  # per position in the bank


def train_stage2(
    model: Classifier,
    rebalance: Rebalance,
    data: TrainSplit,
    protocol: Protocol,
    device: torch.device,
    seed: int,
    on_epoch: EpochCallback | None = None,
    val: EvalSplit | None = None,
) -> Classifier:
    """Stage 2 on the frozen, eval-mode extractor, as the kind ``rebalance.stage2`` declares it.

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
    if kind.searches:
        assert val is not None
        _choose_tau(model, kind, val, data.class_counts, protocol, device)
    return model


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
) -> None:
    """Replace the head by ``kind.searched_head(head, τ)`` for the τ of ``kind.tau_grid`` with the best validation MCR.

    Validation features are computed once (centre crop, batch by batch, as :func:`predict_with_logits`), and each
    τ's head is applied to them batch by batch under the same autocast as the final prediction, so that the
    recorded validation MCR is the one of the stored validation predictions (bf16 included). Ties go to the first
    τ of the grid. Only ``val`` is read; the choice is traced (``MEDLT_TRACE``) as ``stage2-search``.
    """
    base = model.head
    feats = list(_features(model, val.bank, protocol, device))
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
    model.stage2_choice = {"tau": float(best_tau), "val_mcr": float(best_mcr)}  # recorded in the result
    faults.trace("stage2-search", f"{kind.id_suffix} split=val tau={best_tau:g} val_mcr={best_mcr:.4f}")


@torch.no_grad()
def _features(model: Classifier, bank: ImageBank, protocol: Protocol, device: torch.device) -> Iterator[torch.Tensor]:
    """Extractor features on the centre crop, batch by batch, for every image of the bank, in order."""
    augment = make_augmenter(protocol, use_channels_last(protocol.precision))
    for start in range(0, len(bank), protocol.eval_batch_size):
        pos = np.arange(start, min(start + protocol.eval_batch_size, len(bank)))
        with autocast(device, protocol.precision):
            yield model.features(augment(bank.gather(pos), False))


@torch.no_grad()
def predict_with_logits(
    model: nn.Module, bank: ImageBank, protocol: Protocol, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """``(predictions, logits)`` on the centre crop, for every image of the bank, in order.

    The predictions (int64, shape (N,)) are the argmax of the logits in the precision the model ran in
    (bf16 under CUDA autocast, float32 or float64), so they do not depend on how the logits are stored.
    The logits come back as float32, shape (N, C) (float64 runs are rounded to float32 here; the result
    store rounds them further to float16, see :func:`benchmark.metrics.stored_logits`).
    """
    model.to(device).eval()
    augment = make_augmenter(protocol, use_channels_last(protocol.precision))
    preds, logit_parts = [], []
    for start in range(0, len(bank), protocol.eval_batch_size):
        pos = np.arange(start, min(start + protocol.eval_batch_size, len(bank)))
        with autocast(device, protocol.precision):
            logits = model(augment(bank.gather(pos), False))
        preds.append(logits.argmax(1).cpu().numpy())
        logit_parts.append(logits.float().cpu().numpy())
    if not preds:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    return np.concatenate(preds), np.concatenate(logit_parts)


def predict(model: nn.Module, bank: ImageBank, protocol: Protocol, device: torch.device) -> np.ndarray:
    """Argmax predictions on the centre crop, for every image of the bank, in order."""
    return predict_with_logits(model, bank, protocol, device)[0]
