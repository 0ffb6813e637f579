"""Named geometries, TOML and acoular XML files, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import arraykit as ak
from arraykit.geometry import read_geometry_info

EXPECTED = {
    # name: (microphones, layout)
    "respeaker-usb-4mic": (4, "planar"),
    "respeaker-xvf3800": (4, "planar"),
    "respeaker-6mic": (6, "planar"),
    "respeaker-4mic-hat": (4, "planar"),
    "respeaker-4mic-linear": (4, "linear"),
    "uma-8": (7, "planar"),
    "uma-16": (16, "planar"),
    "ps3-eye": (4, "linear"),
    "kinect-v1": (4, "linear"),
    "matrix-voice": (8, "planar"),
    "linear-4-40mm": (4, "linear"),
    "cross-9-30mm": (9, "planar"),
    "polimi-ula32": (32, "linear"),
}


def test_every_named_geometry_is_listed() -> None:
    assert sorted(EXPECTED) == ak.list_geometries()


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED.items()))
def test_named_geometry_counts_layouts_and_sources(name: str, expected: tuple[int, str]) -> None:
    g = ak.load_geometry(name)
    assert (g.n_mics, g.layout) == expected
    assert g.name == name
    info = read_geometry_info(name)
    assert len(info["source"]) > 20, "each geometry cites where its coordinates come from"
    assert info["channels"], "each geometry notes its channel order"
    # real boards are a few centimetres to a metre across
    assert 0.05 < g.aperture < 1.0


def test_named_geometry_facts_from_hardware_notes() -> None:
    rs = ak.load_geometry("respeaker-usb-4mic")
    np.testing.assert_allclose(np.linalg.norm(rs.positions, axis=1), 0.032)
    np.testing.assert_allclose(rs.positions[0], [-0.032, 0, 0])  # raw ch1 at 180°
    uma16 = ak.load_geometry("uma-16")
    assert uma16.min_spacing == pytest.approx(0.042)
    xs = np.unique(np.round(uma16.positions[:, 0], 4))
    np.testing.assert_allclose(xs, [-0.063, -0.021, 0.021, 0.063])
    ps3 = ak.load_geometry("ps3-eye")  # along y, channel order not physical
    np.testing.assert_allclose(ps3.positions[:, 1], [-0.03, 0.01, -0.01, 0.03])
    assert ps3.mirror((30, 0)) == pytest.approx((150.0, 0.0))  # a line along y: left = right
    mv = ak.load_geometry("matrix-voice")
    ang = np.degrees(np.arctan2(mv.positions[1:, 1], mv.positions[1:, 0]))
    np.testing.assert_allclose(np.mod(np.diff(ang), 360), 360 - 51.4, atol=0.01)  # clockwise
    kin = ak.load_geometry("kinect-v1")
    np.testing.assert_allclose(kin.positions[:, 0], [0.113, -0.036, -0.076, -0.113])
    assert ak.load_geometry("cross-9-30mm") == ak.ArrayGeometry.cross(2, 0.03, name="cross-9-30mm")
    assert ak.load_geometry(ak.ArrayGeometry.linear(2, 0.1)).n_mics == 2


def test_toml_file_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "mine.toml"
    p.write_text('name = "desk"\npositions = [[0.0, 0.0], [0.05, 0.0], [0.0, 0.05]]\n')
    g = ak.load_geometry(p)
    assert g.name == "desk" and g.n_mics == 3 and g.layout == "planar"
    assert ak.load_geometry(str(p)) == g


def test_acoular_xml(tmp_path: Path) -> None:
    p = tmp_path / "array.xml"
    p.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<MicArray name="four">\n'
        '  <pos Name="Point 1" x="0.1" y="0" z="0"/>\n  <pos Name="Point 2" x="0" y="0.1" z="0"/>\n'
        '  <pos Name="Point 3" x="-0.1" y="0" z="0"/>\n  <pos Name="Point 4" x="0" y="-0.1" z="0.0"/>\n'
        "</MicArray>\n"
    )
    g = ak.load_geometry(p)
    assert g.name == "four" and g.n_mics == 4 and g.layout == "planar"
    np.testing.assert_allclose(g.positions[1], [0, 0.1, 0])


@pytest.mark.parametrize(
    ("suffix", "text", "match"),
    [
        (".toml", "positions = [[0, 0, 0], [0.1, 0", r"is not valid TOML: (?!.*read as)"),
        # new-user pass: a JSON file was said to be 'not valid TOML', no more
        (
            ".json",
            '{"positions": [[0, 0, 0], [0.1, 0, 0]]}',
            r"not valid TOML: .* \(read as TOML: arraykit reads \.toml, \.xml, \.cfg geometry "
            r"files, not \.json\)",
        ),
        (".toml", 'name = "x"\n', r"field 'positions' is missing"),
        (".toml", 'positions = "nope"\n', r"field 'positions' must be a list"),
        (".toml", "positions = [[0, 0, 0], [0.1, 0]]\n", r"mixes rows of 2 and 3"),
        (
            ".toml",
            'positions = [[0, 0, 0], [0.1, "a", 0]]\n',
            r"field 'positions\[1\]' must be 2 or 3 numbers",
        ),
        (".toml", "positions = [[0, 0, 0], [0, 0, 0]]\n", r"field positions=.*same position"),
        (".toml", "name = 3\npositions = [[0, 0], [1, 0]]\n", r"field 'name' must be a string"),
        (".xml", "<MicArray><pos x='0' y='0'/></MicArray>", r"field 'pos\[0\]\.z' is missing"),
        (
            ".xml",
            "<MicArray><pos x='0' y='0' z='a'/></MicArray>",
            r"field 'pos\[0\]\.z'='a' is not a number",
        ),
        (".xml", "<Array></Array>", r"root element must be <MicArray>"),
        (".xml", "<MicArray></MicArray>", r"no <pos> elements"),
        (".xml", "<MicArray><pos", r"not valid XML"),
    ],
)
def test_malformed_files_say_which_field(
    tmp_path: Path, suffix: str, text: str, match: str
) -> None:
    p = tmp_path / f"bad{suffix}"
    p.write_text(text)
    with pytest.raises(ak.GeometryFileError, match=match):
        ak.load_geometry(p)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match=r"name_or_path='respeaker-7mic': unknown geometry; known names: .*uma-16"
    ):
        ak.load_geometry("respeaker-7mic")
    with pytest.raises(ValueError, match=r"name_or_path=.*missing\.toml.*no such file"):
        ak.load_geometry("missing.toml")
    with pytest.raises(ValueError, match=r"name_or_path=3"):
        ak.load_geometry(3)  # type: ignore[arg-type]


# -- issue 12 item 19: units, unknown keys, implausible sizes, encodings ----------------------


def test_toml_units_scale_the_positions(tmp_path: Path) -> None:
    rows = "[[-32.0, 0.0, 0.0], [0.0, -32.0, 0.0], [32.0, 0.0, 0.0], [0.0, 32.0, 0.0]]"
    mm = tmp_path / "mm.toml"
    mm.write_text(f'units = "mm"\npositions = {rows}\n')
    cm = tmp_path / "cm.toml"
    cm.write_text(f'units = "cm"\npositions = {rows.replace("32.0", "3.2")}\n')
    ref = ak.load_geometry("respeaker-usb-4mic").positions
    np.testing.assert_allclose(ak.load_geometry(mm).positions, ref, atol=1e-15)
    np.testing.assert_allclose(ak.load_geometry(cm).positions, ref, atol=1e-15)
    assert ak.load_geometry(mm).aliasing_frequency() == pytest.approx(343 / (2 * 0.032 * 2**0.5))
    bad = tmp_path / "inch.toml"
    bad.write_text(f'units = "in"\npositions = {rows}\n')
    with pytest.raises(ak.GeometryFileError, match=r"'units'='in' must be one of m, cm, mm"):
        ak.load_geometry(bad)


def test_toml_unknown_keys_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "typo.toml"
    p.write_text('unit = "mm"\npositions = [[0, 0, 0], [40, 0, 0]]\n')
    with pytest.raises(ak.GeometryFileError, match=r"typo\.toml.*unknown key\(s\) unit; .*units"):
        ak.load_geometry(p)


def test_implausibly_large_array_warns(tmp_path: Path) -> None:
    p = tmp_path / "millimetres.toml"
    p.write_text("positions = [[0, 0, 0], [40, 0, 0], [80, 0, 0]]\n")  # mm read as metres
    with pytest.warns(ak.geometry.GeometryWarning, match=r"80 m across.*units = \"mm\""):
        ak.load_geometry(p)
    # an ODAS .cfg or acoular XML has no units: the TOML hint pointed at a key they lack
    cfg = tmp_path / "millimetres.cfg"
    cfg.write_text("general: { mics = ( { mu = (0, 0, 0); }, { mu = (40, 0, 0); } ); };")
    with pytest.warns(ak.geometry.GeometryWarning) as got:
        ak.load_geometry(cfg)
    assert "40 m across" in str(got[0].message) and "units" not in str(got[0].message)
    assert "ODAS reads mu in metres: divide them by 1000 (mm)" in str(got[0].message)
    ok = tmp_path / "wall.toml"
    ok.write_text("positions = [[0, 0, 0], [2.5, 0, 0]]\n")  # a 2.5 m line array: fine
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ak.load_geometry(ok)


def test_non_utf8_file_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "latin1.toml"
    p.write_bytes('title = "Mikrofon\xe4"\npositions = [[0, 0], [0.1, 0]]\n'.encode("latin-1"))
    with pytest.raises(ak.GeometryFileError, match=r"latin1\.toml.*not UTF-8"):
        ak.load_geometry(p)


# -- acoular XML written, and read in acoular's own shape -------------------------------------

# The layout of acoular's shipped files (acoular/xml/minidsp_uma-16.xml): an XML 1.1
# declaration on the root's line, comments, "Point k" names. Positions: HARDWARE.md.
ACOULAR_UMA16 = """<?xml version="1.1" encoding="utf-8"?><MicArray name="minidsp_uma16">
   <!-- the UMA-16 MEMS microphone array -->
{rows}
</MicArray>"""


def test_reads_acoulars_own_file_layout(tmp_path: Path) -> None:
    g16 = ak.load_geometry("uma-16")
    rows = "\n".join(
        f'  <pos Name="Point {k + 1}" x="{x!r}" y="{y!r}" z="{z!r}"/>'
        for k, (x, y, z) in enumerate(g16.positions.tolist())
    )
    p = tmp_path / "minidsp_uma-16.xml"
    p.write_text(ACOULAR_UMA16.format(rows=rows))
    g = ak.load_geometry(p)
    assert g.name == "minidsp_uma16"
    np.testing.assert_array_equal(g.positions, g16.positions)


def test_acoular_xml_round_trip_is_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    g = ak.ArrayGeometry(rng.uniform(-0.5, 0.5, size=(64, 3)), name="vogel-ish")
    p = ak.geometry.write_geometry(g, tmp_path / "out.xml")
    back = ak.load_geometry(p)
    assert back.name == "vogel-ish"
    np.testing.assert_allclose(back.positions, g.positions, rtol=0, atol=1e-12)
    # acoular reads it the way acoular does (minidom, <pos> elements' x, y, z)
    from xml.dom import minidom

    doc = minidom.parse(str(p))
    assert doc.documentElement.tagName == "MicArray"
    xyz = [[float(el.getAttribute(a)) for a in "xyz"] for el in doc.getElementsByTagName("pos")]
    np.testing.assert_allclose(xyz, g.positions, rtol=0, atol=1e-12)
    names = [el.getAttribute("Name") for el in doc.getElementsByTagName("pos")]
    assert names[:2] == ["Point 1", "Point 2"]
    t = ak.geometry.write_geometry(g, tmp_path / "out.toml")  # arraykit's own, also exact
    np.testing.assert_allclose(ak.load_geometry(t).positions, g.positions, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"must end in \.xml \(acoular\) or \.toml"):
        ak.geometry.write_geometry(g, tmp_path / "out.csv")


# -- ODAS .cfg ---------------------------------------------------------------------------------

# Shaped like ODAS's config/odaslive/respeaker_usb_4_mic_array.cfg (libconfig): comments,
# groups with ':' and '=', lists of groups, explicit '+' signs, other sections around.
ODAS_CFG = """# Configuration file for ReSpeaker USB 4 Mic Array

version = "2.1";

raw:
{
    fS = 16000;
    hopSize = 128;
    nBits = 16;
    nChannels = 6;
    interface: { type = "soundcard"; card = 1; device = 0; }
}

# Mapping

mapping:
{
    map: (2, 3, 4, 5);
}

general:
{
    epsilon = 1E-20;
    size: { hopSize = 128; frameSize = 256; };
    samplerate: { mu = 16000; sigma2 = 0.01; };
    speedofsound: { mu = 343.0; sigma2 = 25.0; };

    mics = (
        # Microphone 1
        {
            mu = ( -0.032, +0.000, +0.000 );
            sigma2 = ( +0.000, +0.000, +0.000, +0.000, +0.000, +0.000, +0.000, +0.000, +0.000 );
            direction = ( +0.000, +0.000, +1.000 );
            angle = ( 80.0, 90.0 );
        },
        # Microphone 2
        {
            mu = ( +0.000, -0.032, +0.000 );
            sigma2 = ( +0.000, +0.000, +0.000, +0.000, +0.000, +0.000, +0.000, +0.000, +0.000 );
            direction = ( +0.000, +0.000, +1.000 );
            angle = ( 80.0, 90.0 );
        },
        # Microphone 3
        {
            mu = ( +0.032, +0.000, +0.000 );
            sigma2 = ( +0.000, +0.000, +0.000, +0.000, +0.000, +0.000, +0.000, +0.000, +0.000 );
            direction = ( +0.000, +0.000, +1.000 );
            angle = ( 80.0, 90.0 );
        },
        # Microphone 4
        {
            mu = ( +0.000, +0.032, +0.000 );
            sigma2 = ( +0.000, +0.000, +0.000, +0.000, +0.000, +0.000, +0.000, +0.000, +0.000 );
            direction = ( +0.000, +0.000, +1.000 );
            angle = ( 80.0, 90.0 );
        }
    );

    spatialfilters = ( { direction = ( +0.000, +0.000, +1.000 ); angle = (80.0, 90.0); } );
    nThetas = 181;
    gainMin = 0.25;
};

ssl:
{
    nPots = 4;
    scans = ( { level = 2; delta = -1; }, { level = 4; delta = -1; } );
    potential: { format = "json"; interface: { type = "socket"; ip = "127.0.0.1"; port = 9001; }; };
};
"""


def test_odas_cfg_positions_and_channel_map(tmp_path: Path) -> None:
    p = tmp_path / "respeaker_usb_4_mic_array.cfg"
    p.write_text(ODAS_CFG)
    g = ak.load_geometry(p)
    np.testing.assert_array_equal(g.positions, ak.load_geometry("respeaker-usb-4mic").positions)
    cmap = ak.hardware.odas_channel_map(p)
    assert cmap == (1, 2, 3, 4) == ak.hardware.load_profile("respeaker-usb-4mic").channel_map
    # the pair drives a device: the profile's own map and geometry, from the file
    prof = ak.hardware.load_profile("generic-uac").with_options(
        channels=6, channel_map=cmap, geometry=str(p)
    )
    assert prof.geometry is not None and prof.geometry.n_mics == 4


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("general: { mics = (); };", r"no microphones"),
        ("general: { mics = ( { mu = (0.0, 0.1); } ); };", r"general\.mics\[0\]\.mu' must be 3"),
        ("general: { mics = ( { mu = (0.0, 0.1, 0.0) } ", r"ends in the middle"),
        ("general: { mics = ( { mu = (0.0, 0.1, 0.0) @ } ); };", r"libconfig syntax at line 1"),
        # ODAS's odascore/pseye.cfg puts mics 1 and 2 both at y = +0.010 (odaslive/pseye.cfg:
        # -0.010 for mic 2): "field positions=[[...], ...]: microphones 1 and 2 are at the
        # same position", a field the file has not got
        (
            "general: { mics = ( { mu = (0.0, -0.03, 0.0); }, { mu = (0.0, 0.01, 0.0); },\n"
            "  { mu = (0.0, 0.01, 0.0); }, { mu = (0.0, 0.03, 0.0); } ); };",
            r"fields 'general\.mics\[1\]\.mu' and 'general\.mics\[2\]\.mu' are the same "
            r"position \(0\.0, 0\.01, 0\.0\)",
        ),
    ],
)
def test_malformed_odas_cfg_says_what(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "bad.cfg"
    p.write_text(text)
    with pytest.raises(ak.GeometryFileError, match=match):
        ak.load_geometry(p)


def test_odas_channel_map_errors(tmp_path: Path) -> None:
    p = tmp_path / "nomap.cfg"
    p.write_text("general: { mics = ( { mu = (0.0, 0.0, 0.0); }, { mu = (0.1, 0.0, 0.0); } ); };")
    with pytest.raises(ak.GeometryFileError, match=r"no channel map"):
        ak.hardware.odas_channel_map(p)
    p.write_text(p.read_text() + "mapping: { map: (0, 1); };")
    # ODAS copies map[k] - 1 to mic k, and zeros for a 0 (hop2hop_multiplex_process): a
    # muted mic, not a typo; it said "must be channel numbers from 1", no reason given
    with pytest.raises(ak.GeometryFileError, match=r"'mapping\.map\[0\]' is 0, which ODAS"):
        ak.hardware.odas_channel_map(p)
    p.write_text(p.read_text().replace("(0, 1)", "(-1, 1)"))
    with pytest.raises(ak.GeometryFileError, match=r"channel numbers from 1"):
        ak.hardware.odas_channel_map(p)
    p.write_text(p.read_text().replace("(-1, 1)", "(0, 1)"))
    p.write_text(p.read_text().replace("(0, 1)", "(1, 2, 3)"))
    with pytest.raises(ak.GeometryFileError, match=r"3 channels but general\.mics 2 mics"):
        ak.hardware.odas_channel_map(p)


def _odas_raw(tmp_path: Path, cfg_text: str, cmap: list[int], channels: int, az: float) -> Path:
    """A raw recording of the .cfg's array: microphone k on channel cmap[k] (from 0), the
    other channels noise (a device's processed or playback channels)."""
    cfg = tmp_path / "odas.cfg"
    cfg.write_text(cfg_text)
    g = ak.load_geometry(cfg)
    fs = 16000
    sc = ak.sim.simulate(g, [ak.sim.Source(ak.sim.speech_like(1.0, fs, seed=6), az)], fs,
                         rt60=0.2, snr_db=25, seed=3, max_order=4)  # fmt: skip
    raw = 0.3 * np.random.default_rng(0).standard_normal((channels, sc.signals.shape[1]))
    raw[cmap] = sc.signals / np.abs(sc.signals).max() * 0.5
    wav = tmp_path / "raw.wav"
    ak.io.write_audio(wav, raw, fs, subtype="FLOAT")
    return wav


@pytest.mark.parametrize(
    ("odas_map", "cmap", "channels", "in_order"),
    [
        ("(2, 3, 4, 5)", [1, 2, 3, 4], 6, False),  # ODAS's ReSpeaker USB file as it ships
        ("(4, 2, 1, 3)", [3, 1, 0, 2], 4, True),  # a permutation: as many channels as mics
    ],
)
def test_odas_cfg_geometry_whose_mapping_is_not_read_is_refused(
    tmp_path: Path, capsys, odas_map: str, cmap: list[int], channels: int, in_order: bool
) -> None:
    """``--geometry odas.cfg`` without ``--channel-map``: the file's mapping.map was not
    read. A 6-channel ReSpeaker USB take was refused with "add --channel-map ... e.g.
    0,1,2,3", which read the processed channel 0 as a microphone (30 deg measured 124,
    150 -> 237, 250 -> 340, confidence 0.95); a permuted map on as many channels as mics
    ran silently on the wrong channels (8-mic MATRIX Creator: 30 -> 153, 200 -> 331,
    300 -> 181, confidence 0.84-0.87). Now refused, exit 2, naming --channel-map odas.cfg."""
    from arraykit.cli import main

    wav = _odas_raw(tmp_path, ODAS_CFG.replace("(2, 3, 4, 5)", odas_map), cmap, channels, 150.0)
    cfg = str(tmp_path / "odas.cfg")
    assert main(["doa", str(wav), "--geometry", cfg, "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("arraykit: error: --geometry=")
    assert f"channels {odas_map[1:-1].replace(' ', '')} of FILE" in err
    assert f"add --channel-map {cfg} to read them so" in err
    assert ("--channel-map 0,1,2,3 if FILE holds them in geometry order" in err) == in_order
    assert main(["track", str(wav), "--geometry", cfg, "-o", str(tmp_path / "o")]) == 2
    assert "IN.wav" in capsys.readouterr().err and not (tmp_path / "o").exists()
    assert main(["doa", str(wav), "--geometry", cfg, "--channel-map", cfg, "--json"]) == 0
    az = json.loads(capsys.readouterr().out)["sources"][0]["azimuth"]
    assert abs(az - 150.0) <= 3.0


def test_odas_cfg_geometry_with_an_identity_or_unfitting_map_reads_the_file_in_order(
    tmp_path: Path, capsys
) -> None:
    """A map of 1..M, or one that needs channels the file has not got (a take already in
    geometry order, e.g. recorded with --channel-map odas.cfg), takes the channels as they
    are."""
    from arraykit.cli import main

    wav = _odas_raw(tmp_path, ODAS_CFG, [0, 1, 2, 3], 4, 250.0)  # map (2..5) needs channel 5
    cfg = str(tmp_path / "odas.cfg")
    assert main(["doa", str(wav), "--geometry", cfg, "--json"]) == 0
    assert abs(json.loads(capsys.readouterr().out)["sources"][0]["azimuth"] - 250.0) <= 3.0
    # the .cfg given again as --channel-map: "--channel-map='1,2,3,4': needs channel 4 but
    # raw.wav has 4 channel(s)", a value the user never typed
    assert main(["doa", str(wav), "--geometry", cfg, "--channel-map", cfg]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("arraykit: error: --channel-map=")
    assert "its mapping.map reads channel 5 (from 1) but raw.wav has 4 channel(s)" in err
    assert "already in geometry order (one made with this map) needs no --channel-map" in err
    (tmp_path / "odas.cfg").write_text(ODAS_CFG.replace("(2, 3, 4, 5)", "(1, 2, 3, 4)"))
    assert main(["doa", str(wav), "--geometry", cfg, "--json"]) == 0
    assert abs(json.loads(capsys.readouterr().out)["sources"][0]["azimuth"] - 250.0) <= 3.0


def test_odas_cfg_that_mutes_a_microphone_is_named_with_geometry_alone(
    tmp_path: Path, capsys
) -> None:
    """mapping.map (2, 0, 4, 5) mutes mic 1 in ODAS. With --geometry alone the map was
    skipped and the 6-channel take got the hint "e.g. --channel-map 0,1,2,3" (channel 0 is
    the processed one); now the file's map is read and its 0 explained."""
    from arraykit.cli import main

    cfg = tmp_path / "mute.cfg"
    cfg.write_text(ODAS_CFG.replace("(2, 3, 4, 5)", "(2, 0, 4, 5)"))
    wav = tmp_path / "raw.wav"
    ak.io.write_audio(wav, np.random.default_rng(1).standard_normal((6, 4000)) * 0.1, 16000)
    assert main(["doa", str(wav), "--geometry", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "e.g. --channel-map 0,1,2,3" not in err
    assert "'mapping.map[1]' is 0, which ODAS reads as microphone 1 muted" in err


@pytest.mark.parametrize("suffix", [".cfg", ".toml"])
def test_geometry_files_saved_by_windows_editors_load(tmp_path: Path, suffix: str) -> None:
    """A UTF-8 byte-order mark (Notepad's UTF-8) and CRLF line ends: the BOM made an ODAS
    file "cannot read libconfig syntax at line 1: '\\ufeff# Configuration ...'" and a TOML
    one "is not valid TOML: Invalid statement (at line 1, column 1)"."""
    text = ODAS_CFG if suffix == ".cfg" else (
        'name = "usb"\npositions = [[-0.032, 0, 0], [0, -0.032, 0], [0.032, 0, 0], [0, 0.032, 0]]\n'
    )  # fmt: skip
    p = tmp_path / f"notepad{suffix}"
    p.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    g = ak.load_geometry(p)
    np.testing.assert_array_equal(g.positions, ak.load_geometry("respeaker-usb-4mic").positions)
    if suffix == ".cfg":
        assert ak.hardware.odas_channel_map(p) == (1, 2, 3, 4)
