"""Superdirective: MVDR against the diffuse (3-D, sinc) noise coherence of the geometry.

The coherence has a unit diagonal, so the default ``"trace"`` loading of 1e-2 is the
customary absolute 1e-2.
"""

from __future__ import annotations

import numpy as np

from arraykit.beamform.designs._base import BeamDesign, DesignInputs, load
from arraykit.beamform.weights import diffuse_coherence, mvdr_weights


def weights(inputs: DesignInputs) -> np.ndarray:
    assert inputs.steering is not None
    gamma = diffuse_coherence(inputs.geometry, inputs.freqs, field="3d", c=inputs.c)
    return mvdr_weights(inputs.steering, load(gamma, inputs.loading, inputs.loading_mode))


DESIGN = BeamDesign(
    needs=frozenset({"steering"}),
    kernel=weights,
    summary="MVDR against diffuse-noise coherence (geometry only)",
)
