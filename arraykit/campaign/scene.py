"""One scene of a campaign: its parameters drawn from the cell and its seed, rendered by ``ak.sim``.

Shapes: ``K`` talkers, ``M`` microphones, ``N`` samples.

Everything random in a scene comes from one ``numpy.random.SeedSequence`` built from
:meth:`Spec.scene_seed` (a hash of the spec's salt, the cell's canonical key and the
scene index): the drawn RT60, SNR and distance, the talkers' azimuths, their
speech-like signals and the sensor noise. The same scene renders bit for bit the
same on any machine, in any order, in any process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arraykit import _validate as v
from arraykit.campaign.spec import Cell, Draw, Spec
from arraykit.doa.grids import angular_distance
from arraykit.geometry import ArrayGeometry
from arraykit.sim import Scene, Source, simulate, speech_like

__all__ = ["SceneParams", "draw", "render"]

# A linear array resolves the half-plane on one side of its axis; its talkers are
# drawn away from the end-fire directions, where any line is blind.
_LINE_ARC = (25.0, 155.0)


@dataclass(frozen=True)
class SceneParams:
    """What was drawn for one scene (recorded in every row of it)."""

    seed: int
    rt60: float
    snr_db: float
    distance: float
    azimuths: tuple[float, ...]
    signal_seeds: tuple[int, ...]
    noise_seed: int


def _value(rng: np.random.Generator, d: Draw) -> float:
    return d.lo if d.lo == d.hi else float(rng.uniform(d.lo, d.hi))


def draw(spec: Spec, cell: Cell, index: int, geometry: ArrayGeometry) -> SceneParams:
    """The parameters of scene `index` of `cell` (deterministic)."""
    seed = spec.scene_seed(cell, index)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    rt60 = _value(rng, cell.rt60)
    snr = _value(rng, cell.snr_db)
    distance = _value(rng, cell.distance)
    if geometry.layout == "linear":
        axis = float(
            np.degrees(np.arctan2(*(geometry.positions[-1] - geometry.positions[0])[1::-1]))
        )
        lo, hi = axis + _LINE_ARC[0], axis + _LINE_ARC[1]
    else:
        lo, hi = 0.0, 360.0
    az: list[float] = []
    for _ in range(10000):
        a = float(rng.uniform(lo, hi)) % 360.0
        if all(angular_distance([a, 0.0], [b, 0.0]) >= cell.min_separation for b in az):
            az.append(a)
            if len(az) == cell.sources:
                break
    else:
        raise v.fail(
            "min_separation",
            cell.min_separation,
            f"cannot place {cell.sources} talkers that far apart",
        )
    seeds = rng.integers(0, 2**63 - 1, size=cell.sources + 1)
    return SceneParams(
        seed=seed,
        rt60=rt60,
        snr_db=snr,
        distance=distance,
        azimuths=tuple(az),
        signal_seeds=tuple(int(s) for s in seeds[:-1]),
        noise_seed=int(seeds[-1]),
    )


def render(spec: Spec, cell: Cell, params: SceneParams, geometry: ArrayGeometry) -> Scene:
    """Render the scene with :func:`arraykit.sim.simulate` (raises if the cell cannot be built)."""
    sources = [
        Source(speech_like(spec.duration, spec.fs, seed=s), azimuth=a, distance=params.distance)
        for a, s in zip(params.azimuths, params.signal_seeds, strict=True)
    ]
    return simulate(
        geometry,
        sources,
        spec.fs,
        room_dim=cell.room_dim,
        rt60=params.rt60,
        snr_db=None if params.snr_db == np.inf else params.snr_db,
        noise=cell.noise,  # type: ignore[arg-type]
        seed=params.noise_seed,
    )
