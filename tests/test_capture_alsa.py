"""Capture through real PortAudio from ALSA ``file`` devices replaying a raw file.

Each scenario runs in a subprocess whose HOME holds the ``.asoundrc`` declaring the
devices (sounddevice initialises PortAudio at import). The replayed file is 6-channel
int16 like a ReSpeaker USB array on its 6-channel firmware, so channel maps and
bit-exact capture are checked sample by sample.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from alsa_support import asound_home, cli, env_for, require_portaudio, run_py, write_raw

FS = 16000


@pytest.fixture(scope="module")
def alsa(tmp_path_factory):
    require_portaudio()
    tmp = tmp_path_factory.mktemp("alsa")
    rng = np.random.default_rng(6)
    frames = rng.integers(-32768, 32767, size=(3 * FS, 6), dtype=np.int16)
    frames[:, 0] = np.arange(3 * FS) % 30000  # channel 0 counts frames
    raw = write_raw(tmp / "respeaker.raw", frames)
    home = asound_home(tmp, {"ReSpeaker_4_Mic_Array_sim": raw})
    return tmp, frames, env_for(home)


SCENARIO = r"""
import json, numpy as np, arraykit as ak
hw = ak.hardware
frames = np.fromfile(RAW, dtype="<i2").reshape(-1, 6)
out = {}
devs = hw.list_devices(usb=False)
out["devices"] = [(d.name, d.status, d.profile, d.firmware) for d in devs]
with hw.open("respeaker-usb-4mic", blocksize=256, queue_blocks=4000) as d:
    x = d.record(1.0)
    out["name"], out["fs"], out["channel_map"] = d.name, d.fs, list(d.channel_map)
    out["geometry"] = d.geometry.name
    out["lost"] = len(d.overflows)
    out["is_device"] = isinstance(d, hw.Device)
out["dtype"], out["shape"] = str(x.dtype), list(x.shape)
ref = (frames[:16000, 1:5].T / 32768.0).astype(np.float32)
out["bit_exact"] = bool(np.array_equal(x, ref))
idx = {}
for spec in ["ReSpeaker 4-mic ARRAY", "respeaker_4_mic_array_sim", str(devs[[n for n, *_ in out["devices"]].index("ReSpeaker_4_Mic_Array_sim")].index)]:
    with hw.open(spec, blocksize=256, queue_blocks=4000) as d:
        idx[spec] = (d.index, d.profile.name)
out["resolved"] = idx
with hw.open("respeaker", all_channels=True, blocksize=512, queue_blocks=4000) as d:
    y = d.record(0.5)
    try:
        d.geometry
    except ak.DeviceError as e:
        out["all_channels_geometry"] = str(e)
out["all_exact"] = bool(np.array_equal(y, (frames[:8000].T / 32768.0).astype(np.float32)))
with hw.open("ReSpeaker", profile="generic-uac", channels=6, channel_map=[4, 3, 2, 1],
             geometry="respeaker-usb-4mic", blocksize=256, queue_blocks=4000) as d:
    blocks = [next(iter(d.blocks())) for _ in range(1)]
    b2 = next(d.blocks())
out["generic_exact"] = bool(np.array_equal(np.concatenate([blocks[0], b2], axis=1),
                             (frames[:512, [4, 3, 2, 1]].T / 32768.0).astype(np.float32)))
try:
    hw.open("UMA16v2")
except hw.DeviceNotFoundError as e:
    out["not_found"] = str(e)
try:
    hw.open("respeaker-usb-4mic", channel_map=[1, 2, 3])
except ValueError as e:
    out["bad_map"] = str(e)
try:
    hw.open("ReSpeaker", profile="generic-uac", channels=300).record(0.1)
except ak.DeviceError as e:
    out["open_error"] = str(e)
import sys
sys.path.insert(0, "tests")
from fake_usb import FakeBackend, FakeXVF3000
merged = hw.list_devices(backend=FakeBackend(FakeXVF3000(address=11)))
out["merged"] = [(d.name, d.usb_id, d.usb_location) for d in merged if d.usb_id]
print(json.dumps(out))
"""


def test_discovery_channel_maps_and_bit_exact_capture(alsa):
    tmp, _frames, env = alsa
    r = run_py(f"RAW = {str(tmp / 'respeaker.raw')!r}\n" + SCENARIO, env)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert ["ReSpeaker_4_Mic_Array_sim", "ready", "respeaker-usb-4mic", "6-channel"] in out[
        "devices"
    ]
    assert ["arraykit_null", "unknown", None, None] in out["devices"]
    assert out["name"] == "ReSpeaker_4_Mic_Array_sim"
    assert (out["fs"], out["channel_map"], out["geometry"]) == (
        16000,
        [1, 2, 3, 4],
        "respeaker-usb-4mic",
    )
    assert (out["dtype"], out["shape"], out["lost"]) == ("float32", [4, 16000], 0)
    assert out["bit_exact"] and out["is_device"]
    assert all(v[1] == "respeaker-usb-4mic" for v in out["resolved"].values())
    assert len({v[0] for v in out["resolved"].values()}) == 1
    assert out["all_exact"]
    assert "all_channels=True" in out["all_channels_geometry"]
    assert out["generic_exact"]
    assert "no audio input matches profile 'uma-16'" not in out["not_found"]
    assert "an input whose name contains 'UMA16v2'" in out["not_found"]
    assert "ReSpeaker_4_Mic_Array_sim (128 ch)" in out["not_found"]
    assert (
        "channel_map=(1, 2, 3): has 3 channels but geometry 'respeaker-usb-4mic' has 4"
        in out["bad_map"]
    )


def test_cli_record_writes_the_mics_in_geometry_order(alsa):
    tmp, frames, env = alsa
    wav = tmp / "mics.wav"
    r = cli(["record", "--device", "ReSpeaker 4 Mic Array", "--seconds", "1", str(wav)], env)
    assert r.returncode == 0, r.stderr
    data, fs = sf.read(wav, dtype="int16", always_2d=True)
    assert fs == FS
    assert sf.info(wav).subtype == "PCM_16"
    assert np.array_equal(data, frames[:FS, 1:5])
    assert "recorded 16000 frames" in r.stderr and "no frames lost" in r.stderr

    wav6 = tmp / "all.wav"
    r = cli(
        [
            "record",
            "--device",
            "respeaker-usb-4mic",
            "--seconds",
            "0.5",
            "--all-channels",
            str(wav6),
        ],
        env,
    )
    assert r.returncode == 0, r.stderr
    assert np.array_equal(sf.read(wav6, dtype="int16")[0], frames[: FS // 2])


def test_cli_devices_json_and_errors(alsa):
    tmp, _frames, env = alsa
    r = cli(["devices", "--json"], env)
    assert r.returncode == 0, r.stderr
    devices = json.loads(r.stdout)["devices"]
    sim = next(d for d in devices if d["name"] == "ReSpeaker_4_Mic_Array_sim")
    assert sim["profile"] == "respeaker-usb-4mic" and sim["usable"] is True
    simulated = next(d for d in devices if d["name"] == "sim:respeaker-usb-4mic")
    assert simulated["status"] == "simulated" and simulated["usable"] is False
    r = cli(["devices"], env)
    assert "[sim] sim:uma-8  (8 ch)\n      simulated: simulated miniDSP UMA-8" in r.stdout
    r = cli(["record", "--device", "no-such-array", "--seconds", "1", str(tmp / "x.wav")], env)
    assert r.returncode == 2
    assert r.stderr.startswith("arraykit: error: no audio input matches an input whose name")
    assert "ReSpeaker_4_Mic_Array_sim" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_no_device_given_and_none_found_says_what_to_give(tmp_path):
    """``arraykit record OUT.wav`` / ``live`` with no --device and no array said only
    "no microphone array found; inputs present: none": now what to give, a simulated
    array included (the one way to try the command without hardware)."""
    require_portaudio()
    env = env_for(asound_home(tmp_path, {}))  # no ALSA file device: only the machine's own
    r = cli(["devices", "--json"], env)
    assert r.returncode == 0, r.stderr
    real = [d for d in json.loads(r.stdout)["devices"] if d["usable"]]
    if real:  # an array is plugged in: without --device the command would capture from it
        pytest.skip(f"a microphone array is connected: {real[0]['name']}")
    out = tmp_path / "x.wav"
    for argv in (["record", "--seconds", "0.1", str(out)], ["live", "--seconds", "0.1"]):
        r = cli(argv, env)
        assert r.returncode == 2, r.stderr
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith("arraykit: error: no microphone array found; inputs present: ")
        assert last.endswith(
            "; give --device NAME ('arraykit devices' lists them; sim:NAME simulates one)"
        )
    assert not out.exists()


def test_portaudio_missing_says_how_to_install(tmp_path):
    fake = tmp_path / "shadow"
    fake.mkdir()
    (fake / "sounddevice.py").write_text('raise OSError("PortAudio library not found")\n')
    env = env_for(tmp_path)
    env["PYTHONPATH"] = f"{fake}:{env['PYTHONPATH']}"
    r = cli(
        ["record", "--device", "respeaker-usb-4mic", "--seconds", "1", str(tmp_path / "x.wav")], env
    )
    assert r.returncode == 2
    assert "apt-get install libportaudio2" in r.stderr and "brew install portaudio" in r.stderr
    r = cli(["devices"], env)
    assert r.returncode == 0
    assert "note: audio inputs not scanned" in r.stdout and "libportaudio2" in r.stdout
