"""The public method checks (:mod:`methods.testing`) can fail: each broken class fails ``check_method`` naming the
check that catches it, and a correct class outside the registry passes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from methods import Classifier, Method, StepInfo
from methods.testing import check_method, method_checks, parametrize_with_checks


@dataclass(frozen=True, kw_only=True)
class Good(Method):
    """Cross-entropy with a temperature on the logits: a correct method that is not registered."""

    name = "Good"
    id = "good"
    description = "Cross-entropy on logits divided by a temperature."

    temperature: float = 1.0

    def loss(self, logits: Tensor, labels: Tensor, info: StepInfo) -> Tensor:
        return F.cross_entropy(logits / self.temperature, labels)


@dataclass(frozen=True, kw_only=True)
class Clips(Good):
    """Clips its temperature to at most 1 in ``__post_init__``: the value given is not the value stored."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperature", min(self.temperature, 1.0))


@dataclass(frozen=True, kw_only=True)
class NaNLoss(Good):
    """Returns a NaN loss: what a log of a zero probability gives."""

    def loss(self, logits: Tensor, labels: Tensor, info: StepInfo) -> Tensor:
        return super().loss(logits, labels, info) * float("nan")


@dataclass(frozen=True, kw_only=True)
class NoId(Good):
    """Declares a display name but leaves the id empty, so it has no results folder."""

    id = ""


@dataclass(frozen=True, kw_only=True)
class Undocumented(Good):
    pass


class NotADataclass(Good):
    """A subclass without the dataclass decorator: its annotated hyper-parameter is not a field."""

    margin: float = 0.5


@dataclass(frozen=True, kw_only=True)
class KeyIgnoresHyperparameters(Good):
    """Its stage-1 key leaves the temperature out: two temperatures would share one checkpoint."""

    def stage1_key(self) -> dict:
        return {"recipe": self.id}


@dataclass(frozen=True, kw_only=True)
class GlobalRandom(Good):
    """Draws label noise from the global RNG instead of ``info.generator``."""

    def loss(self, logits: Tensor, labels: Tensor, info: StepInfo) -> Tensor:
        return super().loss(logits + torch.rand(logits.shape), labels, info)


@dataclass(frozen=True, kw_only=True)
class HalfPrecisionLoss(Good):
    """A hand-written loss that stays in the autocast dtype (bf16) instead of float32."""

    def loss(self, logits: Tensor, labels: Tensor, info: StepInfo) -> Tensor:
        return -(logits.log_softmax(1).gather(1, labels[:, None]) * 1.0).to(logits.dtype).mean()


@dataclass(frozen=True, kw_only=True)
class ForgetsTheBackbone(Good):
    """Its optimizer groups hold only the head: the backbone would never train."""

    def param_groups(self, model: Classifier) -> list[dict]:
        return [{"params": list(model.head.parameters())}]


@dataclass(frozen=True, kw_only=True)
class MLPHead(Good):
    """A two-layer head: fine for one stage, but τ-norm needs a linear stage-1 head."""

    def build(self, backbone: nn.Module, feat_dim: int, num_classes: int, class_counts: Tensor) -> Classifier:
        head = nn.Sequential(nn.Linear(feat_dim, 8), nn.ReLU(), nn.Linear(8, num_classes))
        return Classifier(backbone, feat_dim, head)


BROKEN = [
    (Clips, None, "check_hyperparameters_stored_as_given"),
    (NaNLoss, None, "check_builds_and_steps"),
    (NoId, None, "check_declares_name_and_id"),
    (Undocumented, None, "check_documented"),
    (NotADataclass, None, "check_is_a_frozen_dataclass"),
    (KeyIgnoresHyperparameters, None, "check_stage1_key_stable"),
    (GlobalRandom, None, "check_deterministic"),
    (HalfPrecisionLoss, None, "check_mixed_precision_step"),
    (ForgetsTheBackbone, None, "check_builds_and_steps"),
    (MLPHead, "τ-norm", "check_stage2_accepts_the_head"),
]


@pytest.mark.parametrize("cls, rebalance, failing", BROKEN, ids=[c.__name__ for c, _, _ in BROKEN])
def test_a_broken_method_fails_naming_the_check(cls: type[Method], rebalance: str | None, failing: str) -> None:
    with pytest.raises(AssertionError, match=rf"^{cls.id or cls.__name__}\S*: {failing} failed: "):
        check_method(cls, rebalance=rebalance)
    check = dict(method_checks(cls))[failing]  # the check alone fails too
    with pytest.raises(AssertionError):
        check(cls, rebalance=rebalance)


def test_a_correct_method_passes_as_class_instance_and_two_stage() -> None:
    check_method(Good)
    check_method(Good, rebalance="cRW")
    check_method(Good(temperature=2.0))
    check_method(MLPHead)  # one-stage: its head is its own business


def test_a_registered_row_and_a_file_pass_by_name() -> None:
    check_method("ce-crw")
    check_method("docs/examples/my_method.py:LogitAdjustedCE:cRW")


def test_every_check_is_named_and_documented() -> None:
    checks = method_checks(Good)
    assert len(checks) >= 8 and len({n for n, _ in checks}) == len(checks)
    for name, check in checks:
        assert name.startswith("check_") and check.__name__ == name
        assert check.__doc__ and len(check.__doc__.strip()) > 40, name


@parametrize_with_checks([Good])
def test_parametrize_with_checks_runs_each_check(method, check) -> None:
    check(method)


def test_parametrize_with_checks_has_readable_ids() -> None:
    mark = parametrize_with_checks([Good, "ce-crw"])
    ids = [p.id for p in mark.args[1]]
    assert mark.args[0] == "method, check"
    assert ids[0] == "good-check_is_a_frozen_dataclass" and "ce-crw-check_builds_and_steps" in ids
    assert len(ids) == 2 * len(method_checks(Good))
