"""Conformance checks for a method class, as scikit-learn's ``check_estimator`` / ``parametrize_with_checks``.

Every registered method passes these; run them on your own :class:`~methods.Method` subclass before you ship it:
``check_method(MyMethod, rebalance="cRW")`` raises an AssertionError naming the failing check, and
``@parametrize_with_checks([MyMethod, "my_file.py:MyMethod:cRW"])`` makes one pytest test per (method, check)
(docs/adding-a-method.md, "Check your method"). Each check is a small function ``check_*(method, *, rebalance=None)``
whose docstring says what it asserts; the checks train on a tiny long-tailed problem on the CPU (a timm
``test_resnet``, 4 classes, 16 px): seconds per method. pytest is imported only by :func:`parametrize_with_checks`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

import timm
import torch
from torch import Tensor, nn

from .base import Batch, Classifier, Method, Rebalance, StepInfo
from .registry import MethodEntry, get_entry, load_method_from_file, method_id_problem

#: What the checks accept as a method.
MethodLike = type[Method] | MethodEntry | Method | str
Check = Callable[..., None]

SAMPLERS = ("instance", "class_balanced", "reversed")

# -- the tiny long-tailed problem ----------------------------------------------------------------
#: 4 classes; a batch of 12 with 5/4/2/1 images; training counts 40/20/8/2.
NUM_CLASSES = 4
LABELS = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3])
COUNTS = torch.tensor([40.0, 20.0, 8.0, 2.0])
SIZE = 16


def tiny_backbone(seed: int = 0) -> nn.Module:
    """timm's ``test_resnet`` with ``num_classes=0`` (pooled features), initialised from ``seed``."""
    torch.manual_seed(seed)
    return timm.create_model("test_resnet", pretrained=False, num_classes=0)


def tiny_model(method: Method, seed: int = 0) -> Classifier:
    """``method.build`` on :func:`tiny_backbone` for the tiny problem (4 classes, counts 40/20/8/2)."""
    backbone = tiny_backbone(seed)
    num_features = backbone.num_features  # timm: the pooled feature width
    assert isinstance(num_features, int)
    return method.build(backbone, num_features, NUM_CLASSES, COUNTS.clone())


def tiny_batch(method: Method, seed: int = 0) -> Batch:
    """A batch of the tiny problem with the views and the paired stream ``method`` declares."""
    g = torch.Generator().manual_seed(seed)
    views = tuple(torch.randn(len(LABELS), 3, SIZE, SIZE, generator=g) for _ in range(max(1, method.views)))
    batch = Batch(images=views[0], labels=LABELS.clone(), views=views)
    if method.paired_sampling:
        batch.paired_images = torch.randn(len(LABELS), 3, SIZE, SIZE, generator=g)
        batch.paired_labels = LABELS[torch.randperm(len(LABELS), generator=g)]
    return batch


def tiny_step_info(epoch: int = 3, epochs: int = 4, seed: int = 0) -> StepInfo:
    """Epoch 3 of 4 by default: late-epoch schedules (DRW from ⌊0.8 · 4⌋ = 3) are on, BBN's α is inside (0, 1)."""
    return StepInfo(
        epoch=epoch,
        epochs=epochs,
        step=epoch,
        steps_per_epoch=1,
        class_counts=COUNTS.clone(),
        generator=torch.Generator().manual_seed(seed),
    )


def one_step(method: Method, model: Classifier, seed: int = 0) -> Tensor:
    """One SGD step (lr 0.1, momentum 0.9) of ``method`` on ``model``; the detached loss."""
    optimizer = torch.optim.SGD(method.param_groups(model), lr=0.1, momentum=0.9)
    model.train()
    loss = method.training_step(model, tiny_batch(method, seed), tiny_step_info(seed=seed))["loss"]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


# -- what a check is given -----------------------------------------------------------------------
def resolve(method: MethodLike, rebalance: Rebalance | str | None = None) -> tuple[type[Method], Rebalance | None]:
    """``(class, stage 2)`` of anything the checks accept; ``rebalance`` (a Rebalance or a suffix) wins."""
    if isinstance(rebalance, str):
        rebalance = Rebalance.from_suffix(rebalance)
    if isinstance(method, str):
        method = load_method_from_file(method) if ".py:" in method else get_entry(method)
    if isinstance(method, MethodEntry):
        return method.cls, rebalance or method.rebalance
    if isinstance(method, Method):
        return type(method), rebalance or method.rebalance
    if isinstance(method, type):
        return method, rebalance
    raise TypeError(f"not a method: {method!r} (a Method subclass, a MethodEntry, an instance, a name or a file spec)")


def _label(method: MethodLike, rebalance: Rebalance | str | None = None) -> str:
    """A short readable id: the row id (``ce-crw``), else the class name with its stage-2 suffix."""
    try:
        cls, rb = resolve(method, rebalance)
    except Exception:  # an id for a test that will fail: never fail at collection
        return str(method)
    base = getattr(cls, "id", "") or getattr(cls, "__name__", str(cls))
    return base if rb is None else f"{base}-{rb.id_suffix}"


_CHECKS: list[Check] = []


def _method_check(fn: Callable[[type[Method], Rebalance | None], None]) -> Check:
    """Register ``fn(cls, rebalance)`` as a public check ``fn(method, *, rebalance=None)``."""

    @functools.wraps(fn)
    def check(method: MethodLike, *, rebalance: Rebalance | str | None = None) -> None:
        try:
            fn(*resolve(method, rebalance))
        except AssertionError:
            raise
        except Exception as e:  # the class under test raised: that is this check failing
            raise AssertionError(f"{type(e).__name__}: {e}") from e

    _CHECKS.append(check)
    return check


def _create(cls: type[Method], rebalance: Rebalance | None, **hyperparameters: Any) -> Method:
    return cls(rebalance=rebalance, **hyperparameters)


# -- the checks ----------------------------------------------------------------------------------
@_method_check
def check_is_a_frozen_dataclass(cls: type[Method], rebalance: Rebalance | None) -> None:
    """A :class:`Method` subclass, a frozen dataclass, constructible with defaults only; every annotated
    attribute of the class is a dataclass field (a hyper-parameter) or a ``ClassVar`` (a fact)."""
    assert isinstance(cls, type) and issubclass(cls, Method), f"{cls!r} is not a methods.Method subclass"
    # __dataclass_params__ is set by @dataclass but not declared in typeshed's DataclassInstance
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, "not a frozen dataclass"  # type: ignore[attr-defined]
    fields = {f.name for f in dataclasses.fields(cls)}
    for klass in cls.__mro__:
        for attr, annotation in vars(klass).get("__annotations__", {}).items():
            text = annotation if isinstance(annotation, str) else repr(annotation)
            assert attr in fields or "ClassVar" in text, (
                f"{klass.__name__}.{attr} is annotated but not a dataclass field: decorate the class with "
                "@dataclass(frozen=True, kw_only=True)"
            )
    method = _create(cls, rebalance)  # every hyper-parameter has a default
    name = next((f.name for f in dataclasses.fields(method)), "rebalance")
    try:
        setattr(method, name, getattr(method, name))
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("assigning an attribute of an instance did not raise FrozenInstanceError")


@_method_check
def check_declares_name_and_id(cls: type[Method], rebalance: Rebalance | None) -> None:
    """Class attributes ``name`` (display name) and ``id`` (a valid ASCII id, it names the results folder);
    the row's ``display_name`` / ``method_id`` are them plus the stage 2's suffixes."""
    assert isinstance(cls.name, str) and cls.name.strip(), "class attribute 'name' is missing or empty"
    assert "→" not in cls.name, "'→' in 'name' is reserved for the stage-2 suffix"
    assert isinstance(cls.id, str) and cls.id, "class attribute 'id' is missing or empty"
    problem = method_id_problem(cls.id)
    assert problem is None, problem
    method = _create(cls, rebalance)
    if rebalance is None:
        assert (method.display_name, method.method_id) == (cls.name, cls.id) and not method.two_stage
    else:
        assert method.display_name == f"{cls.name}→{rebalance.suffix}", method.display_name
        assert method.method_id == f"{cls.id}-{rebalance.id_suffix}", method.method_id
        assert method.two_stage and method_id_problem(method.method_id) is None


@_method_check
def check_documented(cls: type[Method], rebalance: Rebalance | None) -> None:
    """A docstring of its own saying what the method is (over 40 characters), a one-line ``description``,
    an http(s) ``url`` if any, and valid facts: ``views`` >= 1, ``sampling`` and ``paired_sampling``."""
    doc = (cls.__doc__ or "").strip()
    inherited = any(doc == (k.__doc__ or "").strip() for k in cls.__mro__[1:])
    generated = doc.startswith(cls.__name__ + "(")  # what @dataclass writes when there is no docstring
    assert len(doc) > 40 and not inherited and not generated, "the class docstring says what the method is"
    assert isinstance(cls.description, str) and cls.description.strip(), "a one-line 'description'"
    assert "\n" not in cls.description, "'description' is one line"
    assert not cls.url or cls.url.startswith(("https://", "http://")), f"url {cls.url!r} is not http(s)"
    assert isinstance(cls.views, int) and cls.views >= 1, f"views = {cls.views!r}"
    assert cls.sampling in SAMPLERS, f"sampling = {cls.sampling!r}; valid: {', '.join(SAMPLERS)}"
    assert cls.paired_sampling in (None, *SAMPLERS), f"paired_sampling = {cls.paired_sampling!r}"


def _changed(value: Any) -> Any:
    """A different value of the same type (numbers doubled or, at 0, set to 1), or ``value`` when there is none."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return type(value)(1) if value == 0 else value * 2


@_method_check
def check_hyperparameters_stored_as_given(cls: type[Method], rebalance: Rebalance | None) -> None:
    """``hyperparameters()`` is JSON and gives the instance back (``cls(**hp) == method``), and a changed value
    is stored as given: no clipping, rounding or rewriting in ``__post_init__`` (a value the class refuses with
    ValueError is skipped)."""
    method = _create(cls, rebalance)
    hp = method.hyperparameters()
    assert isinstance(hp, dict) and "rebalance" not in hp, "hyperparameters() is a dict without 'rebalance'"
    loaded = json.loads(json.dumps(hp))  # TypeError here: a value that is not JSON
    assert loaded == hp, f"not JSON as given: {hp!r} comes back as {loaded!r}"
    again = _create(cls, rebalance, **loaded)
    assert again == method and again.hyperparameters() == hp, "the result JSON does not give the method back"
    for key, value in hp.items():
        changed = {**hp, key: _changed(value)}
        if changed == hp:
            continue
        try:
            other = _create(cls, rebalance, **json.loads(json.dumps(changed)))
        except ValueError:  # outside the method's valid range
            continue
        assert other.hyperparameters() == changed, (
            f"{key}={changed[key]!r} given, hyperparameters() says {other.hyperparameters().get(key)!r}"
        )


@_method_check
def check_stage1_key_stable(cls: type[Method], rebalance: Rebalance | None) -> None:
    """``stage1_key()`` is JSON, equal for equal methods, the same for every stage 2 (the one-stage row and its
    two-stage rows share one stage-1 checkpoint), and different when a hyper-parameter changes."""
    method = _create(cls, rebalance)
    key = method.stage1_key()
    text = json.dumps(key, sort_keys=True)
    assert json.loads(text) == key, "stage1_key() is not JSON as given"
    assert json.dumps(_create(cls, rebalance).stage1_key(), sort_keys=True) == text, "differs between equal methods"
    for other in (None, Rebalance("reweight"), Rebalance("taunorm")):
        assert json.dumps(_create(cls, other).stage1_key(), sort_keys=True) == text, (
            f"stage1_key() depends on the stage 2 ({other.kind if other else 'one-stage'})"
        )
    hp = method.hyperparameters()
    for name, value in hp.items():
        if _changed(value) == value:
            continue
        try:
            changed = _create(cls, rebalance, **{**hp, name: _changed(value)})
        except ValueError:
            continue
        assert json.dumps(changed.stage1_key(), sort_keys=True) != text, (
            f"stage1_key() ignores hyper-parameter {name!r}: different recipes would share a checkpoint"
        )


@_method_check
def check_builds_and_steps(cls: type[Method], rebalance: Rebalance | None) -> None:
    """On a tiny backbone: ``build`` gives a :class:`Classifier` whose logits are (N, classes); ``param_groups``
    holds every trainable parameter exactly once; one training step gives a finite scalar loss, finite gradients
    that reach the backbone, moves the parameters, and leaves the hyper-parameters unchanged."""
    method = _create(cls, rebalance)
    hp = method.hyperparameters()
    model = tiny_model(method)
    assert isinstance(model, Classifier), f"build() returned {type(model).__name__}, not a Classifier"
    with torch.no_grad():
        model.eval()
        logits = model(torch.randn(3, 3, SIZE, SIZE))
    assert logits.shape == (3, NUM_CLASSES), f"logits of shape {tuple(logits.shape)}"
    groups = method.param_groups(model)
    in_groups = sorted(id(p) for g in groups for p in g["params"])
    trainable = sorted(id(p) for p in model.parameters() if p.requires_grad)
    assert in_groups == trainable, "param_groups() must hold every trainable parameter exactly once"
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    model.train()
    out = method.training_step(model, tiny_batch(method), tiny_step_info())
    assert isinstance(out, dict) and "loss" in out, "training_step() returns a dict with 'loss'"
    loss = out["loss"]
    assert isinstance(loss, Tensor) and loss.ndim == 0, "the loss is a scalar tensor"
    assert torch.isfinite(loss), f"the loss is {loss.item()}"
    assert loss.requires_grad, "the loss has no gradient"
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert all(torch.isfinite(g).all() for g in grads.values()), "non-finite gradients"
    assert any(n.startswith("backbone.") and g.abs().sum() > 0 for n, g in grads.items()), (
        "no gradient reaches the backbone"
    )
    optimizer.step()
    assert any(not torch.equal(before[n], p) for n, p in model.named_parameters()), "the step changed nothing"
    assert method.hyperparameters() == hp, "training_step() changed the hyper-parameters"


@_method_check
def check_deterministic(cls: type[Method], rebalance: Rebalance | None) -> None:
    """The same seed gives the same loss, whatever the global RNG's state: batch-level randomness is drawn from
    ``info.generator``."""
    method = _create(cls, rebalance)
    losses = []
    for global_seed in (11, 12):
        model = tiny_model(method, seed=1)
        torch.manual_seed(global_seed)
        losses.append(one_step(method, model, seed=1))
    assert torch.equal(*losses), f"losses {losses[0].item()} and {losses[1].item()} from the same seed"


@_method_check
def check_mixed_precision_step(cls: type[Method], rebalance: Rebalance | None) -> None:
    """Under bf16 autocast (the engine's CUDA setting; CPU autocast here) the loss is finite, float32, and
    backpropagates."""
    method = _create(cls, rebalance)
    model = tiny_model(method)
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = method.training_step(model, tiny_batch(method), tiny_step_info())["loss"]
    assert loss.dtype == torch.float32, f"loss in {loss.dtype}: upcast with methods.base.full_precision"
    assert torch.isfinite(loss), f"the loss is {loss.item()}"
    loss.backward()


@_method_check
def check_stage2_accepts_the_head(cls: type[Method], rebalance: Rebalance | None) -> None:
    """Two-stage rows: the stage 2 can start from the stage-1 head (τ-norm, LWS and MaxNorm need an
    ``nn.Linear``) and its head gives finite (N, classes) logits on the features. One-stage rows: nothing."""
    if rebalance is None:
        return
    method = _create(cls, rebalance)
    model = tiny_model(method)
    head = rebalance.stage2.head(model.head, model.feat_dim, NUM_CLASSES)
    with torch.no_grad():
        model.eval()
        logits = head(model.features(torch.randn(3, 3, SIZE, SIZE)))
    assert logits.shape == (3, NUM_CLASSES) and torch.isfinite(logits).all(), "the stage-2 head's logits"


# -- running them --------------------------------------------------------------------------------
def method_checks(method: MethodLike | None = None) -> list[tuple[str, Check]]:
    """``[(name, check)]``, in order; call ``check(method)`` (or ``check(cls, rebalance="cRW")``) to run one."""
    return [(c.__name__, c) for c in _CHECKS]


def check_method(method: MethodLike, *, rebalance: Rebalance | str | None = None) -> None:
    """Run every check of :func:`method_checks` on ``method``; an AssertionError naming the first failing check."""
    label = _label(method, rebalance)
    for name, check in method_checks(method):
        try:
            check(method, rebalance=rebalance)
        except Exception as e:
            first = next(iter(str(e).splitlines()), "") or type(e).__name__
            raise AssertionError(f"{label}: {name} failed: {first}") from e


def parametrize_with_checks(methods: Iterable[MethodLike]) -> Any:
    """A ``pytest.mark.parametrize("method, check", ...)`` over every (method, check), ids ``<id>-<check>``.

    The test calls ``check(method)``. A file spec's stage-2 suffix, an entry's or an instance's
    ``rebalance`` picks the row.
    """
    import pytest  # only the test helper needs pytest

    params = []
    for m in methods:
        label = _label(m)
        for name, check in method_checks(m):
            params.append(pytest.param(m, check, id=f"{label}-{name}"))
    return pytest.mark.parametrize("method, check", params)


__all__ = [
    "COUNTS",
    "LABELS",
    "NUM_CLASSES",
    "SIZE",
    "MethodLike",
    "check_builds_and_steps",
    "check_declares_name_and_id",
    "check_deterministic",
    "check_documented",
    "check_hyperparameters_stored_as_given",
    "check_is_a_frozen_dataclass",
    "check_method",
    "check_mixed_precision_step",
    "check_stage1_key_stable",
    "check_stage2_accepts_the_head",
    "method_checks",
    "one_step",
    "parametrize_with_checks",
    "resolve",
    "tiny_backbone",
    "tiny_batch",
    "tiny_model",
    "tiny_step_info",
]
