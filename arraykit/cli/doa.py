"""``arraykit doa FILE.wav --geometry NAME``: where the sound in a recording comes from."""

from __future__ import annotations

import argparse
import json
from typing import Literal

import numpy as np

from arraykit import _validate as v
from arraykit.cli._inputs import (
    add_channel_args,
    check_figure_output,
    command_terms,
    read_recording,
    save_figure,
)
from arraykit.doa import registry
from arraykit.errors import NoSourceError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doa",
        help="directions of arrival in a multichannel WAV",
        description=(
            "Estimate where the sound in FILE comes from. The WAV has one channel per "
            "microphone of the geometry, in its order, or a device's own layout "
            "(--profile) or any layout (--channel-map)."
        ),
    )
    p.add_argument("file", metavar="FILE.wav", help="multichannel recording")
    p.add_argument(
        "--geometry",
        metavar="NAME",
        help="named geometry or a .toml/.xml/ODAS .cfg file (or --profile)",
    )
    add_channel_args(p)
    p.add_argument(
        "--method",
        default="srp-phat",
        choices=registry.names(),
        help=f"default: srp-phat. {registry.describe()}",
    )
    p.add_argument(
        "--sources", default="1", metavar="K|auto", help="number of sources, or 'auto' (default 1)"
    )
    p.add_argument(
        "--grid",
        default="azimuth",
        choices=("azimuth", "sphere"),
        help="search grid (default azimuth)",
    )
    p.add_argument("--resolution", type=float, default=1.0, help="degrees (default 1)")
    p.add_argument("--nfft", type=int, default=512, help="STFT size (default 512)")
    p.add_argument(
        "--freq-range",
        nargs=2,
        type=float,
        default=(300.0, 3500.0),
        metavar=("LOW", "HIGH"),
        help="band in Hz (default 300 3500)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--plot", metavar="PNG", help="write the spatial map with the estimates marked")
    p.set_defaults(handler=run)


def _sources(text: str) -> int | Literal["auto"]:
    if text == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--sources={text!r}: must be a positive integer or 'auto'") from None


def run(args: argparse.Namespace) -> int:
    from arraykit.doa import locate

    check_figure_output(args.plot, "--plot")
    signals, fs, g = read_recording(args.file, args)
    flags = {
        "freq_range": "--freq-range",
        "nfft": "--nfft",
        "resolution": "--resolution",
        "num_sources": "--sources",
    }
    try:
        with command_terms(flags, ("FILE", args.file, fs)):
            res = locate(
                signals,
                fs,
                g,
                method=args.method,
                num_sources=_sources(args.sources),
                freq_range=tuple(args.freq_range),
                nfft=args.nfft,
                grid=args.grid,
                resolution=args.resolution,
            )
    except NoSourceError as exc:  # a fixed count and nothing to locate: say in which file
        raise v.fail(
            "FILE", args.file, f"{exc.reason}: no source to locate (--sources auto says 0)"
        ) from None
    if args.plot:
        from arraykit.plot.doa import plot_doa

        fig = plot_doa(res, title=f"{args.method}: {args.file}")
        save_figure(fig, args.plot, dpi=120, bbox_inches="tight")
    if args.json:
        out = {
            "file": args.file,
            "geometry": g.name or args.geometry,
            "fs": fs,
            "method": res.method,
            "num_sources": res.num_sources,
            "count_reason": res.count_reason,
            "no_source": res.no_source,
            "dead_channels": list(res.dead_channels),
            "clipped_channels": list(res.clipped_channels),
            "copied_channels": [list(p) for p in res.copied_channels],
            "sources": [
                {
                    "azimuth": round(float(a), 3),
                    "elevation": round(float(e), 3),
                    "power": float(p),
                    "confidence": round(float(c), 3),
                    "on_peak": bool(on),
                    "mirror": None
                    if np.isnan(m[0]) or not amb
                    else [round(float(m[0]), 3), round(float(m[1]), 3)],
                }
                for a, e, p, m, amb, c, on in zip(
                    res.azimuth,
                    res.elevation,
                    res.power,
                    res.mirror,
                    res.ambiguous,
                    res.confidence,
                    res.on_peak,
                    strict=True,
                )
            ],
        }
        if args.plot:
            out["plot"] = args.plot
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"{args.file}: {signals.shape[0]} microphones, {signals.shape[1] / fs:.2f} s at {fs} Hz; {res.method} on '{g.name or args.geometry}'"
    )
    print(f"sources: {res.num_sources} ({res.count_reason})")
    for k, (a, e, p) in enumerate(zip(res.azimuth, res.elevation, res.power, strict=True)):
        line = f"  {k + 1}: azimuth {a:6.1f}°  elevation {e:5.1f}°  power {p:.3g}"
        line += f"  confidence {res.confidence[k]:.2f}"
        if not res.on_peak[k]:
            line += " (no peak of its own: on a stronger source's shoulder)"
        if res.ambiguous[k]:
            line += f"  (or its mirror at azimuth {res.mirror[k, 0]:.1f}°, elevation {res.mirror[k, 1]:.1f}°)"
        print(line)
    if args.plot:
        print(f"map written to {args.plot}")
    return 0
