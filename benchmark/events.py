"""Milestones of a grid, announced as Python audit events (:func:`sys.audit`, PEP 578).

A run never knows who watches it: with no audit hook installed an announcement costs one C call; a tool that
installs one (the reliability tests' ``tests/faults/``) can trace executions across processes or kill a process at
a named point. The events and when they fire are listed in docs/reliability.md ("Milestones").
"""

from __future__ import annotations

import sys

#: Every event's name starts with this (``medlt.stage1-epoch``).
PREFIX = "medlt."


def announce(event: str, detail: str = "") -> None:
    """Raise the audit event ``medlt.<event>`` with ``detail`` (what it concerns: a path, a hash, a choice)."""
    sys.audit(PREFIX + event, detail)
