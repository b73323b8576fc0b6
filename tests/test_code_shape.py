"""The code keeps the shape docs/architecture.md draws: small pieces whose imports point one way.

- no function longer than 60 lines, no class longer than 250, no module longer than 600 (tests aside), and no
  module docstring longer than 15 lines (a docstring says what a module is and points to docs/ for the rest);
- no import circle between the modules of the four packages: every import counts, at module level, inside a
  function or under ``TYPE_CHECKING`` (a circle broken only at run time is still a circle to read);
- the layers (:data:`LAYERS`): each part of the tree imports only the parts below it. Only the command line
  (``benchmark/cli.py``, ``benchmark/__main__.py``, ``benchmark/commands/``) imports ``leaderboard`` and the
  command line itself; ``methods`` and ``datasets`` import neither each other nor the others.

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
MAX_CLASS_LINES = 250
MAX_MODULE_LINES = 600
MAX_DOCSTRING_LINES = 15
#: The parts of the tree, most specific first: a module belongs to the first whose name is its name or a prefix
#: of it (``benchmark`` alone: the top-level modules errors, environment, events, files, metrics, numbers,
#: protocol, provenance).
PARTS = (
    "benchmark.commands",
    "benchmark.cli",
    "benchmark.__main__",
    "benchmark.training",
    "benchmark.grid",
    "benchmark.results",
    "benchmark.analysis",
    "benchmark",
    "leaderboard",
    "methods",
    "datasets",
)
_COMMAND_LINE = {"benchmark.commands", "benchmark.cli", "benchmark.__main__"}
_FOUNDATION = {"benchmark", "methods", "datasets"}
#: The parts each part's modules may import (its own part always).
LAYERS = {
    "methods": set(),
    "datasets": set(),
    "benchmark": {"methods", "datasets"},
    "benchmark.training": _FOUNDATION,
    "benchmark.results": _FOUNDATION,
    "benchmark.analysis": _FOUNDATION | {"benchmark.results"},
    "benchmark.grid": _FOUNDATION | {"benchmark.training", "benchmark.results"},
    "leaderboard": _FOUNDATION | {"benchmark.results", "benchmark.analysis", "benchmark.grid"},
    **{part: set(PARTS) for part in _COMMAND_LINE},
}


def _python_files(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[Path]:
    """Every module of ``packages`` but the submitters' method files (leaderboard/submissions/<id>/method.py)."""
    return [
        path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
        if (root / "leaderboard" / "submissions") not in path.parents
    ]


def long_definitions(
    root: Path = ROOT, max_lines: int = MAX_LINES, max_class_lines: int = MAX_CLASS_LINES
) -> list[str]:
    """``path:line name (N lines)`` of every function over ``max_lines`` and class over ``max_class_lines`` lines
    (def line to last line)."""
    out = []
    for path in _python_files(root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                limit = max_class_lines if isinstance(node, ast.ClassDef) else max_lines
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    out.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({lines} lines)")
    return out


def long_modules(root: Path = ROOT, max_lines: int = MAX_MODULE_LINES) -> list[str]:
    """``path (N lines)`` of every module over ``max_lines`` lines."""
    out = []
    for path in _python_files(root):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > max_lines:
            out.append(f"{path.relative_to(root)} ({lines} lines)")
    return out


def long_docstrings(root: Path = ROOT, max_lines: int = MAX_DOCSTRING_LINES) -> list[str]:
    """``path (N lines)`` of every module whose docstring is over ``max_lines`` lines."""
    out = []
    for path in _python_files(root, IMPORT_PACKAGES):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False) or ""
        if len(doc.splitlines()) > max_lines:
            out.append(f"{path.relative_to(root)} ({len(doc.splitlines())} lines)")
    return out


def _modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's ``__init__``), for every module of :data:`IMPORT_PACKAGES`."""
    out = {}
    for path in _python_files(root, IMPORT_PACKAGES):
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


def part_of(module: str) -> str:
    """The part of the tree (:data:`PARTS`) a dotted module belongs to."""
    return next(p for p in PARTS if module == p or module.startswith(p + "."))


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """``a -> b (a's part may not import b's)`` for every import that breaks :data:`LAYERS`."""
    out = []
    for module, imported in sorted(graph.items()):
        mine = part_of(module)
        for other in sorted(imported):
            theirs = part_of(other)
            if theirs != mine and theirs not in LAYERS[mine]:
                out.append(f"{module} -> {other} ({mine} may not import {theirs})")
    return out


def test_no_function_over_60_lines_and_no_class_over_250() -> None:
    assert long_definitions() == []


def test_no_module_over_600_lines() -> None:
    assert long_modules() == []


def test_module_docstrings_are_short() -> None:
    assert long_docstrings() == []


def test_no_import_circle() -> None:
    assert import_cycles(import_graph()) == []


def test_imports_point_one_way() -> None:
    assert layer_violations(import_graph()) == []


def test_every_module_belongs_to_a_layer() -> None:
    assert all(part_of(m) in LAYERS for m in import_graph())


def test_the_checks_see_long_functions_classes_modules_and_docstrings(tmp_path: Path) -> None:
    (tmp_path / "benchmark").mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    doc = '"""' + "\n".join(["line"] * (MAX_DOCSTRING_LINES + 1)) + '"""\n'
    (tmp_path / "benchmark" / "long.py").write_text(f"{doc}def f():\n{body}\nclass C:\n{body}\n", encoding="utf-8")
    assert long_definitions(tmp_path, max_class_lines=MAX_LINES) == [
        f"benchmark/long.py:{MAX_DOCSTRING_LINES + 2} f ({MAX_LINES + 1} lines)",
        f"benchmark/long.py:{MAX_DOCSTRING_LINES + MAX_LINES + 3} C ({MAX_LINES + 1} lines)",
    ]
    assert long_modules(tmp_path, max_lines=MAX_LINES) == [
        f"benchmark/long.py ({2 * MAX_LINES + MAX_DOCSTRING_LINES + 3} lines)"
    ]
    assert long_docstrings(tmp_path) == [f"benchmark/long.py ({MAX_DOCSTRING_LINES + 1} lines)"]


def test_the_checks_see_a_circle_and_a_layer_broken(tmp_path: Path) -> None:
    """A circle closed only inside a function and under ``TYPE_CHECKING`` is found, and so are a results module
    that imports the grid, a module outside the command line that imports it, and one that imports the site."""
    package = tmp_path / "benchmark"
    for folder in ("commands", "grid", "results"):
        (package / folder).mkdir(parents=True)
    (tmp_path / "leaderboard").mkdir()
    files = {
        "benchmark/__init__.py": "",
        "benchmark/cli.py": "from . import commands\n",
        "benchmark/errors.py": "def g():\n    from .cli import main\n",
        "benchmark/grid/__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .job import Job\n",
        "benchmark/grid/job.py": "def f():\n    from . import plan\n",
        "benchmark/grid/plan.py": "from .job import f\n",
        "benchmark/results/__init__.py": "",
        "benchmark/results/store.py": "from ..grid import plan\nimport leaderboard\n",
        "benchmark/commands/__init__.py": "",
        "benchmark/commands/run.py": "from ..cli import main\nfrom benchmark.grid import plan\nimport leaderboard\n",
        "leaderboard/__init__.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    graph = import_graph(tmp_path)
    assert import_cycles(graph) == [["benchmark.grid.job", "benchmark.grid.plan"]]
    assert graph["benchmark.commands.run"] == {"benchmark.cli", "benchmark.grid.plan", "leaderboard"}
    assert layer_violations(graph) == [
        "benchmark.errors -> benchmark.cli (benchmark may not import benchmark.cli)",
        "benchmark.results.store -> benchmark.grid.plan (benchmark.results may not import benchmark.grid)",
        "benchmark.results.store -> leaderboard (benchmark.results may not import leaderboard)",
    ]
