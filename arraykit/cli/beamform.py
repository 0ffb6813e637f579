"""``arraykit beamform`` (enhance a recording) and ``arraykit pattern`` (draw and judge a beam)."""

from __future__ import annotations

import argparse
import json
from typing import Any, Literal

import numpy as np

from arraykit.beamform.registry import design_names, get_design
from arraykit.cli._inputs import (
    add_channel_args,
    check_figure_output,
    command_terms,
    geometry_flag,
    read_recording,
    refuse_overwriting_input,
    save_figure,
)
from arraykit.errors import InvalidArgumentError

SQUINT_DB = 0.05
"""A main-lobe peak this far above the look response is reported as a squint."""


def pattern_methods() -> tuple[str, ...]:
    """Designs a pattern can be drawn for without data: those needing no mixture covariance."""
    return tuple(m for m in design_names() if "mixture_cov" not in get_design(m).needs)


def noise_methods() -> tuple[str, ...]:
    """Designs that read a noise-only segment (``--noise``): a noise or a chosen covariance."""
    return tuple(m for m in design_names() if get_design(m).needs & {"noise_cov", "cov"})


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "beamform",
        help="enhance the sound from one direction of a multichannel recording",
        description=(
            "Beamform a multichannel WAV toward a direction (or a point) and write the "
            "enhanced mono signal."
        ),
    )
    p.add_argument("input", metavar="IN.wav", help="multichannel recording, one channel per mic")
    p.add_argument(
        "--geometry", help="named geometry or a .toml/.xml/ODAS .cfg file (or --profile)"
    )
    add_channel_args(p)
    p.add_argument(
        "--direction",
        metavar="AZ[,EL]|auto",
        help="look direction in degrees, or 'auto' for the strongest DOA estimate",
    )
    p.add_argument("--point", metavar="X,Y,Z", help="near-field target in metres (array frame)")
    p.add_argument(
        "--method", default="das", choices=design_names(), help="beamformer (default das)"
    )
    p.add_argument(
        "--noise",
        metavar="START:END|auto",
        help=f"noise-only time range in seconds (read by {', '.join(noise_methods())}), or "
        "'auto' (quietest frames)",
    )
    p.add_argument(
        "--null",
        action="append",
        default=[],
        metavar="AZ[,EL]",
        help="interferer direction for lcmv (repeatable)",
    )
    p.add_argument(
        "--loading",
        type=float,
        help="diagonal loading, a fraction of the average power (trace mode; default 1e-2)",
    )
    p.add_argument("--ref-mic", type=int, help="align the output with this microphone")
    p.add_argument("--nfft", type=int, default=512, help="STFT frame length (default 512)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.wav", help="output WAV")
    p.set_defaults(handler=run_beamform)

    q = sub.add_parser(
        "pattern",
        help="beam pattern and array metrics of a beamformer on a named array",
        description="Beam pattern (polar plot) and metrics: WNG, directivity index, beamwidth, "
        "highest sidelobe, front-to-back ratio per frequency.",
    )
    q.add_argument(
        "--geometry", required=True, help="named geometry or a .toml/.xml/ODAS .cfg file"
    )
    q.add_argument(
        "--method",
        default="das",
        choices=pattern_methods(),
        help="das, superdirective, mvdr (against white plus diffuse noise), lcmv (mvdr "
        "with nulls toward --null), or any registered design needing no recording",
    )
    q.add_argument(
        "--null",
        action="append",
        default=[],
        metavar="AZ[,EL]",
        help="interferer direction for lcmv (repeatable); its response is printed",
    )
    q.add_argument("--direction", required=True, metavar="AZ[,EL]", help="look direction, degrees")
    q.add_argument(
        "--freqs", default="500,1000,2000,4000", metavar="F1,F2,...", help="frequencies in Hz"
    )
    q.add_argument(
        "--loading",
        type=float,
        help="diagonal loading, a fraction of the average power (trace mode; default 1e-2)",
    )
    q.add_argument("-o", "--output", metavar="PNG", help="draw the polar pattern here")
    q.add_argument("--json", action="store_true", help="print the metrics as JSON")
    q.set_defaults(handler=run_pattern)


def parse_direction(text: str, name: str = "--direction") -> tuple[float, float]:
    """``"AZ"`` or ``"AZ,EL"`` in degrees."""
    parts = text.split(",")
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise InvalidArgumentError(f"{name}={text!r}: must be AZ or AZ,EL in degrees") from None
    if len(vals) not in (1, 2):
        raise InvalidArgumentError(f"{name}={text!r}: must be AZ or AZ,EL in degrees")
    return (vals[0], vals[1] if len(vals) == 2 else 0.0)


def parse_numbers(text: str, name: str, count: int | None = None, sep: str = ",") -> list[float]:
    try:
        vals = [float(p) for p in text.split(sep)]
    except ValueError:
        raise InvalidArgumentError(
            f"{name}={text!r}: must be numbers separated by {sep!r}"
        ) from None
    if count is not None and len(vals) != count:
        raise InvalidArgumentError(f"{name}={text!r}: must be {count} numbers")
    return vals


def run_beamform(args: argparse.Namespace) -> int:
    from arraykit.beamform import beamform
    from arraykit.io import check_output, write_audio

    refuse_overwriting_input(args.input, args.output)
    check_output(args.output, name="--output")  # before the input is read and beamformed
    refuse_unread_flags(args)
    nulls = parse_nulls(args)
    x, fs, g = read_recording(args.input, args, flag="IN.wav", purpose="beamform")
    _warn_faulty_channels(x)
    point = parse_numbers(args.point, "--point", 3) if args.point else None
    steered = "steering" in get_design(args.method).needs
    if (args.direction is None) == (point is None) and (steered or point is not None):
        if args.direction is None:  # neither: say what to give ("--direction=None" read as
            # a value the user typed)
            raise InvalidArgumentError(
                f"{args.method} needs a look direction: give --direction AZ[,EL] (or auto) "
                "or --point X,Y,Z"
            )
        raise InvalidArgumentError(
            f"--direction={args.direction!r}: give exactly one of --direction and --point"
        )
    direction = None
    terms = {
        "nfft": "--nfft",
        "noise": "--noise",
        "ref": "--ref-mic",
        "loading": "--loading",
        "points": "--point",
    }
    if args.direction == "auto":
        with command_terms(terms, ("IN.wav", args.input, fs)):
            direction = _locate(x, fs, g)
        print(
            f"direction auto: strongest source at azimuth {direction[0]:.1f}, elevation {direction[1]:.1f}"
        )
    elif args.direction is not None:
        direction = parse_direction(args.direction)
    noise: tuple[float, float] | Literal["auto"] | None = None
    if args.noise == "auto":
        noise = "auto"
    elif args.noise:
        t0, t1 = parse_numbers(args.noise, "--noise", 2, sep=":")
        noise = (t0, t1)
    with command_terms(terms, ("IN.wav", args.input, fs)):
        y = beamform(
            x,
            fs,
            g,
            direction,
            method=args.method,
            noise=noise,
            nulls=nulls,
            loading=args.loading,
            point=point,
            ref=args.ref_mic,
            nfft=args.nfft,
        )
    write_audio(args.output, y, fs)
    if point:
        target = f"point {tuple(point)} m"
    elif direction is not None:
        target = f"azimuth {direction[0]:g}, elevation {direction[1]:g}"
    else:
        target = "the dominant source (blind: no direction)"
    print(f"{args.method} toward {target}: wrote {args.output} ({y.size / fs:.2f} s at {fs} Hz)")
    return 0


def refuse_unread_flags(args: argparse.Namespace) -> None:
    """A flag the method does not read is refused, not ignored (``--method das --null 150``
    ran plain delay-and-sum; ``gev --direction 60`` said "toward azimuth 60", blind)."""
    from arraykit import _validate as v

    m = args.method
    needs = get_design(m).needs
    if args.noise and not needs & {"noise_cov", "cov"}:
        readers = ", ".join(noise_methods())
        why = f"method {m} reads no noise-only segment ({readers} do): leave --noise out"
        raise v.fail("--noise", args.noise, why)
    if "steering" not in needs:
        for flag, value in (("--direction", args.direction), ("--point", args.point)):
            if value is not None:
                why = f"method {m} is blind (it follows the dominant source): leave {flag} out"
                raise v.fail(flag, value, why)


def _warn_faulty_channels(x: np.ndarray) -> None:
    """One stderr line on channels that clip (flat runs at their rails, as ``doa`` reads
    them): the beamformer weighs them as any other, and a hot channel's distortion then
    dominates its output (6-mic circle, one channel 26 dB hot with an offset of 0.3 and
    clipped, 16 % of its samples: delay-and-sum toward the talker 10 dB louder and at
    5.3 dB SI-SDR against the clean run's output, MPDR at -5.6 dB)."""
    import sys

    from arraykit.doa.statistics import clipped_channels

    clipped = clipped_channels(x)
    if clipped:
        which = ", ".join(map(str, clipped))
        print(
            f"arraykit beamform: warning: channel(s) {which} clip (flat tops: too hot for the "
            "converter or a stage before it); the beamformer weighs them as the others, so "
            "their distortion reaches the output: `arraykit check` names them; record again "
            "with less gain",
            file=sys.stderr,
        )


def _locate(x: np.ndarray, fs: int, g) -> tuple[float, float]:
    try:
        from arraykit.doa import locate
    except ImportError:
        raise InvalidArgumentError(
            "--direction='auto': DOA estimation (arraykit.doa.locate) is not available"
        ) from None
    from arraykit import _validate as v
    from arraykit.errors import NoSourceError

    try:
        res = locate(x, fs, g)
    except NoSourceError as exc:  # one channel alone, an empty band: no direction to steer at
        raise v.fail("--direction", "auto", f"found no source: {exc.reason}") from None
    return (float(res.azimuth[0]), float(res.elevation[0]))


NULL_FLOOR = 1e-6
"""Null responses below -120 dB are exact nulls (rounding error), not a measured depth."""


def _null_text(db: float) -> str:
    return "<= -120 (exact null)" if db <= 20 * np.log10(NULL_FLOOR) + 1e-9 else f"{db:.1f}"


def parse_nulls(args: argparse.Namespace) -> list[tuple[float, float]]:
    """The ``--null`` directions; a design that needs nulls (LCMV) needs at least one, and
    one that places none is given none (refused, not ignored)."""
    nulls = [parse_direction(n, "--null") for n in args.null]
    if nulls and "nulls" not in get_design(args.method).needs:
        only = " or ".join(
            f"--method {d}" for d in design_names() if "nulls" in get_design(d).needs
        )
        raise InvalidArgumentError(f"--null={args.null!r}: only {only} places nulls")
    if "nulls" in get_design(args.method).needs and not nulls:
        raise InvalidArgumentError(
            f"--null=[]: method {args.method} needs at least one --null AZ[,EL]"
        )
    return nulls


def pattern_metrics(g, method: str, direction, freqs, loading: float | None = None, nulls=()):
    """Weights and per-frequency metrics the ``pattern`` command prints.

    Designs are taken from the registry; one that needs a noise covariance gets white
    plus diffuse noise of equal power (a robust, data-free design), one with ``cov``
    the same, and the loading is the one default policy unless given.
    """
    from arraykit.beamform import (
        beam_metrics,
        diffuse_coherence,
        directivity,
        response,
        weights_for,
        white_noise_gain,
    )

    f = np.asarray(freqs, dtype=float)
    model = diffuse_coherence(g, f) + np.eye(g.n_mics)  # diffuse plus white noise, equal power
    w = weights_for(
        method, g, f, direction=direction, noise_cov=model, nulls=nulls, loading=loading
    )
    m = beam_metrics(w, g, f, direction)
    rows: list[dict[str, Any]] = []
    for i, fi in enumerate(f):
        rows.append(
            {
                "freq_hz": float(fi),
                "wng_db": float(
                    10 * np.log10(white_noise_gain(w[i : i + 1], g, [fi], direction)[0])
                ),
                "di_db": float(10 * np.log10(directivity(w[i : i + 1], g, [fi], direction)[0])),
                "beamwidth_deg": _num(m.beamwidth[i]),
                "sidelobe_db": _num(m.sidelobe_db[i]),
                "sidelobe_kind": m.sidelobe_kind[i],
                "sidelobe_azimuth_deg": _num(
                    np.nan if m.sidelobe_azimuth is None else m.sidelobe_azimuth[i]
                ),
                "front_to_back_db": _num(m.front_to_back_db[i]),
                "main_peak_db": _num(np.nan if m.main_peak_db is None else m.main_peak_db[i]),
                "main_peak_azimuth_deg": _num(
                    np.nan if m.main_peak_azimuth is None else m.main_peak_azimuth[i]
                ),
            }
        )
        if nulls:
            r = [abs(response(w[i : i + 1], g, [fi], n)[0]) for n in nulls]
            # an exact null is numerically ~1e-16: report it at the floor, and say so
            rows[-1]["null_db"] = [_num(20 * np.log10(max(float(a), NULL_FLOOR))) for a in r]
    return w, rows


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 3)


def run_pattern(args: argparse.Namespace) -> int:
    check_figure_output(args.output, "--output")
    g = geometry_flag(args.geometry)
    direction = parse_direction(args.direction)
    freqs = parse_numbers(args.freqs, "--freqs")
    if any(f <= 0 for f in freqs):
        raise InvalidArgumentError(f"--freqs={args.freqs!r}: frequencies must be > 0 Hz")
    nulls = parse_nulls(args)
    flags = {"direction": "--direction", "freqs": "--freqs", "loading": "--loading"}
    with command_terms({**flags, "nulls": "--null"}):
        w, rows = pattern_metrics(g, args.method, direction, freqs, args.loading, nulls)
    if args.output:
        from arraykit.plot.beam import plot_polar_pattern

        fig = plot_polar_pattern(
            w, g, freqs, direction=direction, title=f"{g.name or 'array'}: {args.method}"
        )
        save_figure(fig, args.output, dpi=120, bbox_inches="tight")
        from arraykit.plot._mpl import pyplot

        pyplot().close(fig)
    if args.json:
        print(
            json.dumps(
                {
                    "geometry": g.name,
                    "method": args.method,
                    "direction": direction,
                    "metrics": rows,
                },
                indent=2,
            )
        )
        return 0
    print(
        f"{g.name or 'array'} ({g.n_mics} mics), {args.method} toward azimuth {direction[0]:g}, elevation {direction[1]:g}"
    )
    print(
        "freq Hz   WNG dB   DI dB   -3 dB width   sidelobe dB   front/back dB"
        + ("   at the nulls dB" if nulls else "")
    )

    def fmt(x, spec):
        return "-".rjust(int(spec.split(".")[0])) if x is None else format(x, spec)

    tags = {"grating": "G", "rise": "R"}
    for r in rows:
        tag = tags.get(r["sidelobe_kind"], " ")
        print(
            f"{r['freq_hz']:7.0f}  {r['wng_db']:7.2f}  {r['di_db']:6.2f}  "
            f"{fmt(r['beamwidth_deg'], '10.1f'):>10}°  {fmt(r['sidelobe_db'], '11.2f')}{tag}  "
            f"{fmt(r['front_to_back_db'], '14.2f')}"
            + ("   " + ", ".join(_null_text(x) for x in r["null_db"]) if nulls else "")
        )
    for r in rows:
        if (r["main_peak_db"] or 0.0) >= SQUINT_DB:
            print(
                f"at {r['freq_hz']:g} Hz the main lobe peaks at azimuth "
                f"{r['main_peak_azimuth_deg']:g}°, {r['main_peak_db']:+.2f} dB above the look "
                f"direction: {args.method} is distortionless only at the look direction, and "
                "its beam leans away from it (not a sidelobe)"
            )
    for r in rows:
        kind, az = r["sidelobe_kind"], r["sidelobe_azimuth_deg"]
        if kind == "grating":
            print(
                f"G at {r['freq_hz']:g} Hz: the highest lobe, at azimuth {az:g}°, is a grating "
                "lobe: the array cannot tell it from the look direction at this frequency "
                "(spatial aliasing), so no beamformer suppresses it"
            )
        elif kind == "rise":
            print(
                f"R at {r['freq_hz']:g} Hz: no sidelobe below the look response: at azimuth "
                f"{az:g}° the response rises to {r['sidelobe_db']:+.2f} dB of the look direction "
                f"({args.method} is distortionless only at the look direction and spends its "
                "degrees of freedom on the noise model and the nulls, not on that direction)"
            )
    if args.output:
        print(f"wrote {args.output}")
    return 0
