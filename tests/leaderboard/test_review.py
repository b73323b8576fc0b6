"""``review``: an honest submission passes (exit 0); inflated numbers and results of another method file fail
(exit 1); a dataset this machine lacks is "not re-run" (exit 3), never passed; ``--merge`` adds a passed
submission to the board and rebuilds the site, and refuses to overwrite.

The submission is ``tests/conftest.py``'s ``honest_submission`` (LA-CE from ``docs/examples/my_method.py``,
``bloodcell-lt``, ``smoke``, seeds 0 1 2), built once per session.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.errors import UserError
from leaderboard.review import merge
from tests.conftest import one_thread


def _review(submission: Path, cache_dir: Path, tmp_path: Path, *extra: str) -> tuple[int, str]:
    report = tmp_path / "verdict.md"
    argv = ["review", str(submission), "--report", str(report), "--cache-dir", str(cache_dir)]
    with one_thread():
        code = main(argv + ["--device", "cpu", "--quiet", *extra])
    return code, report.read_text(encoding="utf-8")


def _copy(submission: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(submission, tmp_path / "submission" / submission.name))


def _results(submission: Path) -> list[Path]:
    return sorted((submission / "results").rglob("seed-*.json"))


def _cell_row(verdict: str, dataset: str) -> str:
    rows = [line for line in verdict.splitlines() if line.startswith(f"| {dataset} |")]
    assert len(rows) == 1, verdict
    return rows[0]


@pytest.fixture(scope="module")
def merged(honest_submission, cache_dir, tmp_path_factory) -> tuple[int, str, Path, Path]:
    """``review --merge`` of the honest submission into an empty board (one re-run for the module): exit code,
    verdict, board and site."""
    tmp_path = tmp_path_factory.mktemp("merged")
    board, site = tmp_path / "board" / "results", tmp_path / "site"
    extra = ("--merge", "--board", str(board), "--site", str(site))
    code, verdict = _review(honest_submission, cache_dir, tmp_path, *extra)
    return code, verdict, board, site


def test_honest_submission_passes(merged):
    code, verdict, _, _ = merged
    assert code == 0, verdict
    assert "**Overall: PASS** (exit 0)" in verdict
    row = _cell_row(verdict, "bloodcell-lt")
    assert "| LA-CE (`la-ce`) | 0 1 2 |" in row and row.rstrip(" |").endswith("| pass")
    submitted, rerun = row.split("|")[6:8]
    assert float(submitted) == pytest.approx(float(rerun), abs=0.01)  # smoke runs in float64: the same numbers


def test_inflated_numbers_fail(honest_submission, cache_dir, tmp_path):
    """Every percentage metric and per-class recall raised by 3 pp. The predictions and confusion matrices are
    left as they were, so `validate` finds that the metrics no longer match them: the review fails on that
    (the 3-seed band of the mean comparison is about ±3.5 pp on smoke, so the shift alone need not fail it)."""
    sub = _copy(honest_submission, tmp_path)
    for path in _results(sub):
        data = json.loads(path.read_text())
        for key, value in data["metrics"].items():
            if isinstance(value, float) and key not in ("nll", "ece", "nll_calibrated", "ece_calibrated"):
                data["metrics"][key] = min(100.0, value + 3.0)
        data["per_class"]["recall"] = [None if r is None else min(100.0, r + 3.0) for r in data["per_class"]["recall"]]
        path.write_text(json.dumps(data))
    code, verdict = _review(sub, cache_dir, tmp_path)
    assert code == 1, verdict
    assert "**Overall: FAIL** (exit 1)" in verdict
    problems = verdict.split("Problems:")[1].split("| dataset |")[0]
    assert "validate:" in problems and "metrics.mcr_all" in problems and "seed-0.json" in problems
    row = _cell_row(verdict, "bloodcell-lt")
    assert "| FAIL | validation: " in row and "problems in its files" in row


def test_results_of_another_method_file_fail(honest_submission, cache_dir, tmp_path):
    sub = _copy(honest_submission, tmp_path)
    recorded = json.loads(_results(sub)[0].read_text())["method_source_sha256"]
    with open(sub / "method.py", "a", encoding="utf-8") as f:
        f.write("# edited after the run\n")
    now = hashlib.sha256((sub / "method.py").read_bytes()).hexdigest()
    board = tmp_path / "board"
    code, verdict = _review(sub, cache_dir, tmp_path, "--merge", "--board", str(board))
    assert code == 1, verdict
    assert "**Overall: FAIL**" in verdict
    assert f"method_source_sha256 {recorded} differs from the SHA-256" in verdict and now in verdict
    assert "produced by a different file" in verdict
    assert "| FAIL |" in _cell_row(verdict, "bloodcell-lt")
    assert not board.exists()  # a failed review merges nothing


def _relabel(submission: Path, dataset: str, manifest_sha: str) -> None:
    """Move every result of the submission to ``dataset`` (a dataset this machine has not prepared)."""
    results = submission / "results"
    for path in _results(submission):
        data = json.loads(path.read_text())
        data["spec"]["dataset"] = dataset
        data["dataset_manifest_sha256"] = manifest_sha
        path.write_text(json.dumps(data))
    (results / "bloodcell-lt").rename(results / dataset)


@pytest.mark.parametrize("give_manifest", [False, True], ids=["no-manifest", "with-manifest"])
def test_dataset_not_here_is_not_rerun(honest_submission, cache_dir, tmp_path, give_manifest):
    sub = _copy(honest_submission, tmp_path)
    sha = "c" * 64
    _relabel(sub, "skin7", sha)
    extra = ["--manifest", f"skin7={sha}"] if give_manifest else []
    code, verdict = _review(sub, cache_dir, tmp_path, *extra)
    assert code == 3, verdict
    assert "**Overall: COULD NOT VERIFY** (exit 3)" in verdict
    row = _cell_row(verdict, "skin7")
    assert "| not re-run |" in row and "skin7 is not prepared in" in row
    assert "| pass |" not in verdict and "Problems:" not in verdict


def test_merge_adds_the_rows_and_builds_the_site(honest_submission, merged):
    code, verdict, board, site = merged
    assert code == 0, verdict
    submitted = sorted(
        p.relative_to(honest_submission / "results")
        for p in (honest_submission / "results").rglob("*")
        if p.is_file() and not p.name.endswith(".lock")
    )
    assert sorted(p.relative_to(board) for p in board.rglob("*") if p.is_file()) == submitted
    assert len(submitted) == 3 + 3 + 2  # seed-k.json, seed-k.preds.npz, .protocol.json and .run.json
    assert "LA-CE" in (site / "index.html").read_text(encoding="utf-8")

    # a second merge of the same files is refused, naming the file; the board is left as it was
    before = {p: p.read_bytes() for p in board.rglob("*") if p.is_file()}
    with pytest.raises(UserError, match=r"seed-0\.json: already exists in the board"):
        merge(honest_submission / "results", board)
    assert {p: p.read_bytes() for p in board.rglob("*") if p.is_file()} == before


def test_merge_refuses_another_column_identity(honest_submission, tmp_path):
    board = tmp_path / "board"
    claim = next((honest_submission / "results").rglob(".protocol.json")).relative_to(honest_submission / "results")
    (board / claim).parent.mkdir(parents=True)
    other = json.loads((honest_submission / "results" / claim).read_text())
    other["identity"]["epochs"] = 99
    (board / claim).write_text(json.dumps(other))
    with pytest.raises(UserError, match=r"\.protocol\.json: the board records another configuration"):
        merge(honest_submission / "results", board)
    assert [p.name for p in board.rglob("*") if p.is_file()] == [".protocol.json"]
