"""CSSM and WAVES: the vectorized kernels against their slow references, focusing in
closed form, plane waves found (accuracy in rooms: tests/test_doa_accuracy.py)."""

from __future__ import annotations

import numpy as np
import pytest
from test_doa_kernels import band  # noqa: F401  (its small two-source room scene)

import arraykit as ak
from arraykit.doa import grids
from arraykit.doa._steer import Steering
from arraykit.doa.methods.cssm import (
    cssm_map,
    cssm_reference,
    focused_covariance,
    focused_map,
    focusing,
    reference_bin,
)
from arraykit.doa.methods.waves import waves_map, waves_reference, waves_subspace, weights
from arraykit.doa.subspace import covariance, signal_subspace, subspaces


def _steer(g: ak.ArrayGeometry, f: np.ndarray, d: np.ndarray) -> Steering:
    return Steering(g, f, d, None, 343.0)


@pytest.mark.parametrize("K", [1, 2, 3])
def test_focusing_carries_each_bin_onto_the_reference(K: int) -> None:
    """``T_f = I + D_f S`` maps the K focusing steering vectors at f onto those at f0."""
    g = ak.ArrayGeometry.circular(6, 0.05)
    f = np.linspace(300.0, 3500.0, 20)
    beta = np.array([[61.4, 0.0], [200.3, 0.0], [300.0, 0.0]])[:K]
    steer = _steer(g, f, beta)
    D = focusing(steer, 7)
    A = np.concatenate([a for _, a in steer.chunks()], axis=1).transpose(0, 2, 1)  # (F, M, K)
    T = np.eye(6) + D @ np.eye(6)[:K]
    np.testing.assert_allclose(T @ A, np.broadcast_to(A[7], A.shape), atol=1e-12)


@pytest.mark.parametrize(("M", "K"), [(64, 1), (64, 5), (16, 3), (4, 1)])
def test_signal_subspace_is_the_leading_eigenvectors(M: int, K: int) -> None:
    """The subset decomposition (scipy, K << M) or the full one: the K largest
    eigenvalues and a basis of their eigenvectors, as a full eigh gives them."""
    rng = np.random.default_rng(M + K)
    Z = rng.standard_normal((5, M, 3 * M)) + 1j * rng.standard_normal((5, M, 3 * M))
    C = Z @ np.conj(Z.transpose(0, 2, 1))
    lam, Es = signal_subspace(C, K)
    full, vec = np.linalg.eigh(C)
    np.testing.assert_allclose(lam, full[:, -K:], rtol=1e-10)
    P = Es @ np.conj(Es.transpose(0, 2, 1))  # projectors: basis-independent
    Q = vec[:, :, -K:] @ np.conj(vec[:, :, -K:].transpose(0, 2, 1))
    np.testing.assert_allclose(P, Q, atol=1e-10)


@pytest.mark.parametrize("K", [1, 2])
def test_cssm_and_waves_match_reference(band, K: int) -> None:  # noqa: F811
    g, X, f = band
    C = covariance(X)
    grid = grids.azimuth_grid(5.0)
    beta = np.array([[58.0, 0.0], [205.0, 0.0]])[:K]
    f0 = reference_bin(f, np.einsum("fmm->f", C).real, g.aliasing_frequency(343.0))
    D = focusing(_steer(g, f, beta), f0)
    steer0 = _steer(g, f[f0 : f0 + 1], grid)
    tau, tau_beta = g.delays(grid, c=343.0), g.delays(beta, c=343.0)

    _, vec = np.linalg.eigh(focused_covariance(C, D))
    cssm = focused_map(np.ascontiguousarray(vec[:, -K:]), steer0)
    ref = cssm_reference(C, f, tau, tau_beta, f0)
    np.testing.assert_allclose(cssm, ref, rtol=1e-8)
    assert ref.max() > 3 * np.median(ref)  # a map with a peak, not a constant

    lam, Es, _ = subspaces(C, K)
    P = weights(lam[:, -K:], np.einsum("fmm->f", C).real, C.shape[-1])
    waves = focused_map(waves_subspace(Es, P, D), steer0)
    np.testing.assert_allclose(waves, waves_reference(C, f, tau, tau_beta, f0), rtol=1e-8)


@pytest.mark.parametrize("make", [cssm_map, waves_map])
def test_plane_waves_found_from_a_wrong_start(make) -> None:
    """Two plane waves in white noise: the focusing iterations end on both directions."""
    g = ak.ArrayGeometry.circular(8, 0.06)
    f = np.linspace(500.0, 3500.0, 40)
    truth = np.array([[75.0, 0.0], [230.0, 0.0]])
    rng = np.random.default_rng(3)
    A = np.exp(-2j * np.pi * f[:, None, None] * g.delays(truth)[None])  # (F, K, M)
    S = rng.standard_normal((40, 2, 200)) + 1j * rng.standard_normal((40, 2, 200))
    N = rng.standard_normal((40, 8, 200)) + 1j * rng.standard_normal((40, 8, 200))
    X = A.transpose(0, 2, 1) @ S + 0.1 * N  # (F, M, T)
    C = X @ np.conj(X.transpose(0, 2, 1)) / 200
    grid = grids.azimuth_grid(1.0)
    starts: list[np.ndarray] = []

    def pick(values: np.ndarray) -> np.ndarray:
        if not starts:  # the first focusing directions: deliberately 20 degrees off
            starts.append(np.array([95, 210]))
            return starts[0]
        top = int(np.argmax(values))
        far = grids.angular_distance(grid, grid[top]) > 30.0
        return np.array([top, int(np.argmax(np.where(far, values, -np.inf)))])

    values = make(C, 2, pick)(_steer(g, f, grid))
    found = np.sort(grid[pick(values), 0])
    np.testing.assert_allclose(found, truth[:, 0], atol=1.0)
