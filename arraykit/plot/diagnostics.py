"""Pictures of steering-error distortion: error x frequency maps, tolerances, trade-offs.

Each function draws one thing from an :mod:`arraykit.diagnostics` result and returns
the Figure; pass ``ax`` to draw into an existing axes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from arraykit.diagnostics import Report, Sweep, Tolerance
from arraykit.plot._mpl import pyplot

__all__ = [
    "plot_loading_tradeoff",
    "plot_predicted_vs_measured",
    "plot_recording_report",
    "plot_steering_report",
    "plot_steering_sweep",
    "plot_tolerance",
]

_LEVELS = (-6.0, -3.0, -1.0)


def _axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    if ax is None:
        fig, ax = pyplot().subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def plot_steering_sweep(
    sweep: Sweep, ax: Any = None, *, floor_db: float = -30.0, title: str | None = None
) -> Any:
    """Heat map of the target gain (dB) over steering error x frequency.

    Contours mark the -1, -3 and -6 dB losses. Returns the Figure.
    """
    fig, ax = _axes(ax, (6.0, 4.0))
    g = np.maximum(sweep.gain_db, floor_db)
    mesh = ax.pcolormesh(
        sweep.freqs / 1000.0, sweep.errors, g, shading="auto", cmap="magma", vmin=floor_db, vmax=0
    )
    fig.colorbar(mesh, ax=ax, label="target gain (dB)")
    if sweep.errors.size > 1 and sweep.freqs.size > 1:
        cs = ax.contour(
            sweep.freqs / 1000.0,
            sweep.errors,
            sweep.gain_db,
            levels=_LEVELS,
            colors="white",
            linestyles="solid",
        )
        ax.clabel(cs, fmt="%g dB", fontsize=8)
    ax.set_xlabel("frequency (kHz)")
    ax.set_ylabel(f"steering error in {sweep.axis} (°)")
    ax.set_title(title or f"{sweep.method}: target gain under steering error")
    return fig


def plot_tolerance(tolerance: Tolerance, ax: Any = None, *, title: str | None = None) -> Any:
    """The steering error that costs each loss level, against frequency. Returns the Figure."""
    fig, ax = _axes(ax, (6.0, 4.0))
    for k, loss in enumerate(tolerance.losses_db):
        ax.plot(tolerance.freqs / 1000.0, tolerance.errors[k], label=f"{loss:g} dB loss")
    ax.set_xlabel("frequency (kHz)")
    ax.set_ylabel("tolerable steering error (°)")
    ax.set_yscale("log")
    fmt = pyplot().FuncFormatter(lambda y, _: f"{y:g}")
    ax.yaxis.set_major_formatter(fmt)
    ax.yaxis.set_minor_formatter(fmt)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title(title or f"{tolerance.method}: error at which the target loses 1 / 3 / 6 dB")
    return fig


def plot_steering_report(sweep: Sweep, tolerance: Tolerance, *, title: str | None = None) -> Any:
    """The sweep's heat map beside the tolerance curves (what ``arraykit diagnose`` saves)."""
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12.0, 4.2))
    plot_steering_sweep(sweep, a1)
    plot_tolerance(tolerance, a2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_predicted_vs_measured(
    errors: npt.ArrayLike,
    predicted: Mapping[str, npt.ArrayLike],
    measured: Mapping[str, npt.ArrayLike],
    ax: Any = None,
    *,
    ylabel: str = "target gain, 300-4000 Hz mean (dB)",
    title: str | None = None,
) -> Any:
    """Predicted curves (lines) and measured points (markers), one colour per beamformer.

    ``predicted[name]`` and ``measured[name]`` are ``(E,)`` over ``errors`` degrees.
    """
    fig, ax = _axes(ax, (6.0, 4.0))
    e = np.asarray(errors, dtype=float)
    for k, name in enumerate(predicted):
        color = f"C{k}"
        ax.plot(e, np.asarray(predicted[name]), "-", color=color, label=f"{name} predicted")
        if name in measured:
            ax.plot(e, np.asarray(measured[name]), "o", color=color, label=f"{name} measured")
    ax.set_xlabel("steering error (°)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "target attenuation: prediction vs simulated room")
    return fig


def plot_loading_tradeoff(
    loadings: npt.ArrayLike,
    gain_db: npt.ArrayLike,
    sinr_db: npt.ArrayLike,
    sinr_matched_db: npt.ArrayLike | None = None,
    ax: Any = None,
    *,
    title: str | None = None,
) -> Any:
    """Target gain and output SINR against diagonal loading (log axis). Returns the Figure.

    ``sinr_matched_db`` (optional) is the SINR without steering error: what loading
    costs when the direction is right.
    """
    fig, ax = _axes(ax, (6.0, 4.0))
    lo = np.asarray(loadings, dtype=float)
    ax.semilogx(lo, np.asarray(gain_db), "-", color="C0", label="target gain under the error")
    ax.semilogx(lo, np.asarray(sinr_db), "-", color="C1", label="output SINR under the error")
    if sinr_matched_db is not None:
        ax.semilogx(
            lo, np.asarray(sinr_matched_db), "--", color="C1", label="output SINR, no error"
        )
    ax.set_xlabel("diagonal loading (absolute, in the units of the noise covariance)")
    ax.set_ylabel("dB")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "loading trades noise reduction for robustness")
    return fig


def plot_recording_report(report: Report, ax: Any = None, *, title: str | None = None) -> Any:
    """Measured talker gain per frequency, with DAS and the prediction. Returns the Figure."""
    fig, ax = _axes(ax, (6.0, 4.0))
    f = report.freqs / 1000.0
    ax.plot(f, report.gain_db, "-", color="C0", label=f"{report.method}, measured")
    ax.plot(f, report.das_gain_db, "-", color="C2", label="delay-and-sum, measured")
    if report.predicted_gain_db is not None:
        ax.plot(f, report.predicted_gain_db, "--", color="C0", label="predicted for the DOA error")
    ax.axvspan(report.band[0] / 1000.0, report.band[1] / 1000.0, color="0.9", zorder=0)
    ax.set_xlabel("frequency (kHz)")
    ax.set_ylabel("gain on the talker (dB)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    flag = " - SELF-CANCELLATION" if report.self_cancellation else ""
    ax.set_title(title or f"{report.method} at {report.direction[0]:.0f}°{flag}")
    return fig
