"""Bad command-line input is a one-line ``error: ...`` naming the thing at fault, exit 2, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.cli import main

BOOM = 'raise RuntimeError("boom: the user\'s code failed\\nsecond line")\n'
METHOD = """
from methods import Method


class Mine(Method):
    name = "Mine"
    id = {id!r}
"""
REGISTERED = """
from methods import Method, register_method


@register_method
class Mine(Method):
    name = "Mine (registered)"
    id = {id!r}
"""


def _files(tmp_path: Path) -> dict[str, str]:
    """User files the cases name: ``{name}`` in an argument becomes ``tmp_path/name``."""
    return {
        "boom.py": BOOM,
        "syntax.py": "def broken(:\n",
        "missing_import.py": "import no_such_module_for_medlt\n",
        "good.py": METHOD.format(id="mine-ok"),
        "dots.py": METHOD.format(id=".."),
        "slash.py": METHOD.format(id="a/b"),
        "backslash.py": METHOD.format(id="a\\b"),
        "nul.py": METHOD.format(id="a\0b"),
        "hidden.py": METHOD.format(id=".stage1"),
        "registered_dots.py": REGISTERED.format(id="../escape"),
        "afile": "not a folder\n",
    }


# (arguments after `run`, text the one-line error must contain)
RUN_CASES = [
    (["--method", "ce", "--results", "{afile}"], "--results {afile}: is a file"),
    (["--method", "ce", "--results", "{afile}/sub"], "{afile} is a file"),
    (["--method", "ce", "--seeds", "-1"], "--seeds -1: a seed must be >= 0"),
    (["--method", "ce", "--seeds", "0", "1", "-7"], "--seeds -7: a seed must be >= 0"),
    (["--method", "ce:cXX"], "method 'ce:cXX': unknown stage-2 suffix 'cXX'; valid: cRW, cRS"),
    (["--method", "CE:"], "unknown stage-2 suffix ''; valid: cRW, cRS"),
    (["--method", "{good.py}:Mine:cZZ"], "{good.py}:Mine:cZZ: unknown stage-2 suffix 'cZZ'; valid: cRW, cRS"),
    (["--method", "{boom.py}:Mine"], "{boom.py}: importing it failed: RuntimeError: boom: the user's code failed"),
    (["--method", "{syntax.py}:Mine"], "{syntax.py}: importing it failed: SyntaxError"),
    (
        ["--method", "{missing_import.py}:Mine"],
        "{missing_import.py}: importing it failed: ModuleNotFoundError: No module named 'no_such_module_for_medlt'",
    ),
    (["--method", "{dots.py}:Mine"], "{dots.py}:Mine: id '..' is not a valid method id"),
    (["--method", "{slash.py}:Mine"], "{slash.py}:Mine: id 'a/b' is not a valid method id"),
    (["--method", "{backslash.py}:Mine"], "id 'a\\\\b' is not a valid method id"),
    (["--method", "{nul.py}:Mine"], "id 'a\\x00b' is not a valid method id"),
    (["--method", "{hidden.py}:Mine"], "id '.stage1' is not a valid method id"),
    (
        ["--method", "{registered_dots.py}:Mine"],
        "{registered_dots.py}: importing it failed: ValueError: Mine: id '../escape' is not a valid method id",
    ),
]


def _fill(text: str, files: dict[str, Path]) -> str:
    for name, path in files.items():
        text = text.replace("{" + name + "}", str(path))
    return text


def _one_line_error(code: int, capsys) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    return err.strip()


@pytest.mark.parametrize("args,expected", RUN_CASES, ids=[" ".join(a) for a, _ in RUN_CASES])
def test_run_bad_input_is_a_one_line_error(args, expected, tmp_path, capsys):
    files = {}
    for name, text in _files(tmp_path).items():
        files[name] = tmp_path / name
        files[name].write_text(text)
    results, cache = tmp_path / "results", tmp_path / "cache"
    argv = [
        "run",
        *(_fill(a, files) for a in args),
        "--protocol",
        "smoke",
        "--dataset",
        "digits-lt",
        "--cache-dir",
        str(cache),
        "--device",
        "cpu",
        "--quiet",
        "--no-site",
    ]
    if "--results" not in args:
        argv += ["--results", str(results)]
    err = _one_line_error(main(argv), capsys)
    assert _fill(expected, files) in err
    assert not results.exists() and not cache.exists()  # nothing written
    assert files["afile"].read_text() == "not a folder\n"


@pytest.mark.parametrize("size", ["-4", "0"])
def test_datasets_prepare_bad_size_is_a_one_line_error(size, tmp_path, capsys):
    cache = tmp_path / "cache"
    code = main(["datasets", "prepare", "digits-lt", "--size", size, "--cache-dir", str(cache)])
    err = _one_line_error(code, capsys)
    assert f"digits-lt: image size {size} px: must be a whole number >= 1" in err
    assert not cache.exists()


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("minr=3", "--max-band 'minr=3': unknown metric 'minr' (one of all, major, medium, minor)"),
        ("0", "--max-band '0': the width must be a positive number of pp"),
        ("minor=wide", "--max-band 'minor=wide': 'wide' is not a number of pp"),
    ],
)
@pytest.mark.parametrize("command", ["check", "review"])
def test_bad_max_band_is_a_one_line_error(command, spec, expected, tmp_path, capsys):
    """Refused before any result, reference or submission is read (none of them exists here)."""
    target = ["--results", str(tmp_path / "nothing")] if command == "check" else [str(tmp_path / "nothing")]
    err = _one_line_error(main([command, *target, "--max-band", spec]), capsys)
    assert expected in err
    assert not any(tmp_path.iterdir())


def test_registered_method_with_suffix_is_that_row():
    """``ce:cRW`` names the registered row ``ce-crw`` (the suffix syntax of user files)."""
    from methods import create_method, get_entry

    assert get_entry("ce:cRW").id == "ce-crw" and get_entry("CE+SC:crw").id == "ce+sc-crw"
    assert create_method("ce:cRS").method_id == "ce-crs"


def test_a_good_user_file_still_loads(tmp_path):
    from methods import create_method

    path = tmp_path / "good.py"
    path.write_text(METHOD.format(id="mine-ok"))
    assert create_method(f"{path}:Mine:cRW").method_id == "mine-ok-crw"
