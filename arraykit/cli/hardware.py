"""``arraykit devices | record | tune | led | live | check``: the hardware commands.

``--device`` takes a profile name (``respeaker-usb-4mic``), a PortAudio device index,
or a piece of a PortAudio device name (case-insensitive; spaces, underscores and
hyphens alike); ``sim:<profile or geometry>`` is the simulated device.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import threading
from typing import Any

import numpy as np

from arraykit import _validate as v
from arraykit import hardware as hw
from arraykit.cli._inputs import (
    add_channel_args,
    channel_map,
    command_terms,
    geometry_flag,
    is_recording,
    open_recording,
    refuse_unread_odas_map,
)
from arraykit.doa import registry as doa_registry
from arraykit.errors import InvalidArgumentError
from arraykit.hardware.control import led_help, open_control

# The pyusb back end `tune` and `led` use (None: libusb). Tests set a fake one here,
# as pyusb's own tests pass backend= to find().
usb_backend: Any = None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "devices",
        help="list microphone arrays: audio inputs and USB devices matched to profiles",
        description="PortAudio inputs (matched by name) merged with USB devices (matched by "
        "id): what matched, what did not, and why; then the simulated sim: devices.",
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
        description=led_help() + " 'point X' lights the LED nearest azimuth X (degrees, "
        "arraykit's frame).",
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
    add_channel_args(p)  # --profile, --channel-map
    p.add_argument("--channels", type=int, help="channels to capture (generic profile)")
    p.add_argument("--geometry", help="geometry name or file (generic profile)")
    p.add_argument("--samplerate", type=float, help="sampling rate, Hz")


def file_or_device(args: argparse.Namespace, file: str | None, name: str) -> None:
    """A recording given as `file` (positional `name`) becomes ``args.device``; one of them
    must be given, not both."""
    if file is not None:
        if args.device is not None:
            raise v.fail(name, file, "give a file or --device, not both")
        args.device = file
        args.device_flag = name  # what errors about the recording call it
    if args.device is None:
        why = f"give a recording ({name}) or --device NAME (sim:NAME: a simulated array)"
        raise v.fail("--device", None, why)


def open_device(args: argparse.Namespace, **kw: Any) -> Any:
    """Open ``--device`` with the overrides given on the command line."""
    # a recording (given as the positional file, whatever its suffix): the checks and
    # wording all inputs share
    if getattr(args, "device_flag", None) is not None or is_recording(args.device):
        flag = getattr(args, "device_flag", "--device")
        rec = open_recording(
            args.device,
            geometry=args.geometry,
            profile=args.profile,
            channel_map=channel_map(args.channel_map),
            map_text=args.channel_map,
            flag=flag,
            **kw,
        )
        # a device's settings that a file already fixes: refused, not ignored
        rate = getattr(args, "samplerate", None)
        if rate is not None and float(rate) != rec.fs:
            why = f"{flag} {args.device!r} is recorded at {rec.fs:g} Hz (its header says so)"
            raise v.fail("--samplerate", rate, f"{why}: leave --samplerate out, or resample")
        if getattr(args, "channels", None) is not None:
            why = f"sets a device's channel count; {flag} {args.device!r} has its own"
            raise v.fail("--channels", args.channels, f"{why}: pick channels with --channel-map")
        return rec
    try:
        dev = hw.open(
            args.device,
            profile=args.profile,
            channels=args.channels,
            channel_map=channel_map(args.channel_map),
            geometry=geometry_flag(args.geometry),
            samplerate=args.samplerate,
            **kw,
        )
    except InvalidArgumentError as exc:  # in the flag's words
        flag = _DEVICE_FLAGS.get(exc.name or "")
        raise (exc.renamed(flag) if flag else exc) from None
    except hw.DeviceNotFoundError as exc:
        if args.device is not None:
            raise
        # none given and none found: what to give (the simulated arrays need no hardware)
        why = "give --device NAME ('arraykit devices' lists them; sim:NAME simulates one)"
        raise hw.DeviceNotFoundError(f"{exc}; {why}") from None
    cmap = tuple(dev.channel_map)
    if args.channel_map is None and cmap == tuple(range(len(cmap))):  # no layout known
        try:  # an ODAS .cfg's mapping.map, as for a recording
            refuse_unread_odas_map(
                args.geometry, geometry_flag(args.geometry), dev.channels, "--device", args.device
            )
        except BaseException:
            dev.close()
            raise
    return dev


_DEVICE_FLAGS = {
    "device": "--device",
    "profile": "--profile",
    "channels": "--channels",
    "channel_map": "--channel-map",
    "geometry": "--geometry",
    "samplerate": "--samplerate",
}
"""hw.open's arguments and the flags that give them."""


# -- devices ---------------------------------------------------------------------------------


def run_devices(args: argparse.Namespace) -> int:
    devices = hw.list_devices(backend=usb_backend, simulated=True)
    if args.json:
        print(
            json.dumps(
                {"devices": [d.as_dict() for d in devices], "notes": devices.notes}, indent=2
            )
        )
        return 0
    if not any(d.status != "simulated" for d in devices):
        print("no audio inputs and no known USB arrays found (simulated ones below)")
    for d in devices:
        where = (
            f"[{d.index}] "
            if d.index is not None
            else ("[sim] " if d.status == "simulated" else "[usb] ")
        )
        ids = f"  usb {d.usb_id}" if d.usb_id else ""
        print(f"{where}{d.name}  ({d.input_channels} ch){ids}")
        print(f"      {d.status}: {d.reason}")
    for n in devices.notes:
        print(f"note: {n}")
    return 0


# -- record ----------------------------------------------------------------------------------


def _written(sample_format: str) -> tuple[str, int]:
    """The WAV subtype a take of raw `sample_format` blocks is written in, and its bytes a
    sample (integers as captured, anything else as 32-bit float)."""
    return {"int16": ("PCM_16", 2), "int32": ("PCM_32", 4)}.get(sample_format, ("FLOAT", 4))


def _check_room(out: str, seconds: float, fs: float, channels: int, sample_format: str) -> None:
    """Refuse a ``--seconds`` whose take would not fit in the free space where `out` goes
    (a recording that fills the disk ends in an error hours in)."""
    from pathlib import Path

    width = _written(sample_format)[1]
    need = seconds * fs * channels * width
    folder = Path(out).resolve().parent
    free = shutil.disk_usage(folder).free
    if need > free:
        why = (
            f"would write {need / 1e9:.3g} GB ({channels} channels at {fs:g} Hz, {width} bytes "
            f"a sample) where {free / 1e9:.3g} GB are free ({folder}): give a shorter take"
        )
        raise v.fail("--seconds", seconds, why)


def run_record(args: argparse.Namespace) -> int:
    from arraykit.io import AudioWriter, OutputError, check_output

    check_output(args.out, name="OUT.wav")  # a bad path is refused before the device is touched
    target_s = None if args.seconds is None else v.positive("--seconds", args.seconds)
    probe = open_device(args, all_channels=args.all_channels)
    if target_s is not None and round(target_s * probe.fs) < 1:  # an empty file as a take
        why = f"is less than one frame at {probe.fs:g} Hz ({1 / probe.fs:.3g} s): nothing to record"
        raise v.fail("--seconds", args.seconds, why)
    if target_s is not None:  # the whole take must fit on the disk it goes to
        _check_room(args.out, target_s, probe.fs, probe.n_outputs, probe.sample_format)
    blocksize = 1024
    queue_blocks = max(4, round(v.positive("--buffer", args.buffer) * probe.fs / blocksize))
    dev = open_device(
        args,
        all_channels=args.all_channels,
        on_loss="ignore",
        blocksize=blocksize,
        queue_blocks=queue_blocks,
    )
    subtype = _written(dev.sample_format)[0]
    target = None if target_s is None else round(target_s * dev.fs)
    writer: AudioWriter | None = None  # created with the first block: a failed start
    written = 0  # leaves an existing file as it was
    interrupted = False
    failure: Exception | None = None

    def put(start: int, block: np.ndarray) -> bool:
        nonlocal written, writer
        if writer is None:
            writer = AudioWriter(args.out, dev.fs, dev.n_outputs, subtype=subtype)
        if start > written:  # frames lost: keep the timing with zeros
            gap = start - written if target is None else min(start, target) - written
            writer.write(np.zeros((max(gap, 0), dev.n_outputs), dtype=block.dtype))
            written += max(gap, 0)
        take = block.shape[1] if target is None else min(block.shape[1], target - written)
        if take > 0:
            writer.write(block[:, :take].T)
            written += take
        return target is not None and written >= target

    with _StopOnSignal() as stop:
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
        except (hw.DeviceDisconnectedError, OutputError) as exc:
            failure = exc
        finally:
            dev.close()
            if failure is None:
                try:
                    for start, block in dev.drain(raw=True):
                        if target is not None and written >= target:
                            break
                        put(start, block)
                except OutputError as exc:
                    failure = exc
            if writer is not None:
                writer.close()
    if isinstance(failure, OutputError):
        written = failure.frames
    where = f"to {args.out}" if writer is not None else f"({args.out} not touched)"
    lost = [o for o in dev.overflows if o.frame < written]  # inside the file
    print(
        f"recorded {written} frames ({written / dev.fs:.2f} s) of {dev.n_outputs} channels at "
        f"{dev.fs} Hz {where}; captured {dev.frames_captured} frames; "
        f"{dev.loss_report(lost)}",
        file=sys.stderr,
    )
    if failure is not None:
        keeps = "" if isinstance(failure, OutputError) else " (the file keeps what was recorded)"
        print(f"arraykit: error: {failure}{keeps}", file=sys.stderr)
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


# -- tune and led ----------------------------------------------------------------------------


def _value(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise v.fail("value", text, "must be a number") from None


def run_tune(args: argparse.Namespace) -> int:
    with open_control(args.device, backend=usb_backend) as dev:
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
    with open_control(args.device, backend=usb_backend) as dev:
        dev.led(args.action, args.args)
    print(f"LED {args.action.lower()} {' '.join(args.args)}".rstrip())
    return 0


# -- live and check --------------------------------------------------------------------------


def run_live(args: argparse.Namespace) -> int:
    from arraykit.doa.run import dead_warning, lone_reason
    from arraykit.hardware.control import profiles_with_control
    from arraykit.live import FREQ_RANGE, NFFT, SILENCE, LiveStats, track

    # before the device opens, in the flags' names: a bad value costs nothing
    args.memory = v.positive("--memory", args.memory)
    args.block = v.positive("--block", args.block)
    if args.seconds is not None:
        args.seconds = v.positive("--seconds", args.seconds)
        if args.block > args.seconds:  # it ran the whole block
            why = f"is longer than --seconds {args.seconds:g}, which would run it whole"
            raise v.fail("--block", args.block, f"{why}: give --block {args.seconds:g} or less")
    extra = {"realtime": args.realtime} if str(args.device).startswith("sim:") else {}
    dev = open_device(args, on_loss="ignore", **extra)
    if dev.fs < 2 * FREQ_RANGE[1]:  # in the words of the flags live has (not freq_range)
        flag, rate = (
            ("fs", dev.fs) if args.samplerate is None else ("--samplerate", args.samplerate)
        )
        why = f"is too low for the band up to {FREQ_RANGE[1]:g} Hz"
        raise v.fail(flag, rate, f"{why}: live needs fs >= {2 * FREQ_RANGE[1]:g} Hz")
    ctl = None
    if args.led or args.compare_onchip:
        flag = "--led" if args.led else "--compare-onchip"
        if dev.profile.name not in profiles_with_control():  # the profile: a name not given
            why = (
                f"has no USB vendor control; arrays with one: {', '.join(profiles_with_control())}"
            )
            raise v.fail(flag, args.device, why)
        try:
            ctl = hw.control_for(dev.profile, backend=usb_backend)
        except hw.DeviceNotFoundError as exc:
            raise hw.DeviceNotFoundError(
                f"{flag} talks to the array's USB control interface: {exc}"
                + (" (a sim: device plays audio only)" if extra else "")
            ) from None
    stats = LiveStats()
    pairs: list[tuple[float, float]] = []  # (raw on-chip angle, arraykit azimuth)
    tty = sys.stdout.isatty()
    width = shutil.get_terminal_size().columns
    open_line = False  # a refreshing line is on the terminal, not yet ended
    said: set[str] = set()  # the kinds of no-source reason already told
    named: set[int] = set()  # the dead channels already told (each once)
    onchip = ctl.onchip_azimuth if (ctl is not None and args.compare_onchip) else None
    terms = {"memory": "--memory", "block": "--block", "num_sources": "--sources"}
    try:
        with dev, command_terms(terms):
            for est in track(
                dev,
                method=args.method,
                num_sources=args.sources,
                block=args.block,
                memory=args.memory,
                onchip=onchip,
                stats=stats,
            ):
                heard = est.no_source is None
                dirs = (
                    "  ".join(
                        f"az {a:5.1f}° el {e:4.1f}° conf {c:.2f}"
                        for a, e, c in zip(est.azimuth, est.elevation, est.confidence, strict=True)
                    )
                    if heard
                    else "silence"
                    if est.no_source == SILENCE
                    else "no directional source"
                )
                chip = "" if est.onchip is None else f"  on-chip {est.onchip:5.1f}°"
                if est.onchip is not None and heard:
                    raw = dev.profile.azimuth_to_onchip(est.onchip)
                    pairs.append((raw, float(est.azimuth[0])))
                lost = f"  lost {est.lost_frames}" if dev.overflows else ""
                # every talker heard within the last seconds, when more than this block's
                others = (
                    "  talkers " + " ".join(f"{a:.0f}°" for a, _ in est.talkers)
                    if len(est.talkers) > (len(est.azimuth) if heard else 0)
                    else ""
                )
                line = f"{est.time:7.2f} s  {dirs}{chip}{lost}{others}"
                M = dev.geometry.n_mics  # the others locate (one alone: no_source says it)
                alone = lone_reason(est.dead, M) is not None
                if not alone and not named.issuperset(est.dead):
                    named.update(est.dead)  # each channel once, all those dead now named
                    if open_line:
                        print(flush=True)
                        open_line = False
                    note = dead_warning(est.dead, M)
                    print(f"arraykit live: {note}", file=sys.stderr, flush=True)
                kind = (est.no_source or SILENCE).split(":")[0]
                if kind not in said and est.no_source not in (None, SILENCE):
                    said.add(kind)  # why, once per kind (the numbers change every block)
                    if open_line:
                        print(flush=True)
                        open_line = False
                    print(f"arraykit live: {est.no_source}", file=sys.stderr, flush=True)
                if tty and len(line) < width:  # refresh in place (a wrapped line cannot)
                    print("\r" + line.ljust(width - 1), end="", flush=True)
                    open_line = True
                else:
                    print(("\n" if open_line else "") + line, flush=True)
                    open_line = False
                if ctl is not None and args.led and heard:
                    ctl.led_point(float(est.azimuth[0]))
                if args.seconds is not None and est.time >= args.seconds:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        if ctl is not None:
            ctl.close()
    if open_line:
        print()
    if stats.blocks == 0:  # a stream that ended before one STFT frame: nothing was searched
        why = (
            f"gave {stats.samples} samples ({stats.samples / dev.fs:.3f} s), fewer than one "
            f"STFT frame of {NFFT} ({NFFT / dev.fs:.3f} s): nothing to locate"
        )
        raise v.fail("--device", args.device, why)
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

    file_or_device(args, args.file, "FILE")
    # a recording (FILE, or a file given as --device) is read whole: no sound to play
    whole = args.file is not None or is_recording(args.device)
    if not whole:  # recording: refuse a bad duration before asking for a sound
        args.seconds = v.positive("--seconds", args.seconds)
    sim = str(args.device).startswith("sim:") and args.azimuth is not None
    dev = open_device(args, **({"azimuth": args.azimuth} if sim else {}))  # the sim plays there
    with dev:
        if whole:
            x = np.concatenate(list(dev.blocks()), axis=1)
        else:
            print(
                f"recording {args.seconds:g} s from {dev.name}: play a sound now", file=sys.stderr
            )
            x = dev.record(args.seconds)
    where = ("FILE", args.file) if args.file else ("--device", str(args.device))
    with command_terms(recording=(*where, dev.fs)):
        report = check_signals(x.astype(np.float64), dev.fs, dev.geometry, azimuth=args.azimuth)
    print(report.summary())
    return 0 if report.ok else 1
