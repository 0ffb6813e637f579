"""The live view: the direction map over time (azimuth x time) with the tracks on it.

:class:`LiveView` keeps the last `window` seconds of blocks: each active block's
spatial map (:attr:`Detections.spectrum`) as one column of an image (azimuth up,
time to the right), each confirmed track as a line of its own colour with its ID
and current level at its head. :meth:`refresh` redraws an open window at most
`fps` times a second; :meth:`save` writes the current frame (headless, as the tests
and the README's picture do).
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from arraykit.io import replacing

__all__ = ["TRACK_COLOURS", "LiveView"]

TRACK_COLOURS = ("#ff0000", "#00ff00", "#00c0ff", "#ff00ff", "#ffff00", "#ff8000")
"""Track ``id`` is drawn in ``TRACK_COLOURS[(id - 1) % 6]``."""

AZ_STEP = 2.0


class LiveView:
    """Azimuth x time map with tracks; feed :meth:`add` each :class:`BlockReport`."""

    def __init__(self, *, window: float = 10.0, fps: float = 5.0, interactive: bool = False):
        self.window = float(window)
        self.min_interval = 1.0 / float(fps)
        self.interactive = bool(interactive)
        self.az = np.arange(0.0, 360.0, AZ_STEP)
        self.times: deque[float] = deque()
        self.columns: deque[np.ndarray] = deque()
        self.tracks: dict[int, deque[tuple[float, float, float]]] = {}
        self._fig: Any = None
        self._last = 0.0

    def add(self, report: Any) -> None:
        det = report.detections
        col = np.zeros(self.az.size)
        if det.spectrum.size:
            order = np.argsort(det.grid_azimuth)
            ga, sp = det.grid_azimuth[order], det.spectrum[order]
            col = np.interp(self.az, ga, sp, period=360.0)
            col = np.clip((col - np.median(col)) / max(float(np.ptp(col)), 1e-12), 0.0, 1.0)
        self.times.append(report.t)
        self.columns.append(col)
        for tr in report.tracks:
            self.tracks.setdefault(tr.id, deque()).append((report.t, tr.azimuth, tr.level_db))
        t0 = report.t - self.window
        while self.times and self.times[0] < t0:
            self.times.popleft()
            self.columns.popleft()
        for tid in list(self.tracks):
            pts = self.tracks[tid]
            while pts and pts[0][0] < t0:
                pts.popleft()
            if not pts:
                del self.tracks[tid]

    def window_backend(self) -> str | None:
        """The matplotlib backend if it draws in a window, else None (Agg: no display)."""
        import matplotlib

        fig = self.draw()
        framework = fig.canvas.required_interactive_framework
        return None if framework is None else str(matplotlib.get_backend())

    def draw(self) -> Any:
        """Draw the current frame; returns the matplotlib figure."""
        import matplotlib.pyplot as plt

        if self._fig is None:
            self._fig, self._ax = plt.subplots(figsize=(7, 3.6), dpi=100)
        fig, ax = self._fig, self._ax
        ax.clear()
        if self.times:
            t1 = self.times[-1]
            img = np.stack(list(self.columns), axis=1)
            dt = (t1 - self.times[0]) / (len(self.times) - 1) if len(self.times) > 1 else 0.048
            t_first = self.times[0] - dt  # each column covers the block ending at its time
            ax.imshow(
                img,
                origin="lower",
                aspect="auto",
                cmap="gray_r",
                vmin=0.0,
                vmax=1.0,
                extent=(t_first, t1, -AZ_STEP / 2, 360 - AZ_STEP / 2),
                interpolation="nearest",
            )
            for tid, pts in sorted(self.tracks.items()):
                t, a, lev = (np.array(x) for x in zip(*pts, strict=True))
                colour = TRACK_COLOURS[(tid - 1) % len(TRACK_COLOURS)]
                jumps = np.flatnonzero(np.abs(np.diff(a)) > 180) + 1  # no line across 0/360
                for seg_t, seg_a in zip(np.split(t, jumps), np.split(a, jumps), strict=True):
                    ax.plot(seg_t, seg_a, color=colour, linewidth=2.5, solid_capstyle="butt")
                level = f"{lev[-1]:.0f} dB" if np.isfinite(lev[-1]) else ""
                ax.annotate(
                    f"{tid}  {level}",
                    (t[-1], a[-1]),
                    xytext=(4, 4),
                    textcoords="offset points",
                    color="black",
                    fontsize=9,
                    bbox={"boxstyle": "round", "fc": colour, "alpha": 0.6, "lw": 0},
                )
            ax.set_xlim(max(t1 - self.window, 0.0), max(t1, self.window))
        ax.set_ylim(0, 360)
        ax.set_yticks(range(0, 361, 60))
        ax.set_xlabel("time (s)")
        ax.set_ylabel("azimuth (°)")
        ax.set_title("arraykit track: who is where")
        fig.tight_layout()
        return fig

    def azimuth_to_row(self, azimuth: float, height: int) -> float:
        """Pixel row (from the top of a saved frame `height` pixels tall) of an azimuth."""
        fig = self.draw()
        fig.canvas.draw()
        _, y0 = self._ax.transData.transform((self._ax.get_xlim()[0], azimuth))
        return height - y0

    def refresh(self) -> None:
        """Redraw an interactive window (at most `fps` times a second)."""
        now = time.monotonic()
        if now - self._last < self.min_interval:
            return
        self._last = now
        import matplotlib.pyplot as plt

        self.draw()
        if self.interactive:
            plt.pause(0.001)

    def save(self, path: str | Path) -> Path:
        """Write the current frame to a picture (PNG)."""
        fig = self.draw()
        with replacing(path) as tmp:  # a full disk leaves an earlier picture as it was
            fig.savefig(tmp)
        return Path(path)

    def close(self) -> None:
        if self._fig is not None:
            import matplotlib.pyplot as plt

            plt.close(self._fig)
            self._fig = None
