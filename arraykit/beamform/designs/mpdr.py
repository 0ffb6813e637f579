"""MPDR: the MVDR formula on the mixture covariance (the target is in the matrix it minimises)."""

from __future__ import annotations

import numpy as np

from arraykit.beamform.designs._base import BeamDesign, DesignInputs, load
from arraykit.beamform.weights import mvdr_weights


def weights(inputs: DesignInputs) -> np.ndarray:
    assert inputs.steering is not None and inputs.mixture_cov is not None
    return mvdr_weights(
        inputs.steering, load(inputs.mixture_cov, inputs.loading, inputs.loading_mode)
    )


DESIGN = BeamDesign(
    needs=frozenset({"steering", "mixture_cov"}),
    kernel=weights,
    summary="MPDR against the mixture covariance",
)
