"""ArrayGeometry: layouts, the left/right verdicts, spacing facts, transforms, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import arraykit as ak
from arraykit.geometry import DELAY_TOL, directions_from_vectors, unit_vectors

C = 343.0


# ------------------------------------------------------------------ factories
def test_linear_is_centred_along_x() -> None:
    g = ak.ArrayGeometry.linear(4, 0.04)
    np.testing.assert_allclose(g.positions[:, 0], [-0.06, -0.02, 0.02, 0.06])
    np.testing.assert_array_equal(g.positions[:, 1:], 0.0)
    assert g.n_mics == 4
    assert g.layout == "linear"
    np.testing.assert_allclose(np.abs(g.axis), [1, 0, 0])


def test_circular_mic0_on_x_counter_clockwise() -> None:
    g = ak.ArrayGeometry.circular(6, 0.05)
    np.testing.assert_allclose(g.positions[0], [0.05, 0, 0], atol=1e-15)
    np.testing.assert_allclose(
        g.positions[1], [0.05 * np.cos(np.pi / 3), 0.05 * np.sin(np.pi / 3), 0]
    )
    gc = ak.ArrayGeometry.circular(6, 0.05, center_mic=True)
    assert gc.n_mics == 7
    np.testing.assert_array_equal(gc.positions[-1], 0.0)


def test_rectangular_and_cross() -> None:
    r = ak.ArrayGeometry.rectangular(4, 3, 0.02)
    assert r.n_mics == 12 and r.layout == "planar"
    np.testing.assert_allclose(r.centroid, 0.0, atol=1e-15)
    np.testing.assert_allclose(r.positions[1] - r.positions[0], [0.02, 0, 0])  # x runs fastest
    x = ak.ArrayGeometry.cross(2, 0.03)
    assert x.n_mics == 9 and x.layout == "planar"
    np.testing.assert_allclose(x.positions[:2], [[0.03, 0, 0], [0.06, 0, 0]])
    np.testing.assert_allclose(x.positions[2:4], [[0, 0.03, 0], [0, 0.06, 0]])
    assert ak.ArrayGeometry.cross(3, 0.02, center_mic=False).n_mics == 12


def test_two_column_positions_mean_z_zero() -> None:
    g = ak.ArrayGeometry([[0, 0], [0.1, 0], [0, 0.1]])
    assert g.positions.shape == (3, 3)
    np.testing.assert_array_equal(g.positions[:, 2], 0.0)


# ---------------------------------------------------------------- immutability
def test_geometry_is_frozen_and_read_only() -> None:
    g = ak.ArrayGeometry.linear(3, 0.05)
    with pytest.raises(AttributeError, match="immutable"):
        g.name = "x"  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        g.positions[0, 0] = 1.0
    src = np.array([[0.0, 0, 0], [0.1, 0, 0]])
    g2 = ak.ArrayGeometry(src)
    src[0, 0] = 5.0  # the geometry keeps its own copy
    assert g2.positions[0, 0] == 0.0


def test_geometry_pickles_and_copies() -> None:
    """Worker processes (multiprocessing, joblib) receive geometries by pickle."""
    import copy
    import pickle

    g = ak.load_geometry("respeaker-6mic")
    for h in (pickle.loads(pickle.dumps(g)), copy.deepcopy(g), copy.copy(g)):
        assert h == g and h.name == g.name and h.layout == g.layout
        assert h.aperture == g.aperture and not h.positions.flags.writeable


# --------------------------------------------------------------------- layout
def test_layout_tolerates_board_flatness_of_a_tenth_of_a_millimetre() -> None:
    rng = np.random.default_rng(1)
    ring = ak.ArrayGeometry.circular(8, 0.05).positions.copy()
    ring[:, 2] += rng.uniform(-1e-4, 1e-4, size=8)
    assert ak.ArrayGeometry(ring).layout == "planar"
    line = ak.ArrayGeometry.linear(6, 0.03).positions.copy()
    line[:, 1] += rng.uniform(-1e-4, 1e-4, size=6)
    assert ak.ArrayGeometry(line).layout == "linear"
    cube = [[0, 0, 0], [0.05, 0, 0], [0, 0.05, 0], [0, 0, 0.05]]
    assert ak.ArrayGeometry(cube).layout == "volumetric"
    tilted = ring.copy()
    tilted[:4, 2] += 0.01  # one side lifted by a centimetre: no longer a plane
    assert ak.ArrayGeometry(tilted).layout == "volumetric"


# ------------------------------------------------------------ left/right verdicts
def test_linear_array_cannot_tell_the_two_sides_of_its_line_apart() -> None:
    g = ak.ArrayGeometry.linear(4, 0.04)  # along x
    assert not g.resolves((60, 0), (300, 0))
    assert g.resolves((60, 0), (120, 0))
    assert g.mirror((60, 0)) == pytest.approx((300.0, 0.0))
    # the whole cone: above/below the line is the same too
    assert not g.resolves((90, 40), (90, -40))
    # turned sideways (along y) it confuses left with right
    side = g.rotated(90)
    assert not side.resolves((60, 0), (120, 0))
    assert side.resolves((60, 0), (300, 0))
    assert side.mirror((60, 0)) == pytest.approx((120.0, 0.0))


def test_planar_array_resolves_360_but_not_above_from_below() -> None:
    g = ak.ArrayGeometry.circular(6, 0.0463)
    assert g.resolves((60, 0), (300, 0))
    assert g.resolves((60, 0), (240, 0))
    assert not g.resolves((60, 30), (60, -30))
    assert g.mirror((60, 30)) == pytest.approx((60.0, -30.0))
    for geo in (ak.ArrayGeometry.rectangular(4, 4, 0.042), ak.ArrayGeometry.cross(2, 0.03)):
        assert geo.resolves((10, 0), (350, 0))
        assert geo.resolves((10, 0), (190, 0))
        assert not geo.resolves((200, 50), (200, -50))


def test_volumetric_array_has_no_mirror() -> None:
    g = ak.ArrayGeometry([[0, 0, 0], [0.05, 0, 0], [0, 0.05, 0], [0, 0, 0.05]])
    assert g.mirror((60, 30)) is None
    assert g.resolves((60, 30), (60, -30))
    assert g.resolves((60, 0), (300, 0))


@pytest.mark.parametrize(
    "geometry",
    [
        ak.ArrayGeometry.linear(5, 0.03).rotated(37),
        ak.ArrayGeometry.circular(7, 0.04),
        ak.ArrayGeometry.cross(2, 0.03),
        ak.ArrayGeometry.linear(4, 0.05).rotated(-20).translated([0.1, 0.2, 0.0]),
    ],
)
def test_mirror_gives_identical_inter_microphone_delays(geometry: ak.ArrayGeometry) -> None:
    rng = np.random.default_rng(7)
    for az, el in zip(rng.uniform(0, 360, 25), rng.uniform(-80, 80, 25), strict=True):
        if geometry.layout == "linear":
            el = 0.0  # the mirror of a line is defined in the same elevation plane
        m = geometry.mirror((az, el))
        assert m is not None
        assert not geometry.resolves((az, el), m)
        tau = geometry.delays([(az, el), m])
        d = tau[0] - tau[1]
        assert np.ptp(d) < 1e-12


def test_resolution_tolerance_is_below_a_sample_at_48k() -> None:
    assert DELAY_TOL < 0.1 / 48000
    g = ak.ArrayGeometry.linear(2, 0.2)
    # 0.5 degree near broadside moves the delay by d*sin(0.5°)/c = 5.1 µs > tolerance
    assert g.resolves((90, 0), (90.5, 0))
    assert not g.resolves((90, 0), (90.01, 0))


def test_describe_is_a_plain_sentence_with_the_coverage() -> None:
    line = ak.load_geometry("linear-4-40mm").describe()
    assert "180°" in line and "two sides of its line" in line
    ring = ak.load_geometry("respeaker-6mic").describe()
    assert "360°" in ring and "above from below" in ring
    assert (
        ak.ArrayGeometry([[0, 0, 0], [0.05, 0, 0], [0, 0.05, 0], [0, 0, 0.05]])
        .describe()
        .count(".")
        >= 1
    )
    assert ak.ArrayGeometry.linear(4, 0.04).azimuth_coverage == 180
    assert ak.ArrayGeometry.circular(4, 0.04).azimuth_coverage == 360
    assert ak.ArrayGeometry.circular(4, 0.04).elevation_coverage == (0.0, 90.0)


# -------------------------------------------------------------- spacing facts
def test_spacing_aperture_and_aliasing_frequency() -> None:
    g = ak.ArrayGeometry.linear(8, 0.0214375)
    assert g.aperture == pytest.approx(7 * 0.0214375)
    assert g.min_spacing == pytest.approx(0.0214375)
    assert g.max_spacing == pytest.approx(g.aperture)
    assert g.aliasing_frequency() == pytest.approx(C / (2 * 0.0214375))  # 8000 Hz
    assert g.aliasing_frequency(c=340.0) == pytest.approx(340.0 / (2 * 0.0214375))
    ring = ak.ArrayGeometry.circular(6, 0.05)  # neighbours are one radius apart
    assert ring.min_spacing == pytest.approx(0.05)
    assert ring.max_delay() == pytest.approx(0.1 / C)


def test_delays_follow_the_sign_convention() -> None:
    g = ak.ArrayGeometry.linear(2, 0.1)  # mics at x = -0.05 and +0.05
    tau = g.delays((0, 0))[0]  # source on +x: mic 1 hears it first
    np.testing.assert_allclose(tau, [0.05 / C, -0.05 / C])


def test_rotated_and_translated() -> None:
    g = ak.ArrayGeometry.linear(3, 0.1)
    r = g.rotated(90)
    np.testing.assert_allclose(r.positions[:, 1], [-0.1, 0, 0.1], atol=1e-15)
    # a source rotated with the array gives the same delays
    np.testing.assert_allclose(r.delays((130, 10)), g.delays((40, 10)), atol=1e-15)
    t = g.translated([1.0, 2.0])
    np.testing.assert_allclose(t.centroid, [1.0, 2.0, 0.0])
    np.testing.assert_allclose(t.centered().positions, g.positions, atol=1e-15)
    assert g.subarray([2, 0]).positions[0, 0] == pytest.approx(0.1)


def test_unit_vectors_round_trip() -> None:
    rng = np.random.default_rng(3)
    d = np.stack([rng.uniform(0, 360, 50), rng.uniform(-89, 89, 50)], axis=1)
    np.testing.assert_allclose(directions_from_vectors(unit_vectors(d)), d, atol=1e-9)


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("positions", "match"),
    [
        ([[0.0, 0.0, 0.0]], r"positions=.*at least 2 microphones, got 1"),
        ([[0, 0, 0], [0.1, 0, 0], [0.1, 0, 0]], r"microphones 1 and 2 are at the same position"),
        ([[0, 0, 0], [np.nan, 0, 0]], r"positions=.*NaN or infinite"),
        ([[0, 0, 0], [np.inf, 0, 0]], r"positions=.*NaN or infinite"),
        ([0.0, 0.1, 0.2], r"positions=.*must have 2 dimension"),
        ([[0, 0, 0, 0], [1, 0, 0, 0]], r"positions=.*shape \(M, 3\) or \(M, 2\)"),
        ([["a", "b"], ["c", "d"]], r"positions=.*must be numeric"),
        ([[True, False, False], [False, True, False]], r"positions=.*not booleans"),
        # new-user pass: distances of 1e300 overflowed (RuntimeWarning), and the aperture,
        # inf, then failed in doa and check with OverflowError tracebacks
        ([[0, 0, 0], [1e300, 0, 0]], r"positions=.*1e\+300 m apart.*are they in metres"),
        (
            [[0, 0, 0], [1e-9, 0, 0]],
            r"same position \[0.0, 0.0, 0.0\] \(1e-09 m apart, under 1 µm\)",
        ),
    ],
)
def test_bad_positions(positions: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ak.ArrayGeometry(positions)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ak.ArrayGeometry.linear(1, 0.04), r"n=1: must be an integer >= 2"),
        (lambda: ak.ArrayGeometry.linear(4, -0.04), r"spacing=-0.04: must be a finite number > 0"),
        (lambda: ak.ArrayGeometry.linear(4.5, 0.04), r"n=4.5"),
        (lambda: ak.ArrayGeometry.circular(2, 0.04), r"n=2: must be an integer >= 3"),
        (lambda: ak.ArrayGeometry.circular(4, float("nan")), r"radius=nan"),
        (lambda: ak.ArrayGeometry.rectangular(1, 1, 0.02), r"nx=1: a grid of 1 x 1"),
        (lambda: ak.ArrayGeometry.cross(0, 0.02), r"n_per_arm=0"),
        (lambda: ak.ArrayGeometry.linear(3, 0.1).resolves((0, 100), (0, 0)), r"dir_a=.*elevation"),
        (
            lambda: ak.ArrayGeometry.linear(3, 0.1).mirror((1, 2, 3)),
            r"direction=\(1, 2, 3\): must be one \(azimuth",
        ),
        (lambda: ak.ArrayGeometry.linear(3, 0.1).translated([1, 2, 3, 4]), r"offset=.*2 or 3"),
        (lambda: ak.ArrayGeometry.linear(3, 0.1).subarray([0, 7]), r"indices=.*0\.\.2"),
    ],
)
def test_bad_arguments_name_the_argument_and_show_the_value(call: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ak.ArrayGeometry.linear(10**9, 0.01), r"^n=1000000000: would need about"),
        (lambda: ak.ArrayGeometry.linear(10**5, 0.01), r"^n=100000: would need about 320 GB"),
        (lambda: ak.ArrayGeometry.circular(10**6, 0.05), r"^n=1000000: would need"),
        (lambda: ak.ArrayGeometry(np.zeros((10**5, 3))), r"^positions=array\(shape=\(100000, 3\)"),
    ],
)
def test_arrays_whose_distances_cannot_fit_are_refused(make: object, match: str) -> None:
    """New-user pass: ``linear(10**5, 0.01)`` raised numpy's MemoryError asking for 224 GiB
    (the pairwise distances), ``linear(10**9, ...)`` for 7.45 GiB of positions first."""
    with pytest.raises(ak.InvalidArgumentError, match=match):
        make()  # type: ignore[operator]
