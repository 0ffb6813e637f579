"""Short-time Fourier transform with the ``(M, F, T)`` convention, on scipy's ShortTimeFFT.

Shapes: ``M`` microphones, ``N`` samples, ``F = nfft // 2 + 1`` frequencies, ``T``
frames. The forward transform of ``(M, N)`` signals is ``(M, F, T)`` complex; the
inverse reconstructs the signals exactly (the default Hann window at 50 % overlap
satisfies the constant-overlap-add condition, and scipy uses the canonical dual
window for any other choice).

>>> import numpy as np
>>> x = np.random.default_rng(0).standard_normal((2, 4000))
>>> X = stft(x, 16000, nfft=256)
>>> X.shape[:2]
(2, 129)
>>> bool(np.allclose(istft(X, 16000, nfft=256, length=4000), x))
True
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

from arraykit import _cache
from arraykit import _validate as v

if TYPE_CHECKING:  # scipy.signal takes most of a second to import: load it on first use
    from scipy.signal import ShortTimeFFT

__all__ = [
    "StreamingISTFT",
    "StreamingSTFT",
    "frame_times",
    "istft",
    "near_unit",
    "stft",
    "stft_frequencies",
    "stft_transform",
    "unit_scale",
]


def unit_scale(x: np.ndarray, level: float | None = None) -> float:
    """The peak of `x` when its `level` (default its peak) lies beyond 2**±60, else 1.0:
    float32 spans 1e-38..3e38 and a square of 1e-155 is subnormal, so statistics that see
    no overall scale (PHAT, subspaces, where a correlation peaks) divide by it first."""
    if level is None:
        level = float(np.max(np.abs(x))) if x.size else 0.0
    if 2.0**-60 < level < 2.0**60:
        return 1.0
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return peak if 0 < peak < np.inf else 1.0


def near_unit(x: np.ndarray, level: float | None = None) -> np.ndarray:
    """`x` divided by :func:`unit_scale` (`x` itself, not a copy, at ordinary levels)."""
    k = unit_scale(x, level)
    return x if k == 1.0 else x / k


def stft_transform(
    fs: float, *, nfft: int = 512, hop: int | None = None, window: str = "hann"
) -> ShortTimeFFT:
    """The scipy ShortTimeFFT arraykit uses for these settings (cached).

    `hop` defaults to ``nfft // 2``; `window` is any name :func:`scipy.signal.get_window`
    knows (periodic, length `nfft`).
    """
    fs = v.positive("fs", fs)
    nfft = v.integer("nfft", nfft, 2)
    hop = nfft // 2 if hop is None else v.integer("hop", hop, 1, nfft, upper=f"nfft={nfft}")
    if not isinstance(window, str):
        raise v.fail("window", window, "must be a window name such as 'hann'")
    return _transform(fs, nfft, hop, window)


@_cache.memoize("stft.transforms", 32)
def _transform(fs: float, nfft: int, hop: int, window: str) -> ShortTimeFFT:
    from scipy.signal import ShortTimeFFT, get_window

    try:
        win = get_window(window, nfft, fftbins=True)
    except ValueError:
        raise v.fail("window", window, "is not a window scipy.signal.get_window knows") from None
    return ShortTimeFFT(win, hop=hop, fs=fs, fft_mode="onesided", mfft=nfft)


def stft(
    signals: npt.ArrayLike,
    fs: float,
    *,
    nfft: int = 512,
    hop: int | None = None,
    window: str = "hann",
) -> np.ndarray:
    """STFT of time signals.

    Parameters
    ----------
    signals : array_like [shape=(M, N) or (N,)]
        One row per microphone.
    fs : float
        Sampling rate, Hz.
    nfft : int
        Frame length and FFT size.
    hop : int, optional
        Frame advance in samples (default ``nfft // 2``).
    window : str
        Window name (default ``"hann"``).

    Returns
    -------
    np.ndarray [shape=(M, F, T) or (F, T), complex]
        Frames cover the whole signal, including partial frames at both ends.
    """
    x = v.finite_array("signals", signals)
    if x.ndim not in (1, 2):
        raise v.fail("signals", signals, f"must be (N,) or (M, N), got shape {x.shape}")
    sft = stft_transform(fs, nfft=nfft, hop=hop, window=window)
    if x.shape[-1] < nfft:
        raise v.fail("signals", signals, f"has {x.shape[-1]} samples, fewer than nfft={nfft}")
    return _stft_frames(x, sft)


def _stft_frames(x: np.ndarray, sft: ShortTimeFFT) -> np.ndarray:
    """``sft.stft(x)`` computed with one batched FFT over strided frames.

    scipy's ShortTimeFFT transforms frame by frame in a Python loop; this frames the
    zero-padded signal with a strided view and runs a single ``rfft``, giving the same
    frames (``p_min`` to ``p_max``) and the same phase reference (each frame's FFT
    taken relative to its centre sample ``p * hop``). ``sft.stft`` stays the reference
    it is tested against.
    """
    return _fft_frames(*_padded(x, sft), sft)


def stft_band(x: np.ndarray, sft: ShortTimeFFT, bins: slice) -> np.ndarray:
    """``_stft_frames(x, sft)[:, bins, :]`` of signals ``(M, N)``, without the other bins.

    The result is ``(M, F_band, T)`` laid out ``(F_band, M, T)`` in memory (the order
    in which the DOA searches multiply it). See :func:`stft_band_chunks`.
    """
    lo, hi, _ = bins.indices(sft.f_pts)
    out = np.empty((hi - lo, x.shape[0], frame_count(sft, x.shape[-1])), dtype=complex)
    for t0, chunk in stft_band_chunks(x, sft, bins):
        out[:, :, t0 : t0 + chunk.shape[2]] = chunk
    return out.transpose(1, 0, 2)


def stft_band_chunks(
    x: np.ndarray,
    sft: ShortTimeFFT,
    bins: slice,
    *,
    dtype: type = np.float64,
    scaled: bool = True,
) -> Iterator[tuple[int, np.ndarray]]:
    """The band `bins` of the STFT of signals ``(M, N)``, a few frames at a time.

    Yields ``(t0, X)`` with ``X`` ``(F_band, M, T_chunk)``: frames ``t0 ...`` of
    ``_stft_frames(x, sft)[:, bins, :]``, computed in `dtype` (``np.float32`` for
    single precision). The DOA searches read only a band, and chunks of ~0.5 MiB keep
    each step's data in cache (one pass over the whole STFT at once was ~2x slower).

    With the periodic Hann window ``w[n] = (1 - cos(2 pi n / N)) / 2`` the windowed
    spectrum is, exactly, a 3-tap filter of the unwindowed one,
    ``X_w[k] = X[k] / 2 - (X[k - 1] + X[k + 1]) / 4``: frames are transformed
    straight from a strided view of the signal (no windowed copy), and the window and
    the centre phase are applied to the band's bins only. Other windows, or a band
    that touches bin 0 or the Nyquist bin, window the frames first.

    ``scaled=False`` leaves out what multiplies every channel alike in a bin (the
    centre phase and, for Hann, a factor -4): for statistics that do not see it,
    such as PHAT-whitened cross-spectra.
    """
    from scipy.fft import rfft  # keeps float32 in float32 (numpy's float32 FFT is slow)

    lo, hi, _ = bins.indices(sft.f_pts)
    xp, n_frames = _padded(x, sft, dtype)
    frames = _frame_view(xp, n_frames, sft)
    hann = _is_hann(sft) and lo >= 1 and hi <= sft.f_pts - 1
    phase = _centre_phase(sft.mfft, sft.m_num_mid)[lo:hi] * (-0.25 if hann else 1.0)
    # the centre phase is (-1)^k when the centre is mid-frame: a real scaling
    real = 2 * sft.m_num_mid == sft.mfft
    if real:
        phase = phase.real.astype(dtype)[:, None, None, None]
    else:
        phase = phase.astype(np.result_type(dtype, np.complex64))[:, None, None]
    win = None if hann else sft.win.astype(dtype)
    step = max(1, _CHUNK_BYTES // (x.shape[0] * sft.f_pts * 2 * np.dtype(dtype).itemsize))
    for t0 in range(0, n_frames, step):
        fr = frames[:, t0 : t0 + step]
        if hann:
            S = rfft(fr, axis=-1)  # (M, Tc, F) unwindowed
            Sb = np.ascontiguousarray(S[..., lo - 1 : hi + 1].transpose(2, 0, 1))
            X = Sb[:-2] + Sb[2:]  # -4 X_w, with X_w the windowed spectrum
            X -= Sb[1:-1]
            X -= Sb[1:-1]
        else:
            S = rfft(fr * win, n=sft.mfft, axis=-1)
            X = np.ascontiguousarray(S[..., lo:hi].transpose(2, 0, 1))
        if scaled and real:  # on (F, M, Tc, re/im): a real multiply
            X.view(dtype).reshape(*X.shape, 2)[...] *= phase
        elif scaled:
            X *= phase
        yield t0, X


_CHUNK_BYTES = 2**19


def _padded(x: np.ndarray, sft: ShortTimeFFT, dtype: type | None = None) -> tuple[np.ndarray, int]:
    """`x` zero-padded (and cast to `dtype`) so that frame ``k`` starts at sample
    ``k * hop``; the frame count."""
    n = x.shape[-1]
    hop, mid, m = sft.hop, sft.m_num_mid, sft.m_num
    p0, count = sft.p_min, frame_count(sft, n)
    first = p0 * hop - mid  # first sample of the first frame (negative: zeros before)
    last = (p0 + count - 1) * hop - mid + m  # one past the last sample of the last frame
    left, right = max(0, -first), max(0, last - n)
    xp = np.empty((*x.shape[:-1], left + n + right), dtype=dtype or x.dtype)
    xp[..., :left] = 0.0
    xp[..., left + n :] = 0.0
    xp[..., left : left + n] = x
    return xp[..., first + left :], count


def frame_count(sft: ShortTimeFFT, n_samples: int) -> int:
    """How many frames :func:`stft` gives for `n_samples` samples with `sft`'s settings."""
    return int(sft.p_max(n_samples) - sft.p_min)


@_cache.memoize("stft.is_hann", 32)
def _is_hann(sft: ShortTimeFFT) -> bool:
    n = sft.m_num
    if sft.mfft != n:
        return False
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)  # periodic
    return bool(np.allclose(sft.win, hann, rtol=0.0, atol=1e-15))


def _fft_frames(x: np.ndarray, n_frames: int, sft: ShortTimeFFT) -> np.ndarray:
    """The first `n_frames` frames of `x` (frame ``k`` starts at sample ``k * hop``), ``(..., F, T)``.

    Each frame's FFT is taken relative to its centre sample, as ShortTimeFFT does.
    """
    X = np.fft.rfft(_frame_view(x, n_frames, sft) * sft.win, n=sft.mfft, axis=-1)
    X *= _centre_phase(sft.mfft, sft.m_num_mid)
    return np.swapaxes(X, -1, -2)


def _frame_view(x: np.ndarray, n_frames: int, sft: ShortTimeFFT) -> np.ndarray:
    """Frames ``(..., n_frames, m_num)`` of `x` as a read-only strided view (frame ``k``
    at ``k * hop``; `x` must hold them all)."""
    step = x.strides[-1]
    if x.shape[-1] < (n_frames - 1) * sft.hop + sft.m_num:
        raise ValueError(f"{x.shape[-1]} samples hold fewer than {n_frames} frames")
    return as_strided(
        x,
        shape=(*x.shape[:-1], n_frames, sft.m_num),
        strides=(*x.strides[:-1], sft.hop * step, step),
        writeable=False,
    )


@_cache.memoize("stft.centre_phase", 32)
def _centre_phase(mfft: int, mid: int) -> np.ndarray:
    phase = np.exp(2j * np.pi * np.arange(mfft // 2 + 1) * mid / mfft)
    phase.setflags(write=False)
    return phase


class StreamingSTFT:
    """The STFT of a signal that arrives in blocks: each whole frame once, as it completes.

    :meth:`push` takes the next block ``(M, n)`` and returns the frames ``(M, F, T_new)``
    that it completed (none when fewer than `nfft` samples are waiting); samples not
    yet in a whole frame are kept for the next block. Frame ``k`` starts at sample
    ``k * hop`` of the stream, so the frames equal those of :func:`stft` on the whole
    signal that need no zero padding (frame ``k + 1`` of :func:`stft` at the default
    50 % hop).

    Examples
    --------
    >>> x = np.random.default_rng(1).standard_normal((2, 3000))
    >>> s = StreamingSTFT(16000, 2, nfft=256)
    >>> X = np.concatenate([s.push(b) for b in np.array_split(x, 7, axis=1)], axis=2)
    >>> ref = stft(x, 16000, nfft=256)
    >>> X.shape[2], bool(np.allclose(X, ref[:, :, 1 : 1 + X.shape[2]]))
    (22, True)
    """

    def __init__(
        self,
        fs: float,
        n_channels: int,
        *,
        nfft: int = 512,
        hop: int | None = None,
        window: str = "hann",
    ) -> None:
        self.transform = stft_transform(fs, nfft=nfft, hop=hop, window=window)
        self.n_channels = v.integer("n_channels", n_channels, 1)
        self._buf = np.zeros((self.n_channels, 0))

    @property
    def freqs(self) -> np.ndarray:
        """The ``F`` bin frequencies, Hz."""
        return self.transform.f

    def push(self, block: npt.ArrayLike) -> np.ndarray:
        """Append a block ``(M, n)``; return the frames it completed, ``(M, F, T_new)``."""
        b = v.finite_array("block", block, ndim=2)
        if b.shape[0] != self.n_channels:
            raise v.fail("block", block, f"must have {self.n_channels} rows (channels)")
        buf = np.concatenate([self._buf, b], axis=1)
        sft = self.transform
        T = max(0, (buf.shape[1] - sft.m_num) // sft.hop + 1)
        X = _fft_frames(buf, T, sft) if T else np.zeros((self.n_channels, sft.f_pts, 0), complex)
        self._buf = buf[:, T * sft.hop :]
        return X


class StreamingISTFT:
    """The inverse of :class:`StreamingSTFT`: frames in, the samples they complete out.

    :meth:`push` takes frames ``(..., F, T_new)`` in :class:`StreamingSTFT`'s
    convention (frame ``k`` starts at sample ``k * hop``, its FFT taken relative to
    the frame's centre sample, as :func:`stft` does) and returns ``(..., T_new * hop)``
    samples: after ``K`` frames, samples ``0 .. K * hop - 1`` of the stream, final
    (no later frame overlaps them). The synthesis is scipy's overlap-add with the
    canonical dual window, so feeding the frames of :class:`StreamingSTFT` back gives
    the signal exactly, except for the first ``nfft - hop`` samples, which only frames
    before the stream's start would complete (prepend that many zeros to the input
    to reconstruct every sample).

    Examples
    --------
    >>> x = np.random.default_rng(2).standard_normal((2, 4096))
    >>> fwd, inv = StreamingSTFT(16000, 2, nfft=256), StreamingISTFT(16000, nfft=256)
    >>> y = np.concatenate([inv.push(fwd.push(b)) for b in np.array_split(x, 5, axis=1)], -1)
    >>> y.shape, bool(np.allclose(y[:, 128:], x[:, 128 : y.shape[1]]))
    ((2, 3968), True)
    """

    def __init__(
        self, fs: float, *, nfft: int = 512, hop: int | None = None, window: str = "hann"
    ) -> None:
        self.transform = stft_transform(fs, nfft=nfft, hop=hop, window=window)
        sft = self.transform
        self._phase = _centre_phase(sft.mfft, sft.m_num_mid).conj()
        self.tail: np.ndarray | None = None
        """``(..., nfft - hop)``: the overlap still open (None before the first push); a
        caller that stacks several streams in the leading dimensions may reorder its rows."""

    def push(self, frames: npt.ArrayLike) -> np.ndarray:
        """Append frames ``(..., F, T_new)``; return the ``T_new * hop`` samples they complete."""
        X = np.asarray(frames)
        sft = self.transform
        if X.ndim < 2 or X.shape[-2] != sft.f_pts:
            raise v.fail("frames", frames, f"must be (..., F, T) with F={sft.f_pts}")
        hop, m = sft.hop, sft.m_num
        lead = X.shape[:-2]
        T = X.shape[-1]
        seg = np.fft.irfft(np.swapaxes(X, -1, -2) * self._phase, n=sft.mfft, axis=-1)[..., :m]
        seg = seg * sft.dual_win  # (..., T, m)
        tail = self.tail if self.tail is not None else np.zeros((*lead, m - hop))
        buf = np.zeros((*lead, T * hop + m - hop))
        buf[..., : m - hop] = tail
        if m % hop == 0:  # overlap-add by hop-long pieces: piece r of frame t into slot t + r
            r_n = m // hop
            slots = buf.reshape(*lead, T + r_n - 1, hop)
            pieces = seg.reshape(*lead, T, r_n, hop)
            for r in range(r_n - 1, -1, -1):  # each sample sums its frames in time order
                slots[..., r : r + T, :] += pieces[..., r, :]
        else:
            for t in range(T):  # overlap-add (T is a block's few frames)
                buf[..., t * hop : t * hop + m] += seg[..., t, :]
        self.tail = buf[..., T * hop :].copy()
        return buf[..., : T * hop]


def istft(
    spectrum: npt.ArrayLike,
    fs: float,
    *,
    nfft: int = 512,
    hop: int | None = None,
    window: str = "hann",
    length: int | None = None,
) -> np.ndarray:
    """Inverse of :func:`stft` (same settings): ``(M, F, T)`` or ``(F, T)`` to real signals.

    `length` trims (or zero-pads) the output to that many samples; give the input
    length for exact reconstruction.
    """
    X = np.asarray(spectrum)
    sft = stft_transform(fs, nfft=nfft, hop=hop, window=window)
    if X.ndim not in (2, 3) or X.shape[-2] != sft.f_pts:
        raise v.fail(
            "spectrum", spectrum, f"must be (F, T) or (M, F, T) with F={sft.f_pts} for nfft={nfft}"
        )
    T = X.shape[-1]
    # Frame t is centred on sample (p_min + t) * hop; the last one ends here:
    n_cover = (sft.p_min + T - 1) * sft.hop + sft.m_num - sft.m_num_mid
    n = n_cover if length is None else int(length)
    if n < 1:
        raise v.fail("length", length, "must be >= 1")
    k1 = min(n, n_cover)
    y = sft.istft(X, k1=k1, f_axis=-2, t_axis=-1)
    if y.shape[-1] < n:
        y = np.concatenate([y, np.zeros((*y.shape[:-1], n - y.shape[-1]))], axis=-1)
    return y


def stft_frequencies(fs: float, nfft: int = 512) -> np.ndarray:
    """The ``F = nfft // 2 + 1`` bin frequencies in Hz."""
    return stft_transform(fs, nfft=nfft).f


def frame_times(fs: float, n_frames: int, *, nfft: int = 512, hop: int | None = None) -> np.ndarray:
    """Centre time in seconds of each of `n_frames` frames (frame ``t`` of :func:`stft`)."""
    sft = stft_transform(fs, nfft=nfft, hop=hop)
    return sft.t(n_frames * sft.hop)[:n_frames] if n_frames else np.zeros(0)
