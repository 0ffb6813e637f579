"""Predicted target response of a beamformer steered in the wrong direction.

A beamformer designed for the look direction ``a`` (steering vector ``(F, M)``)
meets a target whose true steering vector is ``a0``. The complex gain it applies to
the target is ``g = w^H a0`` per frequency; ``20 log10 |g|`` is the distortion this
module predicts. Mismatch comes from a steering error in degrees, per-microphone
delay errors (seconds), random microphone position errors (metres, Monte Carlo) or
a covariance that holds the target itself (MPDR).

The scene behind every prediction: a target of per-element power ``sigma_s^2``
(``snr_db`` is the **per-microphone** SNR, ``sigma_s^2 / sigma_n^2``) over noise of
covariance ``noise_cov`` ``(F, M, M)`` whose mean diagonal is ``sigma_n^2``
(spatially white of unit power by default). What each method is designed from:

========================  =============================================================
``"das"``                 ``w = a / M``
``"mvdr"``                the noise covariance plus ``loading * I``
``"mpdr"``                the full covariance ``sigma_s^2 a0 a0^H + R_n + loading * I``
``"superdirective"``      diffuse (3-D) coherence plus ``loading * I``
``"lcmv"``                the noise covariance plus loading; unit gain at the look
                          direction and zeros toward ``nulls``
========================  =============================================================

Closed forms (:func:`closed_form`), with ``rho = a^H a0 / M``:

* delay-and-sum: ``|g| = |rho|``;
* MPDR in white noise: ``|g| = |rho| / (1 + M SNR (1 - |rho|^2))``, and diagonal
  loading ``eps`` lowers the SNR in it to ``sigma_s^2 / (sigma_n^2 + eps)``;
* Cox (1973) in any noise: with ``SINR_0 = sigma_s^2 a0^H R_n^-1 a0`` and the
  generalised cosine ``cos^2 = |a^H R_n^-1 a0|^2 / (a^H R_n^-1 a . a0^H R_n^-1 a0)``,
  MVDR gives ``SINR = SINR_0 cos^2`` and MPDR gives
  ``SINR = SINR_0 cos^2 / (1 + (2 SINR_0 + SINR_0^2) sin^2)``; the MPDR target gain
  is the MVDR one divided by ``1 + SINR_0 sin^2``.

The issue's example (8 microphones at half a wavelength, target 20° from broadside,
2° steering error) reads, in arraykit's azimuth convention (a line lies along +x, so
broadside is azimuth 90° and "20° from broadside" is azimuth 70°):

>>> import arraykit as ak
>>> g = ak.ArrayGeometry.linear(8, 0.05)
>>> f = 343.0 / (2 * 0.05)                       # half-wavelength spacing
>>> steering_loss(g, f, method="das", look=(70, 0), source=(68, 0)).round(2)
array([-0.24])
>>> [float(steering_loss(g, f, method="mpdr", look=(70, 0), source=(68, 0),
...                      snr_db=s)[0].round(2)) for s in (0, 10, 20)]
[-3.35, -14.74, -33.12]

Shapes: ``F`` frequencies, ``M`` microphones, ``E`` errors (or Monte Carlo trials),
``L`` linear constraints.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit.beamform import DEFAULT_LOADING, DesignInputs, design_names, get_design
from arraykit.beamform.covariance import hermitian_tolerance
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry, unit_vectors
from arraykit.steering import plane_wave, spherical_wave

__all__ = [
    "ClosedForm",
    "Comparison",
    "LoadingAdvice",
    "Prediction",
    "Sweep",
    "Tolerance",
    "closed_form",
    "compare",
    "loading_for",
    "parse_range",
    "predict",
    "steering_loss",
    "sweep",
    "tolerance",
]

Method = str
"""A design name of :mod:`arraykit.beamform.registry` (its weights come from there)."""
Axis = Literal["azimuth", "elevation"]

_TINY = 1e-300


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Prediction:
    """The target's response under mismatch, per frequency.

    Attributes
    ----------
    freqs : np.ndarray [shape=(F,)]
    gain_db : np.ndarray [shape=(F,)]
        Gain applied to the true target, dB (0 = undistorted). With Monte Carlo
        position errors, the power mean over the trials.
    sinr_db : np.ndarray [shape=(F,)] or None
        Output SINR, dB (None without ``snr_db``).
    sinr_opt_db : np.ndarray [shape=(F,)] or None
        The SINR of the matched optimum beamformer, ``sigma_s^2 a0^H R_n^-1 a0``, dB.
    wng_db : np.ndarray [shape=(F,)]
        White-noise gain ``|w^H a|^2 / w^H w`` of the weights, dB.
    trials_db : np.ndarray [shape=(E, F)] or None
        Per-trial gains for Monte Carlo position errors.
    """

    freqs: np.ndarray
    gain_db: np.ndarray
    sinr_db: np.ndarray | None
    sinr_opt_db: np.ndarray | None
    wng_db: np.ndarray
    trials_db: np.ndarray | None
    method: str
    look: tuple[float, float]
    source: tuple[float, float]


@dataclass(frozen=True)
class ClosedForm:
    """Closed-form target gain and output SINR (see the module text for the formulas).

    Attributes
    ----------
    freqs : np.ndarray [shape=(F,)]
    rho : np.ndarray [shape=(F,), complex]
        ``a^H a0 / M``.
    cos2 : np.ndarray [shape=(F,)]
        Generalised cosine squared between ``a`` and ``a0`` in the ``R_n^-1`` metric.
    gain_db : np.ndarray [shape=(F,)]
    sinr_db : np.ndarray [shape=(F,)] or None
        Cox's output SINR (None without ``snr_db``, or with loading, which has no
        closed form for the SINR).
    formula : str
    """

    freqs: np.ndarray
    rho: np.ndarray
    cos2: np.ndarray
    gain_db: np.ndarray
    sinr_db: np.ndarray | None
    formula: str


@dataclass(frozen=True)
class Sweep:
    """Target gain over steering error x frequency.

    Attributes
    ----------
    errors : np.ndarray [shape=(E,)]
        Steering errors, degrees (look = source + error along ``axis``).
    freqs : np.ndarray [shape=(F,)]
    gain_db : np.ndarray [shape=(E, F)]
    sinr_db : np.ndarray [shape=(E, F)] or None
    """

    errors: np.ndarray
    freqs: np.ndarray
    gain_db: np.ndarray
    sinr_db: np.ndarray | None
    method: str
    source: tuple[float, float]
    axis: str


@dataclass(frozen=True)
class Tolerance:
    """The steering error at which the target has lost ``losses_db``, per frequency.

    Attributes
    ----------
    losses_db : np.ndarray [shape=(K,)]
    freqs : np.ndarray [shape=(F,)]
    errors : np.ndarray [shape=(K, F)]
        Degrees; NaN where the loss is not reached within ``max_error``.
    """

    losses_db: np.ndarray
    freqs: np.ndarray
    errors: np.ndarray
    method: str
    source: tuple[float, float]
    axis: str


@dataclass(frozen=True)
class LoadingAdvice:
    """Diagonal loading that keeps the target loss under ``max_loss_db``.

    Attributes
    ----------
    freqs : np.ndarray [shape=(F,)]
    loading : np.ndarray [shape=(F,)]
        Absolute loading (noise power is 1); NaN where no loading on the grid suffices.
    wng_db : np.ndarray [shape=(F,)]
        The white-noise gain at that loading, dB (the equivalent WNG constraint).
    gain_db : np.ndarray [shape=(F,)]
        Target gain at the expected error with that loading.
    sinr_db, sinr_unloaded_db : np.ndarray [shape=(F,)]
        Output SINR at the expected error with and without the loading: what the
        robustness costs (or gains).
    """

    freqs: np.ndarray
    loading: np.ndarray
    wng_db: np.ndarray
    gain_db: np.ndarray
    sinr_db: np.ndarray
    sinr_unloaded_db: np.ndarray
    max_loss_db: float
    error: float


@dataclass(frozen=True)
class Comparison:
    """Several beamformers under one steering error.

    Attributes
    ----------
    methods : tuple[str, ...] [K]
    freqs : np.ndarray [shape=(F,)]
    gain_db, sinr_db, wng_db : np.ndarray [shape=(K, F)]
    """

    methods: tuple[str, ...]
    freqs: np.ndarray
    gain_db: np.ndarray
    sinr_db: np.ndarray
    wng_db: np.ndarray
    error: float

    def table(self) -> str:
        """One line per method: mean / worst target gain and mean SINR over the band."""
        rows = [
            f"{'method':<15}{'mean gain':>11}{'worst gain':>12}{'mean SINR':>11}{'mean WNG':>10}"
        ]
        for k, m in enumerate(self.methods):
            rows.append(
                f"{m:<15}{np.mean(self.gain_db[k]):>8.2f} dB{np.min(self.gain_db[k]):>9.2f} dB"
                f"{np.mean(self.sinr_db[k]):>8.2f} dB{np.mean(self.wng_db[k]):>7.2f} dB"
            )
        return "\n".join(rows)


# --------------------------------------------------------------------------- public
def steering_loss(
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    *,
    method: Method,
    look: Sequence[float],
    source: Sequence[float],
    snr_db: float | npt.ArrayLike | None = None,
    loading: float | npt.ArrayLike = 0.0,
) -> np.ndarray:
    """The target's gain in dB per frequency when the beam looks at ``look``.

    Parameters
    ----------
    geometry : ArrayGeometry
    freqs : array_like [shape=(F,)]
        Hz.
    method : str
        A registered design (``ak.beamform.design_names()``: "das", "mvdr", "mpdr",
        "superdirective", "lcmv", "gev", and any registered later).
    look, source : (float, float)
        ``(azimuth, elevation)`` degrees the beam is steered at / the talker is at.
    snr_db : float or array_like [shape=(F,)], optional
        Per-microphone SNR of the target in the covariance (needed by ``"mpdr"``).
    loading : float
        Diagonal loading (noise power is 1).

    Returns
    -------
    np.ndarray [shape=(F,)]
        ``20 log10 |w^H a0|``.
    """
    return predict(
        geometry, freqs, method=method, look=look, source=source, snr_db=snr_db, loading=loading
    ).gain_db


def predict(
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    *,
    method: Method,
    look: Sequence[float],
    source: Sequence[float] | None = None,
    delay_errors: npt.ArrayLike | None = None,
    position_std: float = 0.0,
    n_trials: int = 200,
    seed: int | None = None,
    source_distance: float | None = None,
    snr_db: float | npt.ArrayLike | None = None,
    noise_cov: npt.ArrayLike | None = None,
    loading: float | npt.ArrayLike = 0.0,
    nulls: Sequence[Sequence[float]] = (),
    c: float = SPEED_OF_SOUND,
) -> Prediction:
    """Target gain and output SINR of ``method`` under any mix of mismatches.

    Parameters
    ----------
    geometry : ArrayGeometry
        The nominal geometry the beamformer is designed with.
    freqs : array_like [shape=(F,)]
    method : str
        A registered design (``ak.beamform.design_names()``: "das", "mvdr", "mpdr",
        "superdirective", "lcmv", "gev", and any registered later).
    look : (float, float)
        Direction the beam is steered at, degrees.
    source : (float, float), optional
        True direction of the target (default: ``look``).
    delay_errors : array_like [shape=(M,)], optional
        Seconds added to the delays the beamformer uses (e.g. GCC-PHAT errors).
    position_std : float
        Standard deviation (m, per coordinate) of random microphone position errors;
        > 0 runs ``n_trials`` Monte Carlo trials with ``seed``.
    source_distance : float, optional
        Metres from the array centroid: the talker is then a point source (spherical
        wave, ``1/r`` amplitudes) while the beamformer still assumes a plane wave.
    snr_db : float or array_like [shape=(F,)], optional
        Per-microphone SNR of the target (required by ``"mpdr"``).
    noise_cov : array_like [shape=(F, M, M) or (M, M)], optional
        Noise covariance (default: white, unit power).
    loading : float
        Diagonal loading added to the design covariance, >= 0 (or one per frequency).
    nulls : sequence of (float, float)
        Null directions for ``"lcmv"``.

    Returns
    -------
    Prediction
    """
    p = _Problem.build(geometry, freqs, method, snr_db, noise_cov, loading, nulls, c)
    look_d = _direction("look", look)
    src_d = look_d if source is None else _direction("source", source)
    ps = _nonneg("position_std", position_std)
    a = _steer(geometry.positions, p.freqs, look_d, c)[None]  # (1, F, M)
    if delay_errors is not None:
        d = v.finite_array("delay_errors", delay_errors)
        if d.shape != (geometry.n_mics,):
            raise v.fail("delay_errors", delay_errors, f"must have shape ({geometry.n_mics},)")
        a = a * np.exp(-2j * np.pi * p.freqs[:, None] * d[None, :])[None]
    true_pos = geometry.positions[None]
    if ps > 0:
        n = int(v.positive("n_trials", n_trials))
        _fits("n_trials", n_trials, _work_bytes(n, p.freqs.size, geometry.n_mics), f"{n} trials")
        rng = np.random.default_rng(seed)
        true_pos = true_pos + rng.normal(0.0, ps, (n, geometry.n_mics, 3))
    if source_distance is None:
        a0 = _steer(true_pos, p.freqs, src_d, c)  # (E, F, M)
    else:
        r = v.positive("source_distance", source_distance)
        point = geometry.centroid + r * unit_vectors([src_d])[0]
        dist = np.linalg.norm(true_pos - point, axis=-1)  # (E, M)
        if np.any(dist < 1e-3):
            raise v.fail("source_distance", source_distance, "puts the talker on a microphone")
        a0 = spherical_wave(true_pos, p.freqs, point, centre=geometry.centroid, c=c)[..., 0, :]
    gain, sinr, wng = p.evaluate(a, a0, geometry)
    power = np.mean(np.abs(gain) ** 2, axis=0)
    sinr_out = None if sinr is None else _db(np.mean(sinr, axis=0))
    sinr_opt = None
    if p.sigma_s2 is not None:
        sinr_opt = _db(np.mean(p.sigma_s2 * _quad(a0, p.noise_inv, a0).real, axis=0))
    return Prediction(
        freqs=p.freqs,
        gain_db=_db(power),
        sinr_db=sinr_out,
        sinr_opt_db=sinr_opt,
        wng_db=_db(np.mean(wng, axis=0)),
        trials_db=_db(np.abs(gain) ** 2) if ps > 0 else None,
        method=p.method,
        look=look_d,
        source=src_d,
    )


def closed_form(
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    *,
    method: Literal["das", "mvdr", "mpdr"],
    look: Sequence[float],
    source: Sequence[float],
    snr_db: float | npt.ArrayLike | None = None,
    noise_cov: npt.ArrayLike | None = None,
    loading: float | npt.ArrayLike = 0.0,
    c: float = SPEED_OF_SOUND,
) -> ClosedForm:
    """Target gain (and Cox's output SINR) from the closed forms, no weights computed.

    ``"mpdr"`` with white noise uses ``|rho| / (1 + M SNR_eff (1 - |rho|^2))`` with
    ``SNR_eff = sigma_s^2 / (1 + loading)``; with coloured noise, Cox's form with
    ``R_n + loading I``. Only distortionless designs have these forms.

    Returns
    -------
    ClosedForm
    """
    if method not in ("das", "mvdr", "mpdr"):
        why = "has no closed form: only the distortionless 'das', 'mvdr', 'mpdr' do"
        if method in design_names():
            raise v.fail("method", method, why + " (use predict for the numbers)")
        raise v.fail("method", method, "must be one of 'das', 'mvdr', 'mpdr'")
    p = _Problem.build(geometry, freqs, method, snr_db, noise_cov, loading, (), c)
    a = _steer(geometry.positions, p.freqs, _direction("look", look), c)
    a0 = _steer(geometry.positions, p.freqs, _direction("source", source), c)
    m = geometry.n_mics
    rho = np.sum(a.conj() * a0, axis=-1) / m
    design_inv = p.design_inv  # (F, M, M) inverse of R_n + loading I
    ra0 = _quad(a, design_inv, a0)
    raa = _quad(a, design_inv, a).real
    ra0a0 = _quad(a0, design_inv, a0).real
    cos2 = np.clip(np.abs(ra0) ** 2 / np.maximum(raa * ra0a0, _TINY), 0.0, 1.0)
    sin2 = np.clip(1.0 - cos2, 0.0, 1.0)
    sinr = None
    if method == "das":
        gain = np.abs(rho)
        formula = "|rho|"
        if p.sigma_s2 is not None:  # sigma_s^2 M^2 |rho|^2 / (M^2 rho-weighted noise)
            sinr = p.sigma_s2 * m**2 * gain**2 / np.maximum(_quad(a, p.noise_cov, a).real, _TINY)
    elif method == "mvdr":
        gain = np.abs(ra0) / np.maximum(raa, _TINY)
        formula = "|a^H R^-1 a0| / (a^H R^-1 a)"
        if p.sigma_s2 is not None and p.loading_is_zero:
            sinr = p.sigma_s2 * ra0a0 * cos2
    else:
        if p.sigma_s2 is None:
            raise v.fail("snr_db", snr_db, "is needed by method='mpdr'")
        if p.white:
            snr_eff = p.sigma_s2 / (1.0 + p.loading)
            gain = np.abs(rho) / (1.0 + m * snr_eff * (1.0 - np.abs(rho) ** 2))
            formula = "|rho| / (1 + M SNR_eff (1 - |rho|^2)), SNR_eff = s^2 / (n^2 + loading)"
        else:
            s0 = p.sigma_s2 * ra0a0
            gain = np.abs(ra0) / np.maximum(raa, _TINY) / (1.0 + s0 * sin2)
            formula = "Cox: g_mvdr / (1 + SINR_0 sin^2)"
        if p.loading_is_zero:
            s0 = p.sigma_s2 * ra0a0
            sinr = s0 * cos2 / (1.0 + (2.0 * s0 + s0**2) * sin2)
    return ClosedForm(
        freqs=p.freqs,
        rho=rho,
        cos2=cos2,
        gain_db=_db(gain**2),
        sinr_db=None if sinr is None else _db(sinr),
        formula=formula,
    )


def sweep(
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    *,
    method: Method,
    source: Sequence[float],
    errors: npt.ArrayLike,
    axis: Axis = "azimuth",
    snr_db: float | npt.ArrayLike | None = None,
    noise_cov: npt.ArrayLike | None = None,
    loading: float | npt.ArrayLike = 0.0,
    nulls: Sequence[Sequence[float]] = (),
    c: float = SPEED_OF_SOUND,
) -> Sweep:
    """Target gain over steering errors x frequencies, vectorised over both.

    The beam looks at ``source + error`` (along ``axis``) while the talker stays at
    ``source``; the MPDR covariance holds the talker where it really is.

    Parameters
    ----------
    errors : array_like [shape=(E,)]
        Steering errors in degrees.

    Returns
    -------
    Sweep
        ``gain_db`` ``(E, F)``.

    >>> import arraykit as ak
    >>> s = sweep(ak.ArrayGeometry.linear(8, 0.05), [3430.0], method="das",
    ...           source=(70, 0), errors=[0.0, -2.0])
    >>> s.gain_db.round(2).tolist()
    [[0.0], [-0.24]]
    """
    p = _Problem.build(geometry, freqs, method, snr_db, noise_cov, loading, nulls, c)
    src = _direction("source", source)
    err = _errors("errors", errors)
    check_work(
        err.size,
        p.freqs.size,
        geometry.n_mics,
        errors=("errors", f"{err.size} errors"),
        freqs=("freqs", f"{p.freqs.size} frequencies"),
    )
    looks = _looks(src, err, _axis(axis))
    gain, sinr, _ = p.steered(geometry, looks, src)
    return Sweep(
        errors=err,
        freqs=p.freqs,
        gain_db=_db(np.abs(gain) ** 2),
        sinr_db=None if sinr is None else _db(sinr),
        method=p.method,
        source=src,
        axis=axis,
    )


def tolerance(
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    *,
    method: Method,
    source: Sequence[float],
    losses_db: Sequence[float] = (1.0, 3.0, 6.0),
    max_error: float = 30.0,
    step: float = 0.05,
    axis: Axis = "azimuth",
    snr_db: float | npt.ArrayLike | None = None,
    noise_cov: npt.ArrayLike | None = None,
    loading: float | npt.ArrayLike = 0.0,
    nulls: Sequence[Sequence[float]] = (),
    c: float = SPEED_OF_SOUND,
) -> Tolerance:
    """The smallest steering error (either sign) at which the target loses ``losses_db``.

    Searches errors ``0, ±step, ... , ±max_error`` and interpolates linearly between
    grid points. The design must be distortionless (unit gain without error).

    Returns
    -------
    Tolerance
        ``errors`` ``(K, F)`` degrees, NaN where the loss is not reached.

    >>> import arraykit as ak
    >>> t = tolerance(ak.ArrayGeometry.linear(8, 0.05), [3430.0], method="das",
    ...               source=(90, 0), losses_db=[3.0])
    >>> round(float(t.errors[0, 0]), 1)        # half the -3 dB beamwidth at broadside
    6.4
    """
    losses = v.finite_array("losses_db", losses_db, ndim=1)
    if losses.size == 0 or np.any(losses <= 0):
        raise v.fail("losses_db", losses_db, "must be losses in dB > 0")
    mx = v.positive("max_error", max_error)
    st = v.positive("step", step)
    if st > mx:
        raise v.fail("step", step, f"must not exceed max_error={mx}")
    n_grid = int(np.floor(mx / st + 0.5)) + 1  # np.arange's length below
    check_work(
        2 * n_grid - 1,
        np.size(freqs),
        geometry.n_mics,
        errors=("max_error/step", (max_error, step)),
        freqs=("freqs", f"{np.size(freqs)} frequencies"),
        search=f" (the search's {st:g}° steps to ±{mx:g}°)",
    )
    grid = np.arange(0.0, mx + st / 2, st)
    err = np.concatenate([grid, -grid[1:]])
    s = sweep(
        geometry,
        freqs,
        method=method,
        source=source,
        errors=err,
        axis=axis,
        snr_db=snr_db,
        noise_cov=noise_cov,
        loading=loading,
        nulls=nulls,
        c=c,
    )
    g0 = s.gain_db[0]
    if np.any(np.abs(g0) > 0.01):
        raise v.fail(
            "method",
            method,
            f"is not distortionless here (gain without error {g0[np.argmax(np.abs(g0))]:.2f} dB);"
            " a tolerance needs a unit-gain design",
        )
    n = grid.size
    pos = -s.gain_db[:n]  # (n, F) loss for +error
    neg = -np.concatenate([s.gain_db[:1], s.gain_db[n:]])  # (n, F) loss for -error
    out = np.full((losses.size, s.freqs.size), np.nan)
    for k, target in enumerate(losses):  # K is a handful of levels
        out[k] = np.fmin(_first_crossing(pos, grid, target), _first_crossing(neg, grid, target))
    return Tolerance(
        losses_db=losses, freqs=s.freqs, errors=out, method=s.method, source=s.source, axis=axis
    )


def loading_for(
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    *,
    source: Sequence[float],
    error: float,
    snr_db: float | npt.ArrayLike,
    max_loss_db: float = 1.0,
    method: Literal["mpdr", "mvdr", "superdirective"] = "mpdr",
    axis: Axis = "azimuth",
    noise_cov: npt.ArrayLike | None = None,
    loadings: npt.ArrayLike | None = None,
    c: float = SPEED_OF_SOUND,
) -> LoadingAdvice:
    """The smallest diagonal loading that keeps the loss under ``max_loss_db`` at ``error``.

    The loading is searched on a logarithmic grid (``loadings``, default 1e-3 to 1e6
    times the noise power, 10 points per decade) per frequency; the white-noise gain
    at the chosen loading is the equivalent WNG constraint.

    Returns
    -------
    LoadingAdvice
    """
    ml = v.positive("max_loss_db", max_loss_db)
    v.choice("method", method, ("mpdr", "mvdr", "superdirective"))
    err = float(_errors("error", [error])[0])
    grid = (
        np.logspace(-3, 6, 91) if loadings is None else v.finite_array("loadings", loadings, ndim=1)
    )
    if grid.size == 0 or np.any(grid < 0):
        raise v.fail("loadings", loadings, "must be a non-empty grid of loadings >= 0")
    grid = np.sort(grid)
    src = _direction("source", source)
    look = _looks(src, np.array([err]), _axis(axis))
    gains, sinrs, wngs = [], [], []
    for eps in np.concatenate([[0.0], grid]):  # one batched solve per loading
        p = _Problem.build(geometry, freqs, method, snr_db, noise_cov, eps, (), c)
        g, s, w = p.steered_db(geometry, look, src)
        gains.append(g)
        sinrs.append(s)
        wngs.append(w)
    gain = np.array(gains)  # (1 + L, F)
    ok = gain[1:] >= -ml
    found = ok.any(axis=0)
    idx = np.argmax(ok, axis=0)
    cols = np.arange(gain.shape[1])
    pick = np.where(found, idx + 1, 0)
    return LoadingAdvice(
        freqs=p.freqs,
        loading=np.where(found, grid[idx], np.nan),
        wng_db=np.array(wngs)[pick, cols],
        gain_db=gain[pick, cols],
        sinr_db=np.array(sinrs)[pick, cols],
        sinr_unloaded_db=np.array(sinrs)[0],
        max_loss_db=ml,
        error=err,
    )


def compare(
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    *,
    source: Sequence[float],
    error: float,
    snr_db: float | npt.ArrayLike,
    methods: Sequence[str] | None = None,
    axis: Axis = "azimuth",
    noise_cov: npt.ArrayLike | None = None,
    loading: float | npt.ArrayLike = 0.0,
    nulls: Sequence[Sequence[float]] = (),
    c: float = SPEED_OF_SOUND,
) -> Comparison:
    """Target gain, output SINR and white-noise gain of several beamformers, one error.

    `methods` defaults to every registered design. ``"lcmv"`` without ``nulls`` gets
    one null 40° from the source. ``"gev"`` is blind (no steering): it follows the
    talker wherever it is, so the steering error costs it nothing.

    Returns
    -------
    Comparison
        ``print(result.table())`` for the table.
    """
    methods = design_names() if methods is None else tuple(methods)
    if len(methods) == 0:
        raise v.fail("methods", methods, "must name at least one method")
    src = _direction("source", source)
    err = float(_errors("error", [error])[0])
    look = _looks(src, np.array([err]), _axis(axis))
    rows = []
    for m in methods:
        wants = "nulls" in get_design(m).needs
        null = nulls if (not wants or nulls) else [((src[0] + 40.0) % 360.0, src[1])]
        p = _Problem.build(geometry, freqs, m, snr_db, noise_cov, loading, null, c)
        rows.append(p.steered_db(geometry, look, src))
    return Comparison(
        methods=tuple(methods),
        freqs=p.freqs,
        gain_db=np.array([r[0] for r in rows]),
        sinr_db=np.array([r[1] for r in rows]),
        wng_db=np.array([r[2] for r in rows]),
        error=err,
    )


def parse_range(text: str) -> np.ndarray:
    """Parse ``"START:STOP:STEP"`` (inclusive of STOP) or ``"A,B,C"`` into degrees ``(E,)``.

    >>> parse_range("0:2:0.5").tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0]
    """
    try:
        if ":" in text:
            parts = [float(x) for x in text.split(":")]
            if len(parts) != 3:
                raise ValueError
            start, stop, step = parts
            if not np.all(np.isfinite(parts)):
                raise v.fail("error", text, "contains NaN or infinite values")
            if step <= 0 or stop < start:
                raise v.fail("error", text, "is empty or inverted: need START <= STOP and STEP > 0")
            count = np.floor((stop - start) / step + 1e-9) + 1
            _fits("error", text, count * 8.0, f"{count:.3g} steering errors")
            n = int(count)
            return start + step * np.arange(n)
        vals = np.array([float(x) for x in text.split(",")])
    except v.InvalidArgumentError:
        raise
    except ValueError:
        raise v.fail("error", text, "must be START:STOP:STEP or A,B,C in degrees") from None
    return _errors("error", vals)


# --------------------------------------------------------------------------- problem
@dataclass(frozen=True)
class _Problem:
    """Validated scene: frequencies, noise covariance, target power, design covariance."""

    method: str
    freqs: np.ndarray
    noise_cov: np.ndarray  # (F, M, M)
    sigma_s2: np.ndarray | None  # (F,)
    loading: np.ndarray  # (F,)
    loading_is_zero: bool
    white: bool
    nulls: tuple[tuple[float, float], ...]
    c: float

    @classmethod
    def build(cls, geometry, freqs, method, snr_db, noise_cov, loading, nulls, c) -> _Problem:
        method = v.choice("method", method, design_names())
        f = v.frequencies("freqs", freqs)
        c = v.positive("c", c)
        eps = np.atleast_1d(v.finite_array("loading", loading))
        if eps.ndim != 1 or eps.size not in (1, f.size) or np.any(eps < 0):
            raise v.fail(
                "loading", loading, f"must be a number >= 0 or one per frequency ({f.size})"
            )
        eps = np.broadcast_to(eps, f.shape)
        m = geometry.n_mics
        if noise_cov is None:
            rn = np.broadcast_to(np.eye(m, dtype=complex), (f.size, m, m))
            white = True
        else:
            rn = _covariance("noise_cov", noise_cov, f.size, m)
            white = False
        sigma = None
        if snr_db is not None:
            snr = np.atleast_1d(v.finite_array("snr_db", snr_db))
            if snr.ndim != 1 or snr.size not in (1, f.size):
                raise v.fail(
                    "snr_db", snr_db, f"must be a number or one value per frequency ({f.size})"
                )
            if np.any(np.abs(snr) > 2000):  # 10**(snr/10) and its products leave double
                raise v.fail("snr_db", snr_db, "lies beyond ±2000 dB: give an SNR in dB")
            level = np.real(np.trace(rn, axis1=-2, axis2=-1)) / m
            sigma = np.broadcast_to(10.0 ** (snr / 10.0), f.shape) * level
        elif "mixture_cov" in get_design(method).needs:
            raise v.fail(
                "snr_db",
                snr_db,
                f"is needed by method={method!r} (the target is in its covariance)",
            )
        null_d = tuple(_direction("nulls", d) for d in nulls)
        if "nulls" in get_design(method).needs and not null_d:
            raise v.fail("nulls", nulls, f"method={method!r} needs at least one null direction")
        return cls(
            method=method,
            freqs=f,
            noise_cov=rn,
            sigma_s2=sigma,
            loading=eps,
            loading_is_zero=bool(np.all(eps == 0.0)),
            white=white,
            nulls=null_d,
            c=c,
        )

    @functools.cached_property
    def noise_inv(self) -> np.ndarray:
        """``R_n^-1`` ``(F, M, M)``."""
        if self.white:
            return self.noise_cov
        return np.linalg.inv(self.noise_cov)

    @functools.cached_property
    def design_inv(self) -> np.ndarray:
        """``(R_n + loading I)^-1`` ``(F, M, M)``."""
        m = self.noise_cov.shape[-1]
        if self.white:
            return self.noise_cov / (1.0 + self.loading[:, None, None])
        return np.linalg.inv(self.noise_cov + self.loading[:, None, None] * np.eye(m))

    def weights(self, geometry: ArrayGeometry, a: np.ndarray, a0: np.ndarray) -> np.ndarray:
        """The design's weights ``(E, F, M)`` for looks ``a`` ``(E, F, M)``, talker ``a0``.

        From the registry's kernel for this method (:mod:`arraykit.beamform.registry`):
        the noise covariance is ``noise_cov``, the mixture's holds the talker
        (``sigma_s^2 a0 a0^H + R_n``), the loading is absolute (noise power 1). A design
        on the diffuse coherence (superdirective) asked about ``loading=0`` gets the
        default policy's 1e-2 (its coherence has a unit diagonal): unloaded it is
        singular at low frequencies.
        """
        design = get_design(self.method)
        needs = design.needs
        eps = self.loading
        if self.method == "superdirective" and self.loading_is_zero:
            eps = np.full(self.freqs.shape, DEFAULT_LOADING)
        mixture = None
        if "mixture_cov" in needs:
            if self.sigma_s2 is None:
                raise v.fail("snr_db", None, f"is needed by method={self.method!r}")
            s = self.sigma_s2[None, :, None, None]
            mixture = self.noise_cov[None] + s * a0[..., :, None] * a0[..., None, :].conj()
        nulls = None
        if "nulls" in needs:
            u = unit_vectors(np.array(self.nulls))
            nulls = np.swapaxes(plane_wave(geometry.positions, self.freqs, u, c=self.c), 1, 2)
        inputs = DesignInputs(
            geometry=geometry,
            freqs=self.freqs,
            steering=a,
            noise_cov=np.asarray(self.noise_cov),
            mixture_cov=mixture,
            cov=np.asarray(self.noise_cov),
            null_steering=nulls,
            loading=eps,
            loading_mode="absolute",
            c=self.c,
        )
        w = np.asarray(design.weights(inputs))
        return np.broadcast_to(w, np.broadcast_shapes(w.shape, a.shape))

    def evaluate(self, a, a0, geometry):
        """Gains ``(E, F)``, output SINR ``(E, F)`` or None, WNG ``(E, F)``."""
        w = self.weights(geometry, a, a0)
        gain = np.sum(w.conj() * a0, axis=-1)
        wng = np.abs(np.sum(w.conj() * a, axis=-1)) ** 2 / np.maximum(
            np.sum(np.abs(w) ** 2, axis=-1), _TINY
        )
        sinr = None
        if self.sigma_s2 is not None:
            if self.white:
                noise = np.sum(np.abs(w) ** 2, axis=-1)
            else:
                noise = _quad(w, self.noise_cov, w).real
            sinr = self.sigma_s2 * np.abs(gain) ** 2 / np.maximum(noise, _TINY)
        return gain, sinr, wng

    def steered(self, geometry: ArrayGeometry, looks: np.ndarray, source) -> tuple:
        """:meth:`evaluate` with the beam steered at ``looks`` ``(E, 2)``, talker at ``source``.

        Both are plane waves on the nominal ``geometry``.
        """
        u = unit_vectors(looks)
        a = plane_wave(geometry.positions, self.freqs, u, c=self.c).transpose(1, 0, 2)  # (E, F, M)
        a0 = _steer(geometry.positions, self.freqs, source, self.c)[None]
        return self.evaluate(a, a0, geometry)

    def steered_db(self, geometry: ArrayGeometry, look: np.ndarray, source) -> tuple:
        """Gain, output SINR and WNG ``(F,)`` in dB for one look ``(1, 2)`` (needs ``snr_db``)."""
        g, s, w = self.steered(geometry, look, source)
        return _db(np.abs(g[0]) ** 2), _db(s[0]), _db(w[0])


# --------------------------------------------------------------------------- helpers
def _steer(positions: np.ndarray, freqs: np.ndarray, direction, c: float) -> np.ndarray:
    """:func:`arraykit.steering.plane_wave` toward one direction: ``(..., F, M)``."""
    return plane_wave(positions, freqs, unit_vectors([direction]), c=c)[..., 0, :]


def _quad(x: np.ndarray, r: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x^H r y`` over the last axes, broadcasting leading ones."""
    ry = (r @ y[..., None])[..., 0]
    return np.sum(x.conj() * ry, axis=-1)


def _db(power: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, _TINY))


def _direction(name: str, value) -> tuple[float, float]:
    d = v.directions(name, value)
    if d.shape[0] != 1:
        raise v.fail(name, value, "must be one (azimuth, elevation) pair in degrees")
    return float(d[0, 0]), float(d[0, 1])


def _nonneg(name: str, value: object) -> float:
    return v.nonnegative(name, value)


def _errors(name: str, value) -> np.ndarray:
    err = np.atleast_1d(v.finite_array(name, value))
    if err.ndim != 1 or err.size == 0:
        raise v.fail(name, value, "must be a non-empty 1-D list of errors in degrees")
    return err


def _axis(axis: str) -> int:
    return 0 if v.choice("axis", axis, ("azimuth", "elevation")) == "azimuth" else 1


def _looks(src: tuple[float, float], err: np.ndarray, axis: int) -> np.ndarray:
    looks = np.tile(np.asarray(src, dtype=float), (err.size, 1))
    looks[:, axis] += err
    return looks


def _covariance(name: str, value, n_freqs: int, m: int) -> np.ndarray:
    cov = v.finite_array(name, value, dtype=complex)
    if cov.ndim == 2:
        cov = np.broadcast_to(cov, (n_freqs, *cov.shape))
    if cov.shape != (n_freqs, m, m):
        raise v.fail(name, value, f"must have shape ({n_freqs}, {m}, {m}) or ({m}, {m})")
    tol = hermitian_tolerance(value)
    if not np.allclose(cov, np.swapaxes(cov.conj(), -1, -2), atol=tol * np.abs(cov).max()):
        raise v.fail(name, value, "must be Hermitian")
    return cov


def _work_bytes(n_errors: int | float, n_freqs: int, n_mics: int) -> float:
    """Bytes a batched prediction holds at once: steering, weights and a covariance per error."""
    return float(n_errors) * n_freqs * (n_mics * n_mics + 6 * n_mics) * 16.0


def check_work(
    n_errors: int,
    n_freqs: int,
    n_mics: int,
    *,
    errors: tuple[str, object],
    freqs: tuple[str, object],
    search: str = "",
) -> None:
    """Refuse, before allocating, a prediction over ``n_errors`` x ``n_freqs`` that cannot fit
    in memory: naming ``freqs`` (the argument's name and value) when the frequencies alone
    cannot, else ``errors``; ``search`` says where the errors come from."""
    v.fits(
        freqs[0],
        freqs[1],
        _work_bytes(1, n_freqs, n_mics),
        f"{n_freqs} frequencies x {n_mics} microphones",
        "use fewer frequencies",
    )
    _fits(
        errors[0],
        errors[1],
        _work_bytes(n_errors, n_freqs, n_mics),
        f"{n_errors} errors{search} x {n_freqs} frequencies x {n_mics} microphones",
    )


def _fits(name: str, value: object, nbytes: float, what: str) -> None:
    """Refuse, before allocating, work that needs more than half the machine's memory."""
    v.fits(name, value, nbytes, what, "use a coarser STEP or a narrower range")


def _first_crossing(loss: np.ndarray, grid: np.ndarray, target: float) -> np.ndarray:
    """First grid value (interpolated) where ``loss`` ``(n, F)`` reaches ``target``; NaN if none."""
    above = loss >= target
    hit = above.any(axis=0)
    i = np.argmax(above, axis=0)  # first index at or above
    cols = np.arange(loss.shape[1])
    i0 = np.maximum(i - 1, 0)
    l0, l1 = loss[i0, cols], loss[i, cols]
    t = np.where(l1 > l0, (target - l0) / np.where(l1 > l0, l1 - l0, 1.0), 0.0)
    x = grid[i0] + np.clip(t, 0.0, 1.0) * (grid[i] - grid[i0])
    return np.where(hit, x, np.nan)
