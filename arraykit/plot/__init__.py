"""Pictures of arrays, spatial spectra, beam patterns and diagnostics (matplotlib).

matplotlib is imported only when a plotting function runs (the ``plot`` extra).
Every function returns the matplotlib Figure it drew on.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["plot_geometry"]

_FUNCTIONS = {
    **dict.fromkeys(
        ["plot_polar_pattern", "plot_pattern_map", "plot_pattern_azel", "plot_beam_metrics"],
        "arraykit.plot.beam",
    ),
    "plot_geometry": "arraykit.plot.geometry",
    **dict.fromkeys(["plot_doa", "plot_doa_spectra"], "arraykit.plot.doa"),
    **dict.fromkeys(
        [
            "plot_steering_sweep",
            "plot_tolerance",
            "plot_steering_report",
            "plot_predicted_vs_measured",
            "plot_loading_tradeoff",
            "plot_recording_report",
        ],
        "arraykit.plot.diagnostics",
    ),
}


def __getattr__(name: str) -> Any:
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(_FUNCTIONS[name]), name)
    raise AttributeError(f"module 'arraykit.plot' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FUNCTIONS))
