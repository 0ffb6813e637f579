"""XMOS vendor control through pyusb's real code paths, on a byte-exact fake back end."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from fake_usb import (
    XVF3000_REGISTERS,
    FakeBackend,
    FakeXVF3000,
    FakeXVF3800,
)

import arraykit as ak
from arraykit.cli import hardware as cli_hw
from arraykit.cli import main

hw = ak.hardware


@pytest.fixture
def x3000():
    dev = FakeXVF3000()
    return dev, FakeBackend(dev)


@pytest.fixture
def x3800():
    dev = FakeXVF3800()
    return dev, FakeBackend(dev)


def test_parameter_table_is_the_firmware_table():
    table = {n: (p.resid, p.cmd, p.type, p.access) for n, p in hw.XVF3000.PARAMETERS.items()}
    assert table == XVF3000_REGISTERS
    assert len(table) == 40


def test_every_xvf3000_parameter_reads_byte_exact(x3000):
    dev, be = x3000
    for k, (name, (resid, offset, typ, _)) in enumerate(sorted(XVF3000_REGISTERS.items())):
        value = k + 3 if typ == "int" else (k + 1) * 0.03125
        dev.set(name, value)
        with hw.XVF3000(backend=be) as x:
            got = x.read(name)
        assert got == value
        assert type(got) is (int if typ == "int" else float)
        bm, wvalue, windex, reply = dev.log[-1]
        assert (bm, wvalue, windex) == (0xC0, 0x80 | offset | (0x40 if typ == "int" else 0), resid)
        assert len(reply) == 8
    assert be.opened == be.closed == len(XVF3000_REGISTERS)


def test_xvf3000_float_is_value_times_two_to_the_exponent(x3000):
    dev, be = x3000
    x = hw.XVF3000(backend=be)
    assert x.read("RT60") == 13107 * 2.0**-16  # not an IEEE float on the wire
    dev.regs["AGCGAIN"] = (-3, 4)
    assert x.read("AGCGAIN") == -48.0
    x.close()


def test_every_writable_xvf3000_parameter_writes_byte_exact(x3000):
    dev, be = x3000
    x = hw.XVF3000(backend=be)
    for name, p in x.PARAMETERS.items():
        if p.access != "rw":
            continue
        value = p.max if p.type == "int" else (p.min + p.max) / 2
        x.write(name, value)
        bm, wvalue, windex, data = dev.writes()[-1]
        assert (bm, wvalue, windex) == (0x40, 0, p.resid)
        if p.type == "int":
            assert data == struct.pack("<iii", p.cmd, int(value), 1)
            assert x.read(name) == int(value)
        else:
            assert data == struct.pack("<ifi", p.cmd, value, 0)
            assert x.read(name) == np.float32(value)
    x.close()


def test_read_only_parameter_is_refused_and_nothing_is_sent(x3000):
    dev, be = x3000
    with (
        hw.XVF3000(backend=be) as x,
        pytest.raises(ValueError, match=r"DOAANGLE.*read-only.*AGCGAIN"),
    ):
        x.write("DOAANGLE", 10)
    assert dev.writes() == []


def test_unknown_parameter_and_out_of_range_values(x3000):
    dev, be = x3000
    with hw.XVF3000(backend=be) as x:
        with pytest.raises(
            ValueError, match=r"name='AGCMAX': unknown parameter; valid: .*AGCMAXGAIN"
        ):
            x.read("AGCMAX")
        with pytest.raises(ValueError, match=r"value=2000: out of range for AGCMAXGAIN: 1\.\.1000"):
            x.write("AGCMAXGAIN", 2000)
        with pytest.raises(ValueError, match=r"value=0.5: AGCONOFF takes whole numbers"):
            x.write("AGCONOFF", 0.5)
        with pytest.raises(ValueError, match=r"HPFONOFF: 0\.\.3"):
            x.write("hpfonoff", 4)
    assert dev.writes() == []


def test_doa_vad_version(x3000):
    dev, be = x3000
    dev.set("DOAANGLE", 287)
    dev.set("VOICEACTIVITY", 1)
    with hw.XVF3000(backend=be) as x:
        assert x.read("DOAANGLE") == 287
        assert x.doa() == 287
        assert x.vad() is True
        assert x.version() == 0x12
        assert x.onchip_azimuth() == 287.0


def test_every_led_command_byte_exact(x3000):
    dev, be = x3000
    with hw.XVF3000(backend=be) as x:
        x.led_trace()
        x.led_color((1, 2, 3))
        x.led_listen()
        x.led_wait()
        x.led_speak()
        x.led_spin()
        x.led_custom(np.arange(36).reshape(12, 3))
        x.led_brightness(31)
        x.led_palette((1, 2, 3), (4, 5, 6))
        x.led_center("vad")
        x.led_volume(12)
        x.led_off()
        with pytest.raises(ValueError, match=r"level=32: must be a whole number in 0\.\.31"):
            x.led_brightness(32)
        with pytest.raises(ValueError, match=r"color=\(256, 0, 0\)"):
            x.led_color((256, 0, 0))
    custom = b"".join(bytes([3 * i, 3 * i + 1, 3 * i + 2, 0]) for i in range(12))
    assert dev.leds == [
        (0, b"\x00"),
        (1, b"\x01\x02\x03\x00"),
        (2, b"\x00"),
        (3, b"\x00"),
        (4, b"\x00"),
        (5, b"\x00"),
        (6, custom),
        (0x20, b"\x1f"),
        (0x21, b"\x01\x02\x03\x00\x04\x05\x06\x00"),
        (0x22, b"\x02"),
        (0x23, b"\x0c"),
        (1, b"\x00\x00\x00\x00"),
    ]
    assert all(t[2] == 0x1C for t in dev.writes())


@pytest.mark.parametrize(("azimuth", "led"), [(0, 0), (90, 3), (100, 3), (350, 0), (200, 7)])
def test_led_point_lights_the_nearest_led(x3000, azimuth, led):
    dev, be = x3000
    with hw.XVF3000(backend=be) as x:
        x.led_point(azimuth, color=(9, 8, 7))
    cmd, data = dev.leds[-1]
    ring = np.frombuffer(data, dtype=np.uint8).reshape(12, 4)
    assert cmd == 6
    assert np.flatnonzero(ring.any(axis=1)).tolist() == [led]
    assert ring[led].tolist() == [9, 8, 7, 0]


def test_led_point_follows_the_profile_orientation():
    dev = FakeXVF3800()
    be = FakeBackend(dev)
    with hw.XVF3800(backend=be) as x:  # clockwise on the board: sense -1
        x.led_point(90)
    words = struct.unpack("<12I", dev.regs["LED_RING_COLOR"])
    assert [k for k, w in enumerate(words) if w] == [9]
    assert dev.regs["LED_EFFECT"] == b"\x05"


def test_xvf3800_doa_is_two_uint16(x3800):
    dev, be = x3800
    dev.set("DOA_VALUE", (300, 1))  # above 255: a one-byte decode would give 44
    with hw.XVF3800(backend=be) as x:
        assert x.read("DOA_VALUE") == (300, True)
        assert x.onchip_azimuth() == 60.0  # sense -1: 0 - 300 mod 360
    bm, wvalue, windex, reply = dev.log[-1]
    assert (bm, wvalue, windex, reply) == (0xC0, 0x80 | 18, 20, b"\x00\x2c\x01\x01\x00")


def test_xvf3800_retries_on_status_64(x3800):
    dev, be = x3800
    dev.busy["VERSION"] = 3
    with hw.XVF3800(backend=be, retry_delay=0) as x:
        assert x.version() == (2, 1, 1)
    reads = [t for t in dev.log if t[0] == 0xC0]
    assert [r[3][0] for r in reads] == [64, 64, 64, 0]
    dev.busy["VERSION"] = 1000
    with (
        hw.XVF3800(backend=be, retry_delay=0) as x,
        pytest.raises(hw.ControlError, match=r"status 64.*100 tries"),
    ):
        x.version()
    assert dev.busy["VERSION"] == 900  # exactly 100 reads, then it gave up


def test_xvf3800_error_status(x3800):
    dev, be = x3800
    dev.bad_status["PP_AGCONOFF"] = 3
    with hw.XVF3800(backend=be) as x, pytest.raises(hw.ControlError, match="status 3"):
        x.read("PP_AGCONOFF")


def test_xvf3800_geometry_agc_leds(x3800):
    dev, be = x3800
    with hw.XVF3800(backend=be) as x:
        g = x.mic_geometry()
        np.testing.assert_allclose(
            g.positions, ak.load_geometry("respeaker-xvf3800").positions, atol=1e-7
        )
        assert x.read("AEC_AZIMUTH_VALUES") == (0.0, 0.0, 0.0, 0.0)
        x.set_agc(False, max_gain=30.5)
        assert x.read("PP_AGCONOFF") == 0
        assert x.read("PP_AGCMAXGAIN") == 30.5
        x.led_effect("rainbow")
        x.led_color((0x12, 0x34, 0x56))
        x.led_ring(np.full((12, 3), 1))
        with pytest.raises(ValueError, match=r"DOA_VALUE.*read-only"):
            x.write("DOA_VALUE", (1, 1))
        with pytest.raises(ValueError, match=r"LED_EFFECT: 0\.\.5"):
            x.write("LED_EFFECT", 6)
    writes = [(w[1], w[2], w[3]) for w in dev.writes()]
    assert writes == [
        (10, 17, struct.pack("<i", 0)),
        (11, 17, struct.pack("<f", 30.5)),
        (12, 20, b"\x02"),
        (16, 20, struct.pack("<I", 0x123456)),
        (12, 20, b"\x05"),
        (19, 20, struct.pack("<12I", *[0x010101] * 12)),
    ]


def test_discovery_finds_both_arrays_by_id():
    be = FakeBackend(FakeXVF3000(address=7), FakeXVF3800(address=9))
    devices = hw.list_devices(backend=be, portaudio=False)
    assert [(d.profile, d.usb_id, d.usb_location, d.status) for d in devices] == [
        ("respeaker-usb-4mic", "2886:0018", "bus 1 address 7", "usb-only"),
        ("respeaker-xvf3800", "2886:001a", "bus 1 address 9", "usb-only"),
    ]
    assert "no audio input matches" in devices[0].reason


def test_no_device_lists_what_was_found():
    be = FakeBackend(FakeXVF3800())
    with pytest.raises(hw.DeviceNotFoundError, match=r"2886:0018.*found: 2886:001a"):
        hw.XVF3000(backend=be)


def test_permission_denied_points_to_the_udev_rule():
    be = FakeBackend(FakeXVF3000(permission_denied=True))
    x = hw.XVF3000(backend=be)
    with pytest.raises(hw.PermissionDeniedError, match=r"permission denied.*udev"):
        x.read("DOAANGLE")
    assert hw.udev_rule_path().is_file()


def test_unplugged_device(x3000):
    dev, be = x3000
    with hw.XVF3000(backend=be) as x:
        assert x.doa() == 0
        dev.unplugged = True
        with pytest.raises(hw.DeviceDisconnectedError, match="gone"):
            x.doa()


def test_cli_tune_lists_reads_writes(x3000, monkeypatch, capsys):
    dev, be = x3000
    monkeypatch.setattr(cli_hw, "usb_backend", be)
    assert main(["tune", "--device", "respeaker-usb-4mic"]) == 0
    out = capsys.readouterr().out
    assert out.count("= ") == 40 and "AGCMAXGAIN" in out and "= 31.0" in out
    assert main(["tune", "--device", "ReSpeaker 4 Mic Array", "agcmaxgain", "12.5"]) == 0
    assert capsys.readouterr().out.strip() == "AGCMAXGAIN = 12.5"
    assert dev.writes()[-1][3] == struct.pack("<ifi", 1, 12.5, 0)
    n = len(dev.writes())
    assert main(["tune", "--device", "respeaker-usb-4mic", "DOAANGLE", "5"]) == 2
    assert "read-only" in capsys.readouterr().err
    assert main(["tune", "--device", "respeaker-usb-4mic", "AGCTIME", "7"]) == 2
    assert "out of range for AGCTIME: 0.1..1" in capsys.readouterr().err
    assert len(dev.writes()) == n


def test_cli_led(x3000, monkeypatch, capsys):
    dev, be = x3000
    monkeypatch.setattr(cli_hw, "usb_backend", be)
    assert main(["led", "--device", "respeaker-usb-4mic", "color", "1", "2", "3"]) == 0
    assert main(["led", "--device", "2886:0018", "point", "90"]) == 0
    assert main(["led", "--device", "respeaker-usb-4mic", "center", "on"]) == 0
    assert (
        dev.leds[0] == (1, b"\x01\x02\x03\x00")
        and dev.leds[1][0] == 6
        and dev.leds[2] == (0x22, b"\x01")
    )
    assert main(["led", "--device", "respeaker-usb-4mic", "blink"]) == 2
    assert "unknown LED action" in capsys.readouterr().err
    assert main(["led", "--device", "uma-8", "off"]) == 2
    assert "has no USB vendor control" in capsys.readouterr().err


def test_writes_that_cannot_be_encoded_are_refused_before_sending(x3000, x3800):
    """Issue 12 items 10 and 20: text is not two bytes, 1e39 is not a 32-bit float."""
    for dev, be, cls, flt in (
        (*x3000, hw.XVF3000, "AGCMAXGAIN"),
        (*x3800, hw.XVF3800, "PP_AGCMAXGAIN"),
    ):
        x = cls(backend=be)
        n = len(dev.writes())
        with pytest.raises(ValueError, match=r"32-bit float: its magnitude must be <= 3\.403e\+38"):
            x.write(flt, 1e39)
        with pytest.raises(ValueError, match=r"not text"):
            x.write(flt, "16")
        assert len(dev.writes()) == n  # nothing sent
    x = hw.XVF3800(backend=x3800[1])
    with pytest.raises(ValueError, match=r"USB_BIT_DEPTH takes 2 number\(s\), not text"):
        x.write("USB_BIT_DEPTH", "16")


def test_controls_come_from_the_profile_registry(x3800, monkeypatch, capsys):
    """No product-id branch: the USB id finds the profile, the profile names the chip."""
    from arraykit.hardware.control import CONTROLS, open_control

    dev, be = x3800
    ctl = open_control("2886:001a", backend=be)
    assert type(ctl) is hw.XVF3800 and ctl.profile.name == "respeaker-xvf3800"
    assert set(CONTROLS) == {"xvf3000", "xvf3800"}
    with pytest.raises(hw.DeviceNotFoundError, match=r"2886:9999: no profile .* respeaker-xvf3800"):
        open_control("2886:9999", backend=be)
    monkeypatch.setattr(cli_hw, "usb_backend", be)
    assert main(["led", "--device", "respeaker-xvf3800", "effect", "rainbow"]) == 0
    assert dev.writes()[-1][1:3] == (12, 20) and dev.writes()[-1][3] == b"\x02"
    assert main(["led", "--device", "respeaker-xvf3800", "spin"]) == 2  # an XVF-3000 action
    assert "valid: off color effect point" in capsys.readouterr().err
