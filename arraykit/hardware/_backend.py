"""The two hardware back ends (PortAudio through sounddevice, libusb through pyusb).

Both are optional: they are imported here, lazily, and nowhere else, and their
errors are translated here into the small :class:`arraykit.DeviceError` tree.
"""

from __future__ import annotations

import errno as _errno
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from arraykit import _validate as v
from arraykit.errors import DeviceError

log = logging.getLogger(__name__)

__all__ = [
    "AudioServerTimeoutError",
    "BackendMissingError",
    "ControlError",
    "DeviceDisconnectedError",
    "DeviceNotFoundError",
    "FramesLostError",
    "PermissionDeniedError",
    "import_sounddevice",
    "import_usb",
    "translate_usb_error",
    "within_time_limit",
]

T = TypeVar("T")

PORTAUDIO_TIMEOUT = 5.0
"""Seconds PortAudio may take to initialise or answer a device query (an audio server
that is frozen makes it wait forever); ``ARRAYKIT_PORTAUDIO_TIMEOUT`` overrides it."""

UDEV_RULE = "hardware/99-arraykit-mic-arrays.rules"
UDEV_HINT = (
    "install arraykit's udev rule so the vendor interface works without root: "
    "sudo cp \"$(python -c 'import arraykit.hardware as h; print(h.udev_rule_path())')\" "
    "/etc/udev/rules.d/ && sudo udevadm control --reload && sudo udevadm trigger, "
    "then unplug and replug the array"
)


class DeviceNotFoundError(DeviceError):
    """No device matches; the message lists what was found."""


class BackendMissingError(DeviceError):
    """PortAudio, pyusb or a libusb back end is not installed; the message says how to install it."""


class PermissionDeniedError(DeviceError):
    """The operating system refused access to the USB device (see the udev rule)."""


class DeviceDisconnectedError(DeviceError):
    """The device went away (or stopped delivering audio) in the middle of a stream.

    ``signals`` holds what was captured before (``(M, N)`` float32) when known.
    """

    def __init__(self, message: str, signals: Any = None) -> None:
        super().__init__(message)
        self.signals = signals


class FramesLostError(DeviceError):
    """Frames were lost during capture (input overflow or a full queue).

    ``overflows`` lists the :class:`arraykit.hardware.Overflow` events and ``signals``
    holds the (gappy) recording, so nothing is hidden.
    """

    def __init__(self, message: str, overflows: Any = (), signals: Any = None) -> None:
        super().__init__(message)
        self.overflows = list(overflows)
        self.signals = signals


class ControlError(DeviceError):
    """A vendor control transfer failed (bad status byte, too many retries)."""


class AudioServerTimeoutError(DeviceError):
    """PortAudio did not answer in time: an audio server (JACK, PulseAudio) is frozen."""


def half_written_jack_db() -> Path | None:
    """JACK's metadata database folder if it was left half-written, else None.

    A JACK client killed while it creates ``/dev/shm/jack_db-<uid>`` leaves an empty
    ``__db.001``; every JACK client after it (PortAudio's initialisation included) then
    waits on it for ever.
    """
    db = Path("/dev/shm") / f"jack_db-{os.getuid()}"
    first = db / "__db.001"
    return db if first.is_file() and first.stat().st_size == 0 else None


def _audio_servers() -> str:
    """Which audio servers PortAudio talks to here, and what to do: for the message when
    one hangs."""
    names, hints = [], []
    jack = os.environ.get("JACK_DEFAULT_SERVER", "default")
    if "JACK_DEFAULT_SERVER" in os.environ or any(
        Path("/dev/shm").glob(f"jack_{jack}_{os.getuid()}_*")
    ):
        names.append(f"the JACK server {jack!r}")
        hints.append("is jackd stopped or hung? restart it")
    runtime = Path(os.environ.get("XDG_RUNTIME_DIR", f"/run/user/{os.getuid()}"))
    if (runtime / "pulse" / "native").exists() or (runtime / "pipewire-0").exists():
        names.append("the PulseAudio/PipeWire server")
        hints.append("systemctl --user restart pipewire pulseaudio")
    db = half_written_jack_db()
    if db is not None:
        names.append(f"JACK's metadata database {db}")
        hints.append(f"it is half-written: with no jackd running, rm -r {db}")
    if not names:
        return "the audio server behind PortAudio did not answer"
    return f"{' or '.join(names)} did not answer ({'; '.join(hints)})"


_stuck: str | None = None  # set once PortAudio hung: later calls fail at once


def within_time_limit(fn: Callable[[], T], what: str, timeout: float | None = None) -> T:
    """Run a PortAudio call in a helper thread; raise if it does not return in time.

    PortAudio blocks forever (Ctrl-C ignored) when an audio server it connects to
    is frozen; the program must say so instead of hanging. The stuck thread is a
    daemon: it does not keep the program alive.
    """
    global _stuck
    if _stuck is not None:
        raise AudioServerTimeoutError(_stuck)
    env = os.environ.get("ARRAYKIT_PORTAUDIO_TIMEOUT")
    limit = v.positive(
        "timeout" if timeout is not None else "ARRAYKIT_PORTAUDIO_TIMEOUT",
        timeout if timeout is not None else (env or PORTAUDIO_TIMEOUT),
    )
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    try:
        saved: int | None = os.dup(2)  # sounddevice sends stderr to /dev/null while
    except OSError:  # PortAudio starts: restore it if PortAudio never returns
        saved = None
    try:
        t = threading.Thread(target=run, name="arraykit-portaudio", daemon=True)
        t.start()
        t.join(limit)
        if t.is_alive():
            if saved is not None:
                os.dup2(saved, 2)
            _stuck = f"PortAudio did not finish {what} within {limit:g} s: {_audio_servers()}"
            raise AudioServerTimeoutError(_stuck)
    finally:
        if saved is not None:
            os.close(saved)
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def release_stream(stream: Any, name: str, timeout: float) -> bool:
    """Stop and close a PortAudio stream in a helper thread, waiting at most `timeout`
    seconds; whether it was released. PortAudio can block forever stopping a stream
    whose server froze or vanished: then its exit hook (``Pa_Terminate``, which would
    wait on that stream at interpreter exit) is skipped, and the program goes on."""

    def release() -> None:
        try:
            stream.stop()
        except Exception as exc:  # a vanished device cannot always be stopped
            log.debug("stopping %s: %s", name, exc)
        finally:
            try:
                stream.close()
            except Exception as exc:
                log.debug("closing %s: %s", name, exc)

    t = threading.Thread(target=release, name=f"arraykit-release {name}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        import sys

        sd = sys.modules.get("sounddevice")
        if sd is not None and getattr(sd, "_initialized", 0) > 0:
            setattr(sd, "_initialized", 0)  # noqa: B010 (a private flag of sounddevice)
        return False
    return True


def import_sounddevice() -> Any:
    """Import sounddevice (PortAudio initialises then, within a time limit), or say what
    to install."""
    import sys

    if "sounddevice" in sys.modules and _stuck is None:
        return sys.modules["sounddevice"]
    return within_time_limit(_import_sounddevice, "initialising")


def _import_sounddevice() -> Any:
    try:
        import sounddevice
    except ModuleNotFoundError:
        raise BackendMissingError(
            "audio capture needs the sounddevice package (part of arraykit's default install): pip install sounddevice"
        ) from None
    except OSError as exc:  # sounddevice loads PortAudio at import
        raise BackendMissingError(
            f"the PortAudio library was not found ({exc}): install it with "
            "'apt-get install libportaudio2' (Debian/Ubuntu), 'dnf install portaudio' "
            "(Fedora) or 'brew install portaudio' (macOS)"
        ) from None
    return sounddevice


def import_usb() -> Any:
    """Import pyusb (``usb.core``, ``usb.util``), or say what to install."""
    try:
        import usb.core
        import usb.util
    except ModuleNotFoundError:
        raise BackendMissingError(
            "USB vendor control needs the pyusb package (part of arraykit's default install): pip install pyusb"
        ) from None
    return usb


def no_libusb_error() -> BackendMissingError:
    return BackendMissingError(
        "pyusb found no libusb back end: install libusb ('apt-get install libusb-1.0-0' on "
        "Debian/Ubuntu, 'brew install libusb' on macOS)"
    )


def translate_usb_error(exc: BaseException, what: str) -> DeviceError:
    """One place that turns pyusb errors into arraykit's exception tree."""
    usb = import_usb()
    if isinstance(exc, usb.core.NoBackendError):
        return no_libusb_error()
    code = getattr(exc, "errno", None)
    if code in (_errno.EACCES, _errno.EPERM):
        return PermissionDeniedError(f"{what}: permission denied ({exc}); {UDEV_HINT}")
    if code in (_errno.ENODEV, _errno.ENOENT):
        return DeviceDisconnectedError(f"{what}: the device is gone ({exc}); is it plugged in?")
    if code in (_errno.ETIMEDOUT,):
        return ControlError(f"{what}: the device did not answer in time ({exc})")
    return ControlError(f"{what}: USB error ({exc})")
