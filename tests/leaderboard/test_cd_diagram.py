"""The critical-difference diagram: its cliques of methods not significantly different, and escaped names."""

from __future__ import annotations

from benchmark.analysis.stats import cliques
from leaderboard.site.cd_diagram import cd_diagram_svg


def test_cliques_and_cd_diagram_svg_escapes_names():
    ranks = {"A": 1.0, "B": 1.5, "C": 3.2, "<script>x</script>": 3.4}
    assert cliques(ranks, 1.0) == [["A", "B"], ["C", "<script>x</script>"]]
    assert cliques(ranks, None) == []
    svg = cd_diagram_svg(ranks, 1.0, title="t & <b>")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script>" not in svg and "&lt;script&gt;x&lt;/script&gt;" in svg and "t &amp; &lt;b&gt;" in svg
    assert "CD = 1.00" in svg and svg.count('stroke-width="4"') == 2
    assert "no complete ranking" in cd_diagram_svg({}, None)
