"""Backbones: any timm model name, with pretrained weights from a local file or timm's cache only."""
from __future__ import annotations

import os
from pathlib import Path

from torch import nn


class BackboneError(RuntimeError):
    """A backbone cannot be created (unknown name, missing pretrained weights)."""


def create_backbone(name: str, pretrained: bool = False, weights_file: str | Path | None = None) -> tuple[nn.Module, int]:
    """A timm model without classifier (``num_classes=0``, pooled features) and its feature size.

    Pretrained weights come from ``weights_file`` (or ``$MEDLT_WEIGHTS_DIR/<name>.pth`` /
    ``.safetensors``) or from timm's local cache; nothing is downloaded when offline.
    """
    import timm

    if not timm.is_model(name):
        raise BackboneError(f"unknown timm backbone {name!r} (see timm.list_models())")
    kwargs: dict = {"num_classes": 0}
    if pretrained:
        weights = Path(weights_file) if weights_file else _weights_in_dir(name)
        if weights is not None:
            if not weights.is_file():
                raise BackboneError(f"pretrained weights file {weights} not found")
            kwargs["pretrained_cfg_overlay"] = {"file": str(weights)}
        try:
            model = timm.create_model(name, pretrained=True, **kwargs)
        except Exception as e:  # timm raises hub/network errors of many types
            raise BackboneError(
                f"pretrained weights for {name!r} unavailable ({type(e).__name__}: {str(e)[:120]}). "
                f"Download timm's {name} checkpoint on a connected machine and pass its path with --weights FILE, "
                f"or put it at $MEDLT_WEIGHTS_DIR/{name}.pth") from None
    else:
        model = timm.create_model(name, pretrained=False, **kwargs)
    return model, int(model.num_features)


def _weights_in_dir(name: str) -> Path | None:
    root = os.environ.get("MEDLT_WEIGHTS_DIR")
    if not root:
        return None
    for suffix in (".safetensors", ".pth", ".pt", ".bin"):
        p = Path(root) / f"{name}{suffix}"
        if p.is_file():
            return p
    return None
