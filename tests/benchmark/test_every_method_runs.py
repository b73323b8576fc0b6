"""Every registered method through the real grid and engine (samplers, paired streams, two views,
stage 2, evaluation, result file), on a tiny protocol."""

from __future__ import annotations

import math

import pytest

from benchmark.grid import GridRunner, GridSettings, expand_grid
from benchmark.protocol import PROTOCOL_DIR, load_protocol
from benchmark.results import iter_result_files, read_result
from methods import method_entries


@pytest.fixture(scope="module", params=["float64", "float32"])
def every_method_results(cache_dir, tmp_path_factory, request):
    """float64 (NCHW, the golden path) and float32 (channels-last on the CPU, as `quick` trains)."""
    root = tmp_path_factory.mktemp("every-method")
    text = (PROTOCOL_DIR / "smoke.toml").read_text().replace('name = "smoke"', 'name = "tiny"')
    text = text.replace('precision = "float64"', f'precision = "{request.param}"')
    text = text.replace("epochs = 4", "epochs = 1").replace("max_steps_per_epoch = 0", "max_steps_per_epoch = 2")
    (root / "tiny.toml").write_text(text)
    runs = expand_grid(
        ["digits-lt"], [e.create() for e in method_entries()], [None], [0], load_protocol(str(root / "tiny.toml"))
    )
    counts = GridRunner(
        GridSettings(results_dir=root / "results", cache_dir=cache_dir, device="cpu", progress=False)
    ).run(runs)
    return counts, {r.spec.method_id: r for r in map(read_result, iter_result_files(root / "results"))}


def test_grid_counts(every_method_results):
    counts, results = every_method_results
    assert counts == {"ok": len(method_entries()), "failed": 0, "skipped": 0, "locked": 0}
    # one stage 1 per family: the rows of one method class share one stage-1 checkpoint
    assert len({r.stage1_sha256 for r in results.values()}) == len({e.cls for e in method_entries()})


@pytest.mark.parametrize("method_id", [e.id for e in method_entries()])
def test_method_runs_end_to_end(every_method_results, method_id):
    _, results = every_method_results
    r = results[method_id]
    assert r.status == "ok", r.error
    assert all(math.isfinite(v) for v in (r.metrics.mcr_all, r.metrics.mcr_major, r.metrics.mcr_minor))
    test_size = {sum(map(sum, other.confusion_matrix)) for other in results.values()}
    assert test_size == {sum(map(sum, r.confusion_matrix))} and test_size.pop() > 500  # every test image, every method
    assert r.two_stage == ("→" in r.spec.method)
