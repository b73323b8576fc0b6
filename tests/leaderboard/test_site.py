"""The static site: pages, downloads, demonstration label, significance marks, escaping, safe links."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil

import pytest

from benchmark.cli import main
from leaderboard import build_site
from leaderboard.site import SiteError, safe_url, slugify


def test_site_pages_and_downloads(board_site):
    for page in ("index.html", "paper.html", "datasets/digits-lt.html", "datasets/skin7.html", "methods/ce.html",
                 "methods/ce-crw.html", "methods/rw.html", "static/sort.js", "static/style.css"):
        assert (board_site / page).is_file(), page
    data = json.loads((board_site / "results.json").read_text())
    assert len(data["runs"]) == 18 and {c["dataset"] for c in data["cells"]} == {"digits-lt", "skin7"}
    rows = list(csv.DictReader(io.StringIO((board_site / "results.csv").read_text())))
    assert len(rows) == 18 and {"method", "seed", "mcr_all", "dataset_manifest_sha256"} <= set(rows[0])


def test_site_is_self_contained(board_site):
    for page in board_site.rglob("*.html"):
        html = page.read_text()
        resources = re.findall(r"<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)=\"([^\"]*)\"", html)
        assert resources and all(not re.match(r"^[a-z]+:|^//", r) for r in resources), (page, resources)
        assert "Content-Security-Policy" in html


def test_index_has_a_row_per_method_and_a_group_per_dataset(board_site):
    html = (board_site / "index.html").read_text()
    assert re.findall(r'<tr data-method="([^"]+)"', html) == ["CE", "CE→cRW", "RW"]
    assert re.findall(r'class="dataset-group" data-dataset="([^"]+)"', html) == ["skin7", "digits-lt"]


def test_demonstration_set_is_labelled(board_site):
    index = (board_site / "index.html").read_text()
    assert "Demonstration set:" in index and "digits-lt is a demonstration set" in index
    assert "demonstration set" in (board_site / "datasets/digits-lt.html").read_text()
    assert "Demonstration set:" not in (board_site / "datasets/skin7.html").read_text()


def test_significance_marks_against_ce(board_site):
    html = (board_site / "index.html").read_text()
    row = html[html.index('<tr data-method="CE→cRW"'):].split("</tr>")[0]
    # skin7: CE→cRW 84 ± 0.5 vs CE 80 ± 0.5 over 3 seeds: significant after Holm
    assert 'class="sig-up"' in row and "significantly better than CE" in row
    rw = html[html.index('<tr data-method="RW"'):].split("</tr>")[0]
    assert 'class="sig-down"' in rw


def test_dataset_page_has_plots_and_tests(board_site):
    html = (board_site / "datasets/digits-lt.html").read_text()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="heatmap"') == 1 + 3  # recall + 3 confusions
    assert 'class="cd-diagram"' in html and "95 % CI of the mean over seeds" in html
    assert re.search(r"\[\d+\.\d\d, \d+\.\d\d\]", html)  # bootstrap CI from the .preds.npz files
    assert "p<sub>Holm</sub>" in html


def test_method_page_has_provenance(board_site):
    html = (board_site / "methods/ce-crw.html").read_text()
    assert "two-stage, stage 2: cRW" in html and "Provenance" in html
    assert html.count("<tr><td>digits-lt</td>") == 3 and "cpu" in html


def test_paper_page_lists_reported_cells(board_site):
    html = (board_site / "paper.html").read_text()
    assert "Table 2" in html and "Table 5" in html and "83.12 ± 0.89" in html and "not run" in html


def test_user_text_is_escaped_and_unsafe_links_dropped(xss_site, xss_payloads):
    pages = {p.relative_to(xss_site).as_posix(): p.read_text() for p in xss_site.rglob("*.html")}
    for name, html in pages.items():
        for payload in xss_payloads.values():
            assert payload not in html, (name, payload)
        assert "javascript:" not in html, name
        assert not re.search(r"<img\b", html) and not re.search(r"<script>window", html), name
    method = pages["methods/xss.html"]
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in method
    assert "&lt;img src=x onerror=" in method and "&lt;svg onload=window.__xss=4&gt;" in method
    assert "1 link not shown (only http and https links are)" in method
    assert 'href="https://example.org/ce"' in pages["methods/ce.html"]
    assert "&lt;script&gt;window.__xss=5&lt;/script&gt;" in pages["datasets/skin7.html"]


@pytest.mark.parametrize("url,expected", [
    ("https://example.org/a?b=1", "https://example.org/a?b=1"), ("http://x.org", "http://x.org"),
    ("javascript:alert(1)", None), ("JavaScript:alert(1)", None), (" javascript:alert(1)", None),
    ("java\tscript:alert(1)", None), ("data:text/html,<script>", None), ("//evil.org/x", None),
    ("/relative", None), ("vbscript:x", None), ("https:/no-host", None), (None, None), (3, None),
])
def test_safe_url_keeps_only_http_links(url, expected):
    assert safe_url(url) == expected


def test_slugify_is_file_safe_and_injective():
    assert slugify("ce+sc-crw") == "ce+sc-crw"
    a, b = slugify("a/b"), slugify("a:b")
    assert a != b and "/" not in a and ":" not in b


def test_build_replaces_a_site_but_not_another_folder(board_results, tmp_path):
    out = tmp_path / "site"
    build_site(board_results, out, n_resamples=20)
    (out / "stale.html").write_text("old")
    build_site(board_results, out, n_resamples=20)
    assert not (out / "stale.html").exists() and (out / "index.html").exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    with pytest.raises(SiteError, match="refusing to replace"):
        build_site(board_results, other)
    assert (other / "notes.txt").read_text() == "keep"


def test_leaderboard_command(board_results, tmp_path, capsys):
    assert main(["leaderboard", "--results", str(board_results), "--out", str(tmp_path / "s"), "--resamples", "20"]) == 0
    assert "open file://" in capsys.readouterr().out and (tmp_path / "s/index.html").exists()
    assert main(["leaderboard", "--results", str(tmp_path / "none"), "--out", str(tmp_path / "s")]) == 2


def test_run_writes_the_site_next_to_the_results(smoke_results, cache_dir, tmp_path, capsys):
    root = tmp_path / "results"
    shutil.copytree(smoke_results, root, ignore=shutil.ignore_patterns(".stage1"))
    argv = ["run", "--dataset", "digits-lt", "--method", "CE", "--method", "ce-crw", "--method", "rw", "--protocol", "smoke", "--results",
            str(root), "--cache-dir", str(cache_dir), "--device", "cpu", "--quiet"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "9 already done" in err and f"leaderboard site: open {(tmp_path / 'site/index.html').as_uri()}" in err
    assert main(argv + ["--no-site", "--site", str(tmp_path / "other")]) == 0
    assert not (tmp_path / "other").exists()


def test_index_ranks_methods_across_datasets(board_site):
    html = (board_site / "index.html").read_text()
    # 3 methods on 2 datasets: average ranks, Friedman, Nemenyi CD (q_0.05(3) · sqrt(3·4 / (6·2)) = 2.34) and its diagram
    assert "over 2 datasets" in html and "Friedman χ² =" in html and "CD = 2.34" in html
    assert 'class="cd-diagram"' in html and "Pairwise Nemenyi p-values" in html
