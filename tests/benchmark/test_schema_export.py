"""The committed JSON Schema is the one generated from the pydantic model."""

from __future__ import annotations

import json
from pathlib import Path

from benchmark.cli import main
from benchmark.schema import export_json_schema, json_schema_text

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "result.schema.json"


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
