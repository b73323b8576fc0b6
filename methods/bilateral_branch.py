"""BBN: bilateral-branch network (Zhou et al., CVPR 2020) on a timm backbone."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import timm
import torch
from torch import Tensor, nn

__all__ = ["bbn_alpha", "bbn_mix_features", "find_last_block", "BBNBackbone"]


def bbn_alpha(epoch: int, total_epochs: int) -> float:
    """Cumulative-learning weight ``α = 1 - ((e - 1) / E)²`` for the 1-based ``epoch`` ``e`` of ``E``.

    The BBN reference's parabolic decay: 1 at the first epoch, decreasing to
    ``1 - ((E - 1) / E)²`` at the last.
    """
    if total_epochs <= 0:
        raise ValueError(f"total_epochs must be positive, got {total_epochs}")
    if not 1 <= epoch <= total_epochs:
        raise ValueError(f"epoch is 1-based and must be in [1, {total_epochs}], got {epoch}")
    return 1.0 - ((epoch - 1) / total_epochs) ** 2


def bbn_mix_features(f_c: Tensor, f_r: Tensor, alpha: float) -> Tensor:
    """``2 · [α f_c, (1 - α) f_r]``, the input of BBN's single linear classifier.

    At inference ``α = 0.5`` this is ``cat(f_c, f_r)``, i.e. ``BBNBackbone.forward``.
    """
    return torch.cat([2.0 * alpha * f_c, 2.0 * (1.0 - alpha) * f_r], dim=1)


_STAGE_CONTAINERS = ("stages", "blocks", "layers")


def _is_stage_like(module: nn.Module) -> bool:
    """True for a module holding sub-modules with parameters (a stage or block, not a bare norm/act)."""
    return any(any(True for _ in child.parameters()) for child in module.children())


def find_last_block(model: nn.Module) -> str:
    """Dotted name of the module BBN duplicates in ``model``.

    * timm ``ResNet``: ``layer4.<last>``, the last basic/bottleneck block of the
      last stage (as in the BBN reference).
    * otherwise the last stage: the last element of ``stages`` (ConvNeXt,
      ByobNet, NFNet, MaxViT, ...), ``blocks`` (EfficientNet / MobileNet: the
      last stage; ViT: the last block) or ``layers``, or the last stage-like
      child of ``features`` (DenseNet: ``features.denseblock4``; the final
      ``norm5`` stays shared).

    Raises ``ValueError`` naming the model class when it cannot split it.
    """
    if isinstance(model, timm.models.resnet.ResNet):
        return f"layer4.{len(list(model.get_submodule('layer4').children())) - 1}"
    for attr in _STAGE_CONTAINERS:
        container = getattr(model, attr, None)
        if isinstance(container, (nn.Sequential, nn.ModuleList)) and len(container) > 0:
            return f"{attr}.{len(container) - 1}"
    features = getattr(model, "features", None)
    if isinstance(features, nn.Module):
        stage_names = [name for name, child in features.named_children() if _is_stage_like(child)]
        if stage_names:
            return f"features.{stage_names[-1]}"
    raise ValueError(
        f"BBNBackbone cannot find the last block/stage of {type(model).__name__}: expected a timm "
        "ResNet or a model with a `stages`, `blocks`, `layers` or `features` container"
    )


class _BranchSwitch(nn.Module):
    """Stands in for the duplicated block: runs the conventional, the re-balancing, or both copies."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.conventional = block
        self.rebalancing = copy.deepcopy(block)
        self.mode = "conventional"

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor
        if self.mode == "conventional":
            out = self.conventional(x)
        elif self.mode == "rebalancing":
            out = self.rebalancing(x)
        else:  # "both": stack the two branch outputs along the batch dimension.
            out = torch.cat([self.conventional(x), self.rebalancing(x)], dim=0)
        return out


class BBNBackbone(nn.Module):
    """BBN feature extractor: a timm backbone with its last block duplicated.

    ``model`` must be created with ``num_classes=0`` (global pooling on); it is
    taken over and modified in place: the module named by
    :func:`find_last_block` is replaced by a switch holding the conventional
    block and a re-balancing copy (a ``deepcopy`` of it at construction). All
    other modules, including any layers after the block (e.g. EfficientNet's
    ``conv_head``, DenseNet's ``norm5``, pooling), are shared by both branches.

    Parameter names: the conventional block lives at
    ``model.<block>.conventional``, the copy at ``model.<block>.rebalancing``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if getattr(model, "num_classes", 0) != 0:
            raise ValueError(
                f"BBNBackbone needs a timm model created with num_classes=0, "
                f"got {type(model).__name__} with num_classes={model.num_classes}"
            )
        self.block_name = find_last_block(model)
        parent_name, _, child_name = self.block_name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child_name, _BranchSwitch(getattr(parent, child_name)))
        self.model = model
        num_features = model.num_features  # timm models: the pooled feature width
        if not isinstance(num_features, int):
            raise TypeError(f"BBNBackbone needs a timm model with an int `num_features`, got {num_features!r}")
        self.feat_dim: int = num_features

    @property
    def switch(self) -> _BranchSwitch:
        """The module standing in for the duplicated block inside ``model``."""
        switch = self.model.get_submodule(self.block_name)
        assert isinstance(switch, _BranchSwitch), f"{self.block_name} is a {type(switch).__name__}"
        return switch

    @property
    def conventional_block(self) -> nn.Module:
        return self.switch.conventional

    @property
    def rebalancing_block(self) -> nn.Module:
        return self.switch.rebalancing

    @contextmanager
    def _mode(self, mode: str) -> Iterator[None]:
        self.switch.mode = mode
        try:
            yield
        finally:
            self.switch.mode = "conventional"

    def forward_branches(self, x_conventional: Tensor, x_rebalancing: Tensor) -> tuple[Tensor, Tensor]:
        """Pooled features ``(f_c, f_r)``, each ``(N, feat_dim)``.

        The shared trunk runs separately on each input (as in the BBN
        reference), so batch-norm statistics are those of each batch.
        """
        with self._mode("conventional"):
            f_c = self.model(x_conventional)
        with self._mode("rebalancing"):
            f_r = self.model(x_rebalancing)
        return f_c, f_r

    def forward(self, x: Tensor) -> Tensor:
        """``cat([f_c, f_r], 1)`` with both branches on ``x``: ``(N, 2 · feat_dim)``.

        With α = 0.5 the BBN logits are ``FC(2 · [0.5 f_c, 0.5 f_r]) = FC(this)``.
        In eval mode the shared trunk runs once and the layers after the block
        see both branch outputs stacked along the batch (per-sample in eval
        mode); in training mode it is ``forward_branches(x, x)``, so batch
        statistics are never mixed across branches.
        """
        if self.training:
            return torch.cat(self.forward_branches(x, x), dim=1)
        with self._mode("both"):
            stacked = self.model(x)
        f_c, f_r = stacked.split(x.shape[0], dim=0)
        return torch.cat([f_c, f_r], dim=1)
