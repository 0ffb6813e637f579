"""Pictures of DOA results: polar maps, azimuth × elevation maps, near-field maps.

Each marks the estimates (×) and, when given, the true directions (○); on a ring both
sit on the rim, whatever the spectrum's height there. A linear
array's searched half-plane is drawn with its mirror half greyed: the array cannot
tell the two apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from arraykit.doa import DOAResult
from arraykit.plot._mpl import pyplot

__all__ = ["plot_doa", "plot_doa_spectra"]

ESTIMATE_RADIUS = 1.0
"""Ring plots draw every estimate on the rim (the spectrum is normalised to 0..1)."""


def plot_doa(
    result: DOAResult,
    *,
    truth: npt.ArrayLike | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Draw one :class:`~arraykit.doa.DOAResult`; returns the Figure.

    A ring search (one elevation) becomes a polar plot of the normalised spectrum;
    a sphere or user grid an azimuth × elevation map; a near-field search a top view
    of the candidate points in metres.

    Parameters
    ----------
    result : DOAResult
    truth : array_like [shape=(K, 2)], optional
        True (azimuth, elevation) degrees (or ``(K, 3)`` positions in metres for a
        near-field result).
    ax : matplotlib Axes, optional
        Must be a polar Axes for a ring result.
    title : str, optional
    """
    plt = pyplot()
    kind = _kind(result)
    if ax is None:
        fig = plt.figure(figsize=(4.6, 4.2) if kind != "azel" else (6.4, 3.6))
        ax = fig.add_subplot(111, projection="polar" if kind == "ring" else None)
    fig = ax.figure
    spec = _normalised(result.spectrum)
    t = None if truth is None else np.atleast_2d(np.asarray(truth, dtype=float))
    if kind == "ring":
        _ring(ax, result, spec, t)
    elif kind == "azel":
        _azel(fig, ax, result, spec, t)
    else:
        _points(fig, ax, result, spec, t)
    ax.set_title(title if title is not None else result.method, fontsize=10)
    return fig


def plot_doa_spectra(
    results: Mapping[str, DOAResult],
    *,
    truth: npt.ArrayLike | None = None,
    title: str | None = None,
    ncols: int | None = None,
) -> Any:
    """Several results side by side (one panel each, e.g. one per method); returns the Figure."""
    plt = pyplot()
    items = list(results.items())
    n = len(items)
    ncols = ncols or min(n, 5)
    nrows = int(np.ceil(n / ncols))
    kinds = {_kind(r) for _, r in items}
    ring = kinds == {"ring"}
    fig = plt.figure(figsize=(3.2 * ncols, 3.3 * nrows + (0.4 if title else 0.0)))
    for i, (name, res) in enumerate(items):
        ax = fig.add_subplot(nrows, ncols, i + 1, projection="polar" if ring else None)
        plot_doa(res, truth=truth, ax=ax, title=name)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------- helpers
def _kind(result: DOAResult) -> str:
    if result.points is not None:
        return "points"
    el = result.grid[:, 1]
    return "ring" if np.ptp(el) < 1e-9 else "azel"


def _normalised(spectrum: np.ndarray) -> np.ndarray:
    s = np.asarray(spectrum, dtype=float)
    lo, hi = float(s.min()), float(s.max())
    return (s - lo) / (hi - lo) if hi > lo else np.ones_like(s)


def _ring(ax: Any, result: DOAResult, spec: np.ndarray, truth: np.ndarray | None) -> None:
    az = np.radians(result.grid[:, 0])
    order = np.argsort(az)
    az, spec = az[order], spec[order]
    full = np.ptp(result.grid[:, 0]) > 270
    if full:
        az, spec = np.r_[az, az[0] + 2 * np.pi], np.r_[spec, spec[0]]
    ax.plot(az, spec, color="tab:blue", lw=1.5, label="spectrum")
    if not full:  # a linear array: its mirror half mirrors the searched half
        ax.fill_between(
            np.linspace(az[-1], az[0] + 2 * np.pi, 60), 0, 1, color="0.85", alpha=0.6, lw=0
        )
        ax.plot([], [], "s", color="0.85", label="mirror half (same delays)")
    # Estimates sit on the rim, beside the true directions: a subspace method's second
    # peak can be a small fraction of its first (MUSIC's pseudo-spectrum), and drawn at
    # its spectrum value it would land near the centre of the panel, where no
    # direction can be read. A thin spoke joins it to its peak on the curve.
    est = np.radians(np.asarray(result.azimuth, dtype=float))
    r = np.interp(est, az, spec, period=2 * np.pi)
    for e, ri in zip(est, r, strict=True):
        ax.plot([e, e], [ri, ESTIMATE_RADIUS], color="tab:red", lw=0.8, alpha=0.6)
    ax.plot(est, np.full(est.shape, ESTIMATE_RADIUS), "x", color="tab:red", ms=10, mew=2, label="estimate")  # fmt: skip
    if truth is not None:
        ax.plot(np.radians(truth[:, 0]), np.ones(len(truth)), "o", mfc="none", mec="k", ms=9, mew=1.5, label="true")  # fmt: skip
    ax.set_ylim(0, 1.05)
    ax.set_yticklabels([])
    ax.legend(loc="lower left", bbox_to_anchor=(-0.15, -0.15), fontsize=6, framealpha=0.8)


def _azel(fig: Any, ax: Any, result: DOAResult, spec: np.ndarray, truth: np.ndarray | None) -> None:
    az, el = result.grid[:, 0], result.grid[:, 1]
    im = ax.tricontourf(az, el, spec, levels=24, cmap="viridis")
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, label="normalised spectrum")
    ax.plot(result.azimuth, result.elevation, "x", color="tab:red", ms=10, mew=2, label="estimate")
    if truth is not None:
        ax.plot(truth[:, 0], truth[:, 1], "o", mfc="none", mec="w", ms=10, mew=1.5, label="true")
    ax.set_xlabel("azimuth (°)")
    ax.set_ylabel("elevation (°)")
    ax.set_xlim(0, 360)
    ax.legend(loc="lower right", fontsize=7, framealpha=0.8)


def _points(
    fig: Any, ax: Any, result: DOAResult, spec: np.ndarray, truth: np.ndarray | None
) -> None:
    pts = result.points
    assert pts is not None
    sc = ax.scatter(pts[:, 0], pts[:, 1], c=spec, s=12, cmap="viridis", marker="s")
    fig.colorbar(sc, ax=ax, fraction=0.04, pad=0.02, label="normalised spectrum")
    if result.positions is not None:
        ax.plot(result.positions[:, 0], result.positions[:, 1], "x", color="tab:red", ms=10, mew=2, label="estimate")  # fmt: skip
    if truth is not None and truth.shape[1] >= 2:
        ax.plot(truth[:, 0], truth[:, 1], "o", mfc="none", mec="w", ms=10, mew=1.5, label="true")
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.legend(loc="lower right", fontsize=7, framealpha=0.8)
