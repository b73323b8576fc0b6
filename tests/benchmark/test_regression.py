"""``check``: reproduced vs reported within max(tolerance, the runs' 95 % t-interval); the golden smoke results."""
from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.regression import GOLDEN_SMOKE, compare, load_reference_csv, paper_reference
from benchmark.results import results_frame
from benchmark.stats import t_interval_halfwidth

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
            synthetic_result(root, dataset=dataset, method=method, seed=seed, backbone=backbone, protocol="paper",
                             metrics=metrics)


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
    assert fails == ["FAIL CE→cRW / xray9 / minor (resnet50, paper): reproduced 48.59 vs reported 47.79 (Table 2), "
                     "difference +0.80 outside ±0.50"]
    # a wider tolerance accepts it
    assert main(["check", "--results", str(paper_results), "--tolerance", "1.0"]) == 0


def test_t_interval_widens_the_band_for_noisy_seeds(paper_results):
    from benchmark.results import load_results

    frame = results_frame(load_results(paper_results))
    ce = frame[(frame.method == "CE") & (frame.dataset == "skin7")]
    hw = t_interval_halfwidth(ce["mcr_all"].tolist())
    assert hw == pytest.approx(4.302653 * 0.89 / math.sqrt(3), abs=1e-4)
    [c] = [c for c in compare(frame, paper_reference(), 0.5) if (c.ref.method, c.ref.dataset, c.ref.metric)
           == ("CE", "skin7", "all")]
    assert c.allowed == pytest.approx(hw) and c.ok
    moved = frame.assign(mcr_all=frame["mcr_all"] + (hw + 0.1) * ((frame.method == "CE") & (frame.dataset == "skin7")))
    [c] = [c for c in compare(moved, paper_reference(), 0.5) if (c.ref.method, c.ref.dataset, c.ref.metric)
           == ("CE", "skin7", "all")]
    assert not c.ok


def test_reference_file_with_wrong_columns_is_a_user_error(paper_results, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,score\nCE,1\n")
    assert main(["check", "--results", str(paper_results), "--reference", str(bad)]) == 2
    assert "needs columns method, dataset" in capsys.readouterr().err


def test_nothing_to_compare_is_a_user_error(tmp_path, synthetic_result, capsys):
    synthetic_result(tmp_path, dataset="digits-lt", method="CE", seed=0, metrics={"mcr_all": 1.0, "mcr_major": 1.0,
                                                                                   "mcr_minor": 1.0})
    assert main(["check", "--results", str(tmp_path), "--reference", "paper"]) == 2
    assert "no run" in capsys.readouterr().err


def test_golden_smoke_results_reproduce(smoke_results, capsys):
    """The smoke protocol on CPU is deterministic: CE, CE→cRW and RW (seeds 0 1 2) match the golden means."""
    golden = load_reference_csv(GOLDEN_SMOKE)
    assert {r.method for r in golden} == {"CE", "CE→cRW", "RW"}
    assert main(["check", "--results", str(smoke_results), "--reference", str(GOLDEN_SMOKE), "--tolerance", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "9 cells compared: 9 within tolerance" in out
    # and the golden numbers are the runs' exact means, not just inside the t-interval
    from benchmark.results import load_results

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

    from benchmark.results import load_results

    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", ATEN_CPU_CAPABILITY="default",
               ONEDNN_MAX_CPU_ISA="SSE41", MKL_CBWR="COMPATIBLE", MEDLT_CACHE=str(cache_dir))
    other = tmp_path / "results"
    subprocess.run([sys.executable, "-m", "benchmark", "run", "--protocol", "smoke", "--method", "CE", "--method",
                    "ce-crw", "--method", "rw", "--seeds", "0", "1", "--results", str(other), "--cache-dir",
                    str(cache_dir), "--device", "cpu", "--quiet", "--no-site"], env=env, check=True,
                   capture_output=True, text=True)
    here = {(r.spec.method_id, r.spec.seed): r for r in load_results(smoke_results)}
    there = {(r.spec.method_id, r.spec.seed): r for r in load_results(other)}
    assert len(there) == 6
    for key, result in there.items():
        assert result.confusion_matrix == here[key].confusion_matrix, key
