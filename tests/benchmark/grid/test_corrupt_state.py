"""Corrupt or stale state under ``<results>/.stage1/``: set aside with a warning and retrained, never fatal.

Also: temporary files a killed worker left are removed by the next worker that takes the job, and
never while another worker holds it.
"""

from __future__ import annotations

import fcntl
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

import datasets
from benchmark import grid
from benchmark.grid import GridSettings, expand_grid
from benchmark.grid.job import stage1_sha256
from benchmark.results.store import read_result, result_path
from benchmark.training import checkpoints, precision
from benchmark.training.backbones import create_backbone
from methods import create_method


@dataclass
class CEJob:
    """CE, seed 0, smoke protocol on digits-lt: its grid settings, result path and stage-1 file paths."""

    settings: GridSettings
    runs: list
    data: datasets.PreparedDataset
    result: Path
    final: Path
    resume: Path
    lock: Path

    def run(self) -> dict[str, int]:
        return grid.run(self.runs, self.settings)

    def fresh_model(self) -> torch.nn.Module:
        """The job's model as built before training (right keys and shapes)."""
        r = self.runs[0]
        with precision.numeric_precision(r.protocol.precision):
            torch.manual_seed(0)
            backbone, dim = create_backbone(r.backbone, r.protocol.pretrained)
            return r.method.build(backbone, dim, self.data.num_classes, torch.tensor(self.data.train_counts))


@pytest.fixture()
def job(cache_dir, tmp_path) -> CEJob:
    runs = expand_grid(["digits-lt"], [create_method("CE")], [None], [0], "smoke")
    r = runs[0]
    data = datasets.load("digits-lt", size=r.protocol.cache_size, cache_root=cache_dir, progress=False)
    s1 = stage1_sha256(data.manifest_sha256, r.method, r.backbone, 0, r.protocol)
    results = tmp_path / "results"
    stage1 = results / ".stage1"
    stage1.mkdir(parents=True)
    settings = GridSettings(results_dir=results, cache_dir=cache_dir, device="cpu", progress=False)
    return CEJob(
        settings,
        runs,
        data,
        result_path(results, r.spec),
        stage1 / f"{s1}.pt",
        stage1 / f"{s1}.resume.pt",
        stage1 / f"{s1}.lock",
    )


def unbroken_ce(smoke_results: Path):
    return read_result(smoke_results / "digits-lt" / "test_resnet" / "smoke" / "ce" / "seed-0.json")


def assert_set_aside(path: Path, err: str) -> None:
    aside = list(path.parent.glob(f"{path.name}.corrupt-*"))
    assert len(aside) == 1, list(path.parent.iterdir())
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and str(path) in warnings[0] and aside[0].name in warnings[0], err


def _flip_a_byte(data: bytes) -> bytes:
    i = len(data) // 2  # most of a checkpoint is tensor data, where torch itself would not notice
    return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]


def _bad_final(job, case: str) -> bytes:
    if case == "garbage":
        return b"not a checkpoint at all"
    checkpoints.save_checkpoint(job.fresh_model().state_dict(), job.final)
    return _flip_a_byte(job.final.read_bytes())


@pytest.mark.parametrize("case", ["garbage", "flipped byte"])
def test_corrupt_stage1_checkpoint_is_set_aside_and_retrained(case, job, smoke_results, capsys):
    job.final.write_bytes(_bad_final(job, case))
    assert job.run()["ok"] == 1
    result = read_result(job.result)
    assert not result.provenance.stage1_reused
    assert result.confusion_matrix == unbroken_ce(smoke_results).confusion_matrix
    assert_set_aside(job.final, capsys.readouterr().err)
    assert checkpoints.load_checkpoint(job.final)  # the retrained stage 1, valid


def _bad_resume(job, case: str) -> None:
    model = job.fresh_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    good = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 1}
    if case == "truncated":
        checkpoints.save_checkpoint(good, job.resume)
        job.resume.write_bytes(job.resume.read_bytes()[:5000])
    elif case == "epoch out of range":  # would skip every epoch and record an untrained model as "ok"
        checkpoints.save_checkpoint({**good, "epoch": 99}, job.resume)
    elif case == "another model":
        checkpoints.save_checkpoint({**good, "model": {"fc.weight": torch.zeros(2, 2)}}, job.resume)


@pytest.mark.parametrize("case", ["truncated", "epoch out of range", "another model"])
def test_unusable_resume_file_is_set_aside_and_training_starts_over(case, job, smoke_results, capsys):
    _bad_resume(job, case)
    assert job.run()["ok"] == 1
    assert read_result(job.result).confusion_matrix == unbroken_ce(smoke_results).confusion_matrix
    assert_set_aside(job.resume, capsys.readouterr().err)
    assert not job.resume.exists()


def test_orphan_temporaries_go_once_no_live_worker_holds_the_job(job):
    checkpoints.save_checkpoint(job.fresh_model().state_dict(), job.final)  # stage 1 saved ...
    checkpoints.save_checkpoint({"epoch": 3}, job.resume)  # ... and killed before the resume file was removed
    orphans = [
        job.final.with_name(f".{job.final.name}.a1b2c3.tmp"),
        job.resume.with_name(f".{job.resume.name}.x9.tmp"),
        job.result.with_name(".seed-0.json.q7.tmp"),
        job.result.with_name(".seed-0.preds.npz.r8.tmp"),
    ]
    job.result.parent.mkdir(parents=True)
    for orphan in orphans:
        orphan.write_bytes(b"half")
    with open(job.lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live worker: its files are its work in progress
        assert job.run()["locked"] == 1
        assert all(o.exists() for o in orphans) and job.resume.exists()
    counts = job.run()
    assert counts["ok"] == 1 and read_result(job.result).provenance.stage1_reused
    assert not [o for o in orphans if o.exists()] and not job.resume.exists()
    assert not list(job.settings.results_dir.rglob("*.tmp"))


def test_checkpoint_checksum_detects_damage(tmp_path):
    path = tmp_path / "x.pt"
    checkpoints.save_checkpoint({"w": torch.arange(100.0)}, path)
    assert torch.equal(checkpoints.load_checkpoint(path)["w"], torch.arange(100.0))
    path.write_bytes(_flip_a_byte(path.read_bytes()))
    with pytest.raises(checkpoints.CorruptCheckpoint, match="checksum mismatch"):
        checkpoints.load_checkpoint(path)
    torch.save({"w": torch.ones(1)}, path)  # written before checksums: still loads
    assert torch.equal(checkpoints.load_checkpoint(path)["w"], torch.ones(1))
