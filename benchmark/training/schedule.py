"""The learning-rate schedule every stage follows: linear warm-up, then cosine annealing, per step."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

#: Called after each epoch with (epoch index, epochs, last loss).
EpochCallback = Callable[[int, int, float], None]


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, lr: float, min_lr: float) -> float:
    """Learning rate at ``step``: linear warmup to ``lr``, then cosine annealing to ``min_lr``."""
    if warmup_steps > 0 and step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * progress))


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
