"""Beamformer weights, batched over frequency bins: solves, never explicit inverses.

Shapes: ``F`` frequencies, ``M`` microphones, ``L`` constraints. Weights are
``(F, M)`` and the output is ``Y[f, t] = sum_m conj(w[f, m]) X[m, f, t]``, so the
response of weights ``w`` to a steering vector ``a`` is ``w^H a``.

Two layers:

- **raw kernels** (:func:`mvdr_weights`, :func:`lcmv_weights`, :func:`mvdr_souden`,
  :func:`mvdr_rtf`, :func:`estimate_rtf`, :func:`diffuse_coherence`) take steering
  vectors and covariances batched over any leading dimensions;
- **geometry-level** functions (:func:`delay_and_sum`, :func:`mvdr`, :func:`mpdr`,
  :func:`superdirective`, :func:`lcmv`) take an array geometry, a look direction
  ``(azimuth, elevation)`` in degrees and frequencies in Hz, and return ``(F, M)``.

Near field: every geometry-level function accepts ``point=(x, y, z)`` in metres
(array frame) instead of a direction (pass ``None`` as the direction); the target
steering vector is then the spherical wave of
:func:`arraykit.steering.steering_vector_near` (``1/r`` amplitudes relative to the
array centroid), and the weights stay distortionless toward that point.

>>> import numpy as np, arraykit as ak
>>> g = ak.ArrayGeometry.linear(8, 0.04)
>>> w = delay_and_sum(g, (60, 0), [1000.0, 2000.0])
>>> a = ak.beamform.steering_vector(g, [1000.0, 2000.0], (60, 0))[:, 0, :]
>>> bool(np.allclose(np.einsum("fm,fm->f", w.conj(), a), 1.0))
True
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry
from arraykit.steering import steering_vector, steering_vector_near

__all__ = [
    "delay_and_sum",
    "diffuse_coherence",
    "estimate_rtf",
    "lcmv",
    "lcmv_separated",
    "lcmv_weights",
    "mpdr",
    "mvdr",
    "mvdr_rtf",
    "mvdr_souden",
    "mvdr_weights",
    "null_directions",
    "superdirective",
    "target_steering",
    "whitened_principal",
]

LoadingMode = Literal["absolute", "trace"]

LCMV_MIN_SEPARATION = 0.1
"""Smallest singular value of the unit-norm constraint matrix at which :func:`lcmv` keeps nulls."""
Field = Literal["3d", "2d"]

# --------------------------------------------------------------------------- raw kernels


def mvdr_weights(
    a: npt.ArrayLike,
    cov: npt.ArrayLike,
    *,
    loading: float = 0.0,
    loading_mode: LoadingMode = "absolute",
) -> np.ndarray:
    """MVDR weights ``w = R^-1 a / (a^H R^-1 a)``, batched over leading dimensions.

    Parameters
    ----------
    a : array_like [shape=(..., M)]
        Steering vector of the target (the response ``w^H a`` is 1).
    cov : array_like [shape=(..., M, M)]
        Hermitian covariance ``R`` to minimise the output power against (noise for
        MVDR, the mixture for MPDR, a diffuse coherence for superdirective).
    loading : float
        Diagonal loading ``delta >= 0``: ``R + delta I`` (``loading_mode="absolute"``)
        or ``R + delta * trace(R) / M * I`` (``"trace"``: a fraction of the average
        power per microphone). torchaudio's ``diag_eps`` scales differently: it adds
        ``diag_eps * trace(R) + 1e-8`` (no division by M), so its ``diag_eps=e``
        equals ``loading=M * e`` here up to that ``1e-8``.
    loading_mode : {"absolute", "trace"}

    Returns
    -------
    np.ndarray [shape=(..., M), complex128]

    Raises
    ------
    InvalidArgumentError
        `cov` is singular (add loading) or the shapes do not match.

    Examples
    --------
    In white noise MVDR is delay-and-sum, ``a / M``:

    >>> a = np.exp(1j * np.arange(4.0))
    >>> bool(np.allclose(mvdr_weights(a, np.eye(4)), a / 4))
    True
    """
    av = np.asarray(a, dtype=complex)
    R = _loaded("cov", cov, loading, loading_mode)
    if av.shape[-1:] != R.shape[-1:]:
        raise v.fail("a", a, f"last dimension must match the covariance size {R.shape[-1]}")
    x = _solve_shared("cov", R, av[..., None])[..., 0]  # R^-1 a
    den = np.einsum("...m,...m->...", av.conj(), x)
    return x / den[..., None]


def lcmv_weights(
    C: npt.ArrayLike,
    cov: npt.ArrayLike,
    gains: npt.ArrayLike,
    *,
    loading: float = 0.0,
    loading_mode: LoadingMode = "absolute",
) -> np.ndarray:
    """LCMV weights with responses ``w^H C[..., :, l] = gains[..., l]``, minimum output power.

    ``w = R^-1 C (C^H R^-1 C)^-1 conj(g)``: among all weights whose response toward
    each constraint steering vector ``c_l`` equals ``g_l`` (1 for the target, 0 for a
    null), the one with the least output power ``w^H R w``.

    Parameters
    ----------
    C : array_like [shape=(..., M, L)]
        Constraint steering vectors, one per column (L <= M, linearly independent).
    cov : array_like [shape=(..., M, M)]
    gains : array_like [shape=(..., L) or (L,)]
        Desired complex responses.
    loading, loading_mode
        As in :func:`mvdr_weights`.

    Returns
    -------
    np.ndarray [shape=(..., M), complex128]

    Examples
    --------
    >>> C = np.stack([np.ones(4), np.exp(1j * np.arange(4.0))], axis=-1)
    >>> w = lcmv_weights(C, np.eye(4), [1.0, 0.0])
    >>> np.round(np.abs(w.conj() @ C), 12).tolist()
    [1.0, 0.0]
    """
    Cv = np.asarray(C, dtype=complex)
    R = _loaded("cov", cov, loading, loading_mode)
    if Cv.ndim < 2 or Cv.shape[-2] != R.shape[-1]:
        raise v.fail("C", C, f"must be (..., M, L) with M={R.shape[-1]} rows")
    g = np.asarray(gains, dtype=complex)
    if g.shape[-1:] != Cv.shape[-1:]:
        raise v.fail("gains", gains, f"must have L={Cv.shape[-1]} entries, one per constraint")
    RC = _solve("cov", R, Cv)  # R^-1 C, (..., M, L)
    Q = np.swapaxes(Cv.conj(), -1, -2) @ RC  # C^H R^-1 C, (..., L, L)
    z = _solve("C", Q, np.broadcast_to(g.conj(), Q.shape[:-1])[..., None])  # (..., L, 1)
    return (RC @ z)[..., 0]


def diffuse_coherence(
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    *,
    field: Field = "3d",
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Spatial coherence of an isotropic (diffuse) noise field, ``(F, M, M)``.

    ``Gamma[f, m, n] = sinc(k d_mn)`` for a spherically isotropic (3-D) field and
    ``J0(k d_mn)`` for a cylindrically isotropic (2-D) one, with ``k = 2 pi f / c``
    and ``d_mn`` the distance between microphones ``m`` and ``n``.

    >>> g = ArrayGeometry.linear(2, 0.1)
    >>> abs(round(float(diffuse_coherence(g, [343.0 / 0.2])[0, 0, 1]), 12))  # k d = pi: sinc = 0
    0.0
    """
    f = v.frequencies("freqs", freqs)
    v.choice("field", field, ("3d", "2d"))
    p = geometry.positions
    d = np.linalg.norm(p[:, None, :] - p[None, :, :], axis=-1)  # (M, M)
    kd = 2 * np.pi * f[:, None, None] * d[None] / v.positive("c", c)
    if field == "3d":
        return np.sinc(kd / np.pi)  # numpy's sinc is sin(pi x) / (pi x)
    from scipy.special import j0

    return j0(kd)


def mvdr_souden(
    speech_cov: npt.ArrayLike,
    noise_cov: npt.ArrayLike,
    *,
    ref: int | npt.ArrayLike = 0,
    loading: float = 0.0,
    loading_mode: LoadingMode = "absolute",
) -> np.ndarray:
    """Reference-channel MVDR from speech and noise covariances (Souden et al., 2010).

    ``w = (R_n^-1 R_s) u / trace(R_n^-1 R_s)``: needs no geometry and no steering
    vector; the output estimates the speech image at the reference microphone.

    Parameters
    ----------
    speech_cov, noise_cov : array_like [shape=(..., M, M)]
    ref : int or array_like [shape=(M,)]
        Reference microphone index, or a weighting of the microphones ``u``.
    loading, loading_mode
        Diagonal loading of `noise_cov`, as in :func:`mvdr_weights`.

    Returns
    -------
    np.ndarray [shape=(..., M), complex128]
    """
    Rs = np.asarray(speech_cov, dtype=complex)
    Rn = _loaded("noise_cov", noise_cov, loading, loading_mode)
    if Rs.shape[-2:] != Rn.shape[-2:]:
        raise v.fail("speech_cov", speech_cov, f"must be (..., M, M) like noise_cov {Rn.shape}")
    num = _solve("noise_cov", Rn, Rs)  # R_n^-1 R_s
    ws = num / np.trace(num, axis1=-2, axis2=-1)[..., None, None]
    return ws @ _reference("ref", ref, Rn.shape[-1])


def mvdr_rtf(
    rtf: npt.ArrayLike,
    noise_cov: npt.ArrayLike,
    *,
    ref: int | npt.ArrayLike | None = 0,
    loading: float = 0.0,
    loading_mode: LoadingMode = "absolute",
) -> np.ndarray:
    """MVDR toward a relative transfer function: ``w = R_n^-1 h / (h^H R_n^-1 h) * conj(u^H h)``.

    With ``ref`` the output reproduces the target as the reference microphone
    hears it (``w^H h = h_ref``; when `rtf` is normalised so ``h_ref = 1`` this is
    plain MVDR toward `rtf`). A weighting vector ``u`` ``(M,)`` instead of an index
    gives the response ``u^H h``, a mix of microphones (torchaudio's
    ``mvdr_weights_rtf`` takes the same). ``ref=None`` leaves ``w^H h = 1``.

    Parameters
    ----------
    rtf : array_like [shape=(..., M)]
        Relative transfer function, e.g. from :func:`estimate_rtf`.
    noise_cov : array_like [shape=(..., M, M)]
    ref : int, array_like [shape=(M,)] or None
        Reference microphone index, or a weighting of the microphones.
    loading, loading_mode
        As in :func:`mvdr_weights`.

    Returns
    -------
    np.ndarray [shape=(..., M), complex128]
    """
    h = np.asarray(rtf, dtype=complex)
    w = mvdr_weights(h, noise_cov, loading=loading, loading_mode=loading_mode)
    if ref is None:
        return w
    u = _reference("ref", ref, h.shape[-1])
    return w * np.einsum("...m,m->...", h.conj(), u)[..., None]


def estimate_rtf(
    speech_cov: npt.ArrayLike,
    noise_cov: npt.ArrayLike | None = None,
    *,
    ref: int | npt.ArrayLike | None = 0,
    method: Literal["evd", "gevd", "power"] = "evd",
    iterations: int = 3,
    loading: float = 0.0,
) -> np.ndarray:
    """Relative transfer function of the dominant source, ``(..., M)``.

    - ``"evd"``: the principal eigenvector of `speech_cov` (a rank-one speech model);
    - ``"gevd"``: covariance whitening: with ``R_n = L L^H``, the principal
      eigenvector ``v`` of ``L^-1 R_s L^-H`` gives ``h = L v`` (robust to coloured
      noise; needs `noise_cov`);
    - ``"power"``: torchaudio's ``rtf_power``: ``iterations`` steps of the power
      method on ``Phi = R_n^-1 R_s`` started from the reference column ``Phi u``,
      the last step multiplying by ``R_s`` instead of ``Phi``:
      ``h = R_s Phi^(iterations-2) Phi u`` (``h = R_n Phi u = R_s u`` for one
      iteration). No eigendecomposition: a few matrix products per bin. Needs
      `noise_cov`; `loading` adds ``loading * trace(R_n) / M`` to its diagonal
      (torchaudio's ``diag_eps`` is ``loading / M``, plus 1e-8).

    Parameters
    ----------
    speech_cov, noise_cov : array_like [shape=(..., M, M)]
    ref : int, array_like [shape=(M,)] or None
        Reference microphone (or, for ``"power"``, a weighting ``u`` of the
        microphones as torchaudio accepts). With an index the result is normalised so
        ``h[..., ref] = 1``; a weighting vector (``"power"`` only) and ``None`` return
        the vector as the method gives it (``"power"`` with ``None`` starts from
        microphone 0): exactly torchaudio's output.
    method : {"evd", "gevd", "power"}
    iterations : int
        Power iterations (``"power"``), >= 1; torchaudio's default is 3.
    loading : float
        Diagonal loading of `noise_cov` for ``"power"``, trace mode.
    """
    v.choice("method", method, ("evd", "gevd", "power"))
    Rs = np.asarray(speech_cov, dtype=complex)
    if Rs.ndim < 2 or Rs.shape[-1] != Rs.shape[-2]:
        raise v.fail("speech_cov", speech_cov, "must be (..., M, M)")
    M = Rs.shape[-1]
    if method != "power" and ref is not None and not isinstance(ref, int | np.integer):
        raise v.fail("ref", ref, f"method={method!r} takes a microphone index (or None)")
    if method == "evd":
        h = np.linalg.eigh(Rs)[1][..., -1]
    elif noise_cov is None:
        raise v.fail("noise_cov", noise_cov, f"method={method!r} needs the noise covariance")
    elif method == "power":
        if isinstance(iterations, bool) or not isinstance(iterations, int | np.integer):
            raise v.fail("iterations", iterations, "must be a whole number >= 1")
        if iterations < 1:
            raise v.fail("iterations", iterations, "must be >= 1")
        Rn = _loaded("noise_cov", noise_cov, loading, "trace")
        if Rn.shape != Rs.shape:
            raise v.fail("noise_cov", noise_cov, f"must have the shape of speech_cov {Rs.shape}")
        u = _reference("ref", 0 if ref is None else ref, M).astype(complex)
        phi = _solve("noise_cov", Rn, Rs)  # R_n^-1 R_s
        x = phi @ u  # (..., M): the first iteration
        if iterations == 1:
            h = np.einsum("...mn,...n->...m", Rn, x)
        else:
            for _ in range(iterations - 2):
                x = np.einsum("...mn,...n->...m", phi, x)
            h = np.einsum("...mn,...n->...m", Rs, x)
        if ref is None or not isinstance(ref, int | np.integer):
            return h
    else:
        L, vw = whitened_principal(Rs, noise_cov)
        h = (L @ vw)[..., 0]
    if ref is None:
        return h
    r = _index("ref", int(ref), M)  # type: ignore[arg-type]
    return h / h[..., r, None]


def whitened_principal(
    cov: npt.ArrayLike, noise_cov: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factor ``L`` of `noise_cov` and the principal eigenvector of ``L^-1 R L^-H``.

    The generalised eigenproblem ``R x = lambda R_n x`` by covariance whitening: with
    ``R_n = L L^H`` and ``u`` the principal eigenvector ``(..., M, 1)`` of the Hermitian
    ``L^-1 R L^-H``, the principal generalised eigenvector is ``L^-H u`` (the GEV / max-SNR
    weights) and ``L u`` the dominant source's transfer function (GEVD RTF).
    """
    R = np.asarray(cov, dtype=complex)
    Rn = np.asarray(noise_cov, dtype=complex)
    R, Rn = np.broadcast_arrays(R, Rn)
    try:
        L = np.linalg.cholesky(Rn)
    except np.linalg.LinAlgError:
        raise v.fail(
            "noise_cov", noise_cov, "is not positive definite; add diagonal loading"
        ) from None
    A = np.linalg.solve(L, R)  # L^-1 R
    W = np.linalg.solve(L, np.swapaxes(A.conj(), -1, -2))  # L^-1 R L^-H (Hermitian)
    u = np.linalg.eigh(0.5 * (W + np.swapaxes(W.conj(), -1, -2)))[1][..., -1:]
    return L, u


# ------------------------------------------------------------------ geometry-level weights


def target_steering(
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    direction: npt.ArrayLike | None,
    *,
    point: npt.ArrayLike | None = None,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Steering vector ``(F, M)`` toward one direction, or toward a point in metres.

    Exactly one of `direction` (``(azimuth, elevation)`` degrees) and `point`
    (``(x, y, z)`` metres, array frame) must be given.
    """
    if point is not None:
        if direction is not None:
            raise v.fail("point", point, "give either direction or point, not both")
        pts = np.asarray(point, dtype=float)
        if pts.ndim != 1:
            raise v.fail("point", point, "must be one point (x, y, z) in metres")
        return steering_vector_near(geometry, freqs, pts, c=c)[:, 0, :]
    if direction is None:
        raise v.fail("direction", direction, "give a look direction (azimuth, elevation) or point=")
    d = v.directions("direction", direction)
    if d.shape[0] != 1:
        raise v.fail("direction", direction, "must be one (azimuth, elevation) pair")
    return steering_vector(geometry, freqs, d, c=c)[:, 0, :]


def delay_and_sum(
    geometry: ArrayGeometry,
    direction: npt.ArrayLike | None,
    freqs: npt.ArrayLike,
    *,
    point: npt.ArrayLike | None = None,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Delay-and-sum weights ``w = a / (a^H a)`` (``a / M`` in the far field), ``(F, M)``.

    Parameters
    ----------
    geometry : ArrayGeometry
    direction : array_like [shape=(2,)] or None
        Look direction ``(azimuth, elevation)`` in degrees (None with `point`).
    freqs : array_like [shape=(F,)]
        Frequencies in Hz.
    point : array_like [shape=(3,)], optional
        Near-field target in metres instead of a direction.
    c : float
        Speed of sound, m/s.

    Returns
    -------
    np.ndarray [shape=(F, M), complex128]
    """
    a = target_steering(geometry, freqs, direction, point=point, c=c)
    return a / np.einsum("fm,fm->f", a.conj(), a).real[:, None]


def mvdr(
    geometry: ArrayGeometry,
    direction: npt.ArrayLike | None,
    freqs: npt.ArrayLike,
    noise_cov: npt.ArrayLike,
    *,
    loading: float = 0.0,
    loading_mode: LoadingMode = "absolute",
    point: npt.ArrayLike | None = None,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """MVDR weights ``(F, M)``: distortionless toward the look direction, least noise power.

    Parameters
    ----------
    geometry, direction, freqs, point, c
        As in :func:`delay_and_sum`.
    noise_cov : array_like [shape=(F, M, M)]
        Noise covariance (e.g. :func:`arraykit.beamform.covariance` over a noise-only
        segment). It is checked to be Hermitian and, after loading, nonsingular.
    loading, loading_mode
        Diagonal loading, as in :func:`mvdr_weights`.

    Returns
    -------
    np.ndarray [shape=(F, M), complex128]
    """
    a, R = _steered_cov(
        geometry, freqs, direction, point, c, "noise_cov", noise_cov, loading, loading_mode
    )
    return mvdr_weights(a, R)


def mpdr(
    geometry: ArrayGeometry,
    direction: npt.ArrayLike | None,
    freqs: npt.ArrayLike,
    cov: npt.ArrayLike,
    *,
    loading: float = 0.0,
    loading_mode: LoadingMode = "absolute",
    point: npt.ArrayLike | None = None,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """MPDR weights ``(F, M)``: the MVDR formula on the mixture covariance `cov`.

    Identical to MVDR when the steering vector is exact; far more sensitive to
    steering errors (the target itself is in `cov`), which loading tempers.
    """
    a, R = _steered_cov(geometry, freqs, direction, point, c, "cov", cov, loading, loading_mode)
    return mvdr_weights(a, R)


def superdirective(
    geometry: ArrayGeometry,
    direction: npt.ArrayLike | None,
    freqs: npt.ArrayLike,
    *,
    loading: float = 1e-2,
    field: Field = "3d",
    wng_min_db: float | None = None,
    point: npt.ArrayLike | None = None,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Superdirective weights ``(F, M)``: MVDR against diffuse-noise coherence.

    ``w = (Gamma + mu I)^-1 a / (a^H (Gamma + mu I)^-1 a)`` with ``Gamma`` from
    :func:`diffuse_coherence`. Small arrays at low frequencies gain directivity up
    to ``M^2`` (endfire) at the cost of white-noise gain: the loading ``mu`` trades
    one for the other.

    Parameters
    ----------
    geometry, direction, freqs, point, c
        As in :func:`delay_and_sum`.
    loading : float
        Diagonal loading ``mu >= 0`` of the coherence matrix (absolute; the
        coherence has a unit diagonal).
    field : {"3d", "2d"}
        Spherically (sinc) or cylindrically (J0) isotropic noise.
    wng_min_db : float, optional
        White-noise-gain floor in dB (at most ``10 log10 M``). Per bin, the smallest
        loading ``>= loading`` meeting it is found by bisection over all bins at once.

    Returns
    -------
    np.ndarray [shape=(F, M), complex128]
    """
    a = target_steering(geometry, freqs, direction, point=point, c=c)
    loading = v.nonnegative("loading", loading)
    gamma = diffuse_coherence(geometry, freqs, field=field, c=c)
    M = geometry.n_mics
    if wng_min_db is None:
        return mvdr_weights(a, gamma, loading=loading)
    wng_min_db = float(wng_min_db)
    if not np.isfinite(wng_min_db) or wng_min_db > 10 * np.log10(M) + 1e-9:
        raise v.fail(
            "wng_min_db",
            wng_min_db,
            f"must be a finite number <= 10 log10(M) = {10 * np.log10(M):.2f} dB "
            "(no weights exceed the white-noise gain of delay-and-sum)",
        )
    mu = _wng_loading(a, gamma, loading, 10 ** (wng_min_db / 10))
    return mvdr_weights(a, gamma + mu[:, None, None] * np.eye(M))


def lcmv(
    geometry: ArrayGeometry,
    direction: npt.ArrayLike | None,
    freqs: npt.ArrayLike,
    cov: npt.ArrayLike,
    *,
    nulls: npt.ArrayLike = (),
    gains: npt.ArrayLike | None = None,
    loading: float = 0.0,
    loading_mode: LoadingMode = "absolute",
    point: npt.ArrayLike | None = None,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """LCMV weights ``(F, M)``: unit response toward the target, given responses toward `nulls`.

    Parameters
    ----------
    geometry, direction, freqs, point, c
        As in :func:`delay_and_sum`.
    cov : array_like [shape=(F, M, M)]
        Covariance to minimise (noise, or the mixture).
    nulls : array_like [shape=(K, 2) or (2,) or (K,)]
        Interferer directions ``(azimuth, elevation)`` degrees (bare numbers are
        azimuths at elevation 0). Each must be resolvable from the target.
    gains : array_like [shape=(K,)], optional
        Responses toward the `nulls` (default 0: true nulls).
    loading, loading_mode
        As in :func:`mvdr_weights`.

    Notes
    -----
    In bins where the array cannot tell the nulls from the target (the smallest
    singular value of the column-normalised constraint matrix is below
    :data:`LCMV_MIN_SEPARATION`, as at DC and low frequencies for a small array),
    the null constraints are dropped and the weights are plain MVDR: forcing them
    there would blow up the weights' norm (white-noise gain far below 1).

    Returns
    -------
    np.ndarray [shape=(F, M), complex128]
    """
    a, R = _steered_cov(geometry, freqs, direction, point, c, "cov", cov, loading, loading_mode)
    nd = null_directions(geometry, nulls, direction, c=c)
    An = steering_vector(geometry, freqs, nd, c=c)  # (F, K, M)
    return lcmv_separated(a, np.swapaxes(An, 1, 2), R, gains)


def null_directions(
    geometry: ArrayGeometry,
    nulls: npt.ArrayLike,
    direction: npt.ArrayLike | None,
    *,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Validated null directions ``(K, 2)``: 1 <= K < M, each resolvable from `direction`."""
    nd = np.asarray(nulls, dtype=float)
    if nd.size == 0:
        raise v.fail("nulls", nulls, "is empty: give at least one interferer direction")
    nd = v.directions("nulls", nulls)
    if nd.shape[0] >= geometry.n_mics:
        raise v.fail(
            "nulls",
            nulls,
            f"at most M-1 = {geometry.n_mics - 1} nulls for {geometry.n_mics} microphones",
        )
    if direction is not None:
        look = v.directions("direction", direction)[0]
        for k, nul in enumerate(nd):
            if not geometry.resolves(tuple(look), tuple(nul), c=c):
                raise v.fail(
                    "nulls",
                    nulls,
                    f"null {k} at {tuple(nul.tolist())} collides with the look direction "
                    f"{tuple(look.tolist())}: the array cannot tell them apart",
                )
    return nd


def lcmv_separated(
    a: npt.ArrayLike,
    null_steering: npt.ArrayLike,
    cov: npt.ArrayLike,
    gains: npt.ArrayLike | None = None,
) -> np.ndarray:
    """LCMV toward `a` with nulls, MVDR in bins where the nulls cannot be told from the target.

    Parameters
    ----------
    a : array_like [shape=(..., M)]
        Target steering (unit response).
    null_steering : array_like [shape=(..., M, K)]
        Steering vectors toward the K interferers, one per column.
    cov : array_like [shape=(..., M, M)]
        The (loaded) covariance to minimise; broadcast against `a`.
    gains : array_like [shape=(K,)], optional
        Responses toward the nulls (default 0).

    Where the smallest singular value of the column-normalised constraint matrix is
    below :data:`LCMV_MIN_SEPARATION` (DC and low frequencies for a small array) the
    null constraints are dropped: forcing them there would blow up the weights' norm.

    Returns
    -------
    np.ndarray [shape=(..., M), complex128]
    """
    av = np.asarray(a, dtype=complex)
    N = np.asarray(null_steering, dtype=complex)
    K = N.shape[-1]
    C = np.concatenate([av[..., :, None], np.broadcast_to(N, (*av.shape, K))], axis=-1)
    g = np.zeros(K, dtype=complex) if gains is None else np.asarray(gains, complex)
    if g.shape != (K,):
        raise v.fail("gains", gains, f"must have one response per null ({K})")
    g = np.concatenate([[1.0 + 0j], g])
    Cn = C / np.linalg.norm(C, axis=-2, keepdims=True)
    gram = np.swapaxes(Cn.conj(), -1, -2) @ Cn
    s_min = np.sqrt(np.maximum(np.linalg.eigvalsh(gram)[..., 0], 0))
    sep = s_min >= LCMV_MIN_SEPARATION
    R = np.asarray(cov, dtype=complex)
    w = mvdr_weights(av, R)
    if np.any(sep):
        RC = _solve_shared("cov", R, C)  # R^-1 C, (..., M, 1+K), one factorisation per R
        Q = np.swapaxes(C.conj(), -1, -2) @ RC  # C^H R^-1 C
        z = _solve("C", Q[sep], np.broadcast_to(g.conj(), Q[sep].shape[:-1])[..., None])
        w[sep] = (RC[sep] @ z)[..., 0]
    return w


# ------------------------------------------------------------------------------ helpers


def _wng_loading(a: np.ndarray, gamma: np.ndarray, mu0: float, wng_min: float) -> np.ndarray:
    """Per bin, the smallest loading ``mu >= mu0`` with white-noise gain >= `wng_min`.

    With ``Gamma = U diag(lam) U^H`` and ``b = U^H a``, MVDR weights loaded by ``mu``
    have ``WNG(mu) = (sum |b|^2 / (lam + mu))^2 / sum |b|^2 / (lam + mu)^2``, which rises
    monotonically to ``a^H a`` as ``mu`` grows; bisect on ``log mu`` for all bins at once.
    """
    lam, U = np.linalg.eigh(gamma)  # (F, M), (F, M, M)
    lam = np.maximum(lam, 0.0)
    b2 = np.abs(np.einsum("fmM,fm->fM", U.conj(), a)) ** 2  # |U^H a|^2, (F, M)

    def wng(mu: np.ndarray) -> np.ndarray:
        d = lam + mu[:, None]
        return np.sum(b2 / d, axis=1) ** 2 / np.sum(b2 / d**2, axis=1)

    F = a.shape[0]
    lo = np.full(F, max(mu0, 1e-12))
    ok = wng(lo) >= wng_min
    hi = np.full(F, 1e8)
    lo_log, hi_log = np.log(lo), np.log(hi)
    for _ in range(60):  # bracket [e^lo, e^hi] shrinks to a factor 1e-8
        mid = 0.5 * (lo_log + hi_log)
        good = wng(np.exp(mid)) >= wng_min
        hi_log = np.where(good, mid, hi_log)
        lo_log = np.where(good, lo_log, mid)
    return np.where(ok, mu0, np.exp(hi_log))


def _loaded(name: str, cov: npt.ArrayLike, loading: float, mode: str) -> np.ndarray:
    R = np.asarray(cov, dtype=complex)
    if R.ndim < 2 or R.shape[-1] != R.shape[-2]:
        raise v.fail(name, cov, f"must be square matrices (..., M, M), got shape {R.shape}")
    v.choice("loading_mode", mode, ("absolute", "trace"))
    loading = v.nonnegative("loading", loading)
    if loading == 0:
        return R
    M = R.shape[-1]
    delta = float(loading)
    if mode == "trace":
        delta = delta * np.trace(R, axis1=-2, axis2=-1).real[..., None, None] / M
    return R + delta * np.eye(M)


def _solve(name: str, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    try:
        X = np.linalg.solve(A, B)
    except np.linalg.LinAlgError:
        X = None
    if X is None or not np.all(np.isfinite(X)):
        raise v.fail(
            name,
            A,
            "is singular: add diagonal loading (e.g. loading=1e-3, loading_mode='trace') "
            "or estimate it from more frames",
        )
    return X


def _solve_shared(name: str, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A^-1 B`` for ``B`` ``(E..., *batch, M, K)`` and ``A`` ``(*batch, M, M)``.

    When `A` has fewer leading dimensions than `B` (one covariance for many steering
    vectors: errors, looks), each matrix is factorised once and the extra leading
    dimensions of `B` are solved as more right-hand sides.
    """
    lead = B.ndim - A.ndim
    if lead <= 0 or B.shape[lead:-2] != A.shape[:-2]:
        return _solve(name, A, B)
    E = int(np.prod(B.shape[:lead]))
    M, K = B.shape[-2:]
    rhs = np.moveaxis(B.reshape(E, *B.shape[lead:]), 0, -2)  # (*batch, M, E, K)
    rhs = rhs.reshape(*A.shape[:-2], M, E * K)
    X = _solve(name, A, rhs).reshape(*A.shape[:-2], M, E, K)
    return np.moveaxis(X, -2, 0).reshape(B.shape)


def _checked_cov(
    name: str, cov: npt.ArrayLike, a_shape: tuple[int, ...], loading: float, mode: LoadingMode
) -> np.ndarray:
    """Validate a geometry-level covariance ``(F, M, M)``: shape, Hermitian, nonsingular."""
    R = v.finite_array(name, cov, dtype=complex)
    F, M = a_shape
    if R.shape != (F, M, M):
        raise v.fail(name, cov, f"must have shape (F, M, M) = {(F, M, M)}")
    from arraykit.beamform.covariance import check_covariance

    check_covariance(name, cov, loading=loading, loading_mode=mode)
    return _loaded(name, R, loading, mode)


def _steered_cov(
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    direction: npt.ArrayLike | None,
    point: npt.ArrayLike | None,
    c: float,
    name: str,
    cov: npt.ArrayLike,
    loading: float,
    mode: LoadingMode,
) -> tuple[np.ndarray, np.ndarray]:
    """The target steering ``(F, M)`` and the checked, loaded covariance ``(F, M, M)``.

    The common start of the covariance-based geometry-level beamformers (:func:`mvdr`,
    :func:`mpdr`, :func:`lcmv`); `name` is the covariance argument's name in errors.
    """
    a = target_steering(geometry, freqs, direction, point=point, c=c)
    return a, _checked_cov(name, cov, a.shape, loading, mode)


def _index(name: str, value: int, M: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not -M <= value < M:
        raise v.fail(name, value, f"must be a microphone index in 0..{M - 1}")
    return int(value)


def _reference(name: str, value: int | npt.ArrayLike, M: int) -> np.ndarray:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        u = np.zeros(M)
        u[_index(name, int(value), M)] = 1.0
        return u
    u = np.asarray(value)
    if u.shape != (M,) or not np.issubdtype(u.dtype, np.number) or not np.all(np.isfinite(u)):
        raise v.fail(name, value, f"must be an index or a finite weighting of shape ({M},)")
    return u


def _mvdr_weights_loop(a: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Reference kernel: the textbook formula with an explicit inverse, one bin at a time."""
    out = np.empty(a.shape, dtype=complex)
    for f in range(a.shape[0]):
        Ri = np.linalg.inv(cov[f])
        out[f] = Ri @ a[f] / (a[f].conj() @ Ri @ a[f])
    return out


def _lcmv_weights_loop(C: np.ndarray, cov: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Reference kernel for :func:`lcmv_weights`, one bin at a time with inverses."""
    out = np.empty(C.shape[:2], dtype=complex)
    for f in range(C.shape[0]):
        Ri = np.linalg.inv(cov[f])
        Ch = C[f].conj().T
        out[f] = Ri @ C[f] @ np.linalg.inv(Ch @ Ri @ C[f]) @ g.conj()
    return out
