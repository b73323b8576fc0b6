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
from typing import Any

from . import commands
from .environment import Environment
from .errors import UserError, WorkerLost


class _DeprecatedAlias(argparse.Action):
    """An old option name: prints one ``note:`` line to stderr, then does what the new option does."""

    def __init__(self, option_strings: list[str], dest: str, target: argparse.Action, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=target.nargs, **kwargs)
        self.type = target.type  # values are converted as the new option converts them
        self.target = target

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        new = self.target.option_strings[-1]
        print(f"note: {option_string} is deprecated; use {new} (same meaning)", file=sys.stderr)
        self.target(parser, namespace, values, new)


def add_deprecated_alias(parser: argparse.ArgumentParser, old: str, new: str) -> None:
    """Accept option ``old`` as a deprecated spelling of the already added ``new``: same value, same
    effect, plus a one-line note on stderr. ``--help`` shows only ``new`` (its help names ``old``)."""
    target = parser._option_string_actions[new]
    parser.add_argument(
        old,
        action=_DeprecatedAlias,
        target=target,
        dest=target.dest,
        default=argparse.SUPPRESS,
        metavar=target.metavar,
        help=argparse.SUPPRESS,
    )
    if target.help and target.help is not argparse.SUPPRESS:
        target.help += f" ({old}: deprecated alias)"


def expected_errors() -> tuple[type[BaseException], ...]:
    # lazy: methods and the backbones load torch, which `--help` does not need
    from datasets import DatasetError
    from methods.registry import UnknownMethodError

    from .protocol import ProtocolError
    from .training.backbones import BackboneError

    # PermissionError: a folder that cannot be written (read-only results, site or cache) is the user's to fix
    return (
        UserError,
        DatasetError,
        UnknownMethodError,
        ProtocolError,
        BackboneError,
        FileNotFoundError,
        PermissionError,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark",
        description="medlt-bench: long-tailed medical image classification benchmark.",
        epilog="Run 'python -m benchmark COMMAND --help' for a command's options.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    for info in pkgutil.iter_modules(commands.__path__):  # every module in benchmark/commands/
        importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # the environment is read here, once; every command gets it through its arguments
    args.environment = Environment.read()
    if getattr(args, "cache_dir", False) is None:
        args.cache_dir = args.environment.cache_dir
    try:
        return int(args.func(args) or 0)
    except expected_errors() as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished runs are saved; run the same command again to resume", file=sys.stderr)
        return 130
    except WorkerLost as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
