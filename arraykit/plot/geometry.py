"""Top view of an array: microphones, channel indices, and the mirror it cannot escape."""

from __future__ import annotations

from typing import Any

import numpy as np

from arraykit.geometry import ArrayGeometry
from arraykit.plot._mpl import pyplot


def plot_geometry(geometry: ArrayGeometry, ax: Any = None, *, title: str | None = None) -> Any:
    """Draw the microphones (x right, y up, millimetres) with their indices.

    A linear array gets its mirror axis drawn as a dashed line (directions mirrored
    across it sound the same); a planar array is annotated with its mirror plane
    (above and below it sound the same). Returns the Figure.
    """
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 4.2))
    else:
        fig = ax.figure
    p = geometry.positions * 1000.0
    ax.scatter(p[:, 0], p[:, 1], s=60, color="tab:blue", zorder=3)
    span = max(float(np.ptp(p[:, 0])), float(np.ptp(p[:, 1])), 10.0)
    for k, (x, y, _) in enumerate(p):
        ax.annotate(str(k), (x, y), xytext=(4, 4), textcoords="offset points", fontsize=9)
    c = geometry.centroid * 1000.0
    if geometry.layout == "linear":
        a = geometry.axis
        assert a is not None
        ends = np.array([c - a * span, c + a * span])
        ax.plot(
            ends[:, 0],
            ends[:, 1],
            "--",
            color="tab:red",
            label="mirror axis: its two sides sound alike",
        )
    elif geometry.layout == "planar":
        ax.plot([], [], " ", label="mirror plane: the board (above = below)")
    ax.set_xlim(c[0] - 0.75 * span, c[0] + 0.75 * span)
    ax.set_ylim(c[1] - 0.75 * span, c[1] + 0.75 * span)
    ax.set_aspect("equal")
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
    ax.set_title(
        title
        if title is not None
        else (geometry.name or f"{geometry.n_mics}-mic {geometry.layout}"),
        fontsize=10,
    )
    return fig
