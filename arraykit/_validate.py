"""Validation at the public boundary: one message style for every bad argument.

Private kernels trust their inputs; public functions call these once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from arraykit.errors import InvalidArgumentError


def show(value: Any, limit: int = 80) -> str:
    """A short printable form of `value` for error messages."""
    if isinstance(value, np.ndarray):
        text = f"array(shape={value.shape}, dtype={value.dtype})"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fail(name: str, value: Any, why: str) -> InvalidArgumentError:
    """Build the error for argument `name` holding `value`: ``raise fail(...)``."""
    err = InvalidArgumentError(f"{name}={show(value)}: {why}")
    err.name, err.why = name, why
    return err


def positive(name: str, value: Any) -> float:
    """A finite number > 0 (sampling rates, spacings, speeds of sound)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise fail(name, value, "must be a number") from None
    if not np.isfinite(x) or x <= 0:
        raise fail(name, value, "must be a finite number > 0")
    return x


def nonnegative(name: str, value: Any) -> float:
    """A finite number >= 0 (diagonal loadings, tolerances)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise fail(name, value, "must be a number >= 0") from None
    if not np.isfinite(x) or x < 0:
        raise fail(name, value, "must be a finite number >= 0")
    return x


def fraction(name: str, value: Any, low: str = "(0", high: str = "1]") -> float:
    """A number between 0 and 1 (forgetting factors, shares, confidence levels), as a
    float: ``low`` ``"(0"`` excludes 0 and ``"[0"`` includes it, ``high`` ``"1)"`` excludes 1
    and ``"1]"`` includes it."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise fail(name, value, f"must be a number in {low}, {high}") from None
    above = x > 0 if low == "(0" else x >= 0
    below = x < 1 if high == "1)" else x <= 1
    if not (above and below):  # NaN too
        raise fail(name, value, f"must lie in {low}, {high}")
    return x


def choice(name: str, value: Any, options: Sequence[str]) -> str:
    """One of `options`; the message lists them."""
    if value not in options:
        raise fail(name, value, f"must be one of {', '.join(map(repr, options))}")
    return value


def finite_array(
    name: str,
    value: Any,
    *,
    ndim: int | None = None,
    dtype: Any = float,
    allow_bool: bool = False,
    check_finite: bool = True,
) -> np.ndarray:
    """A finite NumPy array, optionally of a given number of dimensions.

    Booleans are refused (``True`` is not a coordinate) unless `allow_bool`.
    """
    try:
        raw = np.asarray(value)
        if raw.dtype == np.bool_ and not allow_bool:
            raise fail(name, value, "must be numbers, not booleans")
        if np.iscomplexobj(raw) and not np.issubdtype(np.dtype(dtype), np.complexfloating):
            raise fail(name, value, "is complex: give real samples (np.real(x) if that is meant)")
        arr = raw.astype(dtype, copy=False)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InvalidArgumentError):
            raise
        raise fail(name, value, "must be numeric") from None
    if ndim is not None and arr.ndim != ndim:
        raise fail(name, value, f"must have {ndim} dimension(s), got shape {arr.shape}")
    if check_finite:
        _check_finite(name, value, arr)
    return arr


def _check_finite(name: str, value: Any, arr: np.ndarray, *, signals: bool = False) -> None:
    """Refuse NaN or inf in `arr`, saying how many and where the first is: its index, or
    with `signals` (an ``(M, N)`` array of time signals) its channel and sample."""
    # a finite sum proves every element finite (NaN or inf would propagate); a sum
    # that overflowed gets the element-wise check
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum()
    if np.isfinite(total):
        return
    bad = ~np.isfinite(arr)
    if not np.any(bad):
        return
    count = int(np.count_nonzero(bad))
    if arr.ndim == 0:
        where = ""
    else:
        first = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), arr.shape))
        if signals:
            m, n = first
            where = (
                f" ({count} of {arr.size} samples; the first, {arr[first]}, at channel {m}, "
                f"sample {n})"
            )
        else:
            at = first[0] if arr.ndim == 1 else list(first)
            where = f" ({count} of {arr.size}; the first, {arr[first]}, at index {at})"
    raise fail(name, value, f"contains NaN or infinite values{where}")


def integer(
    name: str, value: Any, minimum: int, maximum: int | None = None, *, upper: str = ""
) -> int:
    """An integer (not a bool) ``>= minimum`` and, if given, ``<= maximum``.

    `upper` names the bound in the message (``"nfft=512"`` instead of ``512``).
    """
    ok = not isinstance(value, bool) and isinstance(value, int | np.integer)
    if ok and value >= minimum and (maximum is None or value <= maximum):
        return int(value)
    if maximum is None:
        raise fail(name, value, f"must be an integer >= {minimum}")
    raise fail(name, value, f"must be an integer in {minimum}..{upper or maximum}")


def forgetting(name: str, memory: float, hop_seconds: float) -> float:
    """The forgetting factor ``exp(-hop / memory)`` of a time constant `memory` (s, > 0) at
    `hop_seconds` per update, refused naming `memory` where it underflows to 0 or rounds
    to 1 (nothing remembered, or nothing learnt)."""
    memory = positive(name, memory)
    alpha = float(np.exp(-hop_seconds / memory))
    if not 0 < alpha < 1:
        what = "remember" if alpha == 0 else "learn (it never forgets)"
        why = f"leaves nothing to {what} with {hop_seconds * 1e3:g} ms STFT hops"
        raise fail(
            name, memory, f"{why}: give {hop_seconds / 700:.2g} to {hop_seconds * 1e14:.2g} s"
        )
    return alpha


def band(name: str, value: Any, fs: float) -> tuple[float, float]:
    """A frequency band ``(low, high)`` in Hz with ``0 < low < high <= fs / 2``."""
    fr = finite_array(name, value, ndim=1)
    if fr.shape != (2,) or not 0 < fr[0] < fr[1] <= fs / 2:
        # fs=inf checks the band alone (the caller names the rate when it is too low)
        top = "" if np.isinf(fs) else f" <= fs/2 = {fs / 2:g}"
        raise fail(name, value, f"must be (low, high) Hz with 0 < low < high{top}")
    return float(fr[0]), float(fr[1])


def band_bins(
    name: str, value: Any, fs: float, nfft: int, *, need: int = 1
) -> tuple[np.ndarray, tuple[float, float]]:
    """The STFT bins (mask over ``nfft // 2 + 1``) of the band `value`, and the band.

    At least `need` bins must fall inside (:func:`band` checks the band itself).
    """
    lo, hi = band(name, value, fs)
    f = np.arange(nfft // 2 + 1) * fs / nfft
    mask = (f >= lo) & (f <= hi)
    n = int(mask.sum())
    if n < need:
        why = "" if need == 1 else f" (fewer than {need} bins leave nothing to compare)"
        raise fail(name, value, f"holds {n} STFT bins at nfft={nfft}; need {need}{why}")
    return mask, (lo, hi)


def signals(
    name: str, value: Any, n_mics: int | None = None, *, check_finite: bool = True
) -> np.ndarray:
    """Time signals ``(M, N)``: finite floats, one row per microphone.

    ``check_finite=False`` leaves the finite check to the caller (one that sees
    NaN or inf in its results anyway calls this again to say which).
    """
    arr = finite_array(name, value, ndim=2, check_finite=False)
    if check_finite:
        _check_finite(name, value, arr, signals=True)
    if n_mics is not None and arr.shape[0] != n_mics:
        why = f"must have one row per microphone: {n_mics} rows, got {arr.shape[0]}"
        if arr.shape[1] == n_mics:  # frames as rows, as soundfile reads a file
            why += " (frames as rows (N, M), as soundfile reads a file: pass its .T)"
        raise fail(name, value, why)
    return arr


def frequencies(name: str, value: Any) -> np.ndarray:
    """Frequencies in Hz, ``(F,)``, finite and >= 0 (a scalar becomes ``(1,)``)."""
    arr = np.atleast_1d(finite_array(name, value))
    if arr.ndim != 1:
        raise fail(name, value, f"must be a scalar or 1-D, got shape {arr.shape}")
    if np.any(arr < 0):
        raise fail(name, value, "frequencies must be >= 0 Hz")
    return arr


def directions(name: str, value: Any) -> np.ndarray:
    """Directions ``(G, 2)`` as (azimuth, elevation) degrees; one pair becomes ``(1, 2)``.

    A 1-D array of length other than 2 is read as azimuths at elevation 0.
    """
    arr = finite_array(name, value)
    if arr.ndim == 0:
        arr = np.array([[float(arr), 0.0]])
    elif arr.ndim == 1:
        arr = arr[None, :] if arr.shape[0] == 2 else np.stack([arr, np.zeros_like(arr)], axis=1)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise fail(name, value, "must be (azimuth, elevation) in degrees, one pair or shape (G, 2)")
    if np.any(np.abs(arr[:, 1]) > 90.0 + 1e-9):
        raise fail(name, value, "elevation must lie in [-90, 90] degrees")
    if np.any(np.abs(arr[:, 0]) > MAX_AZIMUTH):  # 1e300 mod 360 is any angle at all
        raise fail(
            name,
            value,
            f"an azimuth beyond {MAX_AZIMUTH:.0e} degrees keeps no precision: give it in [0, 360)",
        )
    return arr


MAX_AZIMUTH = 1e6
"""Degrees: a larger azimuth is refused (at 1e6 a double still holds it to 1e-10 degrees;
at 1e17 not to one degree)."""


def memory_bytes() -> float:
    """Physical memory of this machine (8 GiB when the system does not say)."""
    import os

    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return 8.0 * 2**30


def fits(name: str, value: Any, nbytes: float, what: str, fix: str) -> None:
    """Refuse, before allocating, work that needs more than half the machine's memory:
    `what` says what the `nbytes` would hold, `fix` what to change."""
    limit = 0.5 * memory_bytes()
    if nbytes > limit:
        raise fail(
            name,
            value,
            f"would need about {size(nbytes)} of memory for {what}, more than half of this "
            f"machine's {size(2 * limit)}; {fix}",
        )


def size(nbytes: float) -> str:
    """A byte count for a message: ``"25.1 GB"``."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB", "EB"):
        if nbytes < 1000 or unit == "EB":
            return f"{nbytes:.3g} {unit}"
        nbytes /= 1000
    return f"{nbytes:.3g} EB"
