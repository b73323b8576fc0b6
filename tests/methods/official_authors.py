"""The study authors' released code, transcribed line by line for the ``authors`` protocol's tests.

Not a test module: ``test_authors_settings.py`` imports it. Source: github.com/Tsingwaa/classification at commit
79f4f6036ae4b66f8900758b4bc80a09268804c8 (2022-03-12, the last commit before the study's ``scripts/ce_ml`` moved to
``scripts/backup/``; its Skin7 / X-ray9 / PathMNIST metric-learning configs date from 2022-02, none exists before).
Each function or class names its file; the operations and their order are the original's, ``.cuda()`` becomes the
CPU, the ``@Losses.register_module`` registry is left out, and draws of ``np.random`` / ``random`` are arguments.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

COMMIT = "79f4f6036ae4b66f8900758b4bc80a09268804c8"


class CenterLoss(nn.Module):
    """``model/loss/center_loss.py``, ``CenterLoss`` (``margin == -1``, no class weight: the configs' setting)."""

    def __init__(self, num_classes, feat_dim, weight=None, margin=-1, dist_metric="eu", **kwargs):
        super().__init__()
        self.weight = weight
        self.margin = margin
        self.centers = nn.Parameter(torch.randn(num_classes, feat_dim))

    def forward(self, feats, targets):
        if self.margin == -1:
            center = self.centers[targets]  # (N, d)
            dist = (feats - center).pow(2).sum(dim=-1)  # (N, 1)
            if self.weight is not None:
                dist *= self.weight[targets]  # (N, 1)
            loss = 0.5 * torch.clamp(dist, min=1e-12, max=1e12).mean(dim=-1)
        else:
            raise NotImplementedError("margin branch: not used by the study's configs")
        return loss


def ce_ct_step(model_fc, feats, targets, criterion2, lambda_weight, optimizer, optimizer2):
    """``scripts/ce_ml/train_ce_ct.py``, ``train_epoch``: one step (the feature extractor is the caller's)."""
    batch_probs = model_fc(feats)
    loss1 = F.cross_entropy(batch_probs, targets)
    loss2 = criterion2(feats, targets)
    avg_loss = loss1 + loss2 * lambda_weight
    optimizer.zero_grad()
    optimizer2.zero_grad()
    avg_loss.backward()
    optimizer.step()
    for param in criterion2.parameters():
        param.grad.data *= 1.0 / lambda_weight
    optimizer2.step()
    return avg_loss


#: ``scripts/ce_ml/configs/<dataset>/r50pre_CE_CT*.yaml``, ``optimizer2`` (identical on Skin7, X-ray9, PathMNIST).
CENTER_OPTIMIZER = {"lr": 0.005, "weight_decay": 1.0e-6, "momentum": 0.9, "nesterov": True}


class OnlineHardTripletLoss(torch.nn.Module):
    """``model/loss/online_triplet_loss.py``, ``OnlineHardTripletLoss`` with its helpers."""

    def __init__(self, margin=100, squared=False, **kwargs):
        super().__init__()
        self.margin = margin
        self.squared = squared

    def forward(self, embeddings, targets):
        pairwise_dist = _pairwise_distances(embeddings, squared=self.squared)
        mask_anchor_positive = _get_anchor_positive_triplet_mask(targets).float()
        anchor_positive_dist = mask_anchor_positive * pairwise_dist  # (N, N)
        hardest_positive_dist, _ = anchor_positive_dist.max(1, keepdim=True)
        mask_anchor_negative = _get_anchor_negative_triplet_mask(targets).float()
        max_anchor_negative_dist, _ = pairwise_dist.max(1, keepdim=True)
        anchor_negative_dist = pairwise_dist + max_anchor_negative_dist * (1.0 - mask_anchor_negative)
        hardest_negative_dist, _ = anchor_negative_dist.min(1, keepdim=True)
        triplet_loss = hardest_positive_dist - hardest_negative_dist + self.margin
        triplet_loss = F.relu(triplet_loss)
        avg_triplet_loss = triplet_loss.mean()
        return avg_triplet_loss


def _pairwise_distances(embeddings, squared=False):
    dot_product = torch.matmul(embeddings, embeddings.t())
    square_norm = torch.diag(dot_product)
    distances = square_norm.unsqueeze(0) - 2.0 * dot_product + square_norm.unsqueeze(1)
    distances[distances < 0] = 0
    if not squared:
        mask = distances.eq(0).float()
        distances = distances + mask * 1e-16
        distances = (1.0 - mask) * torch.sqrt(distances)
    return distances


def _get_anchor_positive_triplet_mask(targets):
    indices_equal = torch.eye(targets.size(0), device=targets.device).bool()
    indices_not_equal = ~indices_equal
    targets_equal = targets.unsqueeze(0) == targets.unsqueeze(1)
    return targets_equal & indices_not_equal


def _get_anchor_negative_triplet_mask(targets):
    return ~(targets.unsqueeze(0) == targets.unsqueeze(1))


class SupContrastLoss(nn.Module):
    """``model/loss/supcontrast_loss.py``, ``SupContrastLoss`` (labels given, ``contrast_mode='all'``)."""

    def __init__(self, temperature=0.07, contrast_mode="all", base_temperature=0.07, hard_mining=False, **kwargs):
        super().__init__()
        self.temperature = temperature
        self.contrast_mode = contrast_mode
        self.base_temperature = base_temperature
        self.hard_mining = hard_mining

    def forward(self, features, labels=None, mask=None):
        device = torch.device("cpu")
        batch_size = features.shape[0]
        labels = labels.contiguous().view(-1, 1)
        mask = torch.eq(labels, labels.T).float().to(device)
        contrast_count = features.shape[1]
        contrast_feature = torch.cat(torch.unbind(features, dim=1), dim=0)
        anchor_feature = contrast_feature
        anchor_count = contrast_count
        anchor_dot_contrast = torch.div(torch.matmul(anchor_feature, contrast_feature.T), self.temperature)
        logits_max, _ = torch.max(anchor_dot_contrast, dim=1, keepdim=True)
        logits = anchor_dot_contrast - logits_max.detach()
        mask = mask.repeat(anchor_count, contrast_count)
        logits_mask = torch.scatter(
            torch.ones_like(mask), 1, torch.arange(batch_size * anchor_count).view(-1, 1).to(device), 0
        )
        mask = mask * logits_mask
        exp_logits = torch.exp(logits) * logits_mask
        log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
        mean_log_prob_pos = (mask * log_prob).sum(1) / mask.sum(1)
        loss = -(self.temperature / self.base_temperature) * mean_log_prob_pos
        loss = loss.view(anchor_count, batch_size).mean()
        return loss


def pred_head(expansion_dim: int) -> nn.Sequential:
    """``model/network/resnet.py``, ``ResNet.__init__`` with ``pred_head=True`` (``512 * block.expansion`` in)."""
    return nn.Sequential(
        nn.Linear(expansion_dim, 512, bias=False),
        # nn.BatchNorm1d(512),
        nn.ReLU(inplace=True),
        nn.Linear(512, 128),
    )


def supcon_step_loss(features_2n, fc, head, labels, criterion2, lambda_weight):
    """``scripts/ce_ml/train_ce_supcon.py``, ``train_epoch`` and ``ResNet.forward(out_type="supcon")`` on the
    ``2N`` pooled features of both views (view-major, as ``torch.cat([batch_imgs[0], batch_imgs[1]])``)."""
    logits = fc(features_2n)
    norm_vec = F.normalize(head(features_2n), dim=1)
    batch_size = labels.shape[0]
    batch_z1, batch_z2 = torch.split(norm_vec, [batch_size, batch_size], dim=0)
    batch_stack2z = torch.cat([batch_z1.unsqueeze(1), batch_z2.unsqueeze(1)], dim=1)
    batch_2targets = labels.repeat(2)
    loss1 = F.cross_entropy(logits, batch_2targets)
    loss2 = criterion2(batch_stack2z, labels)
    return loss1 + loss2 * lambda_weight


class FocalLoss(nn.Module):
    """``model/loss/focal_loss.py``, ``FocalLoss`` (the configs set no ``gamma``: 2)."""

    def __init__(self, weight=None, gamma=2, **kwargs):
        super().__init__()
        self.weight = weight
        self.gamma = gamma

    def forward(self, inputs, targets):
        ce_loss = F.cross_entropy(inputs, targets, reduction="none")
        pt = torch.exp(-ce_loss)
        if self.weight is not None:
            ce_loss *= self.weight[targets]
        focal_loss = ((1 - pt) ** self.gamma * ce_loss).mean()
        return focal_loss


def rand_bbox(size, lambd, cx, cy):
    """``model/module/cutmix.py``, ``rand_bbox``; ``cx = np.random.randint(W)``, ``cy = np.random.randint(H)``
    are arguments."""
    if len(size) in [3, 4]:
        H, W = size[-2], size[-1]
    else:
        raise Exception
    cut_ratio = np.sqrt(1.0 - lambd)
    cut_h = int(H * cut_ratio)
    cut_w = int(W * cut_ratio)
    bbx1 = np.clip(cx - cut_w // 2, 0, W)
    bby1 = np.clip(cy - cut_h // 2, 0, H)
    bbx2 = np.clip(cx + cut_w // 2, 0, W)
    bby2 = np.clip(cy + cut_h // 2, 0, H)
    return bbx1, bby1, bbx2, bby2


def cutmix_getitem(img, target, num_classes, r, prob, beta, partner_img, partner_target, lambd, cx, cy):
    """``model/module/cutmix.py``, ``CutMix.__getitem__`` (``num_mix = 1``, no remix, ``adapt = -1``): the draws
    ``r = np.random.rand(1)``, the partner (``random.choice(range(len(self)))``), ``lambd = np.random.beta(β, β)``
    and the box centre are arguments. Returns the image and its soft target."""
    img = img.clone()
    target_onehot = torch.zeros(num_classes, dtype=img.dtype)
    target_onehot[target] = 1.0
    if beta <= 0 or r > prob:
        return img, target_onehot
    target2_onehot = torch.zeros(num_classes, dtype=img.dtype)
    target2_onehot[partner_target] = 1.0
    bbx1, bby1, bbx2, bby2 = rand_bbox(img.size(), lambd, cx, cy)
    img[:, bbx1:bbx2, bby1:bby2] = partner_img[:, bbx1:bbx2, bby1:bby2]
    cut_area = (bbx2 - bbx1) * (bby2 - bby1)
    whole_area = img.size(-1) * img.size(-2)
    lambda_yo = 1 - cut_area / whole_area
    target_onehot = target_onehot * lambda_yo + target2_onehot * (1.0 - lambda_yo)
    return img, target_onehot


def soft_target_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """``model/loss/softmax_loss.py``, ``CELoss`` (``nn.CrossEntropyLoss``) on the CutMix dataset's soft targets."""
    return nn.CrossEntropyLoss()(logits, targets)


#: ``finetune`` of the configs (``scripts/{baseline,ce_ml,backup/cutmix}/configs/<dataset>/r50pre_*.yaml``) for the
#: Table-2 rows of each dataset that the ``authors`` protocol follows (the exceptions: docs/methods.md).
STAGE2 = {
    "skin7": {"lr": 0.01, "weight_decay": 1.0e-4, "nesterov": True, "momentum": 0.9},
    "xray9": {"lr": 0.01, "weight_decay": 1.0e-5, "nesterov": True, "momentum": 0.9},
    "pathmnist-lt": {"lr": 0.1, "weight_decay": 5.0e-4, "nesterov": True, "momentum": 0.9},
}
#: ``loss2.param.lambda`` per dataset (``r50pre_CE_CT.yaml``, ``r50pre_CE_TP.yaml``, ``r50pre_CE_supcon.yaml``;
#: PathMNIST's ``*_bs64.yaml``).
LAMBDA = {
    "skin7": {"ce+ct": 0.001, "ce+tp": 0.001, "ce+sc": 1.0},
    "xray9": {"ce+ct": 0.01, "ce+tp": 0.001, "ce+sc": 1.0},
    "pathmnist-lt": {"ce+ct": 0.001, "ce+tp": 0.1, "ce+sc": 1.0},
}
#: ``loss2.param.temperature`` of ``r50pre_CE_supcon*.yaml`` (Skin7 comments it out: the class default 0.07).
SUPCON_TEMPERATURE = {"skin7": 0.07, "xray9": 0.05, "pathmnist-lt": 0.05}
