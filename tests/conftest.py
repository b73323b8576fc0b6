"""Shared fixtures: a per-session cache for prepared datasets and result files for the statistics and site tests.

The project is imported as installed (``pip install -e .``); test helpers as the ``tests`` package.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prepared datasets for the whole session (digits-lt is prepared once)."""
    path = tmp_path_factory.mktemp("medlt-cache")
    os.environ["MEDLT_CACHE"] = str(path)
    return path


# -- results for the statistics, report, validate, regression and site tests -------------------
SMOKE_METHODS = ("CE", "ce-crw", "rw")


@pytest.fixture(scope="session")
def smoke_results(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``run`` writes for CE, CE→cRW and RW, seeds 0 1 2, smoke protocol on digits-lt (~20 s, once).

    Read-only for tests: copy it (``shutil.copytree``) before changing anything.
    """
    from benchmark.cli import main

    root = tmp_path_factory.mktemp("smoke") / "results"
    argv = [
        "run",
        "--dataset",
        "digits-lt",
        "--protocol",
        "smoke",
        "--seeds",
        "0",
        "1",
        "2",
        "--results",
        str(root),
        "--cache-dir",
        str(cache_dir),
        "--device",
        "cpu",
        "--quiet",
        "--no-site",
    ]
    for m in SMOKE_METHODS:
        argv += ["--method", m]
    assert main(argv) == 0
    return root


def write_synthetic_result(
    root: Path,
    *,
    dataset: str,
    method: str,
    seed: int,
    metrics: dict,
    backbone: str = "resnet50",
    protocol: str = "paper",
    method_id: str | None = None,
    num_classes: int = 6,
    **extra,
) -> Path:
    """A schema-valid result file with the given metrics (for statistics, reports, checks and the site).

    Classes 0-1 are major, 2-3 medium (when ``mcr_medium`` is given, else unassigned), 4-5 minor; the
    confusion matrix (100 test images a class) roughly follows the metrics.
    """
    from benchmark.results.schema import Metrics, PerClass, Provenance, RunResult, RunSpec
    from benchmark.results.store import result_path, write_result

    spec = RunSpec(
        dataset=dataset,
        method=method,
        method_id=method_id or _ascii_id(method),
        backbone=backbone,
        seed=seed,
        protocol=protocol,
    )
    medium = metrics.get("mcr_medium")
    group = [
        "major",
        "major",
        "medium" if medium is not None else "",
        "medium" if medium is not None else "",
        "minor",
        "minor",
    ]
    per_group = {
        "major": metrics["mcr_major"],
        "medium": medium if medium is not None else metrics["mcr_all"],
        "minor": metrics["mcr_minor"],
        "": metrics["mcr_all"],
    }
    recall = [float(per_group[g]) for g in group]
    cm = []
    for c, r in enumerate(recall):
        row = [0] * num_classes
        row[c] = int(round(r))
        row[(c + 1) % num_classes] = 100 - int(round(r))
        cm.append(row)
    result = RunResult(
        spec=spec,
        status="ok",
        description=extra.pop("description", f"synthetic {method}"),
        metrics=Metrics(**metrics),
        per_class=PerClass(
            class_names=[f"c{i}" for i in range(num_classes)],
            train_counts=[500, 300, 100, 60, 20, 10],
            recall=recall,
            group=group,
        ),
        confusion_matrix=cm,
        dataset_manifest_sha256="a" * 64,
        stage1_key={"recipe": "synthetic"},
        stage1_sha256="b" * 64,
        provenance=Provenance(
            package_version="0.1.0",
            git_commit="0" * 40,
            torch_version="2.0",
            python_version="3.11",
            device="cpu",
            wall_seconds=1.0,
            started="2024-01-01T00:00:00Z",
            finished="2024-01-01T00:00:01Z",
        ),
        **extra,
    )
    path = result_path(root, spec)
    write_result(path, result)
    return path


def _ascii_id(name: str) -> str:
    return name.lower().replace("→", "-").replace(" ", "")


@pytest.fixture(scope="session")
def synthetic_result():
    """``synthetic_result(root, dataset=..., method=..., seed=..., metrics={...})`` writes one result file."""
    return write_synthetic_result


# -- a leaderboard submission for the review and workflow tests -----------------------------------
EXAMPLE_METHOD = Path(__file__).resolve().parents[1] / "docs" / "examples" / "my_method.py"


@contextmanager
def one_thread() -> Iterator[None]:
    """Torch on one thread for the block (the smoke protocol's float64 results do not depend on it): on a shared
    machine, OpenMP threads waiting for each other only burn the other threads' time."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def honest_submission(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A submission folder (``method.py`` + ``results/``) made as a submitter makes it: ``run --method
    docs/examples/my_method.py:LogitAdjustedCE --dataset bloodcell-lt --protocol smoke --seeds 0 1 2`` (~25 s,
    once), the method file copied to ``method.py``, the checkpoints (``results/.stage1``) left out.

    Read-only for tests: copy it (``shutil.copytree``) before changing anything.
    """
    import shutil

    from benchmark.cli import main

    folder = tmp_path_factory.mktemp("submission") / "la-ce"
    argv = ["run", "--method", f"{EXAMPLE_METHOD}:LogitAdjustedCE", "--dataset", "bloodcell-lt", "--protocol", "smoke"]
    argv += ["--seeds", "0", "1", "2", "--results", str(folder / "results"), "--no-site", "--quiet"]
    with one_thread():
        assert main(argv + ["--cache-dir", str(cache_dir), "--device", "cpu"]) == 0
    shutil.copyfile(EXAMPLE_METHOD, folder / "method.py")
    shutil.rmtree(folder / "results" / ".stage1")
    for lock in (folder / "results").rglob(".protocol.lock"):
        lock.unlink()
    return folder
