"""The same DOA algorithms under other libraries' names, for side-by-side comparisons.

The benchmarks, the accuracy tests and :mod:`arraykit.campaign` run pyroomacoustics'
implementation of a method beside arraykit's on the same STFT and grid; this is the one
place that says which of its algorithms is which of ours.
"""

from __future__ import annotations

__all__ = ["PYROOMACOUSTICS"]

PYROOMACOUSTICS: dict[str, str] = {
    "srp-phat": "SRP",
    "music": "MUSIC",
    "normmusic": "NormMUSIC",
    "tops": "TOPS",
    "cssm": "CSSM",
    "waves": "WAVES",
}
"""arraykit method name -> the key of ``pyroomacoustics.doa.algorithms``."""
