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


def gev_weights(mixture_cov: np.ndarray, noise_cov: np.ndarray, *, ref: int = 0) -> np.ndarray:
    """GEV weights with blind analytic normalisation, ``(..., M)``; covariances ``(..., M, M)``."""
    Rx = np.asarray(mixture_cov, dtype=complex)
    Rn = np.asarray(noise_cov, dtype=complex)
    Rx, Rn = np.broadcast_arrays(Rx, Rn)
    M = Rn.shape[-1]
    try:
        L = np.linalg.cholesky(Rn)
    except np.linalg.LinAlgError:
        raise v.fail(
            "noise_cov", Rn, "is not positive definite; add diagonal loading (loading=1e-2)"
        ) from None
    A = np.linalg.solve(L, Rx)  # L^-1 R_x
    W = np.linalg.solve(L, np.swapaxes(A.conj(), -1, -2))  # L^-1 R_x L^-H (Hermitian)
    u = np.linalg.eigh(0.5 * (W + np.swapaxes(W.conj(), -1, -2)))[1][..., -1:]  # (..., M, 1)
    w = np.linalg.solve(np.swapaxes(L.conj(), -1, -2), u)[..., 0]  # L^-H u
    Rnw = np.einsum("...mn,...n->...m", Rn, w)
    num = np.sqrt(np.einsum("...m,...m->...", Rnw.conj(), Rnw).real / M)
    den = np.einsum("...m,...m->...", w.conj(), Rnw).real
    phase = Rnw[..., ref].conj() / np.maximum(np.abs(Rnw[..., ref]), 1e-300)
    return w * (num / np.maximum(den, 1e-300) * phase)[..., None]


def weights(inputs: DesignInputs) -> np.ndarray:
    assert inputs.mixture_cov is not None and inputs.noise_cov is not None
    Rn = load(inputs.noise_cov, inputs.loading, inputs.loading_mode)
    return gev_weights(inputs.mixture_cov, Rn, ref=inputs.ref)


DESIGN = BeamDesign(
    needs=frozenset({"noise_cov", "mixture_cov"}),
    kernel=weights,
    summary="GEV max-SNR with blind analytic normalisation (no direction needed)",
)
