"""LCMV: unit response toward the target, nulls toward interferers, least output power.

Minimises the noise covariance when a noise segment is given, else the mixture's
(need ``"cov"``). Where the array cannot tell a null from the target the null
constraints are dropped (see :func:`arraykit.beamform.weights.lcmv_separated`).
"""

from __future__ import annotations

import numpy as np

from arraykit.beamform.designs._base import BeamDesign, DesignInputs, load
from arraykit.beamform.weights import lcmv_separated


def weights(inputs: DesignInputs) -> np.ndarray:
    assert inputs.steering is not None and inputs.cov is not None
    assert inputs.null_steering is not None
    R = load(inputs.cov, inputs.loading, inputs.loading_mode)
    return lcmv_separated(inputs.steering, inputs.null_steering, R)


DESIGN = BeamDesign(
    needs=frozenset({"steering", "cov", "nulls"}),
    kernel=weights,
    summary="LCMV: distortionless toward the target, nulls toward --null",
)
