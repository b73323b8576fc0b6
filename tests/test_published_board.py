"""The published board in the repository (leaderboard/board/): complete, current, valid, and reproducible.

- No stale number: every registered row has a result for every seed of the board, made by the code, hyper-
  parameters, stage-2 settings, protocol and dataset build of this checkout (``leaderboard.published.stale_rows``).
- CI regression of real numbers: CE and CE→cRW are re-run on the board's grid and checked against the published
  cells with ``check``'s machinery; on the CPU model and thread count that computed the board, the re-run must
  reproduce the published confusion matrices exactly.
"""

from __future__ import annotations

import torch

from benchmark import grid
from benchmark.analysis.reproduction import compare, load_reference_csv, reference_csv_from_frame
from benchmark.cli import main
from benchmark.grid import GridSettings, expand_grid
from benchmark.results.reader import results_frame
from benchmark.results.store import iter_result_files, read_result, result_path
from leaderboard.published import BOARD_DIR, BoardManifest, machine, stale_rows
from methods import create_method

REGRESSION_ROWS = ("CE", "CE→cRW")
REFRESH = "python -m benchmark board refresh"


def test_every_registered_row_is_published_and_current(cache_dir):
    stale = stale_rows(BOARD_DIR, cache_dir)
    assert not stale, f"{len(stale)} stale rows on the published board; run `{REFRESH}`:\n" + "\n".join(map(str, stale))


def test_the_board_validates(cache_dir, capsys):
    assert main(["validate", str(BOARD_DIR / "results"), "--cache-dir", str(cache_dir)]) == 0, capsys.readouterr()


def test_published_numbers_reproduce(cache_dir, tmp_path, capsys):
    board = BoardManifest.read(BOARD_DIR)
    rows = [create_method(name) for name in REGRESSION_ROWS]
    runs = expand_grid([board.dataset], rows, [board.backbone], board.seeds, board.protocol)
    settings = GridSettings(results_dir=tmp_path / "rerun", cache_dir=cache_dir, device="cpu", progress=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(board.threads)
    try:
        assert grid.run(runs, settings)["ok"] == len(runs)
    finally:
        torch.set_num_threads(threads)
    rerun = [read_result(p) for p in iter_result_files(tmp_path / "rerun")]
    published = [read_result(result_path(BOARD_DIR / "results", r.spec)) for r in runs]
    reference_csv = tmp_path / "published.csv"
    reference_csv.write_text(reference_csv_from_frame(results_frame(published)))
    reference = [c for c in load_reference_csv(reference_csv) if c.metric in ("all", "major", "minor")]
    comparisons = compare(results_frame(rerun), reference, tolerance=1.0)
    assert len(comparisons) == 3 * len(REGRESSION_ROWS) and all(c.ran for c in comparisons)
    failed = [
        f"{c.label}: re-run {c.reproduced:.2f}, published {c.ref.value:.2f}, band ±{c.allowed:.2f}"
        for c in comparisons
        if not c.ok
    ]
    assert not failed, f"published numbers moved; if the change is meant, run `{REFRESH}`:\n" + "\n".join(failed)
    if machine() == board.machine:  # the same CPU and thread count: float32 sums in the same order
        by_spec = {(r.spec.method_id, r.spec.seed): r for r in rerun}
        for p in published:
            assert by_spec[(p.spec.method_id, p.spec.seed)].confusion_matrix == p.confusion_matrix, p.spec
