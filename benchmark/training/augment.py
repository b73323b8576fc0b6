"""Batch augmentation on the training device: rotation, random crop and flip as one affine warp.

Images arrive as uint8 (B, S, S, 3) at the prepared cache size S and leave as normalised
float (B, 3, R, R) at the protocol's resolution R. Each sample draws its own parameters
from a CPU generator, so a seed gives the same augmentation on CPU and GPU. Compared with
per-image PIL transforms this decodes nothing and makes one pass over each batch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def affine_matrices(
    batch: int,
    cache_size: int,
    image_size: int,
    train: bool,
    rotation: float,
    hflip: bool,
    generator: torch.Generator | None = None,
) -> Tensor:
    """(B, 2, 3) ``affine_grid`` matrices mapping output to input coordinates.

    Train: flip (p = 0.5), a random ``image_size`` crop of the ``cache_size`` image, and a
    rotation in [-rotation, rotation] degrees about the centre, composed as
    ``input = R(θ) · (s · F · out + t)``. Test: the centre crop (no rotation, no flip).
    """
    s = image_size / cache_size
    theta = torch.zeros(batch, 2, 3)
    if not train:
        theta[:, 0, 0] = s
        theta[:, 1, 1] = s
        return theta
    angle = (torch.rand(batch, generator=generator) * 2 - 1) * math.radians(rotation)
    flip = torch.where(torch.rand(batch, generator=generator) < 0.5, -1.0, 1.0) if hflip else torch.ones(batch)
    shift = (torch.rand(batch, 2, generator=generator) * 2 - 1) * (1 - s)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta[:, 0, 0] = cos * s * flip
    theta[:, 0, 1] = -sin * s
    theta[:, 1, 0] = sin * s * flip
    theta[:, 1, 1] = cos * s
    theta[:, 0, 2] = cos * shift[:, 0] - sin * shift[:, 1]
    theta[:, 1, 2] = sin * shift[:, 0] + cos * shift[:, 1]
    return theta


class BatchAugmenter:
    """The protocol's augmentation as a reusable object: float and grid workspaces are kept
    between calls (on CPU, allocating a fresh 30 MB tensor per batch costs more in page
    faults than the warp itself).

    Returned batches are fresh tensors; only the internal workspaces are reused.
    """

    def __init__(self, image_size: int, rotation: float = 30.0, hflip: bool = True, channels_last: bool = False):
        self.image_size = image_size
        self.rotation = rotation
        self.hflip = hflip
        self.channels_last = channels_last
        self._work: dict[tuple, Tensor] = {}

    def _buffer(self, name: str, shape: tuple[int, ...], device: torch.device) -> Tensor:
        key = (name, shape, device)
        if key not in self._work:
            if len(self._work) > 8:  # batch shapes changed (last batch, eval): start over
                self._work.clear()
            self._work[key] = torch.empty(shape, device=device)
        return self._work[key]

    def _base_grid(self, device: torch.device) -> Tensor:
        """(1, R*R, 3) homogeneous output coordinates, as ``affine_grid(align_corners=False)`` uses."""
        key = ("base", self.image_size, device)
        if key not in self._work:
            r = self.image_size
            lin = torch.linspace(-1 + 1 / r, 1 - 1 / r, r, device=device)
            self._work[key] = torch.stack(
                [lin.view(1, r).expand(r, r), lin.view(r, 1).expand(r, r), torch.ones(r, r, device=device)], -1
            ).view(1, r * r, 3)
        return self._work[key]

    def __call__(self, images: Tensor, train: bool, generator: torch.Generator | None = None) -> Tensor:
        """uint8 (B, S, S, 3) on any device -> normalised float (B, 3, R, R) on the same device."""
        b, size, r, device = images.shape[0], images.shape[1], self.image_size, images.device
        # float in the stored (B, S, S, 3) layout, viewed as channels-last NCHW; 1/255 and the
        # normalisation are folded into one multiply-add after the warp, on the smaller output
        # (interpolation is linear, so the order does not change the result).
        x = self._buffer("float", tuple(images.shape), device).copy_(images).permute(0, 3, 1, 2)
        scale, bias = _normalisation(device)
        if not train and r == size:
            x = x * scale + bias
        else:
            theta = affine_matrices(b, size, r, train, self.rotation, self.hflip, generator).to(device)
            grid = self._buffer("grid", (b, r * r, 2), device)
            torch.matmul(self._base_grid(device).expand(b, -1, -1), theta.transpose(1, 2), out=grid)
            x = F.grid_sample(x, grid.view(b, r, r, 2), mode="bilinear", padding_mode="zeros", align_corners=False)
            x = x.mul_(scale).add_(bias)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x.contiguous()


def augment_batch(
    images: Tensor,
    image_size: int,
    train: bool,
    rotation: float = 30.0,
    hflip: bool = True,
    generator: torch.Generator | None = None,
    channels_last: bool = False,
) -> Tensor:
    """One-off form of :class:`BatchAugmenter` (no workspace reuse)."""
    return BatchAugmenter(image_size, rotation, hflip, channels_last)(images, train, generator)


def _normalisation(device: torch.device) -> tuple[Tensor, Tensor]:
    """(x / 255 - mean) / std  ==  x * scale + bias, per channel."""
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    return 1.0 / (255.0 * std), -mean / std
