"""The DOA methods: one registered part per method, and the registry that lists them.

Interface (what a method module provides, and what the search does with it)
---------------------------------------------------------------------------
A method is a :class:`DOAMethod`, registered under its name with
:func:`register_method` (the built-in ones in :mod:`arraykit.doa.methods`, one module
each). Every list of methods (``ak.doa.METHODS``, ``ak.doa.COV_METHODS``, the CLI's
choices and help, :func:`arraykit.live.track`, the tests) is read from here.

- ``make_map(stats, K, plan) -> map``: given the band's statistics
  (:class:`arraykit.doa.statistics.BandStatistics`: ``stats.phat()`` PHAT
  cross-spectra ``(F, M, M)``, ``stats.covariance()`` ``(F, M, M)``,
  ``stats.frames()`` ``(M, F, T)``), the number of sources ``K`` and the search's plan
  (:class:`arraykit.doa.plan.Plan`: ``plan.options`` the validated
  :class:`arraykit.doa.options.SearchOptions`, ``plan.fs``, ``plan.nfft``,
  ``plan.geometry``, ``plan.freqs`` ``(F,)``), return a function
  ``map(steering) -> (G,)`` that scores every point of a
  :class:`arraykit.doa._steer.Steering` (higher is likelier). The search calls it on
  the coarse grid first, then on small refinement patches (coarse-to-fine, near-field
  lattices); peaks, counting and refinement are the search's, unchanged for every
  method. A ``Steering`` gives ``n_grid``, ``freqs`` ``(F,)``, ``near`` (points),
  ``delays()`` ``(G, M)`` seconds and ``chunks()``: ``(slice of the grid, steering
  vectors (F, G_chunk, M))``, computed once per grid and kept.
- ``needs``: the one statistic the map reads, ``"phat"``, ``"covariance"`` or
  ``"frames"``. From time signals the search accumulates only that statistic (PHAT in
  single precision, the covariance in double) and keeps the frames only for
  ``"frames"``.
- ``description``: one line, for the CLI's help.
- ``min_bins``: the fewest STFT bins the band must hold (TOPS: 2).
- ``max_sources(M)``: the most sources it reports with ``M`` microphones (default
  ``M - 1``; tdoa-ls: 1). ``num_sources`` above it is refused; ``"auto"`` is capped.
- ``near_field``: whether it can search candidate ``points`` (spherical waves).
- ``stft_bins``: whether it reads the STFT's bin layout (``plan.fs``, ``plan.nfft``),
  so that :func:`arraykit.doa.locate_cov` (a covariance and frequencies alone) cannot
  run it; :attr:`DOAMethod.from_covariance` is derived from it and ``needs``.
- ``solve(stats, plan) -> (directions (K, 2), power (K,))``, optional: a direct
  solver that replaces the far-field grid refinement (tdoa-ls: least squares on the
  pair delays); the map still gives the result's ``spectrum`` and the peaks.

:func:`get` returns a registered method or raises naming the registered ones.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, get_args

import numpy as np

from arraykit import _validate as v

if TYPE_CHECKING:
    from arraykit.doa._steer import Steering
    from arraykit.doa.plan import Plan
    from arraykit.doa.statistics import BandStatistics

__all__ = [
    "DOAMethod",
    "DirectSolver",
    "MapFactory",
    "Needs",
    "get",
    "names",
    "register_method",
]

Needs = Literal["phat", "covariance", "frames"]
NEEDS: tuple[str, ...] = get_args(Needs)

SpatialMap = Callable[["Steering"], np.ndarray]
"""A map over a grid: ``Steering`` -> ``(G,)`` scores, higher is likelier."""


class MapFactory(Protocol):
    """``make_map(stats, K, plan)``: the method's map with its statistics fixed."""

    def __call__(self, stats: BandStatistics, K: int, plan: Plan) -> SpatialMap: ...


class DirectSolver(Protocol):
    """``solve(stats, plan)``: directions ``(K, 2)`` degrees and their power ``(K,)``."""

    def __call__(self, stats: BandStatistics, plan: Plan) -> tuple[np.ndarray, np.ndarray]: ...


def _all_but_one(n_mics: int) -> int:
    return n_mics - 1


@dataclass(frozen=True)
class DOAMethod:
    """One DOA method, as the search needs to know it (see the module's docstring)."""

    make_map: MapFactory
    needs: Needs
    description: str
    min_bins: int = 1
    max_sources: Callable[[int], int] = _all_but_one
    near_field: bool = True
    stft_bins: bool = False
    solve: DirectSolver | None = None

    def __post_init__(self) -> None:
        """Refuse a part the search could not run (checked once, when it is made)."""
        if self.needs not in NEEDS:
            raise v.fail("needs", self.needs, f"must be one of {', '.join(map(repr, NEEDS))}")
        if not callable(self.make_map):
            raise v.fail("make_map", self.make_map, "must be callable: (stats, K, plan) -> map")
        if self.solve is not None and not callable(self.solve):
            raise v.fail("solve", self.solve, "must be callable: (stats, plan) -> (dirs, power)")
        if not callable(self.max_sources):
            raise v.fail("max_sources", self.max_sources, "must be callable: M -> most sources")
        if (
            isinstance(self.min_bins, bool)
            or not isinstance(self.min_bins, int)
            or self.min_bins < 1
        ):
            raise v.fail("min_bins", self.min_bins, "must be an integer >= 1")
        if not isinstance(self.description, str) or not self.description.strip():
            raise v.fail("description", self.description, "must say in one line what it does")

    @property
    def from_covariance(self) -> bool:
        """Whether :func:`arraykit.doa.locate_cov` can run it (no frames, no STFT bins)."""
        return self.needs != "frames" and not self.stft_bins


_METHODS: dict[str, DOAMethod] = {}
_LOCK = threading.Lock()


def register_method(name: str, method: DOAMethod) -> None:
    """Make `method` available as ``locate(..., method=name)`` (and in every method list).

    Parameters
    ----------
    name : str
        A new name (lower case, digits, ``-``); registering a name twice is refused.
    method : DOAMethod

    Examples
    --------
    See the README's "Adding a DOA method" for a complete one.
    """
    if not isinstance(name, str) or not name or name != name.strip().lower():
        raise v.fail("name", name, "must be a non-empty lower-case string")
    if not isinstance(method, DOAMethod):
        raise v.fail("method", method, "must be an arraykit.doa.DOAMethod")
    with _LOCK:
        if name in _METHODS:
            raise v.fail("name", name, "is already a registered DOA method")
        _METHODS[name] = method


def get(name: str) -> DOAMethod:
    """The method registered as `name`; the error lists the registered names."""
    method = _METHODS.get(name) if isinstance(name, str) else None
    if method is None:
        raise v.fail("method", name, f"must be one of {', '.join(map(repr, names()))}")
    return method


def names(*, from_covariance: bool = False) -> tuple[str, ...]:
    """The registered names, in registration order (built-in ones first); with
    `from_covariance`, only those :func:`arraykit.doa.locate_cov` runs."""
    with _LOCK:
        items = list(_METHODS.items())
    return tuple(n for n, m in items if not from_covariance or m.from_covariance)


def describe(*, from_covariance: bool = False) -> str:
    """``"name: description; ..."`` for every method :func:`names` lists (CLI help)."""
    return "; ".join(f"{n}: {get(n).description}" for n in names(from_covariance=from_covariance))
