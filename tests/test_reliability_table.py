"""The bad-input table of docs/reliability.md, run: each input gets its one-line message and exit code.

``CASES`` is the table. Each case writes what it needs under a fresh folder and returns the
command's arguments; the test runs the command and checks the exit code, that the error is one
line (no traceback) and that it holds the documented message. A second test keeps the table in
docs/reliability.md identical to ``CASES``, so the document cannot drift from what is tested.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- bad-inputs: begin (generated from tests/test_reliability_table.py) -->", "<!-- bad-inputs: end -->"


class Work:
    """A scratch folder with helpers that write the bad inputs."""

    def __init__(self, root: Path, synthetic_result: Callable[..., Path]):
        self.root = root
        self.synthetic_result = synthetic_result
        self.results = root / "results"
        self.cache = root / "cache"

    def file(self, name: str, text: str | bytes) -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return str(path)

    def protocol(self, body: str, name: str = "mine") -> list[str]:
        """``run`` with a protocol file holding ``body``."""
        path = self.file(f"{name}.toml", f'name = "{name}"\n{body}\n')
        return self.run("--protocol", path)

    def run(self, *extra: str) -> list[str]:
        base = [
            "run",
            "--dataset",
            "digits-lt",
            "--method",
            "ce",
            "--seeds",
            "0",
            "--quiet",
            "--no-site",
            "--device",
            "cpu",
            "--results",
            str(self.results),
            "--cache-dir",
            str(self.cache),
        ]
        return base + list(extra)

    def method_file(self, body: str) -> str:
        return self.file("mine.py", "from methods.catalog.ce import CE\n\n\nclass Mine(CE):\n" + body + "\n")

    def some_results(self, predictions: bool = False) -> Path:
        for method in ("CE", "RW"):
            for seed in range(3):
                path = self.synthetic_result(
                    self.results,
                    dataset="skin7",
                    method=method,
                    seed=seed,
                    metrics={"mcr_all": 80.0, "mcr_major": 85.0, "mcr_minor": 75.0},
                )
                if predictions:
                    from benchmark.results.store import write_predictions

                    preds = path.with_name(path.stem + ".preds.npz")
                    y = np.repeat(np.arange(6), 100)
                    write_predictions(preds, y, y)
                    data = json.loads(path.read_text())
                    data["predictions_file"] = preds.name
                    path.write_text(json.dumps(data))
        return self.results

    def first_result(self) -> Path:
        return sorted(self.results.rglob("seed-0.json"))[0]

    def prepared(self) -> Path:
        """digits-lt prepared at 8 px into the scratch cache; returns its folder."""
        import datasets

        return datasets.load("digits-lt", size=8, cache_root=self.cache, progress=False).root


@dataclass(frozen=True)
class BadInput:
    what: str  # the input, in words
    command: str  # the command, as the document shows it
    message: str  # what the one line says (a part of it that names the thing at fault)
    setup: Callable[[Work], list[str]]
    code: int = 2


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


# -- a row is exactly one configuration --------------------------------------------------------------
SAME_NAME = """from methods.catalog.ce import CE


class A(CE):
    name = "Same"
    id = "rt-same-a"


class B(CE):
    name = "Same"
    id = "rt-diff"
"""
RAISING_INIT = """from dataclasses import dataclass

from methods.catalog.ce import CE


@dataclass(frozen=True)
class Mine(CE):
    name = "Mine"
    id = "mine"

    def __post_init__(self):
        raise ValueError("boom: bad hyper-parameter")
"""


def _unwritable(w: Work) -> str:
    """A folder nothing can be written in: read-only by its mode, or, for root (whom modes do not stop), /sys."""
    from benchmark.files import writable_problem

    if os.geteuid() != 0:
        folder = w.root / "readonly"
        folder.mkdir()
        folder.chmod(0o555)
        return str(folder / "sub")
    if writable_problem("/sys/medlt-bench-test") is None:
        pytest.skip("no read-only folder here")
    return "/sys/medlt-bench-test"


def _no_gpu() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is here")


def _corrupt_medmnist(w: Work) -> list[str]:
    """A MedMNIST npz whose first member fails its CRC (a damaged download)."""
    rng = np.random.default_rng(0)
    arrays = {f"{s}_images": rng.integers(0, 255, (80, 28, 28, 3), dtype=np.uint8) for s in ("train", "val", "test")}
    arrays.update({f"{s}_labels": rng.integers(0, 8, (80, 1), dtype=np.uint8) for s in ("train", "val", "test")})
    raw = w.root / "raw"
    raw.mkdir()
    np.savez_compressed(raw / "bloodmnist.npz", **arrays)
    data = bytearray((raw / "bloodmnist.npz").read_bytes())
    data[2000:2100] = bytes(b ^ 0xFF for b in data[2000:2100])
    (raw / "bloodmnist.npz").write_bytes(bytes(data))
    return ["datasets", "prepare", "medmnist-lt:bloodmnist", "--raw-root", str(raw), "--cache-dir", str(w.cache)]


def _smoke_protocol(w: Work, extra: str = "") -> str:
    from benchmark.protocol import PROTOCOL_DIR

    text = (PROTOCOL_DIR / "smoke.toml").read_text().replace('name = "smoke"', 'name = "mine"')
    return w.file("mine.toml", text + extra)


def _other_protocol_same_name(w: Work) -> list[str]:
    """Results of RW under a protocol named 'mine' with 40 epochs; then CE with a 'mine' of 4 epochs."""
    from benchmark.protocol import load_protocol

    path = _smoke_protocol(w)
    config = load_protocol(path).for_dataset("digits-lt").as_dict()
    metrics = {"mcr_all": 80.0, "mcr_major": 85.0, "mcr_minor": 75.0}
    w.synthetic_result(
        w.results,
        dataset="digits-lt",
        method="RW",
        seed=0,
        metrics=metrics,
        backbone="test_resnet",
        protocol="mine",
        protocol_config={**config, "epochs": 40},
    )
    return w.run("--protocol", path)


def _other_dataset_params(w: Work) -> list[str]:
    """Results of RW on digits-lt as built by default; then CE with ``-p rho=5``."""
    import datasets

    metrics = {"mcr_all": 80.0, "mcr_major": 85.0, "mcr_minor": 75.0}
    kind = {"dataset": "digits-lt", "backbone": "test_resnet", "protocol": "smoke"}
    params = datasets.create_builder("digits-lt").params()
    w.synthetic_result(w.results, method="RW", seed=0, metrics=metrics, dataset_params=params, **kind)
    return w.run("--protocol", "smoke", "-p", "rho=5")


def _display_name_taken(w: Work) -> list[str]:
    """A result of another method id shown as 'CE' where `run --method ce` would file its results."""
    metrics = {"mcr_all": 80.0, "mcr_major": 85.0, "mcr_minor": 75.0}
    kind = {"dataset": "digits-lt", "backbone": "test_resnet", "protocol": "smoke"}
    w.synthetic_result(w.results, method="CE", method_id="ce-mine", seed=0, metrics=metrics, **kind)
    return w.run("--protocol", "smoke")


def _results_edit(change: Callable[[Work], None], command: str = "report") -> Callable[[Work], list[str]]:
    """``report`` (or ``leaderboard``) of the standard results after ``change``."""

    def setup(w: Work) -> list[str]:
        w.some_results()
        change(w)
        if command == "report":
            return ["report", "--results", str(w.results)]
        return ["leaderboard", "--results", str(w.results), "--site", str(w.root / "site")]

    return setup


def _seed_file(w: Work, seed: int) -> Path:
    return sorted(w.results.rglob(f"seed-{seed}.json"))[0]


def _mixed_protocol(w: Work) -> None:
    base = {"name": "paper", "epochs": 100, "lr": 0.001}
    _edit_json(_seed_file(w, 0), lambda d: d.update(protocol_config=base))
    _edit_json(_seed_file(w, 1), lambda d: d.update(protocol_config={**base, "epochs": 40, "lr": 0.5}))


def _copied_seed(w: Work) -> None:
    _seed_file(w, 1).write_bytes(_seed_file(w, 0).read_bytes())


def _second_id_same_name(w: Work) -> None:
    metrics = {"mcr_all": 70.0, "mcr_major": 85.0, "mcr_minor": 55.0}
    w.synthetic_result(w.results, dataset="skin7", method="CE", method_id="ce-copy", seed=5, metrics=metrics)


def _spec_edit(key: str, value: str) -> Callable[[Work], None]:
    return lambda w: _edit_json(w.first_result(), lambda d: d["spec"].update({key: value}))


def _field_edit(change: Callable[[dict], None]) -> Callable[[Work], None]:
    return lambda w: _edit_json(w.first_result(), change)


def _corrupt_result(w: Work) -> list[str]:
    w.some_results()
    w.first_result().write_text('{"spec": {"dataset": "skin7", "meth')
    return ["report", "--results", str(w.results)]


def _truncated_predictions(w: Work) -> list[str]:
    w.some_results(predictions=True)
    preds = sorted(w.results.rglob("seed-1.preds.npz"))[0]
    preds.write_bytes(preds.read_bytes()[:40])
    return ["leaderboard", "--results", str(w.results), "--site", str(w.root / "site")]


def _outside_predictions(w: Work) -> list[str]:
    w.some_results()
    _edit_json(w.first_result(), lambda d: d.update(predictions_file="../../../../etc/x.npz"))
    return ["leaderboard", "--results", str(w.results), "--site", str(w.root / "site")]


def _manifest_edit(key: str) -> Callable[[Work], list[str]]:
    def setup(w: Work) -> list[str]:
        folder = w.prepared()
        _edit_json(folder / "manifest.json", lambda d: d.pop(key))
        return ["datasets", "verify", "digits-lt", "--size", "8", "--cache-dir", str(w.cache)]

    return setup


def _short_labels(w: Work) -> list[str]:
    folder = w.prepared()
    np.save(folder / "labels.npy", np.load(folder / "labels.npy")[:-1])
    return ["datasets", "verify", "digits-lt", "--size", "8", "--cache-dir", str(w.cache)]


def _non_site_folder(w: Work) -> list[str]:
    w.some_results()
    w.file("mysite/notes.txt", "mine")
    return ["leaderboard", "--results", str(w.results), "--site", str(w.root / "mysite")]


def _reference(text: str | bytes) -> Callable[[Work], list[str]]:
    def setup(w: Work) -> list[str]:
        w.some_results()
        return ["check", "--results", str(w.results), "--reference", w.file("ref.csv", text)]

    return setup


P = "run --protocol mine.toml"
CASES: list[BadInput] = [
    # protocols
    BadInput("negative epochs", P, "epochs = -3: must be >= 1", lambda w: w.protocol("epochs = -3")),
    BadInput("zero batch size", P, "batch_size = 0: must be >= 1", lambda w: w.protocol("batch_size = 0")),
    BadInput("zero learning rate", P, "lr = 0: must be > 0", lambda w: w.protocol("lr = 0")),
    BadInput("NaN learning rate", P, "lr = NaN: must be a finite number", lambda w: w.protocol("lr = nan")),
    BadInput("a string for a number", P, 'epochs = "3": must be a valid integer', lambda w: w.protocol('epochs = "3"')),
    BadInput("misspelled key", P, "unknown key 'epoch'; did you mean 'epochs'?", lambda w: w.protocol("epoch = 3")),
    BadInput(
        "crop larger than the cached image",
        P,
        "image_size = 64: must be <= cache_size (32)",
        lambda w: w.protocol("image_size = 64\ncache_size = 32"),
    ),
    BadInput(
        "warmup longer than training",
        P,
        "warmup_epochs = 9: must be <= epochs (4)",
        lambda w: w.protocol("epochs = 4\nwarmup_epochs = 9"),
    ),
    BadInput(
        "unknown precision",
        P,
        "precision = \"float16\": must be 'float32', 'float64' or 'bf16'",
        lambda w: w.protocol('precision = "float16"'),
    ),
    BadInput(
        "bad value in a per-dataset table",
        P,
        "[datasets.skin7] batch_size = 0: must be >= 1",
        lambda w: w.protocol("[datasets.skin7]\nbatch_size = 0"),
    ),
    BadInput("malformed TOML", P, "not valid TOML", lambda w: w.protocol("epochs = = 3")),
    BadInput(
        "protocol name that is a path", P, "a protocol name is a folder name", lambda w: w.protocol("", name="..")
    ),
    BadInput(
        "unknown protocol name",
        "run --protocol fast",
        "unknown protocol 'fast'; valid: authors, paper, quick, smoke",
        lambda w: w.run("--protocol", "fast"),
    ),
    BadInput(
        "protocol name that climbs out",
        "run --protocol ../smoke",
        "unknown protocol '../smoke'",
        lambda w: w.run("--protocol", "../smoke"),
    ),
    # run: names, seeds, folders
    BadInput(
        "unknown method",
        "run --method nope",
        "unknown method 'nope'; valid: ce, ce-crw",
        lambda w: w.run("--method", "nope"),
    ),
    BadInput(
        "unknown dataset",
        "run --dataset nope",
        "unknown dataset 'nope'; valid: bloodcell-lt",
        lambda w: w.run("--dataset", "nope"),
    ),
    BadInput(
        "dataset that needs an argument",
        "run --dataset medmnist-lt",
        "needs an argument, e.g. medmnist-lt:bloodmnist",
        lambda w: w.run("--dataset", "medmnist-lt"),
    ),
    BadInput(
        "unknown backbone",
        "run --backbone resnet-9000",
        "unknown timm backbone 'resnet-9000'",
        lambda w: w.run("--backbone", "resnet-9000"),
    ),
    BadInput(
        "missing pretrained weights file",
        "run --protocol paper --weights nofile.pth",
        "pretrained weights file nofile.pth not found",
        lambda w: w.run("--protocol", "paper", "--weights", "nofile.pth"),
    ),
    BadInput("negative seed", "run --seeds -1", "--seeds -1: a seed must be >= 0", lambda w: w.run("--seeds", "-1")),
    BadInput(
        "no method named",
        "run",
        "name methods with --method NAME",
        lambda w: [a for a in w.run() if a not in ("--method", "ce")],
    ),
    BadInput(
        "--results is a file",
        "run --results afile",
        "is a file; give a directory",
        lambda w: w.run("--results", w.file("afile", "x")),
    ),
    BadInput(
        "unknown stage-2 suffix",
        "run --method ce:cXX",
        "unknown stage-2 suffix 'cXX'; valid: cRW, cRS",
        lambda w: w.run("--method", "ce:cXX"),
    ),
    BadInput(
        "unknown dataset parameter",
        "run -p nosuch=1",
        "bad dataset parameter ['nosuch']",
        lambda w: w.run("-p", "nosuch=1"),
    ),
    # a user's method file
    BadInput(
        "method file that raises on import",
        "run --method mine.py:Mine",
        "importing it failed: RuntimeError: boom",
        lambda w: w.run("--method", w.file("mine.py", "raise RuntimeError('boom')\n") + ":Mine"),
    ),
    BadInput(
        "method file without the class",
        "run --method mine.py:Nope",
        "Nope",
        lambda w: w.run("--method", w.method_file('    name = "Mine"\n    id = "mine"') + ":Nope"),
    ),
    BadInput(
        "method file reusing a registered id",
        "run --method mine.py:Mine",
        "clashes with the registered method 'CE'",
        lambda w: w.run("--method", w.method_file('    name = "Mine"\n    id = "ce"') + ":Mine"),
    ),
    BadInput(
        "method id that is a path",
        "run --method mine.py:Mine",
        "id '..' is not a valid method id",
        lambda w: w.run("--method", w.method_file('    name = "Mine"\n    id = ".."') + ":Mine"),
    ),
    BadInput(
        "bad suffix on a user method",
        "run --method mine.py:Mine:cZZ",
        "unknown stage-2 suffix 'cZZ'",
        lambda w: w.run("--method", w.method_file('    name = "Mine"\n    id = "mine"') + ":Mine:cZZ"),
    ),
    # datasets
    BadInput(
        "negative image size",
        "datasets prepare digits-lt --size -4",
        "image size -4 px: must be a whole number >= 1",
        lambda w: ["datasets", "prepare", "digits-lt", "--size", "-4", "--cache-dir", str(w.cache)],
    ),
    BadInput(
        "missing raw folder",
        "datasets prepare skin7 --raw-root nowhere",
        "Download ISIC2018_Task3_Training_GroundTruth.csv",
        lambda w: ["datasets", "prepare", "skin7", "--raw-root", str(w.root / "nowhere"), "--cache-dir", str(w.cache)],
    ),
    BadInput(
        "unknown MedMNIST flag",
        "datasets prepare medmnist-lt:nosuch",
        "unknown MedMNIST flag 'nosuch'",
        lambda w: ["datasets", "prepare", "medmnist-lt:nosuch", "--raw-root", str(w.root), "--cache-dir", str(w.cache)],
    ),
    BadInput(
        "malformed --param",
        "datasets prepare digits-lt -p rho",
        "--param 'rho': expected KEY=VALUE",
        lambda w: ["datasets", "prepare", "digits-lt", "-p", "rho", "--cache-dir", str(w.cache)],
    ),
    BadInput(
        "dataset not prepared",
        "datasets info skin7",
        "skin7 is not prepared",
        lambda w: ["datasets", "info", "skin7", "--cache-dir", str(w.cache)],
    ),
    BadInput(
        "manifest without split_counts",
        "datasets verify digits-lt",
        "manifest.json has no 'split_counts'",
        _manifest_edit("split_counts"),
    ),
    BadInput("labels.npy shorter than images.npy", "datasets verify digits-lt", "but labels.npy", _short_labels),
    BadInput(
        "missing embedding source",
        "datasets embed bloodcell-lt --source none.npz",
        "none.npz: not found",
        lambda w: [
            "datasets",
            "embed",
            "bloodcell-lt",
            "--source",
            str(w.root / "none.npz"),
            "--out",
            str(w.root / "b.npz"),
        ],
    ),
    # results and what reads them
    BadInput(
        "missing results directory",
        "report --results nowhere",
        "results directory",
        lambda w: ["report", "--results", str(w.root / "nowhere")],
    ),
    BadInput("truncated result JSON", "report --results results", "not a valid result file", _corrupt_result),
    BadInput(
        "truncated predictions file",
        "leaderboard --results results --site site",
        "not a readable predictions file",
        _truncated_predictions,
    ),
    BadInput(
        "predictions file outside the results",
        "leaderboard --results results --site site",
        "is outside the submission",
        _outside_predictions,
    ),
    BadInput(
        "site folder that is not a site",
        "leaderboard --results results --site mysite",
        "is not a leaderboard site (no .medlt-site file); refusing to replace it",
        _non_site_folder,
    ),
    BadInput(
        "reference CSV with wrong columns",
        "check --reference ref.csv",
        "needs columns method, dataset",
        _reference("name,score\nCE,1\n"),
    ),
    BadInput(
        "reference CSV with a non-number",
        "check --reference ref.csv",
        "all_mean = 'high' is not a number",
        _reference("method,dataset,all_mean\nCE,skin7,high\n"),
    ),
    BadInput(
        "reference that matches no run",
        "check --reference ref.csv",
        "the reference has datasets xray9",
        _reference("method,dataset,all_mean\nCE,xray9,50\n"),
    ),
    BadInput(
        "negative tolerance",
        "check --tolerance -1",
        "--tolerance must be >= 0",
        lambda w: ["check", "--results", str(w.some_results()), "--tolerance", "-1"],
    ),
    # arguments normalised, protocols complete, one configuration per row
    BadInput(
        "two ids with one display name",
        "run --method two.py:A --method two.py:B",
        "two methods have the display name 'Same' (ids 'rt-same-a' and 'rt-diff')",
        lambda w: w.run("--method", w.file("two.py", SAME_NAME) + ":A", "--method", str(w.root / "two.py") + ":B"),
    ),
    BadInput(
        "method id of 300 characters",
        "run --method mine.py:Mine",
        "the id is 300 characters long; at most 100",
        lambda w: w.run("--method", w.method_file(f'    name = "Mine"\n    id = "{"x" * 300}"') + ":Mine"),
    ),
    BadInput(
        "display name with a newline",
        "run --method mine.py:Mine",
        "the display name contains '\\n'",
        lambda w: w.run("--method", w.method_file('    name = "Mine\\nx"\n    id = "mine"') + ":Mine"),
    ),
    BadInput(
        "method file with a 20,000-character description",
        "run --method mine.py:Mine",
        "its description is 20,000 characters; at most 10,000",
        lambda w: w.run(
            "--method", w.method_file('    name = "Mine"\n    id = "mine"\n    description = "x" * 20_000') + ":Mine"
        ),
    ),
    BadInput(
        "method whose __post_init__ raises",
        "run --method mine.py:Mine",
        "creating it failed: ValueError: boom: bad hyper-parameter",
        lambda w: w.run("--method", w.file("mine.py", RAISING_INIT) + ":Mine"),
    ),
    BadInput("ρ not a number", "run -p rho=abc", 'rho = "abc": must be a number', lambda w: w.run("-p", "rho=abc")),
    BadInput("ρ empty", "run -p rho=", 'rho = "": must be a number', lambda w: w.run("-p", "rho=")),
    BadInput("ρ zero", "run -p rho=0", "rho = 0: must be >= 1", lambda w: w.run("-p", "rho=0")),
    BadInput("ρ NaN", "run -p rho=nan", 'rho = "nan": must be a number', lambda w: w.run("-p", "rho=nan")),
    BadInput("negative dataset seed", "run -p seed=-1", "seed = -1: must be >= 0", lambda w: w.run("-p", "seed=-1")),
    BadInput(
        "validation fraction above 1",
        "run -p val_fraction=1.5",
        "val_fraction = 1.5: must be >= 0 and < 1",
        lambda w: w.run("-p", "val_fraction=1.5"),
    ),
    BadInput(
        "--device cuda without a GPU",
        "run --device cuda",
        "--device cuda: no CUDA device is available",
        lambda w: _no_gpu() or w.run("--device", "cuda"),
    ),
    BadInput(
        "read-only results folder",
        "run --results readonly/sub",
        "cannot write in",
        lambda w: w.run("--results", _unwritable(w)),
    ),
    BadInput(
        "read-only site folder",
        "run --site readonly/sub",
        "cannot write in",
        lambda w: [a for a in w.run("--site", _unwritable(w)) if a != "--no-site"],
    ),
    BadInput(
        "read-only cache folder",
        "run --cache-dir readonly/sub",
        "cannot write in",
        lambda w: w.run("--cache-dir", _unwritable(w)),
    ),
    BadInput(
        "read-only site folder for the leaderboard",
        "leaderboard --results results --site readonly/sub",
        "cannot write in",
        lambda w: ["leaderboard", "--results", str(w.some_results()), "--site", _unwritable(w)],
    ),
    BadInput(
        "read-only cache folder for datasets prepare",
        "datasets prepare digits-lt --cache-dir readonly/sub",
        "cannot write in",
        lambda w: ["datasets", "prepare", "digits-lt", "--cache-dir", _unwritable(w)],
    ),
    BadInput(
        "empty protocol file",
        P,
        "missing required keys backbone, image_size, epochs, batch_size, lr",
        lambda w: w.protocol(""),
    ),
    BadInput(
        "unknown [datasets.X] table",
        P,
        "[datasets.digts-lt]: unknown dataset 'digts-lt'; did you mean 'digits-lt'? known datasets: bloodcell-lt",
        lambda w: w.run("--protocol", _smoke_protocol(w, "\n[datasets.digts-lt]\nepochs = 1\n")),
    ),
    BadInput(
        "another protocol with the same name",
        P,
        "holds results of another configuration of digits-lt with protocol 'mine' (epochs: 40 -> now 4)",
        _other_protocol_same_name,
    ),
    BadInput(
        "other dataset parameters than the folder's",
        "run -p rho=5",
        "another configuration of digits-lt with protocol 'smoke' (dataset_params: {",
        _other_dataset_params,
    ),
    BadInput(
        "a display name another id has in the results",
        "run --method ce",
        "holds results of method 'ce-mine' with the display name 'CE'",
        _display_name_taken,
    ),
    BadInput(
        "corrupt MedMNIST npz",
        "datasets prepare medmnist-lt:bloodmnist",
        "bloodmnist.npz: unreadable (BadZipFile",
        _corrupt_medmnist,
    ),
    BadInput(
        "MCR above 100",
        "report --results results",
        "metrics.mcr_all: 150.0 is outside 0..100",
        _results_edit(_field_edit(lambda d: d["metrics"].update(mcr_all=150.0))),
    ),
    BadInput(
        "negative MCR",
        "leaderboard --results results --site site",
        "metrics.mcr_all: -20.0 is outside 0..100",
        _results_edit(_field_edit(lambda d: d["metrics"].update(mcr_all=-20.0)), "leaderboard"),
    ),
    BadInput(
        "a seed's result copied to another seed",
        "report --results results",
        "the file's path disagrees with its spec",
        _results_edit(_copied_seed),
    ),
    BadInput(
        "a cell mixing protocol settings",
        "report --results results",
        "protocol_config: differs from",
        _results_edit(_mixed_protocol),
    ),
    BadInput(
        "a schema-1 file among schema-2 files",
        "report --results results",
        "schema_version: differs from",
        _results_edit(lambda w: _edit_json(_seed_file(w, 1), lambda d: d.update(schema_version=1))),
    ),
    BadInput(
        "two method ids with one display name",
        "leaderboard --results results --site site",
        "spec.method: display name 'CE' is also method 'ce'",
        _results_edit(_second_id_same_name, "leaderboard"),
    ),
    BadInput(
        "over-long description",
        "leaderboard --results results --site site",
        "description: 20,000 characters; at most 10,000",
        _results_edit(_field_edit(lambda d: d.update(description="x" * 20_000)), "leaderboard"),
    ),
    BadInput(
        "5,000-character method name",
        "leaderboard --results results --site site",
        "spec.method: the display name is 5000 characters long",
        _results_edit(_spec_edit("method", "M" * 5000), "leaderboard"),
    ),
    BadInput(
        "method name with a newline",
        "report --results results",
        "spec.method: the display name contains '\\n'",
        _results_edit(_spec_edit("method", "CE\nx")),
    ),
    BadInput(
        "non-square confusion matrix",
        "leaderboard --results results --site site",
        "confusion_matrix: 6 rows of 5 entries; expected 6 × 6",
        _results_edit(
            _field_edit(lambda d: d.update(confusion_matrix=[r[:5] for r in d["confusion_matrix"]])), "leaderboard"
        ),
    ),
    BadInput(
        "short per-class recall list",
        "leaderboard --results results --site site",
        "per_class.recall: 5 entries for 6 classes",
        _results_edit(_field_edit(lambda d: d["per_class"].update(recall=d["per_class"]["recall"][:5])), "leaderboard"),
    ),
    BadInput(
        "UTF-16 reference file",
        "check --reference ref.csv",
        "not UTF-8 text",
        _reference("method,dataset,all_mean\nCE,skin7,80\n".encode("utf-16")),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.what for c in CASES])
def test_bad_input_gets_its_one_line_message(
    case: BadInput, tmp_path: Path, synthetic_result, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    work = Work(tmp_path, synthetic_result)
    argv = case.setup(work)
    capsys.readouterr()
    listing = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == case.code, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert case.message in lines[0], err
    # nothing the command found was removed or half-written
    assert set(listing) <= {p.relative_to(tmp_path) for p in tmp_path.rglob("*")}


def _rows() -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    return [f"| {cell(c.what)} | `{cell('python -m benchmark ' + c.command)}` | `{cell(c.message)}` |" for c in CASES]


def test_the_document_shows_exactly_the_tested_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip().splitlines()
    assert table[2:] == _rows(), (
        "docs/reliability.md is out of date: python tests/test_reliability_table.py rewrites it"
    )
    assert len(CASES) >= 40


def write_table() -> None:
    """Rewrite the table in docs/reliability.md from ``CASES``."""
    head, rest = DOC.read_text(encoding="utf-8").split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    table = "\n".join(["| bad input | command | the one line says (exit 2) |", "| --- | --- | --- |", *_rows()])
    DOC.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    write_table()
    shutil.os.sys.stdout.write(f"wrote {len(CASES)} rows to {DOC}\n")
