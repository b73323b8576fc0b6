"""Prediction on the centre crop: features, logits and class predictions for every image of a split, in order."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from methods.base import Classifier

from ..protocol import Protocol
from .inputs import ImageBank, make_augmenter
from .precision import autocast, use_channels_last


@torch.no_grad()
def features(model: Classifier, bank: ImageBank, protocol: Protocol, device: torch.device) -> Iterator[torch.Tensor]:
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
