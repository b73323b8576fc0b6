"""The result schema: one JSON file per run (pydantic; exported as JSON Schema for submitters)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

SCHEMA_VERSION = 1


class _Strict(BaseModel):
    # A NaN (e.g. the MCR of a group with no test image) is written as the string "NaN" and read back as
    # NaN: pydantic's default writes null, which the float field then refuses, and a bare NaN token is not JSON.
    model_config = ConfigDict(extra="forbid", strict=False, ser_json_inf_nan="strings")


# A percentage that may be undefined: a number, or "NaN" (`validate` refuses NaN in a submission).
Percent = Annotated[float, WithJsonSchema({"anyOf": [{"type": "number"}, {"const": "NaN"}],
                                           "description": "percent; \"NaN\" when undefined"})]


class RunSpec(_Strict):
    """What was run: the grid coordinates of one result."""

    dataset: str
    method: str = Field(description="display name exactly as the paper writes it, e.g. 'CE+SC→cRW'")
    method_id: str = Field(description="ASCII id, e.g. 'ce+sc-crw'")
    backbone: str
    seed: int
    protocol: str


class Metrics(_Strict):
    """Mean class recall in percent."""

    mcr_all: Percent
    mcr_major: Percent
    mcr_minor: Percent
    mcr_medium: Percent | None = None


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


class RunResult(_Strict):
    """One run's result file."""

    schema_version: int = SCHEMA_VERSION
    spec: RunSpec
    status: Literal["ok", "failed"]
    error: str | None = None
    description: str = ""
    reference: str = Field(default="", description="citation of the method (plain text)")
    url: str | None = Field(default=None, description="link to the method's paper or code; only http(s) links are shown")
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    two_stage: bool = False
    rebalance: str | None = None
    metrics: Metrics | None = None
    val_metrics: Metrics | None = Field(default=None, description="the same metrics on the validation split "
                                        "(monitoring and hyper-parameter choice only)")
    per_class: PerClass | None = None
    confusion_matrix: list[list[int]] | None = None
    predictions_file: str | None = Field(default=None, description="test labels and predictions (.npz), relative to this file")
    dataset_manifest_sha256: str
    dataset_params: dict[str, Any] | None = Field(default=None, description="the dataset builder's construction "
                                                  "parameters (run -p KEY=VALUE; also in the manifest)")
    stage1_key: dict[str, Any]
    stage1_sha256: str
    method_source_sha256: str | None = Field(default=None, description="sha256 of the user's method file "
                                             "(path/file.py:Class); absent for registered methods")
    protocol_config: dict[str, Any] = Field(default_factory=dict)
    provenance: Provenance


SCHEMA_ID = "https://github.com/medlt-bench/medlt-bench/blob/main/docs/result.schema.json"


def export_json_schema() -> dict[str, Any]:
    """The JSON Schema of one result file, generated from :class:`RunResult` (``docs/result.schema.json``)."""
    schema = RunResult.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "medlt-bench run result", **{k: v for k, v in schema.items() if k != "title"}}


def json_schema_text() -> str:
    """:func:`export_json_schema` as the exact text of ``docs/result.schema.json``."""
    import json

    return json.dumps(export_json_schema(), indent=2, ensure_ascii=False) + "\n"
