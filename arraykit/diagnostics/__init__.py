"""Diagnostics: the amplitude distortion a steering error causes, predicted and measured.

When the look direction (or the delays, or the microphone positions) is wrong, the
main lobe misses the talker and the beamformer attenuates the very voice it should
pass; adaptive beamformers (MPDR) go further and cancel it ("signal
self-cancellation"), more at high frequencies, so the voice also sounds low-passed.

* :func:`steering_loss`, :func:`predict`, :func:`closed_form`: the target's gain and
  output SINR under mismatch, numerically and from the closed forms.
* :func:`sweep`, :func:`tolerance`, :func:`loading_for`, :func:`compare`: error x
  frequency maps, the error that costs 1/3/6 dB, the loading that keeps the loss
  small, and a table across beamformers.
* :func:`diagnose_recording`: the distortion actually applied to a recording.
"""

from __future__ import annotations

from typing import Any

from arraykit.diagnostics.mismatch import (
    ClosedForm,
    Comparison,
    LoadingAdvice,
    Prediction,
    Sweep,
    Tolerance,
    closed_form,
    compare,
    loading_for,
    parse_range,
    predict,
    steering_loss,
    sweep,
    tolerance,
)
from arraykit.diagnostics.recording import Report, diagnose_recording, measure_gain

__all__ = [
    "METHODS",
    "ClosedForm",
    "Comparison",
    "LoadingAdvice",
    "Prediction",
    "Report",
    "Sweep",
    "Tolerance",
    "closed_form",
    "compare",
    "diagnose_recording",
    "loading_for",
    "measure_gain",
    "parse_range",
    "predict",
    "steering_loss",
    "sweep",
    "tolerance",
]


def __getattr__(name: str) -> Any:
    """``METHODS``: the registered designs, as ``ak.beamform.METHODS`` reads them."""
    if name == "METHODS":
        from arraykit import beamform

        return beamform.METHODS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
