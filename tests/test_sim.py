"""Simulation helpers: the rendered room obeys the physics it claims."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import csd, welch

import arraykit as ak
from arraykit.sim import Source, diffuse_noise, shoebox, simulate, speech_like

FS = 16000


def _delay_residuals(scene: ak.sim.Scene, k: int = 0) -> np.ndarray:
    """Measured minus far-field model inter-microphone delays (samples), mic 0 reference.

    The delay of each image relative to microphone 0 is read off the slope of the
    cross-spectrum phase after removing the model delay (so no phase wrapping).
    """
    img = scene.images[k]
    n = img.shape[1]
    spec = np.fft.rfft(img, axis=1)
    f = np.fft.rfftfreq(n, 1 / FS)
    band = (f > 200) & (f < 6000)
    model = scene.geometry.delays(scene.directions[k])[0]
    dt_model = model - model[0]
    cross = spec[:, band] * np.conj(spec[0, band])[None, :]
    resid_phase = np.angle(cross * np.exp(2j * np.pi * f[band][None, :] * dt_model[:, None]))
    w = np.abs(cross)
    fb = f[band][None, :]
    dt_resid = -np.sum(w * fb * resid_phase, axis=1) / (2 * np.pi * np.sum(w * fb**2, axis=1))
    return dt_resid * FS


@pytest.mark.parametrize("yaw", [0.0, 37.0])
def test_anechoic_delays_match_geometry(yaw: float) -> None:
    g = ak.ArrayGeometry.circular(6, 0.0463)
    x = np.random.default_rng(1).standard_normal(FS // 2)
    scene = simulate(
        g, [Source(x, azimuth=61.4, elevation=10.0, distance=2.0)], FS, array_yaw_deg=yaw
    )
    np.testing.assert_allclose(scene.directions, [[61.4, 10.0]], atol=1e-9)
    resid = _delay_residuals(scene)
    # far-field model vs the spherical wave at 2 m differs by < 0.01 sample here
    assert np.max(np.abs(resid)) < 0.05, resid
    # and the model is not trivially satisfied: a 3 degree error shows up
    wrong = simulate(
        g, [Source(x, azimuth=64.4, elevation=10.0, distance=2.0)], FS, array_yaw_deg=yaw
    )
    object.__setattr__(wrong, "directions", scene.directions)
    assert np.max(np.abs(_delay_residuals(wrong))) > 0.1


def test_position_overrides_direction_and_truth_is_in_array_frame() -> None:
    g = ak.ArrayGeometry.linear(4, 0.05)
    center = (3.0, 2.5, 1.2)
    # a source straight along room +y; the array turned by 30 degrees sees it at 60
    s = Source(np.ones(100), azimuth=0.0, position=(3.0, 4.0, 1.2))
    scene = simulate(g, [s], FS, array_center=center, array_yaw_deg=30.0)
    np.testing.assert_allclose(scene.directions, [[60.0, 0.0]], atol=1e-9)
    np.testing.assert_allclose(scene.distances, [1.5])
    np.testing.assert_allclose(scene.array_positions.mean(0), center, atol=1e-12)


@pytest.mark.parametrize("noise", ["white", "diffuse"])
def test_snr_is_honoured_and_parts_add_up(noise: str) -> None:
    g = ak.load_geometry("respeaker-usb-4mic")
    srcs = [
        Source(speech_like(0.5, FS, seed=1), azimuth=30.0),
        Source(speech_like(0.5, FS, seed=2), azimuth=200.0, elevation=20.0, distance=1.0),
    ]
    scene = simulate(g, srcs, FS, rt60=0.2, snr_db=7.5, noise=noise, seed=4)
    mix = scene.images.sum(0)
    snr = 10 * np.log10(np.mean(mix**2) / np.mean(scene.noise**2))
    assert abs(snr - 7.5) < 0.1
    assert np.array_equal(scene.signals, mix + scene.noise)
    assert scene.images.shape == (2, 4, scene.signals.shape[1])
    again = simulate(g, srcs, FS, rt60=0.2, snr_db=7.5, noise=noise, seed=4)
    assert np.array_equal(scene.signals, again.signals)
    other = simulate(g, srcs, FS, rt60=0.2, snr_db=7.5, noise=noise, seed=5)
    assert not np.array_equal(scene.noise, other.noise)


@pytest.mark.parametrize("field", ["3d", "2d"])
def test_diffuse_noise_coherence(field: str) -> None:
    from scipy.special import j0

    g = ak.ArrayGeometry.linear(3, 0.06)  # spacings 6 and 12 cm
    x = diffuse_noise(g, 8 * FS, FS, field=field, seed=0)
    assert abs(np.mean(x**2) - 1.0) < 0.1
    for i, j in ((0, 1), (0, 2)):
        f, pxy = csd(x[i], x[j], FS, nperseg=256)
        _, pxx = welch(x[i], FS, nperseg=256)
        _, pyy = welch(x[j], FS, nperseg=256)
        coh = np.real(pxy) / np.sqrt(pxx * pyy)
        kd = 2 * np.pi * f * 0.06 * (j - i) / 343.0
        ideal = np.sinc(kd / np.pi) if field == "3d" else j0(kd)
        band = (f > 100) & (f < 7000)
        assert np.max(np.abs(coh[band] - ideal[band])) < 0.1
    # spatially white noise would be far from it
    white = np.random.default_rng(0).standard_normal((2, 8 * FS))
    f, pxy = csd(white[0], white[1], FS, nperseg=256)
    assert np.max(np.abs(np.real(pxy)[(f > 100) & (f < 1000)])) < 0.1 * np.mean(np.abs(pxy)) + 1e-3


def test_measured_rt60_close_to_requested() -> None:
    from pyroomacoustics.experimental import measure_rt60

    for rt60 in (0.3, 0.6):
        room = shoebox((6.0, 5.0, 3.0), FS, rt60=rt60)
        room.add_source([2.0, 3.1, 1.5])
        room.add_microphone([4.1, 1.7, 1.2])
        room.compute_rir()
        measured = measure_rt60(room.rir[0][0], FS, decay_db=30)
        assert abs(measured - rt60) < 0.2 * rt60, (rt60, measured)


def test_speech_like_is_deterministic_nonstationary_and_coloured() -> None:
    x = speech_like(2.0, FS, seed=7)
    assert x.shape == (2 * FS,)
    assert abs(np.sqrt(np.mean(x**2)) - 1.0) < 1e-9
    assert np.array_equal(x, speech_like(2.0, FS, seed=7))
    assert not np.array_equal(x, speech_like(2.0, FS, seed=8))
    frames = x[: len(x) // 320 * 320].reshape(-1, 320)  # 20 ms frames
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    assert np.percentile(level, 90) - np.percentile(level, 10) > 15  # syllables and pauses
    f, p = welch(x, FS, nperseg=512)
    flatness = np.exp(np.mean(np.log(p[1:]))) / np.mean(p[1:])
    assert flatness < 0.1  # white noise is ~0.56 in this measure
    low = p[(f > 100) & (f < 1000)].sum()
    high = p[(f > 4000)].sum()
    assert low > 10 * high  # most energy below 1 kHz, as in speech


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fs": 0}, r"fs=0: must be a finite number > 0"),
        ({"rt60": -0.1}, r"rt60=-0.1"),
        ({"rt60": 0.01}, r"rt60=0.01: is too short"),
        ({"noise": "pink", "snr_db": 10}, r"noise='pink': must be one of 'white', 'diffuse'"),
        ({"room_dim": (6, 5)}, r"room_dim=\(6, 5\)"),
        ({"array_center": (0.0, 0.0, 0.0)}, r"array_center=.*outside the room"),
    ],
)
def test_bad_input(kwargs: dict, match: str) -> None:
    g = ak.ArrayGeometry.linear(2, 0.05)
    with pytest.raises(ValueError, match=match):
        simulate(g, [Source(np.ones(64), 0.0)], **{"fs": 16000, **kwargs})


def test_the_rate_is_the_callers_own() -> None:
    """``simulate`` rendered at 16 kHz whatever the rate the sources were made at (its
    default): a 48 kHz signal came out three times as long. The rate is now required, and
    a 0.25 s signal at 48 kHz renders as 0.25 s (plus the room's response) at 48 kHz."""
    g = ak.ArrayGeometry.linear(2, 0.05)
    src = Source(speech_like(0.25, 48000, seed=1), 30.0)
    with pytest.raises(TypeError, match="fs"):
        simulate(g, [src])  # type: ignore[call-arg]
    sc = simulate(g, [src], 48000, rt60=0.0)
    assert sc.fs == 48000 and 12000 <= sc.signals.shape[1] < 12000 + 48000 // 20


def test_bad_sources() -> None:
    g = ak.ArrayGeometry.linear(2, 0.05)
    with pytest.raises(ValueError, match=r"sources\[0\].*outside the room"):
        simulate(g, [Source(np.ones(64), 0.0, distance=10.0)], 16000)
    with pytest.raises(ValueError, match=r"sources\[0\].signal.*NaN"):
        simulate(g, [Source(np.array([1.0, np.nan]), 0.0)], 16000)
    with pytest.raises(ValueError, match=r"sources=\[\]: must be a non-empty"):
        simulate(g, [], 16000)
    with pytest.raises(ValueError, match=r"field='4d'"):
        diffuse_noise(g, 100, FS, field="4d")
    with pytest.raises(ValueError, match=r"duration=0"):
        speech_like(0, FS)


def test_seeded_render_is_the_same_whatever_pyroomacoustics_thread_count() -> None:
    """Its image sum's order follows its thread count (os.cpu_count() by default): pinned."""
    import pyroomacoustics as pra

    g = ak.ArrayGeometry.circular(6, 0.0463)
    src = [Source(speech_like(0.3, 16000, seed=1), azimuth=40.0, distance=1.5)]
    before = pra.constants.get("num_threads")
    try:
        renders = []
        for threads in (1, 3):
            pra.constants.set("num_threads", threads)
            renders.append(simulate(g, src, 16000, rt60=0.4, snr_db=20, seed=2).signals)
            assert pra.constants.get("num_threads") == threads  # the caller's setting restored
    finally:
        pra.constants.set("num_threads", before)
    assert np.array_equal(renders[0], renders[1])


def test_an_arc_walks_its_span_the_way_it_says_at_its_speed() -> None:
    """``Trajectory.arc(20, 290, speed=135)`` was two points 270 degrees apart, which the
    path joins the short way: the source walked 90 degrees clockwise in the 2 s that 270
    counter-clockwise take, a third of the speed asked, the wrong way (at 1 s the render
    was heard at 335 degrees where 155 was meant). The arc now goes through every degree
    between, counter-clockwise when `end_az` is the larger."""
    walk = ak.sim.Trajectory.arc(20.0, 290.0, start=0.0, speed=135.0)
    np.testing.assert_allclose(walk.at([0.0, 1.0, 2.0, 5.0])[:, 0], [20.0, 155.0, 290.0, 290.0])
    back = ak.sim.Trajectory.arc(350.0, 370.0, start=1.0, speed=20.0)  # through 0
    np.testing.assert_allclose(back.at([1.5, 2.0])[:, 0] % 360.0, [0.0, 10.0], atol=1e-9)
    clockwise = ak.sim.Trajectory.arc(100.0, 10.0, start=0.0, speed=45.0)
    np.testing.assert_allclose(clockwise.at([1.0, 2.0])[:, 0], [55.0, 10.0])
    still = ak.sim.Trajectory.arc(40.0, 40.0, start=0.5, speed=10.0)
    assert still.times.tolist() == [0.5] and still.at(3.0)[0] == 40.0
    # closed loop: an anechoic render walked that way is heard where the path says
    g = ak.load_geometry("respeaker-6mic")
    sc = ak.sim.simulate_moving(
        g, [ak.sim.MovingSource(speech_like(2.0, FS, seed=7), walk)], FS, rt60=0.0
    )
    seg = sc.signals[:, int(0.875 * FS) : int(1.125 * FS)]
    est = ak.doa.locate(seg, FS, g).azimuth[0]
    assert abs((est - 155.0 + 180.0) % 360.0 - 180.0) < 5.0, est


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ak.sim.Trajectory(np.array([0.0, 1.0, 0.5]), np.array([0.0, 90.0, 180.0])),
         r"^times=.*must increase: 1 s is followed by 0\.5 s"),
        (lambda: ak.sim.Trajectory(np.array([]), np.array([])), r"^times=.*one or more"),
        (lambda: ak.sim.Trajectory(np.array([0.0, 1.0]), np.array([0.0, 90.0, 180.0])),
         r"^azimuth=.*one per time, shape \(2,\)"),
        (lambda: ak.sim.Trajectory(np.array([0.0, 1.0]), np.array([0.0, np.nan])),
         r"^azimuth=.*NaN"),
        (lambda: ak.sim.Trajectory(0.0, 70.0, distance=-1.0), r"^distance=-1\.0: .*> 0"),
        (lambda: ak.sim.Trajectory(0.0, 70.0, distance=0.0), r"^distance=0\.0: .*> 0"),
        (lambda: ak.sim.Trajectory(0.0, 70.0, elevation=120.0), r"^elevation=120\.0: .*-90, 90"),
        (lambda: ak.sim.Trajectory.arc(0.0, 90.0, start=np.nan, speed=10.0), r"^start=nan"),
        (lambda: ak.sim.Trajectory.arc(0.0, 90.0, start=0.0, speed=0.0), r"^speed=0\.0"),
        (lambda: ak.sim.talk(2.0, FS, [(np.nan, 1.0)]), r"^intervals=.*NaN"),
        (lambda: ak.sim.talk(2.0, FS, (0.5, 1.0)), r"^intervals=.*\(start, end\) pairs"),
        (lambda: ak.sim.talk(2.0, FS, [(0.5, 1.0)], fade=-1.0), r"^fade=-1\.0"),
        (lambda: ak.sim.talk(1.0, FS, [(0.0, 1.0)], speech=np.full(FS, np.nan)),
         r"^speech=.*NaN"),
    ],
)  # fmt: skip
def test_bad_paths_and_turns_fail_naming_the_field(make: object, match: str) -> None:
    """Fault injection: times that went back rendered silently (numpy's interpolation
    assumes them sorted), a negative distance put the source opposite the direction the
    scene reported as its truth, an elevation of 120 was kept as the truth, a length
    mismatch or an empty path raised numpy's own errors, a NaN start or azimuth
    pyroomacoustics' "The source must be added inside the room.", and `talk`'s NaN turn
    or fade "cannot convert float NaN to integer". Each fails when made, naming it."""
    with pytest.raises(ak.InvalidArgumentError, match=match):
        make()  # type: ignore[operator]


def test_moving_sources_are_checked_as_static_ones_are() -> None:
    """A bare azimuth as the trajectory raised AttributeError ('float' object has no
    attribute 'at'); an empty signal rendered a scene of zeros; a path through a
    microphone was rendered (simulate refuses a source within 1 cm of one)."""
    g = ak.load_geometry("respeaker-6mic")
    x = speech_like(0.2, FS, seed=1)
    with pytest.raises(
        ak.InvalidArgumentError, match=r"^sources\[0\]\.trajectory=70\.0: .*Trajectory"
    ):
        ak.sim.simulate_moving(g, [ak.sim.MovingSource(x, 70.0)], FS)  # type: ignore[arg-type]
    still = ak.sim.Trajectory(0.0, 70.0)
    with pytest.raises(ak.InvalidArgumentError, match=r"^sources\[0\]\.signal=.*is empty"):
        ak.sim.simulate_moving(g, [ak.sim.MovingSource(np.zeros(0), still)], FS)
    r = float(np.linalg.norm(g.positions[1] - g.centroid))  # mic 1 lies at azimuth 60
    through = ak.sim.Trajectory(np.array([0.0, 0.2]), 60.0, distance=np.array([1.0, r]))
    with pytest.raises(ak.InvalidArgumentError, match=r"within 1 cm of a microphone at 0\.2 s"):
        ak.sim.simulate_moving(g, [ak.sim.MovingSource(x, through)], FS)
