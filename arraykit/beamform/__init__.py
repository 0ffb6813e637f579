"""Beamforming: steering, weights, covariances, apply/resynthesis, beam patterns and metrics.

Shapes: ``M`` microphones, ``F`` frequencies, ``T`` frames, ``G`` directions.
Weights are ``(F, M)``; the output is ``Y[f, t] = sum_m conj(w[f, m]) X[m, f, t]``;
covariances are ``(F, M, M)``; steering vectors ``(F, G, M)``.

The module reads like the pipeline: :mod:`~arraykit.beamform.registry` (the designs
by name, one module each under ``designs/``, :func:`register_design` and the one
default loading), :mod:`~arraykit.beamform.weights` (delay-and-sum,
MVDR, MPDR, superdirective, LCMV, reference-channel MVDR, RTF estimation),
:mod:`~arraykit.beamform.covariance` (from an STFT, a time range, a mask, the quietest
frames, or recursively), :mod:`~arraykit.beamform.apply` (weights x STFT -> signal,
and the one-call :func:`beamform`), :mod:`~arraykit.beamform.pattern` (responses over
directions and the metrics that judge them).
"""

from __future__ import annotations

from typing import Any

from arraykit.beamform.apply import MethodScore, apply_weights, beamform, compare_methods
from arraykit.beamform.covariance import (
    RecursiveCovariance,
    check_covariance,
    covariance,
    noise_covariance_auto,
)
from arraykit.beamform.designs._base import (
    DEFAULT_LOADING,
    DEFAULT_LOADING_MODE,
    BeamDesign,
    Design,
    DesignInputs,
)
from arraykit.beamform.designs.gev import gev_weights
from arraykit.beamform.pattern import (
    BeamMetrics,
    beam_metrics,
    directivity,
    pattern,
    response,
    white_noise_gain,
)
from arraykit.beamform.registry import (
    design_names,
    get_design,
    register_design,
    weights_for,
)
from arraykit.beamform.weights import (
    delay_and_sum,
    diffuse_coherence,
    estimate_rtf,
    lcmv,
    lcmv_separated,
    lcmv_weights,
    mpdr,
    mvdr,
    mvdr_rtf,
    mvdr_souden,
    mvdr_weights,
    superdirective,
    target_steering,
    whitened_principal,
)
from arraykit.steering import steering_vector, steering_vector_near

__all__ = [
    "DEFAULT_LOADING",
    "DEFAULT_LOADING_MODE",
    "METHODS",
    "BeamDesign",
    "BeamMetrics",
    "Design",
    "DesignInputs",
    "MethodScore",
    "RecursiveCovariance",
    "apply_weights",
    "beam_metrics",
    "beamform",
    "check_covariance",
    "compare_methods",
    "covariance",
    "delay_and_sum",
    "design_names",
    "diffuse_coherence",
    "directivity",
    "estimate_rtf",
    "get_design",
    "gev_weights",
    "lcmv",
    "lcmv_separated",
    "lcmv_weights",
    "mpdr",
    "mvdr",
    "mvdr_rtf",
    "mvdr_souden",
    "mvdr_weights",
    "noise_covariance_auto",
    "pattern",
    "register_design",
    "response",
    "steering_vector",
    "steering_vector_near",
    "superdirective",
    "target_steering",
    "weights_for",
    "white_noise_gain",
    "whitened_principal",
]


def __getattr__(name: str) -> Any:
    """``METHODS``: the registered designs, read from the registry on each access (so it
    includes designs registered after import, as ``ak.doa.METHODS`` does for methods)."""
    if name == "METHODS":
        from arraykit.beamform.registry import design_names

        return design_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
