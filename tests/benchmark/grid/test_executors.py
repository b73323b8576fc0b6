"""The Ray executor runs the same jobs as the local one, one task per stage-1 job."""

from __future__ import annotations

import pytest
import torch

from benchmark import grid
from benchmark.grid import GridSettings, RayExecutor, expand_grid
from benchmark.results.store import iter_result_files, read_result
from methods import create_method


def test_ray_executor_matches_local(cache_dir, tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'medlt-bench[ray]')")
    runs = expand_grid(
        ["digits-lt"], [create_method("CE"), create_method("CE→cRW"), create_method("RW")], [None], [0], "smoke"
    )
    results = {}
    threads = torch.get_num_threads()
    for name, executor in (("local", None), ("ray", RayExecutor(num_cpus=2, gpus_per_job=0))):
        settings = GridSettings(results_dir=tmp_path / name, cache_dir=cache_dir, device="cpu", progress=False)
        # A Ray task with one CPU runs torch on one thread; float sums depend on the thread count.
        torch.set_num_threads(1)
        try:
            assert grid.run(runs, settings, executor) == {"ok": 3, "failed": 0, "skipped": 0, "locked": 0}
        finally:
            torch.set_num_threads(threads)
            if executor is not None:
                ray.shutdown()
        results[name] = {r.spec.method: r for r in map(read_result, iter_result_files(tmp_path / name))}
    assert results["ray"].keys() == results["local"].keys() == {"CE", "CE→cRW", "RW"}
    # two stage-1 jobs (CE family, RW) ran as Ray tasks; CE and CE→cRW share one stage 1
    assert results["ray"]["CE"].stage1_sha256 == results["ray"]["CE→cRW"].stage1_sha256
    for method, local in results["local"].items():
        assert results["ray"][method].confusion_matrix == local.confusion_matrix, method
