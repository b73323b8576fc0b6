"""The built site in a real browser (Playwright driving the system Chromium, pages opened from file://).

Chromium: ``$MEDLT_CHROMIUM`` or ``chromium`` on PATH (Debian: ``apt-get install chromium``); never
downloaded. Without it these tests skip locally, and fail in CI (``$CI`` set), where they must run.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MEDLT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
IN_CI = bool(os.environ.get("CI"))

if not IN_CI:
    if not CHROMIUM:
        pytest.skip(
            "no Chromium (set MEDLT_CHROMIUM or install the 'chromium' package); required when CI is set",
            allow_module_level=True,
        )
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        pytest.fail("CI is set but no Chromium was found: install it or point MEDLT_CHROMIUM at it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context()
    pg = context.new_page()
    pg.errors = []  # console errors and uncaught exceptions
    pg.on("console", lambda m: pg.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(f"pageerror: {e}"))
    yield pg
    context.close()


def _url(site: Path, page: str = "index.html") -> str:
    return (site / page).resolve().as_uri()


def _methods(page) -> list[str]:
    return page.eval_on_selector_all("table.leaderboard tbody tr", "rows => rows.map(r => r.dataset.method)")


# Every <svg> in the page: drawn with a size, with drawn content, and no text outside its box (labels not cut).
SVG_REPORT = """() => Array.from(document.querySelectorAll('main svg')).map(svg => {
  const box = svg.getBoundingClientRect();
  const content = svg.getBBox();
  const outside = Array.from(svg.querySelectorAll('text')).filter(t => {
    const r = t.getBoundingClientRect();
    return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1 ||
                           r.top < box.top - 1 || r.bottom > box.bottom + 1);
  }).map(t => t.textContent);
  return {cls: svg.getAttribute('class'), width: box.width, height: box.height, drawn: content.width * content.height,
          shapes: svg.querySelectorAll('rect, circle, line, polyline, path').length, outside: outside};
})"""


def _check_plots(page, expected: dict[str, int]) -> None:
    """Every plot renders (non-empty) and the page has at least ``expected[class]`` plots of each class."""
    svgs = page.evaluate(SVG_REPORT)
    for svg in svgs:
        assert svg["width"] > 0 and svg["height"] > 0 and svg["drawn"] > 0 and svg["shapes"] > 0, svg
        assert svg["outside"] == [], svg
    classes = [s["cls"] for s in svgs]
    for cls, n in expected.items():
        assert classes.count(cls) >= n, (cls, classes)


def _seed_counts(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(
        selector, "cells => cells.map(c => (c.querySelector('small.n') || {}).textContent)"
    )


def test_index_opens_sorted_with_seed_counts_and_sorts(page, board_site):
    page.goto(_url(board_site))
    assert _methods(page) == ["CE→cRW", "RW", "CE"]  # by average rank over skin7 and xray9 (the demo is not ranked)
    rank = page.locator("table.leaderboard th[data-sort-index='1']")
    assert rank.get_attribute("aria-sort") == "ascending"
    groups = page.eval_on_selector_all("table.leaderboard th.dataset-group", "ths => ths.map(t => t.dataset.dataset)")
    assert groups == ["skin7", "xray9", "digits-lt"]  # a column group per dataset
    counts = _seed_counts(page, "table.leaderboard tbody td:not(:first-of-type)")
    assert counts and all(c in ("n=2", "n=3") for c in counts)  # a seed count in every mean cell
    assert page.locator("table.leaderboard td.best").count() > 0
    assert all(
        c.startswith(("mean over 3 seeds", "average rank"))
        for c in page.eval_on_selector_all("table.leaderboard td.best", "tds => tds.map(t => t.title)")
    )

    header = page.locator("table.leaderboard th[data-dataset='skin7'][data-sort-type='number']").first
    header.click()  # skin7 All: best first
    assert _methods(page) == ["CE→cRW", "CE", "RW"]
    assert header.get_attribute("aria-sort") == "descending" and rank.get_attribute("aria-sort") == "none"
    header.click()
    assert _methods(page) == ["RW", "CE", "CE→cRW"]
    page.locator("table.leaderboard th[data-sort-index='0']").click()  # by name
    assert _methods(page) == ["CE", "CE→cRW", "RW"]
    _check_plots(page, {"cd-diagram": 1})
    assert page.errors == []


def test_dataset_page_plots_render(page, board_site):
    page.goto(_url(board_site))
    page.click("th.dataset-group[data-dataset='digits-lt'] a")
    assert page.url.endswith("/datasets/digits-lt.html")
    assert "demonstration set" in page.inner_text("h1")
    rows = page.eval_on_selector_all(
        "section.slice table.sortable:not(.extra-metrics) tbody tr", "rows => rows.map(r => r.dataset.method)"
    )
    means = page.eval_on_selector_all(
        "section.slice table.sortable:not(.extra-metrics) tbody tr td:nth-of-type(2)",
        "tds => tds.map(t => parseFloat(t.dataset.value))",
    )
    assert len(rows) == 3 and means == sorted(means, reverse=True)  # opens sorted by All-MCR
    assert (
        _seed_counts(page, "section.slice table.sortable:not(.extra-metrics) tbody tr td:nth-of-type(2)") == ["n=3"] * 3
    )
    _check_plots(
        page, {"heatmap": 4, "cd-diagram": 1, "plot recall-vs-count": 1, "plot group-bars": 1, "plot seed-dots": 3}
    )
    # the metrics beyond MCR: a column per metric, a seed count in every cell
    headers = page.eval_on_selector_all("table.extra-metrics th[data-sort-index]", "ths => ths.map(t => t.innerText)")
    assert headers[0] == "Method" and any(h.startswith("ECE (%, lower is better)") for h in headers)
    assert set(_seed_counts(page, "table.extra-metrics tbody td")) == {"n=3"}
    assert page.errors == []


def test_each_difference_interval_agrees_with_its_mark(page, board_site):
    """On every dataset page, a vs-CE cell is marked (▲/▼ colour) exactly when its shown interval excludes 0,
    a vs-best cell exactly when its interval lies below 0, and the row's ▲/▼ beside the mean says the same."""
    checked = 0
    for name in ("digits-lt", "skin7", "xray9"):
        page.goto(_url(board_site, f"datasets/{name}.html"))
        cells = page.eval_on_selector_all(
            "td[data-versus]",
            """tds => tds.map(t => ({versus: t.dataset.versus, low: parseFloat(t.dataset.low),
                high: parseFloat(t.dataset.high), direction: parseInt(t.dataset.direction), cls: t.className,
                text: t.innerText, row: t.closest('tr').innerText}))""",
        )
        assert cells, name
        for c in cells:
            if math.isnan(c["low"]):  # no seed spread: no test, no interval, no mark
                assert c["direction"] == 0 and "no test" in c["text"], c
                continue
            shown = [float(x) for x in c["text"].split("[")[1].split("]")[0].split(",")]
            assert shown[0] <= shown[1]
            if c["versus"] == "baseline":
                excludes = c["low"] > 0 or c["high"] < 0
                assert (c["direction"] != 0) == excludes, c
                assert ("sig-up" in c["cls"]) == (c["direction"] > 0) and ("sig-down" in c["cls"]) == (
                    c["direction"] < 0
                )
                assert (("▲" in c["row"]) == (c["direction"] > 0)) and (("▼" in c["row"]) == (c["direction"] < 0)), c
            else:
                assert (c["direction"] < 0) == (c["high"] < 0), c
            checked += 1
    assert checked >= 6
    assert page.errors == []


def test_method_page_and_paper_page(page, board_site):
    page.goto(_url(board_site, "datasets/digits-lt.html"))
    page.click("tbody tr[data-method='CE→cRW'] th a")
    assert page.url.endswith("/methods/ce-crw.html")
    assert page.inner_text("h1") == "CE→cRW" and page.locator("table.provenance tbody tr").count() == 9  # 3 datasets
    assert set(_seed_counts(page, "table.sortable:not(.extra-metrics) tbody td:nth-of-type(4)")) == {"n=3"}
    page.click("dd.source a")
    assert page.url.endswith("/source/methods/catalog/ce.py.txt") and "class CE(Method)" in page.inner_text("body")
    page.goto(_url(board_site, "paper.html"))
    assert page.locator("table.paper-grid").count() == 4  # Tables 2-5
    assert page.locator("table.paper-grid[data-source='Table 2'] tbody tr").count() == 21
    assert page.locator("ol.reasons li").count() > 0
    _check_plots(page, {})
    assert page.errors == []


def test_every_page_loads_without_console_errors(page, board_site):
    for html in sorted(board_site.rglob("*.html")):
        page.goto(html.resolve().as_uri())
        assert page.locator("main").count() == 1, html
        # the sort script ran on every page with a sortable table
        if page.locator("table.sortable").count():
            assert page.locator("th[aria-sort]").count() > 0, html
    assert page.errors == []


def test_payloads_render_as_inert_text(page, xss_site, xss_payloads):
    for name in ("index.html", "methods/xss.html", "datasets/skin7.html", "paper.html"):
        page.goto(_url(xss_site, name))
        page.wait_for_load_state("load")
        assert page.evaluate("() => window.__xss") is None, name
        assert page.locator("a[href^='javascript:' i]").count() == 0, name
        assert page.locator("main img, main script, main svg[onload]").count() == 0, name
    page.goto(_url(xss_site, "methods/xss.html"))
    assert page.inner_text("h1") == xss_payloads["name"]  # shown as text
    assert page.inner_text("dd.description") == xss_payloads["description"]
    assert page.inner_text("dd.reference") == xss_payloads["reference"]
    assert page.errors == []
