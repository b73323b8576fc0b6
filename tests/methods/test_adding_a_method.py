"""docs/adding-a-method.md works as written: its example is the shipped file, the file runs from the
command line (one-stage and with the ``:cRW`` suffix), and an entry-point plugin joins the catalog."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

from benchmark.cli import main
from methods import registry
from tests import ROOT

DOC = ROOT / "docs" / "adding-a-method.md"
EXAMPLE = ROOT / "docs" / "examples" / "my_method.py"


def test_doc_code_block_is_the_example_file() -> None:
    blocks = re.findall(r"^```python\n(.*?)^```$", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)
    assert blocks, "the doc has a python code block"
    assert blocks[0] == EXAMPLE.read_text(encoding="utf-8")
    assert len(EXAMPLE.read_text(encoding="utf-8").splitlines()) <= 40


def test_example_runs_from_the_command_line(cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the documented command runs from the repository root
    spec = "docs/examples/my_method.py:LogitAdjustedCE"
    results = tmp_path / "results"  # anything written next to the results directory stays in tmp_path
    common = [
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
    ]
    assert main(["run", "--method", spec] + common) == 0
    assert main(["run", "--method", spec + ":cRW"] + common) == 0
    run_dir = results / "digits-lt" / "test_resnet" / "smoke"
    one = json.loads((run_dir / "la-ce" / "seed-0.json").read_text())
    two = json.loads((run_dir / "la-ce-crw" / "seed-0.json").read_text())
    assert one["status"] == "ok" and two["status"] == "ok"
    assert one["spec"]["method"] == "LA-CE" and two["spec"]["method"] == "LA-CE→cRW"
    assert one["hyperparameters"] == two["hyperparameters"] == {"tau": 1.0}
    assert one["stage1_key"] == two["stage1_key"] and two["two_stage"] and two["rebalance"] == "cRW"
    assert 0.0 <= one["metrics"]["mcr_all"] <= 100.0


def test_example_file_with_unknown_class_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["run", "--method", "docs/examples/my_method.py:NoSuchClass", "--results", str(tmp_path)]) == 2
    assert "NoSuchClass" in capsys.readouterr().err


PLUGIN = '''
from dataclasses import dataclass

from methods import Method, register_method


@register_method(variants=("", "cRS"))
@dataclass(frozen=True, kw_only=True)
class PluginDecorated(Method):
    """A plugin method registered by its module's decorator."""

    name = "Plugin-Decorated"
    id = "plugin-decorated"
    description = "Test plugin (module entry point)."


@dataclass(frozen=True, kw_only=True)
class PluginClass(Method):
    """A plugin method named directly by its entry point; ``variants`` picks its rows."""

    name = "Plugin-Class"
    id = "plugin-class"
    description = "Test plugin (class entry point)."
    variants = ("", "cRW")
    tau: float = 2.0
'''


@pytest.fixture
def plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An installed distribution (a dist-info on sys.path) declaring ``medlt_bench.methods`` entry points."""
    (tmp_path / "medlt_test_plugin.py").write_text(textwrap.dedent(PLUGIN))
    dist = tmp_path / "medlt_test_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: medlt-test-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        f"[{registry.ENTRY_POINT_GROUP}]\n"
        "decorated = medlt_test_plugin\n"
        "cls = medlt_test_plugin:PluginClass\n"
        "broken = medlt_test_plugin_missing:Nothing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    # A clean registry for this test only: the plugin's rows disappear afterwards.
    monkeypatch.setattr(registry, "_ENTRIES", list(registry._ENTRIES))
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    yield
    sys.modules.pop("medlt_test_plugin", None)


def test_entry_point_plugin_joins_the_catalog(plugin_dist: None) -> None:
    builtin = [e.name for e in registry._ENTRIES]
    with pytest.warns(RuntimeWarning, match="'broken'.*skipped"):
        entries = registry.method_entries()
    names = [e.name for e in entries]
    assert names[: len(builtin)] == builtin  # the paper's rows first, in order
    assert set(names[len(builtin) :]) == {
        "Plugin-Decorated",
        "Plugin-Decorated→cRS",
        "Plugin-Class",
        "Plugin-Class→cRW",
    }
    method = registry.create_method("plugin-class-crw", tau=3.0)
    assert method.display_name == "Plugin-Class→cRW" and method.tau == 3.0
    assert registry.get_entry("Plugin-Decorated->cRS").id == "plugin-decorated-crs"
    assert registry.method_entries() == entries  # loaded once
