"""Batch augmentation: exact centre crop at test time, flips and crops as pixel-exact warps."""

from __future__ import annotations

import torch

from benchmark.training.augment import IMAGENET_MEAN, IMAGENET_STD, affine_matrices, augment_batch


def normalise(u8: torch.Tensor) -> torch.Tensor:
    x = u8.permute(0, 3, 1, 2).float() / 255
    return (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


def images(b=6, s=36):
    return torch.randint(0, 256, (b, s, s, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def test_eval_is_the_exact_centre_crop():
    x = images()
    out = augment_batch(x, 32, train=False)
    torch.testing.assert_close(out, normalise(x)[:, :, 2:34, 2:34], atol=1e-4, rtol=0)


def test_flip_without_rotation_or_crop_is_pixel_exact():
    x = images(b=16, s=16)
    out = augment_batch(x, 16, train=True, rotation=0.0, hflip=True, generator=torch.Generator().manual_seed(1))
    ref = normalise(x)
    flipped = 0
    for i in range(len(x)):
        if torch.allclose(out[i], ref[i], atol=1e-4):
            continue
        torch.testing.assert_close(out[i], ref[i].flip(-1), atol=1e-4, rtol=0)
        flipped += 1
    assert 0 < flipped < len(x)


def test_random_crop_stays_inside_the_image():
    theta = affine_matrices(1000, 300, 224, True, 0.0, False, torch.Generator().manual_seed(0))
    s = 224 / 300
    assert torch.allclose(theta[:, 0, 0], torch.full((1000,), s)) and torch.all(theta[:, 0, 1] == 0)
    assert theta[:, :, 2].abs().max() <= 1 - s + 1e-6  # the crop never leaves the 300x300 image
    assert theta[:, :, 2].abs().max() > 0.8 * (1 - s)  # and reaches near the borders


def test_rotation_range_and_reproducibility():
    a = affine_matrices(500, 300, 224, True, 30.0, True, torch.Generator().manual_seed(3))
    b = affine_matrices(500, 300, 224, True, 30.0, True, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    flip = torch.sign(a[:, 0, 0] * a[:, 1, 1])  # cos > 0 for |angle| <= 30 degrees
    angle = torch.atan2(a[:, 1, 0] * flip, a[:, 1, 1]).abs()
    assert angle.max() <= torch.deg2rad(torch.tensor(30.0)) + 1e-5 and angle.max() > torch.deg2rad(torch.tensor(25.0))
