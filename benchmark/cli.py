"""The command line: ``python -m benchmark {list,run,report,datasets,...}``.

Each command lives in a module of ``benchmark/commands/`` and adds itself with ``register``.
Expected errors (unknown names, missing files) print one line, ``error: ...``, and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence


class UserError(Exception):
    """An error the user can fix; printed as one line without a traceback."""


def expected_errors() -> tuple[type[BaseException], ...]:
    from datasets import DatasetError
    from methods.registry import UnknownMethodError

    from .backbones import BackboneError
    from .protocol import ProtocolError

    return (UserError, DatasetError, UnknownMethodError, ProtocolError, BackboneError, FileNotFoundError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark",
        description="medlt-bench: long-tailed medical image classification benchmark.",
        epilog="Run 'python -m benchmark COMMAND --help' for a command's options.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    from . import commands

    for info in pkgutil.iter_modules(commands.__path__):  # every module in benchmark/commands/
        importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except expected_errors() as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished runs are saved; run the same command again to resume", file=sys.stderr)
        return 130
