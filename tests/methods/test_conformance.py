"""Conformance: every registered method, through the same contract.

The generic checks are public (:mod:`methods.testing`, what a plug-in author runs on their own class):
``test_public_checks`` runs each of them on every registered row (test ids ``<method id>-<check>``).
What stays here is this project's: the paper's rows and order, which parts of the model a step must
move (SC's head gets no gradient), the engine's stage 1 and stage 2 on each row, stage-1 keys shared
exactly within a family (X, X→cRW, X→τ-norm, …), and hyper-parameters through the result JSON.
"""

from __future__ import annotations

import copy
import itertools
import json

import numpy as np
import pytest
import torch

from benchmark.cli import main
from benchmark.protocol import load_protocol
from benchmark.results.schema import Provenance, RunResult, RunSpec
from benchmark.training import inputs, predict, stage1, stage2
from benchmark.training.inputs import ImageBank
from methods import Classifier, create_method, method_entries
from methods.registry import MethodEntry
from methods.testing import NUM_CLASSES, SIZE, one_step, parametrize_with_checks, tiny_model

EXPECTED_NAMES = [
    "CE",
    "CE→cRW",
    "CE→cRS",
    "CE-DRW",
    "RS",
    "RW",
    "LDAM",
    "LDAM→cRW",
    "LDAM-DRW",
    "Focal",
    "Focal→cRW",
    "CB-Focal",
    "CB-Focal→cRW",
    "Mixup",
    "Mixup→cRW",
    "CutMix",
    "CutMix→cRW",
    "BBN",
    "CE+CT→cRW",
    "CE+TP→cRW",
    "CE+SC→cRW",
    "CE+SC",
    "SC→cRW",
    "Remix",
    "Balanced-MixUp",
]
ENTRIES = method_entries()
#: The package's own rows (an installed plugin adds rows after these).
BUILTIN = [e for e in ENTRIES if e.cls.__module__.startswith("methods.catalog.")]
#: Parts of the stage-1 model that a step must leave alone (SC has no CE term: its head gets no gradient).
NO_GRADIENT = {"sc": {"head"}}


@pytest.fixture(params=ENTRIES, ids=[e.id for e in ENTRIES])
def entry(request: pytest.FixtureRequest) -> MethodEntry:
    return request.param


@parametrize_with_checks(ENTRIES)
def test_public_checks(method: MethodEntry, check) -> None:
    """Every check of :func:`methods.testing.method_checks` on every registered row."""
    check(method)


def parts(model: Classifier) -> dict[str, dict[str, torch.Tensor]]:
    """Trainable tensors per part: backbone, head, and each extra (``extras.<name>``)."""
    out: dict[str, dict[str, torch.Tensor]] = {"backbone": {}, "head": {}}
    for name, p in model.named_parameters():
        top, _, rest = name.partition(".")
        key = top if top != "extras" else "extras." + rest.split(".")[0]
        out.setdefault(key, {})[name] = p.detach().clone()
    return out


def test_catalog_is_the_papers_list() -> None:
    """The paper's rows, in the paper's order, with rows beyond the paper (more stage-2 kinds, more methods) between
    or after them; the package's rows come before any plugin's."""
    names = [e.name for e in BUILTIN]
    assert [n for n in names if n in EXPECTED_NAMES] == EXPECTED_NAMES and names == [
        e.name for e in ENTRIES[: len(BUILTIN)]
    ]
    ids = [e.id for e in ENTRIES]
    assert len(set(ids)) == len(ids) and all(i.isascii() and i == i.lower() and " " not in i for i in ids)
    for e in ENTRIES:
        assert e.id == (e.cls.id if e.rebalance is None else f"{e.cls.id}-{e.rebalance.id_suffix}")
        assert e.name == (e.cls.name if e.rebalance is None else f"{e.cls.name}→{e.rebalance.suffix}")


def test_list_methods_shows_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "methods"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert len(rows) == len(ENTRIES)
    for row, e in zip(rows, ENTRIES):  # name, id, and the stage-2 kind of two-stage rows
        assert row.strip().startswith(e.name) and f" {e.id} " in row
        assert (f"({e.rebalance.suffix})" in row) if e.rebalance else "one-stage" in row


def test_training_step_updates_what_it_should(entry: MethodEntry) -> None:
    method = entry.create()
    model = tiny_model(method)
    before = parts(model)
    loss = one_step(method, model)
    assert loss.ndim == 0 and torch.isfinite(loss)
    after = parts(model)
    frozen = NO_GRADIENT.get(entry.cls.id, set())
    assert before.keys() == after.keys()
    for part in before:
        changed = any(not torch.equal(before[part][n], after[part][n]) for n in before[part])
        assert changed == (part not in frozen), f"{part} {'unchanged' if not changed else 'changed'}"


def tiny_split() -> inputs.TrainSplit:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(NUM_CLASSES), [10, 6, 3, 1])
    images = rng.integers(0, 256, size=(len(labels), 20, 20, 3), dtype=np.uint8)
    device = torch.device("cpu")
    counts = torch.tensor(np.bincount(labels, minlength=NUM_CLASSES), dtype=torch.float32)
    return inputs.TrainSplit(ImageBank(images, np.arange(len(labels)), device), labels, counts)


def test_engine_stages(entry: MethodEntry) -> None:
    """The engine's stage 1 runs the method; stage 2 (two-stage rows) changes only the head, as its kind declares:
    a training kind moves the head's trainable parameters, a searching kind picks a τ of its grid."""
    protocol = load_protocol("smoke")  # 16 px, 2 epochs; the 20 images make one batch per epoch
    data, device = tiny_split(), torch.device("cpu")
    method = entry.create()
    model = stage1.train_stage1(method, tiny_model(method), data, protocol, device, seed=0)
    preds = predict.predict(model, data.bank, protocol, device)
    assert preds.shape == (len(data.bank),) and preds.min() >= 0 and preds.max() < NUM_CLASSES
    if not method.two_stage:
        return
    kind = method.rebalance.stage2
    before = copy.deepcopy(model.state_dict())  # parameters and batch-norm buffers
    val = inputs.EvalSplit(data.bank, data.labels)  # the tiny split doubles as validation here
    model = stage2.train_stage2(model, method.rebalance, data, protocol, device, seed=0, val=val).model
    after = model.state_dict()
    for name, value in after.items():
        if not name.startswith("head."):
            assert torch.equal(before[name], value), name
    with torch.no_grad():
        logits = model(torch.randn(3, 3, SIZE, SIZE))
    assert logits.shape == (3, NUM_CLASSES) and torch.isfinite(logits).all()
    if kind.trains:
        trainable = [n for n, p in model.named_parameters() if p.requires_grad]
        assert trainable and all(n.startswith("head.") for n in trainable)
        assert any(n not in before or not torch.equal(before[n], after[n]) for n in trainable), (
            "stage 2 trained nothing"
        )
    if kind.searches:
        assert model.head.tau in kind.tau_grid


def test_stage1_keys_shared_exactly_within_a_family() -> None:
    keys = {e.id: json.dumps(e.create().stage1_key(), sort_keys=True) for e in ENTRIES}
    for a, b in itertools.combinations(ENTRIES, 2):
        assert (keys[a.id] == keys[b.id]) == (a.cls is b.cls), (a.id, b.id)


def test_hyperparameters_round_trip_through_the_result_json(entry: MethodEntry) -> None:
    method = entry.create()
    result = RunResult(
        spec=RunSpec(
            dataset="digits-lt",
            method=method.display_name,
            method_id=method.method_id,
            backbone="test_resnet",
            seed=0,
            protocol="smoke",
        ),
        status="failed",
        error="not run",
        hyperparameters=method.hyperparameters(),
        dataset_manifest_sha256="0" * 64,
        stage1_key=method.stage1_key(),
        stage1_sha256="0" * 64,
        provenance=Provenance(
            package_version="0",
            torch_version=torch.__version__,
            python_version="3",
            device="cpu",
            wall_seconds=0.0,
            started="",
            finished="",
        ),
    )
    loaded = RunResult.model_validate_json(result.model_dump_json())
    again = create_method(loaded.spec.method_id, **loaded.hyperparameters)
    assert again == method and type(again) is type(method)
    assert again.stage1_key() == loaded.stage1_key
