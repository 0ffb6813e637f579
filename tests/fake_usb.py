"""A fake pyusb back end emulating the XMOS XVF-3000 and XVF3800 control protocols.

``usb.core.find(backend=FakeBackend(...))`` runs pyusb's real device discovery and
``Device.ctrl_transfer`` on it (pyusb's own injection point, as pyusb's
tests/test_find.py does). The devices keep their registers as raw bytes and answer
byte for byte as HARDWARE.md describes; their register maps are transcribed here
independently of arraykit's tables, so a wrong table or encoding fails the tests.
Every transfer is logged as ``(bmRequestType, wValue, wIndex, bytes)``.
"""

from __future__ import annotations

import errno
import math
import struct
from dataclasses import dataclass, field
from typing import Any

import usb.backend  # noqa: TID253 - a test double of pyusb itself
import usb.core  # noqa: TID253


@dataclass
class _Descriptor:
    idVendor: int
    idProduct: int
    bus: int = 1
    address: int = 5
    bLength: int = 18
    bDescriptorType: int = 1
    bcdUSB: int = 0x0200
    bDeviceClass: int = 0
    bDeviceSubClass: int = 0
    bDeviceProtocol: int = 0
    bMaxPacketSize0: int = 64
    bcdDevice: int = 0x0100
    iManufacturer: int = 0
    iProduct: int = 0
    iSerialNumber: int = 0
    bNumConfigurations: int = 1
    port_number: int = 1
    port_numbers: tuple = (1,)
    speed: int = 3


def _stall() -> usb.core.USBError:
    return usb.core.USBError("Pipe error", -9, errno.EPIPE)


@dataclass
class FakeDevice:
    """Base: descriptor, transfer log, fault switches."""

    vendor: int
    product: int
    bus: int = 1
    address: int = 5
    permission_denied: bool = False
    unplugged: bool = False
    log: list = field(default_factory=list)

    @property
    def descriptor(self) -> _Descriptor:
        return _Descriptor(self.vendor, self.product, bus=self.bus, address=self.address)

    def writes(self) -> list:
        return [t for t in self.log if t[0] == 0x40]


# XVF-3000 register map: name -> (resid, offset, type, access); from HARDWARE.md's table.
XVF3000_REGISTERS = {
    "AECFREEZEONOFF": (18, 7, "int", "rw"), "AECNORM": (18, 19, "float", "rw"),
    "AECPATHCHANGE": (18, 25, "int", "ro"), "RT60": (18, 26, "float", "ro"),
    "HPFONOFF": (18, 27, "int", "rw"), "RT60ONOFF": (18, 28, "int", "rw"),
    "AECSILENCELEVEL": (18, 30, "float", "rw"), "AECSILENCEMODE": (18, 31, "int", "ro"),
    "AGCONOFF": (19, 0, "int", "rw"), "AGCMAXGAIN": (19, 1, "float", "rw"),
    "AGCDESIREDLEVEL": (19, 2, "float", "rw"), "AGCGAIN": (19, 3, "float", "rw"),
    "AGCTIME": (19, 4, "float", "rw"), "CNIONOFF": (19, 5, "int", "rw"),
    "FREEZEONOFF": (19, 6, "int", "rw"), "STATNOISEONOFF": (19, 8, "int", "rw"),
    "GAMMA_NS": (19, 9, "float", "rw"), "MIN_NS": (19, 10, "float", "rw"),
    "NONSTATNOISEONOFF": (19, 11, "int", "rw"), "GAMMA_NN": (19, 12, "float", "rw"),
    "MIN_NN": (19, 13, "float", "rw"), "ECHOONOFF": (19, 14, "int", "rw"),
    "GAMMA_E": (19, 15, "float", "rw"), "GAMMA_ETAIL": (19, 16, "float", "rw"),
    "GAMMA_ENL": (19, 17, "float", "rw"), "NLATTENONOFF": (19, 18, "int", "rw"),
    "NLAEC_MODE": (19, 20, "int", "rw"), "SPEECHDETECTED": (19, 22, "int", "ro"),
    "FSBUPDATED": (19, 23, "int", "ro"), "FSBPATHCHANGE": (19, 24, "int", "ro"),
    "TRANSIENTONOFF": (19, 29, "int", "rw"), "VOICEACTIVITY": (19, 32, "int", "ro"),
    "STATNOISEONOFF_SR": (19, 33, "int", "rw"), "NONSTATNOISEONOFF_SR": (19, 34, "int", "rw"),
    "GAMMA_NS_SR": (19, 35, "float", "rw"), "GAMMA_NN_SR": (19, 36, "float", "rw"),
    "MIN_NS_SR": (19, 37, "float", "rw"), "MIN_NN_SR": (19, 38, "float", "rw"),
    "GAMMAVAD_SR": (19, 39, "float", "rw"), "DOAANGLE": (21, 0, "int", "ro"),
}  # fmt: skip

# LED command -> payload length (HARDWARE.md).
XVF3000_LED_LENGTHS = {
    0: 1,
    1: 4,
    2: 1,
    3: 1,
    4: 1,
    5: 1,
    6: 48,
    0x20: 1,
    0x21: 8,
    0x22: 1,
    0x23: 1,
}


@dataclass
class FakeXVF3000(FakeDevice):
    """XVF-3000: registers as (value, exponent) int32 pairs, as the chip answers."""

    vendor: int = 0x2886
    product: int = 0x0018
    firmware_version: int = 0x12
    regs: dict = field(default_factory=dict)
    leds: list = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, (_, _, _typ, _) in XVF3000_REGISTERS.items():
            self.regs.setdefault(name, (0, 0))
        self.regs["AGCMAXGAIN"] = (31 << 20, -20)  # 31.0
        self.regs["RT60"] = (13107, -16)  # 0.1999969482421875, a non-IEEE encoding

    def set(self, name: str, value: float) -> None:
        if XVF3000_REGISTERS[name][2] == "int":
            self.regs[name] = (int(value), 0)
        else:
            m, e = math.frexp(value)
            self.regs[name] = (round(m * 2**24), e - 24)

    def control(self, bm: int, wvalue: int, windex: int, data: Any) -> int:
        if bm == 0x40 and windex == 0x1C:  # LED ring
            if wvalue not in XVF3000_LED_LENGTHS or len(data) != XVF3000_LED_LENGTHS[wvalue]:
                raise _stall()
            self.leds.append((wvalue, bytes(data)))
            return len(data)
        if bm == 0x40:
            if wvalue != 0 or len(data) != 12:
                raise _stall()
            offset, raw, flag = struct.unpack("<i4si", bytes(data))
            name = self._name(windex, offset)
            _, _, typ, access = XVF3000_REGISTERS[name]
            if access != "rw" or flag != (1 if typ == "int" else 0):
                raise _stall()
            if typ == "int":
                self.regs[name] = (struct.unpack("<i", raw)[0], 0)
            else:
                self.set(name, struct.unpack("<f", raw)[0])
            return len(data)
        if bm == 0xC0:
            if windex == 0 and wvalue == 0x80 and len(data) == 1:
                data[0] = self.firmware_version
                return 1
            if not wvalue & 0x80 or len(data) != 8:
                raise _stall()
            name = self._name(windex, wvalue & 0x3F)
            if bool(wvalue & 0x40) != (XVF3000_REGISTERS[name][2] == "int"):
                raise _stall()
            data[:] = data.__class__("B", struct.pack("<ii", *self.regs[name]))
            return 8
        raise _stall()

    @staticmethod
    def _name(resid: int, offset: int) -> str:
        for name, (r, o, _, _) in XVF3000_REGISTERS.items():
            if (r, o) == (resid, offset):
                return name
        raise _stall()


# XVF3800 commands: (resid, cmdid) -> (name, struct code, count, access).
XVF3800_COMMANDS = {
    (48, 0): ("VERSION", "B", 3, "ro"), (48, 7): ("REBOOT", "B", 1, "wo"),
    (20, 18): ("DOA_VALUE", "H", 2, "ro"), (33, 75): ("AEC_AZIMUTH_VALUES", "f", 4, "ro"),
    (33, 74): ("AEC_MIC_ARRAY_GEO", "f", 12, "ro"), (17, 10): ("PP_AGCONOFF", "i", 1, "rw"),
    (17, 11): ("PP_AGCMAXGAIN", "f", 1, "rw"), (20, 12): ("LED_EFFECT", "B", 1, "rw"),
    (20, 13): ("LED_BRIGHTNESS", "B", 1, "rw"), (20, 16): ("LED_COLOR", "I", 1, "rw"),
    (20, 19): ("LED_RING_COLOR", "I", 12, "rw"),
}  # fmt: skip


@dataclass
class FakeXVF3800(FakeDevice):
    """XVF3800: status byte first (0 ok, 64 retry), little-endian payload."""

    vendor: int = 0x2886
    product: int = 0x001A
    regs: dict = field(default_factory=dict)
    busy: dict = field(default_factory=dict)  # name -> replies with status 64 still to give
    bad_status: dict = field(default_factory=dict)  # name -> status to answer

    def __post_init__(self) -> None:
        geo = [0.033, -0.033, 0, 0.033, 0.033, 0, -0.033, 0.033, 0, -0.033, -0.033, 0]
        init = {
            "VERSION": (2, 1, 1), "DOA_VALUE": (0, 0), "AEC_AZIMUTH_VALUES": (0.0,) * 4,
            "AEC_MIC_ARRAY_GEO": geo, "PP_AGCONOFF": (1,), "PP_AGCMAXGAIN": (64.0,),
            "LED_EFFECT": (4,), "LED_BRIGHTNESS": (255,), "LED_COLOR": (0xFF8800,),
            "LED_RING_COLOR": (0,) * 12, "REBOOT": (0,),
        }  # fmt: skip
        for (_, _), (name, code, count, _) in XVF3800_COMMANDS.items():
            self.regs.setdefault(name, struct.pack(f"<{count}{code}", *init[name]))

    def set(self, name: str, values: Any) -> None:
        for (_, _), (n, code, count, _) in XVF3800_COMMANDS.items():
            if n == name:
                self.regs[name] = struct.pack(f"<{count}{code}", *values)

    def control(self, bm: int, wvalue: int, windex: int, data: Any) -> int:
        if bm == 0x40:
            entry = XVF3800_COMMANDS.get((windex, wvalue))
            if entry is None or entry[3] == "ro":
                raise _stall()
            name, code, count, _ = entry
            if len(data) != struct.calcsize(f"<{count}{code}"):
                raise _stall()
            self.regs[name] = bytes(data)
            return len(data)
        if bm == 0xC0:
            entry = XVF3800_COMMANDS.get((windex, wvalue & 0x7F))
            if entry is None or not wvalue & 0x80 or entry[3] == "wo":
                raise _stall()
            name, code, count, _ = entry
            payload = self.regs[name]
            if len(data) != 1 + len(payload):
                raise _stall()
            if self.busy.get(name, 0) > 0:
                self.busy[name] -= 1
                reply = bytes([64]) + bytes(len(payload))
            elif name in self.bad_status:
                reply = bytes([self.bad_status[name]]) + bytes(len(payload))
            else:
                reply = bytes([0]) + payload
            data[:] = data.__class__("B", reply)
            return len(reply)
        raise _stall()


class FakeBackend(usb.backend.IBackend):
    """pyusb back end over a list of fake devices; counts opens and closes."""

    def __init__(self, *devices: FakeDevice) -> None:
        self.devices = list(devices)
        self.opened = 0
        self.closed = 0

    def enumerate_devices(self):  # type: ignore[no-untyped-def]
        yield from self.devices

    def get_device_descriptor(self, dev):  # type: ignore[no-untyped-def]
        return dev.descriptor

    def open_device(self, dev):  # type: ignore[no-untyped-def]
        if dev.permission_denied:
            raise usb.core.USBError("Access denied (insufficient permissions)", -3, errno.EACCES)
        if dev.unplugged:
            raise usb.core.USBError(
                "No such device (it may have been disconnected)", -4, errno.ENODEV
            )
        self.opened += 1
        return dev

    def close_device(self, dev_handle):  # type: ignore[no-untyped-def]
        self.closed += 1

    def ctrl_transfer(self, dev_handle, bmRequestType, bRequest, wValue, wIndex, data, timeout):  # type: ignore[no-untyped-def]
        dev = dev_handle
        if dev.unplugged:
            raise usb.core.USBError(
                "No such device (it may have been disconnected)", -4, errno.ENODEV
            )
        if bRequest != 0:
            raise _stall()
        n = dev.control(bmRequestType, wValue, wIndex, data)
        dev.log.append((bmRequestType, wValue, wIndex, bytes(data[:n])))
        return n
