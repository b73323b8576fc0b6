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
from leaderboard.site import SiteError
from leaderboard.site.format import safe_url, slugify


def test_site_pages_and_downloads(board_site):
    for page in (
        "index.html",
        "paper.html",
        "datasets/digits-lt.html",
        "datasets/skin7.html",
        "methods/ce.html",
        "methods/ce-crw.html",
        "methods/rw.html",
        "static/sort.js",
        "static/style.css",
    ):
        assert (board_site / page).is_file(), page
    data = json.loads((board_site / "results.json").read_text())
    assert len(data["runs"]) == 26 and {c["dataset"] for c in data["cells"]} == {"digits-lt", "skin7", "xray9"}
    rows = list(csv.DictReader(io.StringIO((board_site / "results.csv").read_text())))
    assert len(rows) == 26 and {"method", "seed", "mcr_all", "dataset_manifest_sha256"} <= set(rows[0])


def test_site_is_self_contained(board_site):
    for page in board_site.rglob("*.html"):
        html = page.read_text()
        resources = re.findall(r"<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)=\"([^\"]*)\"", html)
        assert resources and all(not re.match(r"^[a-z]+:|^//", r) for r in resources), (page, resources)
        assert "Content-Security-Policy" in html


def _row(html: str, method: str) -> str:
    return html[html.index(f'<tr data-method="{method}"') :].split("</tr>")[0]


def _board(html: str) -> str:
    return html[html.index('<table class="sortable leaderboard"') :].split("</table>")[0]


def test_index_has_a_row_per_method_and_a_group_per_dataset(board_site):
    html = (board_site / "index.html").read_text()
    # rows open sorted by the average rank over the ranked datasets (skin7, xray9): 1.5, 2.0, 2.5
    assert re.findall(r'<tr data-method="([^"]+)"', _board(html)) == ["CE→cRW", "RW", "CE"]
    assert re.search(r'data-sort-index="1" data-sort-type="rank" aria-sort="ascending"', html)
    assert re.findall(r'class="dataset-group" data-dataset="([^"]+)"', html) == ["skin7", "xray9", "digits-lt"]


def test_every_index_cell_shows_its_seed_count(board_site):
    html = (board_site / "index.html").read_text()
    for method in ("CE", "CE→cRW", "RW"):
        cells = re.findall(r'<td data-value="[^"]+"[^>]*>(.*?)</td>', _row(html, method))
        numeric = cells[1:]  # the first is the average rank
        assert numeric and all(re.search(r'<small class="n">n=\d</small>', c) for c in numeric), (method, cells)
    assert _row(html, "RW").count("n=2") == 3  # xray9 All, Major, Minor


def test_no_best_mark_with_fewer_than_three_seeds(board_site):
    html = (board_site / "index.html").read_text()
    rw, crw = _row(html, "RW"), _row(html, "CE→cRW")
    # xray9 All: RW has the highest mean (60) from 2 seeds: not bold; CE→cRW (55, 3 seeds) is
    rw_xray = re.findall(r'<td data-value="60\.0" title="mean over 2 seeds[^"]*" class="([^"]*)"', rw)
    assert rw_xray == [""]
    assert re.search(r'<td data-value="55\.0" title="mean over 3 seeds[^"]*" class="best"', crw)


def test_demonstration_set_is_not_ranked(board_site):
    html = (board_site / "index.html").read_text()
    assert "over 2 datasets" in html and "demonstration sets are not ranked: digits-lt" in html


def test_bayesian_signed_rank_against_ce_on_the_index(board_site):
    """CE→cRW beats CE by 4 and 5 pp on the two ranked datasets: with 2 blocks and a 1 pp rope the
    posterior gives P(better) = P(w0² < 1/2), w0 ~ Beta(0.5, 2): 0.96; RW (−10, +10) is inconclusive."""
    html = (board_site / "index.html").read_text()
    table = html[html.index('<table class="bayes">') :].split("</table>")[0]
    assert re.search(r"CE→cRW better \(P = 0\.9[5-7]\)", _row(table, "CE→cRW"))
    assert "inconclusive" in _row(table, "RW") and "±1.0 pp" in html


def test_demonstration_set_is_labelled(board_site):
    index = (board_site / "index.html").read_text()
    assert "Demonstration set:" in index and "digits-lt is a demonstration set" in index
    assert "demonstration set" in (board_site / "datasets/digits-lt.html").read_text()
    assert "Demonstration set:" not in (board_site / "datasets/skin7.html").read_text()


def test_significance_marks_against_ce(board_site):
    html = (board_site / "index.html").read_text()
    row = _row(html, "CE→cRW")
    # skin7: CE→cRW 84 ± 0.5 vs CE 80 ± 0.5 over 3 seeds: the interval of the difference excludes 0
    assert 'class="sig-up"' in row and "better than CE: difference +4.00, 95 % interval" in row
    rw = _row(html, "RW")
    assert 'class="sig-down"' in rw


def test_dataset_page_has_plots_and_tests(board_site):
    html = (board_site / "datasets/digits-lt.html").read_text()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="heatmap"') == 1 + 3  # recall + 3 confusions
    assert 'class="cd-diagram"' in html and "95 % interval of the expected All-MCR" in html
    assert re.search(r"\[\d+\.\d, \d+\.\d\]", html)  # the interval of each cell's expected score
    assert re.search(r"<small>\[[+-]\d+\.\d, [+-]\d+\.\d\]( paired)?</small>", html)  # each difference's interval
    assert "What a mark and an interval mean" in html
    assert html.count('class="plot recall-vs-count"') == 1 and html.count('class="plot group-bars"') == 1
    assert html.count('class="plot seed-dots"') == 3 and html.count("<circle cx=") >= 9
    assert html.count("(sum over 3 seeds)") == 3 and "summed over seeds" in html
    assert "Iman–Davenport F(2, 4)" in html and "exact permutation distribution" in html


def test_dataset_page_rows_sorted_by_mean_and_classes_by_training_count(board_site):
    html = (board_site / "datasets/digits-lt.html").read_text()
    means = [
        float(v)
        for v in re.findall(
            r'<tr data-method="[^"]+">\s*<th[^>]*>.*?</th>\s*<td[^>]*>\d+</td>\s*'
            r'<td data-value="([^"]+)"',
            html,
            flags=re.S,
        )
    ]
    assert len(means) == 3 and means == sorted(means, reverse=True)
    heat = html[html.index('class="heatmap"') :].split("</svg>")[0]
    counts = [int(c) for c in re.findall(r'font-size="9">(?:maj |med |min )?(\d+)</text>', heat)]
    assert len(counts) >= 2 and counts == sorted(counts, reverse=True)


def test_long_class_names_are_not_cut(tmp_path, synthetic_result):
    """The heat map's viewBox leaves room for a 60-character class name drawn at −45°."""
    from leaderboard.site.svg import CHAR_W, heatmap_svg

    long = "x" * 60
    svg = str(heatmap_svg([[50.0, 60.0]], ["CE"], [long, "b"], "t"))
    width, height = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
    x, y = (float(v) for v in re.search(r'<text x="([\d.]+)" y="([\d.]+)" transform="rotate\(-45', svg).groups())
    run = CHAR_W * 60 / 2**0.5
    assert y - run >= 0 and x + run <= width  # the label's far end lies inside the picture


def test_method_page_links_source_and_paper(board_site):
    html = (board_site / "methods/ce-crw.html").read_text()
    assert 'href="../source/methods/catalog/ce.py.txt"' in html and "class <code>CE</code>" in html
    assert (board_site / "source/methods/catalog/ce.py.txt").read_text().count("class CE(Method)") == 1
    assert 'href="https://arxiv.org/abs/2110.14795"' in html


def test_user_method_page_names_its_file_hash(tmp_path, synthetic_result):
    root = tmp_path / "results"
    for seed in range(3):
        synthetic_result(
            root,
            dataset="skin7",
            method="Mine",
            method_id="mine",
            seed=seed,
            metrics={"mcr_all": 70.0, "mcr_major": 75.0, "mcr_minor": 65.0},
            method_source_sha256="c" * 64,
        )
    build_site(root, tmp_path / "site")
    html = (tmp_path / "site/methods/mine.html").read_text()
    assert "a user's method file" in html and "c" * 64 in html and "../source/" not in html


def test_method_page_has_provenance(board_site):
    html = (board_site / "methods/ce-crw.html").read_text()
    assert "two-stage, stage 2: cRW" in html and "Provenance" in html
    assert re.search(r'<code class="stage2-settings">\{[^<]*&#34;kind&#34;: &#34;reweight&#34;', html)
    assert html.count("<tr><td>digits-lt</td>") == 3 and "cpu" in html


def test_paper_page_is_the_papers_grid(board_site):
    html = (board_site / "paper.html").read_text()
    assert "Table 2" in html and "Table 5" in html and "83.12 ± 0.89" in html
    table2 = html[html.index('data-source="Table 2"') :].split("</table>")[0]
    # datasets × metrics as columns, one row per method of the paper's Table 2
    assert re.findall(r'class="dataset-group">([^<]+)<', table2) == ["skin7", "xray9", "pathmnist-lt"]
    assert table2.count("<tr data-method=") == 21
    # the board's skin7 runs are test_resnet, not the paper's ResNet-50: every cell says why it is not run
    reasons = html[html.index('data-source="Table 2"') :].split("</ol>")[0]
    assert "not run: no resnet50 runs on skin7 (the results have test_resnet)" in reasons
    assert "not run: no pathmnist-lt runs in the results directory" in reasons
    assert html.count("9,500") == 0


def test_paper_page_shows_verdicts_and_the_scatter(tmp_path, synthetic_result):
    """A reproduction of Table 2's CE on skin7 (83.12 ± 0.89): consistent; CE→cRW 5 pp under 84.11: differs."""
    root = tmp_path / "results"
    for seed, d in enumerate((-0.9, 0.0, 0.9)):
        synthetic_result(
            root,
            dataset="skin7",
            method="CE",
            seed=seed,
            metrics={"mcr_all": 83.12 + d, "mcr_major": 85.09 + d, "mcr_minor": 80.06 + d},
        )
        synthetic_result(
            root,
            dataset="skin7",
            method="CE→cRW",
            seed=seed,
            metrics={"mcr_all": 79.11 + d, "mcr_major": 85.08 + d, "mcr_minor": 82.67 + d},
        )
    build_site(root, tmp_path / "site")
    html = (tmp_path / "site/paper.html").read_text()
    table2 = html[html.index('data-source="Table 2"') :].split("</table>")[0]
    ce = table2[table2.index('<tr data-method="CE">') :].split("</tr>")[0]
    crw = table2[table2.index('<tr data-method="CE→cRW">') :].split("</tr>")[0]
    assert ce.count('class="verdict verdict-ok">consistent') == 3  # All, Major, Minor
    assert '<td class="verdict-fail">' in crw and "differs" in crw
    assert 'class="plot reported-vs-reproduced"' in html and html.count("<circle") >= 6 + 3
    # the hint states each metric's widest band as check uses it (benchmark.analysis.reproduction.MAX_BANDS)
    assert "the allowed band is wider than 5 pp (10 pp in minor MCR" in html


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


@pytest.mark.parametrize(
    "url,expected",
    [
        ("https://example.org/a?b=1", "https://example.org/a?b=1"),
        ("http://x.org", "http://x.org"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        (" javascript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("//evil.org/x", None),
        ("/relative", None),
        ("vbscript:x", None),
        ("https:/no-host", None),
        (None, None),
        (3, None),
    ],
)
def test_safe_url_keeps_only_http_links(url, expected):
    assert safe_url(url) == expected


def test_slugify_is_file_safe_and_injective():
    assert slugify("ce+sc-crw") == "ce+sc-crw"
    a, b = slugify("a/b"), slugify("a:b")
    assert a != b and "/" not in a and ":" not in b


def test_build_replaces_a_site_but_not_another_folder(board_results, tmp_path):
    out = tmp_path / "site"
    build_site(board_results, out)
    (out / "stale.html").write_text("old")
    build_site(board_results, out)
    assert not (out / "stale.html").exists() and (out / "index.html").exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    with pytest.raises(SiteError, match="refusing to replace"):
        build_site(board_results, other)
    assert (other / "notes.txt").read_text() == "keep"


def test_leaderboard_command(board_results, tmp_path, capsys):
    assert main(["leaderboard", "--results", str(board_results), "--site", str(tmp_path / "s")]) == 0
    assert "open file://" in capsys.readouterr().out and (tmp_path / "s/index.html").exists()
    assert main(["leaderboard", "--results", str(tmp_path / "none"), "--site", str(tmp_path / "s")]) == 2


def test_leaderboard_command_deprecated_out_still_writes_the_site(board_results, tmp_path, capsys):
    assert main(["leaderboard", "--results", str(board_results), "--out", str(tmp_path / "s")]) == 0
    out, err = capsys.readouterr()
    assert err == "note: --out is deprecated; use --site (same meaning)\n"
    assert f"leaderboard site written to {tmp_path / 's'}" in out and (tmp_path / "s/index.html").exists()


def test_run_writes_the_site_next_to_the_results(smoke_results, cache_dir, tmp_path, capsys):
    root = tmp_path / "results"
    shutil.copytree(smoke_results, root, ignore=shutil.ignore_patterns(".stage1"))
    argv = [
        "run",
        "--dataset",
        "digits-lt",
        "--method",
        "CE",
        "--method",
        "ce-crw",
        "--method",
        "rw",
        "--protocol",
        "smoke",
        "--results",
        str(root),
        "--cache-dir",
        str(cache_dir),
        "--device",
        "cpu",
        "--quiet",
    ]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "9 already done" in err and f"leaderboard site: open {(tmp_path / 'site/index.html').as_uri()}" in err
    assert main(argv + ["--no-site", "--site", str(tmp_path / "other")]) == 0
    assert not (tmp_path / "other").exists()


def test_index_ranks_methods_across_datasets(board_site):
    html = (board_site / "index.html").read_text()
    # 3 methods on 2 datasets: average ranks, Friedman, Nemenyi CD (q_0.05(3) · sqrt(3·4 / (6·2)) = 2.34), diagram
    assert "over 2 datasets" in html and "Friedman χ² =" in html and "CD = 2.34" in html
    assert 'class="cd-diagram"' in html and "Pairwise Nemenyi p-values" in html


def test_metrics_beyond_mcr_on_dataset_and_method_pages(board_site, board_results):
    """Accuracy, macro-F1, AUC, ECE, NLL: mean over the seeds of the result files, with n, on both pages."""
    from benchmark.results.reader import load_results, results_frame

    frame = results_frame(load_results(board_results))
    ce = frame[(frame["dataset"] == "digits-lt") & (frame["method"] == "CE")]
    dataset = (board_site / "datasets/digits-lt.html").read_text()
    method = (board_site / "methods/ce.html").read_text()
    for html in (dataset, method):
        table = html[html.index('<table class="sortable extra-metrics">') :].split("</table>")[0]
        for label in (
            "Accuracy (%)",
            "Macro F1 (%)",
            "Macro AUC (%)",
            "ECE (%, lower is better)",
            "NLL (nats, lower is better)",
        ):
            assert label in table, label
        row = table[table.index("digits-lt" if html is method else 'data-method="CE"') :].split("</tr>")[0]
        for name in ("accuracy", "macro_f1", "macro_auc", "ece", "nll"):
            assert f'data-value="{float(ce[name].mean())!r}"' in row, name
        assert row.count("n=3") >= 5


def test_seed_cd_names_the_methods_it_leaves_out_and_pairing_is_stated_honestly(board_site):
    """xray9's RW has 2 of 3 seeds: the seed-blocked rank test drops it, and the page names it."""
    html = (board_site / "datasets/xray9.html").read_text()
    assert "not in the diagram (not run with every seed): RW" in html
    assert "the runs of one seed are paired (the same seed draws" not in html  # the old, wrong claim
    assert "only runs that share a stage-1 checkpoint are really paired by seed" in html
