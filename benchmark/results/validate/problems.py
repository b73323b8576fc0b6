"""What validation finds: one :class:`Problem` per thing to fix, and the :class:`ValidationReport` of a
directory (its problems, what was verified, what could not be checked)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True)
class Problem:
    """One thing to fix: where (a file, or a dataset or cell), the field at fault (or None) and what is wrong."""

    where: str
    field: str | None
    message: str
    #: The name of the check (:data:`CHECKS`) that found it; not part of the message or of equality.
    check: str = dataclasses.field(default="", compare=False)  # `field` here would be the attribute above

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


def shorten(value: Any, limit: int = 60) -> str:
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
            message = f"{e['msg']} (got {shorten(e.get('input'))})"
        out.append(Problem(where, _loc(tuple(e["loc"])), message))
    return out
