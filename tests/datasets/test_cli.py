"""The ``datasets`` CLI command (prepare / info / list), driven through its ``register`` hook."""

from __future__ import annotations

import argparse
import json

import pytest

from benchmark.commands import datasets as datasets_cmd
from benchmark.environment import Environment
from tests.datasets.fake_raw import SKIN7_CLASSES, write_skin7


def run(argv, capsys):
    parser = argparse.ArgumentParser(prog="python -m benchmark")
    sub = parser.add_subparsers(dest="command", required=True)
    datasets_cmd.register(sub)
    args = parser.parse_args(["datasets", *map(str, argv)])
    args.environment = Environment()  # what benchmark.cli.main reads from the environment: the defaults
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_prepare_info_list_skin7(tmp_path, capsys):
    counts = {"MEL": 20, "NV": 60, "BCC": 16, "AKIEC": 12, "BKL": 24, "DF": 8, "VASC": 14}
    write_skin7(tmp_path / "raw", counts)
    cache = tmp_path / "cache"
    code, out, err = run(
        ["prepare", "skin7", "--raw-root", tmp_path / "raw", "--size", 8, "--cache-dir", cache, "--workers", 1], capsys
    )
    assert code == 0, err
    assert "prepared skin7 in" in out and str(cache) in out
    assert any(line.split() == ["NV", "45"] for line in out.splitlines())  # 60 - 12 test - 3 val
    code, out, err = run(["info", "skin7", "--size", 8, "--cache-dir", cache, "--json"], capsys)
    assert code == 0, err
    stats = json.loads(out)
    train = {c["name"]: c["train"] for c in stats["classes"]}
    assert list(train) == list(SKIN7_CLASSES)
    assert stats["n_max"] == train["NV"] == max(train.values()) and stats["n_max_class"] == "NV"
    assert stats["n_min"] == train["DF"] == min(train.values()) and stats["n_min_class"] == "DF"
    assert stats["rho"] == round(train["NV"] / train["DF"], 1)
    assert stats["num_classes"] == 7 and stats["image_size"] == "8x8" and stats["image_type"] == "dermoscopy"
    assert stats["images"]["total"] == sum(counts.values()) == sum(stats["images"][s] for s in ("train", "val", "test"))
    assert [c["group"] for c in stats["classes"]] == ["major", "major", None, "minor", "major", "minor", None]
    # without --size: finds the prepared size; human-readable table
    code, out, err = run(["info", "skin7", "--cache-dir", cache], capsys)
    assert code == 0, err
    assert "n_max       45 (NV)" in out and "rho         7.5" in out and "8x8 (cache)" in out
    code, out, err = run(["list", "--cache-dir", cache], capsys)
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "8px" in rows["skin7"] and rows["xray9"].rstrip().endswith("-") and "demo" in rows["digits-lt"]
    assert "medmnist-lt:<flag>" in rows
    # info reads the manifest only
    next(cache.glob("skin7-*/8px/images.npy")).unlink()
    code, out, err = run(["info", "skin7", "--size", 8, "--cache-dir", cache, "--json"], capsys)
    assert code == 0 and json.loads(out)["n_max"] == 45


def test_info_json_digits_demo(tmp_path, capsys):
    cache = tmp_path / "cache"
    code, out, err = run(["prepare", "digits-lt", "--size", 8, "--cache-dir", cache], capsys)
    assert code == 0, err
    code, out, err = run(["info", "digits-lt", "--size", 8, "--cache-dir", cache, "--json"], capsys)
    stats = json.loads(out)
    assert (stats["n_max"], stats["n_min"], stats["rho"], stats["demo"]) == (100, 10, 10.0, True)
    code, out, err = run(["info", "digits-lt", "--size", 8, "--cache-dir", cache], capsys)
    assert "DEMONSTRATION SET" in out
    # construction parameters are part of the identity: another rho is not prepared
    code, out, err = run(["info", "digits-lt", "--size", 8, "--cache-dir", cache, "-p", "rho=5"], capsys)
    assert code == 2 and "datasets prepare digits-lt" in err and "--size 8" in err and "-p rho=5" in err


def test_prepare_deprecated_raw_still_works(tmp_path, capsys):
    write_skin7(tmp_path / "raw", {"MEL": 20, "NV": 60, "BCC": 16, "AKIEC": 12, "BKL": 24, "DF": 8, "VASC": 14})
    argv = ["prepare", "skin7", "--raw", tmp_path / "raw", "--size", 8, "--cache-dir", tmp_path / "cache"]
    code, out, err = run([*argv, "--workers", 1], capsys)
    assert code == 0, err
    assert err.startswith("note: --raw is deprecated; use --raw-root (same meaning)\n")
    assert "prepared skin7 in" in out
    code, out, err = run(["verify", *argv[1:]], capsys)  # same files, read through the old name
    assert code == 0 and "source files" in out and "note: --raw is deprecated" in err


@pytest.mark.parametrize(
    "argv, expect",
    [
        (["prepare", "skin7", "--raw-root", "{tmp}/missing"], "error: skin7: the raw-data folder not found"),
        (["prepare", "skin7", "--raw-root", "{tmp}"], "ISIC2018_Task3_Training_GroundTruth.csv not found"),
        (["prepare", "nosuch"], "error: unknown dataset 'nosuch'; valid:"),
        (["prepare", "xray9", "-p", "split=random"], "split must be one of"),
        (["prepare", "skin7", "-p", "nosuchfield=1"], "bad --param"),
        (["info", "skin7"], "skin7 is not prepared at 300 px in"),
    ],
)
def test_errors_are_one_line_exit_2(tmp_path, capsys, argv, expect):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--cache-dir", str(tmp_path / "cache")]
    code, out, err = run(argv, capsys)
    assert code == 2 and expect in err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    if argv[0] == "info":
        assert "run `python -m benchmark datasets prepare skin7" in err
    assert not (tmp_path / "cache").exists()
