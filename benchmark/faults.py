"""Hooks for the reliability tests, off unless their environment variable is set.

``MEDLT_KILL_AT="POINT:N"`` SIGKILLs this process the N-th time it passes a named point that
matches POINT (an ``fnmatch`` pattern, e.g. ``stage1-epoch:2`` or ``write:seed-*.json:1``), so a
test can kill a grid anywhere, writes included. ``MEDLT_TRACE=FILE`` appends one line per
traced event (``<pid> <event> <what>``), so a test can count executions across processes.
"""

from __future__ import annotations

import os
import signal
from fnmatch import fnmatchcase

_passes: dict[str, int] = {}


def kill_point(point: str) -> None:
    """Die here (SIGKILL, no clean-up) when ``MEDLT_KILL_AT`` names this point and pass."""
    spec = os.environ.get("MEDLT_KILL_AT")
    if not spec:
        return
    pattern, _, n = spec.rpartition(":")
    if fnmatchcase(point, pattern):
        _passes[pattern] = _passes.get(pattern, 0) + 1
        if _passes[pattern] == int(n):
            os.kill(os.getpid(), signal.SIGKILL)


def trace(event: str, what: str) -> None:
    """Append ``<pid> <event> <what>`` to ``MEDLT_TRACE`` (one write: lines of two processes never mix)."""
    path = os.environ.get("MEDLT_TRACE")
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{os.getpid()} {event} {what}\n".encode())
    finally:
        os.close(fd)
