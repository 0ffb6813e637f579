"""Direction of arrival: where the sound comes from.

Shapes: ``M`` microphones, ``N`` samples, ``F`` frequencies, ``T`` frames, ``G``
grid directions, ``P`` pairs, ``K`` sources.

:func:`locate` runs one of the methods over a grid of directions (or candidate
points in metres, near field) and returns a :class:`DOAResult`:

- ``"srp-phat"``: steered response power with the phase transform
  (:mod:`arraykit.doa.srp`), the mean of the pairwise GCC-PHAT at each direction's
  model delays;
- ``"music"``, ``"normmusic"``, ``"tops"``: subspace methods
  (:mod:`arraykit.doa.subspace`);
- ``"tdoa-ls"``: GCC-PHAT delays of every pair solved for the direction by least
  squares (:func:`from_tdoa`).

:func:`locate_stft` takes an STFT already computed, :func:`locate_cov` a spatial
covariance ``(F, M, M)`` (SRP-PHAT, MUSIC, NormMUSIC; for streaming, with a
recursively averaged covariance). :func:`locate_blocks` tracks directions block by
block; :mod:`arraykit.doa.grids`
builds rings, spheres, layout-restricted grids and near-field point grids.
"""

from __future__ import annotations

from arraykit.doa import grids
from arraykit.doa.search import (
    COV_METHODS,
    METHODS,
    BlocksResult,
    DOAResult,
    locate,
    locate_blocks,
    locate_cov,
    locate_stft,
)
from arraykit.doa.tdoa import from_tdoa

__all__ = [
    "COV_METHODS",
    "METHODS",
    "BlocksResult",
    "DOAResult",
    "from_tdoa",
    "grids",
    "locate",
    "locate_blocks",
    "locate_cov",
    "locate_stft",
]
