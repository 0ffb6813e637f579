"""The small exception tree of arraykit.

Every error a user can cause raises a :class:`ValueError` subclass whose message
names the argument and shows its value; the CLI turns any :class:`ArraykitError`
or :class:`ValueError` into one line on stderr and exit status 2.
"""

from __future__ import annotations

__all__ = [
    "ArraykitError",
    "DeviceError",
    "GeometryFileError",
    "InvalidArgumentError",
    "MissingDependencyError",
    "NoSourceError",
]


class ArraykitError(Exception):
    """Base class of the errors arraykit raises on purpose."""


class InvalidArgumentError(ArraykitError, ValueError):
    """An argument has a bad value; the message names it and shows the value.

    Made by :func:`arraykit._validate.fail`, it also knows the argument's name
    (``name``; None when the message was written by hand), so that a caller who calls
    the argument otherwise (a CLI flag) can say the same in its own words
    (:meth:`renamed`)."""

    name: str | None = None
    why: str | None = None  # the message after ``name=value: `` (None when written by hand)

    def renamed(self, name: str) -> InvalidArgumentError:
        """The same error about the argument called `name` (itself when its name is not
        known)."""
        if self.name is None:
            return self
        err = type(self)(name + str(self)[len(self.name) :])
        err.name, err.why = name, self.why
        return err


class GeometryFileError(InvalidArgumentError):
    """A geometry file (TOML or acoular XML) is malformed; the message says which field."""


class DeviceError(ArraykitError, RuntimeError):
    """A device could not be found, opened or controlled."""


class NoSourceError(ArraykitError, ValueError):
    """No directional source was heard (silence, no energy in the band, noise or a diffuse
    field): a fixed number of sources cannot be located. ``reason`` says which.

    A :class:`ValueError` too, as the refusal of an all-zero input always was.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MissingDependencyError(ArraykitError, ImportError):
    """A package of an extra (``campaign``, ``track``) is not installed; the message says
    how to get it."""
