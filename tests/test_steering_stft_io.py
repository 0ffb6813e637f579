"""The ground layers: steering vectors, the STFT and its exact inverse, audio files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import arraykit as ak
from arraykit.io import read_audio, write_audio
from arraykit.steering import near_field_delays, steering_vector, steering_vector_near
from arraykit.stft import istft, stft, stft_frequencies

C = 343.0


def test_far_field_steering_matches_delays_and_sign_convention() -> None:
    g = ak.ArrayGeometry.linear(2, 0.1)
    a = steering_vector(g, [1000.0], (0, 0))[0, 0]
    # source on +x reaches mic 1 (x = +0.05) first: tau = -0.05 / c, phase exp(+2j pi f 0.05 / c)
    np.testing.assert_allclose(a, np.exp(-2j * np.pi * 1000.0 * np.array([0.05, -0.05]) / C))
    # a delayed copy of a plane wave, as the STFT sees it, matches the steering vector
    fs, n = 16000, 4096
    rng = np.random.default_rng(0)
    s = rng.standard_normal(n)
    tau = g.delays((30, 0))[0]
    S = np.fft.rfft(s)
    f = np.fft.rfftfreq(n, 1 / fs)
    X = S[None, :] * np.exp(-2j * np.pi * f[None, :] * tau[:, None])
    ratio = X / S[None, :]
    np.testing.assert_allclose(ratio.T, steering_vector(g, f, (30, 0))[:, 0, :], atol=1e-9)


def test_near_field_tends_to_far_field() -> None:
    g = ak.ArrayGeometry.circular(6, 0.05)
    freqs = np.array([500.0, 2000.0])
    far = steering_vector(g, freqs, (40, 10))
    u = ak.geometry.unit_vectors([(40, 10)])[0]
    near = steering_vector_near(g, freqs, 2000.0 * u)
    np.testing.assert_allclose(near, far, atol=2e-4)
    # 1/r amplitude: the nearer microphone is louder
    tau, gain = near_field_delays(g, 0.2 * u)
    nearest = np.argmin(np.linalg.norm(g.positions - 0.2 * u, axis=1))
    assert np.argmax(gain[0]) == nearest
    assert np.argmin(tau[0]) == nearest


def test_steering_bad_input() -> None:
    g = ak.ArrayGeometry.linear(3, 0.05)
    with pytest.raises(ValueError, match=r"freqs=.*>= 0 Hz"):
        steering_vector(g, [-1.0], (0, 0))
    with pytest.raises(ValueError, match=r"directions=.*elevation must lie in \[-90, 90\]"):
        steering_vector(g, [100.0], (0, 95))
    with pytest.raises(ValueError, match=r"points=.*sits on microphone 1"):
        steering_vector_near(g, [100.0], (0.0, 0.0, 0.0))
    # new-user pass: 1e300 degrees steered somewhere (1e300 mod 360 is any angle at all)
    with pytest.raises(ValueError, match=r"directions=.*azimuth beyond 1e\+06 degrees"):
        steering_vector(g, [100.0], (1e300, 0))
    np.testing.assert_allclose(  # 999800 = 2777 turns + 80 degrees: still 80, to 1e-9
        steering_vector(g, [100.0], (999_800.0, 0)), steering_vector(g, [100.0], (80.0, 0)),
        atol=1e-9,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("nfft", "hop", "window"), [(512, None, "hann"), (256, 64, "hann"), (400, 100, "hamming")]
)
def test_stft_perfect_reconstruction(nfft: int, hop: int | None, window: str) -> None:
    x = np.random.default_rng(1).standard_normal((3, 7001))
    X = stft(x, 16000, nfft=nfft, hop=hop, window=window)
    assert X.shape[:2] == (3, nfft // 2 + 1)
    np.testing.assert_allclose(
        istft(X, 16000, nfft=nfft, hop=hop, window=window, length=7001), x, atol=1e-12
    )


def test_stft_tone_lands_in_its_bin() -> None:
    fs = 16000
    f = stft_frequencies(fs, 512)
    t = np.arange(fs) / fs
    X = stft(np.sin(2 * np.pi * f[40] * t), fs, nfft=512)
    assert np.argmax(np.abs(X).mean(axis=-1)) == 40


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"signals": np.zeros((2, 100))}, r"signals=.*fewer than nfft=512"),
        ({"signals": np.full((2, 1000), np.nan)}, r"signals=.*NaN"),
        ({"signals": np.zeros((2, 1000)), "fs": 0}, r"fs=0: must be a finite number > 0"),
        ({"signals": np.zeros((2, 1000)), "hop": 0}, r"hop=0: must be an integer in 1\.\.nfft=512"),
        ({"signals": np.zeros((2, 1000)), "window": "nope"}, r"window='nope'"),
    ],
)
def test_stft_bad_input(kwargs: dict, match: str) -> None:
    kwargs = {"fs": 16000, **kwargs}
    with pytest.raises(ValueError, match=match):
        stft(kwargs.pop("signals"), kwargs.pop("fs"), **kwargs)


def test_audio_round_trip_and_channel_check(tmp_path: Path) -> None:
    x = np.random.default_rng(2).uniform(-0.5, 0.5, (4, 1600))
    p = write_audio(tmp_path / "a.wav", x, 16000)
    y, fs = read_audio(p)
    assert fs == 16000
    np.testing.assert_allclose(y, x.astype(np.float32), atol=0)
    y2, _ = read_audio(p, channels=[3, 0])
    np.testing.assert_array_equal(y2, y[[3, 0]])
    with pytest.raises(ValueError, match=r"has 4 channels but the geometry has 6 microphones"):
        read_audio(p, n_mics=6)
    with pytest.raises(ValueError, match=r"channels=\[5\]: must be channel indices in 0\.\.3"):
        read_audio(p, channels=[5])
    with pytest.raises(ValueError, match=r"no such file"):
        read_audio(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"not audio")
    with pytest.raises(ValueError, match=r"cannot be read as audio"):
        read_audio(tmp_path / "junk.wav")


@pytest.mark.parametrize(
    ("nfft", "hop", "n", "window"),
    [
        (512, None, 32000, "hann"),
        (256, 64, 7001, "hann"),
        (400, 100, 5003, "hamming"),
        (512, 512, 4096, "hann"),
        (64, 48, 1000, "blackman"),
    ],
)
def test_batched_stft_equals_scipy_shorttimefft(
    nfft: int, hop: int | None, n: int, window: str
) -> None:
    """The one-FFT framing gives exactly scipy's frames, bins and phase reference."""
    from arraykit.stft import stft_transform

    x = np.random.default_rng(n).standard_normal((3, n))
    reference = stft_transform(16000, nfft=nfft, hop=hop, window=window).stft(x, axis=-1)
    fast = stft(x, 16000, nfft=nfft, hop=hop, window=window)
    assert fast.shape == reference.shape
    np.testing.assert_allclose(fast, reference, rtol=0, atol=1e-10)


@pytest.mark.parametrize(("nfft", "hop"), [(256, None), (512, 128), (64, 48)])
def test_streaming_stft_gives_the_unpadded_frames_of_stft(nfft: int, hop: int | None) -> None:
    """Blocks of any size (shorter than a frame too) give each whole frame exactly once."""
    from arraykit.stft import StreamingSTFT, stft_transform

    x = np.random.default_rng(nfft).standard_normal((3, 5000))
    cuts = 10 + np.cumsum(np.r_[0, np.random.default_rng(1).integers(1, 700, 40)])
    cuts = cuts[cuts < x.shape[1]]
    s = StreamingSTFT(16000, 3, nfft=nfft, hop=hop)
    out = [s.push(b) for b in np.split(x, cuts, axis=1)]
    assert any(o.shape[2] == 0 for o in out)  # some blocks complete no frame
    X = np.concatenate(out, axis=2)
    sft = stft_transform(16000, nfft=nfft, hop=hop)
    # stream frame k starts at k * hop; stft frame t starts at (p_min + t) * hop - m_num_mid
    h = sft.hop
    offset = sft.m_num_mid // h - sft.p_min
    assert X.shape[2] == (x.shape[1] - nfft) // h + 1
    if sft.m_num_mid % h == 0:
        ref = stft(x, 16000, nfft=nfft, hop=hop)[:, :, offset : offset + X.shape[2]]
        np.testing.assert_allclose(X, ref, rtol=0, atol=1e-10)
    else:  # frame starts fall between stft's: compare one frame's FFT directly
        k = 7
        seg = x[:, k * h : k * h + nfft] * sft.win
        direct = np.fft.rfft(seg, axis=1) * np.exp(
            2j * np.pi * np.arange(nfft // 2 + 1) * sft.m_num_mid / nfft
        )
        np.testing.assert_allclose(X[:, :, k], direct, rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match=r"block.*3 rows"):
        s.push(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="n_channels"):
        StreamingSTFT(16000, 0)


@pytest.mark.parametrize(
    ("nfft", "hop", "n", "window", "band"),
    [
        (512, None, 32000, "hann", (10, 113)),  # many chunks; the DOA default band
        (256, 64, 7001, "hann", (1, 128)),  # widest band the 3-tap filter allows
        (500, None, 5003, "hann", (3, 4)),  # one bin, even nfft not a power of 2
        (511, None, 6000, "hann", (5, 200)),  # odd nfft: the centre phase is complex
        (512, 200, 9000, "hann", (0, 40)),  # touches bin 0: windowed path
        (400, 100, 5003, "hamming", (20, 90)),  # not Hann: windowed path
    ],
)
def test_band_stft_equals_the_band_of_stft(
    nfft: int, hop: int | None, n: int, window: str, band: tuple[int, int]
) -> None:
    """Only a band's bins, with Hann applied as a 3-tap filter in frequency, in chunks
    of frames: the same numbers as the full STFT's band, in double and single
    precision; unscaled, off by one factor per bin shared by every channel."""
    from arraykit.stft import stft_band, stft_band_chunks, stft_transform

    x = np.random.default_rng(n).standard_normal((4, n))
    sft = stft_transform(16000, nfft=nfft, hop=hop, window=window)
    bins = slice(*band)
    ref = stft(x, 16000, nfft=nfft, hop=hop, window=window)[:, bins]
    fast = stft_band(x, sft, bins)
    assert fast.shape == ref.shape
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    chunks = list(stft_band_chunks(x, sft, bins, dtype=np.float32))
    assert all(X.dtype == np.complex64 for _, X in chunks)
    single = np.concatenate([X for _, X in chunks], axis=2).transpose(1, 0, 2)
    np.testing.assert_allclose(single, ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    raw = np.concatenate([X for _, X in stft_band_chunks(x, sft, bins, scaled=False)], axis=2)
    factor = raw.transpose(1, 0, 2) / ref  # (M, F, T): one number per bin
    np.testing.assert_allclose(factor, factor[:1, :, :1] * np.ones_like(factor), rtol=1e-8)
    if n == 32000:
        assert len(chunks) >= 2  # the chunking is exercised
