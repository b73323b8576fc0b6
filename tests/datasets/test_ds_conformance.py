"""Every registered dataset builder declares its facts and can be created by name."""

from __future__ import annotations

import dataclasses

import pytest

from datasets import DatasetBuilder, DatasetError, create_builder, dataset_names, registered_builders


def builder_names() -> list[str]:
    return sorted(
        n + (":bloodmnist" if getattr(c, "takes_argument", False) else "") for n, c in registered_builders().items()
    )


def test_registry_holds_the_papers_datasets():
    assert {"digits-lt", "skin7", "xray9", "pathmnist-lt", "medmnist-lt", "flower-lt", "dogs-lt"} <= set(
        registered_builders()
    )
    assert "medmnist-lt:<flag>" in dataset_names()


@pytest.mark.parametrize("name", builder_names())
def test_builder_conformance(name, tmp_path, monkeypatch):
    monkeypatch.delenv("MEDLT_ALLOW_DOWNLOAD", raising=False)
    cls = registered_builders()[name.split(":")[0]]
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen and issubclass(cls, DatasetBuilder)
    for attr in ("title", "source_url", "license"):
        assert isinstance(getattr(cls, attr), str) and getattr(cls, attr).strip(), attr
    builder = create_builder(name, seed=1)
    assert builder.seed == 1 and builder.id == name
    assert builder.image_type and builder.default_size > 0 and builder.n_minor >= 1
    assert builder.source_url.startswith("http")
    folder = builder.folder(tmp_path, 8)
    assert folder.name == "8px" and folder.parent.name.startswith(name.replace(":", "_") + "-")
    assert folder != create_builder(name, seed=2).folder(tmp_path, 8)  # the seed is part of the identity
    if builder.needs_raw:
        assert builder.raw_files
        (tmp_path / "empty").mkdir()
        with pytest.raises(DatasetError) as e:  # an empty --raw folder: one line naming a file and the source
            builder.prepare(tmp_path / "empty", tmp_path / "cache", size=8, progress=False)
        assert "\n" not in str(e.value) and builder.source_url in str(e.value)
    else:  # no download: the data ship with a package, and it prepares from nothing
        assert builder.shipped
        data = create_builder(name).prepare(None, tmp_path / "cache", size=8, progress=False)
        assert data.images.shape[1:] == (8, 8, 3) and min(data.train_counts) > 0
