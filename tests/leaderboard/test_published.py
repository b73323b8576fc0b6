"""The board machinery on a small board (digits-lt, smoke, two rows): stale rows are named with their reason,
a refresh re-runs exactly those and nothing else, a failed refresh leaves the board as it was, and
``evaluate`` puts a new method beside the published rows without re-running them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.errors import UserError
from benchmark.results.store import iter_result_files
from leaderboard import published as board_mod
from leaderboard.published import BoardManifest, refresh, stale_rows
from methods import create_method
from tests import ROOT

EXAMPLE = ROOT / "docs" / "examples" / "my_method.py"


def _rows():
    return [create_method("CE"), create_method("CE→cRW")]


@pytest.fixture(scope="module")
def small_board(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("board")
    init = BoardManifest(
        dataset="digits-lt", protocol="smoke", backbone="test_resnet", seeds=[0, 1], dataset_manifest_sha256=""
    )
    outcome = refresh(root, cache_dir, jobs=1, progress=False, init=init, methods=_rows())
    assert outcome.rerun == ["ce", "ce-crw"] and outcome.removed == []
    return root


@pytest.fixture
def board(small_board: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "board"
    shutil.copytree(small_board, copy)
    return copy


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _edit(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = data
        for key in parents:
            node = node[key]
        node[leaf] = value
    path.write_text(json.dumps(data))


def _result(root: Path, method_id: str, seed: int) -> Path:
    return root / "results" / "digits-lt" / "test_resnet" / "smoke" / method_id / f"seed-{seed}.json"


def test_a_fresh_board_is_current_and_publishes_no_checkpoint(board, cache_dir):
    assert stale_rows(board, cache_dir, _rows()) == []
    manifest = BoardManifest.read(board)
    assert manifest.dataset_manifest_sha256 and manifest.machine and manifest.date and manifest.threads == 1
    names = {p.name for p in (board / "results").rglob("*")}
    assert not any(n.endswith((".pt", ".lock")) for n in names) and ".stage1" not in names
    assert len(list(iter_result_files(board / "results"))) == 4


def test_changed_code_names_the_file(board, cache_dir):
    path = _result(board, "ce-crw", 1)
    data = json.loads(path.read_text())
    data["code_sha256"]["methods/stage2/retrain.py"] = "0" * 64
    path.write_text(json.dumps(data))
    [row] = stale_rows(board, cache_dir, _rows())
    assert row.method_id == "ce-crw" and row.reasons == ("seed 1: methods/stage2/retrain.py changed",)


def test_changed_hyperparameters_protocol_dataset_and_missing_seed(board, cache_dir):
    _edit(_result(board, "ce", 0), protocol_config__epochs=99)
    _edit(_result(board, "ce", 1), dataset_manifest_sha256="f" * 64)
    _result(board, "ce-crw", 0).unlink()
    rows = {r.method_id: r for r in stale_rows(board, cache_dir, _rows())}
    assert rows["ce"].reasons == (
        "seed 0: protocol 'smoke' changed: epochs",
        "seed 1: the digits-lt build changed (manifest ffffffffffff…)",
    )
    assert rows["ce-crw"].reasons == ("seed 0: no published result",)
    drw = [create_method("CE"), create_method("CE→cRW"), create_method("CE-DRW")]
    assert [r.method_id for r in stale_rows(board, cache_dir, drw)][-1] == "ce-drw"  # a new row: not published
    gone = {r.method_id: r.reasons for r in stale_rows(board, cache_dir, [create_method("CE")])}
    assert gone["ce-crw"] == ("published, but no longer registered",)


def test_refresh_reruns_exactly_the_stale_rows(board, cache_dir):
    before = _files(board)
    path = _result(board, "ce-crw", 1)
    _edit(path, code_sha256={"methods/stage2/retrain.py": "0" * 64})
    outcome = refresh(board, cache_dir, jobs=1, progress=False, methods=_rows())
    assert outcome.rerun == ["ce-crw"] and outcome.removed == []
    after = _files(board)
    ce = [k for k in before if "/ce/" in k]
    assert ce and all(after[k] == before[k] for k in ce)  # CE untouched, byte for byte
    assert (
        json.loads(path.read_text())["code_sha256"]
        == json.loads(before[path.relative_to(board).as_posix()])["code_sha256"]
    )
    assert (
        json.loads(after[path.relative_to(board).as_posix()])["confusion_matrix"]
        == json.loads(before[path.relative_to(board).as_posix()])["confusion_matrix"]
    )  # the same code on the same machine: the same numbers
    assert stale_rows(board, cache_dir, _rows()) == []
    assert not list(board.glob(".refresh-*"))


def test_removed_row_leaves_the_board(board, cache_dir):
    outcome = refresh(board, cache_dir, jobs=1, progress=False, methods=[create_method("CE")])
    assert outcome.removed == ["ce-crw"] and outcome.rerun == []
    assert not _result(board, "ce-crw", 0).exists() and _result(board, "ce", 0).exists()


def test_failed_refresh_leaves_the_board_as_it_was(board, cache_dir, monkeypatch):
    _edit(_result(board, "ce", 0), code_sha256={})
    before = _files(board)
    monkeypatch.setattr(board_mod.grid, "run", lambda *a: {"ok": 0, "failed": 6, "skipped": 0, "locked": 0})
    with pytest.raises(UserError, match="6 runs failed.*the board is unchanged"):
        refresh(board, cache_dir, jobs=1, progress=False, methods=_rows())
    assert _files(board) == before


def test_evaluate_adds_a_new_row_without_rerunning_the_board(board, cache_dir, tmp_path, capsys):
    out = tmp_path / "eval"
    argv = ["evaluate", "--method", f"{EXAMPLE}:LogitAdjustedCE", "--board", str(board), "--results", str(out)]
    argv += ["--cache-dir", str(cache_dir), "--jobs", "1", "--quiet", "--site", str(tmp_path / "site")]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "LA-CE" in text and "CE→cRW" in text  # the new row among the published ones
    assert "mcr_all: LA-CE" in text and ("than CE (" in text or "from CE (" in text)
    published = {k: v for k, v in _files(board / "results").items()}
    copied = _files(out)
    assert all(copied[k] == v for k, v in published.items())  # the baselines are the board's files, not re-runs
    assert sum("/la-ce/seed-" in k and k.endswith(".json") for k in copied) == 2
    assert "LA-CE" in (tmp_path / "site" / "index.html").read_text()


def test_evaluate_refuses_another_protocol_or_dataset_build(board, cache_dir, tmp_path, capsys):
    argv = ["evaluate", "--method", f"{EXAMPLE}:LogitAdjustedCE", "--board", str(board), "--results"]
    argv_tail = ["--cache-dir", str(cache_dir), "--jobs", "1", "--quiet"]
    manifest = BoardManifest.read(board)
    BoardManifest(**{**manifest.__dict__, "dataset_manifest_sha256": "a" * 64}).write(board)
    assert main([*argv, str(tmp_path / "a"), *argv_tail]) == 2
    assert "is not the board's build" in capsys.readouterr().err
    manifest.write(board)
    for seed in (0, 1):
        for method_id in ("ce", "ce-crw"):
            _edit(_result(board, method_id, seed), protocol_config__lr=0.5)
    assert main([*argv, str(tmp_path / "b"), *argv_tail]) == 2
    assert "differs from the board's in lr" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_evaluate_refuses_a_published_row(board, cache_dir, tmp_path, capsys):
    argv = ["evaluate", "--method", "CE", "--board", str(board), "--results", str(tmp_path / "e")]
    assert main([*argv, "--cache-dir", str(cache_dir), "--quiet"]) == 2
    assert "is a published row" in capsys.readouterr().err


def test_board_status_command_names_stale_rows(board, cache_dir, capsys, monkeypatch):
    monkeypatch.setattr(board_mod, "stale_rows", lambda root, cache, methods=None: stale_rows(root, cache, _rows()))
    argv = ["board", "status", "--board", str(board), "--cache-dir", str(cache_dir)]
    assert main(argv) == 0
    assert "0 stale rows" in capsys.readouterr().out
    _edit(_result(board, "ce", 1), hyperparameters={"tau": 2.0})
    assert main(argv) == 1
    assert "stale: CE (ce): seed 1: hyper-parameters changed: tau" in capsys.readouterr().out
