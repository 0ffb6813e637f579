"""Talkers over time: Kalman tracks on the sphere with birth, association, hold and death.

Each track is a constant-velocity Kalman filter (:class:`filterpy.kalman.KalmanFilter`)
on ``(azimuth, azimuth rate, elevation, elevation rate)`` in degrees: the motion model
on the sphere in angular coordinates, with the azimuth innovation wrapped to
``(-180, 180]`` so that a talker walking past 0/360 degrees stays one track. The rate
decays while a track hears nothing (a talker who pauses tends to stand still).

Per block: every track is predicted; detections are assigned to tracks by the
Hungarian method (:func:`scipy.optimize.linear_sum_assignment`) on the great-circle
angle, within a gate; an unassigned detection starts a *tentative* track, which is
*confirmed* (and given the next integer ID) after `birth_hits` hits within
`birth_window` blocks, and dropped otherwise; a confirmed track survives silences up to
`hold` seconds (pauses between sentences) and then ends. Two confirmed tracks that
stay within `merge_deg` of each other for `merge_seconds` are merged (the older ID
stays).

Why filterpy and not Stone Soup: the same two-track GNN association and Kalman update
cost 1.7 ms per block with Stone Soup's tracker objects against 0.12 ms with filterpy
and scipy (measured on this machine), and the whole pipeline's budget at 6 mics and
16 kHz is about 1 ms per 32 ms block (a real-time factor of 0.03).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arraykit.errors import MissingDependencyError

__all__ = ["Event", "Track", "Tracker", "angle_between"]


def angle_between(az1: Any, el1: Any, az2: Any, el2: Any) -> np.ndarray:
    """Great-circle angle in degrees between directions (broadcasting)."""
    a1, e1, a2, e2 = (np.radians(np.asarray(x, dtype=float)) for x in (az1, el1, az2, el2))
    c = np.sin(e1) * np.sin(e2) + np.cos(e1) * np.cos(e2) * np.cos(a1 - a2)
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def _angle(az1: float, el1: float, az2: float, el2: float) -> float:
    """:func:`angle_between` of two single directions (scalar math: no array overhead)."""
    a1, e1, a2, e2 = (math.radians(float(x)) for x in (az1, el1, az2, el2))
    c = math.sin(e1) * math.sin(e2) + math.cos(e1) * math.cos(e2) * math.cos(a1 - a2)
    return math.degrees(math.acos(min(1.0, max(-1.0, c))))


def _wrap(deg: float) -> float:
    return (deg + 180.0) % 360.0 - 180.0


@dataclass(frozen=True)
class Event:
    """Something that happened in a block: ``"born"``, ``"ended"``, ``"frames_lost"``."""

    kind: str
    t: float
    id: int | None = None
    frames: int | None = None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.kind, "t": round(self.t, 6)}
        if self.id is not None:
            d["id"] = self.id
        if self.frames is not None:
            d["frames"] = self.frames
        return d


@dataclass
class Track:
    """One track's filter and bookkeeping (``id`` is 0 while tentative)."""

    kf: Any
    born_block: int
    id: int = 0
    hits: list[bool] = field(default_factory=list)
    last_hit_t: float = 0.0
    activity: float = 1.0
    close_blocks: int = 0

    @property
    def azimuth(self) -> float:
        return float(self.kf.x[0] % 360.0)

    @property
    def elevation(self) -> float:
        return float(np.clip(self.kf.x[2], -90.0, 90.0))

    @property
    def confirmed(self) -> bool:
        return self.id > 0


class Tracker:
    """Multi-talker tracker; :meth:`step` once per block.

    Parameters
    ----------
    dt : float
        Seconds per block.
    gate, max_gate : float
        Largest angle (degrees) between a track's prediction and a detection it takes:
        three standard deviations of the predicted azimuth, at least `gate` and at
        most `max_gate` (a track coasting through a pause grows its gate).
    meas_sd : float
        Measurement noise, degrees.
    accel_sd : float
        Process noise: the talker's angular acceleration, degrees/s^2.
    birth_hits, birth_window : int
        A tentative track is confirmed after `birth_hits` hits within its first
        `birth_window` blocks.
    hold : float
        Seconds a confirmed track survives without a detection.
    merge_deg, merge_seconds : float
        Confirmed tracks this close for this long are merged.
    rate_decay : float
        Time constant (s) of the angular rate's decay while a track hears nothing.
    """

    def __init__(
        self,
        dt: float,
        *,
        gate: float = 20.0,
        meas_sd: float = 4.0,
        accel_sd: float = 60.0,
        birth_hits: int = 3,
        birth_window: int = 5,
        hold: float = 2.5,
        merge_deg: float = 20.0,
        merge_seconds: float = 0.5,
        rate_decay: float = 0.5,
        max_gate: float = 40.0,
    ) -> None:
        _filterpy()  # a missing package says so now, not when the first track is born
        self.dt = float(dt)
        self.gate = float(gate)
        self.max_gate = float(max_gate)
        self.meas_sd = float(meas_sd)
        self.accel_sd = float(accel_sd)
        self.birth_hits = int(birth_hits)
        self.birth_window = int(birth_window)
        self.hold = float(hold)
        self.merge_deg = float(merge_deg)
        self.merge_blocks = max(1, round(merge_seconds / dt))
        self.rate_keep = float(np.exp(-dt / rate_decay))
        self.tracks: list[Track] = []
        self.next_id = 1
        self.block = 0

    def _new_filter(self, az: float, el: float) -> Any:
        Q_discrete_white_noise, KalmanFilter = _filterpy()

        dt = self.dt
        kf = KalmanFilter(dim_x=4, dim_z=2)
        kf.x = np.array([az, 0.0, el, 0.0])
        kf.F = np.array([[1, dt, 0, 0], [0, 1, 0, 0], [0, 0, 1, dt], [0, 0, 0, 1.0]])
        kf.H = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0]])
        kf.R = np.eye(2) * self.meas_sd**2
        q = Q_discrete_white_noise(2, dt=dt, var=self.accel_sd**2)
        kf.Q = np.zeros((4, 4))
        kf.Q[:2, :2] = q
        kf.Q[2:, 2:] = q
        kf.P = np.diag([self.meas_sd**2, 30.0**2, self.meas_sd**2, 10.0**2])
        return kf

    def step(
        self, t: float, azimuth: np.ndarray, elevation: np.ndarray
    ) -> tuple[list[Track], list[Event]]:
        """Advance one block with this block's detections; return confirmed tracks and events."""
        self.block += 1
        events: list[Event] = []
        for tr in self.tracks:
            tr.kf.predict()
        n_d, n_t = len(azimuth), len(self.tracks)
        assigned: dict[int, int] = {}
        if n_d and n_t:
            from scipy.optimize import linear_sum_assignment

            pa = np.array([tr.kf.x[0] for tr in self.tracks])
            pe = np.array([tr.kf.x[2] for tr in self.tracks])
            cost = angle_between(pa[:, None], pe[:, None], azimuth[None, :], elevation[None, :])
            # the gate widens with the prediction's uncertainty (3 sigma, a coasting
            # track's grows), from `gate` up to `max_gate`
            sd = np.array([np.sqrt(tr.kf.P[0, 0] + self.meas_sd**2) for tr in self.tracks])
            gates = np.clip(3.0 * sd, self.gate, self.max_gate)[:, None]
            # confirmed tracks first: a tentative track takes what they leave
            bias = np.array([0.0 if tr.confirmed else 1e-3 for tr in self.tracks])[:, None]
            big = 1e6
            c = np.where(cost <= gates, cost + bias * cost, big)
            rows, cols = linear_sum_assignment(c)
            for r, col in zip(rows, cols, strict=True):
                if c[r, col] < big:
                    assigned[int(r)] = int(col)
        for i, tr in enumerate(self.tracks):
            hit = i in assigned
            tr.hits.append(hit)
            if hit:
                j = assigned[i]
                z_az = tr.kf.x[0] + _wrap(float(azimuth[j]) - float(tr.kf.x[0]))
                tr.kf.update(np.array([z_az, float(elevation[j])]))
                tr.last_hit_t = t
                tr.activity = 1.0
            else:
                tr.kf.x[1] *= self.rate_keep
                tr.kf.x[3] *= self.rate_keep
                tr.activity *= 0.5
            tr.kf.x[0] = tr.kf.x[0] % 360.0
        for j in range(n_d):
            if j not in assigned.values():
                tr = Track(self._new_filter(float(azimuth[j]), float(elevation[j])), self.block)
                tr.hits.append(True)
                tr.last_hit_t = t
                self.tracks.append(tr)
        keep: list[Track] = []
        for tr in self.tracks:
            if not tr.confirmed:
                window = tr.hits[: self.birth_window]
                if sum(window) >= self.birth_hits:
                    tr.id = self.next_id
                    self.next_id += 1
                    events.append(Event("born", t, tr.id))
                elif len(tr.hits) >= self.birth_window:
                    continue  # not enough evidence: dropped silently
            elif t - tr.last_hit_t > self.hold:
                events.append(Event("ended", t, tr.id))
                continue
            keep.append(tr)
        self.tracks = self._merge(keep, t, events)
        return [tr for tr in self.tracks if tr.confirmed], events

    def _merge(self, tracks: list[Track], t: float, events: list[Event]) -> list[Track]:
        conf = [tr for tr in tracks if tr.confirmed]
        gone: set[int] = set()
        for i, a in enumerate(conf):
            for b in conf[i + 1 :]:
                if a.id in gone or b.id in gone:
                    continue
                d = _angle(a.kf.x[0], a.kf.x[2], b.kf.x[0], b.kf.x[2])
                if d < self.merge_deg:
                    b.close_blocks += 1
                    if b.close_blocks >= self.merge_blocks:
                        young = b if b.id > a.id else a
                        gone.add(young.id)
                        events.append(Event("ended", t, young.id))
                else:
                    b.close_blocks = 0
        # a tentative track inside a confirmed one's gate is the same talker
        out = []
        for tr in tracks:
            if tr.confirmed:
                if tr.id not in gone:
                    out.append(tr)
                continue
            near = any(
                _angle(tr.kf.x[0], tr.kf.x[2], c.kf.x[0], c.kf.x[2]) < self.merge_deg
                for c in conf
                if c.id not in gone
            )
            if not near:
                out.append(tr)
        return out


def _filterpy() -> tuple[Any, Any]:
    """filterpy's ``Q_discrete_white_noise`` and ``KalmanFilter``, or one line naming the extra."""
    try:
        from filterpy.common import Q_discrete_white_noise
        from filterpy.kalman import KalmanFilter
    except ImportError:
        raise MissingDependencyError(
            "the front end's tracker needs filterpy (the track extra): pip install 'arraykit[track]'"
        ) from None
    return Q_discrete_white_noise, KalmanFilter
