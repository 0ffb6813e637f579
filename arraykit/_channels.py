"""Dead channels, read the same way by the searches (:mod:`arraykit.doa.statistics`) and by
the running covariance (:class:`arraykit.beamform.RecursiveCovariance`, which forgets a
microphone that goes silent): rows that are all zero while another is not.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dead_channels"]


def dead_channels(x: np.ndarray) -> tuple[int, ...]:
    """The channels (rows) of `x` ``(M, ...)`` that are all zero while another is not:
    a dead microphone or a channel map pointing at nothing. The others still hold the
    source; the searches leave the dead one's pairs at zero."""
    heard = np.any(x.reshape(x.shape[0], -1), axis=1)
    if heard.all() or not heard.any():
        return ()
    return tuple(int(m) for m in np.flatnonzero(~heard))
