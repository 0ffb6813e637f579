"""MVDR: ``w = R_n^-1 a / (a^H R_n^-1 a)`` against a noise-only covariance (loaded)."""

from __future__ import annotations

import numpy as np

from arraykit.beamform.designs._base import BeamDesign, DesignInputs, load
from arraykit.beamform.weights import mvdr_weights


def weights(inputs: DesignInputs) -> np.ndarray:
    assert inputs.steering is not None and inputs.noise_cov is not None
    return mvdr_weights(
        inputs.steering, load(inputs.noise_cov, inputs.loading, inputs.loading_mode)
    )


DESIGN = BeamDesign(
    needs=frozenset({"steering", "noise_cov"}),
    kernel=weights,
    summary="MVDR against a noise-only covariance",
)
