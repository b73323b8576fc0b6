"""The run grid: stage-1 sharing, frozen stage 2, determinism, skipping, resuming, failures."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

import datasets
from benchmark import grid
from benchmark.grid import GridSettings, expand_grid
from benchmark.grid.job import JobRunner, stage1_sha256
from benchmark.protocol import load_protocol
from benchmark.results.store import iter_result_files, read_result
from benchmark.training import inputs, stage1, stage2
from benchmark.training.backbones import create_backbone
from benchmark.training.inputs import ImageBank
from methods import Method, Rebalance, create_method
from tests.faults import medlt_faults


@dataclass
class Grid:
    """A results directory and the grid door: ``Grid(settings).run(runs)`` is ``grid.run(runs, settings)``."""

    settings: GridSettings

    def run(self, runs, executor=None):
        return grid.run(runs, self.settings, executor)


@pytest.fixture()
def runner_factory(cache_dir, tmp_path):
    def make(results: str = "results") -> Grid:
        return Grid(GridSettings(results_dir=tmp_path / results, cache_dir=cache_dir, device="cpu", progress=False))

    return make


@pytest.fixture()
def count_stage1(monkeypatch):
    calls = []
    real = stage1.train_stage1

    def counting(method, *args, **kwargs):
        calls.append(method.display_name)
        return real(method, *args, **kwargs)

    monkeypatch.setattr(stage1, "train_stage1", counting)
    return calls


def smoke_runs(*names: str, seeds=(0,)):
    return expand_grid(["digits-lt"], [create_method(n) for n in names], [None], list(seeds), "smoke")


def test_ce_based_methods_share_one_stage1(runner_factory, count_stage1):
    counts = runner_factory().run(smoke_runs("CE", "CE→cRW", "CE→cRS", "RW"))
    assert counts["ok"] == 4
    assert sorted(count_stage1) == ["CE", "RW"]  # one stage 1 for the three CE-based methods
    results = {r.spec.method: r for r in map(read_result, iter_result_files(runner_factory().settings.results_dir))}
    assert results["CE"].stage1_sha256 == results["CE→cRW"].stage1_sha256 == results["CE→cRS"].stage1_sha256
    assert results["RW"].stage1_sha256 != results["CE"].stage1_sha256
    assert results["CE→cRW"].two_stage and results["CE→cRW"].rebalance == "cRW"


def test_rerun_recomputes_nothing(runner_factory, count_stage1):
    runs = smoke_runs("CE", "CE→cRW")
    assert runner_factory().run(runs)["ok"] == 2
    before = [p.stat().st_mtime_ns for p in iter_result_files(runner_factory().settings.results_dir)]
    counts = runner_factory().run(runs)
    assert counts == {"ok": 0, "failed": 0, "skipped": 2, "locked": 0}
    assert count_stage1 == ["CE"]
    assert [p.stat().st_mtime_ns for p in iter_result_files(runner_factory().settings.results_dir)] == before


def test_new_two_stage_method_reuses_saved_stage1(runner_factory, count_stage1):
    runner_factory().run(smoke_runs("CE"))
    runner_factory().run(smoke_runs("CE→cRS"))
    assert count_stage1 == ["CE"]
    r = [read_result(p) for p in iter_result_files(runner_factory().settings.results_dir) if "ce-crs" in str(p)][0]
    assert r.provenance.stage1_reused


def test_same_seed_gives_identical_metrics(runner_factory):
    for name in ("a", "b"):
        runner_factory(name).run(smoke_runs("CE→cRW"))
    a, b = (read_result(next(iter_result_files(runner_factory(n).settings.results_dir))) for n in ("a", "b"))
    assert a.metrics == b.metrics
    assert a.confusion_matrix == b.confusion_matrix


def test_killed_stage1_resumes_and_matches(runner_factory, monkeypatch):
    runner_factory("clean").run(smoke_runs("CE"))
    clean = read_result(next(iter_result_files(runner_factory("clean").settings.results_dir)))

    def killer(self, desc, total):
        def on_epoch(epoch, epochs, loss):
            if epoch == 0:
                raise KeyboardInterrupt  # killed after the first epoch's checkpoint

        return on_epoch

    with monkeypatch.context() as m:
        m.setattr(JobRunner, "_epoch_bar", killer)
        with pytest.raises(KeyboardInterrupt):
            runner_factory("killed").run(smoke_runs("CE"))
    stage1_dir = runner_factory("killed").settings.results_dir / ".stage1"
    assert list(stage1_dir.glob("*.resume.pt")) and not list(
        iter_result_files(runner_factory("killed").settings.results_dir)
    )
    calls = []
    real = stage1.train_stage1
    monkeypatch.setattr(stage1, "train_stage1", lambda *a, **k: calls.append(Path(a[6]).exists()) or real(*a, **k))
    assert runner_factory("killed").run(smoke_runs("CE"))["ok"] == 1
    assert calls == [True]  # resumed from the saved epoch
    resumed = read_result(next(iter_result_files(runner_factory("killed").settings.results_dir)))
    assert resumed.metrics == clean.metrics
    assert not list(stage1_dir.glob("*.resume.pt"))


@dataclass(frozen=True, kw_only=True)
class Exploding(Method):
    name = "Exploding"
    id = "exploding"

    def training_step(self, model, batch, info):
        raise RuntimeError("boom")


def test_failed_run_is_recorded_and_grid_goes_on(runner_factory):
    runs = expand_grid(["digits-lt"], [Exploding(), create_method("CE")], [None], [0], "smoke")
    counts = runner_factory().run(runs)
    assert counts["ok"] == 1 and counts["failed"] == 1
    failed = [
        read_result(p) for p in iter_result_files(runner_factory().settings.results_dir) if "exploding" in str(p)
    ][0]
    assert failed.status == "failed" and "RuntimeError: boom" in failed.error
    # a failed run is retried on the next invocation, a finished one is not
    assert runner_factory().run(runs)["skipped"] == 1


def test_stage2_leaves_extractor_bit_identical(cache_dir):
    protocol = load_protocol("smoke")
    data = datasets.load("digits-lt", size=protocol.cache_size, cache_root=cache_dir, progress=False)
    train = data.splits["train"]
    device = torch.device("cpu")
    split = inputs.TrainSplit(
        ImageBank(data.images, train, device), data.labels[train], torch.tensor(data.train_counts, dtype=torch.float32)
    )
    torch.manual_seed(0)
    backbone, dim = create_backbone(protocol.backbone)
    model = create_method("CE").build(backbone, dim, data.num_classes, split.class_counts)
    stage1.train_stage1(create_method("CE"), model, split, protocol, device, seed=0)
    before = copy.deepcopy(model.backbone.state_dict())  # parameters and batch-norm buffers
    head_before = model.head.weight.detach().clone()
    for kind in ("reweight", "resample"):
        stage2.train_stage2(model, Rebalance(kind), split, protocol, device, seed=0)
        after = model.backbone.state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before), kind
    assert model.head.weight.shape == head_before.shape and not torch.equal(model.head.weight, head_before)


def test_result_json_has_design_fields(runner_factory):
    runner_factory().run(smoke_runs("CE→cRW"))
    path = next(iter_result_files(runner_factory().settings.results_dir))
    assert path.relative_to(runner_factory().settings.results_dir).parts == (
        "digits-lt",
        "test_resnet",
        "smoke",
        "ce-crw",
        "seed-0.json",
    )
    data = json.loads(path.read_text())
    assert data["spec"] == {
        "dataset": "digits-lt",
        "method": "CE→cRW",
        "method_id": "ce-crw",
        "backbone": "test_resnet",
        "seed": 0,
        "protocol": "smoke",
    }
    assert set(data["metrics"]) == {
        "mcr_all",
        "mcr_major",
        "mcr_minor",
        "mcr_medium",
        "accuracy",
        "macro_f1",
        "macro_auc",
        "ece",
        "nll",
        "ece_calibrated",
        "nll_calibrated",
        "mcr_many_shot",
        "mcr_medium_shot",
        "mcr_few_shot",
    }
    assert data["schema_version"] == 2 and data["metrics"]["nll"] > 0
    # temperature scaling: fitted on validation, applied to test; the validation split gets no calibrated score
    assert data["calibration_temperature"] > 0 and data["metrics"]["nll_calibrated"] > 0
    assert data["val_metrics"]["ece_calibrated"] is None
    assert set(data["val_metrics"]) == set(data["metrics"]) and data["val_metrics"] != data["metrics"]
    assert len(data["per_class"]["recall"]) == 10 and len(data["confusion_matrix"]) == 10
    assert data["per_class"]["group"][:3] == ["major"] * 3 and data["per_class"]["group"][-3:] == ["minor"] * 3
    assert len(data["dataset_manifest_sha256"]) == 64
    for key in ("package_version", "git_commit", "torch_version", "device", "wall_seconds", "started", "finished"):
        assert key in data["provenance"]
    preds = np.load(path.with_name("seed-0.preds.npz"))
    assert int(np.asarray(data["confusion_matrix"]).sum()) == len(preds["y_true"])
    assert preds["logits"].dtype == np.float16 and preds["logits"].shape == (len(preds["y_true"]), 10)


@dataclass(frozen=True, kw_only=True)
class Diverging(Method):
    name = "Diverging"
    id = "diverging"

    def training_step(self, model, batch, info):
        return {"loss": model(batch.images).sum() * float("nan")}


def test_non_finite_loss_fails_the_run_with_a_clear_error(runner_factory):
    counts = runner_factory().run(expand_grid(["digits-lt"], [Diverging()], [None], [0], "smoke"))
    assert counts["failed"] == 1
    failed = read_result(next(iter_result_files(runner_factory().settings.results_dir)))
    assert failed.error.startswith("FloatingPointError: Diverging: non-finite loss in epoch 1")


def test_a_job_locked_by_another_worker_is_left_alone(runner_factory, cache_dir):
    import fcntl

    runs = smoke_runs("CE", "CE→cRW")
    protocol = runs[0].protocol
    data = datasets.load("digits-lt", size=protocol.cache_size, cache_root=cache_dir, progress=False)
    lock_path = (
        runner_factory().settings.results_dir
        / ".stage1"
        / (stage1_sha256(data.manifest_sha256, runs[0].method, runs[0].backbone, 0, protocol) + ".lock")
    )
    lock_path.parent.mkdir(parents=True)
    with open(lock_path, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another worker is training this stage 1
        assert runner_factory().run(runs) == {"ok": 0, "failed": 0, "skipped": 0, "locked": 2}
    assert not list(iter_result_files(runner_factory().settings.results_dir))
    assert runner_factory().run(runs)["ok"] == 2  # released: the next invocation runs it


def test_a_grid_announces_its_milestones_in_order(runner_factory):
    """The milestones docs/reliability.md lists, as a listener sees them: per job its dataset and lock, stage 1
    trained epoch by epoch and saved, then each member run evaluated and written (in this process no job-done)."""
    seen: list[tuple[str, str]] = []
    listener = lambda point, detail: seen.append((point, detail)) if not point.startswith("write:") else None
    with medlt_faults.listening(listener):
        assert runner_factory().run(smoke_runs("CE", "CE→cRW"))["ok"] == 2
    points = [p for p, _ in seen]
    epochs = load_protocol("smoke").epochs
    assert points == [
        "dataset-loaded",
        "job-locked",
        "stage1-training",
        *["stage1-epoch"] * epochs,
        "stage1-saved",
        "run-evaluated",
        "run-written",
        "run-evaluated",
        "run-written",
    ]
    assert [d for p, d in seen if p == "stage1-epoch"] == [str(e) for e in range(epochs)]
    assert [d for p, d in seen if p == "run-written"] == [
        "digits-lt/test_resnet/smoke/ce/seed-0.json",
        "digits-lt/test_resnet/smoke/ce-crw/seed-0.json",
    ]
    seen.clear()
    with medlt_faults.listening(listener):
        assert runner_factory().run(smoke_runs("CE", "CE→cRW"))["skipped"] == 2
    assert seen == []  # nothing ran: nothing announced
