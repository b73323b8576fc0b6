"""Stage 2 through the engine and the grid: the post-hoc τ searches (τ-norm, PLA) read the validation split
only, and never the test split before the final evaluation; the τ they keep is the best on validation;
LWS trains only its scales; MaxNorm leaves every class vector within its cap."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import datasets
from benchmark import grid
from benchmark.grid import GridSettings, expand_grid
from benchmark.metrics import confusion_matrix, mean_class_recall
from benchmark.protocol import load_protocol
from benchmark.training import inputs, precision, predict, stage2
from benchmark.training.backbones import create_backbone
from benchmark.training.inputs import ImageBank
from benchmark.training.stage1 import train_stage1
from methods import Rebalance, create_method
from methods.stage2 import MaxNormProjection
from tests.faults import medlt_faults

SEARCHING = ("ce-taunorm", "ce-pla")


@pytest.fixture(scope="module")
def stage1(cache_dir):
    """CE's stage 1 on digits-lt (smoke protocol, float64), with the train and validation splits."""
    protocol = load_protocol("smoke")
    data = datasets.load("digits-lt", size=protocol.cache_size, cache_root=cache_dir, progress=False)
    device = torch.device("cpu")
    with precision.numeric_precision(protocol.precision):
        train = data.splits["train"]
        split = inputs.TrainSplit(
            ImageBank(data.images, train, device),
            data.labels[train],
            torch.tensor(data.train_counts, dtype=torch.float64),
        )
        val = inputs.EvalSplit(ImageBank(data.images, data.splits["val"], device), data.labels[data.splits["val"]])
        torch.manual_seed(0)
        backbone, dim = create_backbone(protocol.backbone)
        method = create_method("ce")
        model = method.build(backbone, dim, data.num_classes, split.class_counts)
        train_stage1(method, model, split, protocol, device, seed=0)
    return protocol, data, split, val, model


def _stage2(stage1, method_id: str, **kwargs):
    protocol, _, split, val, model = stage1
    with precision.numeric_precision(protocol.precision):
        return stage2.train_stage2(
            copy.deepcopy(model),
            create_method(method_id).rebalance,
            split,
            protocol,
            torch.device("cpu"),
            seed=0,
            **{"val": val, **kwargs},
        ).model


def _val_mcr(model, stage1) -> float:
    protocol, data, _, val, _ = stage1
    with precision.numeric_precision(protocol.precision):
        preds = predict.predict(model, val.bank, protocol, torch.device("cpu"))
    return mean_class_recall(confusion_matrix(val.labels, preds, data.num_classes))


@pytest.mark.parametrize("method_id", SEARCHING)
def test_kept_tau_is_the_first_best_on_validation(stage1, method_id):
    """Independently of the engine's search: every τ of the grid evaluated through the whole model on validation."""
    _, _, split, _, model = stage1
    chosen = _stage2(stage1, method_id)
    kind = create_method(method_id).rebalance.stage2
    scores = []
    for tau in kind.tau_grid:
        candidate = copy.deepcopy(model)
        candidate.head = kind.searched_head(candidate.head, tau, split.class_counts)
        scores.append(_val_mcr(candidate, stage1))
    best = int(np.argmax(scores))  # the first maximum
    assert chosen.head.tau == kind.tau_grid[best]
    assert _val_mcr(chosen, stage1) == pytest.approx(scores[best], abs=1e-9)
    assert len(set(scores)) > 1, "the grid must matter on this split, else the test proves nothing"


@pytest.mark.parametrize("method_id", SEARCHING)
def test_search_without_a_validation_split_is_refused(stage1, method_id):
    with pytest.raises(ValueError, match="validation split"):
        _stage2(stage1, method_id, val=None)


def test_lws_trains_only_the_scales(stage1):
    *_, model = stage1
    lws = _stage2(stage1, "ce-lws")
    assert torch.equal(lws.head.base.weight, model.head.weight) and torch.equal(lws.head.base.bias, model.head.bias)
    assert not torch.equal(lws.head.scales.detach(), torch.ones_like(lws.head.scales))


def test_maxnorm_leaves_every_class_vector_within_the_cap(stage1):
    *_, model = stage1
    cap = MaxNormProjection(model.head, create_method("wb-maxnorm").rebalance.stage2.thresh).threshold
    assert (model.head.weight.norm(dim=1) > cap).any(), "some stage-1 class vectors start above the cap"
    # WB's own stage 1 differs from CE's; the stage-2 kind applies to any linear head
    tuned = _stage2(stage1, "wb-maxnorm")
    assert (tuned.head.weight.norm(dim=1) <= cap * (1 + 1e-9)).all()
    assert not torch.equal(tuned.head.bias, model.head.bias)


def test_tau_searches_read_validation_only_and_test_only_after_stage2(cache_dir, tmp_path, monkeypatch):
    """Through the real grid: every image read is recorded with its split. Inside each stage 2 of a searching
    row, validation images are read and test images never are; no test image is read before the first stage 2
    has finished; and the trace of its milestones shows each run's search on ``val`` before its result."""
    protocol = load_protocol("smoke")
    data = datasets.load("digits-lt", size=protocol.cache_size, cache_root=cache_dir, progress=False)
    events: list[tuple[str, str]] = []
    gather = ImageBank.gather

    def recording_gather(bank: ImageBank, positions: np.ndarray) -> torch.Tensor:
        split = next(
            name
            for name, idx in data.splits.items()
            if len(idx) == len(bank.indices) and np.array_equal(idx, bank.indices)
        )
        events.append(("read", split))
        return gather(bank, positions)

    real_stage2 = stage2.train_stage2

    def recording_stage2(*args, **kwargs):
        events.append(("stage2", "start"))
        outcome = real_stage2(*args, **kwargs)
        events.append(("stage2", "end"))
        return outcome

    monkeypatch.setattr(ImageBank, "gather", recording_gather)
    monkeypatch.setattr(stage2, "train_stage2", recording_stage2)
    trace = tmp_path / "trace.log"
    runs = expand_grid(["digits-lt"], [create_method(m) for m in SEARCHING], [None], [0], protocol)
    settings = GridSettings(results_dir=tmp_path / "results", cache_dir=cache_dir, device="cpu", progress=False)
    with medlt_faults.listening(medlt_faults.tracer(trace)):
        counts = grid.run(runs, settings)
    assert counts["ok"] == len(SEARCHING), counts

    starts = [i for i, e in enumerate(events) if e == ("stage2", "start")]
    ends = [i for i, e in enumerate(events) if e == ("stage2", "end")]
    assert len(starts) == len(ends) == len(SEARCHING)
    first_test = events.index(("read", "test"))
    assert first_test > ends[0], "a test image was read before the first stage 2 finished"
    for start, end in zip(starts, ends):
        inside = {split for kind, split in events[start:end] if kind == "read"}
        assert "val" in inside and "test" not in inside, inside
        assert ("read", "test") in events[end:], "the final evaluation reads the test split after stage 2"

    lines = [line.split(" ", 2)[1:] for line in trace.read_text().splitlines()]
    order = [(event, what.split()[0]) for event, what in lines if event in ("stage2-search", "run-written")]
    written = "run-written"
    assert order == [
        ("stage2-search", "taunorm"),
        (written, order[1][1]),
        ("stage2-search", "pla"),
        (written, order[3][1]),
    ]
    assert "ce-taunorm" in order[1][1] and "ce-pla" in order[3][1]
    assert all("split=val" in what for event, what in lines if event == "stage2-search")

    # the choice is recorded in each result, as the trace logged it
    chosen = {what.split()[0]: what for event, what in lines if event == "stage2-search"}
    from benchmark.results.reader import load_results

    for result in load_results(tmp_path / "results"):
        suffix = result.spec.method_id.rsplit("-", 1)[1]
        assert result.stage2_choice is not None and set(result.stage2_choice) == {"tau", "val_mcr"}
        settings = result.stage2_settings
        assert settings is not None and settings["kind"] == suffix and settings["trains"] is False
        assert settings["tau_grid"][0] == 0.0 and settings["tau_grid"][-1] == 2.0 and len(settings["tau_grid"]) == 21
        assert f"tau={result.stage2_choice['tau']:g} val_mcr={result.stage2_choice['val_mcr']:.4f}" in chosen[suffix]


def test_rebalance_kinds_of_the_grid_runner_tests_still_exist():
    """tests/benchmark/grid/test_grid.py builds ``Rebalance("reweight")`` / ``Rebalance("resample")`` by kind."""
    assert Rebalance("reweight").suffix == "cRW" and Rebalance("resample").suffix == "cRS"
