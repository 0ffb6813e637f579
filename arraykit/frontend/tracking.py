"""Talkers over time: Kalman tracks on the sphere with birth, association, hold and death.

Each track's state is ``(azimuth, azimuth rate, elevation, elevation rate)`` in
degrees (the motion model on the sphere in angular coordinates, with the azimuth
innovation wrapped to ``(-180, 180]`` so that a talker walking past 0/360 degrees stays
one track), estimated by an interacting-multiple-model filter
(:class:`filterpy.kalman.IMMEstimator`) of two Kalman filters: a talker *standing*
(the rates held at zero, the direction a slow random walk of `still_sd` degrees per
square-root second) and a talker *walking* (constant velocity, angular acceleration
`accel_sd`), switching with probability `switch` per block. Talkers mostly stand: with
the constant-velocity filter alone (``motion="cv"``) the few blocks where a second
talker's onset blends with the first's peak gave the standing talker's track a rate,
and it drifted 10-15 degrees through the pause that followed. On the 16 four-microphone
meetings of the benchmark the two models gave a median / p90 azimuth error of 1.7 / 5.9
degrees against 2.9 / 8.9 for the constant-velocity filter (six microphones: 2.5 / 6.4
against 3.0 / 8.0; no identity swap either way; one false track each, against none:
a blended onset the standing track no longer absorbs). The rate decays while a track
hears nothing (a talker who pauses tends to stand still).

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
import sys
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

from arraykit._validate import fail
from arraykit.errors import MissingDependencyError

__all__ = ["MOTIONS", "Event", "Track", "Tracker", "angle_between"]

MotionKind = Literal["imm", "cv"]
MOTIONS: tuple[str, ...] = get_args(MotionKind)


def angle_between(az1: Any, el1: Any, az2: Any, el2: Any) -> np.ndarray:
    """Great-circle angle in degrees between directions (broadcasting)."""
    a1, e1, a2, e2 = (np.radians(np.asarray(x, dtype=float)) for x in (az1, el1, az2, el2))
    c = np.sin(e1) * np.sin(e2) + np.cos(e1) * np.cos(e2) * np.cos(a1 - a2)
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def _angle(az1: float, el1: float, az2: float, el2: float) -> float:
    """:func:`angle_between` of two single directions (scalar math: no array overhead)."""
    e1, e2 = math.radians(el1), math.radians(el2)
    c = math.sin(e1) * math.sin(e2) + math.cos(e1) * math.cos(e2) * math.cos(
        math.radians(az1) - math.radians(az2)
    )
    return math.degrees(math.acos(min(1.0, max(-1.0, c))))


def _wrap(deg: float) -> float:
    return (deg + 180.0) % 360.0 - 180.0


@dataclass(frozen=True)
class Event:
    """Something that happened in a block: ``"born"``, ``"ended"``, ``"frames_lost"``,
    ``"dead_channels"`` (`channels`: the microphones the beamformers leave out from now
    on, all zero or 30 dB under the others; empty when every one is live again),
    ``"clipping"`` (`channels`: those clipping, left out of the search and the beamformers
    while they do and a second after; empty when none does; `kept` True when too few
    others remain to leave them out, and they are read as they are)."""

    kind: str
    t: float
    id: int | None = None
    frames: int | None = None
    channels: tuple[int, ...] | None = None
    kept: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.kind, "t": round(self.t, 6)}
        if self.id is not None:
            d["id"] = self.id
        if self.frames is not None:
            d["frames"] = self.frames
        if self.channels is not None:
            d["channels"] = list(self.channels)
        if self.kept is not None:
            d["kept"] = self.kept
        return d


class Motion:
    """One track's state: an interacting-multiple-model (IMM) Kalman filter over ``J``
    linear models of ``(azimuth, azimuth rate, elevation, elevation rate)``, measured in
    azimuth and elevation (``J = 1``: a plain Kalman filter).

    The J models' states ``xs`` ``(J, 4)`` and covariances ``Ps`` ``(J, 4, 4)`` are
    stacked and every step is one batch of small products (shape letters: J models,
    i the model mixed from; a, b state entries); ``x`` and ``P`` are the combination.
    The algorithm is filterpy's :class:`~filterpy.kalman.IMMEstimator` over its
    :class:`~filterpy.kalman.KalmanFilter`, which the tests hold it to; written out
    here because filterpy's per-filter Python calls cost 0.75 ms per block for two
    talkers (1.3 ms with its likelihood through ``scipy.stats``) against 0.39 ms here
    and 0.3 ms for its single filter, in a pipeline whose budget at six microphones and
    16 kHz is 1.4 ms per block. The azimuth is kept continuous inside the models and
    brought into ``[0, 360)`` for all of them at once (:meth:`wrap`), so that mixing
    never averages 359 and 1 degrees into 180.
    """

    def __init__(
        self,
        x0: np.ndarray,
        P0: np.ndarray,
        F: np.ndarray,
        Q: np.ndarray,
        R: np.ndarray,
        trans: np.ndarray,
    ) -> None:
        J = F.shape[0]
        self.xs = np.repeat(np.asarray(x0, dtype=float)[None], J, axis=0)  # (J, 4)
        self.Ps = np.repeat(np.asarray(P0, dtype=float)[None], J, axis=0)  # (J, 4, 4)
        self.F, self.Ft, self.Q, self.R = F, F.transpose(0, 2, 1), Q, R
        self.M = trans  # (i, j): probability of model i -> j per block
        self.mu = np.full(J, 1.0 / J)
        self.x: np.ndarray
        self.P: np.ndarray
        self._combine()  # sets x and P

    def _combine(self) -> None:
        if self.mu.size == 1:
            self.x, self.P = self.xs[0].copy(), self.Ps[0].copy()
            return
        J = self.mu.size
        self.x = self.mu @ self.xs
        d = self.xs - self.x  # (J, a)
        self.P = (self.mu @ self.Ps.reshape(J, 16)).reshape(4, 4) + (d.T * self.mu) @ d

    def predict(self) -> None:
        """Mix the models by their switching probabilities, then predict each one."""
        cbar = self.mu @ self.M  # (J,)
        if cbar.size == 1:
            x0, P0 = self.xs, self.Ps
        else:
            J = cbar.size
            omega = self.M * self.mu[:, None] / cbar[None, :]  # (i, j)
            x0 = omega.T @ self.xs  # (j, a)
            d = self.xs[None, :, :] - x0[:, None, :]  # (j, i, a)
            spread = (omega.T[:, :, None] * d).transpose(0, 2, 1) @ d  # (j, a, b)
            P0 = (omega.T @ self.Ps.reshape(J, 16)).reshape(J, 4, 4) + spread
        self.xs = (self.F @ x0[:, :, None])[:, :, 0]
        self.Ps = self.F @ P0 @ self.Ft + self.Q
        self._cbar = cbar
        self._combine()

    def update(self, z: np.ndarray) -> None:
        """Each model's Kalman update by `z` ``(2,)``, the models reweighed by its likelihood."""
        Pa = self.Ps[:, :, ::2]  # (J, 4, 2): P H^T (H measures entries 0 and 2)
        S = Pa[:, ::2, :] + self.R  # (J, 2, 2)
        det = S[:, 0, 0] * S[:, 1, 1] - S[:, 0, 1] * S[:, 1, 0]
        Si = (
            S[:, ::-1, ::-1].transpose(0, 2, 1)
            * np.array([[1.0, -1.0], [-1.0, 1.0]])
            / det[:, None, None]
        )
        K = Pa @ Si  # (J, 4, 2)
        y = z[None, :] - self.xs[:, ::2]  # (J, 2)
        self.xs = self.xs + (K @ y[:, :, None])[:, :, 0]
        # P - K S K^T; filterpy's Joseph form (I - KH) P (I - KH)^T + K R K^T is the same
        # for the optimal gain, to rounding
        self.Ps = self.Ps - K @ Pa.transpose(0, 2, 1)
        if self.mu.size > 1:
            m = (y[:, None, :] @ Si @ y[:, :, None])[:, 0, 0]
            lik = np.maximum(np.exp(-0.5 * m) / (2 * math.pi * np.sqrt(det)), sys.float_info.min)
            mu = self._cbar * lik
            self.mu = mu / mu.sum()
        self._combine()

    def coast(self, rate_keep: float) -> None:
        """A block without a detection: the rates decay and the models' probabilities are
        only propagated (``mu <- mu M``: no likelihood to weigh them)."""
        self.xs[:, 1::2] *= rate_keep
        self.mu = self._cbar
        self._combine()

    def wrap(self) -> None:
        shift = self.x[0] - self.x[0] % 360.0
        if shift:
            self.xs[:, 0] -= shift
            self.x[0] -= shift


@dataclass
class Track:
    """One track's filter and bookkeeping (``id`` is 0 while tentative)."""

    state: Motion
    born_block: int
    id: int = 0
    hits: list[bool] = field(default_factory=list)
    last_hit_t: float = 0.0
    activity: float = 1.0
    close_blocks: int = 0

    @property
    def azimuth(self) -> float:
        return float(self.state.x[0] % 360.0)

    @property
    def elevation(self) -> float:
        el = float(self.state.x[2])
        return min(90.0, max(-90.0, el)) if el == el else el  # (a NaN stays NaN, as np.clip's)

    @property
    def confirmed(self) -> bool:
        return self.id > 0

    def angle_to(self, other: Track) -> float:
        """Great-circle angle (degrees) between this track's estimate and `other`'s."""
        a, b = self.state.x, other.state.x
        return _angle(a[0], a[2], b[0], b[2])


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
    motion : ``"imm"`` or ``"cv"``
        Standing and walking models mixed (IMM), or constant velocity alone.
    still_sd, switch : float
        The standing model's random walk (degrees per square-root second) and the
        probability per block of switching between standing and walking (IMM only).
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
        motion: str = "imm",
        still_sd: float = 2.0,
        switch: float = 0.003,
    ) -> None:
        _filterpy()  # a missing package says so now, not when the first track is born
        if motion not in MOTIONS:
            raise fail("motion", motion, f"must be one of {MOTIONS}")
        self.motion = motion
        self.still_sd = float(still_sd)
        self.switch = float(switch)
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

    def _new_filter(self, az: float, el: float) -> Motion:
        Q_discrete_white_noise = _filterpy()
        dt = self.dt
        walk_F = np.array([[1, dt, 0, 0], [0, 1, 0, 0], [0, 0, 1, dt], [0, 0, 0, 1.0]])
        q = Q_discrete_white_noise(2, dt=dt, var=self.accel_sd**2)
        walk_Q = np.zeros((4, 4))
        walk_Q[:2, :2] = q
        walk_Q[2:, 2:] = q
        x0 = np.array([az, 0.0, el, 0.0])
        P0 = np.diag([self.meas_sd**2, 30.0**2, self.meas_sd**2, 10.0**2])
        R = np.eye(2) * self.meas_sd**2
        if self.motion == "cv":
            return Motion(x0, P0, walk_F[None], walk_Q[None], R, np.ones((1, 1)))
        walk = self.still_sd**2 * dt
        stand_F = np.diag([1.0, 0.0, 1.0, 0.0])  # the rates held at zero
        stand_Q = np.diag([walk, 1e-6, walk, 1e-6])
        p = self.switch
        trans = np.array([[1 - p, p], [p, 1 - p]])
        return Motion(x0, P0, np.stack([stand_F, walk_F]), np.stack([stand_Q, walk_Q]), R, trans)

    def step(
        self, t: float, azimuth: np.ndarray, elevation: np.ndarray
    ) -> tuple[list[Track], list[Event]]:
        """Advance one block with this block's detections; return confirmed tracks and events."""
        self.block += 1
        events: list[Event] = []
        for tr in self.tracks:
            tr.state.predict()
        n_d, n_t = len(azimuth), len(self.tracks)
        assigned: dict[int, int] = {}
        if n_d and n_t:
            from scipy.optimize import linear_sum_assignment

            pa = np.array([tr.state.x[0] for tr in self.tracks])
            pe = np.array([tr.state.x[2] for tr in self.tracks])
            cost = angle_between(pa[:, None], pe[:, None], azimuth[None, :], elevation[None, :])
            # the gate widens with the prediction's uncertainty (3 sigma, a coasting
            # track's grows), from `gate` up to `max_gate`
            sd = np.array([np.sqrt(tr.state.P[0, 0] + self.meas_sd**2) for tr in self.tracks])
            gates = np.clip(3.0 * sd, self.gate, self.max_gate)[:, None]
            # confirmed tracks first: a tentative track takes what they leave. Each
            # tentative pairing costs more than all confirmed ones can together (360 per
            # track), so the assignment holds as many confirmed tracks as it can. (It was
            # a 0.1 % tie-break: a tentative track 14 degrees from a detection took it
            # from a confirmed one 19 degrees away, and was confirmed beside it.)
            tentative = np.array([not tr.confirmed for tr in self.tracks])[:, None]
            big = 1e6
            c = np.where(cost <= gates, cost + tentative * (360.0 * n_t), big)
            rows, cols = linear_sum_assignment(c)
            for r, col in zip(rows, cols, strict=True):
                if c[r, col] < big:
                    assigned[int(r)] = int(col)
        for i, tr in enumerate(self.tracks):
            hit = i in assigned
            tr.hits.append(hit)
            if hit:
                j = assigned[i]
                z_az = tr.state.x[0] + _wrap(float(azimuth[j]) - float(tr.state.x[0]))
                tr.state.update(np.array([z_az, float(elevation[j])]))
                tr.last_hit_t = t
                tr.activity = 1.0
            else:
                tr.state.coast(self.rate_keep)
                tr.activity *= 0.5
            tr.state.wrap()
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
        for i, b in enumerate(conf):
            # blocks b has stood close to an older confirmed track (any of them: a third
            # track far away must not reset the count)
            near = [a for a in conf[:i] if a.id not in gone and a.angle_to(b) < self.merge_deg]
            if not near:
                b.close_blocks = 0
                continue
            b.close_blocks += 1
            if b.close_blocks >= self.merge_blocks:
                young = b if b.id > near[0].id else near[0]
                gone.add(young.id)
                events.append(Event("ended", t, young.id))
        # a tentative track inside a confirmed one's gate is the same talker
        out = []
        for tr in tracks:
            if tr.confirmed:
                if tr.id not in gone:
                    out.append(tr)
                continue
            inside = any(tr.angle_to(c) < self.merge_deg for c in conf if c.id not in gone)
            if not inside:
                out.append(tr)
        return out


def _filterpy() -> Any:
    """filterpy's ``Q_discrete_white_noise`` (the walking model's process noise), or one
    line naming the extra."""
    try:
        from filterpy.common import Q_discrete_white_noise
    except ImportError:
        raise MissingDependencyError(
            "the front end's tracker needs filterpy (the track extra): pip install 'arraykit[track]'"
        ) from None
    return Q_discrete_white_noise
