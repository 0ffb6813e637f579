"""``arraykit demo``: the main job `make demo` runs.

The whole pipeline on an embedded default that needs no files and no hardware:

1. a simulated room (6 × 5 × 3 m, RT60 0.3 s) with two talkers and sensor noise is
   captured through the hardware interface from a simulated ReSpeaker USB 4-mic array
   (``ak.hardware.open("sim:respeaker-usb-4mic", scene=...)``: the 6-channel firmware
   with the microphones on channels 1–4);
2. every DOA method estimates both directions: true against estimated directions,
   the error and the time per method, and a picture of the spatial spectra;
3. every registered beamformer (``ak.beamform.design_names()``) is steered at talker 1
   (SRP-PHAT's estimate) and scored: SNR and SI-SDR gain over the reference
   microphone. Talker 2 starts first, so the first 0.3 s hold only the interferer and
   the noise: MVDR (and GEV) take the noise covariance there, MPDR the whole mixture;
4. MPDR toward the true direction against the estimated one, beside the loss
   ``ak.diagnostics.steering_loss`` predicts for that steering error.
"""

from __future__ import annotations

import argparse
import itertools
import time
from typing import Any, cast

import numpy as np

DEFAULT_PLOT = "arraykit-demo-doa.png"
DEVICE = "sim:respeaker-usb-4mic"
FS = 16000
RT60 = 0.3
SNR_DB = 20.0
# azimuth (°), distance (m), start (s), length (s): talker 2 (the interferer) starts first
TALKERS = ((62.5, 1.3, 0.4, 2.0), (208.3, 1.6, 0.0, 2.4))
NOISE_ONLY = (0.0, 0.3)  # s: only talker 2 and sensor noise
LOSS_FREQS = (1000.0, 2000.0, 4000.0)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the demonstration (what `make demo` does)",
        description=(
            "Two talkers and noise in a simulated room, captured from a simulated ReSpeaker "
            "USB 4-mic array: true against estimated directions for every DOA method, a "
            "picture of the maps, and the SNR / SI-SDR gain of every beamformer."
        ),
    )
    p.add_argument(
        "--plot",
        default=DEFAULT_PLOT,
        metavar="PNG",
        help=f"where to write the picture (default ./{DEFAULT_PLOT})",
    )
    p.add_argument("--no-plot", action="store_true", help="do not draw the picture")
    p.add_argument("--seed", type=int, default=0, help="signal and noise seed (default 0)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from arraykit import hardware
    from arraykit.cli._inputs import check_figure_output, save_figure
    from arraykit.doa.grids import angular_distance
    from arraykit.errors import DeviceError

    if args.seed < 0:  # numpy's SeedSequence said only "expected non-negative integer"
        from arraykit import _validate as v

        raise v.fail("--seed", args.seed, "must be an integer >= 0")
    if not args.no_plot:
        check_figure_output(args.plot, "--plot")

    # ------------------------------------------------------------ 1. scene and capture
    profile = hardware.load_profile(DEVICE[4:])
    g = profile.geometry
    scene = _scene(g, args.seed)
    seconds = scene.signals.shape[1] / FS
    with hardware.open(DEVICE, scene=scene, loop=False) as dev:
        x = dev.record(seconds).astype(np.float64)
        geometry = dev.geometry
        lost = dev.lost_frames
        channels = dev.channels
        cmap = dev.channel_map
        name = dev.name
    # The device scales to full scale and delivers float32: find its gain, and check that
    # its rows are the microphones in geometry order (channel map applied).
    gain = float(np.vdot(scene.signals, x) / np.vdot(scene.signals, scene.signals))
    if not np.allclose(x, gain * scene.signals, rtol=0, atol=1e-5 * np.max(np.abs(x))):
        raise DeviceError(f"{DEVICE}: the captured rows are not the microphones in geometry order")
    print(f"Captured through ak.hardware.open({DEVICE!r}): {name}")
    print(
        f"  {seconds:.2f} s at {dev.fs} Hz, {channels} channels, microphones on "
        f"{_channels(cmap)} in geometry order, {lost} frames lost"
    )
    print(
        f"Room 6 × 5 × 3 m, RT60 {RT60:g} s, sensor SNR {SNR_DB:g} dB; array "
        f"'{geometry.name}', {geometry.n_mics} mics, aperture {geometry.aperture * 1000:.0f} mm"
    )
    truth = scene.directions
    print(
        "true talkers: "
        + ", ".join(
            f"{k + 1}: azimuth {a:.1f}° at {d:.1f} m from {t0:.1f} s"
            for k, ((a, _), d, (_, _, t0, _)) in enumerate(
                zip(truth, scene.distances, TALKERS, strict=True)
            )
        )
        + "\n"
    )

    # ------------------------------------------------------------ 2. localisation
    results = _localize(x, geometry, truth, angular_distance)
    srp = results["srp-phat"].directions
    look = min(srp, key=lambda d: float(angular_distance(d, truth[0])))  # talker 1's estimate
    other = max(srp, key=lambda d: float(angular_distance(d, truth[0])))
    err = float(angular_distance(look, truth[0]))

    # ------------------------------------------------------------ 3. beamforming
    _beamform(x, scene, gain, geometry, look, other, truth, err)

    # ------------------------------------------------------------ picture
    if not args.no_plot:
        try:
            from arraykit.plot.doa import plot_doa_spectra

            fig = plot_doa_spectra(
                results,
                truth=truth,
                title=f"Two talkers, RT60 {RT60:g} s, {geometry.name}: spatial spectra "
                "(× estimate, ○ truth)",
            )
        except ImportError as exc:  # matplotlib missing
            print(f"\n(no picture: {exc})")
            return 0
        save_figure(fig, args.plot, dpi=110, bbox_inches="tight")
        print(f"\npicture of the maps written to {args.plot}")
    return 0


def _scene(g, seed: int):
    """Two speech-like talkers (talker 2 first) around `g`, RT60 0.3 s, sensor noise."""
    from arraykit.sim import Source, simulate, speech_like

    sources = []
    for k, (az, dist, start, length) in enumerate(TALKERS):
        dry = speech_like(length, FS, seed=seed + 1 + k)
        dry = np.concatenate([np.zeros(round(start * FS)), dry])
        sources.append(Source(dry, azimuth=az, distance=dist))
    return simulate(g, sources, FS, rt60=RT60, snr_db=SNR_DB, seed=seed)


def _localize(x, g, truth, dist) -> dict:
    from arraykit.doa import METHODS, locate, registry

    header = (
        f"{'DOA method':10s} {'estimates (azimuth °)':>22s} {'errors (°)':>12s} {'time (ms)':>10s}"
    )
    print(header)
    print("-" * len(header))
    results = {}
    for method in METHODS:
        k = min(len(truth), registry.get(method).max_sources(g.n_mics))  # tdoa-ls: 1
        t0 = time.perf_counter()
        res = locate(x, FS, g, method=cast(Any, method), num_sources=k, resolution=0.5)
        ms = (time.perf_counter() - t0) * 1e3
        results[method] = res
        if k == 1:  # one estimate: score it against the nearer talker
            errs = [min(float(dist(res.directions[0], t)) for t in truth)]
        else:
            errs = _errors(res.directions, truth, dist)
        est = ", ".join(f"{a:.1f}" for a in res.azimuth)
        e = ", ".join(f"{v:.1f}" for v in errs)
        print(f"{method:10s} {est:>22s} {e:>12s} {ms:10.1f}")
    print("(errors against talker 1, talker 2; tdoa-ls assumes a single source: one estimate,")
    print(" scored against the nearer talker; with two talkers at once its pair delays disagree)\n")
    return results


def _beamform(x, scene, gain, g, look, other, truth, err) -> None:
    from arraykit.beamform import DEFAULT_LOADING, compare_methods, design_names, get_design
    from arraykit.diagnostics import steering_loss
    from arraykit.doa.grids import angular_distance
    from arraykit.metrics import si_sdr, snr

    target = gain * scene.images[0]
    rest = x - target
    snr_in = float(snr(target[0], rest[0]))
    sdr_in = float(si_sdr(target[0], x[0]))
    methods = design_names()
    nulls = [tuple(other)]
    if float(angular_distance(other, look)) < 20.0:  # no second talker to null
        methods = tuple(m for m in methods if "nulls" not in get_design(m).needs)
        nulls = []
    scores = compare_methods(
        x, FS, g, tuple(look), target_image=target, methods=methods, noise=NOISE_ONLY, nulls=nulls
    )
    print(
        f"Beamforming toward talker 1 at SRP-PHAT's estimate {look[0]:.1f}° (true "
        f"{truth[0][0]:.1f}°); at the reference mic 0: SNR {snr_in:.1f} dB, "
        f"SI-SDR {sdr_in:.1f} dB"
    )
    header = f"{'beamformer':14s} {'SNR gain (dB)':>14s} {'SI-SDR gain (dB)':>17s}  covariance from"
    print(header)
    print("-" * len(header))
    noise = f"the noise-only {NOISE_ONLY[0]:g}-{NOISE_ONLY[1]:g} s (talker 2 + noise)"

    def source(method: str) -> str:
        """What the design's covariance comes from, read off its declared needs."""
        design = get_design(method)
        needs = design.needs
        if {"noise_cov", "mixture_cov"} <= needs:
            return f"the mixture against {noise} (blind: no direction)"
        if "mixture_cov" in needs:
            return "the whole mixture (talker 1 included)"
        if "noise_cov" in needs or "cov" in needs:
            return noise + (f"; null at {other[0]:.1f}°" if "nulls" in needs else "")
        return getattr(design, "summary", "") or "-"

    for s in scores:
        print(f"{s.method:14s} {s.snr_gain_db:14.1f} {s.si_sdr_gain_db:17.1f}  {source(s.method)}")

    # ------------------------------------------------------------ 4. steering error
    true1 = tuple(truth[0])
    on_truth = compare_methods(x, FS, g, true1, target_image=target, methods=("mpdr",))[0]
    on_est = next(s for s in scores if s.method == "mpdr")
    snr_lin = 10 ** (snr_in / 10)
    loss = steering_loss(
        g,
        LOSS_FREQS,
        method="mpdr",
        look=tuple(look),
        source=true1,
        snr_db=snr_in,
        loading=DEFAULT_LOADING * (1 + snr_lin),  # the default policy: 1 % of the average power
    )
    print(
        f"\nMPDR toward the true {true1[0]:.1f}° / the estimate {look[0]:.1f}°: SNR gain "
        f"{on_truth.snr_gain_db:.1f} / {on_est.snr_gain_db:.1f} dB, SI-SDR gain "
        f"{on_truth.si_sdr_gain_db:.1f} / {on_est.si_sdr_gain_db:.1f} dB"
    )
    print(
        f"steering error {err:.1f}°: ak.diagnostics.steering_loss predicts MPDR target loss "
        + ", ".join(f"{v:.1f}" for v in loss)
        + " dB at "
        + " / ".join(f"{f / 1000:g}" for f in LOSS_FREQS)
        + f" kHz (per-mic SNR {snr_in:.1f} dB, white noise)"
    )


def _channels(cmap) -> str:
    c = list(cmap)
    if c == list(range(c[0], c[-1] + 1)):
        return f"channels {c[0]}–{c[-1]}"
    return "channels " + ", ".join(str(i) for i in c)


def _errors(est: np.ndarray, truth: np.ndarray, dist) -> list[float]:
    """Per true talker, the error under the best pairing of estimates to talkers."""
    best = None
    for perm in itertools.permutations(range(len(est)), len(truth)):
        e = [float(dist(est[j], truth[i])) for i, j in enumerate(perm)]
        if best is None or sum(e) < sum(best):
            best = e
    return best or []
