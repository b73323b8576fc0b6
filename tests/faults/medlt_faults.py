"""Kill a process at a named point of a grid, or trace what it executes, from outside the product.

A grid announces its milestones as audit events (``benchmark.events``: ``medlt.stage1-epoch``, ...) and every
atomic write ends in ``os.replace``, which raises the audit event ``os.rename``. This module listens with an
audit hook (:func:`sys.addaudithook`):

- ``MEDLT_KILL_AT="POINT:N"`` SIGKILLs the process the N-th time it passes a point matching POINT (an
  ``fnmatch`` pattern): a milestone (``stage1-epoch:2``) or ``write:NAME`` (``write:seed-*.json:1``: just before
  a file of that name is renamed into place, its temporary file written but not published);
- ``MEDLT_TRACE=FILE`` appends ``<pid> <event> <detail>`` per milestone (one write: lines of two processes never
  mix), so a test can count executions across processes.

Worker processes get the same hook: ``sitecustomize.py`` beside this file installs it at interpreter start when
this folder is on ``PYTHONPATH`` (:func:`subprocess_env`).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

PREFIX = "medlt."
HERE = Path(__file__).resolve().parent
#: Listeners of this process, called with (point, detail) for each milestone and each file renamed into place.
_listeners: list[Callable[[str, str], None]] = []
_installed = False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _listeners:
        return
    if event.startswith(PREFIX):
        point, detail = event[len(PREFIX) :], str(args[0]) if args else ""
    elif event == "os.rename" and len(args) >= 2:
        point, detail = f"write:{Path(os.fsdecode(args[1])).name}", os.fsdecode(args[1])
    else:
        return
    for listener in list(_listeners):
        listener(point, detail)


def _install() -> None:
    global _installed
    if not _installed:  # an audit hook cannot be removed: one per process, dispatching to the listeners
        sys.addaudithook(_hook)
        _installed = True


@contextmanager
def listening(listener: Callable[[str, str], None]) -> Iterator[None]:
    """Call ``listener(point, detail)`` at every milestone and write of this process inside the block."""
    _install()
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def killer(spec: str) -> Callable[[str, str], None]:
    """A listener that SIGKILLs this process the N-th time a point matches ``spec`` = ``"PATTERN:N"``."""
    pattern, _, n = spec.rpartition(":")
    passes = 0

    def listen(point: str, detail: str) -> None:
        nonlocal passes
        if fnmatchcase(point, pattern):
            passes += 1
            if passes == int(n):
                os.kill(os.getpid(), signal.SIGKILL)

    return listen


def tracer(path: str | Path) -> Callable[[str, str], None]:
    """A listener that appends ``<pid> <point> <detail>`` for each milestone (writes are not traced)."""

    def listen(point: str, detail: str) -> None:
        if point.startswith("write:"):
            return
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{os.getpid()} {point} {detail}\n".encode())
        finally:
            os.close(fd)

    return listen


def install_from_environ(environ: Mapping[str, str] | None = None) -> None:
    """Listen as ``MEDLT_KILL_AT`` and ``MEDLT_TRACE`` say, for the rest of this process (workers, children)."""
    env = os.environ if environ is None else environ
    for variable, make in (("MEDLT_KILL_AT", killer), ("MEDLT_TRACE", tracer)):
        if env.get(variable):
            _install()
            _listeners.append(make(env[variable]))


def subprocess_env(base: Mapping[str, str] | None = None, **variables: str) -> dict[str, str]:
    """An environment for a child process in which this module listens from the interpreter's start."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH", "")) if p)
    env.update(variables)
    return env
