"""Tests for methods.bilateral_branch: cumulative-learning α and the bilateral-branch backbone."""

from __future__ import annotations

import pytest
import timm
import torch
from torch import nn

from methods.bilateral_branch import BBNBackbone, bbn_alpha, bbn_mix_features, find_last_block


def test_bbn_alpha() -> None:
    assert bbn_alpha(1, 100) == 1.0
    assert bbn_alpha(100, 100) == pytest.approx(1 - (99 / 100) ** 2)  # 0.0199
    assert bbn_alpha(51, 100) == pytest.approx(0.75)
    assert bbn_alpha(3, 4) == pytest.approx(0.75)  # 1 - (2/4)^2
    values = [bbn_alpha(e, 10) for e in range(1, 11)]
    assert values == sorted(values, reverse=True)
    for bad in (0, 101):
        with pytest.raises(ValueError):
            bbn_alpha(bad, 100)


def test_bbn_mix_features() -> None:
    f_c, f_r = torch.randn(3, 4), torch.randn(3, 4)
    torch.testing.assert_close(bbn_mix_features(f_c, f_r, 0.5), torch.cat([f_c, f_r], 1))
    torch.testing.assert_close(bbn_mix_features(f_c, f_r, 0.75), torch.cat([1.5 * f_c, 0.5 * f_r], 1))


def _make(name: str) -> tuple[int, BBNBackbone]:
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, num_classes=0)
    n_params = sum(p.numel() for p in model.parameters())
    return n_params, BBNBackbone(model)


@pytest.mark.parametrize(
    "name,block",
    [
        ("resnet18", "layer4.1"),
        ("mobilenetv2_035", "blocks.6"),
        ("test_convnext", "stages.3"),
        ("densenet121", "features.denseblock4"),
    ],
)
def test_bbn_backbone(name: str, block: str) -> None:
    n_params, bbn = _make(name)
    assert bbn.block_name == block
    d = bbn.feat_dim
    assert d == bbn.model.num_features
    conv, reb = bbn.conventional_block, bbn.rebalancing_block
    conv_params, reb_params = list(conv.parameters()), list(reb.parameters())
    # Two separate copies of the block, equal at construction.
    assert conv is not reb and conv_params
    assert {id(p) for p in conv_params}.isdisjoint(id(p) for p in reb_params)
    for p, q in zip(conv_params, reb_params):
        assert p.data_ptr() != q.data_ptr() and torch.equal(p, q)
    # Everything else is shared: the only extra parameters are the copy's.
    n_block = sum(p.numel() for p in reb_params)
    assert sum(p.numel() for p in bbn.parameters()) == n_params + n_block

    x_c, x_r = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    # The copies start equal (weights and batch-norm statistics): both halves agree.
    bbn.eval()
    with torch.no_grad():
        out = bbn(x_c)
    torch.testing.assert_close(out[:, :d], out[:, d:], rtol=1e-5, atol=1e-5)

    bbn.train()
    f_c, f_r = bbn.forward_branches(x_c, x_r)
    assert f_c.shape == (2, d) and f_r.shape == (2, d)
    # Gradients: f_r reaches the shared trunk and the rebalancing copy, never the conventional block.
    f_r.pow(2).sum().backward()
    trunk = [p for n, p in bbn.named_parameters() if ".conventional." not in n and ".rebalancing." not in n]
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trunk)
    assert all(p.grad is None for p in conv_params)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in reb_params)

    # Plain forward = cat of both branches on the same input (train and eval mode).
    with torch.no_grad():
        torch.testing.assert_close(bbn(x_c), torch.cat(bbn.forward_branches(x_c, x_c), 1))
        bbn.eval()
        out = bbn(x_c)
        assert out.shape == (2, 2 * d)
        torch.testing.assert_close(out, torch.cat(bbn.forward_branches(x_c, x_c), 1), rtol=1e-5, atol=1e-5)
        # Once the copies differ, so do the halves, and forward still matches the branches.
        for p in reb_params:
            p.add_(0.1)
        out = bbn(x_c)
        torch.testing.assert_close(out, torch.cat(bbn.forward_branches(x_c, x_c), 1), rtol=1e-5, atol=1e-5)
        assert not torch.allclose(out[:, :d], out[:, d:])


def test_resnet_block_is_last_bottleneck_of_layer4() -> None:
    model = timm.create_model("resnet18", pretrained=False, num_classes=0)
    last = model.layer4[-1]
    bbn = BBNBackbone(model)
    assert bbn.conventional_block is last
    assert bbn.model.layer4[-1] is bbn.switch
    assert isinstance(bbn.rebalancing_block, type(last))
    names = [n for n, _ in bbn.named_parameters()]
    assert "model.layer4.1.conventional.conv1.weight" in names
    assert "model.layer4.1.rebalancing.conv1.weight" in names
    assert "model.layer4.0.conv1.weight" in names  # the first block of the stage is shared


def test_bbn_rejects_unsplittable_and_classifier_models() -> None:
    class Tiny(nn.Module):
        num_classes = 0
        num_features = 4

        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

    with pytest.raises(ValueError, match="Tiny"):
        find_last_block(Tiny())
    with pytest.raises(ValueError, match="Tiny"):
        BBNBackbone(Tiny())
    with pytest.raises(ValueError, match="num_classes=0"):
        BBNBackbone(timm.create_model("test_resnet", pretrained=False, num_classes=3))
