"""The built site in a real browser (Playwright driving the system Chromium, pages opened from file://).

Chromium: ``$MEDLT_CHROMIUM`` or ``chromium`` on PATH (Debian: ``apt-get install chromium``); never
downloaded. Without it these tests skip locally, and fail in CI (``$CI`` set), where they must run.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MEDLT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
IN_CI = bool(os.environ.get("CI"))

if not IN_CI:
    if not CHROMIUM:
        pytest.skip("no Chromium (set MEDLT_CHROMIUM or install the 'chromium' package); required when CI is set",
                    allow_module_level=True)
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


def test_main_table_sorts_and_links_work(page, board_site):
    page.goto(_url(board_site))
    assert _methods(page) == ["CE", "CE→cRW", "RW"]  # a row per method, catalog order
    groups = page.eval_on_selector_all("table.leaderboard th.dataset-group", "ths => ths.map(t => t.dataset.dataset)")
    assert groups == ["skin7", "digits-lt"]  # a column group per dataset
    assert page.locator("table.leaderboard colgroup.dataset-cols").count() == 2

    header = page.locator("table.leaderboard th[data-dataset='skin7'][data-sort-type='number']").first
    header.click()  # skin7 All: best first
    assert _methods(page) == ["CE→cRW", "CE", "RW"]
    assert header.get_attribute("aria-sort") == "descending"
    header.click()
    assert _methods(page) == ["RW", "CE", "CE→cRW"]
    page.locator("table.leaderboard th[data-sort-index='0']").click()  # by name
    assert _methods(page) == ["CE", "CE→cRW", "RW"]

    page.click("th.dataset-group[data-dataset='digits-lt'] a")
    assert page.url.endswith("/datasets/digits-lt.html")
    assert page.locator("svg.heatmap").count() == 4 and page.locator("svg.cd-diagram").count() == 1
    assert "demonstration set" in page.inner_text("h1")
    page.click("tbody tr[data-method='CE→cRW'] th a")
    assert page.url.endswith("/methods/ce-crw.html")
    assert page.inner_text("h1") == "CE→cRW" and page.locator("table.provenance tbody tr").count() == 6  # 3 seeds × 2 datasets
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
