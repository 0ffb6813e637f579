"""``arraykit diagnose``: how much of the talker a mis-steered beamformer loses.

Without an input file: the predicted target gain over a range of steering errors and
frequencies, and the error that costs 1, 3 and 6 dB. With a WAV file: the
distortion the beamformer actually applied to the talker in that recording.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from arraykit import _validate as v
from arraykit.beamform import design_names, get_design
from arraykit.cli._inputs import (
    add_channel_args,
    check_figure_output,
    command_terms,
    geometry_flag,
    read_recording,
    save_figure,
)

TABLE_FREQS = (500.0, 1000.0, 2000.0, 4000.0)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diagnose",
        help="predict (or measure in a recording) the talker loss caused by steering error",
        description=(
            "Without IN.wav: predicted target gain over steering error x frequency and the "
            "error that costs 1/3/6 dB. With IN.wav: the distortion actually applied."
        ),
    )
    p.add_argument("input", nargs="?", metavar="IN.wav", help="a multichannel recording")
    p.add_argument(
        "--geometry", metavar="NAME", help="named geometry or file (with IN.wav: or --profile)"
    )
    add_channel_args(p)
    p.add_argument(
        "--method", choices=design_names(), default="mpdr", help="beamformer (default mpdr)"
    )
    p.add_argument(
        "--direction",
        required=True,
        metavar="AZ[,EL]",
        help="look direction (the talker's, for a prediction), degrees",
    )
    p.add_argument(
        "--error",
        metavar="START:STOP:STEP",
        help="steering errors in degrees (or A,B,C); default 0:10:0.5",
    )
    p.add_argument("--axis", choices=("azimuth", "elevation"), help="default azimuth")
    mixture = [m for m in design_names() if "mixture_cov" in get_design(m).needs]
    p.add_argument(
        "--snr",
        type=float,
        metavar="DB",
        help=f"per-microphone SNR (needed by {', '.join(mixture)} and --compare)",
    )
    p.add_argument("--loading", type=float, metavar="L", help="diagonal loading")
    p.add_argument(
        "--null", action="append", default=[], metavar="AZ[,EL]", help="lcmv null (repeatable)"
    )
    p.add_argument("--fmin", type=float, help="lowest frequency, Hz (100)")
    p.add_argument("--fmax", type=float, help="highest frequency, Hz (8000)")
    p.add_argument("--n-freqs", type=int, help="frequencies in the prediction (160)")
    p.add_argument(
        "--compare",
        action="store_true",
        help="also print every registered beamformer at the largest error (needs --snr)",
    )
    p.add_argument("-o", "--output", metavar="PNG", help="save the figure here")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--no-doa", action="store_true", help="recording: skip the DOA check")
    p.add_argument(
        "--noise",
        metavar="T0:T1",
        help="recording: noise-only time range in seconds (default: the quietest frames)",
    )
    p.set_defaults(handler=run)


PREDICTION_DEFAULTS = {
    "error": "0:10:0.5",
    "axis": "azimuth",
    "fmin": 100.0,
    "fmax": 8000.0,
    "n_freqs": 160,
}
"""What a prediction uses for the flags left out (None in the parser: a recording refuses
them given)."""


def run(args: argparse.Namespace) -> int:
    direction = _direction("--direction", args.direction)
    check_figure_output(args.output, "--output")
    # a flag of the other mode is refused, not ignored (--fmin 100 --fmax 50 with IN.wav
    # reported the gain over 300-4000 Hz)
    if args.input is not None:
        only = [*PREDICTION_DEFAULTS, "snr", "null", "compare"]
        why = "applies to a prediction (no IN.wav) only: leave it out with IN.wav"
    else:
        only = ["noise", "no_doa"]
        why = "applies to a recording (IN.wav) only: give IN.wav or leave it out"
    for name in only:
        if getattr(args, name) not in (None, False, []):
            raise v.fail("--" + name.replace("_", "-"), getattr(args, name), why)
    if args.input is not None:
        return _recording(args, direction)
    for name, default in PREDICTION_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.geometry is None:
        raise v.fail("--geometry", None, "is needed: the array to predict for")
    if args.profile is not None or args.channel_map is not None:
        raise v.fail(
            "--profile/--channel-map", args.profile or args.channel_map, "only apply to IN.wav"
        )
    return _prediction(args, geometry_flag(args.geometry), direction)


def _prediction(args, geometry, direction) -> int:
    from arraykit.cli.beamform import parse_nulls
    from arraykit.diagnostics import parse_range, sweep, tolerance
    from arraykit.diagnostics.mismatch import check_work

    with command_terms({"error": "--error"}):
        errors = parse_range(args.error)
    parse_nulls(args)  # only a design that places nulls is given them

    needs = get_design(args.method).needs
    if "mixture_cov" in needs and args.snr is None:
        without = [m for m in design_names() if "mixture_cov" not in get_design(m).needs]
        raise v.fail(
            "--snr",
            None,
            f"is needed by --method {args.method} (the talker is in its covariance): give "
            f"--snr DB, the talker's SNR per microphone (e.g. --snr 10), or a method without "
            f"it ({', '.join(without)})",
        )
    n = args.n_freqs
    if n < 1:
        raise v.fail("--n-freqs", n, "must be >= 1")
    max_err = max(float(np.max(np.abs(errors))), 1e-3)
    step = min(0.05, max_err)
    for count, search in (
        (errors.size, ""),
        (
            2 * int(np.floor(max_err / step + 0.5)) + 1,
            f" (the tolerance's {step:g}° steps to ±{max_err:g}°)",
        ),
    ):
        check_work(
            count,
            n,
            geometry.n_mics,
            errors=("--error", args.error),
            freqs=("--n-freqs", n),
            search=search,
        )
    if not (np.isfinite(args.fmin) and np.isfinite(args.fmax)) or not 0 <= args.fmin < args.fmax:
        raise v.fail("--fmin/--fmax", (args.fmin, args.fmax), "need 0 <= fmin < fmax")
    freqs = np.linspace(args.fmin, args.fmax, n)
    kw = dict(
        method=args.method,
        source=direction,
        axis=args.axis,
        snr_db=args.snr,
        loading=0.0 if args.loading is None else args.loading,
        nulls=[_direction("--null", s) for s in args.null],
    )
    with command_terms({"snr_db": "--snr", "loading": "--loading", "nulls": "--null"}):
        s = sweep(geometry, freqs, errors=errors, **kw)
        t = tolerance(geometry, freqs, max_error=max_err, step=step, **kw)
    if args.output:
        from arraykit.plot.diagnostics import plot_steering_report

        fig = plot_steering_report(
            s,
            t,
            title=f"{geometry.name or args.geometry}, {args.method}, talker at {direction[0]:g}°",
        )
        save_figure(fig, args.output, dpi=110, bbox_inches="tight")
    if args.json:
        print(
            json.dumps(
                {
                    "geometry": geometry.name or args.geometry,
                    "method": args.method,
                    "direction": list(direction),
                    "axis": args.axis,
                    "snr_db": args.snr,
                    "loading": kw["loading"],
                    "freqs": freqs.tolist(),
                    "errors": errors.tolist(),
                    "gain_db": np.round(s.gain_db, 4).tolist(),
                    "tolerance": {
                        f"{loss:g}": [None if np.isnan(x) else round(float(x), 4) for x in row]
                        for loss, row in zip(t.losses_db, t.errors, strict=True)
                    },
                }
            )
        )
        return 0
    print(
        f"{args.method} on {geometry.name or args.geometry} ({geometry.n_mics} mics), talker at "
        f"azimuth {direction[0]:g}°, elevation {direction[1]:g}°"
        + ("" if args.snr is None else f", SNR {args.snr:g} dB per mic")
        + ("" if not args.loading else f", loading {args.loading:g}")
    )
    cols = [f for f in TABLE_FREQS if args.fmin <= f <= args.fmax]
    idx = [int(np.argmin(np.abs(freqs - f))) for f in cols]
    print("\ntarget gain (dB) by steering error")
    print(f"{'error':>7}  {'band mean':>9}  {'worst':>7}" + "".join(f"{f:>8.0f}Hz" for f in cols))
    for k, e in enumerate(errors):
        row = s.gain_db[k]
        print(
            f"{e:>6.2f}°  {np.mean(row):>9.2f}  {np.min(row):>7.2f}"
            + "".join(f"{row[i]:>10.2f}" for i in idx)
        )
    print("\nsteering error (°, to either side) that costs")
    for loss, row in zip(t.losses_db, t.errors, strict=True):
        cells = "".join(
            f"{'>' + format(max_err, 'g'):>10}" if np.isnan(row[i]) else f"{row[i]:>10.2f}"
            for i in idx
        )
        print(f"{loss:>5g} dB" + " " * 19 + cells)
    if args.compare:
        from arraykit.diagnostics import compare

        if args.snr is None:
            raise v.fail("--snr", None, "is needed by --compare (for the output SINR)")
        worst = float(errors[np.argmax(np.abs(errors))])
        cmp = compare(
            geometry,
            freqs,
            source=direction,
            error=worst,
            snr_db=args.snr,
            axis=args.axis,
            loading=kw["loading"],
        )
        print(f"\nall beamformers at a {worst:g}° error, {args.fmin:g}-{args.fmax:g} Hz")
        print(cmp.table())
    if args.output:
        print(f"\nwrote {args.output}")
    return 0


def _recording(args, direction) -> int:
    from arraykit.diagnostics import diagnose_recording
    from arraykit.diagnostics.recording import recording_methods

    if args.method not in recording_methods():
        raise v.fail(
            "--method",
            args.method,
            "recordings are diagnosed for " + ", ".join(recording_methods()),
        )
    noise = None
    if args.noise is not None:
        try:
            t0, t1 = (float(x) for x in args.noise.split(":"))
        except ValueError:
            raise v.fail("--noise", args.noise, "must be T0:T1 in seconds") from None
        noise = (t0, t1)
    signals, fs, geometry = read_recording(args.input, args, flag="IN.wav", purpose="diagnose")
    terms = {"freq_range": None, "noise": "--noise", "loading": "--loading"}
    with command_terms(terms, ("IN.wav", args.input, fs)):
        rep = diagnose_recording(
            signals,
            fs,
            geometry,
            direction,
            method=args.method,
            noise=noise,
            loading=args.loading,
            locate=not args.no_doa,
        )
    if args.output:
        from arraykit.plot.diagnostics import plot_recording_report

        save_figure(plot_recording_report(rep), args.output, dpi=110, bbox_inches="tight")
    if args.json:
        finite = [None if not np.isfinite(x) else round(float(x), 4) for x in rep.gain_db]
        print(
            json.dumps(
                {
                    "input": args.input,
                    "method": rep.method,
                    "direction": list(rep.direction),
                    "band": list(rep.band),
                    "band_gain_db": round(rep.band_gain_db, 4),
                    "band_excess_db": round(rep.band_excess_db, 4),
                    "self_cancellation": rep.self_cancellation,
                    "doa_direction": None if rep.doa_direction is None else list(rep.doa_direction),
                    "direction_error": rep.direction_error,
                    "doa_spread": rep.doa_spread,
                    "doa_others": [list(d) for d in rep.doa_others],
                    "freqs": rep.freqs.tolist(),
                    "gain_db": finite,
                    "suggestions": rep.suggestions,
                }
            )
        )
        return 0
    print(rep.summary())
    if args.output:
        print(f"wrote {args.output}")
    return 0


def _direction(flag: str, text: str) -> tuple[float, float]:
    try:
        parts = [float(x) for x in str(text).split(",")]
    except ValueError:
        raise v.fail(flag, text, "must be AZ or AZ,EL in degrees") from None
    if len(parts) not in (1, 2):
        raise v.fail(flag, text, "must be AZ or AZ,EL in degrees")
    d = v.directions(flag, [parts[0], parts[1] if len(parts) == 2 else 0.0])
    return float(d[0, 0]), float(d[0, 1])
