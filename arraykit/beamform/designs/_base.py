"""What a beamformer design is: its needs, its inputs, its kernel; and the loading policy.

See :mod:`arraykit.beamform.registry` for the table of needs and the default loading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry

__all__ = [
    "DEFAULT_LOADING",
    "DEFAULT_LOADING_MODE",
    "NEEDS",
    "BeamDesign",
    "Design",
    "DesignInputs",
    "load",
]

Need = Literal["steering", "noise_cov", "mixture_cov", "cov", "nulls"]
NEEDS: tuple[str, ...] = ("steering", "noise_cov", "mixture_cov", "cov", "nulls")
LoadingMode = Literal["absolute", "trace"]

DEFAULT_LOADING = 1e-2
"""The one default diagonal loading: 1 % of the average power (``"trace"`` mode)."""
DEFAULT_LOADING_MODE: LoadingMode = "trace"

CovSource = npt.ArrayLike | Callable[[], np.ndarray] | None


@dataclass(frozen=True)
class DesignInputs:
    """What a design's kernel receives; fields it did not ask for are None.

    Attributes
    ----------
    geometry : ArrayGeometry
    freqs : np.ndarray [shape=(F,)]
    steering : np.ndarray [shape=(..., F, M)] or None
    noise_cov, mixture_cov, cov : np.ndarray [shape=(..., F, M, M)] or None
        Unloaded; apply :func:`load` with ``loading`` / ``loading_mode``.
    null_steering : np.ndarray [shape=(..., F, M, K)] or None
    loading : float or np.ndarray [shape=(F,)]
    loading_mode : {"trace", "absolute"}
    ref : int
        Reference microphone for designs that refer their output to one (blind
        designs such as GEV; steering-based ones are aligned by :func:`weights_for`).
    c : float
    """

    geometry: ArrayGeometry
    freqs: np.ndarray
    steering: np.ndarray | None = None
    noise_cov: np.ndarray | None = None
    mixture_cov: np.ndarray | None = None
    cov: np.ndarray | None = None
    null_steering: np.ndarray | None = None
    loading: float | np.ndarray = DEFAULT_LOADING
    loading_mode: LoadingMode = DEFAULT_LOADING_MODE
    ref: int = 0
    c: float = SPEED_OF_SOUND


@runtime_checkable
class Design(Protocol):
    """A beamformer design: what it needs and how it turns that into weights ``(..., F, M)``."""

    @property
    def needs(self) -> frozenset[str]: ...

    def weights(self, inputs: DesignInputs) -> np.ndarray: ...


@dataclass(frozen=True)
class BeamDesign:
    """A :class:`Design` from a kernel function (what every built-in design is).

    Attributes
    ----------
    needs : frozenset of str
        A subset of :data:`NEEDS`.
    kernel : callable
        ``kernel(inputs: DesignInputs) -> np.ndarray`` weights ``(..., F, M)``.
    summary : str
        One line for help texts.
    """

    needs: frozenset[str]
    kernel: Callable[[DesignInputs], np.ndarray] = field(repr=False)
    summary: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs", frozenset(self.needs))
        unknown = sorted(self.needs - set(NEEDS))
        if unknown:
            raise v.fail("needs", sorted(self.needs), f"unknown needs {unknown}; use {NEEDS}")
        if "nulls" in self.needs and "steering" not in self.needs:
            raise v.fail("needs", sorted(self.needs), "'nulls' come with 'steering'")

    def weights(self, inputs: DesignInputs) -> np.ndarray:
        return self.kernel(inputs)


def load(
    cov: np.ndarray, loading: float | npt.ArrayLike, mode: LoadingMode = DEFAULT_LOADING_MODE
) -> np.ndarray:
    """Diagonal loading ``R + delta I`` of ``(..., F, M, M)`` matrices.

    ``"absolute"``: ``delta = loading``; ``"trace"``: ``delta = loading * trace(R) / M``
    (the average power per microphone). `loading` is a number or one value per
    frequency ``(F,)``.
    """
    v.choice("loading_mode", mode, ("absolute", "trace"))
    try:
        eps = np.asarray(loading, dtype=float)
    except (TypeError, ValueError):
        raise v.fail("loading", loading, "must be a number >= 0 or one per frequency") from None
    if not np.all(np.isfinite(eps)) or np.any(eps < 0):
        raise v.fail("loading", loading, "must be a finite number >= 0")
    if not np.any(eps):
        return cov
    M = cov.shape[-1]
    delta = eps[..., None, None] if eps.ndim else eps
    if mode == "trace":
        delta = delta * np.trace(cov, axis1=-2, axis2=-1).real[..., None, None] / M
    return cov + delta * np.eye(M)
