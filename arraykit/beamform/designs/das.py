"""Delay-and-sum: ``w = a / (a^H a)`` (``a / M`` in the far field); needs only the steering."""

from __future__ import annotations

import numpy as np

from arraykit.beamform.designs._base import BeamDesign, DesignInputs


def weights(inputs: DesignInputs) -> np.ndarray:
    a = inputs.steering
    assert a is not None
    return a / np.einsum("...m,...m->...", a.conj(), a).real[..., None]


DESIGN = BeamDesign(
    needs=frozenset({"steering"}), kernel=weights, summary="delay-and-sum (steering only)"
)
