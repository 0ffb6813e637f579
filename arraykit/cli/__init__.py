"""The ``arraykit`` command line.

Each subcommand lives in its own module of this package, which provides
``register(subparsers)``; the module's handler receives the parsed arguments and
returns an exit status. Errors a user can cause (:class:`ValueError`,
:class:`arraykit.ArraykitError`, a missing file) become one line on stderr and exit
status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from arraykit import __version__
from arraykit.errors import ArraykitError

# Subcommand modules, in the order `arraykit --help` lists them.
COMMANDS = [
    "arraykit.cli.geometry",
    "arraykit.cli.doa",
    "arraykit.cli.beamform",
    "arraykit.cli.diagnose",
    "arraykit.cli.hardware",
    "arraykit.cli.demo",
    "arraykit.cli.campaign",
]


class UsageError(ArraykitError, ValueError):
    """Bad command-line usage."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit status 2
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="arraykit", description="Microphone arrays: geometry, DOA, beamforming, devices."
    )
    parser.add_argument("--version", action="version", version=f"arraykit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that subcommand is not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``arraykit`` console script; returns the exit status."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            parser.print_help()
            return 2
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("arraykit: interrupted", file=sys.stderr)
        return 130
    except (ArraykitError, ValueError, OSError) as exc:
        msg = " ".join(str(exc).split())
        print(f"arraykit: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
