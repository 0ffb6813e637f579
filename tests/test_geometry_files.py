"""Named geometries, TOML and acoular XML files, and their errors."""

from __future__ import annotations

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
        (".toml", "positions = [[0, 0, 0], [0.1, 0", r"is not valid TOML"),
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
