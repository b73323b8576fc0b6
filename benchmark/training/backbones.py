"""Backbones: any timm model name, with pretrained weights from a local file or the local cache only.

Nothing is downloaded unless the caller allows it (the command line: ``MEDLT_ALLOW_DOWNLOAD=1``): an offline
machine gets a one-line error naming the file to fetch, at once, instead of minutes of network retries.
"""

from __future__ import annotations

from pathlib import Path

import timm
from timm.models import get_pretrained_cfg
from torch import nn

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")


class BackboneError(RuntimeError):
    """A backbone cannot be created (unknown name, missing pretrained weights)."""


def check_backbone(
    name: str,
    pretrained: bool = False,
    weights_file: str | Path | None = None,
    weights_dir: str | Path | None = None,
    allow_download: bool = False,
) -> Path | None:
    """Fail fast on an unknown name or unavailable weights; returns the local weights file (None: none
    needed, or downloads allowed). Weights are looked for in ``weights_file``, then ``weights_dir/<name>.<ext>``,
    then the Hugging Face cache that timm uses."""
    if not timm.is_model(name):
        raise BackboneError(f"unknown timm backbone {name!r} (see timm.list_models())")
    if not pretrained:
        return None
    if weights_file is not None:
        if not Path(weights_file).is_file():
            raise BackboneError(f"pretrained weights file {weights_file} not found")
        return Path(weights_file)
    found = _weights_in_dir(name, weights_dir) or _weights_in_hub_cache(name)
    if found is not None or allow_download:
        return found
    raise BackboneError(
        f"pretrained weights for {name!r} not found locally: download timm's {name} checkpoint "
        f"(e.g. {_hub_id(name) or name} model.safetensors) on a connected machine and pass it with --weights FILE, "
        f"put it at $MEDLT_WEIGHTS_DIR/{name}.safetensors, or set MEDLT_ALLOW_DOWNLOAD=1 on an online machine"
    )


def create_backbone(
    name: str,
    pretrained: bool = False,
    weights_file: str | Path | None = None,
    weights_dir: str | Path | None = None,
    allow_download: bool = False,
) -> tuple[nn.Module, int]:
    """A timm model without classifier (``num_classes=0``, pooled features) and its feature size; pretrained
    weights as :func:`check_backbone` finds them."""
    weights = check_backbone(name, pretrained, weights_file, weights_dir, allow_download)
    kwargs: dict = {"num_classes": 0}
    if weights is not None:
        kwargs["pretrained_cfg_overlay"] = {"file": str(weights)}
    try:
        model = timm.create_model(name, pretrained=pretrained, **kwargs)
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        raise BackboneError(
            f"{name}: cannot load pretrained weights {weights or ''} ({type(e).__name__}: {str(e)[:160]})"
        ) from None
    num_features = model.num_features  # timm: the pooled feature width
    if not isinstance(num_features, int):
        raise BackboneError(f"{name}: expected an int num_features, got {num_features!r}")
    return model, num_features


def _weights_in_dir(name: str, root: str | Path | None) -> Path | None:
    if not root:
        return None
    for suffix in WEIGHT_SUFFIXES:
        p = Path(root) / f"{name}{suffix}"
        if p.is_file():
            return p
    return None


def _hub_id(name: str) -> str | None:
    cfg = get_pretrained_cfg(name)
    return getattr(cfg, "hf_hub_id", None) if cfg is not None else None


def _weights_in_hub_cache(name: str) -> Path | None:
    """timm's weights already in the local Hugging Face cache (no network)."""
    # lazy: huggingface_hub reads its cache location (HF_HUB_CACHE) when it is first imported
    from huggingface_hub import try_to_load_from_cache

    repo = _hub_id(name)
    if not repo:
        return None
    for filename in ("model.safetensors", "pytorch_model.bin"):
        path = try_to_load_from_cache(repo, filename)
        if isinstance(path, str):
            return Path(path)
    return None
