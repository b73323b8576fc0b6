"""The code stays in small pieces whose imports point one way.

- no function or method longer than 60 lines outside tests, no module longer than 800 lines;
- no import circle between the modules of the four packages: every import counts, at module level, inside a
  function or under ``TYPE_CHECKING`` (a circle broken only at run time is still a circle to read);
- only the command modules (``benchmark/commands/``, ``benchmark/__main__.py``) import ``benchmark.cli``;
  errors that other modules raise live in ``benchmark/errors.py``;
- the layers of docs/architecture.md: ``leaderboard -> benchmark -> {methods, datasets}``, only the command
  modules import ``leaderboard``, and ``methods`` and ``datasets`` import neither each other nor the others.

(Cyclomatic complexity ≤ 15 is ruff's C901, configured in pyproject.toml and run by ``.ci/run``.)
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmark", "methods", "datasets", "leaderboard", "benchmarks")
#: The installed packages, whose modules import one another (``benchmarks/`` holds scripts, not a package).
IMPORT_PACKAGES = ("benchmark", "methods", "datasets", "leaderboard")
MAX_LINES = 60
#: The longest module allowed (lines); the longest today is leaderboard/site.py (~760).
MAX_MODULE_LINES = 800
#: Modules that may import the command line (``benchmark.cli``) and ``leaderboard``.
COMMAND_MODULES = ("benchmark.commands", "benchmark.__main__", "benchmark.cli")
#: The packages each package's modules may import (the command modules aside: they may import any).
MAY_IMPORT = {
    "leaderboard": {"leaderboard", "benchmark", "methods", "datasets"},
    "benchmark": {"benchmark", "methods", "datasets"},
    "methods": {"methods"},
    "datasets": {"datasets"},
}


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


def long_modules(root: Path = ROOT, max_lines: int = MAX_MODULE_LINES) -> list[str]:
    """``path (N lines)`` of every module over ``max_lines`` lines."""
    out = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > max_lines:
                out.append(f"{path.relative_to(root)} ({lines} lines)")
    return out


def _modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's ``__init__``), for every module of :data:`IMPORT_PACKAGES`."""
    out = {}
    for package in IMPORT_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules of :data:`IMPORT_PACKAGES` it imports, wherever the import statement is.

    ``from pkg import name`` is an import of the submodule ``pkg.name`` when there is one, else of ``pkg``.
    """
    modules = _modules(root)
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        package = name if is_package else name.rpartition(".")[0]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                imported.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(parts + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                if source in modules:
                    for a in node.names:
                        sub = f"{source}.{a.name}"
                        imported.add(sub if sub in modules else source)
        imported.discard(name)
        graph[name] = imported
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: every strongly connected set of two or more modules, each sorted (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def _is_command(module: str) -> bool:
    return any(module == c or module.startswith(c + ".") for c in COMMAND_MODULES)


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """``a -> b (rule)`` for every import that breaks a rule of the module docstring (cli, layers)."""
    out = []
    for module, imported in sorted(graph.items()):
        if _is_command(module):
            continue
        for other in sorted(imported):
            if other == "benchmark.cli":
                out.append(f"{module} -> {other} (only command modules import the command line)")
            elif other.split(".")[0] not in MAY_IMPORT[module.split(".")[0]]:
                out.append(f"{module} -> {other} (imports point leaderboard -> benchmark -> methods, datasets)")
    return out


def test_no_function_over_60_lines() -> None:
    assert long_functions() == []


def test_no_module_over_800_lines() -> None:
    assert long_modules() == []


def test_no_import_circle() -> None:
    assert import_cycles(import_graph()) == []


def test_imports_point_one_way() -> None:
    assert layer_violations(import_graph()) == []


def test_the_check_sees_a_long_function(tmp_path: Path) -> None:
    (tmp_path / "benchmark").mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "benchmark" / "long.py").write_text(f"def f():\n{body}\n", encoding="utf-8")
    assert long_functions(tmp_path) == [f"benchmark/long.py:1 f ({MAX_LINES + 1} lines)"]
    assert long_modules(tmp_path, max_lines=MAX_LINES) == [f"benchmark/long.py ({MAX_LINES + 1} lines)"]


def test_the_check_sees_a_circle_and_a_cli_import(tmp_path: Path) -> None:
    """A circle closed only inside a function and under ``TYPE_CHECKING`` (as grid <-> executors was) is
    found, and so is a non-command module that imports its error type from the command line."""
    package = tmp_path / "benchmark"
    (package / "commands").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "cli.py": "class UserError(Exception): ...\n",
        "grid.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .executors import Executor\n",
        "executors.py": "def f():\n    from . import grid\n",
        "identity.py": "def g():\n    from .cli import UserError\n",
        "commands/__init__.py": "",
        "commands/run.py": "from ..cli import UserError\nfrom benchmark import grid\n",
    }
    for name, text in files.items():
        (package / name).write_text(text, encoding="utf-8")
    graph = import_graph(tmp_path)
    assert import_cycles(graph) == [["benchmark.executors", "benchmark.grid"]]
    assert graph["benchmark.commands.run"] == {"benchmark.cli", "benchmark.grid"}
    assert layer_violations(graph) == [
        "benchmark.identity -> benchmark.cli (only command modules import the command line)"
    ]
