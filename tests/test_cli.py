"""The command line: errors are one line listing valid names; run -> JSON -> table; report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "argv,names",
    [
        (["run", "--all", "--dataset", "no-such-set"], ["digits-lt", "pathmnist-lt"]),
        (["run", "--method", "no-such-method"], ["ce", "ce-crw", "rw"]),
        (["run", "--all", "--protocol", "no-such-protocol"], ["paper", "quick", "smoke"]),
    ],
)
def test_unknown_name_is_a_one_line_error_listing_valid_names(argv, names, capsys, tmp_path):
    assert main(argv + ["--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: unknown")
    for n in names:
        assert n in err


def test_run_without_methods_is_an_error(capsys, tmp_path):
    assert main(["run", "--results", str(tmp_path)]) == 2
    assert "--all" in capsys.readouterr().err


def test_run_then_report(cache_dir, tmp_path, capsys):
    """With no --dataset, ``run`` trains on the embedded bloodcell-lt."""
    argv = [
        "run",
        "--method",
        "CE",
        "--method",
        "ce-crw",
        "--seeds",
        "0",
        "1",
        "--protocol",
        "smoke",
        "--results",
        str(tmp_path),
        "--cache-dir",
        str(cache_dir),
        "--device",
        "cpu",
        "--quiet",
    ]
    assert main(argv) == 0
    out = capsys.readouterr()
    assert "CE→cRW" in out.out and "bloodcell-lt All" in out.out
    files = sorted(tmp_path.rglob("seed-*.json"))
    assert len(files) == 4 and all(json.loads(f.read_text())["status"] == "ok" for f in files)
    assert main(argv) == 0
    assert "4 already done" in capsys.readouterr().err
    assert main(["report", "--results", str(tmp_path), "--format", "markdown"]) == 0
    assert "| CE→cRW |" in capsys.readouterr().out


def test_report_warns_on_mixed_manifest_hashes(cache_dir, tmp_path, capsys):
    assert (
        main(
            [
                "run",
                "--dataset",
                "digits-lt",
                "--method",
                "CE",
                "--seeds",
                "0",
                "1",
                "--protocol",
                "smoke",
                "--results",
                str(tmp_path),
                "--cache-dir",
                str(cache_dir),
                "--device",
                "cpu",
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    f = sorted(tmp_path.rglob("seed-1.json"))[0]
    data = json.loads(f.read_text())
    data["dataset_manifest_sha256"] = "0" * 64
    f.write_text(json.dumps(data))
    assert main(["report", "--results", str(tmp_path)]) == 0
    assert "different dataset manifest hashes" in capsys.readouterr().err


def test_list_and_help():
    out = subprocess.run(
        [sys.executable, "-m", "benchmark", "list", "methods"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0 and "CE→cRW" in out.stdout and "ce-crs" in out.stdout
    out = subprocess.run([sys.executable, "-m", "benchmark", "run", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and "--protocol" in out.stdout


def test_custom_protocol_file_is_used(cache_dir, tmp_path, capsys):
    from benchmark.protocol import PROTOCOL_DIR

    text = (PROTOCOL_DIR / "smoke.toml").read_text()
    mine = tmp_path / "tiny.toml"
    mine.write_text(text.replace('name = "smoke"', 'name = "tiny"').replace("epochs = 4", "epochs = 1"))
    assert (
        main(
            [
                "run",
                "--method",
                "CE",
                "--seeds",
                "0",
                "--protocol",
                str(mine),
                "--results",
                str(tmp_path / "r"),
                "--cache-dir",
                str(cache_dir),
                "--device",
                "cpu",
                "--quiet",
                "--no-site",
            ]
        )
        == 0
    )
    result = json.loads(next((tmp_path / "r").rglob("seed-0.json")).read_text())
    assert result["spec"]["protocol"] == "tiny" and result["protocol_config"]["epochs"] == 1
    # a custom file may not pose as a shipped protocol with other settings
    mine.write_text(text.replace("epochs = 4", "epochs = 1"))
    assert main(["run", "--method", "CE", "--protocol", str(mine), "--results", str(tmp_path / "r")]) == 2
    assert "shipped protocol" in capsys.readouterr().err


# -- one name per concept: the old option names still work, with a note -------------------------
DEPRECATED_ALIASES = [
    # (command, its required arguments, old, new, namespace field)
    (["run"], ["--all"], "--data-root", "--raw-root", "raw_root"),
    (["datasets", "prepare"], ["skin7"], "--raw", "--raw-root", "raw_root"),
    (["datasets", "verify"], ["skin7"], "--raw", "--raw-root", "raw_root"),
    (["leaderboard"], [], "--out", "--site", "site"),
]


@pytest.mark.parametrize("command, required, old, new, field", DEPRECATED_ALIASES)
def test_deprecated_alias_parses_like_the_new_name_with_a_note(command, required, old, new, field, capsys):
    from benchmark.cli import build_parser

    parser = build_parser()
    with_new = parser.parse_args([*command, *required, new, "somewhere"])
    assert capsys.readouterr().err == ""
    with_old = parser.parse_args([*command, *required, old, "somewhere"])
    assert capsys.readouterr().err == f"note: {old} is deprecated; use {new} (same meaning)\n"
    assert vars(with_old) == vars(with_new) and getattr(with_old, field) == Path("somewhere")
    assert getattr(parser.parse_args([*command, *required, f"{old}=elsewhere"]), field) == Path("elsewhere")
    assert getattr(parser.parse_args([*command, *required]), field) is None  # the default is untouched


@pytest.mark.parametrize("command, required, old, new, field", DEPRECATED_ALIASES)
def test_help_shows_the_new_name(command, required, old, new, field, capsys):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert f"{new} DIR" in out and f"({old}: deprecated alias)" in " ".join(out.split())
    assert f"{old} " not in out  # the old name is not listed as an option of its own


def test_the_environment_is_read_once_and_given_to_the_commands(tmp_path, monkeypatch, capsys):
    """``MEDLT_CACHE`` is the default ``--cache-dir`` of every command, read when the command line starts (not
    when a module was imported); ``--cache-dir`` wins over it."""
    from benchmark.environment import Environment

    env = Environment.read({"MEDLT_CACHE": str(tmp_path / "c"), "MEDLT_ALLOW_DOWNLOAD": "1", "MEDLT_WEIGHTS_DIR": "w"})
    assert env == Environment(cache_dir=tmp_path / "c", allow_download=True, weights_dir=Path("w"))
    assert Environment.read({"MEDLT_ALLOW_DOWNLOAD": "yes"}).allow_download is False  # only "1" allows downloads
    monkeypatch.setenv("MEDLT_CACHE", str(tmp_path / "from-env"))
    assert main(["datasets", "prepare", "digits-lt", "--size", "8"]) == 0
    assert list((tmp_path / "from-env").glob("digits-lt-*/8px/manifest.json"))
    assert main(["datasets", "prepare", "digits-lt", "--size", "8", "--cache-dir", str(tmp_path / "given")]) == 0
    assert list((tmp_path / "given").glob("digits-lt-*/8px/manifest.json"))
    capsys.readouterr()
