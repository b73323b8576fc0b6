"""Stage 1: the method's recipe trained end to end, resumable from its last epoch checkpoint.

The engine owns the optimizer, the schedule, mixed precision, the loop and the epoch checkpoints; a method
only turns batches into losses (:meth:`methods.base.Method.training_step`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from methods.base import Batch, Classifier, Method, StepInfo

from .. import events
from ..protocol import Protocol
from . import checkpoints
from .augment import BatchAugmenter
from .inputs import TrainSplit, batches, epoch_positions, make_augmenter
from .precision import autocast, use_channels_last
from .schedule import EpochCallback, schedule_lr


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
            events.announce("stage1-epoch", str(epoch))
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
