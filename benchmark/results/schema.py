"""The result schema: one JSON file per run (pydantic; exported as JSON Schema for submitters)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import JsonDict

from ..metrics import ECE_BINS, FEW_SHOT_MAX, MANY_SHOT_MIN

#: 1: MCR all / major / minor / medium only. 2: adds accuracy, macro-F1, macro AUC, ECE, NLL and the
#: many / medium / few-shot MCR (all optional, so a version-1 file is still a valid result) and the
#: test logits in the predictions file.
SCHEMA_VERSION = 2


class _Strict(BaseModel):
    # A NaN (e.g. the MCR of a group with no test image) is written as the string "NaN" and read back as
    # NaN: pydantic's default writes null, which the float field then refuses, and a bare NaN token is not JSON.
    model_config = ConfigDict(extra="forbid", strict=False, ser_json_inf_nan="strings")


# A percentage that may be undefined: a number, or "NaN" (`validate` refuses NaN in a submission).
Percent = Annotated[
    float,
    WithJsonSchema({"anyOf": [{"type": "number"}, {"const": "NaN"}], "description": 'percent; "NaN" when undefined'}),
]


class RunSpec(_Strict):
    """What was run: the grid coordinates of one result."""

    dataset: str
    method: str = Field(description="display name exactly as the paper writes it, e.g. 'CE+SC→cRW'")
    method_id: str = Field(description="ASCII id, e.g. 'ce+sc-crw'")
    backbone: str
    seed: int
    protocol: str


# A non-negative number in nats that may be undefined.
Nats = Annotated[
    float,
    WithJsonSchema(
        {"anyOf": [{"type": "number"}, {"const": "NaN"}], "description": 'nats (natural log); "NaN" when undefined'}
    ),
]


def _metric(
    description: str,
    unit: Literal["percent", "nats"] = "percent",
    higher_is_better: bool = True,
    required: bool = False,
) -> Any:
    """A metric field: its description, unit and direction are in the JSON Schema (``unit``,
    ``higher_is_better``) and in :func:`metric_specs`, the one list of metric names."""
    extra: JsonDict = {"unit": unit, "higher_is_better": higher_is_better}
    if required:
        return Field(description=description, json_schema_extra=extra)
    return Field(default=None, description=description, json_schema_extra=extra)


class Metrics(_Strict):
    """One split's metrics (percent, except NLL in nats), computed by :mod:`benchmark.metrics`.

    Class-averaged metrics (MCR, macro-F1, macro AUC) average over the classes with at least one image
    in the split. Fields after ``mcr_medium`` came with schema version 2 and are absent (null) in older
    results; the AUC, ECE and NLL are computed from the float16 logits stored in the predictions file.
    """

    mcr_all: Percent = _metric("mean class recall (balanced accuracy), %, over all classes", required=True)
    mcr_major: Percent = _metric(
        "mean class recall, %, over the dataset's major classes (per_class.group)", required=True
    )
    mcr_minor: Percent = _metric(
        "mean class recall, %, over the dataset's minor classes (per_class.group)", required=True
    )
    mcr_medium: Percent | None = _metric(
        "mean class recall, %, over the dataset's medium classes; null when the dataset defines no medium group"
    )
    accuracy: Percent | None = _metric("overall accuracy, %: correct predictions over all images")
    macro_f1: Percent | None = _metric(
        "macro-F1, %: mean over classes of F1 = 2TP / (2TP + FP + FN); a class never predicted has F1 0"
    )
    macro_auc: Percent | None = _metric(
        "one-vs-rest macro ROC AUC, %, of the softmax probabilities; classes "
        "with no image in the split (AUC undefined) are left out"
    )
    ece: Percent | None = _metric(
        f"expected calibration error, %, of the top-1 softmax confidence over {ECE_BINS} "
        f"equal-width bins (i/{ECE_BINS}, (i+1)/{ECE_BINS}]: sum over bins of (bin share of images) * "
        "|bin accuracy - bin mean confidence|; lower is better",
        higher_is_better=False,
    )
    nll: Nats | None = _metric(
        "negative log-likelihood of the true class under the softmax, mean over images, "
        "natural log (nats); lower is better",
        unit="nats",
        higher_is_better=False,
    )
    ece_calibrated: Percent | None = _metric(
        "ECE, %, as ece, after temperature scaling (Guo et al., ICML 2017): the test logits divided by the "
        "calibration_temperature fitted on the validation split; null without a validation split or logits; "
        "lower is better",
        higher_is_better=False,
    )
    nll_calibrated: Nats | None = _metric(
        "NLL, nats, as nll, after temperature scaling (the test logits divided by calibration_temperature); "
        "null without a validation split or logits; lower is better",
        unit="nats",
        higher_is_better=False,
    )
    mcr_many_shot: Percent | None = _metric(
        f"mean class recall, %, over the head (many-shot) classes: more than {MANY_SHOT_MIN} training images "
        "(per_class."
        "train_counts; Liu et al., OLTR, CVPR 2019); null when no class has that many"
    )
    mcr_medium_shot: Percent | None = _metric(
        f"mean class recall, %, over the medium-shot classes: {FEW_SHOT_MAX} to {MANY_SHOT_MIN} training images; "
        "null when none"
    )
    mcr_few_shot: Percent | None = _metric(
        f"mean class recall, %, over the tail (few-shot) classes: fewer than {FEW_SHOT_MAX} training images; "
        "null when none"
    )


@dataclass(frozen=True)
class MetricSpec:
    """One metric of :class:`Metrics`: its field name, description, unit and direction."""

    name: str
    description: str
    unit: str
    higher_is_better: bool
    #: For the MCR of a class group (:data:`GROUP_METRICS`): the group's short name ("all", "major", …); else None.
    group: str | None = None


@dataclass(frozen=True)
class GroupMetric:
    """The mean class recall over one class group: all classes, or the dataset's major / medium / minor
    classes (``per_class.group``). These are the columns of the paper's tables."""

    #: "all", "major", "medium" or "minor": the column's name in summaries and statistics (``all_mean``, …).
    short: str
    #: Its field of :class:`Metrics`: ``mcr_<short>``.
    name: str
    #: As a table header shows it: "All", "Major", "Medium", "Minor".
    label: str


#: The MCR metrics of the class groups, in the paper's column order (All, Major, Medium, Minor): the one
#: place that names them; :func:`group_metrics`, :func:`group_metric_labels` and :func:`metric_specs` derive
#: from it.
GROUP_METRICS: tuple[GroupMetric, ...] = tuple(
    GroupMetric(short, f"mcr_{short}", short.capitalize()) for short in ("all", "major", "medium", "minor")
)
_missing = [g.name for g in GROUP_METRICS if g.name not in Metrics.model_fields]
if _missing:  # pragma: no cover - a renamed field of Metrics must be renamed here too
    raise RuntimeError(f"GROUP_METRICS names {_missing}, which are not fields of Metrics")


def group_metrics() -> dict[str, str]:
    """Short name -> field of :class:`Metrics` of every :data:`GROUP_METRICS` entry, in column order
    (``{"all": "mcr_all", "major": "mcr_major", "medium": "mcr_medium", "minor": "mcr_minor"}``)."""
    return {g.short: g.name for g in GROUP_METRICS}


def group_metric_labels() -> dict[str, str]:
    """Short name -> table label of every :data:`GROUP_METRICS` entry (``{"all": "All", …}``)."""
    return {g.short: g.label for g in GROUP_METRICS}


def metric_specs() -> dict[str, MetricSpec]:
    """Every metric name (a field of :class:`Metrics`, in schema order) with its description, unit, direction
    and class group (:data:`GROUP_METRICS`): the one list that ``report --metric``, the results frame and
    ``validate`` use."""
    groups = {g.name: g.short for g in GROUP_METRICS}
    out = {}
    for name, info in Metrics.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        out[name] = MetricSpec(
            name,
            info.description or "",
            str(extra.get("unit", "percent")),
            bool(extra.get("higher_is_better", True)),
            groups.get(name),
        )
    return out


def metric_names() -> list[str]:
    """The field names of :class:`Metrics`, in schema order."""
    return list(Metrics.model_fields)


class PerClass(_Strict):
    class_names: list[str]
    train_counts: list[int]
    recall: list[float | None]
    group: list[str]


class Provenance(_Strict):
    package_version: str
    git_commit: str | None = None
    torch_version: str
    python_version: str
    device: str
    wall_seconds: float
    started: str
    finished: str
    stage1_reused: bool = False
    threads: int | None = Field(
        default=None,
        ge=1,
        description="torch's intra-op CPU threads of the process that ran it (float32 sums depend on it)",
    )


class RunResult(_Strict):
    """One run's result file."""

    schema_version: int = Field(
        default=SCHEMA_VERSION,
        ge=1,
        le=SCHEMA_VERSION,
        description="1: MCR metrics only; 2: adds accuracy, macro_f1, macro_auc, ece, nll "
        "and mcr_many/medium/few_shot, and logits in the predictions file",
    )
    spec: RunSpec
    status: Literal["ok", "failed"]
    error: str | None = None
    description: str = ""
    reference: str = Field(default="", description="citation of the method (plain text)")
    url: str | None = Field(
        default=None, description="link to the method's paper or code; only http(s) links are shown"
    )
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    two_stage: bool = False
    rebalance: str | None = None
    stage2_settings: dict[str, Any] | None = Field(
        default=None,
        description="a two-stage row's stage-2 kind and its settings: its hyper-parameters (e.g. the tau grid), "
        "sampler, whether it trains, and its weight decay (null: the protocol's stage2_weight_decay)",
    )
    stage2_choice: dict[str, float] | None = Field(
        default=None,
        description="what a stage 2 with a post-hoc search "
        "chose on the validation split (tau-norm, PLA): tau and the "
        "validation MCR (%) it gave",
    )
    metrics: Metrics | None = None
    val_metrics: Metrics | None = Field(
        default=None,
        description="the same metrics on the validation split (monitoring and hyper-parameter choice only)",
    )
    calibration_temperature: float | None = Field(
        default=None,
        gt=0,
        description="temperature scaling (Guo et al., ICML 2017): the T minimising the NLL of the validation split's "
        "stored (float16) logits divided by T; metrics.ece_calibrated and nll_calibrated divide the test "
        "logits by it; null without a validation split",
    )
    per_class: PerClass | None = None
    confusion_matrix: list[list[int]] | None = None
    predictions_file: str | None = Field(
        default=None,
        description="test labels and predictions (.npz: y_true, "
        "y_pred, and since schema version 2 logits, float16 (N, C)), relative to "
        "this file",
    )
    dataset_manifest_sha256: str
    dataset_params: dict[str, Any] | None = Field(
        default=None,
        description="the dataset builder's construction parameters (run -p KEY=VALUE; also in the manifest)",
    )
    stage1_key: dict[str, Any]
    stage1_sha256: str
    method_source_sha256: str | None = Field(
        default=None, description="sha256 of the user's method file (path/file.py:Class); absent for registered methods"
    )
    code_sha256: dict[str, str] | None = Field(
        default=None,
        description="sha256 of each source file of the row's code (path relative to the repository root: "
        "the method's classes, its stage-2 kind, the methods modules they import; methods/source.py)",
    )
    protocol_config: dict[str, Any] = Field(default_factory=dict)
    provenance: Provenance


SCHEMA_ID = "https://github.com/medlt-bench/medlt-bench/blob/main/docs/result.schema.json"


def export_json_schema() -> dict[str, Any]:
    """The JSON Schema of one result file, generated from :class:`RunResult` (``docs/result.schema.json``)."""
    schema = RunResult.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "medlt-bench run result",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def json_schema_text() -> str:
    """:func:`export_json_schema` as the exact text of ``docs/result.schema.json``."""
    return json.dumps(export_json_schema(), indent=2, ensure_ascii=False) + "\n"
