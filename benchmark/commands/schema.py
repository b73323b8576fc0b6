"""``schema``: print or write the JSON Schema of a result file (``docs/result.schema.json``)."""

# The command line imports every command module to build --help: what loads torch or pandas is imported
# inside the functions that run the command.

from __future__ import annotations

import argparse
from pathlib import Path

from ..files import atomic_write_bytes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "schema",
        help="print or write the JSON Schema of a result file",
        description="The JSON Schema generated from the result model (docs/result.schema.json).",
    )
    p.add_argument("--out", type=Path, default=None, help="write it to this file (default: print it)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..results.schema import json_schema_text

    text = json_schema_text()
    if args.out is None:
        print(text, end="")
    else:
        atomic_write_bytes(args.out, text.encode())
        print(f"wrote {args.out}")
    return 0
