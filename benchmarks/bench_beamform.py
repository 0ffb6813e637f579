"""Beamforming speed: batched weights and patterns vs a per-bin loop and pyroomacoustics.

Run: ``.venv/bin/python benchmarks/bench_beamform.py``. Prints markdown tables.
Each timing is the minimum over several repeats (the machine is shared), on
identical inputs for every implementation.

1. Weights for 257 bins x 16 microphones (UMA-16): MVDR batched (one ``solve`` over
   all bins) vs a per-bin loop with explicit inverses; delay-and-sum vs
   pyroomacoustics ``Beamformer.far_field_weights`` (the same far-field weights up
   to the 1/M scale and pyroomacoustics' causal phase reference).
2. Patterns: 360 x 91 directions x 257 bins in one chunked pass vs a per-bin loop;
   the azimuth-only cut (360 directions, the part pyroomacoustics can do) vs
   ``Beamformer.response`` called per bin.
3. Streaming: recursive covariance update + MPDR weights + apply per block of STFT
   frames, 16 microphones at 48 kHz; real-time factor = processing time / audio time.
"""

from __future__ import annotations

import time

import numpy as np

import arraykit as ak
from arraykit.beamform import (
    RecursiveCovariance,
    apply_weights,
    delay_and_sum,
    gev_weights,
    mpdr,
    mvdr_weights,
    pattern,
    steering_vector,
)
from arraykit.beamform.weights import _mvdr_weights_loop


def best(fn, repeat=7, number=1):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            out = fn()
        times.append((time.perf_counter() - t0) / number)
    return min(times), out


def row(name, ours, other, other_name):
    return f"| {name} | {ours * 1e3:.2f} ms | {other * 1e3:.2f} ms ({other_name}) | {other / ours:.1f}x |"


def gev_per_bin(Rx, Rn):
    """GEV + blind analytic normalisation bin by bin, as pb_bss / nn-gev write it."""
    import scipy.linalg

    M = Rn.shape[-1]
    w = np.empty(Rx.shape[:2], dtype=complex)
    for f in range(Rx.shape[0]):
        _, vecs = scipy.linalg.eigh(Rx[f], Rn[f])
        v = vecs[:, -1]
        num = np.sqrt(np.abs(v.conj() @ Rn[f] @ Rn[f] @ v) / M)
        w[f] = v * num / np.abs(v.conj() @ Rn[f] @ v)
    return w


def pattern_per_bin(w, g, freqs, dirs):
    """Straightforward per-bin loop: steering for all directions, then w^H a, bin by bin."""
    out = np.empty((len(freqs), len(dirs)), dtype=complex)
    for i, f in enumerate(freqs):
        a = steering_vector(g, [f], dirs)[0]  # (G, M)
        out[i] = a @ w[i].conj()
    return out


def main() -> None:
    import pyroomacoustics as pra

    fs, nfft = 16000, 512
    g = ak.load_geometry("uma-16")
    M = g.n_mics
    freqs = np.fft.rfftfreq(nfft, 1 / fs)  # 257 bins
    rng = np.random.default_rng(0)
    A = rng.standard_normal((257, M, 3 * M)) + 1j * rng.standard_normal((257, M, 3 * M))
    R = A @ A.conj().transpose(0, 2, 1) / (3 * M)
    a = steering_vector(g, freqs, (30, 0))[:, 0, :]

    lines = [
        "| task (257 bins x 16 mics) | arraykit (vectorized) | other | speed-up |",
        "|---|---|---|---|",
    ]
    t_ours, w1 = best(lambda: mvdr_weights(a, R))
    t_loop, w2 = best(lambda: _mvdr_weights_loop(a, R))
    assert np.allclose(w1, w2, rtol=1e-8)
    lines.append(row("MVDR weights", t_ours, t_loop, "per-bin loop, inverses"))

    Rx = R + 4.0 * a[:, :, None] * a[:, None, :].conj()  # the noise plus a rank-one target
    t_ours, g1 = best(lambda: gev_weights(Rx, R))
    t_loop, g2 = best(lambda: gev_per_bin(Rx, R))
    assert np.allclose(np.abs(g1), np.abs(g2), rtol=1e-6)  # equal up to each bin's phase
    lines.append(row("GEV + BAN weights", t_ours, t_loop, "per-bin scipy eigh loop, as pb_bss"))

    bf = pra.Beamformer(g.positions[:, :2].T, fs, N=nfft)
    t_ours, w_das = best(lambda: delay_and_sum(g, (30, 0), freqs), number=10)
    t_pra, _ = best(lambda: bf.far_field_weights(np.radians(30.0)), number=10)
    # same weights up to 1/M and a per-bin phase (pyroomacoustics refers to the first arrival)
    w_pra = bf.weights.T / M
    ratio = w_pra / w_das
    assert np.allclose(np.abs(ratio), 1.0) and np.allclose(ratio, ratio[:, :1], atol=1e-9)
    lines.append(row("DAS far-field weights", t_ours, t_pra, "pyroomacoustics far_field_weights"))

    az = np.arange(0.0, 360.0, 1.0)
    el = np.arange(-45.0, 46.0, 1.0)
    grid = np.stack(np.meshgrid(az, el), -1).reshape(-1, 2)  # 360 x 91
    t_ours, B1 = best(lambda: pattern(w_das, g, freqs, grid), repeat=3)
    t_loop, B2 = best(lambda: pattern_per_bin(w_das, g, freqs, grid), repeat=3)
    assert np.allclose(B1, B2, atol=1e-10)
    lines.append(row("pattern 360 x 91 dirs", t_ours, t_loop, "per-bin loop"))

    cut = np.stack([az, np.zeros_like(az)], 1)
    bf.far_field_weights(np.radians(30.0))
    phi = np.radians(az)

    def pra_response():
        return np.stack([bf.response(phi, f)[1] for f in freqs])

    t_ours, Bc = best(lambda: pattern(w_das, g, freqs, cut), repeat=5)
    t_pra, Bp = best(pra_response, repeat=5)
    # pyroomacoustics evaluates the steering at a finite "far-field" distance: close, not equal
    err = np.max(np.abs(np.abs(Bp) / M - np.abs(Bc)))
    lines.append(row("pattern 360 azimuths", t_ours, t_pra, "pyroomacoustics response per bin"))
    print("\n".join(lines))
    print(f"\n(max |pattern| difference to pyroomacoustics' response, normalised: {err:.1e})")

    # streaming: 16 mics, 48 kHz, nfft 1024, hop 512, blocks of 8 frames (85 ms)
    fs_s, nfft_s, hop_s, block = 48000, 1024, 512, 8
    f_s = np.fft.rfftfreq(nfft_s, 1 / fs_s)
    x = rng.standard_normal((M, fs_s * 2))
    X = ak.stft.stft(x, fs_s, nfft=nfft_s, hop=hop_s)
    blocks = [X[:, :, t : t + block] for t in range(0, X.shape[2] - block + 1, block)]

    def stream():
        rc = RecursiveCovariance(len(f_s), M, alpha=0.98)
        for Xb in blocks:
            Rb = rc.update(Xb)
            w = mpdr(g, (30, 0), f_s, Rb, loading=1e-2, loading_mode="trace")
            apply_weights(w, Xb)

    t_stream, _ = best(stream, repeat=3)
    audio = len(blocks) * block * hop_s / fs_s
    print(
        "\n| streaming (16 mics, 48 kHz, nfft 1024, 8-frame blocks) | per block | real-time factor |"
    )
    print("|---|---|---|")
    print(
        f"| covariance update + MPDR weights + apply | {t_stream / len(blocks) * 1e3:.1f} ms "
        f"for {block * hop_s / fs_s * 1e3:.0f} ms of audio | {t_stream / audio:.3f} |"
    )


if __name__ == "__main__":
    main()
