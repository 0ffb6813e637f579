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
import os
import sys
import warnings
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
    "arraykit.cli.track",
    "arraykit.cli.demo",
    "arraykit.cli.campaign",
]


class UsageError(ArraykitError, ValueError):
    """Bad command-line usage."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit status 2
        # "arraykit: error: doa: argument --method: ..." (the program name once, not twice)
        command = self.prog.removeprefix("arraykit").strip()
        raise UsageError(f"{command}: {message}" if command else message)


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
    with warnings.catch_warnings():  # a warning: one line, as an error is
        warnings.showwarning = _warning
        return _main(argv)


def _warning(message: Warning | str, *_: object, **__: object) -> None:
    msg = " ".join(str(message).split())
    print(f"arraykit: warning: {msg}", file=sys.stderr)


def _main(argv: Sequence[str] | None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            parser.print_help()
            return 2
        status = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except KeyboardInterrupt:
        print("arraykit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `arraykit ... | head` stopped reading: not an error
        _quiet_stdout()
        return 0
    except (ArraykitError, ValueError, OSError) as exc:
        return _error(exc)
    except Exception as exc:
        if type(exc).__module__.split(".")[0] in _LIBRARY_ERRORS:
            return _error(exc)
        raise


# Errors of the libraries arraykit drives that carry a readable message (a file
# libsndfile cannot write, ...): one line like arraykit's own, not a traceback.
_LIBRARY_ERRORS = ("soundfile",)


def _error(exc: BaseException) -> int:
    msg = " ".join(str(exc).split())
    print(f"arraykit: error: {msg}", file=sys.stderr)
    return 2


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
