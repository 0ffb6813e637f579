"""Direction of arrival: where the sound comes from.

Shapes: ``M`` microphones, ``N`` samples, ``F`` frequencies, ``T`` frames, ``G``
grid directions, ``P`` pairs, ``K`` sources.

:func:`locate` runs one of the registered methods (``METHODS``) over a grid of
directions (or candidate points in metres, near field) and returns a
:class:`DOAResult`:

- ``"srp-phat"``: steered response power with the phase transform
  (:mod:`arraykit.doa.srp`), the mean of the pairwise GCC-PHAT at each direction's
  model delays;
- ``"music"``, ``"normmusic"``, ``"tops"``: subspace methods
  (:mod:`arraykit.doa.subspace`);
- ``"tdoa-ls"``: GCC-PHAT delays of every pair solved for the direction by least
  squares (:func:`from_tdoa`).

Each method is one module of :mod:`arraykit.doa.methods` holding a
:class:`DOAMethod`; :func:`register_method` adds your own, which every entry point,
grid, refinement, peak picking and counting then serve unchanged.

:func:`locate_stft` takes an STFT already computed, :func:`locate_cov` a spatial
covariance ``(F, M, M)`` (the methods in ``COV_METHODS``; for streaming, with a
recursively averaged covariance; :class:`SrpCovSearch` is its SRP-PHAT search with the
steering tabulated once, for a covariance searched block after block). :func:`locate_blocks` tracks directions block by
block, and :class:`TalkerMemory` keeps every direction heard within a memory (its
``talkers``, and :func:`arraykit.live.track`'s); :mod:`arraykit.doa.grids` builds rings, spheres, layout-restricted grids and
near-field point grids.
"""

from __future__ import annotations

from typing import Any

from arraykit.doa import grids, methods  # noqa: F401  (methods: registers the built-in ones)
from arraykit.doa.cov_search import SrpCovSearch
from arraykit.doa.options import SearchOptions
from arraykit.doa.registry import DOAMethod, register_method
from arraykit.doa.result import BlocksResult, DOAResult
from arraykit.doa.search import locate, locate_blocks, locate_cov, locate_stft
from arraykit.doa.talkers import TalkerMemory
from arraykit.doa.tdoa import from_tdoa

__all__ = [
    "COV_METHODS",
    "METHODS",
    "BlocksResult",
    "DOAMethod",
    "DOAResult",
    "SearchOptions",
    "SrpCovSearch",
    "TalkerMemory",
    "from_tdoa",
    "grids",
    "locate",
    "locate_blocks",
    "locate_cov",
    "locate_stft",
    "register_method",
]


def __getattr__(name: str) -> Any:
    """``METHODS`` and ``COV_METHODS``, read from the registry on each access (so they
    include methods registered after import)."""
    from arraykit.doa import registry

    if name == "METHODS":
        return registry.names()
    if name == "COV_METHODS":
        return registry.names(from_covariance=True)
    raise AttributeError(f"module 'arraykit.doa' has no attribute {name!r}")
