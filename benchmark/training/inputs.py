"""Training input: prepared uint8 images to augmented batches on the device, no decoding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from methods import samplers

from ..protocol import Protocol
from .augment import BatchAugmenter

#: A split whose uint8 images fit in this many bytes is copied to the device once.
DEVICE_BANK_BYTES = 4 << 30


class ImageBank:
    """The uint8 images of one split, on the device when they fit, else gathered from the memory map."""

    def __init__(
        self, images: np.ndarray, indices: np.ndarray, device: torch.device, max_bytes: int = DEVICE_BANK_BYTES
    ):
        self.indices = np.asarray(indices, dtype=np.int64)
        self.device = device
        nbytes = len(self.indices) * int(np.prod(images.shape[1:]))
        self.resident = nbytes <= max_bytes
        self._images = images
        self._tensor = (
            torch.from_numpy(np.ascontiguousarray(images[self.indices])).to(device) if self.resident else None
        )
        self._out: Tensor | None = None

    def __len__(self) -> int:
        return len(self.indices)

    def gather(self, positions: np.ndarray) -> Tensor:
        """uint8 (B, S, S, 3) on the device for positions 0..len-1 of this split.

        The result lives in a buffer that the next ``gather`` of the same size overwrites.
        """
        if self._tensor is not None:
            index = torch.as_tensor(positions, device=self.device)
            shape = (len(index), *self._tensor.shape[1:])
            if self._out is None or tuple(self._out.shape) != shape:
                self._out = torch.empty(shape, dtype=torch.uint8, device=self.device)
            return torch.index_select(self._tensor, 0, index, out=self._out)
        block = torch.from_numpy(np.ascontiguousarray(self._images[self.indices[positions]]))
        if self.device.type == "cuda":
            block = block.pin_memory()
        return block.to(self.device, non_blocking=True)


@dataclass
class TrainSplit:
    """The training split bound to a device: images, labels, class counts."""

    bank: ImageBank
    labels: np.ndarray  # per position in the bank
    class_counts: torch.Tensor  # on the device

    @property
    def num_classes(self) -> int:
        return len(self.class_counts)


@dataclass
class EvalSplit:
    """A held-out split bound to a device: images and labels (the validation split for stage-2 searches)."""

    bank: ImageBank
    labels: np.ndarray  # per position in the bank


def epoch_positions(
    sampling: str, labels: np.ndarray, rng: np.random.Generator, samples_per_class: int = 4
) -> np.ndarray:
    """One epoch of positions drawn by the named sampler ("instance", "class_balanced", "class_aware" with
    ``samples_per_class`` consecutive images per class visit, "reversed")."""
    draw = {
        "instance": lambda: samplers.instance_indices(labels, rng),
        "class_balanced": lambda: samplers.class_balanced_indices(labels, rng),
        "class_aware": lambda: samplers.class_aware_indices(labels, rng, samples_per_class),
        "reversed": lambda: samplers.reversed_indices(labels, rng),
    }
    if sampling not in draw:
        raise ValueError(f"unknown sampling {sampling!r}; valid: {', '.join(draw)}")
    return draw[sampling]()


def batches(positions: np.ndarray, batch_size: int, max_steps: int = 0) -> list[np.ndarray]:
    """Consecutive batches; the last partial batch is dropped unless it is the only one
    (a batch of one breaks batch norm), and at most ``max_steps`` when > 0."""
    n_full = len(positions) // batch_size
    out = [positions[i * batch_size : (i + 1) * batch_size] for i in range(n_full)] or [positions]
    return out[:max_steps] if max_steps > 0 else out


def make_augmenter(protocol: Protocol, channels_last: bool = False) -> BatchAugmenter:
    """The protocol's augmentation (resolution, rotation, flip)."""
    return BatchAugmenter(protocol.image_size, protocol.rotation, protocol.hflip, channels_last)
