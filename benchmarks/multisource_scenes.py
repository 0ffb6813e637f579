"""Seeded multi-talker scenes for ``bench_multisource.py`` (and a cache of them).

Each room renders three speech-like talkers at random azimuths at least 25 degrees apart
(a linear array's talkers in its half-plane, also 25 degrees from each other's mirror);
their separate images give the K = 1, 2 and 3 scenes of that room (talkers 0, 0+1, 0+1+2),
with white sensor noise added at the scene's SNR relative to the mixture.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import arraykit as ak
from arraykit.doa.grids import angular_distance
from arraykit.sim import Source, diffuse_noise, simulate, speech_like

FS = 16000
ARRAYS = {
    "square 4 (45.7 mm)": ak.load_geometry("respeaker-usb-4mic"),
    "circle 6 (46 mm)": ak.load_geometry("respeaker-6mic"),
    "line 4 (40 mm)": ak.ArrayGeometry.linear(4, 0.04),
    "rect 4×4 (42 mm)": ak.ArrayGeometry.rectangular(4, 4, 0.042),
}
SETS = {"mixed": None, "rt03": (0.3, 20.0)}  # mixed: RT60 0.2-0.6 s, SNR 10-30 dB


def _azimuths(rng: np.random.Generator, g: ak.ArrayGeometry, k: int) -> np.ndarray:
    """K azimuths pairwise at least 25 degrees apart (a line's: in 15..165, so that
    each is also at least 30 degrees from the others' mirrors)."""
    while True:
        az = rng.uniform(15, 165, size=k) if g.layout == "linear" else rng.uniform(0, 360, size=k)
        d = angular_distance(
            np.stack([az, np.zeros(k)], 1)[:, None], np.stack([az, np.zeros(k)], 1)[None]
        )
        if np.all(d[~np.eye(k, dtype=bool)] >= 25):
            return az


def room(aname: str, set_name: str, i: int, cache: Path | None = None) -> dict:
    """Room `i` of a set: images (3, M, N), directions (3, 2), rt60, snr."""
    path = None if cache is None else cache / f"{aname.split()[0]}-{set_name}-{i}.npz"
    if path is not None and path.is_file():
        z = np.load(path)
        return {k: z[k] for k in z.files}
    g = ARRAYS[aname]
    seed = 7919 * (list(ARRAYS).index(aname) + 1) + 104729 * (list(SETS).index(set_name) + 1) + i
    rng = np.random.default_rng(seed)
    az = _azimuths(rng, g, 3)
    if SETS[set_name] is None:
        rt60, snr = float(rng.uniform(0.2, 0.6)), float(rng.uniform(10, 30))
    else:
        rt60, snr = SETS[set_name]
    srcs = [
        Source(speech_like(1.0, FS, seed=int(seed % 100000) * 3 + j), azimuth=float(a),
               distance=float(rng.uniform(1.0, 2.0)))
        for j, a in enumerate(az)
    ]  # fmt: skip
    sc = simulate(g, srcs, FS, rt60=rt60, seed=seed)
    out = {
        "images": sc.images[:, :, : FS + 4000].astype(np.float32),
        "directions": sc.directions,
        "rt60": np.float64(rt60),
        "snr": np.float64(snr),
        "seed": np.int64(seed),
    }
    if path is not None:
        np.savez(path, **out)
    return out


def mixture(r: dict, k: int) -> np.ndarray:
    """The K-talker scene of a room, with white noise at the room's SNR."""
    clean = r["images"][:k].sum(0).astype(np.float64)
    rng = np.random.default_rng(int(r["seed"]) + 17 * k)
    n = rng.standard_normal(clean.shape)
    return clean + n * np.sqrt(np.mean(clean**2) / 10 ** (float(r["snr"]) / 10))


def noise_only(g: ak.ArrayGeometry, i: int, n: int = FS + 4000) -> tuple[str, np.ndarray]:
    """Noise-only scenes: white sensor noise, a diffuse field, or diffuse + white."""
    kind = ("white", "diffuse", "diffuse+white")[i % 3]
    rng = np.random.default_rng(31337 + i)
    if kind == "white":
        return kind, rng.standard_normal((g.n_mics, n))
    d = diffuse_noise(g, n, FS, seed=i)
    if kind == "diffuse":
        return kind, d
    return kind, d + 0.3 * np.std(d) * rng.standard_normal(d.shape)


if __name__ == "__main__":
    import sys

    cache = Path(sys.argv[1])
    cache.mkdir(parents=True, exist_ok=True)
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    for i in range(n):
        for aname in ARRAYS:
            for s in SETS:
                room(aname, s, i, cache)
        print(i, flush=True)
