"""The authors' official loss code, re-implemented line by line in PyTorch for the reference tests.

Not a test module: ``test_long_tail_losses.py`` and ``test_long_tail_methods.py`` import it. Every function
or class names the repository and file it transcribes; the code keeps the original's operations and
order (only the TensorFlow ops of the logit-adjustment code become their PyTorch equivalents, and
``.cuda()`` becomes the CPU).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def balanced_softmax_loss(labels: Tensor, logits: Tensor, sample_per_class: Tensor, reduction: str) -> Tensor:
    """jiawei-ren/BalancedMetaSoftmax-Classification, ``loss/BalancedSoftmaxLoss.py``, ``balanced_softmax_loss``."""
    spc = sample_per_class.type_as(logits)
    spc = spc.unsqueeze(0).expand(logits.shape[0], -1)
    logits = logits + spc.log()
    loss = F.cross_entropy(input=logits, target=labels, reduction=reduction)
    return loss


def logit_adjusted_loss(labels: Tensor, logits: Tensor, base_probs: Tensor, tau: float) -> Tensor:
    """google-research/google-research, ``logit_adjustment/utils.py``, ``build_loss_fn(use_la_loss=True, ...)``.

    The TensorFlow ops one for one: ``logits + log(base_probs**tau + 1e-12)``,
    ``sparse_softmax_cross_entropy_with_logits``, ``reduce_mean``. ``base_probs`` is the training label
    distribution (``*_base_probs.txt``).
    """
    logits = logits + torch.log(base_probs**tau + 1e-12)
    loss = F.cross_entropy(logits, labels, reduction="none")
    return loss.mean(dim=0)


class BalSCL(nn.Module):
    """FlamieZhu/Balanced-Contrastive-Learning, ``loss/contrastive.py``, ``BalSCL`` (two views), line for line."""

    def __init__(self, cls_num_list=None, temperature=0.1):
        super().__init__()
        self.temperature = temperature
        self.cls_num_list = cls_num_list

    def forward(self, centers1, features, targets):
        device = torch.device("cpu")
        batch_size = features.shape[0]
        targets = targets.contiguous().view(-1, 1)
        targets_centers = torch.arange(len(self.cls_num_list), device=device).view(-1, 1)
        targets = torch.cat([targets.repeat(2, 1), targets_centers], dim=0)
        batch_cls_count = torch.eye(len(self.cls_num_list))[targets].sum(dim=0).squeeze()

        mask = torch.eq(targets[: 2 * batch_size], targets.T).float().to(device)
        logits_mask = torch.scatter(torch.ones_like(mask), 1, torch.arange(batch_size * 2).view(-1, 1).to(device), 0)
        mask = mask * logits_mask

        # class-complement
        features = torch.cat(torch.unbind(features, dim=1), dim=0)
        features = torch.cat([features, centers1], dim=0)
        logits = features[: 2 * batch_size].mm(features.T)
        logits = torch.div(logits, self.temperature)

        # For numerical stability
        logits_max, _ = torch.max(logits, dim=1, keepdim=True)
        logits = logits - logits_max.detach()

        # class-averaging
        exp_logits = torch.exp(logits) * logits_mask
        per_ins_weight = (
            torch.tensor([batch_cls_count[i] for i in targets], device=device)
            .view(1, -1)
            .expand(2 * batch_size, 2 * batch_size + len(self.cls_num_list))
            - mask
        )
        exp_logits_sum = exp_logits.div(per_ins_weight).sum(dim=1, keepdim=True)

        log_prob = logits - torch.log(exp_logits_sum)
        mean_log_prob_pos = (mask * log_prob).sum(1) / mask.sum(1)

        loss = -mean_log_prob_pos
        loss = loss.view(2, batch_size).mean()
        return loss


class LogitAdjust(nn.Module):
    """FlamieZhu/Balanced-Contrastive-Learning, ``loss/logitadjust.py``, ``LogitAdjust`` (CPU tensor for the
    reference's ``torch.cuda.FloatTensor``)."""

    def __init__(self, cls_num_list, tau=1, weight=None):
        super().__init__()
        cls_num_list = torch.tensor(cls_num_list, dtype=torch.float32)
        cls_p_list = cls_num_list / cls_num_list.sum()
        m_list = tau * torch.log(cls_p_list)
        self.m_list = m_list.view(1, -1)
        self.weight = weight

    def forward(self, x, target):
        x_m = x + self.m_list
        return F.cross_entropy(x_m, target, weight=self.weight)


def bcl_model_forward(encoder, head, fc_weight, head_fc, x, s=30):
    """FlamieZhu/Balanced-Contrastive-Learning, ``models/resnext.py``: ``BCLModel.forward`` with the
    reference's ``NormedLinear.forward`` (``s · normalize(x) @ normalize(W, dim=0)``) inlined."""
    feat = encoder(x)
    feat_mlp = F.normalize(head(feat), dim=1)
    logits = s * F.normalize(feat, dim=1).mm(F.normalize(fc_weight, dim=0))
    centers_logits = F.normalize(head_fc(fc_weight.T), dim=1)
    return feat_mlp, logits, centers_logits


def bcl_train_step_loss(model_forward, criterion_ce, criterion_scl, inputs, targets, alpha=1.0, beta=0.35):
    """FlamieZhu/Balanced-Contrastive-Learning, ``main.py``, the loss of one step of ``train`` (``args.cls_num``
    is the number of prototypes)."""
    batch_size = targets.shape[0]
    inputs = torch.cat([inputs[0], inputs[1], inputs[2]], dim=0)
    feat_mlp, logits, centers = model_forward(inputs)
    centers = centers[: len(criterion_scl.cls_num_list)]
    _, f2, f3 = torch.split(feat_mlp, [batch_size, batch_size, batch_size], dim=0)
    features = torch.cat([f2.unsqueeze(1), f3.unsqueeze(1)], dim=1)
    logits, _, __ = torch.split(logits, [batch_size, batch_size, batch_size], dim=0)
    scl_loss = criterion_scl(centers, features, targets)
    ce_loss = criterion_ce(logits, targets)
    loss = alpha * ce_loss + beta * scl_loss
    return loss
