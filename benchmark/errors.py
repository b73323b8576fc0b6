"""Errors any module may raise for the command line to report.

They live here, not in :mod:`benchmark.cli`, so that the grid and the store never import the
command line; ``benchmark.cli`` re-exports them for the commands and for existing imports.
"""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix; printed as one line without a traceback."""


class WorkerLost(Exception):
    """A parallel worker process died mid-job (killed, out of memory); finished runs are kept."""
