"""Every registered method can be linked from its leaderboard page: a paper link and a source file + class."""

from __future__ import annotations

import pytest

from leaderboard.facts import method_facts
from leaderboard.site.format import safe_url
from methods.registry import method_entries
from tests import ROOT


@pytest.mark.parametrize("entry", method_entries(), ids=lambda e: e.id)
def test_every_method_links_its_paper_and_source(entry):
    facts = method_facts(entry.id)
    assert facts is not None
    assert safe_url(facts["url"]) == facts["url"] and facts["url"], f"{entry.name}: set `url` to its paper (http(s))"
    source = ROOT / facts["source"]
    assert source.is_file() and f"class {facts['class']}(" in source.read_text(encoding="utf-8")


@pytest.mark.parametrize("entry", [e for e in method_entries() if e.rebalance is not None], ids=lambda e: e.id)
def test_two_stage_rows_link_and_describe_their_stage2(entry):
    facts = method_facts(entry.id)
    assert facts is not None and safe_url(facts["stage2_url"]) == facts["stage2_url"] != ""
    text = entry.create().row_description
    assert text.endswith(f"Stage 2 ({entry.rebalance.suffix}): {entry.rebalance.stage2.description}")
