"""Beam patterns and array metrics: polar cuts, frequency x azimuth maps, az x el maps.

All functions take weights ``(F, M)`` designed for frequencies ``(F,)`` and return
the matplotlib Figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from arraykit.beamform.pattern import beam_metrics, directivity, pattern, white_noise_gain
from arraykit.geometry import ArrayGeometry
from arraykit.plot._mpl import pyplot

__all__ = ["plot_beam_metrics", "plot_pattern_azel", "plot_pattern_map", "plot_polar_pattern"]

FLOOR_DB = -40.0


def _db(B: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.maximum(20 * np.log10(np.abs(B)), FLOOR_DB)


def _pick(freqs: np.ndarray, show: npt.ArrayLike | None, limit: int = 6) -> np.ndarray:
    """Indices of the bins nearest the frequencies in `show` (default: up to `limit` spread out)."""
    if show is None:
        return np.unique(np.linspace(0, len(freqs) - 1, min(limit, len(freqs))).round().astype(int))
    s = np.atleast_1d(np.asarray(show, dtype=float))
    return np.unique(np.abs(freqs[None, :] - s[:, None]).argmin(axis=1))


def plot_polar_pattern(
    weights: npt.ArrayLike,
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    *,
    direction: npt.ArrayLike | None = None,
    show: npt.ArrayLike | None = None,
    elevation: float | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Polar plot of ``|B|`` in dB over azimuth at chosen frequencies.

    Parameters
    ----------
    weights : array_like [shape=(F, M)]
    geometry : ArrayGeometry
    freqs : array_like [shape=(F,)]
    direction : (float, float), optional
        Look direction, marked with a line (its elevation is the cut's default).
    show : array_like, optional
        Frequencies to draw (nearest bins); default up to 6 spread over `freqs`.
    elevation : float, optional
        Elevation of the azimuth cut, degrees.
    """
    plt = pyplot()
    f = np.asarray(freqs, dtype=float).ravel()
    if elevation is None:
        elevation = 0.0 if direction is None else float(np.atleast_1d(direction)[1])
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 5), subplot_kw={"projection": "polar"})
    else:
        fig = ax.figure
    az = np.arange(0.0, 360.5, 1.0)
    idx = _pick(f, show)
    w = np.asarray(weights)[idx]
    B = pattern(w, geometry, f[idx], np.stack([az, np.full_like(az, elevation)], 1))
    for i, k in enumerate(idx):
        ax.plot(np.radians(az), _db(B[i]), label=f"{f[k]:.0f} Hz")
    if direction is not None:
        ax.axvline(np.radians(float(np.atleast_1d(direction)[0])), color="k", ls="--", lw=0.8)
    ax.set_ylim(FLOOR_DB, 3)
    ax.set_rlabel_position(135)
    ax.legend(loc="lower left", bbox_to_anchor=(0.85, 0.0), fontsize=8)
    ax.set_title(title or f"beam pattern, dB (elevation {elevation:g}°)")
    return fig


def plot_pattern_map(
    weights: npt.ArrayLike,
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    *,
    elevation: float = 0.0,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Heat map of ``|B|`` in dB over frequency (y) and azimuth (x) at one elevation."""
    plt = pyplot()
    f = np.asarray(freqs, dtype=float).ravel()
    az = np.arange(0.0, 360.0, 1.0)
    B = pattern(weights, geometry, f, np.stack([az, np.full_like(az, elevation)], 1))
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4))
    else:
        fig = ax.figure
    im = ax.pcolormesh(az, f, _db(B), shading="nearest", vmin=FLOOR_DB, vmax=0, cmap="magma")
    fig.colorbar(im, ax=ax, label="dB")
    ax.set_xlabel("azimuth (°)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_title(title or f"beam pattern over frequency (elevation {elevation:g}°)")
    return fig


def plot_pattern_azel(
    weights: npt.ArrayLike,
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    freq: float,
    *,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Map of ``|B|`` in dB over azimuth (x) and elevation (y) at the bin nearest `freq`."""
    plt = pyplot()
    f = np.asarray(freqs, dtype=float).ravel()
    k = int(np.abs(f - float(freq)).argmin())
    az = np.arange(0.0, 360.0, 2.0)
    el = np.arange(-90.0, 90.5, 2.0)
    grid = np.stack(np.meshgrid(az, el), axis=-1).reshape(-1, 2)
    B = pattern(np.asarray(weights)[k : k + 1], geometry, f[k : k + 1], grid)[0]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
    else:
        fig = ax.figure
    im = ax.pcolormesh(
        az,
        el,
        _db(B).reshape(len(el), len(az)),
        shading="nearest",
        vmin=FLOOR_DB,
        vmax=0,
        cmap="magma",
    )
    fig.colorbar(im, ax=ax, label="dB")
    ax.set_xlabel("azimuth (°)")
    ax.set_ylabel("elevation (°)")
    ax.set_title(title or f"beam pattern at {f[k]:.0f} Hz")
    return fig


def plot_beam_metrics(
    weights: dict[str, npt.ArrayLike] | npt.ArrayLike,
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    direction: npt.ArrayLike,
    *,
    title: str | None = None,
) -> Any:
    """White-noise gain, directivity index and -3 dB beamwidth over frequency.

    `weights` is one ``(F, M)`` array or a dict ``{label: (F, M)}`` to compare designs.
    """
    plt = pyplot()
    f = np.asarray(freqs, dtype=float).ravel()
    sets = weights if isinstance(weights, dict) else {"weights": weights}
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), sharex=True)
    for label, w in sets.items():
        axes[0].plot(f, 10 * np.log10(white_noise_gain(w, geometry, f, direction)), label=label)
        axes[1].plot(f, 10 * np.log10(directivity(w, geometry, f, direction)), label=label)
        axes[2].plot(
            f, beam_metrics(w, geometry, f, direction, resolution=0.5).beamwidth, label=label
        )
    for ax, name in zip(
        axes,
        ("white-noise gain (dB)", "directivity index (dB)", "-3 dB beamwidth (°)"),
        strict=True,
    ):
        ax.set_title(name)
        ax.set_xlabel("frequency (Hz)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
