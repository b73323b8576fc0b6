"""Validate a results directory before it is submitted (``python -m benchmark validate DIR``).

Checks, each failure reported as ``FILE: FIELD: PROBLEM``. A broken result or predictions file is one
such problem, not an error that stops the check: the submitter sees everything to fix in one pass
(exit 1), and a directory with any problem is refused as a submission.

* every ``seed-*.json`` parses and matches the result schema (:class:`benchmark.schema.RunResult`;
  pydantic's errors become one line per field path);
* the run finished (``status`` ``ok``) with metrics, per-class recall, a confusion matrix and its
  predictions file, no metric is NaN, and the metrics and per-class recalls agree with the confusion
  matrix (within 1e-6);
* the predictions file lies inside the submission (a relative path with no ``..``) and is a
  readable ``.npz`` that reproduces the confusion matrix exactly;
* the metrics of schema version 2, where a result has them, agree within 1e-6 with the values
  recomputed from the predictions file: accuracy, macro-F1 and many / medium / few-shot MCR from the
  labels and predictions, macro AUC, ECE and NLL from its float16 ``logits`` (``run`` computes them
  from those same rounded logits, so the recomputation is exact up to float64 rounding; a result
  with these metrics and a predictions file without logits cannot be checked, which is a problem);
* provenance is filled in (package version, torch version, device, timestamps);
* the protocol is a shipped one (:func:`benchmark.protocol.protocol_names`);
* the dataset is registered and its manifest hash is the registered construction's:

  - datasets that need no download (``digits-lt``) are prepared into ``--cache-dir`` at the
    run's cache size and the hash of that manifest is the expected one;
  - for the others, the expected hash comes from ``--manifest NAME=SHA`` (repeatable) or from a
    prepared manifest of the default construction found in ``--cache-dir``; all runs of a dataset
    at one cache size must carry one hash, and it must be an expected one (with neither source
    the hash cannot be verified, which is a problem too);

* the class names (``per_class.class_names``), the training counts (``per_class.train_counts``) and the
  test counts (the row sums of ``confusion_matrix``) equal the dataset manifest's ``class_names`` and
  ``split_counts`` (train / test) wherever that manifest can be had here (built into ``--cache-dir`` for
  datasets that need no download, such as the shipped ``bloodcell-lt`` and ``digits-lt``, else a prepared
  manifest found there); a mismatch names the first differing class. Where no manifest can be had, the
  summary says that the counts were not checked and why (so does it for runs whose hash was accepted by
  ``--manifest`` when the manifest found here is another construction);

* the file sits where its spec says (``<dataset>/<backbone>/<protocol>/<method-id>/seed-<k>.json``);
* no two files hold the same run (same dataset, backbone, protocol, method and seed);
* every (dataset, backbone, protocol, method) cell has at least 3 seeds.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from .results import Predictions, ResultFileError, iter_result_files, load_predictions, predictions_path, result_path
from .schema import RunResult

MIN_SEEDS = 3


@dataclass(frozen=True)
class Problem:
    where: str
    field: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}" if self.field else f"{self.where}: {self.message}"


@dataclass
class ValidationReport:
    root: Path
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    cells: dict[tuple[str, str, str, str], set[int]] = field(default_factory=dict)
    verified_manifests: list[str] = field(default_factory=list)
    #: (dataset at size) whose class names and train / test counts were checked against its manifest.
    verified_counts: list[str] = field(default_factory=list)
    #: What could not be checked, and why (shown in the summary: nothing is skipped silently).
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def _notes(self) -> str:
        return "".join(f"; {note}" for note in self.notes)

    def summary(self) -> str:
        if not self.ok:
            return f"{len(self.problems)} problem{'s' * (len(self.problems) != 1)} in {self.root}{self._notes()}"
        datasets = {c[0] for c in self.cells}
        methods = {c[3] for c in self.cells}
        backbones = {c[1] for c in self.cells}
        protocols = {c[2] for c in self.cells}
        seeds = sorted({len(s) for s in self.cells.values()})
        plural = lambda n, w: f"{n} {w}{'s' * (n != 1)}"
        return (
            f"OK: {plural(self.files, 'result file')}, {plural(len(self.cells), 'cell')} "
            f"({plural(len(datasets), 'dataset')}, {plural(len(methods), 'method')}, "
            f"{plural(len(backbones), 'backbone')}, {plural(len(protocols), 'protocol')}), "
            f"{seeds[0] if len(seeds) == 1 else f'{seeds[0]}-{seeds[-1]}'} seeds per cell; "
            f"manifests verified: {', '.join(self.verified_manifests) or 'none'}; "
            f"class counts verified: {', '.join(self.verified_counts) or 'none'}{self._notes()}"
        )


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pydantic_problems(where: str, error: ValidationError) -> list[Problem]:
    """One :class:`Problem` per pydantic error: the field path and a plain message."""
    out = []
    for e in error.errors(include_url=False):
        kind = e.get("type", "")
        if kind == "missing":
            message = "required field is missing"
        elif kind == "extra_forbidden":
            message = "unknown field (not in the result schema)"
        else:
            message = f"{e['msg']} (got {_short(e.get('input'))})"
        out.append(Problem(where, _loc(tuple(e["loc"])), message))
    return out


def _check_consistency(where: str, r: RunResult, path: Path, root: Path) -> list[Problem]:
    out = []
    for name in ("metrics", "per_class", "confusion_matrix", "predictions_file"):
        if getattr(r, name) is None:
            out.append(Problem(where, name, "required when status is 'ok'"))
    if out:
        return out
    assert r.metrics is not None and r.per_class is not None and r.confusion_matrix is not None
    cm = np.asarray(r.confusion_matrix, dtype=np.int64)
    c = len(r.per_class.class_names)
    if cm.shape != (c, c):
        return [Problem(where, "confusion_matrix", f"shape {cm.shape} does not match {c} classes")]
    for name in ("train_counts", "recall", "group"):
        if len(getattr(r.per_class, name)) != c:
            out.append(
                Problem(where, f"per_class.{name}", f"{len(getattr(r.per_class, name))} entries for {c} classes")
            )
    if out:
        return out
    from .metrics import mean_class_recall

    groups = {g: [i for i, x in enumerate(r.per_class.group) if x == g] for g in ("major", "medium", "minor")}
    expected = {
        "mcr_all": mean_class_recall(cm),
        "mcr_major": mean_class_recall(cm, groups["major"]),
        "mcr_minor": mean_class_recall(cm, groups["minor"]),
        "mcr_medium": mean_class_recall(cm, groups["medium"]) if groups["medium"] else None,
    }
    for name, value in expected.items():
        got = getattr(r.metrics, name)
        if got is not None and math.isnan(got):
            continue  # _check_nan_metrics says so
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if got is None or abs(got - value) > TOLERANCE:
            out.append(Problem(where, f"metrics.{name}", f"{got} disagrees with the confusion matrix ({value:.6f})"))
    out += _check_recall(where, r, cm)
    try:
        preds = predictions_path(path, str(r.predictions_file), root)
    except ResultFileError as e:
        return out + [Problem(where, None, e.problem)]
    if not preds.is_file():
        out.append(Problem(where, "predictions_file", f"{r.predictions_file} not found next to the result file"))
        return out
    try:
        evidence = load_predictions(preds, num_classes=c)
    except ResultFileError as e:
        return out + [Problem(where, "predictions_file", f"{r.predictions_file}: {e.problem}")]
    y_true, y_pred = evidence.y_true, evidence.y_pred
    if y_true.shape != y_pred.shape or len(y_true) != int(cm.sum()):
        out.append(
            Problem(
                where,
                "predictions_file",
                f"{len(y_true)} labels / {len(y_pred)} predictions, but the confusion matrix counts {int(cm.sum())}",
            )
        )
        return out
    reproduce = _check_predictions_reproduce(where, r, cm, y_true, y_pred)
    return out + (reproduce or _check_recomputed_metrics(where, r, evidence, groups))


#: How far a stored metric or recall (in %; NLL in nats) may be from the value recomputed from the evidence.
TOLERANCE = 1e-6


def _check_recomputed_metrics(
    where: str, r: RunResult, evidence: Predictions, groups: Mapping[str, list[int]]
) -> list[Problem]:
    """Metrics beyond the MCR of the dataset's groups (schema version 2), where the result has them, against
    the values :func:`benchmark.metrics.evaluate_predictions` recomputes from the predictions file."""
    from .metrics import LOGIT_METRICS, evaluate_predictions
    from .schema import metric_names

    assert r.metrics is not None and r.per_class is not None
    stored = r.metrics.model_dump()
    recomputed = evaluate_predictions(
        evidence.y_true,
        evidence.y_pred,
        len(r.per_class.class_names),
        {"major": groups["major"], "minor": groups["minor"], "medium": groups["medium"] or None},
        logits=evidence.logits,
        train_counts=r.per_class.train_counts,
    )
    out = []
    for name in metric_names():
        got = stored[name]
        if name in ("mcr_all", "mcr_major", "mcr_minor", "mcr_medium") or got is None or math.isnan(got):
            continue  # checked against the confusion matrix above / absent / _check_nan_metrics says so
        source = f"the logits in {r.predictions_file}" if name in LOGIT_METRICS else f"{r.predictions_file}"
        if name in LOGIT_METRICS and evidence.logits is None:
            out.append(Problem(where, f"metrics.{name}", f"cannot be checked: {r.predictions_file} holds no logits"))
            continue
        value = recomputed[name]
        if value is None or math.isnan(value) or abs(got - value) > TOLERANCE:
            shown = "undefined" if value is None or math.isnan(value) else f"{value:.6f}"
            out.append(Problem(where, f"metrics.{name}", f"{got} disagrees with {source} ({shown})"))
    return out


def _check_recall(where: str, r: RunResult, cm: np.ndarray) -> list[Problem]:
    """Per-class recall (%) is the confusion matrix's diagonal over its row sums."""
    assert r.per_class is not None
    rows = cm.sum(axis=1)
    out = []
    for i, (name, got) in enumerate(zip(r.per_class.class_names, r.per_class.recall)):
        if rows[i] == 0 or got is None or (isinstance(got, float) and math.isnan(got)):
            continue
        value = 100.0 * cm[i, i] / rows[i]
        if abs(got - value) > TOLERANCE:
            out.append(
                Problem(
                    where,
                    f"per_class.recall[{i}]",
                    f"{got} for {name!r} disagrees with the confusion matrix ({value:.6f})",
                )
            )
    return out


def _check_predictions_reproduce(
    where: str, r: RunResult, cm: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray
) -> list[Problem]:
    """The predictions file must give exactly the stored confusion matrix (rows: true class)."""
    c = cm.shape[0]
    if y_true.size and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= c):
        return [Problem(where, "predictions_file", f"{r.predictions_file}: labels outside 0..{c - 1}")]
    recomputed = np.zeros((c, c), dtype=np.int64)
    np.add.at(recomputed, (y_true.astype(np.int64), y_pred.astype(np.int64)), 1)
    if not np.array_equal(recomputed, cm):
        i, j = map(int, np.argwhere(recomputed != cm)[0])
        return [
            Problem(
                where,
                "predictions_file",
                f"{r.predictions_file} does not reproduce the confusion matrix "
                f"(true {i}, predicted {j}: {recomputed[i, j]} in the file, "
                f"{cm[i, j]} in the result)",
            )
        ]
    return []


def _check_nan_metrics(where: str, r: RunResult) -> list[Problem]:
    """A metric stored as "NaN" (e.g. a group with no test image) cannot be ranked or compared."""
    if r.metrics is None:
        return []
    return [
        Problem(where, f"metrics.{name}", "NaN (undefined); a submitted run needs every metric")
        for name, value in r.metrics.model_dump().items()
        if value is not None and math.isnan(value)
    ]


def _check_provenance(where: str, r: RunResult) -> list[Problem]:
    return [
        Problem(where, f"provenance.{name}", "empty")
        for name in ("package_version", "torch_version", "python_version", "device", "started", "finished")
        if not str(getattr(r.provenance, name)).strip()
    ]


def _cache_size(r: RunResult) -> int | None:
    size = r.protocol_config.get("cache_size")
    if isinstance(size, int):
        return size
    from .protocol import ProtocolError, load_protocol

    try:
        return load_protocol(r.spec.protocol).for_dataset(r.spec.dataset).cache_size
    except ProtocolError:
        return None


def dataset_manifest(dataset: str, size: int | None, cache_dir: Path) -> tuple[dict[str, Any] | None, str]:
    """The registered construction's prepared manifest (class names, split counts, checksums) at ``size`` px,
    if it can be had here, and how it was found (or why not).

    Datasets that need no download are built into ``cache_dir``; for the others a prepared manifest must be
    there already. Raises :class:`datasets.DatasetError` when a dataset cannot be built.
    """
    import datasets as ds

    builder = ds.create_builder(dataset)
    if size is None:
        return None, "unknown cache size"
    if not builder.needs_raw:
        prepared = builder.load(cache_root=cache_dir, size=size, progress=False)
        return prepared.manifest, f"built here at {size} px"
    path = builder.folder(cache_dir, size) / "manifest.json"
    if not path.is_file():
        return None, f"not prepared in {cache_dir}"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"{path} unreadable ({e})"
    if not isinstance(manifest, dict):
        return None, f"{path} is not a JSON object"
    return manifest, f"prepared in {path.parent}"


def expected_manifest(dataset: str, size: int | None, cache_dir: Path) -> tuple[str | None, str]:
    """The registered construction's manifest hash, if it can be had here, and how it was found."""
    import datasets as ds

    manifest, how = dataset_manifest(dataset, size, cache_dir)
    return (ds.manifest_sha256(manifest) if manifest is not None else None), how


@dataclass(frozen=True)
class RunCounts:
    """What one result file says about its dataset: class names, training and test counts per class."""

    where: str
    manifest_sha256: str
    class_names: list[str]
    train_counts: list[int]
    test_counts: list[int] | None  # row sums of the confusion matrix; None without one


def _run_counts(where: str, r: RunResult) -> RunCounts | None:
    if r.status != "ok" or r.per_class is None:
        return None
    cm = r.confusion_matrix
    return RunCounts(
        where,
        r.dataset_manifest_sha256,
        list(r.per_class.class_names),
        list(r.per_class.train_counts),
        [int(sum(row)) for row in cm] if cm is not None else None,
    )


def _first_difference(got: list[Any], expected: list[Any]) -> int | None:
    return next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), None)


def count_problems(run: RunCounts, manifest: Mapping[str, Any]) -> list[Problem]:
    """The run's class names, training counts and test counts (confusion-matrix row sums) against the
    dataset manifest's ``class_names`` and ``split_counts``; each problem names the first differing class.

    Counts of a different length are left to the consistency checks (they say how many entries there are).
    """
    names = list(manifest["class_names"])
    counts = manifest["split_counts"]
    if len(run.class_names) != len(names):
        return [
            Problem(
                run.where,
                "per_class.class_names",
                f"{len(run.class_names)} classes in the result, {len(names)} in the dataset manifest",
            )
        ]
    out = []
    i = _first_difference(run.class_names, names)
    if i is not None:
        out.append(
            Problem(
                run.where,
                "per_class.class_names",
                f"class {i} is {run.class_names[i]!r} in the result, {names[i]!r} in the dataset manifest",
            )
        )
    for field_name, got, split, unit in (
        ("per_class.train_counts", run.train_counts, "train", ""),
        ("confusion_matrix", run.test_counts, "test", " test images (row sum)"),
    ):
        expected = list(counts[split])
        if got is None or len(got) != len(expected):
            continue
        i = _first_difference(got, expected)
        if i is not None:
            out.append(
                Problem(
                    run.where,
                    field_name,
                    f"class {i} {names[i]!r} has {got[i]}{unit} in the result, {expected[i]} in the dataset manifest",
                )
            )
    return out


def validate_results(
    results_dir: str | Path,
    cache_dir: str | Path | None = None,
    manifests: Mapping[str, Any] | None = None,
    min_seeds: int = MIN_SEEDS,
) -> ValidationReport:
    """Every problem of a results directory (see the module docstring); ``manifests`` maps a dataset
    name to one expected manifest hash or a collection of them."""
    import datasets as ds

    from .protocol import protocol_names

    root = Path(results_dir)
    report = ValidationReport(root)
    cache = Path(cache_dir) if cache_dir is not None else ds.DEFAULT_CACHE
    given = {k: ({v} if isinstance(v, str) else set(v)) for k, v in (manifests or {}).items()}
    problems = report.problems
    if not root.is_dir():
        problems.append(Problem(str(root), None, "results directory not found"))
        return report
    protocols = protocol_names()
    seen: dict[tuple, str] = {}
    by_manifest: dict[tuple[str, int | None], list[tuple[str, str]]] = defaultdict(list)
    run_counts: dict[tuple[str, int | None], list[RunCounts]] = defaultdict(list)
    rel = lambda p: p.relative_to(root).as_posix()
    for path in iter_result_files(root):
        report.files += 1
        where = rel(path)
        try:
            data = json.loads(path.read_bytes())
        except json.JSONDecodeError as e:
            problems.append(Problem(where, None, f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"))
            continue
        except (OSError, UnicodeDecodeError) as e:
            problems.append(Problem(where, None, f"unreadable: {e}"))
            continue
        if not isinstance(data, dict):
            problems.append(Problem(where, None, f"expected a JSON object, got {type(data).__name__}"))
            continue
        try:
            r = RunResult.model_validate(data)
        except ValidationError as e:
            problems += pydantic_problems(where, e)
            continue
        s = r.spec
        if r.status != "ok":
            first = (r.error or "no error message").strip().splitlines()[0] if (r.error or "").strip() else "no message"
            problems.append(Problem(where, "status", f"run failed ({first}); re-run it before submitting"))
        else:
            problems += _check_nan_metrics(where, r) + _check_consistency(where, r, path, root)
        problems += _check_provenance(where, r)
        if s.protocol not in protocols:
            problems.append(
                Problem(where, "spec.protocol", f"unknown protocol {s.protocol!r}; valid: {', '.join(protocols)}")
            )
        try:
            ds.builder_class(s.dataset)
            known_dataset = True
        except ds.DatasetError:
            known_dataset = False
            problems.append(
                Problem(where, "spec.dataset", f"unknown dataset {s.dataset!r}; valid: {', '.join(ds.dataset_names())}")
            )
        try:
            expected_path = result_path(root, s)
        except ValueError as e:  # a name such as '..' that no run of this tool files
            problems.append(Problem(where, "spec", str(e)))
        else:
            if expected_path.resolve() != path.resolve():
                problems.append(
                    Problem(where, "spec", f"the file's path disagrees with its spec: expected {rel(expected_path)}")
                )
        for key in (
            (s.dataset, s.backbone, s.protocol, "id", s.method_id, s.seed),
            (s.dataset, s.backbone, s.protocol, "name", s.method, s.seed),
        ):
            if key in seen:
                problems.append(
                    Problem(
                        where,
                        "spec",
                        f"duplicate run: {s.method} ({s.method_id}) seed {s.seed} on "
                        f"{s.dataset}/{s.backbone}/{s.protocol} is also in {seen[key]}",
                    )
                )
                break
        else:
            for key in (
                (s.dataset, s.backbone, s.protocol, "id", s.method_id, s.seed),
                (s.dataset, s.backbone, s.protocol, "name", s.method, s.seed),
            ):
                seen[key] = where
            if r.status == "ok":
                report.cells.setdefault((s.dataset, s.backbone, s.protocol, s.method), set()).add(s.seed)
        if known_dataset:
            size = _cache_size(r)
            by_manifest[(s.dataset, size)].append((where, r.dataset_manifest_sha256))
            counts = _run_counts(where, r)
            if counts is not None:
                run_counts[(s.dataset, size)].append(counts)
    if report.files == 0:
        problems.append(Problem(str(root), None, "no result files (seed-*.json) found"))
    for (dataset, backbone, protocol, method), seeds in sorted(report.cells.items()):
        if len(seeds) < min_seeds:
            problems.append(
                Problem(
                    f"{dataset}/{backbone}/{protocol}",
                    method,
                    f"{len(seeds)} seed{'s' * (len(seeds) != 1)} ({', '.join(map(str, sorted(seeds)))}); "
                    f"at least {min_seeds} are required",
                )
            )
    for (dataset, size), entries in sorted(by_manifest.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        try:
            manifest, found = dataset_manifest(dataset, size, cache)
        except ds.DatasetError as e:
            manifest, found = None, f"cannot be built here ({e})"
        problems += _check_manifests(dataset, size, entries, given.get(dataset, set()), cache, report, manifest, found)
        problems += _check_counts(
            dataset, size, run_counts[(dataset, size)], given.get(dataset, set()), report, manifest, found
        )
    return report


def _check_counts(
    dataset: str,
    size: int | None,
    runs: list[RunCounts],
    given: set[str],
    report: ValidationReport,
    manifest: Mapping[str, Any] | None,
    found: str,
) -> list[Problem]:
    """Every run's class names and counts against the manifest, or a note saying why they were not checked."""
    import datasets as ds

    at = f" at {size} px" if size else ""
    if not runs:
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
    # a hash accepted by --manifest that is not this manifest's: another construction, whose counts we do not have
    other = [run for run in runs if run.manifest_sha256 != sha and run.manifest_sha256 in given]
    out = [p for run in runs if run not in other for p in count_problems(run, manifest)]
    if other:
        report.notes.append(
            f"class counts of {len(other)} {dataset}{at} file{'s' * (len(other) != 1)} not checked: "
            f"their manifest hash was accepted by --manifest and the manifest here ({found}) is "
            f"another construction"
        )
    if not out and len(other) < len(runs):
        report.verified_counts.append(f"{dataset}{at}")
    return out


def _check_manifests(
    dataset: str,
    size: int | None,
    entries: list[tuple[str, str]],
    given: set[str],
    cache: Path,
    report: ValidationReport,
    manifest: Mapping[str, Any] | None,
    found: str,
) -> list[Problem]:
    import datasets as ds

    expected = set(given)
    how = "--manifest" if given else ""
    sha = ds.manifest_sha256(manifest) if manifest is not None else None
    if sha:
        expected.add(sha)
        how = found if not how else f"{how} and {found}"
    at = f" at {size} px" if size else ""
    if not expected:
        hashes = sorted({h for _, h in entries})
        out = [
            Problem(
                dataset,
                "dataset_manifest_sha256",
                f"cannot verify the manifest hash{at} ({', '.join(h[:12] for h in hashes)}): pass "
                f"--manifest {dataset}=SHA256 or prepare {dataset} into --cache-dir {cache}",
            )
        ]
        if len(hashes) > 1:
            counts = {h: sum(1 for _, x in entries if x == h) for h in hashes}
            out.append(
                Problem(
                    dataset,
                    "dataset_manifest_sha256",
                    f"runs{at} carry {len(hashes)} different manifest hashes: "
                    + ", ".join(f"{h[:12]} ({n} files)" for h, n in counts.items()),
                )
            )
        return out
    out = [
        Problem(
            where,
            "dataset_manifest_sha256",
            f"{h[:12]}… does not match the registered construction of {dataset}{at} "
            f"(expected {' or '.join(e[:12] + '…' for e in sorted(expected))}, {how})",
        )
        for where, h in entries
        if h not in expected
    ]
    if not out:
        report.verified_manifests.append(f"{dataset}{at}")
    return out
