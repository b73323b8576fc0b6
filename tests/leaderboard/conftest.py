"""Sites for the leaderboard tests: real smoke runs plus a synthetic second dataset, and an XSS site."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

XSS = {
    "name": "<script>window.__xss=1</script>",
    "description": '<img src=x onerror="window.__xss=2">',
    "reference": "<svg onload=window.__xss=4>",
    "class": "<script>window.__xss=5</script>",
}


@pytest.fixture(scope="session")
def xss_payloads() -> dict[str, str]:
    """The script payloads the XSS site carries in its result files."""
    return dict(XSS)


@pytest.fixture(scope="session")
def board_results(smoke_results: Path, synthetic_result, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke runs (digits-lt, a demonstration set) plus synthetic skin7 and xray9 runs of the same methods,
    backbone and protocol. On xray9, RW has the highest mean but only 2 seeds (so it may not be marked best).

    Average ranks over the two ranked datasets: CE→cRW 1.5 (1st, 2nd), RW 2.0 (3rd, 1st), CE 2.5 (2nd, 3rd).
    """

    root = tmp_path_factory.mktemp("board") / "results"
    shutil.copytree(smoke_results, root, ignore=shutil.ignore_patterns(".stage1"))
    for dataset, means in (
        ("skin7", (("CE", 80.0), ("CE→cRW", 84.0), ("RW", 70.0))),
        ("xray9", (("CE", 50.0), ("CE→cRW", 55.0), ("RW", 60.0))),
    ):
        for method, base in means:
            deltas = (-0.5, 0.5) if (dataset, method) == ("xray9", "RW") else (-0.5, 0.0, 0.5)
            for seed, delta in enumerate(deltas):
                synthetic_result(
                    root,
                    dataset=dataset,
                    method=method,
                    seed=seed,
                    backbone="test_resnet",
                    protocol="smoke",
                    metrics={"mcr_all": base + delta, "mcr_major": base + 5, "mcr_minor": base - 5},
                )
    return root


@pytest.fixture(scope="session")
def board_site(board_results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from leaderboard import build_site

    out = tmp_path_factory.mktemp("board-site") / "site"
    build_site(board_results, out)
    return out


@pytest.fixture(scope="session")
def xss_site(synthetic_result, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site whose result files carry script payloads in every free-text field and a javascript: link."""
    from leaderboard import build_site

    XSS_NAME, XSS_DESCRIPTION, XSS_REFERENCE, XSS_CLASS = (
        XSS["name"],
        XSS["description"],
        XSS["reference"],
        XSS["class"],
    )

    root = tmp_path_factory.mktemp("xss") / "results"
    for method, mid, base in (("CE", "ce", 80.0), (XSS_NAME, "xss", 85.0)):
        for seed in range(3):
            path = synthetic_result(
                root,
                dataset="skin7",
                method=method,
                method_id=mid,
                seed=seed,
                metrics={"mcr_all": base + seed, "mcr_major": base, "mcr_minor": base},
                description=XSS_DESCRIPTION if mid == "xss" else "baseline",
                reference=XSS_REFERENCE if mid == "xss" else "",
                url="javascript:window.__xss=3" if mid == "xss" else "https://example.org/ce",
                hyperparameters={XSS_NAME: XSS_DESCRIPTION} if mid == "xss" else {},
            )
            data = json.loads(path.read_text())
            data["per_class"]["class_names"][0] = XSS_CLASS
            path.write_text(json.dumps(data))
    out = tmp_path_factory.mktemp("xss-site") / "site"
    build_site(root, out)
    return out
