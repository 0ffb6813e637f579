"""Beam patterns and the array metrics that judge weights.

Shapes: ``F`` frequencies, ``G`` directions, ``M`` microphones. The response of
weights ``w`` ``(F, M)`` toward direction ``u`` is ``B[f, g] = w[f]^H a(f, u_g)``
(the output for a unit plane wave from ``u_g``).

- :func:`pattern`: complex response ``(F, G)`` over any directions, chunked over
  ``G`` so large grids stay in modest memory;
- :func:`response`: toward one direction (or one per bin), ``(F,)``;
- :func:`white_noise_gain`, :func:`directivity`: linear ratios ``(F,)``;
- :func:`beam_metrics`: beamwidth, highest sidelobe and front-to-back ratio in
  the azimuth cut through the look direction.

>>> import numpy as np, arraykit as ak
>>> g = ak.ArrayGeometry.linear(8, 0.04)
>>> w = ak.beamform.delay_and_sum(g, (90, 0), [2000.0])
>>> float(np.round(white_noise_gain(w, g, [2000.0], (90, 0))[0], 12))
8.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry, unit_vectors
from arraykit.steering import steering_vector

__all__ = [
    "BeamMetrics",
    "beam_metrics",
    "directivity",
    "pattern",
    "response",
    "white_noise_gain",
]

CHUNK_ELEMENTS = 2**22
"""Complex steering entries built at once by :func:`pattern` (64 MiB)."""


def pattern(
    weights: npt.ArrayLike,
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    directions: npt.ArrayLike,
    *,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Complex far-field response ``B[f, g] = w[f]^H a(f, u_g)`` of weights over directions.

    Parameters
    ----------
    weights : array_like [shape=(F, M)]
    geometry : ArrayGeometry
    freqs : array_like [shape=(F,)]
        The frequencies (Hz) the weights were designed for.
    directions : array_like [shape=(G, 2) or (2,)]
        ``(azimuth, elevation)`` degrees.
    c : float
        Speed of sound, m/s.

    Returns
    -------
    np.ndarray [shape=(F, G), complex128]
        Built in chunks of directions so no ``(F, G, M)`` steering array larger than
        :data:`CHUNK_ELEMENTS` exists at once.

    Examples
    --------
    >>> import arraykit as ak
    >>> g = ak.ArrayGeometry.linear(4, 0.05)
    >>> w = ak.beamform.delay_and_sum(g, (90, 0), [1000.0])
    >>> np.round(np.abs(pattern(w, g, [1000.0], [(90, 0), (0, 0)])), 3).tolist()
    [[1.0, 0.546]]
    """
    w, f = _weights(weights, geometry, freqs)
    d = v.directions("directions", directions)
    tau = geometry.delays(d, c=c)  # (G, M)
    if _uniform(f):
        return _pattern_uniform(w, f, tau)
    return _pattern_direct(w, f, tau)


BLOCK = 16
"""Bins per block in the uniform-grid pattern kernel."""


def _uniform(f: np.ndarray) -> bool:
    """Whether `f` is an evenly spaced grid long enough for the block recurrence to pay."""
    if f.size < 2 * BLOCK:
        return False
    df = np.diff(f)
    return bool(df[0] > 0 and np.allclose(df, df[0], rtol=1e-9, atol=0.0))


def _pattern_direct(w: np.ndarray, f: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """``w^H a`` with the phases of every (bin, direction, mic) evaluated by cos/sin."""
    F, M = w.shape
    G = tau.shape[0]
    step = max(1, CHUNK_ELEMENTS // max(F * M, 1))
    out = np.empty((F, G), dtype=complex)
    wr, wi = w.real[:, None, :], w.imag[:, None, :]  # (F, 1, M)
    tau_t = np.ascontiguousarray(tau.T)  # (M, G)
    omega = 2 * np.pi * f[:, None, None]
    for g0 in range(0, G, step):  # chunks of directions, not a loop over points
        ph = omega * tau_t[None, :, g0 : g0 + step]  # (F, M, g)
        cos, sin = np.cos(ph), np.sin(ph, out=ph)
        # conj(w) . exp(-j ph) = (wr C - wi S) - j (wr S + wi C): real products are
        # cheaper than building the complex steering array
        re = (wr @ cos - wi @ sin)[:, 0, :]
        im = (wr @ sin + wi @ cos)[:, 0, :]
        out[:, g0 : g0 + step] = re - 1j * im
    return out


def _pattern_uniform(w: np.ndarray, f: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """``w^H a`` on an evenly spaced grid ``f_k = f_0 + k df`` (the STFT case).

    ``a(f_{k0 + j}) = a(f_{k0}) * exp(-2j pi j df tau)``: the ``BLOCK`` step phasors
    are computed once per chunk of directions and each block of bins costs one
    complex exponential per (direction, mic) plus products, instead of one per bin.
    """
    F, M = w.shape
    G = tau.shape[0]
    K = BLOCK
    df = (f[-1] - f[0]) / (F - 1)
    # small chunks: the (K, g, M) phasor arrays stay in cache (0.5 MiB each)
    step = max(1, min(CHUNK_ELEMENTS // 2, 2**15) // (K * M))
    out = np.empty((F, G), dtype=complex)
    wc = np.empty((F, M, 1), dtype=complex)  # (F, M, 1) with true strides: BLAS matmul
    wc[:, :, 0] = w.conj()
    j = np.arange(K)[:, None, None]
    for g0 in range(0, G, step):  # chunks of directions
        t = tau[g0 : g0 + step, :]  # (g, M)
        E = np.exp((-2j * np.pi * df) * j * t[None])  # (K, g, M) step phasors
        for k0 in range(0, F, K):  # blocks of K bins
            kb = min(K, F - k0)
            f0 = f[0] + k0 * df
            A = np.exp((-2j * np.pi * f0) * t)[None] * E[:kb]  # (kb, g, M)
            out[k0 : k0 + kb, g0 : g0 + step] = (A @ wc[k0 : k0 + kb])[:, :, 0]
    return out


def response(
    weights: npt.ArrayLike,
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    direction: npt.ArrayLike,
    *,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Complex response ``(F,)`` toward one direction, or toward one direction per bin.

    `direction` is one ``(azimuth, elevation)`` pair or ``(F, 2)`` pairs (bin ``f``
    evaluated toward ``direction[f]``).
    """
    w, f = _weights(weights, geometry, freqs)
    d = v.directions("direction", direction)
    if d.shape[0] not in (1, w.shape[0]):
        raise v.fail("direction", direction, f"must be one pair or one per bin ({w.shape[0]})")
    tau = geometry.delays(d, c=c)  # (1 or F, M)
    a = np.exp(-2j * np.pi * f[:, None] * tau)
    return np.einsum("fm,fm->f", w.conj(), a)


def white_noise_gain(
    weights: npt.ArrayLike,
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    direction: npt.ArrayLike,
    *,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """White-noise gain ``|w^H a|^2 / (w^H w)`` toward `direction`, linear ``(F,)``.

    The SNR gain against spatially white (sensor) noise; at most ``M``, reached by
    delay-and-sum. Low values mean the weights amplify self-noise and are fragile
    to microphone mismatch.
    """
    w, _ = _weights(weights, geometry, freqs)
    r = response(w, geometry, freqs, direction, c=c)
    return np.abs(r) ** 2 / np.einsum("fm,fm->f", w.conj(), w).real


def directivity(
    weights: npt.ArrayLike,
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    direction: npt.ArrayLike,
    *,
    field: Literal["3d", "2d"] = "3d",
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Directivity factor ``|w^H a|^2 / (w^H Gamma w)`` against isotropic noise, linear ``(F,)``.

    ``Gamma`` is the diffuse coherence of a spherically (``"3d"``) or cylindrically
    (``"2d"``) isotropic field; ``10 log10`` of the result is the directivity index.
    """
    from arraykit.beamform.weights import diffuse_coherence

    w, f = _weights(weights, geometry, freqs)
    r = response(w, geometry, f, direction, c=c)
    gamma = diffuse_coherence(geometry, f, field=field, c=c)
    return np.abs(r) ** 2 / np.einsum("fm,fmM,fM->f", w.conj(), gamma, w).real


GRATING_CORRELATION = 0.9
"""``|a^H a_look| / M`` at or above which a peak is a grating lobe (spatial alias)."""
RISE_DB = 1.0
"""A non-alias peak within this many dB of the look response is a rise, not a sidelobe."""


@dataclass(frozen=True)
class BeamMetrics:
    """Shape of the main beam per frequency, in the azimuth cut through the look direction.

    Attributes
    ----------
    freqs : np.ndarray [shape=(F,)]
    beamwidth : np.ndarray [shape=(F,)]
        Width in degrees of azimuth between the points where the response falls
        ``level_db`` below its value at the look direction (NaN where it never
        falls that low on one side, e.g. at low frequencies).
    sidelobe_db : np.ndarray [shape=(F,)]
        Highest peak outside the main lobe, dB relative to the look response. The
        lobe around the direction the layout confuses with the look direction
        (:meth:`ArrayGeometry.mirror`, e.g. the other side of a line array) is
        not counted: it is ambiguity, not a sidelobe. NaN where no sidelobe exists.
    front_to_back_db : np.ndarray [shape=(F,)]
        Look response over the response at azimuth + 180 degrees, dB.
    gain_db : np.ndarray [shape=(F,)]
        ``20 log10 |w^H a|`` toward the look direction.
    sidelobe_azimuth : np.ndarray [shape=(F,)]
        Azimuth (degrees) of that highest peak (NaN where none).
    sidelobe_kind : tuple of str [F]
        What the highest peak is, since an adaptive design (MVDR, LCMV) is only
        distortionless at the look direction and may respond as loudly elsewhere:

        - ``"sidelobe"``: an ordinary sidelobe, below the look response by more than
          :data:`RISE_DB`;
        - ``"grating"``: a grating lobe: the array cannot tell that direction from the
          look direction at this frequency (spatial aliasing; the steering vectors'
          normalised correlation ``|a^H a_look| / M`` is at least
          :data:`GRATING_CORRELATION`), so every beamformer passes it;
        - ``"rise"``: not an alias, yet within :data:`RISE_DB` of the look response or
          above it: the response rises away from the look direction (an adaptive
          design spending its degrees of freedom on the noise model, not on this
          direction);
        - ``"none"``: no peak outside the main lobe.
    main_peak_db, main_peak_azimuth : np.ndarray [shape=(F,)]
        The main lobe's own peak relative to the look response (dB, >= 0) and its
        azimuth: above 0 dB where the beam squints (an adaptive design's main lobe
        need not peak at the look direction; LCMV with a null nearby leans away
        from it). The main lobe is the lobe holding the look direction, out to the
        first trough on each side, so its peak is never reported as a sidelobe.
    """

    freqs: np.ndarray
    beamwidth: np.ndarray
    sidelobe_db: np.ndarray
    front_to_back_db: np.ndarray
    gain_db: np.ndarray
    sidelobe_azimuth: np.ndarray | None = None
    sidelobe_kind: tuple[str, ...] = ()
    main_peak_db: np.ndarray | None = None
    main_peak_azimuth: np.ndarray | None = None


def beam_metrics(
    weights: npt.ArrayLike,
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    direction: npt.ArrayLike,
    *,
    level_db: float = -3.0,
    resolution: float = 0.1,
    c: float = SPEED_OF_SOUND,
) -> BeamMetrics:
    """Beamwidth, highest sidelobe level and front-to-back ratio per frequency.

    The azimuth cut through the look direction is sampled every `resolution`
    degrees; the sidelobe peak is then refined by golden-section search, so its
    level is exact to rounding for smooth patterns.

    Examples
    --------
    >>> import arraykit as ak
    >>> g = ak.ArrayGeometry.linear(8, 0.05)
    >>> f = [343.0 / 0.1]  # half-wavelength spacing
    >>> m = beam_metrics(ak.beamform.delay_and_sum(g, (90, 0), f), g, f, (90, 0))
    >>> round(float(m.sidelobe_db[0]), 2)
    -12.8
    """
    w, f = _weights(weights, geometry, freqs)
    look = v.directions("direction", direction)
    if look.shape[0] != 1:
        raise v.fail("direction", direction, "must be one (azimuth, elevation) pair")
    az0, el0 = (float(x) for x in look[0])
    resolution = v.positive("resolution", resolution)
    n_half = int(np.ceil(180.0 / resolution))
    K = 2 * n_half
    res = 180.0 / n_half
    offs = -180.0 + res * np.arange(K)  # (K,) a full circle around the look azimuth
    cut = np.stack([az0 + offs, np.full_like(offs, el0)], axis=1)
    B = np.abs(pattern(w, geometry, f, cut, c=c))  # (F, K)
    b0 = B[:, n_half]
    eps = 1e-300
    rel = B / np.maximum(b0, eps)[:, None]
    F = w.shape[0]

    # beamwidth: first crossing below the level on each side (interpolated)
    lev = 10 ** (level_db / 20)
    j = np.arange(n_half + 1)
    right, left = rel[:, (n_half + j) % K], rel[:, (n_half - j) % K]
    bw = _crossing(right, lev, res) + _crossing(left, lev, res)

    # sidelobes: outside the main lobe and outside the mirror lobe
    excl = _lobe(rel, n_half)
    main = np.where(excl, rel, -np.inf)
    kmain = np.argmax(main, axis=1)
    main_peak = 20 * np.log10(np.maximum(main[np.arange(w.shape[0]), kmain], eps))
    mir = geometry.mirror((az0 % 360.0, el0))
    if mir is not None and abs(mir[1] - el0) < 1e-9:
        mo = (mir[0] - az0 + 180.0) % 360.0 - 180.0  # mirror offset in [-180, 180)
        if abs(mo) > 1e-9:
            excl |= _lobe(rel, round((mo + 180.0) / res) % K)
    side = np.where(excl, -np.inf, rel)
    kmax = np.argmax(side, axis=1)
    best = side[np.arange(F), kmax]
    has = np.isfinite(best) & (best > 0)
    peak = _refine_peak(w, geometry, f, az0, el0, offs[kmax], res, c)
    sll = np.where(has, 20 * np.log10(np.maximum(peak, eps) / np.maximum(b0, eps)), np.nan)

    back = np.abs(response(w, geometry, f, ((az0 + 180.0) % 360.0, el0), c=c))
    fb = 20 * np.log10(np.maximum(b0, eps) / np.maximum(back, eps))
    side_az = np.where(has, (az0 + offs[kmax]) % 360.0, np.nan)
    return BeamMetrics(
        freqs=f,
        beamwidth=bw,
        sidelobe_db=sll,
        front_to_back_db=fb,
        gain_db=20 * np.log10(np.maximum(b0, eps)),
        sidelobe_azimuth=side_az,
        main_peak_db=main_peak,
        main_peak_azimuth=(az0 + offs[kmain]) % 360.0,
        sidelobe_kind=_sidelobe_kinds(geometry, f, (az0, el0), side_az, sll, c),
    )


def _sidelobe_kinds(
    geometry: ArrayGeometry,
    f: np.ndarray,
    look: tuple[float, float],
    side_az: np.ndarray,
    sll: np.ndarray,
    c: float,
) -> tuple[str, ...]:
    """Classify each frequency's highest peak (see :class:`BeamMetrics`)."""
    kinds = []
    a0 = steering_vector(geometry, f, look, c=c)[:, 0, :]  # (F, M)
    for i, az in enumerate(side_az):
        if not np.isfinite(az):
            kinds.append("none")
            continue
        a = steering_vector(geometry, f[i : i + 1], (az, look[1]), c=c)[0, 0]
        rho = abs(np.vdot(a0[i], a)) / geometry.n_mics
        if rho >= GRATING_CORRELATION:
            kinds.append("grating")
        elif sll[i] >= -RISE_DB:
            kinds.append("rise")
        else:
            kinds.append("sidelobe")
    return tuple(kinds)


# ------------------------------------------------------------------------------ helpers


def _weights(
    weights: npt.ArrayLike, geometry: ArrayGeometry, freqs: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(weights, dtype=complex)
    if w.ndim == 1:
        w = w[None, :]
    f = v.frequencies("freqs", freqs)
    if w.ndim != 2 or w.shape != (f.size, geometry.n_mics):
        raise v.fail(
            "weights",
            weights,
            f"must be (F, M) = ({f.size}, {geometry.n_mics}) for these freqs and geometry",
        )
    if not np.all(np.isfinite(w)):
        raise v.fail("weights", weights, "contains NaN or infinite values")
    return w, f


def _lobe(rel: np.ndarray, kc: int) -> np.ndarray:
    """Mask ``(F, K)`` of the lobe around circular index `kc`: out to the first trough each way."""
    K = rel.shape[1]
    j = np.arange(K // 2 + 1)
    null_r = _first_rise(rel[:, (kc + j) % K])
    null_l = _first_rise(rel[:, (kc - j) % K])
    k = np.arange(K)
    return (((k - kc) % K)[None, :] <= null_r[:, None]) | (
        ((kc - k) % K)[None, :] <= null_l[:, None]
    )


def _first_rise(rel: np.ndarray) -> np.ndarray:
    """Index (per row) of the first trough walking outward; the row length if none.

    A trough is where the response rises again after having fallen: walking from a
    look direction that is not the lobe's peak (an adaptive beam squints), the climb
    to the peak is still the main lobe.
    """
    d = np.diff(rel, axis=1)
    fallen = np.maximum.accumulate(d < -1e-12, axis=1)
    trough = (d > 1e-12) & fallen
    idx = np.argmax(trough, axis=1)
    return np.where(trough.any(axis=1), idx, rel.shape[1] - 1)


def _crossing(side: np.ndarray, lev: float, res: float) -> np.ndarray:
    """Offset (deg) where each row first falls below `lev`, linearly interpolated; NaN if never."""
    below = side < lev
    k = np.argmax(below, axis=1)
    ok = below.any(axis=1) & (k > 0)
    rows = np.arange(side.shape[0])
    k1 = np.maximum(k, 1)
    y0, y1 = side[rows, k1 - 1], side[rows, k1]
    frac = np.where(y0 != y1, (y0 - lev) / np.where(y0 != y1, y0 - y1, 1.0), 0.0)
    return np.where(ok, (k1 - 1 + frac) * res, np.nan)


def _refine_peak(
    w: np.ndarray,
    geometry: ArrayGeometry,
    f: np.ndarray,
    az0: float,
    el0: float,
    off: np.ndarray,
    res: float,
    c: float,
) -> np.ndarray:
    """Golden-section search for each bin's maximum of |B| within ``off +- res``."""

    def mag(o: np.ndarray) -> np.ndarray:
        d = np.stack([(az0 + o) % 360.0, np.full_like(o, el0)], axis=1)
        return np.abs(response(w, geometry, f, d, c=c))

    lo, hi = off - res, off + res
    r = (np.sqrt(5.0) - 1) / 2
    for _ in range(50):  # the bracket shrinks by 0.618 per step: 2 res * 0.618^50 ~ 1e-11 deg
        x1, x2 = hi - r * (hi - lo), lo + r * (hi - lo)
        left = mag(x1) > mag(x2)  # the maximum lies in [lo, x2]
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
    f1, f2 = mag(lo), mag(hi)
    return np.maximum(f1, f2)


def _pattern_loop(
    weights: np.ndarray, geometry: ArrayGeometry, freqs: np.ndarray, directions: np.ndarray
) -> np.ndarray:
    """Reference kernel: one frequency and one direction at a time."""
    u = unit_vectors(directions)
    out = np.empty((len(freqs), len(u)), dtype=complex)
    for i, fi in enumerate(freqs):
        for g, ug in enumerate(u):
            tau = -(geometry.positions @ ug) / SPEED_OF_SOUND
            out[i, g] = np.vdot(weights[i], np.exp(-2j * np.pi * fi * tau))
    return out
