"""The dataset builder: a base class owns prepare(); a subclass fills one hook, ``read``."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import numbers
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .card import check_train_counts
from .errors import DatasetError
from .longtail import class_groups
from .prepared import PreparedDataset, canonical_json, file_sha256, write_prepared
from .sources import SOURCE_FILES, check_sources, source_facts

#: Where prepared datasets live unless the caller says otherwise (the command line: ``--cache-dir`` or
#: ``$MEDLT_CACHE``, read once by :mod:`benchmark.environment`).
DEFAULT_CACHE = Path.home() / ".cache" / "medlt-bench"


@dataclass
class RawDataset:
    """What a builder's ``read`` returns: the constructed dataset before decoding/resizing.

    Exactly one of ``images`` (uint8 array (N, H, W) or (N, H, W, C)) and ``image_paths``
    (files decoded by the base class, in parallel) is set. ``splits`` index into it.
    """

    class_names: list[str]
    labels: np.ndarray
    splits: dict[str, np.ndarray]
    source_files: Sequence[Path]
    images: np.ndarray | None = None
    image_paths: Sequence[Path] | None = None
    construction: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetBuilder:
    """Turns a dataset's official files into a :class:`PreparedDataset`.

    Subclasses declare their facts as class attributes and implement :meth:`read`.
    Constructor fields are the construction parameters (seed, ρ, ...): they are stored
    as given, recorded in the manifest, and part of the dataset's identity.
    """

    name: ClassVar[str]
    title: ClassVar[str] = ""
    image_type: ClassVar[str] = ""
    source_url: ClassVar[str] = ""
    license: ClassVar[str] = ""
    #: The files a user must download into ``--raw-root DIR`` (for the error message).
    raw_files: ClassVar[tuple[str, ...]] = ()
    needs_raw: ClassVar[bool] = True
    #: The data ship inside a package (this one, or scikit-learn): nothing to download.
    shipped: ClassVar[bool] = False
    #: :meth:`download` can fetch the official files (only when the caller allows downloads).
    downloadable: ClassVar[bool] = False
    #: A demonstration set (digits-lt), labelled as such everywhere.
    demo: ClassVar[bool] = False
    #: What a reader of the leaderboard should know about the set (shown as a note on the site).
    note: ClassVar[str] = ""
    #: Size of the cached square images when no protocol says otherwise.
    default_size: ClassVar[int] = 224
    n_major: ClassVar[int] = 3
    n_minor: ClassVar[int] = 3
    #: Cut classes into thirds (major / medium / minor) instead of top-3 / bottom-3.
    group_thirds: ClassVar[bool] = False
    #: Bump when the construction rule changes: prepared folders and manifest hashes change with it.
    version: ClassVar[int] = 1
    #: The name takes an argument after ``:`` (``medmnist-lt:<flag>``), given to :meth:`from_argument`.
    takes_argument: ClassVar[bool] = False

    seed: int = 0

    @classmethod
    def from_argument(cls, argument: str, **params: Any) -> DatasetBuilder:
        """The builder for ``name:argument``; only builders with ``takes_argument`` override it."""
        raise TypeError(f"dataset {cls.name!r} takes no ':' argument (got {argument!r})")

    # -- the hook ------------------------------------------------------------------
    def read(self, raw_root: Path | None) -> RawDataset:
        """Read the official files under ``raw_root`` and construct labels and splits."""
        raise NotImplementedError

    def expected_train_counts(self) -> Mapping[str, int] | None:
        """Training images per class name that the card fixes for this construction (any subset of the
        classes), or None. A prepare whose counts differ warns; without it, ρ is checked against ``rho``."""
        return None

    # -- fixed skeleton --------------------------------------------------------------
    @property
    def id(self) -> str:
        """Registry name plus any argument (``medmnist-lt:bloodmnist``)."""
        return self.name

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def cache_size(self, size: int | None) -> int:
        """``size`` px, or the dataset's default for None; DatasetError unless a positive integer."""
        if size is None:
            return self.default_size
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise DatasetError(f"{self.id}: image size {size!r} px: must be a whole number >= 1")
        return int(size)

    def folder(self, cache_root: Path, size: int) -> Path:
        """Prepared folder for this construction at ``size`` px."""
        digest = hashlib.sha256(canonical_json({"version": self.version, **self.params()})).hexdigest()[:8]
        return Path(cache_root) / f"{self.id.replace(':', '_')}-{digest}" / f"{size}px"

    def missing_files_error(self, raw_root: Path | None, missing: str) -> DatasetError:
        """The error for an absent official file: what to download and where to put it."""
        where = raw_root if raw_root is not None else "<DIR>"
        return DatasetError(
            f"{self.id}: {missing} not found in {where}. Download {', '.join(self.raw_files) or 'the official files'}"
            f" from {self.source_url} and put them in {where} (then pass --raw-root {where})."
        )

    def raw_folder(self, raw_root: Path | None) -> Path:
        """``raw_root`` in :meth:`read` of a builder that ``needs_raw``: the missing-files error for None."""
        if raw_root is None:
            raise self.missing_files_error(raw_root, "the raw-data folder")
        return Path(raw_root)

    def download(self, raw_root: Path) -> None:
        """Fetch the official files that ``raw_root`` lacks (a builder that declares ``downloadable``)."""
        raise NotImplementedError(f"{self.id} cannot download its files")

    def prepare(
        self,
        raw_root: str | Path | None,
        cache_root: str | Path = DEFAULT_CACHE,
        size: int | None = None,
        workers: int = 2,
        progress: bool = True,
        allow_download: bool = False,
    ) -> PreparedDataset:
        """Decode once, resize to ``size``, write atomically, return the loaded dataset; with
        ``allow_download`` a ``downloadable`` builder first fetches the official files ``raw_root`` lacks.

        The write holds the folder's lock (the one :meth:`load` takes): a concurrent prepare or load waits.
        """
        size = self.cache_size(size)
        raw_root = Path(raw_root) if raw_root is not None else None
        if self.needs_raw and (raw_root is None or not raw_root.is_dir()):
            raise self.missing_files_error(raw_root, "the raw-data folder")
        if allow_download and self.downloadable and raw_root is not None:
            self.download(raw_root)
        raw = compact(self.read(raw_root))
        if raw.images is not None:
            images = resize_array(raw.images, size, progress=progress, desc=f"{self.id}: resize")
        else:
            images = decode_files(
                raw.image_paths or [], size, workers=workers, progress=progress, desc=f"{self.id}: decode"
            )
        labels = np.asarray(raw.labels, dtype=np.int64)
        bad = (labels < 0) | (labels >= len(raw.class_names))
        if bad.any():
            raise DatasetError(f"{self.id}: label {labels[bad][0]} outside 0..{len(raw.class_names) - 1}")
        train_counts = np.bincount(labels[raw.splits["train"]], minlength=len(raw.class_names)).tolist()
        where = ", ".join(map(str, raw.source_files)) or str(raw.construction.get("source", raw_root))
        check_train_counts(self, raw.class_names, train_counts, where)
        manifest = {
            "name": self.id,
            "title": self.title,
            "image_type": self.image_type,
            "demo": self.demo,
            "class_names": list(raw.class_names),
            "groups": class_groups(train_counts, self.n_major, self.n_minor, self.group_thirds),
            "construction": {
                "builder": type(self).__name__,
                "builder_version": self.version,
                **self.params(),
                **raw.construction,
            },
            "source_checksums": {Path(p).name: file_sha256(Path(p)) for p in raw.source_files},
            "build": {"cache_size": size, SOURCE_FILES: source_facts(raw.source_files, raw_root)},
        }
        folder = self.folder(Path(cache_root), size)
        with folder_lock(folder):  # taken only now: a bad input fails before anything is created
            return write_prepared(folder, images, labels, raw.splits, manifest)

    def load(
        self,
        cache_root: str | Path = DEFAULT_CACHE,
        size: int | None = None,
        raw_root: str | Path | None = None,
        progress: bool = True,
        allow_download: bool = False,
    ) -> PreparedDataset:
        """Load the prepared dataset, preparing it first when it is missing (see :meth:`prepare`)."""
        size = self.cache_size(size)
        folder = self.folder(Path(cache_root), size)
        if (folder / "manifest.json").exists():
            return self._load_prepared(folder, raw_root, size)
        with folder_lock(folder):  # two workers: one prepares, the other waits and loads
            if (folder / "manifest.json").exists():
                return self._load_prepared(folder, raw_root, size)
            return self.prepare(raw_root, cache_root, size, progress=progress, allow_download=allow_download)

    def _load_prepared(self, folder: Path, raw_root: str | Path | None, size: int) -> PreparedDataset:
        """The prepared folder, refused when ``raw_root`` holds other source files than it was prepared from."""
        data = PreparedDataset.load(folder)
        check_sources(self, folder, data.manifest, raw_root, size)
        return data


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``<folder>.lock`` (an exclusive ``flock``) for the block: one process writes a prepared folder at a time.

    Re-entrant within a thread (``load`` holds it while ``prepare`` writes).
    """
    held = _held_locks.__dict__.setdefault("paths", set())
    path = Path(folder).parent / f"{Path(folder).name}.lock"
    if path in held:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another process preparing {folder} ...", file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        held.add(path)
        try:
            yield
        finally:
            held.discard(path)


_held_locks = threading.local()


def compact(raw: RawDataset) -> RawDataset:
    """Keep only the images some split uses (a long-tailed train drops most of a head class)."""
    used = np.unique(np.concatenate([np.asarray(v, dtype=np.int64) for v in raw.splits.values()]))
    if len(used) == len(raw.labels):
        return raw
    remap = np.full(len(raw.labels), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return dataclasses.replace(
        raw,
        labels=np.asarray(raw.labels)[used],
        splits={k: remap[np.asarray(v, dtype=np.int64)] for k, v in raw.splits.items()},
        images=None if raw.images is None else np.asarray(raw.images)[used],
        image_paths=None if raw.image_paths is None else [raw.image_paths[i] for i in used],
    )


# -- decoding and resizing (shared by every builder) -----------------------------------
def resize_array(
    images: np.ndarray, size: int, progress: bool = False, desc: str = "resize", chunk: int = 2048
) -> np.ndarray:
    """Resize uint8 (N, H, W[, C]) images to (N, size, size, 3), bilinear with antialiasing."""
    import torch  # lazy: only resizing needs torch, and the command line imports this package at its start
    import torch.nn.functional as F
    from tqdm import tqdm

    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    out = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for start in tqdm(range(0, len(images), chunk), desc=desc, disable=not progress, unit="chunk", leave=False):
        x = torch.from_numpy(np.ascontiguousarray(images[start : start + chunk])).permute(0, 3, 1, 2).float()
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        out[start : start + chunk] = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return out


def decode_image(path: str | Path, size: int) -> np.ndarray:
    """Decode one image file to uint8 (size, size, 3); a corrupt file raises DatasetError naming it."""
    from PIL import Image, UnidentifiedImageError  # lazy: only decoding needs PIL

    try:
        with Image.open(path) as im:
            im = im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(im, dtype=np.uint8)
    except FileNotFoundError:
        raise DatasetError(f"{path}: image file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise DatasetError(f"{path}: corrupt or unreadable image ({e})") from None


def _decode_chunk(args: tuple[Sequence[str | Path], int]) -> np.ndarray:
    paths, size = args
    return np.stack([decode_image(p, size) for p in paths]) if paths else np.zeros((0, size, size, 3), np.uint8)


def decode_files(
    paths: Sequence[str | Path],
    size: int,
    workers: int = 2,
    progress: bool = False,
    desc: str = "decode",
    chunk: int = 64,
) -> np.ndarray:
    """Decode and resize image files on ``workers`` processes, in order."""
    from tqdm import tqdm  # lazy: as in resize_array

    paths = [str(p) for p in paths]
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    jobs = [(paths[i : i + chunk], size) for i in range(0, len(paths), chunk)]
    bar = tqdm(total=len(paths), desc=desc, disable=not progress, unit="img", leave=False)
    if workers <= 1 or len(jobs) <= 1:
        results: Iterator[np.ndarray] = map(_decode_chunk, jobs)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=workers)
        results = pool.map(_decode_chunk, jobs)
    try:
        pos = 0
        for block in results:
            out[pos : pos + len(block)] = block
            pos += len(block)
            bar.update(len(block))
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return out
