"""Temperature scaling (Guo et al., ICML 2017): the temperature fitted on the validation split against a naive
grid search of the NLL, the calibrated ECE and NLL against scikit-learn / scipy, and the fields in a result."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax as scipy_softmax
from sklearn.metrics import log_loss

from benchmark.metrics import (
    TEMPERATURE_BOUNDS,
    evaluate_predictions,
    expected_calibration_error,
    fit_temperature,
)
from benchmark.results.reader import load_results
from benchmark.results.schema import RunResult


def _problem(seed: int, n: int = 400, classes: int = 6, sharpness: float = 4.0):
    """Logits of an over- (sharpness > 1) or under-confident (< 1) model: right about 70 % of the time."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    signal = rng.normal(size=(n, classes))
    signal[np.arange(n), y] += 1.5
    return y, sharpness * signal


def _naive_nll(y: np.ndarray, logits: np.ndarray, t: float) -> float:
    return float(log_loss(y, scipy_softmax(logits / t, axis=1), labels=np.arange(logits.shape[1])))


@pytest.mark.parametrize("seed,sharpness", [(0, 4.0), (1, 0.3), (2, 1.0)])
def test_temperature_is_the_grid_minimum_of_the_nll(seed, sharpness):
    y, logits = _problem(seed, sharpness=sharpness)
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 4001))  # step 0.15 % in T
    nlls = [_naive_nll(y, logits, t) for t in grid]
    best = grid[int(np.argmin(nlls))]
    t = fit_temperature(y, logits)
    assert t is not None
    assert abs(np.log(t) - np.log(best)) <= 2 * (np.log(grid[1]) - np.log(grid[0]))
    assert _naive_nll(y, logits, t) <= min(nlls) + 1e-9
    # over-confident logits get T > 1, under-confident ones T < 1
    assert (t > 1.5) if sharpness > 1 else (t < 0.7) if sharpness < 1 else True


def test_temperature_is_none_without_usable_logits_and_stays_in_bounds():
    assert fit_temperature([], np.zeros((0, 3))) is None
    assert fit_temperature([0], np.array([[np.inf, 0.0, 0.0]])) is None
    y = np.array([0, 1, 2, 0])
    perfect = np.eye(3)[y] * 50.0  # every image right with a huge margin: NLL falls as T falls, to 0 in float64
    t = fit_temperature(y, perfect)
    assert t is not None and TEMPERATURE_BOUNDS[0] <= t < 1
    assert _naive_nll(y, perfect, t) <= 1e-15


def test_calibrated_metrics_are_those_of_the_scaled_logits():
    y_val, val_logits = _problem(3)
    y, logits = _problem(4)
    t = fit_temperature(y_val, val_logits)
    preds = logits.argmax(1)
    groups = {"major": [0, 1], "minor": [4, 5], "medium": None}
    out = evaluate_predictions(y, preds, 6, groups, logits=logits, temperature=t)
    scaled = scipy_softmax(logits / t, axis=1)
    assert out["nll_calibrated"] == pytest.approx(log_loss(y, scaled, labels=np.arange(6)), abs=1e-9)
    assert out["ece_calibrated"] == pytest.approx(expected_calibration_error(y, scaled), abs=1e-9)
    # the raw metrics are untouched, temperature scaling helped this over-confident model, and without a
    # temperature there are no calibrated metrics
    raw = evaluate_predictions(y, preds, 6, groups, logits=logits)
    assert (out["ece"], out["nll"]) == (raw["ece"], raw["nll"])
    assert out["nll_calibrated"] < out["nll"] and out["ece_calibrated"] < out["ece"]
    assert raw["ece_calibrated"] is None and raw["nll_calibrated"] is None


def test_results_carry_the_temperature_and_calibrated_metrics(smoke_results):
    """Through ``run``: each result's temperature was fitted on its validation logits; calibrated metrics beside
    the raw ones."""
    results = [r for r in load_results(smoke_results) if r.status == "ok"]
    assert results
    for r in results:
        assert r.calibration_temperature is not None and r.calibration_temperature > 0
        assert r.metrics.ece_calibrated is not None and r.metrics.nll_calibrated is not None
        assert r.val_metrics.ece_calibrated is None  # the fitting split gets no calibrated score
        # with T = 1 in the search range, the fitted T cannot make the validation NLL worse; on test it usually
        # helps the over-confident smoke models
    assert sum(r.metrics.nll_calibrated <= r.metrics.nll for r in results) >= len(results) // 2


def test_results_without_calibration_fields_still_read():
    """A result written before temperature scaling (no calibration fields) is still a valid result."""
    r = RunResult.model_validate(
        {
            "spec": {"dataset": "d", "method": "CE", "method_id": "ce", "backbone": "b", "seed": 0, "protocol": "p"},
            "status": "ok",
            "metrics": {"mcr_all": 50.0, "mcr_major": 60.0, "mcr_minor": 40.0, "ece": 3.0, "nll": 1.2},
            "dataset_manifest_sha256": "0" * 64,
            "stage1_key": {},
            "stage1_sha256": "0" * 64,
            "provenance": {
                "package_version": "0",
                "torch_version": "2",
                "python_version": "3",
                "device": "cpu",
                "wall_seconds": 1.0,
                "started": "2026-01-01T00:00:00Z",
                "finished": "2026-01-01T00:00:01Z",
            },
        }
    )
    assert r.calibration_temperature is None and r.metrics.ece_calibrated is None
