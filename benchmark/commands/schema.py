"""``schema``: print or write the JSON Schema of a result file (``docs/result.schema.json``)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "schema",
        help="print or write the JSON Schema of a result file",
        description="The JSON Schema generated from the result model (docs/result.schema.json).",
    )
    p.add_argument("--out", type=Path, default=None, help="write it to this file (default: print it)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..files import atomic_write_bytes
    from ..results.schema import json_schema_text

    text = json_schema_text()
    if args.out is None:
        print(text, end="")
    else:
        atomic_write_bytes(args.out, text.encode())
        print(f"wrote {args.out}")
    return 0
