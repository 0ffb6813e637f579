"""``arraykit devices | record | tune | led | live | check``: the hardware commands.

``--device`` takes a profile name (``respeaker-usb-4mic``), a PortAudio device index,
or a piece of a PortAudio device name (case-insensitive; spaces, underscores and
hyphens alike); ``sim:<profile or geometry>`` is the simulated device.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
from typing import Any

import numpy as np

from arraykit import hardware as hw
from arraykit.doa import registry as doa_registry
from arraykit.hardware.discovery import match_profile

# The pyusb back end `tune` and `led` use (None: libusb). Tests set a fake one here,
# as pyusb's own tests pass backend= to find().
usb_backend: Any = None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "devices",
        help="list microphone arrays: audio inputs and USB devices matched to profiles",
        description="PortAudio inputs (matched by name) merged with USB devices (matched by "
        "id): what matched, what did not, and why.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_devices)

    p = sub.add_parser(
        "record",
        help="record the microphones to a WAV file (written as it records)",
        description="Records the microphone channels in geometry order (or every captured "
        "channel with --all-channels). The file is written block by block: Ctrl-C or a lost "
        "device leaves a valid file holding every frame captured.",
    )
    _device_args(p)
    p.add_argument("--seconds", type=float, help="duration (default: until Ctrl-C)")
    p.add_argument("--all-channels", action="store_true", help="every captured channel")
    p.add_argument(
        "--buffer", type=float, default=10.0, help="seconds of audio the queue holds (10)"
    )
    p.add_argument("out", metavar="OUT.wav")
    p.set_defaults(handler=run_record)

    p = sub.add_parser(
        "tune",
        help="list, read or write the vendor tuning parameters of an XMOS array",
        description="Without PARAM: every parameter with its value. With PARAM: its value. "
        "With PARAM VALUE...: write it, then read it back.",
    )
    p.add_argument("--device", required=True, help="profile name, device name or vvvv:pppp")
    p.add_argument("param", nargs="?", metavar="PARAM")
    p.add_argument("value", nargs="*", metavar="VALUE")
    p.set_defaults(handler=run_tune)

    p = sub.add_parser(
        "led",
        help="drive the LED ring of a ReSpeaker",
        description="XVF-3000: trace | off | color R G B | listen | wait | speak | spin | "
        "brightness 0-31 | palette R G B R G B | center off|on|vad | volume 0-12 | point AZ. "
        "XVF3800: off | color R G B | effect off|breath|rainbow|single|doa|ring | point AZ. "
        "'point AZ' lights the LED nearest azimuth AZ (degrees, arraykit's frame).",
    )
    p.add_argument("--device", required=True, help="profile name, device name or vvvv:pppp")
    p.add_argument("action")
    p.add_argument("args", nargs="*")
    p.set_defaults(handler=run_led)

    p = sub.add_parser(
        "live",
        help="live direction finding from a device (refreshing display)",
        description="Streams blocks into an exponentially forgetting spatial covariance "
        "(time constant --memory seconds), searches it after every block and prints the direction(s); optionally points the ReSpeaker LED ring at "
        "the estimate and shows the device's own DOA. Reports the real-time factor and any "
        "lost frames on exit (Ctrl-C stops).",
    )
    _device_args(p)
    p.add_argument(
        "--method",
        default="srp-phat",
        choices=doa_registry.names(from_covariance=True),
        help=f"default: srp-phat. {doa_registry.describe(from_covariance=True)}",
    )
    p.add_argument("--sources", type=int, default=1, help="number of sources K")
    p.add_argument("--seconds", type=float, help="stop after this much audio")
    p.add_argument("--block", type=float, default=0.1, help="seconds per estimate (0.1)")
    p.add_argument(
        "--memory", type=float, default=0.5, help="covariance time constant, seconds (0.5)"
    )
    p.add_argument("--led", action="store_true", help="point the LED ring at the estimate")
    p.add_argument(
        "--compare-onchip", action="store_true", help="show the device's own DOA beside it"
    )
    p.add_argument("--realtime", action="store_true", help="pace a sim: device in real time")
    p.set_defaults(handler=run_live)

    p = sub.add_parser(
        "check",
        help="check channel order, delays, gains, dead/clipped channels of a device or WAV",
        description="Records --seconds while one sound plays (or reads FILE), then checks that "
        "pairwise delays are physically possible, per-channel gain and DC, dead or clipped "
        "channels, and whether a permuted (or, with --azimuth, mirrored) channel order fits "
        "better. Exit status 1 when a problem is found.",
    )
    _device_args(p)
    p.add_argument("file", nargs="?", metavar="FILE.wav", help="check a recording instead")
    p.add_argument("--seconds", type=float, default=3.0, help="seconds to record (3)")
    p.add_argument("--azimuth", type=float, help="true azimuth of the sound, degrees")
    p.set_defaults(handler=run_check)


def _device_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", help="profile, PortAudio index or name piece, or sim:NAME")
    p.add_argument("--profile", help="read the device with this profile (e.g. generic-uac)")
    p.add_argument("--channels", type=int, help="channels to capture (generic profile)")
    p.add_argument(
        "--channel-map", type=_int_list, help="captured channel of each mic, e.g. 1,2,3,4"
    )
    p.add_argument("--geometry", help="geometry name or file (generic profile)")
    p.add_argument("--samplerate", type=float, help="sampling rate, Hz")


def _int_list(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list") from None


def open_device(args: argparse.Namespace, **kw: Any) -> Any:
    """Open ``--device`` with the overrides given on the command line."""
    return hw.open(
        args.device,
        profile=args.profile,
        channels=args.channels,
        channel_map=args.channel_map,
        geometry=args.geometry,
        samplerate=args.samplerate,
        **kw,
    )


# -- devices ---------------------------------------------------------------------------------


def run_devices(args: argparse.Namespace) -> int:
    devices = hw.list_devices(backend=usb_backend)
    if args.json:
        print(
            json.dumps(
                {"devices": [d.as_dict() for d in devices], "notes": devices.notes}, indent=2
            )
        )
        return 0
    if not devices:
        print("no audio inputs and no known USB arrays found")
    for d in devices:
        where = f"[{d.index}] " if d.index is not None else "[usb] "
        ids = f"  usb {d.usb_id}" if d.usb_id else ""
        print(f"{where}{d.name}  ({d.input_channels} ch){ids}")
        print(f"      {d.status}: {d.reason}")
    for n in devices.notes:
        print(f"note: {n}")
    return 0


# -- record ----------------------------------------------------------------------------------


def run_record(args: argparse.Namespace) -> int:
    import soundfile as sf

    probe = open_device(args, all_channels=args.all_channels)
    blocksize = 1024
    queue_blocks = max(4, round(hw_positive(args.buffer, "buffer") * probe.fs / blocksize))
    dev = open_device(
        args,
        all_channels=args.all_channels,
        on_loss="ignore",
        blocksize=blocksize,
        queue_blocks=queue_blocks,
    )
    fmt = dev.sample_format
    subtype = {"int16": "PCM_16", "int32": "PCM_32"}.get(fmt, "FLOAT")
    target = None if args.seconds is None else round(hw_positive(args.seconds, "seconds") * dev.fs)
    written = 0
    interrupted = False
    failure: Exception | None = None
    with (
        _StopOnSignal() as stop,
        sf.SoundFile(
            args.out, "w", samplerate=int(dev.fs), channels=dev.n_outputs, subtype=subtype
        ) as f,
    ):

        def put(start: int, block: np.ndarray) -> bool:
            nonlocal written
            if start > written:  # frames lost: keep the timing with zeros
                gap = start - written if target is None else min(start, target) - written
                f.write(np.zeros((max(gap, 0), dev.n_outputs), dtype=block.dtype))
                written += max(gap, 0)
            take = block.shape[1] if target is None else min(block.shape[1], target - written)
            if take > 0:
                f.write(block[:, :take].T)
                written += take
            return target is not None and written >= target

        try:
            with dev:
                for start, block in dev.blocks_with_index(raw=True):
                    if put(start, block):
                        break
                    if stop.is_set():  # Ctrl-C or SIGTERM: this block is in the file
                        interrupted = True
                        break
        except KeyboardInterrupt:  # a second signal while stopping
            interrupted = True
        except hw.DeviceDisconnectedError as exc:
            failure = exc
        finally:
            dev.close()
            for start, block in dev.drain(raw=True):
                if target is not None and written >= target:
                    break
                put(start, block)
    secs = written / dev.fs
    lost = [o for o in dev.overflows if o.frame < written]  # inside the file
    print(
        f"recorded {written} frames ({secs:.2f} s) of {dev.n_outputs} channels at "
        f"{dev.fs} Hz to {args.out}; captured {dev.frames_captured} frames; "
        f"{dev.loss_report(lost)}",
        file=sys.stderr,
    )
    if failure is not None:
        print(f"arraykit: error: {failure} (the file keeps what was recorded)", file=sys.stderr)
        return 2
    if interrupted:
        return 0 if target is None else 130
    return 1 if lost else 0


class _StopOnSignal:
    """Ctrl-C (SIGINT) and SIGTERM (kill, timeout, a service manager) ask a recording
    to stop between blocks, so that no block is half written and the file is closed
    with every frame captured; a second signal interrupts at once. A signal the
    shell set to be ignored (a background job's SIGINT) stays ignored."""

    def __enter__(self) -> threading.Event:
        self.event = threading.Event()
        self.saved: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous = signal.getsignal(sig)
                if previous is signal.SIG_IGN:
                    continue
                self.saved[sig] = signal.SIG_DFL if previous is None else previous
                signal.signal(sig, self._handle)
        return self.event

    def _handle(self, _signum: int, _frame: object) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self.saved.items():
            signal.signal(sig, previous)


def hw_positive(x: float, name: str) -> float:
    from arraykit import _validate as v

    return v.positive(name, x)


# -- tune and led ----------------------------------------------------------------------------


def control(spec: str) -> Any:
    """The XVF3000/XVF3800 object for ``--device`` (profile, device name or vvvv:pppp)."""
    if re.fullmatch(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{4}", spec):
        pid = int(spec.split(":")[1], 16)
        cls = hw.XVF3800 if pid == hw.XVF3800.PRODUCT_ID else hw.XVF3000
        return cls(spec, backend=usb_backend)
    if spec in hw.list_profiles():
        profile = hw.load_profile(spec)
    else:
        profile = match_profile(spec)
        if profile is None:
            raise hw.DeviceNotFoundError(
                f"--device {spec!r} matches no profile; arrays with USB control: "
                "respeaker-usb-4mic (XVF-3000), respeaker-xvf3800 (XVF3800)"
            )
    return hw.control_for(profile, backend=usb_backend)


def _value(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise hw_fail("value", text, "must be a number") from None


def hw_fail(name: str, value: Any, why: str) -> Exception:
    from arraykit import _validate as v

    return v.fail(name, value, why)


def run_tune(args: argparse.Namespace) -> int:
    with control(args.device) as dev:
        if args.param is None:
            for name, p in sorted(dev.PARAMETERS.items()):
                value = "(write-only)" if p.access == "wo" else dev.read(name)
                print(f"{p.describe()}\n{'':<32} = {value}")
            return 0
        p = dev.parameter(args.param)
        if args.value:
            values = [_value(t) for t in args.value]
            dev.write(p.name, values[0] if len(values) == 1 else values)
            if p.access == "wo":
                print(f"{p.name} <- {args.value}")
                return 0
        print(f"{p.name} = {dev.read(p.name)}")
    return 0


def run_led(args: argparse.Namespace) -> int:
    a = [t for t in args.args]
    with control(args.device) as dev:
        act = args.action.lower()
        is3000 = isinstance(dev, hw.XVF3000)
        simple = {"trace", "listen", "wait", "speak", "spin"} if is3000 else set()
        if act in simple:
            _argc(act, a, 0)
            getattr(dev, f"led_{act}")()
        elif act == "off":
            _argc(act, a, 0)
            dev.led_off()
        elif act == "color":
            _argc(act, a, 3)
            dev.led_color([_int(t) for t in a])
        elif act == "point":
            _argc(act, a, 1)
            dev.led_point(_value(a[0]))
        elif is3000 and act == "brightness":
            _argc(act, a, 1)
            dev.led_brightness(_int(a[0]))
        elif is3000 and act == "volume":
            _argc(act, a, 1)
            dev.led_volume(_int(a[0]))
        elif is3000 and act == "center":
            _argc(act, a, 1)
            dev.led_center(a[0])
        elif is3000 and act == "palette":
            _argc(act, a, 6)
            c = [_int(t) for t in a]
            dev.led_palette(c[:3], c[3:])
        elif not is3000 and act == "effect":
            _argc(act, a, 1)
            dev.led_effect(int(a[0]) if a[0].isdigit() else a[0])
        else:
            acts = (
                "trace off color listen wait speak spin brightness palette center volume point"
                if is3000
                else "off color effect point"
            )
            raise hw_fail("action", args.action, f"unknown LED action; valid: {acts}")
    print(f"LED {act} {' '.join(a)}".rstrip())
    return 0


# -- live and check --------------------------------------------------------------------------


def run_live(args: argparse.Namespace) -> int:
    from arraykit.live import LiveStats, track

    extra = {"realtime": args.realtime} if str(args.device).startswith("sim:") else {}
    dev = open_device(args, on_loss="ignore", **extra)
    ctl = None
    if args.led or args.compare_onchip:
        try:
            ctl = hw.control_for(dev.profile, backend=usb_backend)
        except hw.DeviceNotFoundError as exc:
            flag = "--led" if args.led else "--compare-onchip"
            raise hw.DeviceNotFoundError(
                f"{flag} talks to the array's USB control interface: {exc}"
                + (" (a sim: device plays audio only)" if extra else "")
            ) from None
    stats = LiveStats()
    pairs: list[tuple[float, float]] = []  # (raw on-chip angle, arraykit azimuth)
    tty = sys.stdout.isatty()
    onchip = ctl.onchip_azimuth if (ctl is not None and args.compare_onchip) else None
    try:
        with dev:
            for est in track(
                dev,
                method=args.method,
                num_sources=args.sources,
                block=args.block,
                memory=args.memory,
                onchip=onchip,
                stats=stats,
            ):
                heard = bool(np.isfinite(est.azimuth).all())
                dirs = (
                    "  ".join(
                        f"az {a:5.1f}° el {e:4.1f}°"
                        for a, e in zip(est.azimuth, est.elevation, strict=True)
                    )
                    if heard
                    else "silence"
                )
                chip = "" if est.onchip is None else f"  on-chip {est.onchip:5.1f}°"
                if est.onchip is not None and heard:
                    raw = dev.profile.azimuth_to_onchip(est.onchip)
                    pairs.append((raw, float(est.azimuth[0])))
                lost = f"  lost {est.lost_frames}" if dev.overflows else ""
                line = f"{est.time:7.2f} s  {dirs}{chip}{lost}"
                if tty:
                    print("\r" + line.ljust(78), end="", flush=True)
                else:
                    print(line, flush=True)
                if ctl is not None and args.led and heard:
                    ctl.led_point(float(est.azimuth[0]))
                if args.seconds is not None and est.time >= args.seconds:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        if ctl is not None:
            ctl.close()
    if tty:
        print()
    print(
        f"{stats.blocks} blocks, {stats.audio_seconds:.2f} s of audio, real-time factor "
        f"{stats.real_time_factor:.3f}; {dev.loss_report()}",
        file=sys.stderr,
    )
    if len(pairs) >= 3:
        raw, az = np.array(pairs).T
        offset, sense, spread = hw.fit_orientation(raw, az)
        print(
            f"on-chip DOA against arraykit's: azimuth = {offset:.1f} + ({sense:+d}) x on-chip "
            f"angle (spread {spread:.1f}°); if the spread is small, put offset_deg = "
            f"{offset:.1f} and sense = {sense} in the profile's [orientation]",
            file=sys.stderr,
        )
    return 0


def run_check(args: argparse.Namespace) -> int:
    from arraykit.hardware.check import check_signals

    if args.file is not None:
        if args.device is not None:
            raise hw_fail("FILE", args.file, "give a file or --device, not both")
        args.device = args.file
    if args.device is None:
        raise hw_fail("--device", None, "give --device NAME or a FILE.wav to check")
    sim = str(args.device).startswith("sim:") and args.azimuth is not None
    dev = open_device(args, **({"azimuth": args.azimuth} if sim else {}))  # the sim plays there
    with dev:
        if args.file is not None:
            x = np.concatenate(list(dev.blocks()), axis=1)
        else:
            print(
                f"recording {args.seconds:g} s from {dev.name}: play a sound now", file=sys.stderr
            )
            x = dev.record(args.seconds)
    report = check_signals(x.astype(np.float64), dev.fs, dev.geometry, azimuth=args.azimuth)
    print(report.summary())
    return 0 if report.ok else 1


def _argc(act: str, a: list[str], n: int) -> None:
    if len(a) != n:
        raise hw_fail("args", a, f"'led {act}' takes {n} argument(s)")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise hw_fail("value", text, "must be a whole number") from None
