"""``list``: registered datasets, methods and protocols."""

# The command line imports every command module to build --help: what loads torch or pandas is imported
# inside the functions that run the command.

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "list", help="list datasets, methods and protocols", description="List what the registries hold."
    )
    p.add_argument("what", nargs="?", choices=["datasets", "methods", "protocols", "all"], default="all")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import datasets
    from methods import method_entries

    from ..protocol import load_protocol, protocol_names

    if args.what in ("datasets", "all"):
        print("datasets:")
        for name in datasets.dataset_names():
            cls = datasets.builder_class(name)
            tags = ("  [default: real images, shipped]" if name == datasets.DEFAULT_DATASET else "") + (
                "  [demonstration set]" if cls.demo else ""
            )
            print(f"  {name:<22} {cls.title}{tags}")
    if args.what in ("methods", "all"):
        print("methods:")
        entries = method_entries()
        name_w = max((len(e.name) for e in entries), default=0)
        id_w = max((len(e.id) for e in entries), default=0)
        for e in entries:
            kind = f"two-stage ({e.rebalance.suffix})" if e.rebalance else "one-stage"
            print(f"  {e.name:<{name_w}}  {e.id:<{id_w}}  {kind}")
    if args.what in ("protocols", "all"):
        print("protocols:")
        for name in protocol_names():
            print(f"  {name:<8} {load_protocol(name).description}")
    return 0
