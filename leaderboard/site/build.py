"""Build the site: load and check the runs, compute the model once, render every page into a new folder and
swap it in for the old site, never over a folder this tool did not write. Layout: docs/architecture.md."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from benchmark import __version__
from benchmark.files import set_default_dir_mode
from benchmark.results.store import ResultFileError, predictions_path, read_predictions
from benchmark.results.validate import load_checked

from .. import facts
from .dataset_page import dataset_context
from .downloads import results_csv, results_json
from .format import number, p_equals, p_value, safe_url, sort_value
from .index_page import index_context
from .method_page import method_context
from .model import SiteModel, build_model
from .paper_page import paper_context
from .runs import Loaded

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES = PACKAGE_DIR / "templates"
STATIC = PACKAGE_DIR / "static"
MARKER = ".medlt-site"


class SiteError(ValueError):
    """The site cannot be built (malformed results, an output folder that is not a site)."""


def build_site(
    results_dir: str | Path,
    out_dir: str | Path,
    *,
    tolerance: float = 1.0,
    dataset_facts: Callable[[str], dict[str, Any]] | None = None,
    method_facts: Callable[[str], dict[str, Any] | None] | None = None,
    replace_other_results: bool = True,
) -> Path:
    """Write the site for ``results_dir`` into ``out_dir`` (replaced atomically); returns ``index.html``.

    ``out_dir`` must be absent, empty or a site this tool wrote (its :data:`MARKER` file); with
    ``replace_other_results=False`` (a default location the user did not name) also one written
    from ``results_dir``. ``dataset_facts`` / ``method_facts`` default to the registries
    (:mod:`leaderboard.facts`): they say which datasets are demonstration sets and add a
    registered method's reference and defaults.
    """
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    if not results_dir.is_dir():
        raise SiteError(f"results directory {results_dir} not found")
    check_replaceable(out_dir, results_dir, replace_other_results)
    model = build_model(
        load_runs(results_dir),
        tolerance,
        dataset_facts or facts.dataset_facts,
        method_facts or facts.method_facts,
        results_dir,
    )
    check_predictions(model)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        set_default_dir_mode(tmp)  # mkdtemp makes 0700: a published site must follow the umask
        write_pages(model, tmp, marker_text(results_dir))
        check_replaceable(out_dir, results_dir, replace_other_results)  # again: it may have appeared meanwhile
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir / "index.html"


# -- the runs -----------------------------------------------------------------------------
def load_runs(results_dir: Path) -> list[Loaded]:
    """Every result file, through the checks every reader applies (:func:`benchmark.results.validate.load_checked`);
    a broken one refuses the site (a published table must hold every run)."""
    try:
        return [Loaded(path, result) for path, result in load_checked(results_dir)]
    except ResultFileError as e:
        raise SiteError(str(e)) from None


def check_predictions(model: SiteModel) -> None:
    """Read the predictions file of every run shown, in page order: a missing, outside or broken one is a
    :class:`SiteError` naming the file (a published cell must hold its runs)."""
    for section in model.sections.values():
        for method in model.methods:
            for r in model.runs_of(section.column.cell(method)):
                if not r.result.predictions_file:
                    continue
                try:
                    read_predictions(predictions_path(r.path, r.result.predictions_file, model.root))
                except ResultFileError as e:
                    raise SiteError(str(e)) from None


# -- replace-safety -----------------------------------------------------------------------
def marker_text(results_dir: Path) -> str:
    """The :data:`MARKER` file: this tool wrote the folder, which version, from which results directory."""
    return (
        json.dumps(
            {"generator": "medlt-bench", "version": __version__, "results": str(results_dir.resolve())}, indent=1
        )
        + "\n"
    )


def marked_results(out_dir: Path) -> str | None:
    """The results directory a marked site was built from (None for a site marked before it was recorded)."""
    try:
        value = json.loads((out_dir / MARKER).read_text(encoding="utf-8")).get("results")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def check_replaceable(out_dir: Path, results_dir: Path, replace_other_results: bool) -> None:
    """Refuse to replace anything but an empty folder or a site this tool wrote (and, unless
    ``replace_other_results``, one it wrote from ``results_dir``)."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / MARKER).is_file()):
        raise SiteError(f"{out_dir} exists and is not a leaderboard site (no {MARKER} file); refusing to replace it")
    source = marked_results(out_dir) if (out_dir / MARKER).is_file() else None
    if not replace_other_results and source is not None and source != str(results_dir.resolve()):
        raise SiteError(
            f"{out_dir} holds the site of {source}, not of {results_dir}; name the site folder to "
            "write (--site DIR, in run and leaderboard) to replace it or to write elsewhere"
        )


# -- the pages ----------------------------------------------------------------------------
def write_pages(model: SiteModel, out: Path, marker: str) -> None:
    """Every page, the static files, the method sources and the downloads of ``model`` into ``out``."""
    env = _environment()

    def render(path: Path, template: str, root: str, context: dict[str, Any]) -> None:
        page = env.get_template(template).render(**context, **_common(model, root))
        path.write_text(page, encoding="utf-8")

    (out / "static").mkdir(parents=True)
    for f in STATIC.iterdir():
        if f.is_file():
            shutil.copyfile(f, out / "static" / f.name)
    (out / MARKER).write_text(marker, encoding="utf-8")
    render(out / "index.html", "index.html", "", index_context(model))
    (out / "datasets").mkdir()
    for d in model.datasets:
        render(out / "datasets" / f"{model.dataset_slug[d]}.html", "dataset.html", "../", dataset_context(model, d))
    (out / "methods").mkdir()
    for m in model.methods:
        render(out / "methods" / f"{model.method_slug[m]}.html", "method.html", "../", method_context(model, m))
    render(out / "paper.html", "paper.html", "", paper_context(model))
    copy_sources(model, out / "source")
    (out / "results.json").write_text(results_json(model), encoding="utf-8")
    (out / "results.csv").write_text(results_csv(model), encoding="utf-8")


def copy_sources(model: SiteModel, out: Path) -> None:
    """The source file of every registered method shown, as text (its page links there)."""
    for method_facts in model.method_facts.values():
        if method_facts and method_facts.get("source") and Path(method_facts["source_path"]).is_file():
            target = out / f"{method_facts['source']}.txt"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(method_facts["source_path"], target)


def _common(model: SiteModel, root: str) -> dict[str, Any]:
    """What every page shows around its content: the navigation and the footer's counts."""
    return {
        "root": root,
        "version": __version__,
        "n_runs": len(model.runs),
        "n_failed": len(model.failed),
        "nav_datasets": [
            {"name": d, "slug": model.dataset_slug[d], "demo": model.dataset_facts[d]["demo"]} for d in model.datasets
        ],
    }


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=select_autoescape(("html", "htm", "xml", "svg"), default_for_string=True, default=True),
    )
    env.filters["safe_url"] = safe_url
    env.filters["num"] = number
    env.filters["pval"] = p_value
    env.filters["peq"] = p_equals
    env.filters["sortvalue"] = sort_value
    return env
