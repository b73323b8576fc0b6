"""The code stays in small pieces: no function or method longer than 60 lines outside tests.

(Cyclomatic complexity ≤ 15 is ruff's C901, configured in pyproject.toml and run by ``.ci/run``.)
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmark", "methods", "datasets", "leaderboard", "benchmarks")
MAX_LINES = 60


def long_functions(root: Path = ROOT, max_lines: int = MAX_LINES) -> list[str]:
    """``path:line name (N lines)`` of every function over ``max_lines`` lines (def line to last line)."""
    out = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if (root / "leaderboard" / "submissions") in path.parents:
                continue  # submitters' method files (leaderboard/submissions/<id>/method.py) are their code
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = (node.end_lineno or node.lineno) - node.lineno + 1
                    if lines > max_lines:
                        out.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({lines} lines)")
    return out


def test_no_function_over_60_lines() -> None:
    assert long_functions() == []


def test_the_check_sees_a_long_function(tmp_path: Path) -> None:
    (tmp_path / "benchmark").mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "benchmark" / "long.py").write_text(f"def f():\n{body}\n", encoding="utf-8")
    assert long_functions(tmp_path) == [f"benchmark/long.py:1 f ({MAX_LINES + 1} lines)"]
