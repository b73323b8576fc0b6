"""Where the site goes: never over a folder it did not write, nor, unasked, over another results' site."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from benchmark import __version__
from benchmark.cli import main
from leaderboard import build_site
from leaderboard.site import MARKER


def _marker(site: Path) -> dict:
    return json.loads((site / MARKER).read_text())


# 4 -- the default site location --------------------------------------------------------------------
def test_default_site_location_keeps_a_site_of_other_results(
    board_results, smoke_results, cache_dir, tmp_path, capsys, monkeypatch
):
    site = tmp_path / "site"
    assert main(["leaderboard", "--results", str(board_results), "--site", str(site)]) == 0
    assert _marker(site) == {
        "generator": "medlt-bench",
        "version": __version__,
        "results": str(board_results.resolve()),
    }
    before = (site / "index.html").read_text()
    mine = tmp_path / "results"  # another results directory: its default site is tmp_path/site too
    shutil.copytree(smoke_results, mine, ignore=shutil.ignore_patterns(".stage1"))
    capsys.readouterr()
    argv = [
        "run",
        "--dataset",
        "digits-lt",
        "--method",
        "CE",
        "--protocol",
        "smoke",
        "--results",
        str(mine),
        "--cache-dir",
        str(cache_dir),
        "--device",
        "cpu",
        "--quiet",
    ]
    assert main(argv) == 0  # the runs are fine; only the site is not written
    err = capsys.readouterr().err
    assert f"warning: leaderboard site not written: {site} holds the site of {board_results.resolve()}" in err, err
    assert (site / "index.html").read_text() == before and _marker(site)["results"] == str(board_results.resolve())
    monkeypatch.chdir(tmp_path)  # `leaderboard` without --site writes ./site: the same guard
    assert main(["leaderboard", "--results", str(mine)]) == 2
    assert f"error: site holds the site of {board_results.resolve()}" in capsys.readouterr().err
    assert (site / "index.html").read_text() == before
    assert main(argv + ["--site", str(site)]) == 0  # named explicitly: replaced, and said where it went
    assert f"leaderboard site: open {(site / 'index.html').as_uri()}" in capsys.readouterr().err
    assert _marker(site)["results"] == str(mine.resolve())
    assert main(argv) == 0 and _marker(site)["results"] == str(mine.resolve())  # its own site: replaced
    assert "leaderboard site: open" in capsys.readouterr().err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site")]  # no temporary left behind
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep")
    assert main(argv + ["--site", str(user)]) == 0
    assert f"{user} exists and is not a leaderboard site" in capsys.readouterr().err
    assert (user / "notes.txt").read_text() == "keep" and not (user / MARKER).exists()


# 5 -- the site follows the umask, so it can be served ---------------------------------------------------
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_site_honours_the_umask(umask, board_results, tmp_path):
    old = os.umask(umask)
    try:
        build_site(board_results, tmp_path / "site")
    finally:
        os.umask(old)
    site = tmp_path / "site"
    for d in (site, site / "datasets", site / "static"):
        assert d.stat().st_mode & 0o777 == 0o777 & ~umask, d
    for f in (site / "index.html", site / MARKER, site / "static" / "sort.js"):
        assert f.stat().st_mode & 0o777 == 0o666 & ~umask, f
