"""Balanced-Softmax, LA-loss and BCL as registered methods: their rows, their defaults, the equality of
Balanced-Softmax and LA-loss in training, BCL's whole step against the authors' training loop, and one
end-to-end run on digits-lt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import timm
import torch

from benchmark.cli import main
from methods import (
    Batch,
    Classifier,
    Method,
    StepInfo,
    create_method,
    get_entry,
    method_entries,
)
from methods.heads import BCLMLP, NormedLinear
from methods.losses import balanced_softmax_loss, logit_adjusted_cross_entropy
from tests.methods import official_long_tail as official

LABELS = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3])
COUNTS = torch.tensor([40.0, 20.0, 8.0, 2.0])
ROWS = {  # id -> (display name, official code)
    "balanced-softmax": ("Balanced-Softmax", "https://github.com/jiawei-ren/BalancedMetaSoftmax-Classification"),
    "balanced-softmax-crw": (
        "Balanced-Softmax→cRW",
        "https://github.com/jiawei-ren/BalancedMetaSoftmax-Classification",
    ),
    "la-loss": ("LA-loss", "https://github.com/google-research/google-research/tree/master/logit_adjustment"),
    "la-loss-crw": ("LA-loss→cRW", "https://github.com/google-research/google-research/tree/master/logit_adjustment"),
    "bcl": ("BCL", "https://github.com/FlamieZhu/Balanced-Contrastive-Learning"),
    "bcl-crw": ("BCL→cRW", "https://github.com/FlamieZhu/Balanced-Contrastive-Learning"),
}


def build(method: Method, seed: int = 0) -> Classifier:
    torch.manual_seed(seed)
    backbone = timm.create_model("test_resnet", pretrained=False, num_classes=0)
    return method.build(backbone, int(backbone.num_features), len(COUNTS), COUNTS.clone()).double()


def views(n: int = 3, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(len(LABELS), 3, 16, 16, generator=g, dtype=torch.float64) for _ in range(n))


def info() -> StepInfo:
    return StepInfo(epoch=0, epochs=4, step=0, steps_per_epoch=1, class_counts=COUNTS.clone())


def grads(model: Classifier) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


# -- the rows -----------------------------------------------------------------------------------------


def test_rows_are_registered_after_the_papers() -> None:
    ids = [e.id for e in method_entries()]
    assert all(i in ids for i in ROWS)
    assert min(ids.index(i) for i in ROWS) > ids.index("balanced-mixup")  # beyond the paper: after its rows
    for method_id, (name, code) in ROWS.items():
        entry = get_entry(method_id)
        assert entry.name == name and get_entry(name) == entry
        assert code in entry.cls.reference and entry.cls.url.startswith("https://arxiv.org/abs/")
        assert "→" not in entry.cls.name and " " not in entry.name


def test_defaults_are_the_papers() -> None:
    assert create_method("balanced-softmax").hyperparameters() == {}
    assert create_method("la-loss").hyperparameters() == {"tau": 1.0}
    assert create_method("bcl").hyperparameters() == {
        "lc_weight": 1.0,
        "bcl_weight": 0.35,
        "temperature": 0.07,
        "tau": 1.0,
        "scale": 30.0,
        "projection_dim": 1024,
    }
    assert create_method("bcl").views == 3 and create_method("la-loss").views == 1


def test_docstrings_state_the_equivalence() -> None:
    for method_id in ("balanced-softmax", "la-loss"):
        doc = " ".join(get_entry(method_id).cls.__doc__.split())
        assert "τ = 1" in doc and "gradients" in doc and "coincide" in doc


# -- Balanced-Softmax and LA-loss -------------------------------------------------------------------


@pytest.mark.parametrize(
    "method_id,loss",
    [
        ("balanced-softmax", lambda logits, labels: balanced_softmax_loss(logits, labels, COUNTS)),
        ("la-loss", lambda logits, labels: logit_adjusted_cross_entropy(logits, labels, COUNTS, 1.0)),
    ],
)
def test_loss_uses_the_training_counts(method_id: str, loss) -> None:
    logits = torch.randn(len(LABELS), len(COUNTS), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    method = create_method(method_id)
    torch.testing.assert_close(method.loss(logits, LABELS, info()), loss(logits, LABELS), rtol=0, atol=0)
    other = StepInfo(epoch=0, epochs=4, step=0, steps_per_epoch=1, class_counts=COUNTS.flip(0))
    assert not torch.allclose(method.loss(logits, LABELS, other), method.loss(logits, LABELS, info()))


def test_balanced_softmax_and_la_loss_take_the_same_step() -> None:
    """Same initialisation, same batch: equal gradients on every parameter (the losses differ by a constant)."""
    batch = Batch(images=views(1)[0], labels=LABELS.clone(), views=views(1))
    out = {}
    for method_id in ("balanced-softmax", "la-loss"):
        method = create_method(method_id)
        model = build(method)
        model.train()
        method.training_step(model, batch, info())["loss"].backward()
        out[method_id] = grads(model)
    assert out["balanced-softmax"].keys() == out["la-loss"].keys() and out["la-loss"]
    for name, g in out["la-loss"].items():
        torch.testing.assert_close(out["balanced-softmax"][name], g, rtol=1e-9, atol=1e-12)
    # and the step is not cross-entropy's
    ce = create_method("ce")
    model = build(ce)
    ce.training_step(model, batch, info())["loss"].backward()
    assert not torch.allclose(grads(model)["head.weight"], out["la-loss"]["head.weight"])


# -- BCL --------------------------------------------------------------------------------------------


def test_bcl_model() -> None:
    model = build(create_method("bcl"))
    assert isinstance(model.head, NormedLinear) and model.head.weight.shape == (model.feat_dim, len(COUNTS))
    for name in ("projector", "prototype_projector"):
        mlp = model.extras[name]
        assert isinstance(mlp, BCLMLP)
        assert [type(m).__name__ for m in mlp.net] == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
        assert mlp.net[0].in_features == mlp.net[0].out_features == model.feat_dim and mlp.net[3].out_features == 1024


@pytest.mark.parametrize("hyperparameters", [{}, {"temperature": 0.2, "bcl_weight": 1.5, "tau": 0.5}])
def test_bcl_step_matches_the_official_training_loop(hyperparameters: dict) -> None:
    """The loss and every gradient of one step equal ``main.py``'s ``train`` on ``BCLModel`` (same modules)."""
    method = create_method("bcl", **hyperparameters)
    vs = views(3)
    mine, ref = build(method), build(method)
    mine.train(), ref.train()
    loss = method.training_step(mine, Batch(images=vs[0], labels=LABELS.clone(), views=vs), info())["loss"]
    loss.backward()

    def forward(x: torch.Tensor):
        return official.bcl_model_forward(
            ref.backbone, ref.extras["projector"], ref.head.weight, ref.extras["prototype_projector"], x, s=method.scale
        )

    counts = COUNTS.tolist()
    expected = official.bcl_train_step_loss(
        forward,
        official.LogitAdjust(counts, tau=method.tau),
        official.BalSCL(counts, method.temperature),
        vs,
        LABELS.clone(),
        alpha=method.lc_weight,
        beta=method.bcl_weight,
    )
    expected.backward()
    # LogitAdjust keeps the log prior in float32 (torch.cuda.FloatTensor): ~1e-8 relative here, so the
    # gradients are compared per tensor, relative to the tensor's norm (a bias before batch norm has a zero
    # gradient up to rounding: 1e-12 absolute).
    torch.testing.assert_close(loss.detach(), expected.detach(), rtol=1e-6, atol=0)
    g_mine, g_ref = grads(mine), grads(ref)
    assert g_mine.keys() == g_ref.keys() == {n for n, _ in mine.named_parameters()}
    for name in g_ref:
        error = (g_mine[name] - g_ref[name]).norm()
        assert error <= 1e-6 * g_ref[name].norm() + 1e-12, (name, float(error), float(g_ref[name].norm()))


def test_bcl_model_outputs_the_official_models_logits() -> None:
    """The stored logits are the official ``BCLModel``'s: its ``NormedLinear`` returns ``s · cos`` (s = 30), so the
    ECE and NLL of a BCL result are the official model's, not those of bare cosines."""
    method = create_method("bcl")
    model = build(method)
    model.eval()
    x = views(1)[0]
    with torch.no_grad():
        _, expected, _ = official.bcl_model_forward(
            model.backbone, model.extras["projector"], model.head.weight, model.extras["prototype_projector"], x, s=30
        )
        got = model(x)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    assert got.abs().max() > 1.5  # scaled: bare cosines stay within [-1, 1]


def test_bcl_views_have_their_roles() -> None:
    """With batch norm frozen (eval), view 1 feeds only the classifier's loss, views 2 and 3 only BCL."""
    method = create_method("bcl")
    model = build(method)
    model.eval()
    vs = views(3)
    base = method.training_step(model, Batch(images=vs[0], labels=LABELS.clone(), views=vs), info())
    for changed in range(3):
        new = tuple(v + 1.0 if i == changed else v for i, v in enumerate(vs))
        out = method.training_step(model, Batch(images=new[0], labels=LABELS.clone(), views=new), info())
        assert torch.equal(out["lc"], base["lc"]) == (changed != 0)
        assert torch.equal(out["bcl"], base["bcl"]) == (changed == 0)
    torch.testing.assert_close(base["loss"], base["lc"] + 0.35 * base["bcl"])


def test_bcl_needs_three_views() -> None:
    method = create_method("bcl")
    vs = views(2)
    with pytest.raises(ValueError, match="3 augmented views"):
        method.training_step(build(method), Batch(images=vs[0], labels=LABELS.clone(), views=vs), info())


# -- end to end -------------------------------------------------------------------------------------


def test_runs_end_to_end_on_digits_lt(cache_dir: Path, tmp_path: Path) -> None:
    """`run` on the smoke protocol: one-stage Balanced-Softmax and two-stage BCL→cRW give finite metrics."""
    results = tmp_path / "results"
    argv = [
        "run",
        "--dataset",
        "digits-lt",
        "--protocol",
        "smoke",
        "--seeds",
        "0",
        "--results",
        str(results),
        "--cache-dir",
        str(cache_dir),
        "--device",
        "cpu",
        "--quiet",
        "--no-site",
        "--method",
        "balanced-softmax",
        "--method",
        "bcl-crw",
    ]
    assert main(argv) == 0
    for method_id, hyperparameters in (("balanced-softmax", {}), ("bcl-crw", create_method("bcl").hyperparameters())):
        (path,) = results.glob(f"digits-lt/*/smoke/{method_id}/seed-0.json")
        result = json.loads(path.read_text())
        assert result["status"] == "ok", result.get("error")
        assert result["hyperparameters"] == hyperparameters
        assert 0.0 <= result["metrics"]["mcr_all"] <= 100.0
