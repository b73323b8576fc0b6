"""Every registered dataset builder passes the public checks (:mod:`datasets.testing`); the paper's datasets are
registered."""

from __future__ import annotations

from datasets import dataset_names, registered_builders
from datasets.testing import parametrize_with_checks


def builder_names() -> list[str]:
    return sorted(
        n + (":bloodmnist" if getattr(c, "takes_argument", False) else "") for n, c in registered_builders().items()
    )


def test_registry_holds_the_papers_datasets():
    assert {"digits-lt", "skin7", "xray9", "pathmnist-lt", "medmnist-lt", "flower-lt", "dogs-lt"} <= set(
        registered_builders()
    )
    assert "medmnist-lt:<flag>" in dataset_names()


@parametrize_with_checks(builder_names())
def test_public_checks(builder, check):
    """Every check of :func:`datasets.testing.builder_checks` on every registered builder (``name:bloodmnist``
    for one that takes an argument); nothing is downloaded."""
    check(builder)
