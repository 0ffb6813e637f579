"""Vendor control of XMOS-based arrays over USB control transfers (pyusb).

:class:`XVF3000` drives the Seeed ReSpeaker USB Mic Array v2.0 (tuning parameters
with their non-IEEE float encoding ``value * 2**exponent``, on-chip DOA and VAD, the
12-LED ring); :class:`XVF3800` drives the ReSpeaker XVF3800 (the status-byte
protocol with retries, DOA, the microphone geometry the device reports, LEDs, AGC).

Both take a pyusb device (or find one by its ids) and pyusb's own ``backend=``
injection point, so tests drive them with a fake back end through the real pyusb
code. Both are context managers releasing the USB resources on exit.

Examples
--------
>>> from arraykit.hardware import XVF3000
>>> p = XVF3000.PARAMETERS["AGCMAXGAIN"]
>>> p.resid, p.cmd, p.type, p.access, p.min, p.max
(19, 1, 'float', 'rw', 1.0, 1000.0)
"""

from __future__ import annotations

import logging
import math
import struct
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np

from arraykit import _validate as v
from arraykit.geometry import ArrayGeometry
from arraykit.hardware._backend import (
    ControlError,
    DeviceNotFoundError,
    import_usb,
    no_libusb_error,
    translate_usb_error,
)
from arraykit.hardware.control import LedAction, Parameter, _num, run_led
from arraykit.hardware.profiles import Profile, load_profile

__all__ = ["XVF3000", "XVF3800"]

log = logging.getLogger(__name__)

CTRL_OUT_VENDOR = 0x40  # host to device | vendor | device recipient
CTRL_IN_VENDOR = 0xC0  # device to host | vendor | device recipient
N_LEDS = 12
F32_MAX = float(np.finfo(np.float32).max)


def _p3000(
    name: str, resid: int, offset: int, typ: str, access: str, lo: float, hi: float, doc: str
) -> tuple[str, Parameter]:
    return name, Parameter(name, resid, offset, typ, access, float(lo), float(hi), 1, doc)


# XVF-3000 tuning table (resource id, offset, type, access, range), as HARDWARE.md lists
# the parameters of the ReSpeaker USB Mic Array v2.0 firmware.
_XVF3000_TABLE = dict(
    [
        _p3000("AECFREEZEONOFF", 18, 7, "int", "rw", 0, 1, "freeze echo-canceller adaptation"),
        _p3000("AECNORM", 18, 19, "float", "rw", 0.25, 16, "limit on the AEC filter norm"),
        _p3000("AECPATHCHANGE", 18, 25, "int", "ro", 0, 1, "echo path change detected"),
        _p3000("RT60", 18, 26, "float", "ro", 0.25, 0.9, "current RT60 estimate (s)"),
        _p3000("HPFONOFF", 18, 27, "int", "rw", 0, 3, "high-pass: off, 70, 125, 180 Hz"),
        _p3000("RT60ONOFF", 18, 28, "int", "rw", 0, 1, "RT60 estimation on/off"),
        _p3000("AECSILENCELEVEL", 18, 30, "float", "rw", 1e-09, 1, "AEC signal threshold"),
        _p3000("AECSILENCEMODE", 18, 31, "int", "ro", 0, 1, "far-end silence detected"),
        _p3000("AGCONOFF", 19, 0, "int", "rw", 0, 1, "automatic gain control on/off"),
        _p3000("AGCMAXGAIN", 19, 1, "float", "rw", 1, 1000, "maximum AGC gain factor"),
        _p3000("AGCDESIREDLEVEL", 19, 2, "float", "rw", 1e-08, 0.99, "AGC target power level"),
        _p3000("AGCGAIN", 19, 3, "float", "rw", 1, 1000, "current AGC gain factor"),
        _p3000("AGCTIME", 19, 4, "float", "rw", 0.1, 1, "AGC time constant (s)"),
        _p3000("CNIONOFF", 19, 5, "int", "rw", 0, 1, "comfort noise insertion"),
        _p3000("FREEZEONOFF", 19, 6, "int", "rw", 0, 1, "freeze beamformer adaptation"),
        _p3000("STATNOISEONOFF", 19, 8, "int", "rw", 0, 1, "stationary noise suppression"),
        _p3000("GAMMA_NS", 19, 9, "float", "rw", 0, 3, "stationary noise over-subtraction"),
        _p3000("MIN_NS", 19, 10, "float", "rw", 0, 1, "stationary noise gain floor"),
        _p3000("NONSTATNOISEONOFF", 19, 11, "int", "rw", 0, 1, "non-stationary noise suppression"),
        _p3000("GAMMA_NN", 19, 12, "float", "rw", 0, 3, "non-stationary over-subtraction"),
        _p3000("MIN_NN", 19, 13, "float", "rw", 0, 1, "non-stationary noise gain floor"),
        _p3000("ECHOONOFF", 19, 14, "int", "rw", 0, 1, "echo suppression"),
        _p3000("GAMMA_E", 19, 15, "float", "rw", 0, 3, "echo over-subtraction (direct)"),
        _p3000("GAMMA_ETAIL", 19, 16, "float", "rw", 0, 3, "echo over-subtraction (tail)"),
        _p3000("GAMMA_ENL", 19, 17, "float", "rw", 0, 5, "non-linear echo over-subtraction"),
        _p3000("NLATTENONOFF", 19, 18, "int", "rw", 0, 1, "non-linear echo attenuation"),
        _p3000("NLAEC_MODE", 19, 20, "int", "rw", 0, 2, "non-linear AEC training mode"),
        _p3000("SPEECHDETECTED", 19, 22, "int", "ro", 0, 1, "speech detected"),
        _p3000("FSBUPDATED", 19, 23, "int", "ro", 0, 1, "fixed beamformer updated"),
        _p3000("FSBPATHCHANGE", 19, 24, "int", "ro", 0, 1, "fixed beamformer path change"),
        _p3000("TRANSIENTONOFF", 19, 29, "int", "rw", 0, 1, "transient echo suppression"),
        _p3000("VOICEACTIVITY", 19, 32, "int", "ro", 0, 1, "voice activity (VAD)"),
        _p3000("STATNOISEONOFF_SR", 19, 33, "int", "rw", 0, 1, "stationary NS for ASR"),
        _p3000("NONSTATNOISEONOFF_SR", 19, 34, "int", "rw", 0, 1, "non-stationary NS for ASR"),
        _p3000("GAMMA_NS_SR", 19, 35, "float", "rw", 0, 3, "stationary over-subtraction (ASR)"),
        _p3000("GAMMA_NN_SR", 19, 36, "float", "rw", 0, 3, "non-stat. over-subtraction (ASR)"),
        _p3000("MIN_NS_SR", 19, 37, "float", "rw", 0, 1, "stationary gain floor (ASR)"),
        _p3000("MIN_NN_SR", 19, 38, "float", "rw", 0, 1, "non-stationary gain floor (ASR)"),
        _p3000("GAMMAVAD_SR", 19, 39, "float", "rw", 0, 1000, "VAD threshold"),
        _p3000("DOAANGLE", 21, 0, "int", "ro", 0, 359, "on-chip direction of arrival (deg)"),
    ]
)

# XVF3800 command table: (resid, cmdid, count, type, access, range).
_T3800 = {"u8": ("B", 0, 255), "u16": ("H", 0, 65535), "i32": ("i", -(2**31), 2**31 - 1),
          "u32": ("I", 0, 2**32 - 1), "f32": ("f", None, None), "rad": ("f", None, None)}  # fmt: skip


def _p3800(
    name: str,
    resid: int,
    cmd: int,
    count: int,
    typ: str,
    access: str,
    lo: float | None = None,
    hi: float | None = None,
    doc: str = "",
) -> tuple[str, Parameter]:
    _, tlo, thi = _T3800[typ]
    lo = tlo if lo is None else lo
    hi = thi if hi is None else hi
    return name, Parameter(
        name, resid, cmd, typ, access,
        None if lo is None else float(lo), None if hi is None else float(hi), count, doc,
    )  # fmt: skip


_XVF3800_TABLE = dict(
    [
        _p3800("VERSION", 48, 0, 3, "u8", "ro", doc="firmware version (major, minor, patch)"),
        _p3800("REBOOT", 48, 7, 1, "u8", "wo", 0, 1, "reboot the device"),
        _p3800("USB_BIT_DEPTH", 48, 8, 2, "u8", "rw", doc="USB bit depth (in, out)"),
        _p3800("SAVE_CONFIGURATION", 48, 9, 1, "u8", "wo", 0, 1, "save settings to flash"),
        _p3800("CLEAR_CONFIGURATION", 48, 10, 1, "u8", "wo", 0, 1, "clear saved settings"),
        _p3800("AEC_HPFONOFF", 33, 1, 1, "i32", "rw", 0, 4, "AEC high-pass filter"),
        _p3800("AEC_RT60", 33, 9, 1, "f32", "ro", doc="RT60 estimate (s)"),
        _p3800("AEC_ASROUTONOFF", 33, 35, 1, "i32", "rw", 0, 1, "ASR output on/off"),
        _p3800("AEC_ASROUTGAIN", 33, 36, 1, "f32", "rw", doc="ASR output gain"),
        _p3800("AEC_FIXEDBEAMSONOFF", 33, 37, 1, "i32", "rw", 0, 1, "fixed beams on/off"),
        _p3800("SHF_BYPASS", 33, 70, 1, "u8", "rw", 0, 1, "bypass the AEC stage"),
        _p3800("AEC_NUM_MICS", 33, 71, 1, "i32", "ro", doc="number of microphones"),
        _p3800("AEC_NUM_FARENDS", 33, 72, 1, "i32", "ro", doc="number of far-end channels"),
        _p3800("AEC_MIC_ARRAY_TYPE", 33, 73, 1, "i32", "ro", doc="microphone array type"),
        _p3800("AEC_MIC_ARRAY_GEO", 33, 74, 12, "f32", "ro", doc="mic positions x,y,z (m)"),
        _p3800("AEC_AZIMUTH_VALUES", 33, 75, 4, "rad", "ro", doc="beam azimuths (radians)"),
        _p3800("AEC_SPENERGY_VALUES", 33, 80, 4, "f32", "ro", doc="speech energy per beam"),
        _p3800("AEC_FIXEDBEAMSAZIMUTH_VALUES", 33, 81, 2, "rad", "rw", doc="fixed beams (rad)"),
        _p3800("AEC_FIXEDBEAMSELEVATION_VALUES", 33, 82, 2, "rad", "rw", doc="fixed beams el."),
        _p3800("AEC_FIXEDBEAMSGATING", 33, 83, 1, "u8", "rw", 0, 1, "fixed-beam gating"),
        _p3800("AUDIO_MGR_MIC_GAIN", 35, 0, 1, "f32", "rw", doc="microphone gain"),
        _p3800("AUDIO_MGR_REF_GAIN", 35, 1, 1, "f32", "rw", doc="reference gain"),
        _p3800("AUDIO_MGR_SELECTED_AZIMUTHS", 35, 11, 2, "rad", "ro", doc="selected beams"),
        _p3800("AUDIO_MGR_SYS_DELAY", 35, 26, 1, "i32", "rw", doc="system delay (samples)"),
        _p3800(
            "LED_EFFECT",
            20,
            12,
            1,
            "u8",
            "rw",
            0,
            5,
            "0 off, 1 breath, 2 rainbow, 3 single colour, 4 DOA, 5 ring",
        ),
        _p3800("LED_BRIGHTNESS", 20, 13, 1, "u8", "rw", doc="LED brightness"),
        _p3800("LED_GAMMIFY", 20, 14, 1, "u8", "rw", 0, 1, "gamma-correct LED colours"),
        _p3800("LED_SPEED", 20, 15, 1, "u8", "rw", doc="LED effect speed"),
        _p3800("LED_COLOR", 20, 16, 1, "u32", "rw", 0, 0xFFFFFF, "LED colour 0xRRGGBB"),
        _p3800("LED_DOA_COLOR", 20, 17, 2, "u32", "rw", 0, 0xFFFFFF, "DOA effect colours"),
        _p3800("DOA_VALUE", 20, 18, 2, "u16", "ro", doc="(angle 0-359, speech flag)"),
        _p3800("LED_RING_COLOR", 20, 19, 12, "u32", "rw", 0, 0xFFFFFF, "12 LED colours"),
        _p3800("PP_AGCONOFF", 17, 10, 1, "i32", "rw", 0, 1, "automatic gain control on/off"),
        _p3800("PP_AGCMAXGAIN", 17, 11, 1, "f32", "rw", doc="maximum AGC gain"),
        _p3800("PP_AGCDESIREDLEVEL", 17, 12, 1, "f32", "rw", doc="AGC target level"),
        _p3800("PP_AGCGAIN", 17, 13, 1, "f32", "rw", doc="current AGC gain"),
        _p3800("PP_AGCTIME", 17, 14, 1, "f32", "rw", doc="AGC time constant"),
        _p3800("PP_LIMITONOFF", 17, 19, 1, "i32", "rw", 0, 1, "limiter on/off"),
        _p3800("PP_LIMITPLIMIT", 17, 20, 1, "f32", "rw", doc="limiter level"),
        _p3800("PP_MIN_NS", 17, 21, 1, "f32", "rw", doc="stationary noise gain floor"),
        _p3800("PP_MIN_NN", 17, 22, 1, "f32", "rw", doc="non-stationary noise gain floor"),
        _p3800("PP_ECHOONOFF", 17, 23, 1, "i32", "rw", 0, 1, "echo suppression on/off"),
        _p3800("PP_NLATTENONOFF", 17, 27, 1, "i32", "rw", 0, 1, "non-linear echo attenuation"),
    ]
)


class _XmosControl:
    """Shared plumbing: find the device, run control transfers, translate errors."""

    VENDOR_ID: ClassVar[int]
    PRODUCT_ID: ClassVar[int]
    PROFILE: ClassVar[str]
    PARAMETERS: ClassVar[Mapping[str, Parameter]]
    LED_ACTIONS: ClassVar[Mapping[str, LedAction]]

    def __init__(
        self,
        device: Any = None,
        *,
        backend: Any = None,
        timeout_ms: int = 1000,
        profile: str | Profile | None = None,
    ) -> None:
        self._usb = import_usb()
        self.timeout_ms = int(timeout_ms)
        self.profile = load_profile(profile if profile is not None else self.PROFILE)
        self.device = self._find(device, backend)

    def _find(self, device: Any, backend: Any) -> Any:
        usb = self._usb
        if isinstance(device, usb.core.Device):
            return device
        vid, pid = self.VENDOR_ID, self.PRODUCT_ID
        if isinstance(device, str):
            try:
                vid, pid = (int(x, 16) for x in device.split(":"))
            except ValueError:
                raise v.fail("device", device, "must be a pyusb Device or 'vvvv:pppp'") from None
        elif isinstance(device, tuple):
            vid, pid = device
        elif device is not None:
            raise v.fail("device", device, "must be a pyusb Device, (vendor, product) or None")
        try:
            dev = usb.core.find(idVendor=vid, idProduct=pid, backend=backend)
            if dev is None:
                present = [
                    f"{d.idVendor:04x}:{d.idProduct:04x}"
                    for d in usb.core.find(find_all=True, backend=backend)
                ]
        except usb.core.NoBackendError:
            raise no_libusb_error() from None
        except usb.core.USBError as exc:
            raise translate_usb_error(exc, f"looking for {vid:04x}:{pid:04x}") from None
        if dev is None:
            raise DeviceNotFoundError(
                f"no {type(self).__name__} ({vid:04x}:{pid:04x}) on USB; USB devices found: "
                f"{', '.join(present) or 'none'}"
            )
        return dev

    # -- transfers -------------------------------------------------------------------------

    def _out(self, wvalue: int, windex: int, data: bytes) -> None:
        try:
            n = self.device.ctrl_transfer(CTRL_OUT_VENDOR, 0, wvalue, windex, data, self.timeout_ms)
        except self._usb.core.USBError as exc:
            raise translate_usb_error(exc, f"{type(self).__name__} write") from None
        if n != len(data):
            raise ControlError(f"{type(self).__name__}: wrote {n} of {len(data)} bytes")

    def _in(self, wvalue: int, windex: int, length: int) -> bytes:
        try:
            reply = self.device.ctrl_transfer(
                CTRL_IN_VENDOR, 0, wvalue, windex, length, self.timeout_ms
            )
        except self._usb.core.USBError as exc:
            raise translate_usb_error(exc, f"{type(self).__name__} read") from None
        return bytes(reply)

    def close(self) -> None:
        """Release the USB resources (``usb.util.dispose_resources``)."""
        if self.device is not None:
            self._usb.util.dispose_resources(self.device)

    def __enter__(self) -> Self:
        return self

    def led(self, action: str, words: Sequence[str]) -> None:
        """Run LED action `action` (see ``LED_ACTIONS``) with the words a user typed."""
        run_led(self, action, words)

    def led_point(
        self, azimuth: float, *, color: Sequence[int] = (0, 0, 255), width: int = 1
    ) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- parameters ------------------------------------------------------------------------

    def parameter(self, name: str) -> Parameter:
        """The :class:`Parameter` called `name` (case-insensitive); ValueError lists them."""
        key = str(name).upper()
        if key not in self.PARAMETERS:
            raise v.fail(
                "name", name, f"unknown parameter; valid: {', '.join(sorted(self.PARAMETERS))}"
            )
        return self.PARAMETERS[key]

    def _check_write(self, name: str, value: Any) -> tuple[Parameter, list[Any]]:
        p = self.parameter(name)
        if p.access == "ro":
            writable = sorted(k for k, q in self.PARAMETERS.items() if q.access != "ro")
            raise v.fail(
                "name", p.name, f"is read-only; writable parameters: {', '.join(writable)}"
            )
        if isinstance(value, str | bytes):
            raise v.fail(
                "value", value, f"{p.name} takes {p.count} number(s), not text: convert it first"
            )
        values = list(value) if isinstance(value, Sequence | np.ndarray) else [value]
        if len(values) != p.count:
            raise v.fail("value", value, f"{p.name} takes {p.count} value(s)")
        out = []
        for x in values:
            try:
                f = float(x)
            except (TypeError, ValueError):
                raise v.fail("value", value, f"{p.name} takes numbers") from None
            if isinstance(x, str | bytes) or not math.isfinite(f):
                raise v.fail("value", value, f"{p.name} takes finite numbers")
            integral = p.type not in ("float", "f32", "rad")
            if not integral and abs(f) > F32_MAX:
                raise v.fail(
                    "value",
                    value,
                    f"{p.name} is a 32-bit float: its magnitude must be <= {F32_MAX:.4g}",
                )
            if integral and not f.is_integer():
                raise v.fail("value", value, f"{p.name} takes whole numbers")
            if (p.min is not None and f < p.min) or (p.max is not None and f > p.max):
                raise v.fail(
                    "value", value, f"out of range for {p.name}: {_num(p.min)}..{_num(p.max)}"
                )
            out.append(int(f) if integral else f)
        return p, out

    def read_all(self) -> dict[str, Any]:
        """Every readable parameter by name."""
        return {k: self.read(k) for k, p in sorted(self.PARAMETERS.items()) if p.access != "wo"}

    def read(self, name: str) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def write(self, name: str, value: Any) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def onchip_azimuth(self) -> float:
        """The device's DOA mapped into arraykit's azimuth frame (profile orientation)."""
        return self.profile.onchip_to_azimuth(self.doa())

    def doa(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _ring_for(self, azimuth: float, color: Sequence[int], width: int) -> np.ndarray:
        """(12, 3) colours lighting the LED(s) nearest `azimuth` (LED k at on-chip 30k deg)."""
        ang = self.profile.azimuth_to_onchip(v.finite_array("azimuth", azimuth).item())
        k = round(ang / (360 / N_LEDS)) % N_LEDS
        ring = np.zeros((N_LEDS, 3), dtype=int)
        w = int(width)
        if w < 1 or w > N_LEDS:
            raise v.fail("width", width, f"must be 1..{N_LEDS} LEDs")
        for j in range(-(w // 2), w - w // 2):
            ring[(k + j) % N_LEDS] = _rgb(color)
        return ring


def _rgb(color: Any) -> tuple[int, int, int]:
    c = np.asarray(color)
    if c.shape != (3,) or not np.all((c >= 0) & (c <= 255)) or not np.all(c == np.round(c)):
        raise v.fail("color", color, "must be (r, g, b) with whole numbers in 0..255")
    return int(c[0]), int(c[1]), int(c[2])


class XVF3000(_XmosControl):
    """Seeed ReSpeaker USB Mic Array v2.0 (XMOS XVF-3000, USB 2886:0018).

    Parameters
    ----------
    device : usb.core.Device, (vendor, product), "vvvv:pppp" or None
        The device; None finds the first 2886:0018.
    backend : usb.backend.IBackend, optional
        pyusb back end (None: libusb). Tests pass a fake one.

    Tuning parameters are read and written by name (:attr:`PARAMETERS`, the names
    of the firmware's table): ints as they are, floats encoded for writing as IEEE
    single and read back as ``value * 2**exponent``.
    """

    VENDOR_ID = 0x2886
    PRODUCT_ID = 0x0018
    PROFILE = "respeaker-usb-4mic"
    PARAMETERS = _XVF3000_TABLE
    LED_RESID = 0x1C
    LED_ACTIONS: ClassVar[Mapping[str, LedAction]] = {
        "trace": LedAction("led_trace"),
        "off": LedAction("led_off"),
        "color": LedAction("led_color", ("rgb",)),
        "listen": LedAction("led_listen"),
        "wait": LedAction("led_wait"),
        "speak": LedAction("led_speak"),
        "spin": LedAction("led_spin"),
        "brightness": LedAction("led_brightness", ("int",)),
        "palette": LedAction("led_palette", ("rgb", "rgb")),
        "center": LedAction("led_center", ("word",)),
        "volume": LedAction("led_volume", ("int",)),
        "point": LedAction("led_point", ("float",)),
    }

    def read(self, name: str) -> int | float:
        """Read parameter `name`: an int, or a float decoded as ``value * 2**exponent``."""
        p = self.parameter(name)
        wvalue = 0x80 | p.cmd | (0x40 if p.type == "int" else 0)
        reply = self._in(wvalue, p.resid, 8)
        if len(reply) != 8:
            raise ControlError(f"XVF3000 {p.name}: expected 8 bytes, got {len(reply)}")
        value, exponent = struct.unpack("<ii", reply)
        return value if p.type == "int" else value * 2.0**exponent

    def write(self, name: str, value: float) -> None:
        """Write parameter `name` (range-checked; read-only ones raise, nothing is sent)."""
        p, (x,) = self._check_write(name, value)
        if p.type == "int":
            data = struct.pack("<iii", p.cmd, int(x), 1)
        else:
            data = struct.pack("<ifi", p.cmd, float(x), 0)
        self._out(0, p.resid, data)

    def version(self) -> int:
        """Firmware version byte."""
        return self._in(0x80, 0, 1)[0]

    def doa(self) -> int:
        """On-chip direction of arrival (DOAANGLE, degrees in the chip's own frame)."""
        return int(self.read("DOAANGLE"))

    def vad(self) -> bool:
        """Voice activity (VOICEACTIVITY)."""
        return bool(self.read("VOICEACTIVITY"))

    # -- LED ring (12 RGB LEDs and a centre LED) --------------------------------------------

    def _led(self, cmd: int, data: Sequence[int]) -> None:
        self._out(cmd, self.LED_RESID, bytes(data))

    def led_trace(self) -> None:
        """The ring follows VAD and DOA (the firmware's own display)."""
        self._led(0, [0])

    def led_color(self, color: Sequence[int]) -> None:
        """All LEDs one colour (r, g, b); (0, 0, 0) turns them off."""
        self._led(1, [*_rgb(color), 0])

    def led_off(self) -> None:
        """All LEDs off."""
        self.led_color((0, 0, 0))

    def led_listen(self) -> None:
        """The 'listen' animation."""
        self._led(2, [0])

    def led_wait(self) -> None:
        """The 'wait' animation."""
        self._led(3, [0])

    def led_speak(self) -> None:
        """The 'speak' animation."""
        self._led(4, [0])

    def led_spin(self) -> None:
        """The 'spin' animation."""
        self._led(5, [0])

    def led_custom(self, colors: Any) -> None:
        """Set each of the 12 LEDs: `colors` ``(12, 3)`` whole numbers 0..255."""
        c = np.asarray(colors)
        if c.shape != (N_LEDS, 3):
            raise v.fail("colors", colors, f"must have shape ({N_LEDS}, 3)")
        data: list[int] = []
        for row in c:
            data += [*_rgb(row), 0]
        self._led(6, data)

    def led_brightness(self, level: int) -> None:
        """Ring brightness 0..31."""
        self._led(0x20, [_level("level", level, 31)])

    def led_palette(self, color_a: Sequence[int], color_b: Sequence[int]) -> None:
        """The two colours of the firmware's animations."""
        self._led(0x21, [*_rgb(color_a), 0, *_rgb(color_b), 0])

    def led_center(self, mode: str) -> None:
        """Centre LED: ``"off"``, ``"on"`` or ``"vad"`` (lit on voice activity)."""
        modes = ("off", "on", "vad")
        self._led(0x22, [modes.index(v.choice("mode", mode, modes))])

    def led_volume(self, level: int) -> None:
        """Volume display: 0..12 LEDs lit."""
        self._led(0x23, [_level("level", level, N_LEDS)])

    def led_point(
        self, azimuth: float, *, color: Sequence[int] = (0, 0, 255), width: int = 1
    ) -> None:
        """Light the LED(s) nearest `azimuth` (arraykit's frame, via the profile orientation)."""
        self.led_custom(self._ring_for(azimuth, color, width))


def _level(name: str, value: Any, top: int) -> int:
    if not isinstance(value, int | np.integer) or not 0 <= int(value) <= top:
        raise v.fail(name, value, f"must be a whole number in 0..{top}")
    return int(value)


class XVF3800(_XmosControl):
    """Seeed ReSpeaker XVF3800 USB 4-Mic Array (USB 2886:001A).

    Parameters
    ----------
    device : usb.core.Device, (vendor, product), "vvvv:pppp" or None
        The device; None finds the first 2886:001A.
    backend : usb.backend.IBackend, optional
        pyusb back end (None: libusb). Tests pass a fake one.
    retries : int
        Reads answered with status 64 ("retry") are repeated up to this many times.
    retry_delay : float
        Seconds between retries.

    Every reply starts with a status byte (0 ok, 64 retry, anything else an error);
    the little-endian payload follows. Parameters with one value read as a scalar,
    others as a tuple (``read("DOA_VALUE")`` → ``(angle, speech)``).
    """

    VENDOR_ID = 0x2886
    PRODUCT_ID = 0x001A
    PROFILE = "respeaker-xvf3800"
    PARAMETERS = _XVF3800_TABLE
    LED_ACTIONS: ClassVar[Mapping[str, LedAction]] = {
        "off": LedAction("led_off"),
        "color": LedAction("led_color", ("rgb",)),
        "effect": LedAction("led_effect", ("word",)),
        "point": LedAction("led_point", ("float",)),
    }
    STATUS_OK = 0
    STATUS_RETRY = 64

    def __init__(
        self,
        device: Any = None,
        *,
        backend: Any = None,
        timeout_ms: int = 1000,
        profile: str | Profile | None = None,
        retries: int = 100,
        retry_delay: float = 0.01,
    ) -> None:
        super().__init__(device, backend=backend, timeout_ms=timeout_ms, profile=profile)
        self.retries = int(retries)
        self.retry_delay = float(retry_delay)

    def read(self, name: str) -> Any:
        """Read parameter `name` (retrying while the device answers status 64)."""
        p = self.parameter(name)
        if p.access == "wo":
            raise v.fail("name", p.name, "is write-only")
        fmt = _T3800[p.type][0]
        length = 1 + p.count * struct.calcsize(fmt)
        for _ in range(self.retries):
            reply = self._in(0x80 | p.cmd, p.resid, length)
            status = reply[0] if reply else None
            if status == self.STATUS_OK:
                break
            if status != self.STATUS_RETRY:
                raise ControlError(f"XVF3800 {p.name}: device answered status {status}")
            time.sleep(self.retry_delay)
        else:
            raise ControlError(
                f"XVF3800 {p.name}: device still busy (status 64) after {self.retries} tries"
            )
        if len(reply) != length:
            raise ControlError(f"XVF3800 {p.name}: expected {length} bytes, got {len(reply)}")
        values = struct.unpack(f"<{p.count}{fmt}", reply[1:])
        if p.name == "DOA_VALUE":
            return int(values[0]), bool(values[1])
        return values[0] if p.count == 1 else tuple(values)

    def write(self, name: str, value: Any) -> None:
        """Write parameter `name` (one value, or a sequence of `count` values)."""
        p, values = self._check_write(name, value)
        fmt = _T3800[p.type][0]
        self._out(p.cmd, p.resid, struct.pack(f"<{p.count}{fmt}", *values))

    def version(self) -> tuple[int, int, int]:
        """Firmware version (major, minor, patch)."""
        return self.read("VERSION")

    def doa(self) -> tuple[int, bool]:
        """On-chip DOA: (angle in the chip's frame, speech detected)."""
        return self.read("DOA_VALUE")

    def onchip_azimuth(self) -> float:
        return self.profile.onchip_to_azimuth(self.doa()[0])

    def mic_geometry(self) -> ArrayGeometry:
        """The microphone positions the device reports (AEC_MIC_ARRAY_GEO), 4 mics."""
        xyz = np.asarray(self.read("AEC_MIC_ARRAY_GEO"), dtype=float).reshape(4, 3)
        return ArrayGeometry(xyz, name="xvf3800-reported")

    def set_agc(self, on: bool, *, max_gain: float | None = None) -> None:
        """Turn the automatic gain control on or off (and set its maximum gain)."""
        self.write("PP_AGCONOFF", int(bool(on)))
        if max_gain is not None:
            self.write("PP_AGCMAXGAIN", max_gain)

    def led_effect(self, effect: int | str) -> None:
        """LED effect by number or name: off, breath, rainbow, single, doa, ring."""
        names = ("off", "breath", "rainbow", "single", "doa", "ring")
        if isinstance(effect, str):
            effect = names.index(v.choice("effect", effect, names))
        self.write("LED_EFFECT", effect)

    def led_color(self, color: Sequence[int]) -> None:
        """Colour of the single-colour effect (r, g, b)."""
        r, g, b = _rgb(color)
        self.write("LED_COLOR", (r << 16) | (g << 8) | b)

    def led_ring(self, colors: Any) -> None:
        """Set each of the 12 LEDs, ``(12, 3)`` (the ring effect)."""
        c = np.asarray(colors)
        if c.shape != (N_LEDS, 3):
            raise v.fail("colors", colors, f"must have shape ({N_LEDS}, 3)")
        words = [(r << 16) | (g << 8) | b for r, g, b in (_rgb(row) for row in c)]
        self.write("LED_EFFECT", 5)
        self.write("LED_RING_COLOR", words)

    def led_off(self) -> None:
        """All LEDs off."""
        self.write("LED_EFFECT", 0)

    def led_point(
        self, azimuth: float, *, color: Sequence[int] = (0, 0, 255), width: int = 1
    ) -> None:
        """Light the LED(s) nearest `azimuth` (arraykit's frame, via the profile orientation)."""
        self.led_ring(self._ring_for(azimuth, color, width))
