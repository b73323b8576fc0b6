"""The defects an independent recomputation of every published number found (issue "Verdicts that reproduce"):
each test failed on the code before the fix."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmark.analysis.reproduction import RefCell, allowed_band, compare, load_reference_csv, reference_csv_from_frame
from benchmark.analysis.stats import friedman, rank_summary
from benchmark.analysis.tables import format_blocks, summary_table, table_blocks
from benchmark.metrics import expected_calibration_error, softmax
from benchmark.numbers import fixed
from benchmark.results.reader import results_frame


def test_check_with_a_one_seed_reference_that_has_a_std_does_not_divide_by_zero():
    """It raised ZeroDivisionError (Welch's df divides by n_ref - 1 = 0)."""
    band = allowed_band([70.0, 71.0, 72.0], RefCell("t", "CE", "skin7", "all", 71.0, std=0.9, n=1), tolerance=0.0)
    # a std from one seed is meaningless: the runs' spread stands in for both sides
    assert band.allowed == pytest.approx(4.302653 * math.sqrt(1 / 3 + 1 / 1), abs=1e-5)


def test_exact_ties_survive_float_noise_in_ranks_and_friedman():
    """Means computed in another summation order (81.875 vs 81.87499999999999) are one value, not two."""
    noisy = pd.DataFrame(
        {"A": [81.875, 60.0, 70.0], "B": [81.87499999999999, 60.0, 70.0 + 1e-13], "C": [50.0, 61.0, 69.0]}
    )
    exact = pd.DataFrame({"A": [81.875, 60.0, 70.0], "B": [81.875, 60.0, 70.0], "C": [50.0, 61.0, 69.0]})
    assert rank_summary(noisy).ranks.to_dict() == rank_summary(exact).ranks.to_dict()
    assert friedman(noisy).chi2 == pytest.approx(friedman(exact).chi2)  # type: ignore[union-attr]


def _report_frame(cells: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for method, values in cells.items():
        for seed, v in enumerate(values):
            rows.append(
                {
                    "dataset": "skin7",
                    "backbone": "resnet50",
                    "protocol": "paper",
                    "method": method,
                    "seed": seed,
                    "mcr_all": v,
                    "mcr_major": v,
                    "mcr_minor": v,
                    "mcr_medium": np.nan,
                }
            )
    return pd.DataFrame(rows)


def test_report_never_marks_a_one_seed_cell_best():
    frame = _report_frame({"CE": [80.0, 81.0, 82.0], "RW": [95.0], "DRW": [83.0, 84.0, 85.0], "RS": [70.0, 71.0, 72.0]})
    (block,) = table_blocks(summary_table(frame), 2)
    marks = block.marks()
    assert ("RW", "skin7", "All") not in marks  # one seed: the highest number, but not a result that can be best
    assert marks[("DRW", "skin7", "All")] == 1 and marks[("CE", "skin7", "All")] == 2
    assert "*95.00" not in format_blocks([block])


def test_report_and_site_round_the_same_mean_alike():
    """RW 81.875 printed 81.87 by `report` (a pandas mean 81.87499999999999) and 81.88 by the site."""
    from leaderboard.site.format import number

    frame = _report_frame({"RW": [81.0, 82.75, 81.875]})  # mean 81.875, summed in float to 81.87499999999999
    text = format_blocks(table_blocks(summary_table(frame), 2))
    mean = float(np.mean([81.0, 82.75, 81.875]))
    assert "81.88" in text and number(mean) == "81.88" == fixed(81.87499999999999) == fixed(81.875)


def test_ece_judges_correctness_by_the_stored_predictions():
    """Float16 logits can tie or swap the top two classes: the run's prediction decides what was correct."""
    y_true = np.array([0, 1, 1, 0])
    logits = np.array([[2.0, 2.0], [0.0, 3.0], [1.0, 0.0], [0.5, 0.5]], dtype=np.float16)  # two exact ties
    y_pred = np.array([1, 1, 0, 0])  # the full-precision logits chose class 1 for image 0, class 0 for image 3
    probs = softmax(logits.astype(np.float64))
    conf = probs[np.arange(4), y_pred]
    correct = (y_pred == y_true).astype(float)
    # naive reference: 15 equal-width bins, |sum correct - sum confidence| / N per bin
    bins = np.clip(np.ceil(conf * 15).astype(int) - 1, 0, 14)
    naive = sum(abs(correct[bins == b].sum() - conf[bins == b].sum()) for b in range(15)) / 4 * 100
    assert expected_calibration_error(y_true, probs, y_pred=y_pred) == pytest.approx(naive)
    assert expected_calibration_error(y_true, probs) != pytest.approx(naive)  # the argmax of rounded logits


def test_check_against_another_seed_set_moderates_both_sides(tmp_path, synthetic_result):
    """A reference written by this benchmark (pinned to its backbone and protocol) is a run of the same
    process: its variance is moderated like the runs', so the band is not as wide as 3-seed Welch."""
    rng = np.random.default_rng(0)
    root, ref_root = tmp_path / "a", tmp_path / "b"
    for r in (root, ref_root):
        for i in range(12):
            for seed in range(3):
                v = 70 + i + rng.normal(0, 1.0)
                synthetic_result(
                    r,
                    dataset="skin7",
                    method=f"M{i}" if i else "CE",
                    seed=seed + (3 if r is ref_root else 0),
                    metrics={"mcr_all": v, "mcr_major": v, "mcr_minor": v},
                )
    from benchmark.results.reader import load_results

    frame, ref_frame = results_frame(load_results(root)), results_frame(load_results(ref_root))
    path = tmp_path / "ref.csv"
    path.write_text(reference_csv_from_frame(ref_frame))
    reference = load_reference_csv(path)
    assert {r.protocol for r in reference} == {"paper"} and all(r.std is not None for r in reference)
    comparisons = [c for c in compare(frame, reference, tolerance=0.0) if c.ran]
    assert len(comparisons) == 12 * 3
    assert sum(c.inconclusive is not None for c in comparisons) == 0
    welch = [allowed_band(frame[frame.method == c.ref.method].mcr_all, c.ref, 0.0).allowed for c in comparisons]
    assert sum(c.allowed < w for c, w in zip(comparisons, welch)) >= 30  # borrowing narrows the 3-seed Welch band
    assert max(c.band.df for c in comparisons if c.band) <= 12 * 2 * 2 + 2 + 2  # one prior's d0 counted once
