"""Epoch index samplers: instance, class-balanced and reversed (BBN).

Each function returns a numpy ``int64`` array of training-set positions for one
epoch, given the training labels (class ids ``0..C-1``) and a
``numpy.random.Generator``. They are vectorised (no Python loop over samples)
and deterministic for a given generator state.
"""

from __future__ import annotations

import numpy as np

__all__ = ["instance_indices", "class_balanced_indices", "class_aware_indices", "reversed_indices"]


def _check_labels(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integer class ids, got dtype {labels.dtype}")
    if labels.min() < 0:
        raise ValueError("labels must be non-negative class ids")
    return labels


def _num_draws(labels: np.ndarray, num_samples: int | None) -> int:
    n = labels.size if num_samples is None else int(num_samples)
    if n < 0:
        raise ValueError(f"num_samples must be >= 0, got {num_samples}")
    return n


def _draw_within_classes(
    rng: np.random.Generator,
    class_choice: np.ndarray,
    order: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
) -> np.ndarray:
    """For each chosen class (index into the present classes) draw one image uniformly."""
    offsets = rng.integers(0, counts[class_choice]) if class_choice.size else class_choice
    drawn: np.ndarray = order[starts[class_choice] + offsets].astype(np.int64)
    return drawn


def _class_table(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions grouped by class: (order, start of each present class in order, its count)."""
    order = np.argsort(labels, kind="stable")
    _, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
    return order, starts, counts


def instance_indices(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Instance sampling: a random permutation, each image once per epoch."""
    labels = _check_labels(labels)
    return rng.permutation(labels.size).astype(np.int64)


def class_balanced_indices(labels: np.ndarray, rng: np.random.Generator, num_samples: int | None = None) -> np.ndarray:
    """Class-balanced sampling, with replacement.

    Each draw picks a class uniformly among the classes present in ``labels``,
    then an image uniformly within that class. ``num_samples`` defaults to
    ``len(labels)`` (``N`` draws per epoch).
    """
    labels = _check_labels(labels)
    n = _num_draws(labels, num_samples)
    order, starts, counts = _class_table(labels)
    class_choice = rng.integers(0, counts.size, size=n)
    return _draw_within_classes(rng, class_choice, order, starts, counts)


def class_aware_indices(
    labels: np.ndarray, rng: np.random.Generator, samples_per_class: int = 4, num_samples: int | None = None
) -> np.ndarray:
    """Class-aware sampling (Shen et al.; the official ``ClassAwareSampler`` of
    facebookresearch/classifier-balancing, ``data/ClassAwareSampler.py``, which LWS uses with
    ``num_samples_cls: 4``).

    Classes are visited in cycles: each cycle a random permutation of the classes present. At each visit
    ``samples_per_class`` consecutive images of the class are drawn from its own cycle (a random
    permutation of its images, reshuffled when used up: no image repeats within a class before all of
    the class's images have been drawn). ``num_samples`` (default ``len(labels)``) positions are
    returned; the official sampler's state runs on across epochs, here every epoch starts fresh cycles.
    """
    labels = _check_labels(labels)
    if samples_per_class < 1:
        raise ValueError(f"samples_per_class must be >= 1, got {samples_per_class}")
    n = _num_draws(labels, num_samples)
    order, starts, counts = _class_table(labels)
    visits = -(-n // samples_per_class)
    cycles = -(-visits // counts.size)
    class_seq = np.concatenate([rng.permutation(counts.size) for _ in range(cycles)])[:visits]
    out = np.empty((visits, samples_per_class), dtype=np.int64)
    for c in range(counts.size):
        slots = np.flatnonzero(class_seq == c)
        need = slots.size * samples_per_class
        reps = -(-need // int(counts[c]))
        within = np.concatenate([rng.permutation(int(counts[c])) for _ in range(reps)])[:need]
        out[slots] = order[starts[c] + within].reshape(slots.size, samples_per_class)
    drawn: np.ndarray = out.reshape(-1)[:n]
    return drawn


def reversed_indices(labels: np.ndarray, rng: np.random.Generator, num_samples: int | None = None) -> np.ndarray:
    """BBN's reversed sampler, with replacement.

    Each draw picks class ``c`` with probability ``∝ n_max / n_c`` (among the
    classes present), then an image uniformly within it, as in the BBN
    reference (``get_weight``/``sample_class_index_by_weight``).
    ``num_samples`` defaults to ``len(labels)``.
    """
    labels = _check_labels(labels)
    n = _num_draws(labels, num_samples)
    order, starts, counts = _class_table(labels)
    weights = counts.max() / counts.astype(np.float64)
    class_choice = rng.choice(counts.size, size=n, p=weights / weights.sum())
    return _draw_within_classes(rng, class_choice, order, starts, counts)
