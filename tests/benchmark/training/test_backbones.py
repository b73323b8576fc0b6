"""Backbones: any timm name; pretrained weights only from a local file, with a clear error otherwise."""

from __future__ import annotations

import pytest
import timm
import torch

from benchmark.training.backbones import BackboneError, create_backbone


def test_feature_size_and_no_classifier():
    model, dim = create_backbone("test_resnet")
    assert model(torch.zeros(2, 3, 16, 16)).shape == (2, dim)


def test_pretrained_weights_from_a_local_file(tmp_path):
    torch.manual_seed(1)
    source = timm.create_model("test_resnet", pretrained=False)  # with its 1000-class head, like a hub checkpoint
    path = tmp_path / "test_resnet.pth"
    torch.save(source.state_dict(), path)
    model, _ = create_backbone("test_resnet", pretrained=True, weights_file=path)
    src = source.state_dict()
    for name, value in model.state_dict().items():
        assert torch.equal(value, src[name]), name


def test_pretrained_weights_from_weights_dir(tmp_path):
    """Weights found as ``<weights_dir>/<name>.pth`` are the ones loaded (not timm's random initialisation)."""
    torch.manual_seed(1)
    saved = timm.create_model("test_resnet").state_dict()  # with its 1000-class head, like a hub checkpoint
    torch.save(saved, tmp_path / "test_resnet.pth")
    torch.manual_seed(2)  # a random initialisation now differs from the saved weights
    model, _ = create_backbone("test_resnet", pretrained=True, weights_dir=tmp_path)
    for name, value in model.state_dict().items():
        assert torch.equal(value, saved[name]), name
    torch.manual_seed(2)
    fresh, _ = create_backbone("test_resnet")
    assert any(not torch.equal(value, saved[name]) for name, value in fresh.state_dict().items())


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(BackboneError, match="not found"):
        create_backbone("test_resnet", pretrained=True, weights_file=tmp_path / "nope.pth")


def test_unknown_backbone():
    with pytest.raises(BackboneError, match="unknown timm backbone 'resnet-9000'"):
        create_backbone("resnet-9000")


def test_missing_pretrained_weights_fail_fast_without_network(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache
    import time

    t0 = time.perf_counter()
    with pytest.raises(BackboneError, match="--weights FILE") as err:
        create_backbone("resnet18", pretrained=True)
    assert time.perf_counter() - t0 < 5 and "\n" not in str(err.value)


def test_run_checks_backbones_before_any_work(tmp_path, capsys):
    from benchmark.cli import main

    assert main(["run", "--method", "CE", "--backbone", "resnet-9000", "--results", str(tmp_path)]) == 2
    assert "unknown timm backbone 'resnet-9000'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
