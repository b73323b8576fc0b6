"""``check``: reproduced vs reported within max(tolerance, the runs' 95 % t-interval); the golden smoke results."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from benchmark.analysis.reproduction import (
    GOLDEN_SMOKE,
    RefCell,
    allowed_band,
    compare,
    load_reference_csv,
    paper_reference,
    reference_csv_from_frame,
)
from benchmark.cli import main
from benchmark.results.reader import results_frame

METRIC = {"all": "mcr_all", "major": "mcr_major", "medium": "mcr_medium", "minor": "mcr_minor"}


def write_paper_results(root: Path, synthetic_result) -> None:
    """Three seeds per paper cell whose means are the paper's numbers (All: mean ± its std, others exact)."""
    cells: dict[tuple, dict] = defaultdict(dict)
    for ref in paper_reference():
        cells[(ref.method, ref.dataset, ref.backbone)][ref.metric] = ref
    for (method, dataset, backbone), refs in cells.items():
        all_ = refs["all"].value
        std = refs["all"].std or 0.0
        for seed, delta in enumerate((-std, 0.0, std)):
            metrics = {METRIC[m]: r.value for m, r in refs.items()}
            metrics["mcr_all"] = all_ + delta
            metrics.setdefault("mcr_major", all_)
            metrics.setdefault("mcr_minor", all_)
            synthetic_result(
                root, dataset=dataset, method=method, seed=seed, backbone=backbone, protocol="paper", metrics=metrics
            )


@pytest.fixture()
def paper_results(tmp_path, synthetic_result) -> Path:
    root = tmp_path / "results"
    write_paper_results(root, synthetic_result)
    return root


def test_paper_reference_has_every_table():
    refs = paper_reference()
    assert {r.source for r in refs} == {"Table 2", "Table 3", "Table 4", "Table 5"}
    # CE on skin7 appears in Tables 2 and 3 and is compared once
    ce = [r for r in refs if (r.method, r.dataset, r.metric) == ("CE", "skin7", "all")]
    assert len(ce) == 1 and ce[0].value == 83.12 and ce[0].std == 0.89 and ce[0].backbone == "resnet50"
    assert any(r.backbone == "mobilenetv2" and r.method == "CE+SC→cRW" for r in refs)
    assert any(r.metric == "medium" and r.dataset == "flower-lt" for r in refs)


def test_check_paper_passes_on_matching_results(paper_results, capsys):
    assert main(["check", "--results", str(paper_results), "--reference", "paper", "--tolerance", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "CE+SC→cRW / skin7 / minor (resnet50, paper)" in out and "FAIL" not in out
    assert "0 outside" in out and "CE+SC→cRW / skin7 / all (mobilenetv2, paper)" in out


def test_check_paper_names_the_cell_moved_past_the_tolerance(paper_results, capsys):
    # CE→cRW on xray9, minor: 47.79 in the paper; all seeds agree, so the allowed band is the tolerance
    for path in (paper_results / "xray9/resnet50/paper/ce-crw").glob("seed-*.json"):
        data = json.loads(path.read_text())
        data["metrics"]["mcr_minor"] = 47.79 + 0.8
        path.write_text(json.dumps(data))
    assert main(["check", "--results", str(paper_results), "--reference", "paper", "--tolerance", "0.5"]) == 1
    out = capsys.readouterr().out
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert fails == [
        "FAIL CE→cRW / xray9 / minor (resnet50, paper): reproduced 48.59 vs reported 47.79 (Table 2), "
        "difference +0.80 outside ±0.50"
    ]
    # a wider tolerance accepts it
    assert main(["check", "--results", str(paper_results), "--tolerance", "1.0"]) == 0


def test_band_is_welchs_test_with_the_references_std_and_n():
    """With tolerance 0, a cell passes exactly when scipy's Welch test (from the two sides' summary
    statistics) does not reject at 5 %."""
    from scipy.stats import ttest_ind_from_stats

    from benchmark.analysis.reproduction import RefCell, allowed_band

    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(2, 6))
        values = rng.normal(70, rng.uniform(0.2, 3), n)
        ref = RefCell("t", "CE", "skin7", "all", float(rng.normal(70, 2)), float(rng.uniform(0.2, 3)))
        band = allowed_band(values, ref, tolerance=0.0, max_band=100)
        p = ttest_ind_from_stats(values.mean(), values.std(ddof=1), n, ref.value, ref.std, 3, equal_var=False).pvalue
        assert (abs(values.mean() - ref.value) <= band.allowed) == (p >= 0.05)
    # no std in the reference: both sides share the runs' spread, df = n - 1
    band = allowed_band([70.0, 71.0, 72.0], RefCell("t", "CE", "skin7", "minor", 71.0), tolerance=0.0)
    assert band.allowed == pytest.approx(4.302653 * 1.0 * math.sqrt(1 / 3 + 1 / 3), abs=1e-5)


def test_check_fails_a_reference_5pp_off_with_the_papers_std_and_passes_an_exact_one(paper_results, tmp_path, capsys):
    from benchmark.results.reader import load_results

    frame = results_frame(load_results(paper_results))
    ce = frame[(frame.method == "CE") & (frame.dataset == "skin7")]
    exact, off = tmp_path / "exact.csv", tmp_path / "off.csv"
    exact.write_text(f"method,dataset,all_mean,all_std\nCE,skin7,{ce.mcr_all.mean():.4f},0.89\n")
    off.write_text(f"method,dataset,all_mean,all_std\nCE,skin7,{ce.mcr_all.mean() + 5:.4f},0.89\n")
    assert main(["check", "--results", str(paper_results), "--reference", str(exact), "--tolerance", "0"]) == 0
    assert main(["check", "--results", str(paper_results), "--reference", str(off), "--tolerance", "0"]) == 1
    assert "FAIL CE / skin7 / all (resnet50, paper)" in capsys.readouterr().out


def test_too_few_seeds_or_too_wide_a_band_is_inconclusive(paper_results, tmp_path, capsys):
    from benchmark.results.reader import load_results

    for path in (paper_results / "skin7/resnet50/paper/ce").glob("seed-2.json"):
        path.unlink()
    ref = tmp_path / "ref.csv"
    ref.write_text("method,dataset,all_mean,all_std\nCE,skin7,83.12,0.89\n")
    argv = ["check", "--results", str(paper_results), "--reference", str(ref)]
    assert main(argv) == 1
    assert "INCONCLUSIVE CE / skin7 / all (resnet50, paper): 2 runs (fewer than 3 seeds)" in capsys.readouterr().out
    assert main(argv + ["--allow-inconclusive"]) == 0
    # noisy references: a band wider than --max-band could not have failed a real difference
    ref.write_text(
        "method,dataset,all_mean,all_std\nCE→cRW,skin7,{:.4f},6.0\n".format(
            results_frame(load_results(paper_results)).query("method == 'CE→cRW' and dataset == 'skin7'").mcr_all.mean()
        )
    )
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "INCONCLUSIVE CE→cRW / skin7 / all (resnet50, paper): band ±" in out and "wider than 5 pp" in out


def test_widest_band_is_set_per_metric_and_minor_mcr_gets_10_pp():
    """``MAX_BANDS`` names every group metric; a band of ±6.8 pp is inconclusive in All-MCR and checked in
    minor MCR (whose widest band is 10 pp), unless ``max_band`` says otherwise."""
    from scipy import stats as sps

    from benchmark.analysis.reproduction import MAX_BANDS, RefCell, allowed_band
    from benchmark.results.schema import group_metrics

    assert set(MAX_BANDS) == set(group_metrics()) and MAX_BANDS["minor"] == 10.0 and MAX_BANDS["all"] == 5.0
    values = [47.0, 50.0, 53.0]  # SD 3 against a reference of SD 3 over 3 seeds: Welch on 4 df
    expected = sps.t.ppf(0.975, 4) * math.sqrt(9 / 3 + 9 / 3)
    bands = {
        metric: allowed_band(values, RefCell("t", "CE", "d", metric, 50.0, 3.0), tolerance=0.0)
        for metric in ("all", "minor")
    }
    assert bands["all"].allowed == bands["minor"].allowed == pytest.approx(expected)  # ≈ 6.80
    assert bands["all"].inconclusive == f"band ±{expected:.2f} wider than 5 pp"
    assert bands["minor"].inconclusive is None
    minor = RefCell("t", "CE", "d", "minor", 50.0, 3.0)
    assert allowed_band(values, minor, tolerance=0.0, max_band=5.0).inconclusive is not None  # one width for all
    assert allowed_band(values, minor, tolerance=0.0, max_band={"minor": 6.5}).inconclusive is not None


def test_max_band_specs_are_read_in_order_and_bad_ones_named():
    from benchmark.analysis.reproduction import MAX_BANDS, max_bands

    assert max_bands() == dict(MAX_BANDS)
    assert max_bands(["4"]) == dict.fromkeys(MAX_BANDS, 4.0)
    assert max_bands(["minor=12"]) == {**MAX_BANDS, "minor": 12.0}
    assert max_bands(["4", "minor=12"]) == {**dict.fromkeys(MAX_BANDS, 4.0), "minor": 12.0}
    assert max_bands(["minor=12", "4"]) == dict.fromkeys(MAX_BANDS, 4.0)  # the later spec wins
    for spec, says in (
        ("minr=3", "unknown metric 'minr'"),
        ("minor=wide", "'wide' is not a number"),
        ("0", "positive"),
        ("minor=-2", "positive"),
        ("nan", "positive"),
        ("inf", "positive"),
    ):
        with pytest.raises(ValueError, match=says):
            max_bands([spec])


def test_check_max_band_flag_per_metric(paper_results, tmp_path, capsys):
    """A minor-MCR cell with a ±7.45 pp band (runs without spread, a reference of SD 3 on 3 seeds: Welch on
    2 df) passes at the default 10 pp and is inconclusive when ``--max-band`` narrows minor MCR to 5 pp."""
    from scipy import stats as sps

    from benchmark.commands.check import MAX_BAND_HELP
    from benchmark.results.reader import load_results

    frame = results_frame(load_results(paper_results)).query("method == 'CE' and dataset == 'skin7'")
    assert frame["mcr_minor"].nunique() == 1
    ref = tmp_path / "ref.csv"
    ref.write_text(f"method,dataset,minor,minor_std\nCE,skin7,{frame['mcr_minor'].iloc[0]:.6f},3.0\n")
    band = sps.t.ppf(0.975, 2) * 3.0 / math.sqrt(3)
    argv = ["check", "--results", str(paper_results), "--reference", str(ref)]
    assert main(argv) == 0
    assert f"±{band:.2f}" in capsys.readouterr().out
    for narrower in (["--max-band", "minor=5"], ["--max-band", "5"], ["--max-band", "minor=5", "--max-band", "all=6"]):
        assert main(argv + narrower) == 1
        out = capsys.readouterr().out
        assert f"INCONCLUSIVE CE / skin7 / minor (resnet50, paper): band ±{band:.2f} wider than 5 pp" in out
    assert main(argv + ["--max-band", "5", "--max-band", "minor=8"]) == 0  # applied in order
    capsys.readouterr()
    assert main(argv + ["--max-band", "minr=5"]) == 2
    assert "unknown metric 'minr'" in capsys.readouterr().err
    # the help's defaults are MAX_BANDS' (written out there so that --help does not load pandas)
    from benchmark.analysis.reproduction import MAX_BANDS

    assert "default " + " ".join(f"{m}={w:g}" for m, w in MAX_BANDS.items()) in MAX_BAND_HELP


def test_reference_file_with_wrong_columns_is_a_user_error(paper_results, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,score\nCE,1\n")
    assert main(["check", "--results", str(paper_results), "--reference", str(bad)]) == 2
    assert "needs columns method, dataset" in capsys.readouterr().err


def test_nothing_to_compare_is_a_user_error(tmp_path, synthetic_result, capsys):
    synthetic_result(
        tmp_path, dataset="digits-lt", method="CE", seed=0, metrics={"mcr_all": 1.0, "mcr_major": 1.0, "mcr_minor": 1.0}
    )
    assert main(["check", "--results", str(tmp_path), "--reference", "paper"]) == 2
    err = capsys.readouterr().err
    assert "no run" in err and "the reference has datasets" in err and "the results have datasets digits-lt" in err


def test_golden_smoke_results_reproduce(smoke_results, capsys):
    """The smoke protocol on CPU is deterministic: CE, CE→cRW and RW (seeds 0 1 2) match the golden means."""
    golden = load_reference_csv(GOLDEN_SMOKE)
    assert {r.method for r in golden} == {"CE", "CE→cRW", "RW"}
    # the smoke seeds are noisy (bands of 2-56 pp, so some cells are inconclusive): the exact
    # comparison below is what holds the line
    assert (
        main(
            [
                "check",
                "--results",
                str(smoke_results),
                "--reference",
                str(GOLDEN_SMOKE),
                "--tolerance",
                "0.5",
                "--allow-inconclusive",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "9 cells compared: 9 within tolerance" in out
    # and the golden numbers are the runs' exact means, not just inside the t-interval
    from benchmark.results.reader import load_results

    frame = results_frame(load_results(smoke_results))
    for c in compare(frame, golden, 0.5):
        assert c.ran and abs(c.diff) < 0.01, c.label


def test_golden_path_does_not_depend_on_threads_or_cpu_kernels(smoke_results, cache_dir, tmp_path):
    """Another machine of this kind: one thread and the scalar / SSE4.1 kernels instead of AVX-512.

    In float32 this moved CE's golden All MCR from 65.54 to 64.26 (summation order flips
    predictions); the smoke protocol's float64 keeps every confusion matrix identical.
    """
    import os
    import subprocess
    import sys

    from benchmark.results.reader import load_results

    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        ATEN_CPU_CAPABILITY="default",
        ONEDNN_MAX_CPU_ISA="SSE41",
        MKL_CBWR="COMPATIBLE",
        MEDLT_CACHE=str(cache_dir),
    )
    other = tmp_path / "results"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmark",
            "run",
            "--dataset",
            "digits-lt",
            "--protocol",
            "smoke",
            "--method",
            "CE",
            "--method",
            "ce-crw",
            "--method",
            "rw",
            "--seeds",
            "0",
            "1",
            "--results",
            str(other),
            "--cache-dir",
            str(cache_dir),
            "--device",
            "cpu",
            "--quiet",
            "--no-site",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    here = {(r.spec.method_id, r.spec.seed): r for r in load_results(smoke_results)}
    there = {(r.spec.method_id, r.spec.seed): r for r in load_results(other)}
    assert len(there) == 6
    for key, result in there.items():
        assert result.confusion_matrix == here[key].confusion_matrix, key


def test_runs_identical_to_the_references_seed_for_seed_are_conclusive(paper_results):
    """A reproduction of the board on its CPU kind: equality is checked, so a noisy cell is not inconclusive;
    one seed off by 0.01 pp, a missing seed or another seed set falls back to the statistical band."""
    import dataclasses

    from benchmark.analysis.reproduction import RefCell
    from benchmark.results.reader import load_results

    frame = results_frame(load_results(paper_results))
    frame = frame.query("method == 'CE→cRW' and dataset == 'skin7' and backbone == 'resnet50'")
    values = tuple(zip(frame["seed"].astype(int), frame["mcr_all"].astype(float)))
    mean = float(frame["mcr_all"].mean())
    noisy = RefCell("board", "CE→cRW", "skin7", "all", mean, 6.0, "resnet50", "paper", 3, values)
    [same] = compare(frame, [noisy], tolerance=1.0)
    assert same.status == "identical" and same.ok and not same.inconclusive
    for changed in (
        ((values[0][0], values[0][1] + 0.01), *values[1:]),  # one run moved
        values[:2],  # a seed the runs have is not the reference's
        tuple((seed + 3, v) for seed, v in values),  # the same numbers from other seeds
        (*values, values[0]),  # a seed twice
    ):
        [c] = compare(frame, [dataclasses.replace(noisy, seed_values=changed)], tolerance=1.0)
        assert c.status == "inconclusive" and "wider than 5 pp" in c.inconclusive
    [plain] = compare(frame, [dataclasses.replace(noisy, seed_values=None)], tolerance=1.0)
    assert plain.status == "inconclusive"


def test_a_reference_of_the_same_process_pools_both_variances_and_moderates_once():
    """Written out by hand: s_p^2 = (2 s_a^2 + 2 s_b^2) / 4, s~^2 = (d0 s0^2 + 4 s_p^2) / (d0 + 4), band =
    t(0.975, d0 + 4) · s~ · sqrt(1/3 + 1/3) (Smyth 2004's moderated t for two samples of one variance)."""
    from scipy import stats as sps

    from benchmark.analysis.comparisons import VariancePrior
    from benchmark.analysis.reproduction import RefCell, allowed_band

    runs, ref_runs = [80.0, 81.5, 79.0], [82.0, 80.5, 81.0]
    prior = VariancePrior(df=5.0, scale=1.2, n=20)
    s2a, s2b = np.var(runs, ddof=1), np.var(ref_runs, ddof=1)
    ref = RefCell("board", "CE", "d", "all", float(np.mean(ref_runs)), float(np.std(ref_runs, ddof=1)), "b", "p", 3)
    band = allowed_band(runs, ref, tolerance=0.0, prior=prior, same_process=True)
    moderated = (5.0 * 1.2 + 2 * s2a + 2 * s2b) / (5.0 + 4)
    assert band.df == 9.0
    assert band.allowed == pytest.approx(sps.t.ppf(0.975, 9) * math.sqrt(moderated * 2 / 3), rel=1e-12)
    # a reference of another process (the paper's) keeps Welch on each side's own variance
    other = allowed_band(runs, ref, tolerance=0.0, prior=prior, same_process=False)
    assert other.df != 9.0


def test_check_with_a_one_seed_reference_that_has_a_std_does_not_divide_by_zero():
    """A reference std from one seed says nothing (Welch's df would divide by n_ref - 1 = 0): the runs' spread
    stands in for both sides."""
    band = allowed_band([70.0, 71.0, 72.0], RefCell("t", "CE", "skin7", "all", 71.0, std=0.9, n=1), tolerance=0.0)
    # a std from one seed is meaningless: the runs' spread stands in for both sides
    assert band.allowed == pytest.approx(4.302653 * math.sqrt(1 / 3 + 1 / 1), abs=1e-5)


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
