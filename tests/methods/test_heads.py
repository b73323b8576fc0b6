"""Tests for methods.heads."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from methods.heads import NormedLinear, ProjectionHead


def test_normed_linear_cosines() -> None:
    torch.manual_seed(0)
    head = NormedLinear(16, 5)
    assert head.weight.shape == (16, 5)
    assert list(dict(head.named_parameters())) == ["weight"]  # no bias
    torch.testing.assert_close(head.weight.norm(dim=0), torch.ones(5), rtol=1e-4, atol=1e-4)
    x = torch.randn(7, 16) * 50
    out = head(x)
    assert out.shape == (7, 5)
    assert out.abs().max() <= 1 + 1e-6
    torch.testing.assert_close(out, F.cosine_similarity(x.unsqueeze(2), head.weight.unsqueeze(0), dim=1))
    # A feature equal to a class column has cosine 1 with it.
    torch.testing.assert_close(head(head.weight.T[2:3] * 3)[0, 2], torch.tensor(1.0))
    out.sum().backward()
    assert torch.isfinite(head.weight.grad).all()


def test_projection_head() -> None:
    head = ProjectionHead(64)
    assert head(torch.randn(3, 64)).shape == (3, 128)
    layers = list(head.net)
    assert [type(m).__name__ for m in layers] == ["Linear", "ReLU", "Linear"]
    assert layers[0].out_features == 512
    assert ProjectionHead(10, hidden=20, out_features=4)(torch.randn(2, 10)).shape == (2, 4)
