"""The public builder checks (:mod:`datasets.testing`) can fail: each broken builder fails ``check_builder``
naming the check that catches it; a correct builder outside the registry passes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from datasets import DatasetBuilder, DatasetError, RawDataset
from datasets.digits import DigitsLT
from datasets.testing import builder_checks, check_builder, parametrize_with_checks


@dataclass(frozen=True)
class NoSourceURL(DigitsLT):
    """Digits-LT without a source URL: a user could not find the data."""

    source_url = ""


@dataclass(frozen=True)
class ForgetsTheSeed(DigitsLT):
    """Leaves the seed out of its recorded parameters: two seeds would share one manifest."""

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in super().params().items() if k != "seed"}


@dataclass(frozen=True)
class OneFolder(DigitsLT):
    """Prepares every construction into the same folder: a changed ρ would read the old images."""

    def folder(self, cache_root: Path, size: int) -> Path:
        return Path(cache_root) / f"{self.id}-0" / f"{size}px"


@dataclass(frozen=True)
class MultiLineError(DatasetBuilder):
    """Needs raw files but names none, and reports a missing file over several lines."""

    name = "multi-line"
    title = "Multi-line"
    image_type = "none"
    source_url = "https://example.org/data"
    license = "CC0"

    def read(self, raw_root: Path | None) -> RawDataset:
        raise DatasetError("missing:\n  labels.csv")


@dataclass(frozen=True)
class NotShipped(DigitsLT):
    """Needs no raw files yet does not say that its data ship with a package."""

    shipped = False


class NotABuilder:
    """A class that is not a DatasetBuilder at all."""

    name = "not-a-builder"


BROKEN = [
    (NoSourceURL, "check_declares_facts"),
    (ForgetsTheSeed, "check_parameters_stored_as_given"),
    (OneFolder, "check_folder_identity"),
    (MultiLineError, "check_missing_files_is_one_line_error"),
    (NotShipped, "check_shipped_prepares"),
    (NotABuilder, "check_is_a_frozen_dataclass"),
]


@pytest.mark.parametrize("cls, failing", BROKEN, ids=[c.__name__ for c, _ in BROKEN])
def test_a_broken_builder_fails_naming_the_check(cls: type, failing: str) -> None:
    with pytest.raises(AssertionError, match=rf"^\S+: {failing} failed: "):
        check_builder(cls)
    with pytest.raises(AssertionError):
        dict(builder_checks(cls))[failing](cls)  # the check alone fails too


def test_a_builder_that_takes_an_argument_needs_one() -> None:
    with pytest.raises(AssertionError, match="takes an argument"):
        check_builder("medmnist-lt")
    check_builder("medmnist-lt", argument="bloodmnist")


@dataclass(frozen=True)
class Renamed(DigitsLT):
    """Digits-LT under another name and a smaller ρ: a correct builder that is not registered."""

    name = "renamed-digits"
    rho: float = 5.0


@parametrize_with_checks([Renamed])
def test_a_correct_builder_passes(builder, check) -> None:
    check(builder)


def test_every_check_is_named_and_documented() -> None:
    checks = builder_checks(Renamed)
    assert len(checks) >= 5 and len({n for n, _ in checks}) == len(checks)
    for name, check in checks:
        assert name.startswith("check_") and check.__doc__ and len(check.__doc__.strip()) > 40, name
    mark = parametrize_with_checks([Renamed, "medmnist-lt:bloodmnist"])
    ids = [p.id for p in mark.args[1]]
    assert (
        ids[0] == "renamed-digits-check_is_a_frozen_dataclass" and "medmnist-lt:bloodmnist-check_folder_identity" in ids
    )
