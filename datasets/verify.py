"""``datasets verify``: recompute a prepared dataset's checksums in full and compare them with its manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .prepared import SPLITS, PreparedDataset, array_sha256, file_sha256
from .sources import SOURCE_FILES, find_source


def verify_prepared(data: PreparedDataset, raw_root: str | Path | None = None) -> list[str]:
    """Every mismatch between ``data``'s arrays (and the source files in ``raw_root``) and its manifest.

    Checks the label and split checksums, the per-split class counts and, with ``raw_root``, the
    sha256 of each source file (hashed in full, whatever its size and mtime). Empty when all agree.
    """
    m, problems = data.manifest, []
    recorded = m.get("checksums", {})
    arrays = {"labels": data.labels, **{f"split_{s}": data.splits[s] for s in SPLITS}}
    for key, array in arrays.items():
        now = array_sha256(np.asarray(array, dtype=np.int64))
        if recorded.get(key) != now:
            problems.append(f"{key}: sha256 {now[:12]}, manifest checksums.{key} {str(recorded.get(key))[:12]}")
    for s in SPLITS:
        now_counts = np.bincount(data.labels[data.splits[s]], minlength=data.num_classes).tolist()
        if now_counts != m["split_counts"][s]:
            problems.append(f"split {s}: class counts {now_counts}, manifest split_counts.{s} {m['split_counts'][s]}")
    if raw_root is not None:
        facts = m.get("build", {}).get(SOURCE_FILES, {})
        for name, sha in sorted(m.get("source_checksums", {}).items()):
            path = find_source(Path(raw_root), name, facts.get(name, {}))
            if path is None:
                problems.append(f"source file {name}: not found in {raw_root}")
            elif (now := file_sha256(path)) != sha:
                problems.append(f"source file {path}: sha256 {now[:12]}, manifest source_checksums {sha[:12]}")
    return problems
