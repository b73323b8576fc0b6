"""Protocol files are validated (types, ranges, unknown keys, names that are paths): one line naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.protocol import Protocol, ProtocolError, load_protocol, protocol_names
from tests import ROOT

# (TOML after `name = "mine"`, text the one-line error must contain besides the file name)
BAD_PROTOCOLS = [
    ("epochs = -3", "epochs = -3: must be >= 1"),
    ("epochs = 0", "epochs = 0: must be >= 1"),
    ("batch_size = 0", "batch_size = 0: must be >= 1"),
    ("eval_batch_size = -1", "eval_batch_size = -1: must be >= 1"),
    ("lr = 0", "lr = 0: must be > 0"),
    ("lr = -0.1", "lr = -0.1: must be > 0"),
    ("stage2_lr = 0.0", "stage2_lr = 0.0: must be > 0"),
    ("lr = nan", "lr = NaN: must be a finite number"),
    ("lr = inf", "lr = Infinity: must be a finite number"),
    ("min_lr = -1e-4", "min_lr = -0.0001: must be >= 0"),
    ("min_lr = 0.5\nlr = 0.1", "min_lr = 0.5: must be <= lr (0.1)"),
    ("weight_decay = -0.1", "weight_decay = -0.1: must be >= 0"),
    ("momentum = 1.5", "momentum = 1.5: must be < 1"),
    ("stage2_epochs = 0", "stage2_epochs = 0: must be >= 1"),
    ("max_steps_per_epoch = -2", "max_steps_per_epoch = -2: must be >= 0"),
    ("warmup_epochs = 10\nepochs = 4", "warmup_epochs = 10: must be <= epochs (4)"),
    ("image_size = 64\ncache_size = 32", "image_size = 64: must be <= cache_size (32)"),
    ("cache_size = 0", "cache_size = 0: must be >= 1"),
    ("rotation = -10.0", "rotation = -10.0: must be >= 0"),
    ("rotation = 400", "rotation = 400: must be <= 180"),
    ('precision = "float16"', "precision = \"float16\": must be 'float32', 'float64' or 'bf16'"),
    ('epochs = "3"', 'epochs = "3": must be a valid integer'),
    ("epochs = 3.5", "epochs = 3.5: must be a valid integer"),
    ("epochs = true", "epochs = true: must be a valid integer"),
    ('lr = "0.1"', 'lr = "0.1": must be a valid number'),
    ("hflip = 1", "hflip = 1: must be a valid boolean"),
    ('backbone = ""', 'backbone = ""'),
    ("epoch = 3", "unknown key 'epoch'; did you mean 'epochs'?"),
    ("[training]\nepochs = 3", "unknown key 'training'"),
    ("datasets = 3", "datasets = 3: must be a valid dictionary"),
    ("[datasets.skin7]\nbatch_size = 0", "[datasets.skin7] batch_size = 0: must be >= 1"),
    ("[datasets.skin7]\nbogus = 1", "[datasets.skin7] unknown key 'bogus'"),
    ('[datasets.skin7]\nlr = "fast"', '[datasets.skin7] lr = "fast": must be a valid number'),
    (
        "epochs = 3\nwarmup_epochs = 1\n[datasets.skin7]\nwarmup_epochs = 5",
        "[datasets.skin7] warmup_epochs = 5: must be <= epochs (3)",
    ),
    ('[datasets.skin7]\nname = "other"', "[datasets.skin7] name: cannot be set per dataset"),
]

# names that are paths: results would be filed outside their folder (or in a hidden one)
BAD_NAMES = [
    ('".."', "starts with '.'"),
    ('"."', "starts with '.'"),
    ('".hidden"', "starts with '.'"),
    ('""', "is empty"),
    ('"a/b"', "contains '/'"),
    ('"../../etc"', "starts with '.'"),
    ('"a\\\\b"', "contains '\\\\'"),
    ('"a\\u0000b"', "contains '\\x00'"),
]


def _run_with(protocol: Path, tmp_path: Path, capsys) -> str:
    """``run`` with this protocol file: exit 2, one line, no traceback, nothing written; the line."""
    results = tmp_path / "results"
    code = main(
        [
            "run",
            "--method",
            "ce",
            "--seeds",
            "0",
            "--protocol",
            str(protocol),
            "--results",
            str(results),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--device",
            "cpu",
            "--quiet",
            "--no-site",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    assert not results.exists() and not (tmp_path / "cache").exists()
    assert str(protocol) in err  # the file is named
    return err.strip()


@pytest.mark.parametrize("body,expected", BAD_PROTOCOLS, ids=[b.replace("\n", " ") for b, _ in BAD_PROTOCOLS])
def test_bad_value_is_a_one_line_error_naming_file_and_key(body, expected, tmp_path, capsys):
    protocol = tmp_path / "mine.toml"
    protocol.write_text(f'name = "mine"\n{body}\n')
    assert expected in _run_with(protocol, tmp_path, capsys)


@pytest.mark.parametrize("name,expected", BAD_NAMES, ids=[n for n, _ in BAD_NAMES])
def test_name_that_is_a_path_is_refused(name, expected, tmp_path, capsys):
    protocol = tmp_path / "mine.toml"
    protocol.write_text(f"name = {name}\nepochs = 1\n")
    err = _run_with(protocol, tmp_path, capsys)
    assert "name = " in err and expected in err and "folder name" in err


@pytest.mark.parametrize(
    "text,line",
    [
        ('name = "unterminated\nepochs = 1\n', "line 1"),
        ('name = "mine"\nepochs = = 3\n', "line 2"),
        ('name = "mine"\n[datasets.skin7\nlr = 0.1\n', "line 2"),
        ('name = "mine"\nepochs = 1\nepochs = 2\n', "line 3"),
    ],
)
def test_malformed_toml_is_a_one_line_error_naming_file_and_line(text, line, tmp_path, capsys):
    protocol = tmp_path / "mine.toml"
    protocol.write_text(text)
    err = _run_with(protocol, tmp_path, capsys)
    assert "not valid TOML" in err and line in err


def test_protocol_file_that_is_not_text(tmp_path, capsys):
    protocol = tmp_path / "mine.toml"
    protocol.write_bytes(b'name = "mine"\nepochs = \xff\xfe\n')
    assert "not valid TOML" in _run_with(protocol, tmp_path, capsys)


def test_file_stem_that_is_a_path_is_refused(tmp_path, capsys):
    """Without a ``name`` key the file's stem names the protocol: ``..toml`` would be ``.``."""
    protocol = tmp_path / "..toml"
    protocol.write_text("epochs = 1\n")
    assert "starts with '.'" in _run_with(protocol, tmp_path, capsys)


@pytest.mark.parametrize("name", ["../smoke", "protocols/../smoke", "", "smoke/"])
def test_protocol_name_must_be_a_shipped_one_or_a_toml_file(name):
    with pytest.raises(ProtocolError, match="unknown protocol"):
        load_protocol(name)


@pytest.mark.parametrize("name", protocol_names())
def test_shipped_protocols_and_their_overrides_are_valid(name):
    protocol = load_protocol(name)
    for dataset in protocol.datasets:
        assert isinstance(protocol.for_dataset(dataset), Protocol)


def test_a_valid_user_protocol_loads_with_ints_for_floats(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\nbackbone = "resnet18"\nimage_size = 224\nbatch_size = 64\n'
        "lr = 1\nrotation = 0\nepochs = 3\nwarmup_epochs = 3\n"
        '[datasets.skin7]\nbatch_size = 8\nprecision = "float64"\n'
    )
    p = load_protocol(str(path))
    assert p.lr == 1.0 and isinstance(p.lr, float) and p.epochs == 3
    assert p.for_dataset("skin7").batch_size == 8 and p.for_dataset("skin7").precision == "float64"
    assert p.for_dataset("digits-lt").batch_size == 64


@pytest.mark.parametrize(
    "body,expected",
    [
        ("", "missing required keys backbone, image_size, epochs, batch_size, lr"),
        ('backbone = "test_resnet"\nimage_size = 16\nepochs = 8\nbatch_size = 8', "missing required key lr "),
    ],
    ids=["empty", "no lr"],
)
def test_an_incomplete_protocol_file_is_refused_not_defaulted(body, expected, tmp_path, capsys):
    """An empty file is refused, not run at every default (a paper-scale run: ResNet-50, 224 px, 100 epochs)."""
    protocol = tmp_path / "mine.toml"
    protocol.write_text(f'name = "mine"\n{body}\n')
    assert expected in _run_with(protocol, tmp_path, capsys)


def test_an_unknown_dataset_table_is_refused_naming_the_known_datasets(tmp_path, capsys):
    text = (ROOT / "benchmark" / "protocols" / "smoke.toml").read_text()
    protocol = tmp_path / "mine.toml"
    protocol.write_text(text.replace('name = "smoke"', 'name = "mine"') + "\n[datasets.digts-lt]\nepochs = 1\n")
    line = _run_with(protocol, tmp_path, capsys)
    assert "[datasets.digts-lt]: unknown dataset 'digts-lt'; did you mean 'digits-lt'?" in line
    assert "known datasets: bloodcell-lt" in line
