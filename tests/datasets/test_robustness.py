"""Bad input gives one-line DatasetErrors and leaves nothing behind; an interrupted prepare recovers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from datasets import DatasetError, create_builder
from tests import ROOT
from tests.datasets.fake_raw import SKIN7_CLASSES, XRAY9_CLASSES, write_dogs, write_flowers, write_skin7, write_xray9


def assert_nothing_left(cache: Path) -> None:
    left = sorted(str(p.relative_to(cache)) for p in cache.rglob("*")) if cache.exists() else []
    assert not [p for p in left if "manifest.json" in p or ".tmp-" in p or p.endswith("px")], left


def _skin7(raw: Path) -> str:
    write_skin7(raw, {c: 3 for c in SKIN7_CLASSES})
    return "skin7"


def _xray9(raw: Path) -> str:
    write_xray9(raw, [c for c in XRAY9_CLASSES for _ in range(3)])
    return "xray9"


def _flowers(raw: Path) -> str:
    write_flowers(raw, [30, 31, 32], setid=False)
    return "flower-lt"


def _dogs(raw: Path) -> str:
    write_dogs(raw, [10, 10], [2, 2])
    return "dogs-lt"


MISSING = [
    (_skin7, "ISIC2018_Task3_Training_GroundTruth.csv"),
    (_skin7, "ISIC2018_Task3_Training_Input"),
    (_xray9, "Data_Entry_2017.csv"),
    (_xray9, "images"),
    (_flowers, "imagelabels.mat"),
    (_flowers, "jpg"),
    (_dogs, "lists/train_list.mat"),
    (_dogs, "Images"),
]


@pytest.mark.parametrize("write, remove", MISSING, ids=[f"{w.__name__[1:]}-{r}" for w, r in MISSING])
def test_missing_official_file_says_what_to_download(tmp_path, write, remove):
    import shutil

    raw = tmp_path / "raw"
    name = write(raw)
    target = raw / remove
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    builder = create_builder(name)
    with pytest.raises(DatasetError) as e:
        builder.prepare(raw, tmp_path / "cache", size=8, workers=1, progress=False)
    msg = str(e.value)
    assert "\n" not in msg and remove.split("/")[-1] in msg and str(raw) in msg
    assert builder.source_url in msg and "--raw-root" in msg  # what to download, from where, where to put it
    assert_nothing_left(tmp_path / "cache")


def test_missing_raw_folder(tmp_path):
    with pytest.raises(DatasetError, match=r"skin7: the raw-data folder not found in .*nowhere.*Download"):
        create_builder("skin7").prepare(tmp_path / "nowhere", tmp_path / "cache", progress=False)


@pytest.mark.parametrize("workers", [1, 2])
def test_corrupt_image_is_named_and_nothing_is_left(tmp_path, workers):
    raw = tmp_path / "raw"
    names = write_skin7(raw, {c: 12 for c in SKIN7_CLASSES})  # 84 images: > one 64-image chunk
    bad = raw / "ISIC2018_Task3_Training_Input" / f"{names[70]}.jpg"
    bad.write_bytes(b"\x00garbage, not a JPEG" * 10)
    with pytest.raises(DatasetError) as e:
        create_builder("skin7").prepare(raw, tmp_path / "cache", size=8, workers=workers, progress=False)
    msg = str(e.value)
    assert str(bad) in msg and "corrupt or unreadable image" in msg and "\n" not in msg
    assert_nothing_left(tmp_path / "cache")


def test_leftover_tmp_folder_is_cleaned_and_prepare_succeeds(tmp_path):
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    _skin7(raw)
    builder = create_builder("skin7")
    folder = builder.folder(cache, 8)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = folder.with_name(f"{folder.name}.tmp-{dead.pid}")  # left by a process that is gone
    stale.mkdir(parents=True)
    (stale / "images.npy").write_bytes(b"half written")
    ds = builder.prepare(raw, cache, size=8, workers=1, progress=False)
    assert ds.root == folder and (folder / "manifest.json").is_file() and not stale.exists()
    assert _entries(folder.parent) == [folder]
    # preparing again over a finished folder replaces it cleanly
    again = builder.prepare(raw, cache, size=8, workers=1, progress=False)
    assert again.manifest_sha256 == ds.manifest_sha256 and _entries(folder.parent) == [folder]


def _entries(folder: Path) -> list[Path]:
    """What a folder holds besides the lock files of prepare and load."""
    return sorted(p for p in folder.iterdir() if p.suffix != ".lock")


KILLED = textwrap.dedent("""
    import sys, time
    import datasets.prepared as prepared
    from datasets import create_builder

    def stall(src, dst):  # the last step of write_prepared: stall there, as if killed mid-write
        print("WRITING", flush=True)
        time.sleep(60)

    prepared.os.replace = stall
    create_builder("skin7").prepare(sys.argv[1], sys.argv[2], size=8, workers=1, progress=False)
""")


def test_killed_prepare_then_prepare_again_starts_clean(tmp_path):
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    _skin7(raw)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(raw), str(cache)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        line = proc.stdout.readline()  # blocks until the child is inside write_prepared
        assert line.strip() == "WRITING", proc.stderr.read()
    finally:
        proc.kill()
        proc.wait(timeout=10)
    builder = create_builder("skin7")
    folder = builder.folder(cache, 8)
    stale = list(folder.parent.glob(f"{folder.name}.tmp-*"))
    assert len(stale) == 1 and (stale[0] / "manifest.json").is_file() and not folder.exists()
    ds = builder.prepare(raw, cache, size=8, workers=1, progress=False)
    assert ds.train_counts == [2, 2, 2, 2, 2, 2, 2] and _entries(folder.parent) == [folder]
