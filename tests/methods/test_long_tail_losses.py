"""Balanced Softmax, the logit-adjusted loss and BCL's balanced contrastive loss against the authors' code.

Each reference (``official_long_tail.py``) re-implements, line by line, the official implementation (cited there)
on random float64 inputs; value and gradient must agree to 1e-9 relative (1e-6 for the logit-adjusted
loss, whose reference adds 1e-12 inside the log). Hand-worked examples pin the formulas independently
of any implementation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from methods.losses import (
    balanced_contrastive_loss,
    balanced_softmax_loss,
    log_class_prior,
    logit_adjusted_cross_entropy,
    supcon_loss,
)
from tests.methods import official_long_tail as official

COUNTS = torch.tensor([500.0, 231.0, 107.0, 50.0, 23.0, 11.0, 5.0])
TOL = {"rtol": 1e-9, "atol": 1e-12}


def _logits(n: int = 24, seed: int = 0, scale: float = 3.0) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n, len(COUNTS), generator=g, dtype=torch.float64) * scale).requires_grad_()
    labels = torch.randint(0, len(COUNTS), (n,), generator=g)
    return logits, labels


def _value_and_grad(fn: Callable[[], Tensor], *inputs: Tensor) -> tuple[Tensor, tuple[Tensor, ...]]:
    value = fn()
    grads = torch.autograd.grad(value, inputs)
    return value.detach(), grads


# --------------------------------------------------------------------------- Balanced Softmax


@pytest.mark.parametrize("seed", range(4))
def test_balanced_softmax_matches_the_official_code(seed: int) -> None:
    logits, labels = _logits(seed=seed)
    counts = COUNTS.long()  # the reference reads integer counts from a json file
    mine, g_mine = _value_and_grad(lambda: balanced_softmax_loss(logits, labels, counts), logits)
    ref, g_ref = _value_and_grad(lambda: official.balanced_softmax_loss(labels, logits, counts, "mean"), logits)
    torch.testing.assert_close(mine, ref, **TOL)
    torch.testing.assert_close(g_mine, g_ref, **TOL)
    # and it is not plain cross-entropy
    assert not torch.allclose(mine, F.cross_entropy(logits, labels).detach())


def test_balanced_softmax_by_hand() -> None:
    """Zero logits, counts (3, 1): softmax(log 3, log 1) = (3/4, 1/4)."""
    logits = torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([1, 0])
    loss = balanced_softmax_loss(logits, labels, torch.tensor([3, 1]))
    assert loss.item() == pytest.approx((math.log(4) + math.log(4 / 3)) / 2, rel=1e-12)
    (grad,) = torch.autograd.grad(loss, logits)
    # (softmax - onehot) / batch size
    expected = torch.tensor([[0.75, -0.75], [-0.25, 0.25]], dtype=torch.float64) / 2
    torch.testing.assert_close(grad, expected, rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- logit adjustment


@pytest.mark.parametrize("tau", [1.0, 0.5, 2.0])
@pytest.mark.parametrize("seed", range(3))
def test_logit_adjusted_loss_matches_the_official_code(tau: float, seed: int) -> None:
    logits, labels = _logits(seed=seed)
    base_probs = COUNTS.double() / COUNTS.double().sum()
    mine, g_mine = _value_and_grad(lambda: logit_adjusted_cross_entropy(logits, labels, COUNTS, tau), logits)
    ref, g_ref = _value_and_grad(lambda: official.logit_adjusted_loss(labels, logits, base_probs, tau), logits)
    # The reference's 1e-12 inside the log shifts a class's adjustment by ~1e-12 / π_c^τ, up to ~3e-8
    # relative in a gradient entry here (τ = 2, π = 5 / 927): 1e-6 relative, well inside the 1e-5 asked.
    torch.testing.assert_close(mine, ref, rtol=1e-6, atol=0)
    torch.testing.assert_close(g_mine, g_ref, rtol=1e-6, atol=1e-12)


def test_logit_adjusted_loss_by_hand() -> None:
    """Zero logits, counts (3, 1), τ = 1: logits + log(3/4, 1/4); τ = 2: + log(9/16, 1/16) -> softmax (9/10, 1/10)."""
    logits = torch.zeros(1, 2, dtype=torch.float64)
    label = torch.tensor([1])
    counts = torch.tensor([3.0, 1.0])
    assert logit_adjusted_cross_entropy(logits, label, counts, 1.0).item() == pytest.approx(math.log(4), rel=1e-12)
    assert logit_adjusted_cross_entropy(logits, label, counts, 2.0).item() == pytest.approx(math.log(10), rel=1e-12)
    assert logit_adjusted_cross_entropy(logits, label, counts, 0.0).item() == pytest.approx(math.log(2), rel=1e-12)
    torch.testing.assert_close(
        log_class_prior(counts, torch.float64), torch.tensor([math.log(0.75), math.log(0.25)], dtype=torch.float64)
    )


@pytest.mark.parametrize("seed", range(4))
def test_balanced_softmax_equals_logit_adjustment_with_tau_one(seed: int) -> None:
    """log n_c = log π_c + log N: a constant shift of every logit, which softmax ignores."""
    logits, labels = _logits(seed=seed)
    bs, g_bs = _value_and_grad(lambda: balanced_softmax_loss(logits, labels, COUNTS), logits)
    la, g_la = _value_and_grad(lambda: logit_adjusted_cross_entropy(logits, labels, COUNTS, 1.0), logits)
    torch.testing.assert_close(bs, la, rtol=1e-12, atol=0)
    torch.testing.assert_close(g_bs, g_la, rtol=1e-12, atol=1e-15)
    _, g_half = _value_and_grad(lambda: logit_adjusted_cross_entropy(logits, labels, COUNTS, 0.5), logits)
    assert not torch.allclose(g_bs[0], g_half[0])  # only τ = 1 coincides


# --------------------------------------------------------------------------- BCL


def _bcl_inputs(
    n: int, num_classes: int, dim: int, seed: int, labels: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(n, 2, dim, generator=g, dtype=torch.float64).requires_grad_()
    prototypes = torch.randn(num_classes, dim, generator=g, dtype=torch.float64).requires_grad_()
    if labels is None:
        labels = torch.randint(0, num_classes, (n,), generator=g)
    return features, prototypes, labels


BCL_CASES = [  # (n, classes, dim, temperature, seed, labels): random labels; absent classes and singletons
    (16, 5, 8, 0.07, 0, None),
    (12, 4, 6, 0.1, 1, None),
    (9, 7, 5, 0.5, 2, torch.tensor([0, 0, 0, 0, 0, 1, 1, 3, 6])),  # classes 2, 4, 5 absent; 3 and 6 alone
    (1, 3, 4, 0.07, 3, torch.tensor([2])),  # one sample: its only other key of its class is its other view
]


@pytest.mark.parametrize("n,num_classes,dim,temperature,seed,labels", BCL_CASES)
def test_bcl_matches_the_official_code(
    n: int, num_classes: int, dim: int, temperature: float, seed: int, labels: Tensor | None
) -> None:
    """Gradients w.r.t. the raw projections and prototypes (the reference model normalises before BalSCL)."""
    features, prototypes, labels = _bcl_inputs(n, num_classes, dim, seed, labels)
    reference = official.BalSCL(cls_num_list=[1] * num_classes, temperature=temperature)
    mine, g_mine = _value_and_grad(
        lambda: balanced_contrastive_loss(features, labels, prototypes, temperature), features, prototypes
    )
    ref, g_ref = _value_and_grad(
        lambda: reference(F.normalize(prototypes, dim=1), F.normalize(features, dim=2), labels), features, prototypes
    )
    torch.testing.assert_close(mine, ref, **TOL)
    for a, b in zip(g_mine, g_ref):
        torch.testing.assert_close(a, b, **TOL)


def test_bcl_by_hand() -> None:
    """One sample of class 0, two identical views z = (1, 0); prototypes p0 = (1, 0), p1 = (0, 1); T = 1/2.

    Anchor view 1: keys view 2 (class 0, s = 2), p0 (class 0, s = 2), p1 (class 1, s = 0). Class 0 has
    3 keys (two views and p0), so each of its keys other than the anchor is weighted 1/2; class 1
    has one key. Denominator e²/2 + e²/2 + 1 = e² + 1; both positives have log-probability
    2 − log(e² + 1), so ℓ = log(1 + e⁻²) for both anchors. Without class-averaging the denominator would
    be 2e² + 1.
    """
    z = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]], dtype=torch.float64)
    prototypes = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    loss = balanced_contrastive_loss(z, torch.tensor([0]), prototypes, temperature=0.5)
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-2)), rel=1e-12)


def test_bcl_one_view_by_hand() -> None:
    """One view, samples a (class 0) = (1, 0) and b (class 1) = (0, 1), prototypes p0 = (0.6, 0.8), p1 = (0, 1), T = 1.

    Anchor a: keys b (class 1, s = 0), p0 (s = 0.6, its only positive), p1 (s = 0). Class 0's keys are
    a and p0 (weight 2 − 1 = 1 for p0); class 1's are b and p1 (weight 2 each).
    ℓ_a = −(0.6 − log(e^0.6 + 1/2 + 1/2)). Anchor b: keys a (s = 0), p0 (s = 0.8), p1 (s = 1, its
    positive, weight 1); class 0 weighs 2: ℓ_b = −(1 − log(e + (1 + e^0.8) / 2)).
    """
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    prototypes = torch.tensor([[0.6, 0.8], [0.0, 1.0]], dtype=torch.float64)
    loss = balanced_contrastive_loss(z, torch.tensor([0, 1]), prototypes, temperature=1.0)
    l_a = -(0.6 - math.log(math.exp(0.6) + 1.0))
    l_b = -(1.0 - math.log(math.e + (1 + math.exp(0.8)) / 2))
    assert loss.item() == pytest.approx((l_a + l_b) / 2, rel=1e-12)


def test_bcl_differs_from_supcon() -> None:
    """Class-averaging and the prototypes change the loss: BCL is not SupCon on the same projections."""
    features, prototypes, labels = _bcl_inputs(16, 5, 8, seed=4)
    bcl = balanced_contrastive_loss(features, labels, prototypes, 0.07)
    sc = supcon_loss(features, labels, 0.07, 0.07)
    assert not torch.allclose(bcl, sc)


def test_bcl_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="prototypes"):
        balanced_contrastive_loss(torch.randn(4, 2, 8), torch.zeros(4, dtype=torch.long), torch.randn(3, 5))
    with pytest.raises(ValueError, match="labels"):
        balanced_contrastive_loss(torch.randn(4, 2, 8), torch.zeros(3, dtype=torch.long), torch.randn(3, 8))
