"""The checks of each dataset against its manifest: the manifest hash is the registered construction's, and
the class names and counts are the manifest's."""

from __future__ import annotations

from pathlib import Path

import datasets as ds

from .manifests import DatasetRuns, count_problems
from .problems import Problem
from .submission import Submission


def check_manifest_hash(sub: Submission, runs: DatasetRuns) -> list[Problem]:
    """The dataset manifest hash is the registered construction's.

    - datasets that need no download (``digits-lt``) are prepared into ``--cache-dir`` at the run's cache
      size and the hash of that manifest is the expected one;
    - for the others, the expected hash comes from ``--manifest NAME=SHA`` (repeatable) or from a prepared
      manifest of the default construction found in ``--cache-dir``; all runs of a dataset at one cache size
      must carry one hash, and it must be an expected one (with neither source the hash cannot be verified,
      which is a problem too).
    """
    given = sub.given.get(runs.dataset, set())
    manifest, found = runs.manifest
    expected = set(given)
    how = "--manifest" if given else ""
    sha = ds.manifest_sha256(manifest) if manifest is not None else None
    if sha:
        expected.add(sha)
        how = found if not how else f"{how} and {found}"
    if not expected:
        return _unverifiable_manifest(runs, sub.cache)
    out = [
        Problem(
            where,
            "dataset_manifest_sha256",
            f"{h[:12]}… does not match the registered construction of {runs.dataset}{runs.at} "
            f"(expected {' or '.join(e[:12] + '…' for e in sorted(expected))}, {how})",
        )
        for where, h in runs.entries
        if h not in expected
    ]
    if not out:
        sub.report.verified_manifests.append(f"{runs.dataset}{runs.at}")
    return out


def _unverifiable_manifest(runs: DatasetRuns, cache: Path) -> list[Problem]:
    """No expected hash: say how to give one, and whether the runs disagree among themselves."""
    dataset, at = runs.dataset, runs.at
    hashes = sorted({h for _, h in runs.entries})
    out = [
        Problem(
            dataset,
            "dataset_manifest_sha256",
            f"cannot verify the manifest hash{at} ({', '.join(h[:12] for h in hashes)}): pass "
            f"--manifest {dataset}=SHA256 or prepare {dataset} into --cache-dir {cache}",
        )
    ]
    if len(hashes) > 1:
        counts = {h: sum(1 for _, x in runs.entries if x == h) for h in hashes}
        out.append(
            Problem(
                dataset,
                "dataset_manifest_sha256",
                f"runs{at} carry {len(hashes)} different manifest hashes: "
                + ", ".join(f"{h[:12]} ({n} files)" for h, n in counts.items()),
            )
        )
    return out


def check_class_counts(sub: Submission, runs: DatasetRuns) -> list[Problem]:
    """The class names (``per_class.class_names``), the training counts (``per_class.train_counts``) and the
    test counts (the row sums of ``confusion_matrix``) equal the dataset manifest's ``class_names`` and
    ``split_counts`` (train / test) wherever that manifest can be had here (built into ``--cache-dir`` for
    datasets that need no download, such as the shipped ``bloodcell-lt`` and ``digits-lt``, else a prepared
    manifest found there); a mismatch names the first differing class (:func:`count_problems`). Where no
    manifest can be had, the summary says that the counts were not checked and why (so does it for runs whose
    hash was accepted by ``--manifest`` when the manifest found here is another construction)."""
    dataset, at, report = runs.dataset, runs.at, sub.report
    manifest, found = runs.manifest
    if not runs.counts:
        return []
    if manifest is None:
        report.notes.append(f"class counts of {dataset}{at} not checked: no dataset manifest here ({found})")
        return []
    missing = [k for k in ("class_names", "split_counts") if k not in manifest]
    if missing:
        report.notes.append(
            f"class counts of {dataset}{at} not checked: its manifest ({found}) has no {' or '.join(missing)}"
        )
        return []
    sha = ds.manifest_sha256(manifest)
    given = sub.given.get(dataset, set())
    # a hash accepted by --manifest that is not this manifest's: another construction, whose counts we do not have
    other = [run for run in runs.counts if run.manifest_sha256 != sha and run.manifest_sha256 in given]
    out = [p for run in runs.counts if run not in other for p in count_problems(run, manifest)]
    if other:
        report.notes.append(
            f"class counts of {len(other)} {dataset}{at} file{'s' * (len(other) != 1)} not checked: "
            f"their manifest hash was accepted by --manifest and the manifest here ({found}) is "
            f"another construction"
        )
    if not out and len(other) < len(runs.counts):
        report.verified_counts.append(f"{dataset}{at}")
    return out
