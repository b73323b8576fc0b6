"""The ``paper`` protocol end to end on the CPU: ResNet-50 at 224 px from 300 px images, prepared from a small
Skin7 written in its official format (``ISIC2018_Task3_Training_GroundTruth.csv`` + JPEGs), a step of each stage,
for the heaviest paths: CE, CE→LWS (the official LWS schedule: class-aware batch of 512, batch norm in train mode,
best validation epoch), CE+SC→cRW (two views + projection head), BBN (two branches, a paired stream) and BCL
(three views, two MLPs, a 30·cos head). Random initialisation (nothing is downloaded); the protocol is the shipped
``paper.toml`` with only the lengths cut (1 epoch of 1 step, 1 stage-2 epoch; LWS keeps its official 5), Skin7's
batch cut from 32 to 8, and no pretrained weights."""

from __future__ import annotations

import math

import pytest

from benchmark import grid
from benchmark.grid import GridSettings, expand_grid
from benchmark.protocol import PROTOCOL_DIR, load_protocol
from benchmark.results.reader import load_results
from methods import create_method
from tests.datasets.fake_raw import write_skin7

ROWS = ("ce", "ce-lws", "ce+sc-crw", "bbn", "bcl")
COUNTS = {"MEL": 16, "NV": 48, "BCC": 12, "AKIEC": 10, "BKL": 16, "DF": 10, "VASC": 10}
#: Skin7's batch in paper.toml is 32; 8 here keeps the test within minutes and ~3 GB on a 2-core CPU (BCL's step is
#: 3 views of the batch through ResNet-50 at 224 px). benchmarks/memory.py gives the memory at the real batch sizes.
BATCH = 8


def paper_cut(tmp_path):
    """``paper.toml`` as shipped, cut to one step per stage and without pretrained weights."""
    text = (PROTOCOL_DIR / "paper.toml").read_text()
    for old, new in (
        ('name = "paper"', 'name = "paper-cut"'),
        ("pretrained = true", "pretrained = false"),
        ("epochs = 100", "epochs = 1\nmax_steps_per_epoch = 1"),
        ("warmup_epochs = 5", "warmup_epochs = 1"),
        ("stage2_epochs = 10", "stage2_epochs = 1"),
        ("eval_batch_size = 256", "eval_batch_size = 32"),
        ("[datasets.skin7]\nbatch_size = 32", f"[datasets.skin7]\nbatch_size = {BATCH}"),
    ):
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "paper-cut.toml"
    path.write_text(text)
    return load_protocol(str(path))


@pytest.fixture(scope="module")
def paper_results(tmp_path_factory, cache_dir):
    root = tmp_path_factory.mktemp("paper-pipeline")
    write_skin7(root / "raw", COUNTS)
    protocol = paper_cut(root)
    runs = expand_grid(["skin7"], [create_method(r) for r in ROWS], [None], [0], protocol)
    settings = GridSettings(
        results_dir=root / "results", cache_dir=root / "cache", raw_root=root / "raw", device="cpu", progress=False
    )
    counts = grid.run(runs, settings)
    return protocol, counts, {r.spec.method_id: r for r in load_results(root / "results")}


def test_paper_pipeline_runs_every_heavy_path(paper_results):
    protocol, counts, results = paper_results
    assert counts == {"ok": len(ROWS), "failed": 0, "skipped": 0, "locked": 0}
    for method_id, r in results.items():
        assert r.status == "ok", r.error
        assert r.spec.backbone == "resnet50" and r.protocol_config["image_size"] == 224, method_id
        assert r.protocol_config["cache_size"] == 300 and r.protocol_config["batch_size"] == BATCH
        assert all(math.isfinite(v) for v in (r.metrics.mcr_all, r.metrics.nll)), method_id
        assert sum(map(sum, r.confusion_matrix)) == sum(map(sum, results["ce"].confusion_matrix))
    # CE and CE→LWS share one stage 1; every other row trains its own
    assert results["ce"].stage1_sha256 == results["ce-lws"].stage1_sha256
    assert len({r.stage1_sha256 for r in results.values()}) == len(ROWS) - 1
    # LWS ran its official stage 2 (the paper protocol sets stage2_official)
    assert protocol.stage2_official and results["ce-lws"].stage2_settings["official"]["batch_size"] == 512
    assert results["ce-lws"].calibration_temperature is not None
