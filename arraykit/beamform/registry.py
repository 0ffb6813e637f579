"""The beamformer designs by name: one registry, one loading policy, one place that builds weights.

A *design* turns what it declares it needs into weights ``(..., F, M)``. What a design
can ask for (its ``needs``):

==================  ============================================================================
``"steering"``      the target's steering vector ``(..., F, M)`` (a direction or a near-field point)
``"noise_cov"``     a noise-only covariance ``(..., F, M, M)`` (a time range, or the quietest frames)
``"mixture_cov"``   the covariance of the whole recording ``(..., F, M, M)``
``"cov"``           the noise covariance when a noise segment is given, else the mixture's
``"nulls"``         steering vectors toward interferers ``(..., F, M, K)``
==================  ============================================================================

Every design gets the geometry, the frequencies and the speed of sound besides (for
models such as the diffuse-noise coherence). :func:`weights_for` is the one function
that turns a name and data into weights; :func:`arraykit.beamform.beamform`,
:func:`~arraykit.beamform.compare_methods`, :mod:`arraykit.diagnostics`, the CLI and
the demo all call it (or, for batched predictions, a design's ``weights`` directly).

**Default loading.** One policy for every design and every caller:
``loading = DEFAULT_LOADING = 1e-2`` in ``"trace"`` mode, i.e. ``R + 0.01 * trace(R) / M * I``:
one percent of the average per-microphone power of the matrix the design inverts. It
is scale-free (a recording's level does not matter), keeps a covariance estimated from
few frames invertible, bounds the weights' norm (white-noise gain) against steering
and calibration errors at a cost of a fraction of a dB of interference rejection in
the simulated rooms, and for superdirective (a coherence with unit diagonal) it is
the customary absolute ``1e-2``. Pass ``loading=0`` for the unloaded textbook design.

Register your own with :func:`register_design` (see the README for an example)::

    ak.beamform.register_design("my-design", ak.beamform.Design(needs=..., kernel=...))

Shapes: ``F`` frequencies, ``M`` microphones, ``K`` nulls; ``...`` any leading batch.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit.beamform.covariance import check_covariance
from arraykit.beamform.designs import BUILTINS
from arraykit.beamform.designs._base import (
    DEFAULT_LOADING,
    DEFAULT_LOADING_MODE,
    NEEDS,
    CovSource,
    Design,
    DesignInputs,
    LoadingMode,
)
from arraykit.beamform.weights import null_directions, target_steering
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry
from arraykit.steering import steering_vector

__all__ = ["design_names", "designs", "get_design", "register_design", "weights_for"]

_LOCK = threading.Lock()
_REGISTRY: dict[str, Design] = dict(BUILTINS)


def register_design(name: str, design: Design, *, replace: bool = False) -> None:
    """Make `design` available by `name` to :func:`~arraykit.beamform.beamform` and the rest.

    Parameters
    ----------
    name : str
        Lower-case name (letters, digits, ``-``, ``_``).
    design : Design
        Anything with ``needs`` (a subset of :data:`NEEDS`) and ``weights(inputs)``,
        e.g. a :class:`BeamDesign`.
    replace : bool
        Allow replacing a registered design of that name.
    """
    if not isinstance(name, str) or not name or not all(ch.isalnum() or ch in "-_" for ch in name):
        raise v.fail("name", name, "must be a non-empty name of letters, digits, '-' or '_'")
    if not isinstance(design, Design):
        raise v.fail("design", design, "must have `needs` and a `weights(inputs)` method")
    needs = frozenset(design.needs)
    if not needs <= set(NEEDS):
        raise v.fail("design", design, f"needs {sorted(needs - set(NEEDS))}, not in {NEEDS}")
    with _LOCK:
        if name in _REGISTRY and not replace:
            raise v.fail("name", name, "is already registered (pass replace=True to replace it)")
        _REGISTRY[name] = design


def design_names() -> tuple[str, ...]:
    """The registered design names, in registration order (built-ins first)."""
    with _LOCK:
        return tuple(_REGISTRY)


def get_design(name: str) -> Design:
    """The design registered as `name` (a clear error naming the choices otherwise)."""
    names = design_names()
    v.choice("method", name, names)
    return _REGISTRY[name]


def weights_for(
    method: str,
    geometry: ArrayGeometry,
    freqs: npt.ArrayLike,
    *,
    direction: npt.ArrayLike | None = None,
    point: npt.ArrayLike | None = None,
    noise_cov: CovSource = None,
    mixture_cov: CovSource = None,
    noise_cov_auto: CovSource = None,
    nulls: npt.ArrayLike = (),
    loading: float | None = None,
    loading_mode: LoadingMode = DEFAULT_LOADING_MODE,
    ref: int | None = None,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Weights ``(F, M)`` of the design `method`: the one place a name becomes weights.

    Covariances are ``(F, M, M)`` arrays or zero-argument callables returning one
    (computed only when the design needs them): `noise_cov` from a noise-only
    segment, `mixture_cov` of the whole recording, and `noise_cov_auto`, the noise
    covariance a design that needs one gets when `noise_cov` is None (e.g. the
    quietest frames). ``"cov"`` designs get `noise_cov` if given, else the mixture's. ``loading=None`` is the default
    policy (:data:`DEFAULT_LOADING`, ``"trace"``). With `ref`, steering-based weights
    are multiplied by ``conj(a_ref)`` so the target comes out as microphone `ref` hears
    its direct path; blind designs (no ``"steering"``) refer their output to `ref`
    themselves (microphone 0 when None).
    """
    design = get_design(method)
    needs = design.needs
    f = v.frequencies("freqs", freqs)
    M = geometry.n_mics
    r = _ref(ref, M)
    eps = DEFAULT_LOADING if loading is None else _loading(loading)
    v.choice("loading_mode", loading_mode, ("absolute", "trace"))
    a = None
    if "steering" in needs:
        a = target_steering(geometry, f, direction, point=point, c=c)
    noise = None
    if noise_cov is not None and needs & {"noise_cov", "cov"}:
        noise = _cov("noise_cov", noise_cov, f.size, M, method)
    elif "noise_cov" in needs:
        noise = _cov("noise_cov", noise_cov_auto, f.size, M, method)
    mixture = None
    if "mixture_cov" in needs or ("cov" in needs and noise is None):
        mixture = _cov("mixture_cov", mixture_cov, f.size, M, method)
    covs = {
        "noise_cov": noise if "noise_cov" in needs else None,
        "mixture_cov": mixture if "mixture_cov" in needs else None,
        "cov": (noise if noise is not None else mixture) if "cov" in needs else None,
    }
    for key, R in covs.items():
        if R is not None:
            check_covariance(key, R, loading=eps, loading_mode=loading_mode)
    null_a = None
    if "nulls" in needs:
        nd = null_directions(geometry, nulls, direction, c=c)
        null_a = np.swapaxes(steering_vector(geometry, f, nd, c=c), 1, 2)  # (F, M, K)
    inputs = DesignInputs(
        geometry=geometry,
        freqs=f,
        steering=a,
        noise_cov=covs["noise_cov"],
        mixture_cov=covs["mixture_cov"],
        cov=covs["cov"],
        null_steering=null_a,
        loading=eps,
        loading_mode=loading_mode,
        ref=0 if r is None else r,
        c=c,
    )
    w = np.asarray(design.weights(inputs))
    if w.shape != (f.size, M):
        raise v.fail("method", method, f"design returned weights {w.shape}, not (F, M) {f.size, M}")
    if not np.all(np.isfinite(w)):
        raise v.fail("method", method, "design returned non-finite weights")
    if r is not None and a is not None:
        w = w * a[:, r, None].conj()
    return w


def designs() -> Mapping[str, Design]:
    """A read-only view of the registry (name -> design)."""
    with _LOCK:
        return MappingProxyType(dict(_REGISTRY))


# ------------------------------------------------------------------------------ helpers
def _cov(name: str, source: CovSource, F: int, M: int, method: str) -> np.ndarray:
    if source is None:
        raise v.fail(name, None, f"design '{method}' needs a {name.replace('_', ' ')}")
    R = source() if callable(source) else source
    R = np.asarray(R)
    if R.shape != (F, M, M):
        raise v.fail(name, R, f"must have shape (F, M, M) = {(F, M, M)}")
    return R


def _loading(value: object) -> float:
    return v.nonnegative("loading", value)


def _ref(ref: int | None, M: int) -> int | None:
    if ref is None:
        return None
    if isinstance(ref, bool) or not isinstance(ref, int | np.integer) or not 0 <= ref < M:
        raise v.fail("ref", ref, f"must be a microphone index in 0..{M - 1}")
    return int(ref)
