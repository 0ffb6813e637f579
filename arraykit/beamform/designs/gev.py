"""GEV (max-SNR) beamformer with blind analytic normalisation; needs no geometry or direction.

The weights maximise the output SNR ``w^H R_x w / w^H R_n w``: the principal generalised
eigenvector of the mixture covariance ``R_x`` against the noise covariance ``R_n``
(solved by whitening with the Cholesky factor ``R_n = L L^H``: the principal eigenvector
``u`` of ``L^-1 R_x L^-H`` gives ``w = L^-H u``). An eigenvector has no scale or phase of
its own, so two normalisations follow:

- **blind analytic normalisation** (Warsitz & Haeb-Umbach, 2007): the gain
  ``sqrt(w^H R_n R_n w / M) / (w^H R_n w)``, which makes a rank-one target come out
  undistorted in magnitude without knowing its transfer function;
- **phase**: ``R_n w`` is proportional to the target's transfer function ``h``, so
  turning ``w`` until ``(R_n w)_ref`` is real and positive makes the target's phase
  that of microphone ``ref`` (``w^H h`` real and positive): bins line up, and the output
  can be compared with that microphone sample by sample.

Needs the noise covariance (a noise-only segment, or the quietest frames) and the
mixture's; the noise covariance takes the default loading.
"""

from __future__ import annotations

import numpy as np

from arraykit import _validate as v
from arraykit.beamform.designs._base import BeamDesign, DesignInputs, load
from arraykit.beamform.weights import whitened_principal


def gev_weights(mixture_cov: np.ndarray, noise_cov: np.ndarray, *, ref: int = 0) -> np.ndarray:
    """GEV weights with blind analytic normalisation, ``(..., M)``; covariances ``(..., M, M)``."""
    L, u = whitened_principal(mixture_cov, noise_cov)
    M = L.shape[-1]
    if isinstance(ref, bool) or not isinstance(ref, int | np.integer) or not 0 <= ref < M:
        raise v.fail("ref", ref, f"must be a microphone index in 0..{M - 1}")
    w = np.linalg.solve(np.swapaxes(L.conj(), -1, -2), u)[..., 0]  # L^-H u
    h = (L @ u)[..., 0]  # R_n w: proportional to the target's transfer function
    # BAN: sqrt(w^H R_n R_n w / M) / (w^H R_n w), and w^H R_n w = u^H u = 1 here
    gain = np.linalg.norm(h, axis=-1) / np.sqrt(M)
    phase = h[..., ref].conj() / np.maximum(np.abs(h[..., ref]), 1e-300)
    return w * (gain * phase)[..., None]


def weights(inputs: DesignInputs) -> np.ndarray:
    assert inputs.mixture_cov is not None and inputs.noise_cov is not None
    Rn = load(inputs.noise_cov, inputs.loading, inputs.loading_mode)
    return gev_weights(inputs.mixture_cov, Rn, ref=inputs.ref)


DESIGN = BeamDesign(
    needs=frozenset({"noise_cov", "mixture_cov"}),
    kernel=weights,
    summary="GEV max-SNR with blind analytic normalisation (no direction needed)",
)
