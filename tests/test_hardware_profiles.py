"""Device profiles, discovery verdicts and the simulated / file-replay devices."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
import soundfile as sf

import arraykit as ak
from arraykit.cli import main
from arraykit.hardware.discovery import classify

hw = ak.hardware

REQUIRED = {"respeaker-usb-4mic", "respeaker-xvf3800", "uma-8", "uma-16", "ps3-eye", "generic-uac"}


def test_required_profiles_exist_and_are_consistent():
    assert set(hw.list_profiles()) >= REQUIRED
    for name in hw.list_profiles():
        p = hw.load_profile(name)
        assert p.name == name
        assert p.control in ("xvf3000", "xvf3800", "none")
        assert p.orientation_sense in (1, -1)
        assert p.notes and (hw.udev_rule_path().parent / p.notes).is_file(), name
        if name == "generic-uac":
            assert p.geometry is None and p.channels is None
            continue
        assert p.geometry is not None and p.geometry.name == p.geometry_name
        doa = [f for f in p.firmwares if f.doa]
        assert all(len(f.channel_map) == p.geometry.n_mics for f in doa)
        assert all(max(f.channel_map) < f.channels for f in p.firmwares)
        assert all(f.advice for f in p.firmwares if not f.doa)


def test_respeaker_firmware_variants():
    p = hw.load_profile("respeaker-usb-4mic")
    assert (p.vendor_id, p.product_id, p.samplerate, p.sample_format) == (
        0x2886,
        0x18,
        16000,
        "int16",
    )
    assert classify(p, 6)[0] == "ready"
    status, reason, fw = classify(p, 1)
    assert (status, fw) == ("unusable", "1-channel")
    assert "cannot be used for direction finding" in reason and "6_channels_firmware.bin" in reason
    status, reason, _ = classify(p, 3)
    assert status == "unusable" and "6-channel (6 ch), 1-channel (1 ch)" in reason
    assert hw.load_profile("respeaker-xvf3800").firmware_for(6).channel_map == (2, 3, 4, 5)


def test_udev_rule_covers_every_usb_id():
    rules = hw.udev_rule_path().read_text().lower()
    for name in hw.list_profiles():
        p = hw.load_profile(name)
        if p.vendor_id is None:
            continue
        assert f'attrs{{idvendor}}=="{p.vendor_id:04x}"' in rules, name
        vendor_wide = f'attrs{{idvendor}}=="{p.vendor_id:04x}", mode' in rules
        if p.product_id is not None and not vendor_wide:
            assert f'attrs{{idproduct}}=="{p.product_id:04x}"' in rules, name


@pytest.mark.parametrize(
    ("device_name", "profile"),
    [
        ("ReSpeaker 4 Mic Array (UAC1.0): USB Audio (hw:2,0)", "respeaker-usb-4mic"),
        ("respeaker_4-mic_array_sim", "respeaker-usb-4mic"),
        ("reSpeaker XVF3800 4-Mic Array: USB Audio (hw:3,0)", "respeaker-xvf3800"),
        ("UMA16v2: USB Audio (hw:1,0)", "uma-16"),
        ("miniDSP UMA-8: USB Audio", "uma-8"),
        ("USB Camera-B4.09.24.1: Audio (hw:1,0)", "ps3-eye"),
    ],
)
def test_name_patterns(device_name, profile):
    matched = [n for n in hw.list_profiles() if hw.load_profile(n).matches_name(device_name)]
    assert matched == [profile]


def test_orientation_mapping_round_trips():
    p = hw.load_profile("respeaker-xvf3800").with_options(orientation_offset=30.0)
    assert p.onchip_to_azimuth(90) == 300.0  # 30 - 90, clockwise chip
    assert p.azimuth_to_onchip(300.0) == 90.0


def test_fit_orientation_recovers_offset_and_sense():
    rng = np.random.default_rng(1)
    chip = rng.uniform(0, 360, 20)
    for offset, sense in [(30.0, 1), (200.0, -1)]:
        az = (offset + sense * chip + rng.normal(0, 2, 20)) % 360
        got_offset, got_sense, spread = hw.fit_orientation(chip, az)
        assert got_sense == sense and abs((got_offset - offset + 180) % 360 - 180) < 2
        assert spread < 4
    with pytest.raises(ValueError, match="must pair with onchip"):
        hw.fit_orientation([1, 2], [1])


def test_profile_errors():
    with pytest.raises(ValueError, match=r"profile='nope': unknown device profile; known: .*uma-8"):
        hw.load_profile("nope")
    g = hw.load_profile("generic-uac")
    with pytest.raises(ValueError, match=r"channel_map=\(0, 9\): refers to channel 9 but only 4"):
        g.with_options(channels=4, channel_map=[0, 9])
    # one channel for two microphones: a typo, whose identical rows read as a source at
    # broadside (new-user pass: it ran)
    with pytest.raises(ValueError, match=r"channel_map=\[0, 1, 1\]: uses channel 1 for more"):
        g.with_options(channels=4, channel_map=[0, 1, 1])
    with pytest.raises(ValueError, match="orientation_sense=2: must be 1 or -1"):
        g.with_options(orientation_sense=2)
    p = g.with_options(channels=8, channel_map=range(7), geometry="uma-8")
    assert p.geometry.n_mics == 7 and p.channel_map == tuple(range(7))


def test_too_few_channels_for_a_profiles_map_is_named_as_the_channel_count(tmp_path, capsys):
    """``--device sim:respeaker-usb-4mic --channels 2``: "--channel-map=(1, 2, 3, 4): refers
    to channel 4 but only 2 are captured", a flag the user never gave; now the count is
    named with what it must be."""
    with pytest.raises(ValueError, match=r"^channels=2: is too few for the channel map "):
        hw.load_profile("respeaker-usb-4mic").with_options(channels=2)
    cmd = ["track", "--device", "sim:respeaker-usb-4mic", "--channels", "2", "-o"]
    assert main([*cmd, str(tmp_path / "o")]) == 2 and not (tmp_path / "o").exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("arraykit: error: --channels=2: is too few")
    assert "(1, 2, 3, 4) of profile 'respeaker-usb-4mic' (it reads channel 4): capture 5" in err


def test_broken_profile_file(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('name = "bad"\n[audio]\nsample_format = "int24"\n')
    with pytest.raises(ValueError, match="is malformed: sample_format must be one of"):
        hw.load_profile(f)


# -- simulated and file-replay devices ---------------------------------------------------


def test_simulated_device_has_the_device_interface():
    with hw.open("sim:respeaker-usb-4mic", azimuth=45.0, duration=1.0, seed=2) as dev:
        assert dev.geometry == ak.load_geometry("respeaker-usb-4mic")
        assert (dev.fs, dev.channels, dev.channel_map) == (16000, 6, (1, 2, 3, 4))
        x = dev.record(0.5)
        b = next(dev.blocks())
        assert dev.overflows == [] and dev.loss_report() == "no frames lost"
    assert x.shape == (4, 8000) and x.dtype == np.float32 and b.shape == (4, 1024)
    assert 0.1 < np.abs(x).max() <= 0.5
    np.testing.assert_allclose(dev.directions, [[45.0, 0.0]], atol=1e-9)
    # The true delays are in the signal: mic 2 (+x) hears a source at 45 deg first.
    tau, _ = ak.gcc_phat(x[2], x[0], 16000)
    assert tau < 0


def test_simulated_all_channels_follow_the_real_layout():
    dev = hw.open("sim:respeaker-usb-4mic", all_channels=True, duration=0.5)
    x = dev.record(0.25)
    assert x.shape == (6, 4000)
    assert not x[0].any() and not x[5].any() and x[1:5].any()
    with pytest.raises(ak.DeviceError, match="all_channels=True"):
        _ = dev.geometry


def test_simulated_scene_and_geometry_name():
    g = ak.load_geometry("linear-4-40mm")
    scene = ak.sim.simulate(g, [ak.sim.Source(ak.sim.speech_like(0.5, 16000, seed=1), 30.0)], 16000)
    with hw.open("sim:linear-4-40mm", scene=scene, loop=False, blocksize=4096) as dev:
        assert dev.geometry == g
        blocks = list(dev.blocks())
    got = np.concatenate(blocks, axis=1)
    ref = np.asarray(scene.signals) * (0.5 / np.abs(scene.signals).max())
    np.testing.assert_array_equal(got, ref.astype(np.float32))
    with pytest.raises(ValueError, match="has 4 channels; respeaker-6mic has 6"):
        hw.open("sim:respeaker-6mic", scene=scene)
    with pytest.raises(ValueError, match=r"device='sim:nope': unknown array"):
        hw.open("sim:nope")


def test_simulated_array_from_an_odas_cfg(tmp_path):
    """``sim:array.cfg`` was "unknown array" while ``sim:array.toml`` / ``.xml`` and
    ``--geometry array.cfg`` were taken: an ODAS user could not simulate their array."""
    from test_geometry_files import ODAS_CFG

    cfg = tmp_path / "respeaker_usb_4_mic_array.cfg"
    cfg.write_text(ODAS_CFG)
    g = ak.load_geometry(cfg)
    scene = ak.sim.simulate(g, [ak.sim.Source(ak.sim.speech_like(0.3, 16000, seed=2), 70.0)], 16000)
    with hw.open(f"sim:{cfg}", scene=scene, loop=False, blocksize=4096) as dev:
        assert dev.geometry == g
        got = np.concatenate(list(dev.blocks()), axis=1)
    ref = np.asarray(scene.signals) * (0.5 / np.abs(scene.signals).max())
    np.testing.assert_array_equal(got, ref.astype(np.float32))


def test_simulated_device_from_a_missing_file_is_named_as_the_device(tmp_path, capsys):
    """``--device sim:missing.cfg`` said ``name_or_path='missing.cfg': no such file``
    (load_geometry's parameter, not the flag the user typed, and without the ``sim:``)."""
    missing = tmp_path / "missing.cfg"
    with pytest.raises(
        ValueError, match=rf"^device='sim:{re.escape(str(missing))}': no such file$"
    ):
        hw.open(f"sim:{missing}")
    out = tmp_path / "take.wav"
    assert main(["record", "--device", f"sim:{missing}", "--seconds", "0.1", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"arraykit: error: --device='sim:{missing}': no such file\n"
    assert main(["record", "--device", "sim:nope", "--seconds", "0.1", str(out)]) == 2
    assert capsys.readouterr().err.startswith("arraykit: error: --device='sim:nope': unknown array")
    bad = tmp_path / "bad.cfg"  # a malformed file keeps its field's message
    bad.write_text("general: { mics = ( { mu = (0.0, 0.1); } ); };")
    with pytest.raises(ak.GeometryFileError, match=r"general\.mics\[0\]\.mu' must be 3"):
        hw.open(f"sim:{bad}")
    assert not out.exists()


def test_simulated_device_refuses_a_profile_it_would_ignore():
    """``--device sim:respeaker-6mic --profile uma-8`` ran the 6-mic circle, the profile
    silently dropped; the simulated array is the one named after ``sim:``."""
    with pytest.raises(ValueError, match=r"^profile='uma-8': .*sim:uma-8"):
        hw.open("sim:respeaker-6mic", profile="uma-8")


def test_simulated_moving_source_and_realtime_pacing():
    dev = hw.open("sim:respeaker-usb-4mic", azimuth=[0.0, 180.0], duration=1.0, snr_db=None, rt60=0)
    x = dev.record(1.0)
    first, second = x[:, 2000:6000], x[:, 10000:14000]
    t1, _ = ak.gcc_phat(first[2], first[0], 16000)  # source on +x: mic 2 leads
    t2, _ = ak.gcc_phat(second[2], second[0], 16000)  # source on -x: mic 0 leads
    assert t1 < -1e-4 and t2 > 1e-4
    assert dev.directions is None
    rt = hw.open("sim:respeaker-usb-4mic", duration=1.0, realtime=True, blocksize=800)
    rt.start()
    t = time.monotonic()
    rt.record(0.4)
    assert 0.35 < time.monotonic() - t < 1.5


def test_file_device_replays_a_wav(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(-20000, 20000, size=(8000, 6), dtype=np.int16)
    wav = tmp_path / "six.wav"
    sf.write(wav, frames, 16000, subtype="PCM_16")
    with hw.open(wav, profile="respeaker-usb-4mic", blocksize=1000) as dev:
        assert dev.geometry.name == "respeaker-usb-4mic" and dev.channel_map == (1, 2, 3, 4)
        x = dev.record(0.25)
        rest = list(dev.blocks())
    np.testing.assert_array_equal(x, (frames[:4000, 1:5].T / 32768).astype(np.float32))
    assert sum(b.shape[1] for b in rest) == 4000
    dev = hw.FileDevice(wav, geometry="respeaker-usb-4mic", channel_map=[1, 2, 3, 4])
    with pytest.raises(ValueError, match=r"seconds=1.0: only 0.500 s are left"):
        dev.record(1.0)
    with pytest.raises(ValueError, match="needs channel 7 of 6"):
        hw.FileDevice(wav, channel_map=[7])


def test_file_device_blocks_copy_only_themselves(tmp_path):
    """Each block copied the whole recording (``data[rows][:, idx]``), so a run was
    quadratic in its length: 6 channels at 16 kHz took 0.25 s to replay 30 s, 13.3 s for
    120 s, 162 s for 480 s (``arraykit track`` on 120 s: 16.7-18.0 s wall; now 0.02, 0.04,
    0.22 s and 3.1-3.6 s). Python's allocation tracer sees numpy's copies: the peak while
    the blocks go by is one block's, not the 7.7 MB recording's."""
    import tracemalloc

    wav = tmp_path / "long.wav"
    sf.write(wav, np.zeros((20 * 16000, 6), dtype=np.float32), 16000, subtype="FLOAT")
    with hw.open(wav, geometry="respeaker-6mic", blocksize=1024) as dev:
        tracemalloc.start()
        n = sum(b.shape[1] for b in dev.blocks())
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert n == 20 * 16000
    assert peak < 1_000_000  # a block is 6 x 1024 float32 = 24.6 kB


def _sparse_w64(path, frames, channels):
    """A W64 recording whose header announces `frames` (a sparse file: nothing on disk)."""
    import os
    import struct

    sf.write(path, np.zeros((16, channels), dtype=np.int16), 16000, format="W64")
    head = bytearray(path.read_bytes())
    at = head.find(b"data\xf3\xac\xd3\x11")  # the data chunk's GUID
    nbytes = frames * channels * 2
    head[at + 16 : at + 24] = struct.pack("<Q", nbytes + 24)
    head[16:24] = struct.pack("<Q", at + 24 + nbytes)
    path.write_bytes(bytes(head[: at + 24]))
    os.truncate(path, at + 24 + nbytes)


def test_a_recording_too_long_for_memory_is_one_line_before_reading(tmp_path, capsys):
    """A recording is read whole: one that could not fit (here 10^10 frames x 4 channels,
    640 GB as float64) raised numpy's _ArrayMemoryError, a traceback with exit 1, after
    trying; now one line naming the file and the size, exit 2, and nothing made."""
    rec = tmp_path / "day.w64"
    _sparse_w64(rec, 10**10, 4)
    assert sf.info(str(rec)).frames == 10**10
    geo = ["--geometry", "respeaker-usb-4mic"]
    assert main(["track", str(rec), *geo, "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"arraykit: error: IN.wav={str(rec)!r}")
    assert "would need about 640 GB of memory" in err and "shorter recordings" in err
    assert main(["doa", str(rec), *geo]) == 2
    assert capsys.readouterr().err.startswith(f"arraykit: error: FILE={str(rec)!r}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.w64"]


def test_cli_record_from_the_simulated_device(tmp_path, capsys):
    out = tmp_path / "sim.wav"
    assert main(["record", "--device", "sim:respeaker-usb-4mic", "--seconds", "0.5", str(out)]) == 0
    info = sf.info(out)
    assert (info.frames, info.channels, info.samplerate, info.subtype) == (8000, 4, 16000, "FLOAT")
    assert re.search(r"recorded 8000 frames .* no frames lost", capsys.readouterr().err)


def test_simulated_generic_array_takes_the_user_overrides():
    """sim:generic-uac is any USB Audio Class array: channels, map and geometry as given."""
    with hw.open(
        "sim:generic-uac",
        channels=8,
        channel_map=[2, 3, 4, 5, 6, 7],
        geometry="respeaker-6mic",
        all_channels=True,
        duration=0.5,
    ) as dev:
        assert dev.profile.geometry.name == "respeaker-6mic" and dev.n_outputs == 8
        x = dev.record(0.25)
    assert x.shape == (8, 4000)
    assert not x[:2].any() and np.all(np.std(x[2:], axis=1) > 0)  # non-mic channels silent
    with hw.open(
        "sim:generic-uac", channels=8, channel_map=[2, 3, 4, 5, 6, 7], geometry="respeaker-6mic"
    ) as dev:
        assert dev.geometry.name == "respeaker-6mic" and dev.record(0.1).shape == (6, 1600)
    with pytest.raises(ak.errors.DeviceError, match="sim:generic-uac has no geometry: give one"):
        hw.open("sim:generic-uac")


def test_every_device_kind_is_a_device(tmp_path):
    """Issue 11 item 5: one protocol; the kind registry picks the implementation."""
    from arraykit.hardware.kinds import KINDS, kind_of

    wav = tmp_path / "take.wav"
    ak.io.write_audio(wav, np.zeros((4, 1600)), 16000)
    assert list(KINDS) == ["simulated", "file", "portaudio"]
    assert [kind_of(d) for d in ("sim:uma-8", wav, "ReSpeaker", 3)] == [
        "simulated",
        "file",
        "portaudio",
        "portaudio",
    ]
    for dev in (
        hw.open("sim:respeaker-usb-4mic", duration=0.2),
        hw.open(wav, geometry="respeaker-usb-4mic"),
    ):
        assert isinstance(dev, hw.Device)
    # the PortAudio device (checked on a real stream in test_capture_alsa): every method
    # and property the protocol names
    members = [m for m in dir(hw.Device) if not m.startswith("_")]
    assert {"record", "blocks", "geometry", "loss_report"} <= set(members)
    assert all(hasattr(hw.InputDevice, m) for m in members)


def test_devices_lists_the_simulated_ones():
    """Issue 12 item 21."""
    sims = hw.list_devices(portaudio=False, usb=False, simulated=True)
    names = [d.name for d in sims]
    assert "sim:respeaker-usb-4mic" in names and "sim:uma-16" in names
    assert all(d.status == "simulated" and not d.usable for d in sims)
    assert "sim:generic-uac" not in names  # no geometry to simulate
    d = next(d for d in sims if d.name == "sim:respeaker-usb-4mic")
    assert (d.input_channels, d.default_samplerate) == (6, 16000.0)
    assert hw.list_devices(portaudio=False, usb=False) == []


def test_cli_takes_channel_map_and_geometry_from_an_odas_cfg(tmp_path, capsys):
    """An ODAS user's .cfg drives a generic device: its mics and its 1-based mapping."""
    from test_geometry_files import ODAS_CFG

    cfg = tmp_path / "respeaker_usb_4_mic_array.cfg"
    cfg.write_text(ODAS_CFG)
    out = tmp_path / "odas.wav"
    args = ["record", "--device", "sim:generic-uac", "--channels", "6", "--channel-map", str(cfg)]
    assert main([*args, "--geometry", str(cfg), "--seconds", "0.1", str(out)]) == 0
    assert sf.info(out).channels == 4  # ODAS map (2, 3, 4, 5) -> channels 1..4 of 6
    args[-1] = "1,x"
    assert main([*args, "--seconds", "0.1", str(out)]) == 2
    assert "--channel-map='1,x': must be channels like 1,2,3,4 or an ODAS .cfg" in (
        capsys.readouterr().err
    )
    # the .cfg as --geometry alone: its mapping.map was not read, so a 6-channel ReSpeaker
    # USB took its first four channels (the processed one among them) as the microphones;
    # refused, as for a recording, for any device command
    generic = ["--device", "sim:generic-uac", "--channels", "6", "--geometry", str(cfg)]
    for cmd in (["record", *generic, "--seconds", "0.1", str(tmp_path / "b.wav")],
                ["track", *generic, "--seconds", "0.1", "-o", str(tmp_path / "t")]):  # fmt: skip
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("arraykit: error: --geometry=")
        assert "reads its microphones from channels 2,3,4,5 of --device 'sim:generic-uac'" in err
        assert f"add --channel-map {cfg} to read them so" in err
    assert not (tmp_path / "b.wav").exists() and not (tmp_path / "t").exists()
