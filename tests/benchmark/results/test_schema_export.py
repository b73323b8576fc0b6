"""The committed JSON Schema is the one generated from the pydantic model."""

from __future__ import annotations

import json

from benchmark.cli import main
from benchmark.results.schema import export_json_schema, json_schema_text
from tests import ROOT

SCHEMA_FILE = ROOT / "docs" / "result.schema.json"


def test_committed_schema_equals_generated():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == json_schema_text(), (
        "docs/result.schema.json is stale: run `python -m benchmark schema --out docs/result.schema.json`"
    )


def test_schema_describes_the_result_file(tmp_path, capsys):
    schema = export_json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/") and schema["type"] == "object"
    assert {"spec", "status", "dataset_manifest_sha256", "provenance"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
    assert main(["schema", "--out", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text()) == schema


def test_group_metrics_are_fields_of_the_schema_in_column_order():
    """The MCR of the class groups is named once (benchmark.results.schema.GROUP_METRICS); the statistics, the
    tables and the metric specs derive from it."""
    from benchmark.analysis.stats import METRICS
    from benchmark.analysis.tables import summary_table
    from benchmark.results.schema import GROUP_METRICS, Metrics, group_metric_labels, group_metrics, metric_specs

    assert group_metrics() == {"all": "mcr_all", "major": "mcr_major", "medium": "mcr_medium", "minor": "mcr_minor"}
    assert group_metric_labels() == {"all": "All", "major": "Major", "medium": "Medium", "minor": "Minor"}
    assert all(g.name in Metrics.model_fields for g in GROUP_METRICS) and METRICS == group_metrics()
    specs = metric_specs()
    assert [n for n, s in specs.items() if s.group] == ["mcr_all", "mcr_major", "mcr_minor", "mcr_medium"]
    assert specs["mcr_minor"].group == "minor" and specs["accuracy"].group is None
    import pandas as pd

    frame = pd.DataFrame(
        [
            {
                "dataset": "d",
                "backbone": "b",
                "protocol": "p",
                "method": "CE",
                "seed": s,
                **dict.fromkeys(METRICS.values(), 50.0 + s),
            }
            for s in range(3)
        ]
    )
    assert list(summary_table(frame).columns) == [
        *("dataset", "backbone", "protocol", "method"),
        *("all_mean", "all_std", "major", "medium", "minor", "seeds"),
    ]
