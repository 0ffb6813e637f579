"""Clipping, read the same way by the searches (:func:`arraykit.doa.statistics.clipped_channels`)
and by ``arraykit check`` (:mod:`arraykit.hardware.check`): samples in flat runs at a channel's
own rails.

A rail is a channel's highest value when it is above zero and its lowest when it is below
(an offset or an asymmetric stage clips one side only); a constant channel (pure DC, a dead
microphone with an offset) has none. A sample within :data:`TOL` of a rail is at it (16-bit
full scale is -1 and +0.99997). A sampled waveform that is not clipped sits at its peak once
or twice, never in runs (a sine's crest samples are not next to each other).
"""

from __future__ import annotations

import numpy as np

__all__ = ["TOL", "at_rails", "flat_runs"]

TOL = 1e-4
"""Relative: a sample within this of its channel's highest (lowest) value is at it."""


def at_rails(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each sample of `y` ``(..., N)`` sits at its row's upper rail, and at its
    lower one (bool, the shape of `y`)."""
    hi = y.max(axis=-1, keepdims=True)
    lo = y.min(axis=-1, keepdims=True)
    moves = hi > lo
    # a side with no rail: a threshold no sample reaches
    up = np.where((hi > 0) & moves, hi * (1.0 - TOL), np.inf)
    down = np.where((lo < 0) & moves, lo * (1.0 - TOL), -np.inf)
    return y >= up, y <= down


def flat_runs(row: np.ndarray) -> tuple[int, int]:
    """The samples of `row` ``(N,)`` next to another at its upper rail, and at its lower."""
    up, down = at_rails(row)
    return int(np.count_nonzero(up[1:] & up[:-1])), int(np.count_nonzero(down[1:] & down[:-1]))
