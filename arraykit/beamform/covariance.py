"""Spatial covariance matrices from an STFT: all frames, a time range, a mask, or streaming.

Shapes: ``M`` microphones, ``F`` frequencies, ``T`` frames. The STFT is
``(M, F, T)`` (as :func:`arraykit.stft.stft` gives it); covariances are
``(F, M, M)`` Hermitian, ``R[f] = sum_t w_t x_ft x_ft^H / sum_t w_t``.

>>> import numpy as np
>>> from arraykit.stft import stft
>>> x = np.random.default_rng(0).standard_normal((3, 16000))
>>> R = covariance(stft(x, 16000, nfft=256))
>>> R.shape, bool(np.allclose(R, R.conj().transpose(0, 2, 1)))
((129, 3, 3), True)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit._channels import dead_channels

__all__ = ["RecursiveCovariance", "check_covariance", "covariance", "noise_covariance_auto"]


def covariance(
    X: npt.ArrayLike,
    *,
    frames: slice | tuple[float, float] | None = None,
    fs: float | None = None,
    nfft: int | None = None,
    hop: int | None = None,
    mask: npt.ArrayLike | None = None,
) -> np.ndarray:
    """Spatial covariance ``(F, M, M)`` of an STFT, over chosen frames and/or a mask.

    Parameters
    ----------
    X : array_like [shape=(M, F, T)]
        Multichannel STFT.
    frames : slice or (float, float), optional
        Which frames: all (default), a ``slice`` of frame indices, or a time range
        ``(t0, t1)`` in seconds (frames whose centre lies in it; needs `fs`).
    fs : float, optional
        Sampling rate, Hz (for a time range).
    nfft, hop : int, optional
        STFT settings used for `X` (default ``nfft = 2 (F - 1)``, ``hop = nfft // 2``),
        to place frames in time.
    mask : array_like [shape=(F, T)], optional
        Non-negative time-frequency weights (e.g. a speech-presence mask); each
        bin is normalised by its mask sum.

    Returns
    -------
    np.ndarray [shape=(F, M, M), complex128]

    Raises
    ------
    InvalidArgumentError
        Wrong shapes, an empty selection, a time range outside the signal, or a
        selection that is all zeros (nothing to estimate from).
    """
    Xv = _stft("X", X)
    _M, F, T = Xv.shape
    sel = _select_frames(frames, T, F, fs, nfft, hop)
    Xs = Xv[:, :, sel]
    if Xs.shape[2] == 0:
        raise v.fail("frames", frames, f"selects no frames (the STFT has {T})")
    if mask is None:
        R = np.einsum("mft,Mft->fmM", Xs, Xs.conj()) / Xs.shape[2]
    else:
        mk = v.finite_array("mask", mask, allow_bool=True)
        if mk.shape != (F, T):
            raise v.fail("mask", mask, f"must have shape (F, T) = {(F, T)}")
        if np.any(mk < 0):
            raise v.fail("mask", mask, "weights must be >= 0")
        mk = mk[:, sel]
        total = mk.sum(axis=1)
        if not np.any(total > 0):
            raise v.fail("mask", mask, "is zero over the selected frames")
        R = np.einsum("ft,mft,Mft->fmM", mk, Xs, Xs.conj())
        R /= np.where(total > 0, total, 1.0)[:, None, None]
    if not np.any(R):
        raise v.fail(
            "frames" if frames is not None else "X",
            frames if frames is not None else X,
            "the selected segment is all zeros: nothing to estimate a covariance from",
        )
    return R


def noise_covariance_auto(
    X: npt.ArrayLike, *, fraction: float = 0.2, min_frames: int | None = None
) -> np.ndarray:
    """Noise covariance ``(F, M, M)`` from the lowest-energy frames of an STFT.

    Speech is sparse in time: the quietest `fraction` of frames (by energy summed
    over microphones and frequencies) are mostly noise. At least `min_frames`
    frames are used (default ``2 M``, so the estimate is not rank-deficient).

    Parameters
    ----------
    X : array_like [shape=(M, F, T)]
    fraction : float
        Share of frames to use, in (0, 1].
    min_frames : int, optional
    """
    Xv = _stft("X", X)
    M, _, T = Xv.shape
    fraction = v.positive("fraction", fraction)
    if fraction > 1:
        raise v.fail("fraction", fraction, "must lie in (0, 1]")
    n = max(round(fraction * T), 2 * M if min_frames is None else int(min_frames), 1)
    n = min(n, T)
    energy = np.einsum("mft,mft->t", Xv.real, Xv.real) + np.einsum("mft,mft->t", Xv.imag, Xv.imag)
    quiet = np.sort(np.argsort(energy, kind="stable")[:n])
    return covariance(Xv, frames=quiet)  # type: ignore[arg-type]


HERMITIAN_ULPS = 100.0
"""A covariance may differ from its conjugate transpose by this many machine epsilons of its
precision (times its peak): rounding, not asymmetry."""


def hermitian_tolerance(cov: npt.ArrayLike) -> float:
    """Relative tolerance of the Hermitian check for `cov`'s precision.

    ``max(1e-8, HERMITIAN_ULPS * eps)`` of the input's floating type: 1e-8 for float64,
    about 1.2e-5 for float32 (a float32 cross-spectral matrix, such as acoular's AIAA
    benchmark, is Hermitian only to ~1e-8 of its peak and would otherwise be refused).
    Non-float inputs are judged as float64.
    """
    dtype = np.asarray(cov).dtype
    eps = np.finfo(dtype).eps if np.issubdtype(dtype, np.inexact) else np.finfo(float).eps
    return max(1e-8, HERMITIAN_ULPS * float(eps))


def check_covariance(
    name: str,
    cov: npt.ArrayLike,
    *,
    loading: float = 0.0,
    loading_mode: Literal["absolute", "trace"] = "absolute",
    rcond: float = 1e-12,
) -> None:
    """Raise a helpful error unless `cov` ``(F, M, M)`` is Hermitian and, once loaded, nonsingular.

    Hermitian to :func:`hermitian_tolerance` of its peak: the tolerance scales with the
    input's precision (float32 / complex64 matrices are accepted at their rounding).

    Singular means the smallest eigenvalue is at most `rcond` times the largest (or
    negative beyond rounding) in some bin; the message names the bin and suggests
    diagonal loading.
    """
    R = np.asarray(cov, dtype=complex)
    if R.ndim != 3 or R.shape[1] != R.shape[2]:
        raise v.fail(name, cov, f"must be (F, M, M) covariances, got shape {R.shape}")
    scale = np.max(np.abs(R))
    asym = np.max(np.abs(R - np.swapaxes(R.conj(), 1, 2)))
    if asym > hermitian_tolerance(cov) * max(scale, 1e-300):
        f = int(np.argmax(np.max(np.abs(R - np.swapaxes(R.conj(), 1, 2)), axis=(1, 2))))
        raise v.fail(
            name,
            cov,
            f"is not Hermitian (bin {f} differs from its conjugate transpose by {asym:.3g}); "
            "estimate it with arraykit.beamform.covariance or use (R + R^H) / 2",
        )
    M = R.shape[-1]
    tr = np.trace(R, axis1=1, axis2=2).real  # >= the largest eigenvalue
    delta = 0.0 if not loading else loading * (tr / M if loading_mode == "trace" else 1.0)
    try:  # fast sufficient test: R + delta I - rcond trace I is positive definite
        shift = np.broadcast_to(delta - rcond * (tr + M * np.asarray(delta)), tr.shape)
        np.linalg.cholesky(R + shift[:, None, None] * np.eye(M))
        return
    except np.linalg.LinAlgError:
        pass
    lam = np.linalg.eigvalsh(0.5 * (R + np.swapaxes(R.conj(), 1, 2)))  # (F, M) ascending
    if loading:
        delta = loading * (lam.sum(axis=1) / M if loading_mode == "trace" else 1.0)
        lam = lam + np.broadcast_to(delta, lam.shape[:1])[:, None]
    bad = lam[:, 0] <= rcond * np.maximum(lam[:, -1], 0.0)
    if np.any(bad):
        f = int(np.argmax(bad))
        raise v.fail(
            name,
            cov,
            f"is singular or not positive definite at bin {f} (eigenvalues {lam[f, 0]:.3g} .. "
            f"{lam[f, -1]:.3g}); add diagonal loading (e.g. loading=1e-3, "
            "loading_mode='trace') or estimate it from more frames",
        )


class RecursiveCovariance:
    """Exponentially forgotten covariance for streaming: ``R <- a R + (1 - a) x x^H`` per frame.

    Feed STFT blocks ``(M, F, T_b)`` to :meth:`update`; each call returns the current
    estimate ``(F, M, M)``. The recursion runs frame by frame in effect but is
    computed per block in one weighted sum; the estimate is normalised by the total
    weight seen so far, so it is unbiased from the first frame on.

    Parameters
    ----------
    n_freqs, n_mics : int
        ``F`` and ``M``.
    alpha : float
        Forgetting factor per frame in (0, 1); the memory is about ``1 / (1 - alpha)``
        frames.

    Examples
    --------
    >>> rc = RecursiveCovariance(2, 3, alpha=0.9)
    >>> R = rc.update(np.ones((3, 2, 4), dtype=complex))
    >>> bool(np.allclose(R, 1.0))
    True
    """

    def __init__(self, n_freqs: int, n_mics: int, *, alpha: float = 0.95) -> None:
        self.alpha = v.fraction("alpha", alpha, "(0", "1)")
        self.n_freqs = int(n_freqs)
        self.n_mics = int(n_mics)
        self._R = np.zeros((self.n_freqs, self.n_mics, self.n_mics), dtype=complex)
        self._weight = 0.0
        self._weights: dict[int, tuple[np.ndarray, float, float]] = {}

    def reset(self) -> None:
        """Forget everything seen so far."""
        self._R[:] = 0
        self._weight = 0.0

    def forget_channels(self, channels: tuple[int, ...]) -> None:
        """Forget what these channels held (their rows and columns become zero): a
        microphone that went silent, whose decaying past would otherwise stay in the
        estimate, never exactly zero."""
        if channels:
            idx = list(channels)
            self._R[:, idx, :] = 0
            self._R[:, :, idx] = 0

    @property
    def value(self) -> np.ndarray:
        """The current estimate ``(F, M, M)`` (zeros before the first update)."""
        return self._R / self._weight if self._weight > 0 else self._R.copy()

    def update(self, X_block: npt.ArrayLike, *, forget_silent: bool = False) -> np.ndarray:
        """Fold in a block of frames ``(M, F, T_b)``; return the estimate ``(F, M, M)``.
        `forget_silent`: a channel all zero in the block while another is not
        (:func:`arraykit._channels.dead_channels`: a microphone that went silent) is
        forgotten (:meth:`forget_channels`) rather than left to decay, never exactly zero."""
        X = np.asarray(X_block)
        if X.ndim == 2:
            X = X[:, :, None]
        if X.shape[:2] != (self.n_mics, self.n_freqs):
            raise v.fail(
                "X_block", X_block, f"must be (M, F, T) = ({self.n_mics}, {self.n_freqs}, T)"
            )
        Tb = X.shape[2]
        wt, decay, total = self._frame_weights(Tb)
        self._R *= decay
        Xf = X.transpose(1, 0, 2)  # (F, M, T)
        self._R += (Xf * wt) @ Xf.conj().transpose(0, 2, 1)
        self._weight = decay * self._weight + total
        if forget_silent:
            self.forget_channels(dead_channels(X))
        return self._R / self._weight

    def _frame_weights(self, Tb: int) -> tuple[np.ndarray, float, float]:
        """:func:`forgetting_weights` of a block of `Tb` frames (kept per block length: a
        stream's blocks are mostly one length)."""
        got = self._weights.get(Tb)
        if got is None:
            got = self._weights[Tb] = forgetting_weights(self.alpha, Tb)
        return got


def forgetting_weights(alpha: float, n_frames: int) -> tuple[np.ndarray, float, float]:
    """The recursion ``R <- alpha R + (1 - alpha) x x^H`` over a block of `n_frames`
    frames as one weighted sum: each frame's weight ``(n_frames,)`` (the newest
    ``1 - alpha``), the decay ``alpha ** n_frames`` of what came before, and the weights'
    sum (:class:`RecursiveCovariance`, and the front end's per-track covariances)."""
    wt = (1 - alpha) * alpha ** np.arange(n_frames - 1, -1, -1.0)
    return wt, alpha**n_frames, float(wt.sum())


# ------------------------------------------------------------------------------ helpers


def _stft(name: str, X: npt.ArrayLike) -> np.ndarray:
    Xv = np.asarray(X)
    if Xv.ndim != 3:
        raise v.fail(name, X, f"must be a multichannel STFT (M, F, T), got shape {Xv.shape}")
    if not np.all(np.isfinite(Xv)):
        raise v.fail(name, X, "contains NaN or infinite values")
    return Xv.astype(complex, copy=False)


def _select_frames(
    frames: slice | tuple[float, float] | npt.ArrayLike | None,
    T: int,
    F: int,
    fs: float | None,
    nfft: int | None,
    hop: int | None,
) -> slice | np.ndarray:
    if frames is None:
        return slice(None)
    if isinstance(frames, slice):
        return frames
    arr = np.asarray(frames)
    if arr.dtype.kind in "iu" and arr.ndim == 1:  # explicit frame indices (internal use)
        return arr
    if arr.shape != (2,):
        raise v.fail("frames", frames, "must be None, a slice, or a time range (t0, t1) in seconds")
    if fs is None:
        raise v.fail("fs", fs, "a time range of frames needs the sampling rate fs")
    fs = v.positive("fs", fs)
    t0, t1 = (float(t) for t in arr)
    nfft = 2 * (F - 1) if nfft is None else int(nfft)
    hop = nfft // 2 if hop is None else int(hop)
    from arraykit.stft import frame_times

    times = frame_times(fs, T, nfft=nfft, hop=hop)
    end = (T - 1) * hop / fs + times[0] + nfft / (2 * fs)  # last sample any frame covers
    if not (np.isfinite(t0) and np.isfinite(t1)) or t0 >= t1:
        raise v.fail("frames", frames, "time range must be (t0, t1) seconds with t0 < t1")
    if t0 < 0 or t0 >= end:
        raise v.fail("frames", frames, f"lies outside the signal (0 .. {end:.3f} s)")
    sel = np.flatnonzero((times >= t0) & (times <= t1))
    if sel.size == 0:  # a range shorter than a hop: take the nearest frame
        sel = np.array([int(np.argmin(np.abs(times - 0.5 * (t0 + t1))))])
    return sel
