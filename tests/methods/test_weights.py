"""Tests for methods.weights: inverse-frequency, class-balanced (Cui et al.) and DRW weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from methods.weights import (
    class_balanced_weights,
    drw_start_epoch,
    drw_weights,
    inverse_frequency_weights,
)

# CIFAR-10-LT (imbalance 100) class counts, as in LDAM-DRW.
COUNTS = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]


def test_inverse_frequency_hand_examples() -> None:
    # 1/1 : 1/3 scaled to sum 2 -> 1.5, 0.5
    torch.testing.assert_close(inverse_frequency_weights([1, 3]), torch.tensor([1.5, 0.5]))
    # 1/10, 1/20, 1/40 = 0.1, 0.05, 0.025 (sum 0.175) scaled by 3 / 0.175
    torch.testing.assert_close(
        inverse_frequency_weights(torch.tensor([10, 20, 40])),
        torch.tensor([1.7142857, 0.8571429, 0.4285714]),
    )


def test_inverse_frequency_properties() -> None:
    w = inverse_frequency_weights(np.array(COUNTS))
    assert w.dtype == torch.float32 and w.shape == (10,)
    assert w.sum().item() == pytest.approx(10.0, rel=1e-6)
    # w_c * n_c is constant
    prod = w.double() * torch.tensor(COUNTS, dtype=torch.float64)
    torch.testing.assert_close(prod, torch.full_like(prod, prod[0].item()), rtol=1e-6, atol=0)


def test_class_balanced_weights_literal() -> None:
    w = class_balanced_weights(COUNTS, beta=0.9999)
    expected = torch.tensor([0.0506, 0.0769, 0.1211, 0.1950, 0.3188, 0.5246, 0.8683, 1.4426, 2.4092, 3.9927])
    assert w.dtype == torch.float32
    torch.testing.assert_close(w, expected, atol=1e-4, rtol=0)
    assert w.sum().item() == pytest.approx(10.0, rel=1e-6)


def test_class_balanced_weights_limits() -> None:
    # beta = 0: uniform; beta -> 1: inverse frequency.
    torch.testing.assert_close(class_balanced_weights(COUNTS, beta=0.0), torch.ones(10))
    torch.testing.assert_close(
        class_balanced_weights(COUNTS, beta=1 - 1e-12),
        inverse_frequency_weights(COUNTS),
        rtol=1e-4,
        atol=1e-6,
    )


@pytest.mark.parametrize("bad", [[], [3, 0, 2], [[1, 2]]])
def test_weights_reject_bad_counts(bad: list) -> None:
    with pytest.raises(ValueError):
        inverse_frequency_weights(bad)
    with pytest.raises(ValueError):
        class_balanced_weights(bad)


def test_drw_switch_point() -> None:
    assert drw_start_epoch(100) == 80
    assert drw_start_epoch(200) == 160  # the LDAM-DRW reference
    assert drw_start_epoch(100, 0.29) == 29  # no floating-point off-by-one
    assert drw_weights(79, 100, COUNTS) is None
    w80 = drw_weights(80, 100, COUNTS)
    assert w80 is not None
    torch.testing.assert_close(w80, class_balanced_weights(COUNTS))
    assert drw_weights(0, 200, COUNTS) is None
    assert drw_weights(159, 200, COUNTS) is None
    assert drw_weights(160, 200, COUNTS) is not None
    assert drw_weights(199, 200, COUNTS) is not None
    torch.testing.assert_close(drw_weights(99, 100, COUNTS, beta=0.999), class_balanced_weights(COUNTS, 0.999))
    with pytest.raises(ValueError):
        drw_weights(-1, 100, COUNTS)
