"""What the commands share about their inputs and figure outputs.

Every command that reads a multichannel recording (``doa``, ``beamform``, ``diagnose``,
``check``, ``live``) takes the same ``--geometry``, ``--profile`` and ``--channel-map``
and reads the file through :func:`open_recording`: a device's raw WAV (an 8-channel
UMA-8 take of 7 microphones) reads with ``--profile uma-8``, any other layout with
``--channel-map``; a mismatch says what to add, in the flags' own words.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from arraykit import _validate as v
from arraykit.hardware.file import SUFFIXES as FILE_SUFFIXES

__all__ = [
    "add_channel_args",
    "channel_map",
    "check_figure_output",
    "command_terms",
    "is_recording",
    "open_recording",
    "read_recording",
    "save_figure",
]


def channel_map(text: str | None) -> list[int] | None:
    """``--channel-map``: comma-separated channels, or an ODAS ``.cfg`` file's mapping."""
    from arraykit.hardware.profiles import check_channel_map

    if text is None:
        return None
    if text.lower().endswith(".cfg"):
        from arraykit.geometry import odas_channel_map

        if not Path(text).is_file():
            raise v.fail("--channel-map", text, "no such file")
        cmap = list(odas_channel_map(text))
    else:
        try:
            cmap = [int(t) for t in text.split(",") if t.strip()]
        except ValueError:
            raise v.fail(
                "--channel-map", text, "must be channels like 1,2,3,4 or an ODAS .cfg file"
            ) from None
    check_channel_map("--channel-map", text, cmap)
    return cmap


def add_channel_args(p: argparse.ArgumentParser) -> None:
    """``--profile`` and ``--channel-map``, as ``check`` and ``live`` have them."""
    p.add_argument(
        "--profile",
        help="device profile whose channel layout (and geometry) the input has, e.g. uma-8",
    )
    p.add_argument(
        "--channel-map",
        metavar="LIST|ODAS.cfg",
        help="channel of each microphone, in geometry order (from 0), e.g. 1,2,3,4, or an "
        "ODAS .cfg (its mapping)",
    )


def is_recording(path: Any) -> bool:
    """Whether ``--device`` names an audio file rather than a device."""
    return isinstance(path, str | Path) and Path(str(path)).suffix.lower() in FILE_SUFFIXES


def open_recording(
    path: str | Path,
    *,
    geometry: Any = None,
    profile: str | None = None,
    channel_map: Any = None,
    flag: str = "FILE",
    map_text: str | None = None,
    **kw: Any,
) -> Any:
    """The recording at `path` as a :class:`arraykit.hardware.FileDevice`, rows in
    geometry order, after checking the channel layout with messages in CLI terms
    (`map_text`: ``--channel-map`` as typed, when `channel_map` was read from it)."""
    import soundfile as sf

    from arraykit import hardware as hw
    from arraykit.errors import InvalidArgumentError

    p = Path(path)
    if not p.is_file():
        raise v.fail(flag, str(path), "no such file")
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise v.fail(flag, str(path), f"cannot be read as audio: {exc}") from None
    n = info.channels
    try:
        prof = hw.load_profile(profile) if profile is not None else None
    except InvalidArgumentError as exc:  # an unknown name: in the flag's words
        raise exc.renamed("--profile") from None
    g = geometry_flag(geometry) if geometry is not None else (prof.geometry if prof else None)
    cmap = (
        tuple(channel_map)
        if channel_map is not None
        else (prof.channel_map if prof is not None else None)
    )
    if cmap is not None and (not cmap or min(cmap) < 0 or max(cmap) >= n):
        if channel_map is not None and map_text is not None and map_text.lower().endswith(".cfg"):
            why = (
                f"its mapping.map reads channel {max(cmap) + 1} (from 1) but {p.name} has "
                f"{n} channel(s): a recording already in geometry order (one made with this "
                "map) needs no --channel-map"
            )
            raise v.fail("--channel-map", map_text, why)
        raise v.fail(
            "--channel-map" if channel_map is not None else "--profile",
            ",".join(map(str, cmap)) if channel_map is not None else profile,
            f"needs channel {max(cmap, default=0)} but {p.name} has {n} channel(s) (0..{n - 1})",
        )
    if cmap is None:
        refuse_unread_odas_map(geometry, g, n, flag, str(path))
    used = n if cmap is None else len(cmap)
    if g is not None and used != g.n_mics:
        raise v.fail(flag, str(path), _layout_hint(p.name, n, g, cmap, channel_map is not None))
    if g is None and kw.get("all_channels") is not True:
        raise v.fail(
            flag,
            str(path),
            f"has {n} channel(s) and no geometry known: give --geometry NAME or FILE (or "
            "--profile NAME of the device that recorded it)",
        )
    given = None if geometry is None else g  # as read above (an ArrayGeometry passes through)
    try:
        return hw.open(str(p), profile=profile, channel_map=cmap, geometry=given, **kw)
    except InvalidArgumentError as exc:  # about the file (no frames): in the command's words
        if exc.name != "path":
            raise
        raise exc.renamed(flag) from None


def odas_map_of(geometry: Any) -> tuple[int, ...] | None:
    """The channel map (0-based) of an ODAS ``.cfg`` given as ``--geometry``, or None (another
    geometry, or a .cfg without ``mapping.map``: its positions alone count). A map that is
    there but wrong (a 0 that mutes a microphone, a length that is not the mics') raises."""
    from arraykit.geometry.files import odas_map_in

    if not isinstance(geometry, str | Path) or Path(geometry).suffix.lower() != ".cfg":
        return None
    return odas_map_in(geometry)


def refuse_unread_odas_map(geometry: Any, g: Any, n: int | None, flag: str, what: str) -> None:
    """An ODAS ``.cfg`` as ``--geometry`` whose ``mapping.map`` reads other channels than
    0..M-1 (and could read this input's `n` channels): refused unless ``--channel-map`` says
    which. Read in file order, the microphones' signals came from the wrong places (a
    direction 100-180 degrees off, said with confidence 0.85-0.95)."""
    cmap = odas_map_of(geometry)
    if cmap is None or g is None or cmap == tuple(range(g.n_mics)):
        return
    if n is not None and max(cmap) >= n:  # not this input's layout: the file is in order
        return
    odas = ",".join(str(c + 1) for c in cmap)
    ours = ",".join(str(c) for c in cmap)
    why = (
        f"reads its microphones from channels {odas} of {flag} {what!r} (ODAS mapping.map, "
        f"from 1; {ours} from 0): add --channel-map {geometry} to read them so"
    )
    if n is None or n == g.n_mics:
        why += f", or --channel-map {','.join(map(str, range(g.n_mics)))} if {flag} holds "
        why += "them in geometry order already"
    raise v.fail("--geometry", str(geometry), why)


def _layout_hint(name: str, n: int, g: Any, cmap: tuple[int, ...] | None, explicit: bool) -> str:
    from arraykit import hardware as hw

    gname = g.name or "the geometry"
    if cmap is not None:
        what = "--channel-map" if explicit else "the profile's channel map"
        return (
            f"{what} picks {len(cmap)} channel(s) but geometry {gname!r} has {g.n_mics} "
            "microphones: name one channel per microphone"
        )
    fits = []
    for pname in hw.list_profiles():
        prof = hw.load_profile(pname)
        if prof.geometry_name == g.name and any(f.channels == n for f in prof.firmwares):
            fits.append(pname)
    hint = (
        f"add --profile {fits[0]} (that device's {n}-channel layout)"
        if fits
        else f"add --channel-map with the file channel of each of the {g.n_mics} "
        f"microphones, e.g. --channel-map {','.join(map(str, range(g.n_mics)))}"
    )
    if n < g.n_mics:
        hint = "is it a recording of another array?"
    return f"has {n} channel(s) but geometry {gname!r} has {g.n_mics} microphones: {hint}"


def read_recording(
    path: str | Path, args: argparse.Namespace, *, flag: str = "FILE", purpose: str | None = None
) -> tuple[np.ndarray, int, Any]:
    """Signals ``(M, N)`` float64 in geometry order, the rate and the geometry of the
    recording named on the command line (``--geometry`` / ``--profile`` /
    ``--channel-map`` of `args`). With a `purpose` ("beamform"), a recording that is
    all zero is refused: there is nothing to do it on."""
    dev = open_recording(
        path,
        geometry=getattr(args, "geometry", None),
        profile=getattr(args, "profile", None),
        channel_map=channel_map(getattr(args, "channel_map", None)),
        map_text=getattr(args, "channel_map", None),
        flag=flag,
        blocksize=1 << 16,
    )
    with dev:
        x = np.concatenate(list(dev.blocks()), axis=1).astype(np.float64)
    if purpose is not None and not np.any(x):
        raise v.fail(flag, str(path), f"is all zero (silence): nothing to {purpose}")
    return x, int(dev.fs), dev.geometry


@contextmanager
def command_terms(
    flags: Mapping[str, str | None] = MappingProxyType({}),
    recording: tuple[str, str, float] | None = None,
) -> Iterator[None]:
    """The library's errors in the command's words: about an argument in `flags`, as
    about that flag; with the `recording` (its flag, path and rate), about ``signals`` as
    about the recording, and about an argument mapped to None as about the recording at
    its rate (a band the command fixes)."""
    from arraykit.errors import InvalidArgumentError

    try:
        yield
    except InvalidArgumentError as exc:
        to = flags.get(exc.name, "") if exc.name is not None else ""
        if recording is not None and (exc.name == "signals" or (to is None and exc.name)):
            flag, path, fs = recording
            why = exc.why if exc.name == "signals" else f"sampled at {fs:g} Hz, {exc}"
            raise v.fail(flag, path, why or str(exc)) from None
        if to:
            raise exc.renamed(to) from None
        raise


def check_figure_output(path: str | None, flag: str, made: str | None = None) -> None:
    """Refuse a figure path matplotlib cannot write before any work is done.

    `made` is a folder the command creates before it draws (``track -o DIR``): the figure
    may go there although it does not exist yet.
    """
    if path is None:
        return
    p = Path(path)
    if str(path).endswith(("/", os.sep)) or p.is_dir():
        raise v.fail(flag, str(path), "is a folder: give a file name such as map.png")
    ext = p.suffix[1:].lower()
    known = ("png", "pdf", "svg", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp")
    if ext not in known:
        raise v.fail(flag, str(path), f"needs a figure extension: {', '.join(known[:4])}, ...")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir() and not (
        made is not None and parent.absolute() == Path(made).absolute()
    ):
        raise v.fail(flag, str(path), f"folder {str(parent)!r} does not exist")
    if parent.is_dir() and not os.access(parent, os.W_OK):
        raise v.fail(flag, str(path), f"folder {str(parent)!r} is not writable")


def save_figure(fig: Any, path: str, **kw: Any) -> None:
    """``fig.savefig(path, **kw)`` written beside `path` and renamed over it
    (:func:`arraykit.io.replacing`): a full disk leaves an earlier picture as it was."""
    from arraykit.io import replacing

    with replacing(path) as tmp:
        fig.savefig(tmp, **kw)


def geometry_flag(text: Any, flag: str = "--geometry") -> Any:
    """``--geometry``: a known name or a .toml / .xml / .cfg file, as
    :func:`arraykit.geometry.load_geometry` reads it (None stays None), with errors about
    the name or path in the flag's words (a malformed file's message names its field)."""
    from arraykit.errors import InvalidArgumentError
    from arraykit.geometry import load_geometry

    if text is None:
        return None
    try:
        return load_geometry(text)
    except InvalidArgumentError as exc:
        if exc.name != "name_or_path":  # a malformed file: its message names the field
            raise
        raise exc.renamed(flag) from None


def refuse_overwriting_input(input_path: str, output_path: str, flag: str = "--output") -> None:
    """Refuse an output path (`flag`) that names the input file (the recording would be lost)."""
    same = os.path.realpath(input_path) == os.path.realpath(output_path)
    if not same and os.path.exists(output_path) and os.path.exists(input_path):
        same = os.path.samefile(input_path, output_path)
    if same:
        raise v.fail(
            flag,
            output_path,
            f"is the input recording {input_path!r}; writing there would destroy it. "
            "Give another output file",
        )
