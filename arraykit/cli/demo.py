"""``arraykit demo``: the main job `make demo` runs."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the demonstration (what `make demo` does)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from arraykit.cli.geometry import table

    print("Named microphone arrays and what their layouts can tell apart:\n")
    print(table())
    return 0
