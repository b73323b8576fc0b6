"""Report layouts (Tables 2-5) and formats (text, markdown, csv, latex) with best / second marks."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from benchmark.analysis.tables import format_blocks, format_table2, summary_table, table_blocks
from benchmark.cli import main
from benchmark.numbers import fixed

M = lambda a, j, n, d=None: {"mcr_all": a, "mcr_major": j, "mcr_minor": n, "mcr_medium": d}


@pytest.fixture()
def results(tmp_path, synthetic_result):
    root = tmp_path / "results"
    rows = {  # method: (All, Major, Minor) on skin7, seeds add -1 / 0 / +1 to All
        "CE": (83.0, 85.0, 80.0),
        "CE+SC": (84.0, 86.0, 81.0),
        "CE→cRW": (85.0, 84.0, 83.0),
        "SC→cRW": (82.0, 83.0, 84.0),
        "CE+SC→cRW": (86.0, 85.5, 90.0),
        "Focal": (81.0, 80.0, 70.0),
    }
    for method, (a, j, n) in rows.items():
        for seed, delta in enumerate((-1.0, 0.0, 1.0)):
            synthetic_result(root, dataset="skin7", method=method, seed=seed, metrics=M(a + delta, j, n))
    for method, a in (("CE", 88.0), ("CE+SC→cRW", 91.0), ("CE→cRW", 89.5)):
        for seed in range(3):
            synthetic_result(root, dataset="flower-lt", method=method, seed=seed, metrics=M(a, 92.0, 82.0, 90.0))
    for backbone, a in (("mobilenetv2", 84.0), ("densenet121", 86.0)):
        for seed in range(3):
            synthetic_result(
                root, dataset="skin7", method="CE+SC→cRW", seed=seed, backbone=backbone, metrics=M(a, 85.0, 87.0)
            )
    return root


def _summary(root):
    from benchmark.results.reader import load_results, results_frame

    return summary_table(results_frame(load_results(root)))


def test_table2_marks_best_and_second_in_every_format(results):
    summary = _summary(results)
    summary = summary[summary["backbone"] == "resnet50"]
    md = format_table2(summary, "markdown")
    row = next(line for line in md.splitlines() if line.startswith("| CE+SC→cRW |"))
    assert "**86.00 ± 1.00**" in row and "<u>85.00 ± 1.00</u>" in md  # skin7 All: best CE+SC→cRW, second CE→cRW
    assert "**90.00**" in md  # Minor best
    text = format_table2(summary, "text")
    assert "86.00 ± 1.00 *" in text and "85.00 ± 1.00 _" in text and "skin7 All" in text
    latex = format_table2(summary, "latex")
    assert r"\textbf{86.00 $\pm$ 1.00}" in latex and r"\underline{85.00 $\pm$ 1.00}" in latex
    assert r"CE+SC$\rightarrow$cRW" in latex and r"\begin{tabular}" in latex and r"\bottomrule" in latex
    assert r"\multicolumn{4}{c}{flower-lt}" in latex  # flower-lt has a Medium column in Table 2
    rows = list(csv.DictReader(io.StringIO(format_table2(summary, "csv"))))
    ce = next(r for r in rows if r["method"] == "CE")
    assert ce["skin7 All"] == "83.0000" and ce["skin7 All std"] == "1.0000" and ce["flower-lt Medium"] == "90.0000"
    assert not any("*" in v or "<u>" in v for r in rows for v in r.values())


def test_table3_ablation_rows_in_paper_order(results):
    blocks = table_blocks(_summary(results), 3)
    assert [b.context["backbone"] for b in blocks] == ["densenet121", "mobilenetv2", "resnet50"]
    assert blocks[0].rows == ["CE+SC→cRW"]
    assert blocks[2].rows == ["CE", "CE+SC", "CE→cRW", "SC→cRW", "CE+SC→cRW"]
    assert "Focal" not in format_blocks(blocks, "text")
    assert r"\textbf{86.00}" in format_blocks(blocks[2:], "latex")  # no ± std in Table 3


def test_table4_backbones_as_columns(results):
    blocks = [b for b in table_blocks(_summary(results), 4) if b.context["dataset"] == "skin7"]
    assert [g for g, _ in blocks[0].groups] == ["densenet121", "mobilenetv2", "resnet50"]
    assert all(cols == ["All", "Minor"] for _, cols in blocks[0].groups)
    text = format_blocks(blocks, "markdown")
    assert "| CE+SC→cRW | 86.00 | 87.00 | 84.00 | 87.00 | **86.00** | **90.00** |" in text


def test_table5_only_datasets_with_a_medium_group(results):
    blocks = table_blocks(_summary(results), 5)
    assert [[g for g, _ in b.groups] for b in blocks] == [["flower-lt"]]
    assert blocks[0].groups[0][1] == ["All", "Major", "Medium", "Minor"]


def test_report_command_formats_and_tables(results, capsys):
    assert main(["report", "--results", str(results), "--table", "3", "--format", "latex"]) == 0
    assert r"\textbf{86.00}" in capsys.readouterr().out
    assert main(["report", "--results", str(results), "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("backbone,protocol,method,")


def test_report_command_table_without_runs_is_an_error(tmp_path, synthetic_result, capsys):
    synthetic_result(tmp_path, dataset="skin7", method="CE", seed=0, metrics=M(80.0, 81.0, 79.0))
    assert main(["report", "--results", str(tmp_path), "--table", "5"]) == 2
    assert "Table 5" in capsys.readouterr().err


def test_latex_and_markdown_escape_names(tmp_path, synthetic_result):
    for seed in range(2):
        synthetic_result(tmp_path, dataset="d_1", method="A&B|50%", method_id="ab", seed=seed, metrics=M(1.0, 2.0, 3.0))
    summary = _summary(tmp_path)
    assert r"A\&B|50\%" in format_table2(summary, "latex") and r"d\_1" in format_table2(summary, "latex")
    assert r"A&B\|50%" in format_table2(summary, "markdown")


def _report_frame(cells: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for method, values in cells.items():
        for seed, v in enumerate(values):
            rows.append(
                {
                    "dataset": "skin7",
                    "backbone": "resnet50",
                    "protocol": "paper",
                    "method": method,
                    "seed": seed,
                    "mcr_all": v,
                    "mcr_major": v,
                    "mcr_minor": v,
                    "mcr_medium": np.nan,
                }
            )
    return pd.DataFrame(rows)


def test_report_never_marks_a_one_seed_cell_best():
    frame = _report_frame({"CE": [80.0, 81.0, 82.0], "RW": [95.0], "DRW": [83.0, 84.0, 85.0], "RS": [70.0, 71.0, 72.0]})
    (block,) = table_blocks(summary_table(frame), 2)
    marks = block.marks()
    assert ("RW", "skin7", "All") not in marks  # one seed: the highest number, but not a result that can be best
    assert marks[("DRW", "skin7", "All")] == 1 and marks[("CE", "skin7", "All")] == 2
    assert "*95.00" not in format_blocks([block])


def test_report_and_site_round_the_same_mean_alike():
    """A mean of 81.875 summed in float to 81.87499999999999 prints 81.88 in `report` and on the site alike."""
    from leaderboard.site.format import number

    frame = _report_frame({"RW": [81.0, 82.75, 81.875]})  # mean 81.875, summed in float to 81.87499999999999
    text = format_blocks(table_blocks(summary_table(frame), 2))
    mean = float(np.mean([81.0, 82.75, 81.875]))
    assert "81.88" in text and number(mean) == "81.88" == fixed(81.87499999999999) == fixed(81.875)
