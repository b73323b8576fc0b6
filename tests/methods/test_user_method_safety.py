"""A user's method file can never pass for another method: no registered id or name, and an edited
file is a different method (its hash is in the result and in the stage-1 key; old results are refused)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.grid.job import stage1_sha256
from benchmark.protocol import load_protocol
from methods import create_method, user_files
from methods.registry import UnknownMethodError

METHOD = '''
from dataclasses import dataclass

from methods import Method


@dataclass(frozen=True, kw_only=True)
class Mine(Method):
    """A user's method."""

    name = {name!r}
    id = {id!r}
    description = "test method"
'''


def write_method(folder: Path, name: str = "Mine", id: str = "mine", extra: str = "", file: str = "mine.py") -> Path:
    path = folder / file
    path.write_text(METHOD.format(name=name, id=id) + extra)
    return path


def run_argv(method: str, tmp_path: Path, cache_dir: Path) -> list[str]:
    return [
        "run",
        "--method",
        method,
        "--dataset",
        "digits-lt",
        "--protocol",
        "smoke",
        "--seeds",
        "0",
        "--results",
        str(tmp_path / "results"),
        "--cache-dir",
        str(cache_dir),
        "--device",
        "cpu",
        "--quiet",
        "--no-site",
    ]


@pytest.mark.parametrize(
    "name, id, suffix, clash",
    [
        ("Mine", "ce", "", "'CE'"),  # a registered id
        ("CE", "mine", "", "'CE'"),  # a registered display name
        ("Mine", "CE", "", "'CE'"),  # ids are matched case-insensitively, as --method matches them
        ("Mine", "ce", ":cRW", "'CE→cRW'"),  # the two-stage row of a registered method
        ("LDAM", "ldam-x", "", "'LDAM'"),
    ],
)
def test_registered_id_or_name_is_refused(tmp_path, capsys, name, id, suffix, clash):
    path = write_method(tmp_path, name=name, id=id)
    spec = f"{path}:Mine{suffix}"
    with pytest.raises(UnknownMethodError) as e:
        create_method(spec)
    msg = str(e.value)
    assert "\n" not in msg and f"{path}:Mine" in msg and "clashes" in msg and clash in msg
    assert main(["run", "--method", spec, "--results", str(tmp_path / "results"), "--quiet", "--no-site"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and clash in err
    assert not (tmp_path / "results").exists()  # refused before any work


def test_file_sha256_is_recorded_and_an_edited_file_is_refused(tmp_path, capsys, cache_dir):
    path = write_method(tmp_path)
    argv = run_argv(f"{path}:Mine", tmp_path, cache_dir)
    assert main(argv) == 0
    result_file = tmp_path / "results/digits-lt/test_resnet/smoke/mine/seed-0.json"
    first = result_file.read_bytes()
    result = json.loads(first)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert result["method_source_sha256"] == sha and result["stage1_key"]["source_sha256"] == sha

    capsys.readouterr()
    assert main(argv) == 0  # the same file: already done
    assert "1 already done" in capsys.readouterr().err

    write_method(tmp_path, extra="\n# tau changed in the loss\n")  # the same id, other code
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(result_file.parent) in err and "new id" in err and "delete" in err
    assert result_file.read_bytes() == first  # nothing already written is touched


def test_stage1_checkpoint_key_depends_on_the_file(tmp_path):
    a = create_method(f"{write_method(tmp_path, file='a.py')}:Mine")
    b = create_method(f"{write_method(tmp_path, file='b.py', extra='# edited')}:Mine")
    protocol = load_protocol("smoke")
    assert a.method_id == b.method_id and a.hyperparameters() == b.hyperparameters()
    assert stage1_sha256("m" * 64, a, "test_resnet", 0, protocol) != stage1_sha256(
        "m" * 64, b, "test_resnet", 0, protocol
    )
    registered = create_method("CE")  # registered methods keep their key (no file, no hash)
    assert registered.source_sha256 is None and "source_sha256" not in registered.stage1_key()


def test_two_files_with_one_id_in_one_run_are_refused(tmp_path, capsys):
    a = write_method(tmp_path, file="a.py")
    b = write_method(tmp_path, file="b.py", extra="# other code")
    argv = ["run", "--method", f"{a}:Mine", "--method", f"{b}:Mine", "--results", str(tmp_path / "r"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "two methods have the id 'mine'" in err
    # one file named twice is one method, not a clash
    assert (
        main(
            [
                "run",
                "--method",
                f"{a}:Mine",
                "--method",
                f"{a}:Mine",
                "--dataset",
                "no-such-set",
                "--results",
                str(tmp_path / "r"),
                "--quiet",
            ]
        )
        == 2
    )
    assert "two methods" not in capsys.readouterr().err


def test_a_user_file_is_one_module_named_by_its_content(tmp_path):
    """The module a file becomes is named after its SHA-256 (the class says which file it came from); a worker
    that loads the file again gets that same module, and a file edited meanwhile is refused."""
    path = write_method(tmp_path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    method = create_method(f"{path}:Mine")
    assert type(method).__module__ == user_files.USER_MODULE_PREFIX + sha and method.source_sha256 == sha
    assert user_files.user_files([type(method)]) == {str(path): sha}
    again = user_files.load_module(path, sha)
    assert again.__name__ == type(method).__module__
    write_method(tmp_path, extra="\n# edited\n")
    with pytest.raises(user_files.ChangedFileError, match="changed while the grid ran"):
        user_files.load_module(path, sha)
    with pytest.raises(user_files.ChangedFileError, match="changed while the grid ran"):
        user_files.user_files([type(method)])
    assert create_method(f"{path}:Mine").source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest() != sha
