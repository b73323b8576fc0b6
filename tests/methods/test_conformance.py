"""Conformance: every registered method, through the same contract.

One module, parametrized over :func:`methods.method_entries` (test ids are method ids): build on a
tiny long-tailed batch, one SGD step gives a finite loss and moves what it should, the engine's
stage 1 and stage 2 run on it (stage 2 moves only the head, as its kind declares), the same seed
gives the same loss, stage-1 keys are shared exactly within a family (X, X→cRW, X→τ-norm, …), and
hyper-parameters survive the result JSON.
"""

from __future__ import annotations

import copy
import itertools
import json

import numpy as np
import pytest
import timm
import torch

from benchmark import engine
from benchmark.cli import main
from benchmark.data import ImageBank
from benchmark.protocol import load_protocol
from benchmark.schema import Provenance, RunResult, RunSpec
from methods import Batch, Classifier, Method, StepInfo, create_method, method_entries
from methods.registry import MethodEntry

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

# A tiny long-tailed problem: 4 classes, batch of 12 with 5/4/2/1 images, training counts 40/20/8/2.
NUM_CLASSES = 4
LABELS = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3])
COUNTS = torch.tensor([40.0, 20.0, 8.0, 2.0])
SIZE = 16


@pytest.fixture(params=ENTRIES, ids=[e.id for e in ENTRIES])
def entry(request: pytest.FixtureRequest) -> MethodEntry:
    return request.param


def build(method: Method, seed: int = 0) -> Classifier:
    torch.manual_seed(seed)
    backbone = timm.create_model("test_resnet", pretrained=False, num_classes=0)
    return method.build(backbone, int(backbone.num_features), NUM_CLASSES, COUNTS.clone())


def make_batch(method: Method, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    views = tuple(torch.randn(len(LABELS), 3, SIZE, SIZE, generator=g) for _ in range(max(1, method.views)))
    batch = Batch(images=views[0], labels=LABELS.clone(), views=views)
    if method.paired_sampling:
        batch.paired_images = torch.randn(len(LABELS), 3, SIZE, SIZE, generator=g)
        batch.paired_labels = LABELS[torch.randperm(len(LABELS), generator=g)]
    return batch


def step_info(epoch: int = 3, epochs: int = 4, seed: int = 0) -> StepInfo:
    # epoch 3 of 4: DRW weights are on (from floor(0.8 * 4) = 3) and BBN's α = 1 - (3/4)² is strictly inside (0, 1).
    return StepInfo(
        epoch=epoch,
        epochs=epochs,
        step=epoch,
        steps_per_epoch=1,
        class_counts=COUNTS.clone(),
        generator=torch.Generator().manual_seed(seed),
    )


def one_step(method: Method, model: Classifier, seed: int = 0) -> torch.Tensor:
    optimizer = torch.optim.SGD(method.param_groups(model), lr=0.1, momentum=0.9)
    model.train()
    loss = method.training_step(model, make_batch(method, seed), step_info(seed=seed))["loss"]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


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


def test_documented(entry: MethodEntry) -> None:
    cls = entry.cls
    assert cls.__doc__ and len(cls.__doc__.strip()) > 40, "the docstring says what the method is"
    assert cls.description and "\n" not in cls.description
    method = entry.create()  # every hyper-parameter has its docs/methods.md default
    assert method.display_name == entry.name and method.method_id == entry.id
    assert method.views >= 1 and method.sampling in ("instance", "class_balanced", "reversed")
    assert method.paired_sampling in (None, "instance", "class_balanced", "reversed")


def test_training_step_updates_what_it_should(entry: MethodEntry) -> None:
    method = entry.create()
    model = build(method)
    groups = method.param_groups(model)
    in_groups = [id(p) for g in groups for p in g["params"]]
    assert sorted(in_groups) == sorted(id(p) for p in model.parameters()), "every parameter in exactly one group"
    before = parts(model)
    loss = one_step(method, model)
    assert loss.ndim == 0 and torch.isfinite(loss)
    after = parts(model)
    frozen = NO_GRADIENT.get(entry.cls.id, set())
    assert before.keys() == after.keys()
    for part in before:
        changed = any(not torch.equal(before[part][n], after[part][n]) for n in before[part])
        assert changed == (part not in frozen), f"{part} {'unchanged' if not changed else 'changed'}"


def test_same_seed_same_loss(entry: MethodEntry) -> None:
    method = entry.create()
    first, second = (one_step(method, build(method, seed=1), seed=1) for _ in range(2))
    assert torch.equal(first, second)


def tiny_split() -> engine.TrainSplit:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(NUM_CLASSES), [10, 6, 3, 1])
    images = rng.integers(0, 256, size=(len(labels), 20, 20, 3), dtype=np.uint8)
    device = torch.device("cpu")
    counts = torch.tensor(np.bincount(labels, minlength=NUM_CLASSES), dtype=torch.float32)
    return engine.TrainSplit(ImageBank(images, np.arange(len(labels)), device), labels, counts)


def test_engine_stages(entry: MethodEntry) -> None:
    """The engine's stage 1 runs the method; stage 2 (two-stage rows) changes only the head, as its kind declares:
    a training kind moves the head's trainable parameters, a searching kind picks a τ of its grid."""
    protocol = load_protocol("smoke")  # 16 px, 2 epochs; the 20 images make one batch per epoch
    data, device = tiny_split(), torch.device("cpu")
    method = entry.create()
    model = engine.train_stage1(method, build(method), data, protocol, device, seed=0)
    preds = engine.predict(model, data.bank, protocol, device)
    assert preds.shape == (len(data.bank),) and preds.min() >= 0 and preds.max() < NUM_CLASSES
    if not method.two_stage:
        return
    kind = method.rebalance.stage2
    before = copy.deepcopy(model.state_dict())  # parameters and batch-norm buffers
    val = engine.EvalSplit(data.bank, data.labels)  # the tiny split doubles as validation here
    model = engine.train_stage2(model, method.rebalance, data, protocol, device, seed=0, val=val)
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
    # Non-default values survive too.
    changed = {
        k: (v * 2 if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
        for k, v in method.hyperparameters().items()
    }
    assert create_method(entry.id, **json.loads(json.dumps(changed))).hyperparameters() == changed


def test_mixed_precision_step(entry: MethodEntry) -> None:
    """Under bf16 autocast (the engine's CUDA setting; CPU autocast here) the loss is finite and fp32."""
    method = entry.create()
    model = build(method)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = method.training_step(model, make_batch(method), step_info())["loss"]
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
