"""Prepared data against its card: a class without a training image is refused, other counts are warned about.

A source file can be official-looking and still wrong (a truncated CSV, another MedMNIST size,
a subset): the construction then quietly gives other counts, or a ρ of 1 where the card says 100.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import DatasetError

#: How many differing classes a warning names before "and N more".
SHOWN = 3


def check_train_counts(builder: Any, class_names: Sequence[str], train_counts: Sequence[int], where: str) -> None:
    """Refuse a class with no training image; warn (one line on stderr) on counts that contradict the card.

    ``where`` names the source file(s) in the messages.
    """
    empty = [n for n, c in zip(class_names, train_counts) if c == 0]
    if empty:
        more = f" (and {len(empty) - 1} more: {', '.join(empty[1:])})" if len(empty) > 1 else ""
        raise DatasetError(f"{builder.id}: class {empty[0]!r} has no training image{more}; check {where}")
    problem = count_mismatch(builder, class_names, train_counts)
    if problem:
        print(f"warning: {builder.id}: {problem}; check {where}", file=sys.stderr)


def count_mismatch(builder: Any, class_names: Sequence[str], train_counts: Sequence[int]) -> str | None:
    """What contradicts the card: counts other than ``builder.expected_train_counts()``, else a ρ
    (largest / smallest training class) off the builder's ``rho`` by more than the rounding of the profile."""
    expected: Mapping[str, int] | None = builder.expected_train_counts()
    if expected:
        got = dict(zip(class_names, train_counts))
        diffs = [f"{name} {got.get(name, 'missing')} (card: {n})" for name, n in expected.items() if got.get(name) != n]
        if not diffs:
            return None
        more = f" and {len(diffs) - SHOWN} more" if len(diffs) > SHOWN else ""
        return f"train counts differ from the card's: {', '.join(diffs[:SHOWN])}{more}"
    rho = getattr(builder, "rho", None)
    n_max, n_min = max(train_counts), min(train_counts)
    # the profile rounds the smallest class to n_max / rho half-up: more than 0.5 off is not rounding
    if isinstance(rho, (int, float)) and rho > 0 and abs(n_min - n_max / rho) > 0.5 + 1e-9:
        return (
            f"realised rho = {n_max}/{n_min} = {n_max / n_min:.1f}, not the builder's rho = {rho:g}"
            " (a class has fewer source images than the profile needs)"
        )
    return None
