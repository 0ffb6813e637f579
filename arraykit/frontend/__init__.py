"""The live multi-talker front end: track who is where, deliver each voice, stream it out.

One pipeline for a file (faster than real time) and a device (live), read top-down:

- :mod:`~arraykit.frontend.activity`: speech activity per block (WebRTC VAD or energy);
- :mod:`~arraykit.frontend.localise`: several directions per block (SRP-PHAT peaks of
  a forgetting covariance);
- :mod:`~arraykit.frontend.tracking`: Kalman tracks with persistent IDs;
- :mod:`~arraykit.frontend.separation`: one beamformer per track;
- :mod:`~arraykit.frontend.outputs`: JSON lines, growing per-track WAVs, playback;
- :mod:`~arraykit.frontend.view`: the azimuth x time map (matplotlib);
- :mod:`~arraykit.frontend.pipeline`: :class:`Pipeline`, the stages block by block.
"""

from __future__ import annotations

from arraykit.frontend.pipeline import BlockReport, FrontendOptions, Pipeline, TrackReport

__all__ = ["BlockReport", "FrontendOptions", "Pipeline", "TrackReport"]
