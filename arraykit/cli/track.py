"""``arraykit track``: the live front end on a file or a device.

``arraykit track IN.wav --geometry G -o DIR`` runs it on a recording (as fast as the
machine allows); ``arraykit track --device D -o DIR`` live (``sim:NAME`` is the
simulated array). Both write ``DIR/tracks.jsonl`` (one JSON object per block) and
``DIR/track-<id>.wav`` (each track's voice, mono, sample-aligned with the input), both
valid at every moment: Ctrl-C or SIGTERM stop between blocks, and even SIGKILL leaves
readable files holding every complete block.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from arraykit.cli._inputs import check_figure_output, refuse_overwriting_input
from arraykit.cli.hardware import (
    _device_args,
    _StopOnSignal,
    file_or_device,
    open_device,
)
from arraykit.frontend.pipeline import ACTIVITIES
from arraykit.frontend.separation import SEPARATIONS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "track",
        help="track talkers and write each one's voice (a file or a live device)",
        description="Speech activity, several directions per block, tracks with persistent "
        "IDs and one beamformer per track. Writes DIR/tracks.jsonl (one JSON object per "
        "block: t, tracks [id, azimuth, elevation, activity, level_db], events [born, "
        "ended, frames_lost, dead_channels, clipping]) and DIR/track-<id>.wav (mono, the input's rate, sample n "
        "of every file is sample n of the input).",
    )
    p.add_argument("input", nargs="?", metavar="IN.wav", help="a recording (else --device)")
    _device_args(p)
    p.add_argument(
        "-o",
        "--out",
        required=True,
        metavar="DIR",
        help="output folder: new, or one without an earlier run's tracks (never overwritten)",
    )
    p.add_argument(
        "--json",
        metavar="TARGET",
        help="also send the JSON lines to '-' (stdout), a file, or udp://127.0.0.1:PORT",
    )
    p.add_argument("--seconds", type=float, help="stop after this much audio")
    p.add_argument("--view", action="store_true", help="show the azimuth x time map live")
    p.add_argument("--view-png", metavar="PNG", help="save the map to this picture at the end")
    p.add_argument("--play", metavar="DEVICE", help="play the strongest track on this output")
    p.add_argument(
        "--separation",
        choices=SEPARATIONS,
        help="per track (default: near on arrays of 15 cm or more, such as the UMA-16, whose "
        "near talkers have curved wavefronts; mvdr on smaller ones)",
    )
    p.add_argument(
        "--postfilter",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Wiener post-filter per track (default on: +2 dB median SIR gain measured)",
    )
    p.add_argument(
        "--postfilter-leak",
        type=float,
        metavar="ETA",
        help="the post-filter counts ETA times the other tracks' output power in a bin as "
        "interference there (default 0.3: +3 dB median SIR gain measured; 0: off; "
        "refused with --no-postfilter)",
    )
    p.add_argument(
        "--activity",
        choices=ACTIVITIES,
        default="auto",
        help="speech activity (auto: WebRTC VAD and energy both; energy alone without the VAD "
        "or at a rate it cannot take, such as 44100; silero: Silero's VAD, the silero extra)",
    )
    p.add_argument(
        "--max-sources",
        type=int,
        default=None,
        help="directions per block (default: 2 with more than four microphones, else 1)",
    )
    p.add_argument(
        "--zones",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="onset zones: detect a talker who starts over another sooner (4-mic: 0.40 -> 0.16 s "
        "median, 6-mic: 0.24 -> 0.18 s; about 25 %% more CPU; default: on)",
    )
    p.add_argument("--realtime", action="store_true", help="pace a sim: device in real time")
    p.set_defaults(handler=run_track)


def _check_out_dir(path: str) -> None:
    """DIR must be a folder or a new name inside one that exists (as every command's
    output must), and hold no tracks of an earlier run (they would be overwritten, or
    left among the new ones), checked before the device is opened."""
    from pathlib import Path

    from arraykit import _validate as v

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise v.fail("--out", path, "is a file: give a folder for tracks.jsonl and track-<id>.wav")
    if not out.exists() and not out.absolute().parent.is_dir():
        raise v.fail(
            "--out", path, f"its folder {str(out.parent)!r} does not exist: create it first"
        )
    if not out.exists():  # /proc/x, a read-only disk: tried, and removed again
        try:
            out.mkdir()
            out.rmdir()
        except OSError as exc:
            raise v.fail("--out", path, f"cannot be made a folder: {exc.strerror}") from None
    if out.is_dir():
        earlier = sorted(p.name for p in out.glob("track*") if _TRACK_FILE.fullmatch(p.name))
        if earlier:
            shown = ", ".join(earlier[:3]) + (", ..." if len(earlier) > 3 else "")
            raise v.fail(
                "--out",
                path,
                f"holds {shown} from an earlier run: give a new folder (or move them away)",
            )
        try:  # a read-only disk, /sys: tried (root passes os.access), and removed again
            fd, probe = tempfile.mkstemp(prefix=".arraykit-", dir=out)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise v.fail("--out", path, f"cannot be written in: {exc.strerror}") from None


_TRACK_FILE = re.compile(r"tracks\.jsonl|track-\d+\.wav")


def _check_json_target(target: str, args: argparse.Namespace) -> None:
    """``--json TARGET`` may not be a file the run reads or writes otherwise (the input
    recording, DIR or DIR/tracks.jsonl, the --view-png picture) nor a file that holds data
    already (never overwritten, as DIR is; a pipe or /dev/stdout is fine)."""
    from arraykit import _validate as v

    scheme, sep, _ = target.partition("://")
    if not target or (sep and scheme.lower() != "udp"):
        why = "give '-' (stdout), a file or udp://127.0.0.1:PORT"
        if sep:  # ODAS's outputs connect to a TCP server: tcp:// is what its users try
            why = f"arraykit sends no {scheme}:// lines: {why}"
        raise v.fail("--json", target, why)
    if args.input is not None:
        refuse_overwriting_input(args.input, target, "--json")
    path = os.path.realpath(target)
    if path == os.path.realpath(os.path.join(args.out, "tracks.jsonl")):
        raise v.fail("--json", target, "is DIR/tracks.jsonl, already written: leave --json out")
    if path == os.path.realpath(args.out):
        why = "is the output folder (-o): name a file outside it, or leave --json out"
        raise v.fail("--json", target, f"{why} (DIR/tracks.jsonl holds the lines)")
    if not os.path.exists(args.out) and os.path.dirname(path) == os.path.realpath(args.out):
        why = f"is inside the output folder {args.out!r}, which this run makes: name a file "
        why += "outside it, or leave --json out (DIR/tracks.jsonl holds the same lines)"
        raise v.fail("--json", target, why)
    if args.view_png and path == os.path.realpath(args.view_png):
        raise v.fail("--json", target, "is also --view-png, the picture: name another file")
    if os.path.isfile(target) and os.path.getsize(target) > 0:
        why = "holds an earlier file (never overwritten): remove it or name a new file"
        raise v.fail("--json", target, why)


def run_track(args: argparse.Namespace) -> int:
    from arraykit import _validate as v
    from arraykit.doa.run import dead_warning, lone_reason
    from arraykit.errors import InvalidArgumentError
    from arraykit.frontend import FrontendOptions, Pipeline
    from arraykit.frontend.activity import unheard
    from arraykit.frontend.outputs import GrowingWav, JsonLines, Player, TrackFiles

    file_or_device(args, args.input, "IN.wav")
    if args.postfilter_leak is not None and not args.postfilter:
        why = "weighs a term of the post-filter, which --no-postfilter turns off: give one of them"
        raise v.fail("--postfilter-leak", args.postfilter_leak, why)
    _check_out_dir(args.out)
    check_figure_output(args.view_png, "--view-png", made=args.out)
    if args.json is not None:
        _check_json_target(args.json, args)
    extra = {"realtime": args.realtime} if str(args.device).startswith("sim:") else {}
    if args.realtime and not extra:
        why = "paces a sim: device only (a recording runs as fast as it can, a device at its own pace)"
        raise v.fail("--realtime", True, why)
    if args.input is None and not str(args.device).startswith("sim:"):
        extra["on_loss"] = "ignore"
    dev = open_device(args, **extra)
    limit = None if args.seconds is None else round(v.positive("--seconds", args.seconds) * dev.fs)
    deaf = unheard(args.activity, dev.fs)  # before DIR is made (the pipeline would say fs=)
    if deaf is not None:
        how = f"{deaf}, not {dev.fs:g} Hz: use --activity energy (or auto)"
        raise v.fail("--activity", args.activity, how)
    try:
        opts = FrontendOptions(
            separation=args.separation,
            postfilter=args.postfilter,
            postfilter_leak=(
                FrontendOptions.postfilter_leak
                if args.postfilter_leak is None
                else args.postfilter_leak
            ),
            activity=args.activity,
            max_sources=args.max_sources,
            zones=args.zones,
        )
        pipe = Pipeline(dev.geometry, dev.fs, opts)
    except InvalidArgumentError as exc:  # in the flag's words
        flags = {"max_sources": "--max-sources", "postfilter_leak": "--postfilter-leak"}
        if args.samplerate is not None:  # a simulated device's rate, as the user gave it
            flags["fs"] = "--samplerate"
        raise exc.renamed(flags[exc.name]) if exc.name in flags else exc from None
    # checked before DIR is touched
    n = getattr(dev, "n_frames", None)  # a recording's length (a device has none)
    if n is not None and n < pipe.nfft:
        why = f"has {n} samples, fewer than one frame (nfft={pipe.nfft}): nothing to track"
        raise v.fail("IN.wav", args.input, why)
    if limit is not None and limit < pipe.nfft:
        why = f"is {limit} samples at {dev.fs:g} Hz, fewer than one frame (nfft={pipe.nfft}, "
        raise v.fail("--seconds", args.seconds, f"{why}{pipe.nfft / dev.fs:g} s): nothing to track")
    # every track WAV is as long as the run: a run stops where they are full (4 GiB)
    cap = GrowingWav.max_frames()
    most = f"{cap // dev.fs:.0f} s ({cap / dev.fs / 3600:.1f} h at {dev.fs:g} Hz)"
    full = f"the {most} a track WAV holds (4 GiB of 16-bit samples)"
    if limit is not None and limit > cap:
        raise v.fail("--seconds", args.seconds, f"is more than {full}: run it in parts")
    if limit is None and n is not None and n > cap:
        why = f"lasts {n / dev.fs:.0f} s, more than {full}: track it in parts"
        raise v.fail("IN.wav", args.input, f"{why} (--seconds {cap // dev.fs} for the first)")
    stop_at = cap if limit is None else limit
    view = None
    if args.view or args.view_png:
        from arraykit.frontend.view import LiveView

        view = LiveView(interactive=bool(args.view))
        if args.view and view.window_backend() is None:
            import matplotlib

            why = "matplotlib has no window to draw in here (no display?)"
            raise v.fail(
                "--view", matplotlib.get_backend(), f"{why}: save the map with --view-png PNG"
            )
    player = Player(args.play, int(dev.fs), name="--play") if args.play else None
    try:  # opened (a file: emptied) once nothing else can refuse the run
        extra_sink = JsonLines(args.json, name="--json") if args.json is not None else None
    except BaseException:
        if player is not None:
            player.close()
        raise
    files = TrackFiles(args.out, int(dev.fs))
    sinks = [JsonLines(f"{args.out}/tracks.jsonl", name="--out")]
    if extra_sink is not None:
        sinks.append(extra_sink)

    heard = np.zeros(dev.geometry.n_mics, dtype=bool)  # channels that held anything
    # the channels the beamformers leave out (the last event), and whether stderr said so
    left_out: list[tuple[tuple[int, ...], bool]] = [((), False)]

    # a sink whose writes fail (the reader of `--json - | head` gone, a full disk) is
    # dropped at once, and the run stops as Ctrl-C stops it: DIR's files still finished
    failed: list[tuple[Any, OSError]] = []

    def emit(reports: Iterable[Any]) -> None:
        for r in reports:
            line = r.as_dict()
            for s in list(sinks):
                try:
                    s.write(line)
                except OSError as exc:
                    sinks.remove(s)
                    failed.append((s, exc))
            for tid, (start, samples) in r.audio.items():
                files.write(tid, start, samples)
            for e in r.events:  # a microphone that dies, clips or comes back during the run
                if e.kind == "clipping":
                    print(f"arraykit track: {_clipping_note(e)}", file=sys.stderr)
                if e.kind != "dead_channels":
                    continue
                was, told = left_out[0]
                # channels silent from the start are named at the end (unless they come to
                # life); a channel dying later, and any coming back, here
                note = _channels_note(e, was, told, heard)
                if note is not None:
                    print(f"arraykit track: {note}", file=sys.stderr)
                left_out[0] = (tuple(e.channels), told or note is not None)
            if player is not None:
                player.play(_strongest(r, pipe.block_n))
            if view is not None:
                view.add(r)
        if view is not None and args.view:
            view.refresh()

    expected = 0
    lost = 0
    t_wall = time.perf_counter()
    try:
        with _StopOnSignal() as stop, dev:
            for start, block in dev.blocks_with_index():
                if start > expected:  # the device lost frames: keep the timing
                    gap = min(start, stop_at) - expected  # (up to the end of the run)
                    lost += gap
                    emit(pipe.lost_blocks(gap))
                x = block.astype(np.float64)[:, : max(0, stop_at - start)]
                heard |= np.any(x, axis=1)
                expected = start + block.shape[1]
                emit(pipe.process(x))
                stalled = player is not None and player.stalled is not None
                if expected >= stop_at or stop.is_set() or failed or stalled:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        emit(pipe.finish())
        files.finish(pipe.samples_in)
        for s in sinks:
            s.close()
        if player is not None:
            player.close()
        if view is not None and args.view_png:
            view.save(args.view_png)
    wall = time.perf_counter() - t_wall
    if player is not None and player.stalled is not None:
        from arraykit.errors import DeviceError

        raise DeviceError(
            f"--play={args.play!r}: {player.stalled}: stopped at "
            f"{pipe.samples_in / dev.fs:.2f} s; {args.out} holds the run up to there"
        )
    for s, err in failed:  # a reader that went away (`| head`) is no error
        if not isinstance(err, BrokenPipeError):
            why = f"a JSON line could not be written ({err.strerror or err}): stopped at"
            raise OSError(
                f"{s.name}={s.target!r}: {why} {pipe.samples_in / dev.fs:.2f} s; "
                f"{args.out} holds the run up to there"
            )
    if limit is None and pipe.samples_in >= cap:
        print(
            f"arraykit track: stopped after {most}: the track WAVs are full (4 GiB); "
            "run again into a new folder to go on",
            file=sys.stderr,
        )
    if player is not None:
        print(
            f"played {player.played} samples to {args.play} ({player.underflows} underflows)",
            file=sys.stderr,
        )
    if heard.any() and not heard.all():  # a dead microphone, a map pointing at nothing
        dead = tuple(int(m) for m in np.flatnonzero(~heard))
        M = dev.geometry.n_mics
        note = lone_reason(dead, M) or dead_warning(dead, M)
        print(f"arraykit track: {note}", file=sys.stderr)
    elif pipe.samples_in and not heard.any():
        print("arraykit track: silence: every sample is zero, no talker to track", file=sys.stderr)
    secs = pipe.samples_in / dev.fs
    ids = sorted(files.files)
    print(
        f"{secs:.2f} s of audio from {dev.name}: {len(ids)} track(s) {ids}; real-time factor "
        f"{pipe.compute_seconds / secs if secs else 0.0:.3f} (wall {wall:.1f} s); algorithmic "
        f"latency {pipe.latency * 1e3:.0f} ms; {lost} frames lost; wrote {args.out}",
        file=sys.stderr,
    )
    return 0


def _clipping_note(e: Any) -> str:
    """The stderr line of a ``"clipping"`` event."""
    if not e.channels:
        return f"{e.t:.2f} s: no channel clips now; the search and the beamformers read them all"
    names = ", ".join(str(m) for m in e.channels)
    what = (
        "too few others to leave them out: read as they are"
        if e.kept
        else "left out of the search and the beamformers while they do"
    )
    return f"{e.t:.2f} s: channel(s) {names} clip (flat tops at full scale: lower the input gain); {what}"


def _channels_note(e: Any, was: tuple[int, ...], told: bool, heard: np.ndarray) -> str | None:
    """The stderr line of a ``"dead_channels"`` event (`was`: the channels left out until
    then, `told`: whether a line said so; `heard`: the channels that held anything so
    far), or None for channels silent from the start (named at the end of the run)."""
    now = tuple(e.channels)
    gone = [m for m in now if m not in was]
    back = [m for m in was if m not in now]
    if any(heard[m] for m in gone):
        names = ", ".join(str(m) for m in now)
        return (
            f"{e.t:.2f} s: channel(s) {names} went silent (all zero or 30 dB under the others: "
            "a microphone unplugged or failing?); the beamformers leave them out from here"
        )
    if not back:
        return None
    names = ", ".join(str(m) for m in back)
    if now:
        rest = ", ".join(str(m) for m in now)
        return f"{e.t:.2f} s: channel(s) {names} live again; the beamformers leave out {rest}"
    if not told:  # silent from the start: never said
        return (
            f"{e.t:.2f} s: channel(s) {names}, silent until now, live; the beamformers steer "
            "every channel from here"
        )
    return f"{e.t:.2f} s: every channel live again; the beamformers steer them all"


def _strongest(report: Any, n: int) -> np.ndarray:
    """The block's samples of its loudest track (silence when there is none)."""
    best = max(report.tracks, key=lambda t: t.level_db, default=None)
    if best is None or best.id not in report.audio:
        return np.zeros(n)
    return report.audio[best.id][1]
