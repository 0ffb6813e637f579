"""Band statistics: what a DOA map reads, computed once per search and never changed.

Shapes: ``M`` microphones, ``F`` band frequencies, ``T`` frames.

A search reads one of three statistics of the band's STFT bins (a method declares
which: :attr:`arraykit.doa.registry.DOAMethod.needs`):

- ``"phat"``: the frame-averaged PHAT-whitened cross-spectra ``(F, M, M)``
  (:func:`arraykit.doa.srp.phat_cross_spectra`; from a covariance alone its
  element-wise normalisation, :func:`arraykit.doa.srp.phat_covariance`);
- ``"covariance"``: the spatial covariance ``X X^H / T`` ``(F, M, M)``;
- ``"frames"``: the band's STFT ``(M, F, T)`` itself.

:func:`from_signals` transforms only the band's bins and, when one statistic is
read, accumulates it chunk by chunk without keeping the frames: the PHAT cross-spectra
in single precision (sums of unit-magnitude phase terms, for which float32's phase
error ~1e-7 rad is ample; the maps agree with the double-precision ones to ~1e-6), the
covariance in double.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from arraykit import _validate as v
from arraykit._channels import dead_channels
from arraykit._clipping import at_rails, flat_runs
from arraykit.doa import confidence as _confidence
from arraykit.doa._cross import cross_spectra_chunks
from arraykit.doa.srp import phat_covariance, phat_cross_spectra
from arraykit.doa.subspace import covariance
from arraykit.stft import near_unit

__all__ = [
    "BandStatistics",
    "clipped_channels",
    "copied_channels",
    "dead_channels",
    "first_heard",
    "from_signals",
    "from_stft",
    "left_out",
    "without",
]


@dataclass(frozen=True, eq=False)
class BandStatistics:
    """The band's statistics a search reads: frames, or a covariance alone.

    From frames ``X`` ``(M, F, T)`` the covariance ``X X^H / T`` and the
    frame-whitened cross-spectra are computed on first use (and kept: the object
    stays immutable in what it answers); from a covariance, the PHAT cross-spectra
    are its element-wise normalisation.
    """

    X: np.ndarray | None = None  # (M, F, T) band STFT
    cov: np.ndarray | None = None  # (F, M, M)
    n_frames: int | None = None  # frames behind the statistics (MDL counting)
    phat_spectra: np.ndarray | None = None  # (F, M, M)
    no_source: str | None = None  # why nothing can be located (silence, an empty band)
    whitened: bool = True  # PHAT of frames (False: of a covariance alone)
    # (M, F, T) the band's frames kept beside an accumulated statistic for counting by
    # time-frequency zones, up to a factor common to the channels of a bin (complex64
    # when accumulated for PHAT)
    zone_frames: np.ndarray | None = None
    dead: tuple[int, ...] = ()  # channels all zero while others are not (a hardware fault)
    # (copy, original): channels bit-identical to an earlier one, left out (zeroed) of X
    copies: tuple[tuple[int, int], ...] = ()
    # channels whose samples sit at their peak in flat runs (clipping), left out (zeroed)
    # when at least CLIP_KEEP others do not clip, else only named
    clipped: tuple[int, ...] = ()
    clipped_out: bool = False

    def __post_init__(self) -> None:
        if self.X is not None and self.n_frames is None:
            object.__setattr__(self, "n_frames", self.X.shape[2])

    def live(self, n_mics: int) -> tuple[int, ...] | None:
        """The channels the search reads (not dead, not a copy, not clipped and left out),
        or None when that is every one, or fewer than two."""
        out = set(self.dead) | set(left_out(self.copies, self.clipped, self.clipped_out))
        live = tuple(m for m in range(n_mics) if m not in out)
        return live if out and len(live) >= 2 else None

    def restricted(self, live: tuple[int, ...]) -> BandStatistics:
        """These statistics of the `live` channels alone (nothing left out among them)."""
        idx = list(live)

        def pairs(C: np.ndarray | None) -> np.ndarray | None:
            return None if C is None else np.ascontiguousarray(C[:, idx][:, :, idx])

        kept = self.__dict__  # what was computed on first use is restricted too
        return BandStatistics(
            X=None if self.X is None else self.X[idx],
            cov=pairs(self.cov if self.cov is not None else kept.get("_covariance")),
            n_frames=self.n_frames,
            phat_spectra=pairs(
                self.phat_spectra if self.phat_spectra is not None else kept.get("_phat")
            ),
            no_source=self.no_source,
            whitened=self.whitened,
            zone_frames=None if self.zone_frames is None else self.zone_frames[idx],
        )

    def covariance(self) -> np.ndarray:
        """``(F, M, M)`` spatial covariance."""
        return self._covariance

    def phat(self) -> np.ndarray:
        """``(F, M, M)`` PHAT cross-spectra."""
        return self._phat

    def tf_frames(self) -> np.ndarray | None:
        """``(M, F, T)`` frames for counting by time-frequency zones (up to a factor
        common to the channels of a bin), or None."""
        return self.X if self.X is not None else self.zone_frames

    def frames(self) -> np.ndarray:
        """``(M, F, T)`` band STFT (methods that need it are not offered without it)."""
        assert self.X is not None, "this method needs frames (locate_cov refuses it)"
        return self.X

    @cached_property
    def _covariance(self) -> np.ndarray:
        if self.cov is not None:
            return self.cov
        assert self.X is not None
        return covariance(self.X)

    @cached_property
    def _phat(self) -> np.ndarray:
        if self.phat_spectra is not None:
            return self.phat_spectra
        if self.X is not None:
            return phat_cross_spectra(self.X)
        assert self.cov is not None
        return phat_covariance(self.cov)


def from_stft(
    given: Any,
    X: np.ndarray,
    band: slice,
    *,
    phat: bool,
    cov: bool,
    frames: bool,
    freq_range: tuple[float, float] = (0.0, 0.0),
) -> BandStatistics:
    """The statistics of an STFT ``(M, F_all, T)``'s `band` bins (frames kept; `given`
    as the caller passed it, for the messages).

    The statistics the search will read (`phat`, `cov`) are computed here, once, and
    checked: NaN or inf coefficients, or a band that is all zero, are refused
    (a method's map of them would be an arbitrary answer). A search that reads only
    the frames checks them with one sum (looking closer only if it is not finite or 0).
    """
    # laid out (F_band, M, T) in memory, the order in which the searches multiply it
    Xb = np.ascontiguousarray(X[:, band, :].transpose(1, 0, 2)).transpose(1, 0, 2)
    dead = dead_channels(X)
    copies = copied_channels(X)
    power = np.abs(X[first_heard(X, dead)]) ** 2  # (F_all, T) the first channel that holds any
    why = _confidence.band_reason(power.sum(0), power[band].sum(0), freq_range)
    stats = BandStatistics(X=without(Xb, left_out(copies)), no_source=why, dead=dead, copies=copies)
    Xb = stats.frames()
    with np.errstate(over="ignore", invalid="ignore"):  # checked below
        read = [stats.phat()] if phat else []
        if cov:
            read.append(stats.covariance())
        if frames or not read:
            read.append(np.atleast_1d(Xb.sum()))
    for stat in read:
        if not (np.isfinite(stat).all() and stat.any()):
            if not np.isfinite(Xb).all():
                raise v.fail("X", given, "holds NaN or inf coefficients in the band")
            if not Xb.any() and why is None:  # (silence or an empty band: an outcome)
                raise v.fail("X", given, "is zero in every bin of the band: nothing to locate")
    return stats


def from_signals(
    signals: Any,
    x: np.ndarray,
    fs: float,
    nfft: int,
    band: slice,
    *,
    phat: bool,
    cov: bool,
    frames: bool,
    zones: bool = False,
    freq_range: tuple[float, float] = (0.0, 0.0),
) -> BandStatistics:
    """The band's statistics of time signals ``x`` ``(M, N)`` (`signals` as given,
    for the messages): the frames when `frames` or both statistics are read, else the
    one statistic accumulated chunk by chunk (and, with `zones`, the chunks kept as
    :attr:`BandStatistics.zone_frames`).

    `x` has not been checked for finite values: every sample reaches the statistic,
    so a NaN, inf, silence or an overflow shows there, and only then are the signals
    looked at closely.
    """
    from arraykit.stft import frame_count, stft_band, stft_transform

    n_mics = x.shape[0]
    sft = stft_transform(fs, nfft=nfft)
    T = frame_count(sft, x.shape[1])
    if not np.any(x):  # silence is an outcome, not a direction
        F = band.stop - band.start
        silence = _confidence.band_reason(np.zeros(1), np.zeros(1), freq_range)
        if frames:
            return BandStatistics(X=np.zeros((n_mics, F, T), complex), no_source=silence)
        zero = np.zeros((F, n_mics, n_mics), np.complex64)
        return BandStatistics(n_frames=T, phat_spectra=zero, no_source=silence)
    dead = dead_channels(x)
    copies = copied_channels(x)
    clipped = clipped_channels(x)
    clipped_out = bool(clipped) and n_mics - len(dead) - len(copies) - len(clipped) >= CLIP_KEEP
    gone = left_out(copies, clipped, clipped_out)  # their rows zeroed
    named = {"dead": dead, "copies": copies, "clipped": clipped, "clipped_out": clipped_out}
    if frames or (phat and cov):
        x = without(_near_one(_checked_signals(signals, n_mics)), gone)
        return BandStatistics(
            X=stft_band(x, sft, band),
            no_source=band_share(x, sft, band, freq_range, dead),
            **named,  # type: ignore[arg-type]
        )
    x = without(_near_one(x), gone)
    kept: list[np.ndarray] | None = [] if zones else None
    stat = _band_statistic(x, sft, band, T, phat=phat, keep=kept)
    if not (stat.any() and np.isfinite(stat).all()):
        # NaN or inf samples (every one reaches the statistic), silence, or samples
        # beyond the range of the precision (overflow): look closer
        x = without(_checked_signals(signals, n_mics), gone)
        kept = [] if zones else None
        stat = _band_statistic(_unit_peak(x), sft, band, T, phat=phat, keep=kept)
    why = band_share(x, sft, band, freq_range, dead)
    Z = None if not kept else np.concatenate(kept, axis=2).transpose(1, 0, 2)  # (M, F, T)
    if phat:
        return BandStatistics(n_frames=T, phat_spectra=stat, no_source=why, zone_frames=Z, **named)  # type: ignore[arg-type]
    return BandStatistics(
        n_frames=T,
        cov=stat,
        no_source=why,
        whitened=False,
        zone_frames=Z,
        **named,  # type: ignore[arg-type]
    )


CLIP_SHARE = 0.01
"""A channel clips when at least this share of its samples sit at its own highest or
lowest value next to another such sample (:mod:`arraykit._clipping`): a flat top, which a
sampled waveform that is not clipped has at most once or twice (a sine's crest samples are
not next to each other). One channel of a 4-mic square or a 6-mic circle 20-40 dB hot, 20-55 %
of its samples clipped, made ``num_sources="auto"`` count 2-4 sources for one talker (the
extra ones at confidence 0.29-0.96; README, "A clipped channel")."""

CLIP_KEEP = 3
"""Clipped channels are left out of the search when at least this many others remain
(three microphones give a direction on a plane); otherwise they are only named."""


def clipped_channels(x: np.ndarray) -> tuple[int, ...]:
    """The channels (rows) of time signals `x` ``(M, N)`` that clip (:data:`CLIP_SHARE`):
    a microphone too hot for its converter, whose flat tops add a broadband distortion the
    other channels do not share. Each rail is read on its own (the flat runs at the
    channel's highest sample and at its lowest, counted together), so a channel that clips
    on one side only (an offset or an asymmetric stage: its other side's peak lies beyond
    the clip level) is found as one clipped on both is. Read on every ``N / 1024``-th
    sample first (a flat top that holds 1 % of the samples shows there about 10 times;
    about 50 us on 1.25 s of six channels, 28 us on a 56 ms block), then on the whole
    rows of those that look clipped."""
    N = x.shape[1]
    if N < 2:
        return ()
    probe = x[:, :: max(1, N // 1024)]
    up, down = at_rails(probe)
    near = np.count_nonzero(up, axis=-1) + np.count_nonzero(down, axis=-1)
    found = []
    for m in np.flatnonzero(near >= 0.5 * CLIP_SHARE * probe.shape[1]):
        if sum(flat_runs(x[m])) >= CLIP_SHARE * N:
            found.append(int(m))
    return tuple(found)


COPY_RTOL = 1e-5
"""Relative tolerance of a covariance's copies (single-precision rounding; two real
microphones differ by their sensor noise, far more)."""


def copied_channels(x: np.ndarray, *, cov: bool = False) -> tuple[tuple[int, int], ...]:
    """``(copy, original)`` for each channel (row) of `x` ``(M, ...)`` that is bit-identical
    to an earlier one and not all zero: a channel map that lists a channel twice, or a
    wiring fault. Two distinct microphones never record the same samples (their sensor
    noise alone differs), and a copy pulls a map toward directions where the pair's delay
    is zero: 90 degrees at confidence 0.97 for a talker at 40 on a 4-mic square. With
    `cov`, `x` is a covariance ``(F, M, M)``: channels ``i`` and ``j`` are copies when their
    powers and their entries with every other channel agree within :data:`COPY_RTOL` (a
    covariance's rows of copies differ by the rounding of its products: a live forgetting
    covariance of six copies split them 4 + 2 bit for bit). ``()`` when
    fewer than two distinct channels hold anything (every channel one signal is
    :func:`arraykit.doa.confidence.in_phase_reason`'s to answer)."""
    if cov:
        M = x.shape[1]
        power = np.einsum("fmm->mf", x)  # (M, F)
        heard = [m for m in range(M) if power[m].any()]

        def same(i: int, j: int) -> bool:
            rest = [k for k in range(M) if k not in (i, j)]
            return bool(
                np.allclose(power[i], power[j], rtol=COPY_RTOL, atol=0.0)
                and np.allclose(x[:, i, rest], x[:, j, rest], rtol=COPY_RTOL, atol=0.0)
            )
    else:
        rows = x.reshape(x.shape[0], -1)
        heard = [m for m in range(rows.shape[0]) if rows[m].any()]
        probe = rows[:, :: max(1, rows.shape[1] // 64)]  # a quick look, then the whole rows

        def same(i: int, j: int) -> bool:
            return np.array_equal(probe[i], probe[j]) and np.array_equal(rows[i], rows[j])

    if len(heard) < 3:
        return ()
    found: list[tuple[int, int]] = []
    for k, i in enumerate(heard):
        copies = {c for c, _ in found}
        original = next((j for j in heard[:k] if j not in copies and same(i, j)), None)
        if original is not None:
            found.append((i, original))
    if len(heard) - len(found) < 2:
        return ()
    return tuple(found)


def left_out(
    copies: tuple[tuple[int, int], ...],
    clipped: tuple[int, ...] = (),
    clipped_out: bool = False,
) -> tuple[int, ...]:
    """The channels a search does not read though they hold something: each copy, and the
    clipped ones when they are left out (:data:`CLIP_KEEP`)."""
    out = {c for c, _ in copies} | (set(clipped) if clipped_out else set())
    return tuple(sorted(out))


def without(x: np.ndarray, rows: tuple[int, ...]) -> np.ndarray:
    """`x` ``(M, ...)`` with these rows set to zero (a copy of the input), so that the
    searches read the other channels' pairs alone (:func:`left_out`); `x` itself when
    there is none."""
    if not rows:
        return x
    out = np.array(x, copy=True)
    out[list(rows)] = 0
    return out


def first_heard(x: np.ndarray, dead: tuple[int, ...]) -> int:
    """The first channel of `x` that is not among the `dead` ones (0 when none is)."""
    return next(m for m in range(x.shape[0]) if m not in dead)


def band_share(
    x: np.ndarray,
    sft: Any,
    band: slice,
    freq_range: tuple[float, float],
    dead: tuple[int, ...] = (),
) -> str | None:
    """Why the band holds nothing to locate (None: it holds enough;
    :func:`arraykit.doa.confidence.band_reason`), from the spectra of the first channel
    not among the `dead` ones in Hann-windowed frames of ``nfft`` that do not overlap (a
    quick look: half the frames of the search's STFT)."""
    nfft = 2 * (sft.f_pts - 1)
    x0 = _unit_peak(x[first_heard(x, dead)])
    T = x0.shape[0] // nfft
    if T < 1:
        return None
    frames = x0[: T * nfft].reshape(T, nfft) * np.hanning(nfft + 1)[:-1]
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (T, F_all)
    return _confidence.band_reason(power.sum(1), power[:, band].sum(1), freq_range)


def _near_one(x: np.ndarray) -> np.ndarray:
    """`x` scaled to a peak of 1 when its level (from a few thousand samples) lies beyond
    2**±60, else `x` itself: float32 spans 1e-38..3e38, and a covariance's squares of
    1e-155 are subnormal (neither PHAT nor the subspace methods see an overall scale)."""
    return near_unit(x, float(np.abs(x[:, :: max(1, x.shape[1] // 2048)]).max()))


def _unit_peak(x: np.ndarray) -> np.ndarray:
    """`x` scaled to a peak of 1 (neither PHAT nor the subspace methods see an overall
    scale); as it is if its peak is 0 or not finite (the checks will say why)."""
    peak = float(np.abs(x).max())
    return x / peak if 0 < peak < np.inf else x


def _checked_signals(signals: Any, n_mics: int) -> np.ndarray:
    """The signals, finite, not all zero."""
    x = v.signals("signals", signals, n_mics)
    if not np.any(x):
        raise v.fail("signals", signals, "are all zero (silence): nothing to locate")
    return x


def _band_statistic(
    x: np.ndarray,
    sft: Any,
    band: slice,
    n_frames: int,
    *,
    phat: bool,
    keep: list[np.ndarray] | None = None,
) -> np.ndarray:
    """The band's PHAT cross-spectra (single precision) or covariance (double),
    accumulated chunk by chunk; each chunk ``(F, M, T_chunk)`` appended to `keep` when
    given."""
    from arraykit.stft import stft_band_chunks

    dtype = np.float32 if phat else np.float64
    # PHAT does not see a factor common to the channels of a bin; a covariance keeps it
    chunks = stft_band_chunks(x, sft, band, dtype=dtype, scaled=not phat)

    def kept() -> Iterator[np.ndarray]:
        for _, X in chunks:
            if keep is not None:
                keep.append(X)
            yield X

    with np.errstate(over="ignore", invalid="ignore"):  # the caller checks the result
        return cross_spectra_chunks(kept(), n_frames, phat=phat)
