"""The options of a DOA search: one frozen object, validated once.

:func:`arraykit.doa.locate`, :func:`~arraykit.doa.locate_stft`,
:func:`~arraykit.doa.locate_cov` and :func:`~arraykit.doa.locate_blocks` keep their
keyword arguments and build a :class:`SearchOptions` from them; the search and every
method read the options from it. What depends on the array or the sampling rate (the
band's bins, the number of microphones, the grid a layout can resolve) is checked when
the options meet them, in :mod:`arraykit.doa.plan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from arraykit import _validate as v
from arraykit.doa import registry
from arraykit.geometry import SPEED_OF_SOUND

__all__ = [
    "Counting",
    "GridName",
    "SearchOptions",
    "SrpKernel",
]

Counting = Literal["tf", "clean", "peaks", "mdl"]
SrpKernel = Literal["auto", "steered", "lookup"]
GridName = Literal["azimuth", "sphere"]


@dataclass(frozen=True, eq=False)
class SearchOptions:
    """The 13 options of a search, validated (see :func:`arraykit.doa.locate`).

    ``grid`` is a grid name, ``None`` (the layout's ring) or read-only directions
    ``(G, 2)`` degrees with azimuths in [0, 360); ``points`` read-only ``(G, 3)``
    metres or ``None``. Build it with :meth:`create` (or the constructor: both
    validate).
    """

    method: str = "srp-phat"
    num_sources: int | Literal["auto"] = 1
    freq_range: tuple[float, float] = (300.0, 3500.0)
    nfft: int = 512
    grid: GridName | np.ndarray | None = None
    points: np.ndarray | None = None
    resolution: float = 1.0
    point_resolution: float | None = None
    coarse: float | None = None
    min_separation: float | None = None
    counting: Counting = "tf"
    srp_kernel: SrpKernel = "auto"
    c: float = SPEED_OF_SOUND

    @classmethod
    def create(cls, **options: Any) -> SearchOptions:
        """The options from a public function's keyword arguments."""
        return cls(**options)

    def __post_init__(self) -> None:
        """Validate every option once; store the checked values."""
        set_ = object.__setattr__
        method = registry.get(self.method)
        set_(self, "nfft", v.integer("nfft", self.nfft, 8))
        set_(self, "c", v.positive("c", self.c))
        set_(self, "counting", v.choice("counting", self.counting, get_args(Counting)))
        set_(self, "srp_kernel", v.choice("srp_kernel", self.srp_kernel, get_args(SrpKernel)))
        k = self.num_sources
        if k != "auto":
            if isinstance(k, bool) or not isinstance(k, int | np.integer):
                raise v.fail("num_sources", k, "must be a positive integer or 'auto'")
            set_(self, "num_sources", int(k))
        set_(self, "resolution", v.positive("resolution", self.resolution))
        if self.points is None and self.resolution >= 180:  # a grid of one or two directions
            why = "(degrees) must be under 180: a grid this coarse answers its own directions"
            raise v.fail("resolution", self.resolution, why)
        if self.point_resolution is not None:
            set_(self, "point_resolution", v.positive("point_resolution", self.point_resolution))
            if self.points is None:
                raise v.fail(
                    "point_resolution",
                    self.point_resolution,
                    "refines near-field points: give points too",
                )
        if self.points is not None:
            if self.grid is not None:
                raise v.fail(
                    "grid",
                    self.grid,
                    "give either grid (directions) or points (near field), not both",
                )
            if not method.near_field:
                raise v.fail(
                    "points",
                    self.points,
                    f"method {self.method!r} is a far-field method; use srp-phat or music",
                )
            pts = v.finite_array("points", self.points, ndim=2).copy()
            if pts.shape[1] != 3 or pts.shape[0] < 1:
                raise v.fail("points", self.points, "must be candidate positions (G, 3) in metres")
            pts.setflags(write=False)  # the plan's, and the result's: plans are kept
            set_(self, "points", pts)
        elif self.grid is None or isinstance(self.grid, str):
            if self.grid is not None:
                set_(self, "grid", v.choice("grid", self.grid, get_args(GridName)))
            if self.coarse is not None:
                set_(self, "coarse", v.positive("coarse", self.coarse))
        else:
            d = v.directions("grid", self.grid)
            d = np.stack([np.mod(d[:, 0], 360.0), d[:, 1]], axis=1)
            d.setflags(write=False)
            set_(self, "grid", d)
        if self.min_separation is not None:
            sep = float(v.finite_array("min_separation", self.min_separation, ndim=0))
            if sep < 0:
                raise v.fail("min_separation", self.min_separation, "must be >= 0")
            set_(self, "min_separation", sep)

    @property
    def part(self) -> registry.DOAMethod:
        """The registered method the options name."""
        return registry.get(self.method)
