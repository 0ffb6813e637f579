"""The live front end, block by block: STFT -> activity -> directions -> tracks -> voices.

>>> import numpy as np, arraykit as ak
>>> g = ak.load_geometry("respeaker-6mic")
>>> scene = ak.sim.simulate(g, [ak.sim.Source(ak.sim.speech_like(1.5, 16000, seed=2), 70.0)],
...                         16000, rt60=0.2, snr_db=25, seed=1)
>>> pipe = ak.frontend.Pipeline(g, 16000, ak.frontend.FrontendOptions(activity="energy"))
>>> reports = pipe.process(scene.signals) + pipe.finish()
>>> [(t.id, round(t.azimuth / 10) * 10) for t in reports[-1].tracks]
[(1, 70)]

:class:`Pipeline` takes chunks of any length (``(M, n)``, float) and runs the
pipeline on fixed blocks of ``block_hops`` STFT hops (56 ms at 16 kHz and 59 ms at 48 kHz
by default, 48 and 53 ms on four microphones or fewer: the longest block whose latency
stays within 64 ms), so that
the results do not depend on how the input was chunked: a file read at once and a
device delivering 1024-frame blocks give identical reports. Each block yields a
:class:`BlockReport`:

1. :class:`arraykit.stft.StreamingSTFT` frames (Hann, 50 % overlap);
2. speech activity (:mod:`~arraykit.frontend.activity`);
3. directions from a forgetting covariance (:mod:`~arraykit.frontend.localise`),
   searched only in active blocks;
4. tracks (:mod:`~arraykit.frontend.tracking`): persistent IDs, birth, hold, death;
5. one beamformer per confirmed track (:mod:`~arraykit.frontend.separation`) and its
   output samples, aligned with the input.

Algorithmic latency: a sample reaches the track outputs once its block is complete
and the frames overlapping it are in, ``block + nfft - hop`` samples after it was
captured (64 ms at 16 and 48 kHz with the defaults; :attr:`Pipeline.latency`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from arraykit import _validate as v
from arraykit.doa.statistics import CLIP_KEEP, clipped_channels
from arraykit.frontend.activity import DetectorKind, make_activity, webrtc_rate
from arraykit.frontend.localise import Detections, Localiser
from arraykit.frontend.separation import SEPARATIONS, SeparationKind, Separator
from arraykit.frontend.tracking import MOTIONS, Event, MotionKind, Tracker
from arraykit.geometry import SPEED_OF_SOUND, ArrayGeometry
from arraykit.steering import check_frame_holds
from arraykit.stft import StreamingSTFT

__all__ = ["LATENCY_BOUND", "BlockReport", "FrontendOptions", "Pipeline", "TrackReport"]

LATENCY_BOUND = 0.064
"""The latency (s) the default block length stays within (issue 14's bound)."""

CLIP_HOLD = 1.0
"""Seconds a channel stays left out after a block in which it clipped (flat tops at its
peak; :func:`arraykit.doa.statistics.clipped_channels`). One channel of the 6-mic circle
ten times hot (speech clipped at full scale on its loud syllables) gave 8 meetings 4
identity swaps and 2 false tracks, and cut the median SIR gain per track from +14.95 to
+9.70 dB; 30 times hot, 5 swaps and 7 false tracks (README, "A clipped channel").
Clipping comes and goes with the talker's loud syllables: held for a second, the set of
channels left out does not flap with them."""

FEW_MICS = 4
"""Arrays of at most this many microphones get the defaults for few microphones (frames,
memory, one peak per block, the tracker's noise); with dead channels the
default of one peak per block follows the live ones (with two of the 6-mic circle's six
dead, the deflated peak of the four left started a false track in every trial)."""

FRAME = 0.016
"""Seconds: the default STFT frame is the largest power of two within it (256 samples at
16 kHz, 512 at 44.1 and 48 kHz) on arrays of more than four microphones."""

FEW_MICS_FRAME = 0.032
"""... and within this on arrays of four microphones or fewer (512 at 16 kHz)."""

NEAR_FIELD = (4000.0, 0.5)
"""(Hz, m): ``separation=None`` steers toward points (``"near"``) on arrays whose
Fraunhofer distance ``2 D^2 f / c`` at this frequency reaches this range (apertures from
14.6 cm), plane waves (``"mvdr"``) on smaller ones: see :func:`default_separation`."""

MEMORY = 0.09
"""Seconds: the localisation covariance's default time constant on arrays of more than
four microphones (with their 16 ms frames) ..."""

FEW_MICS_MEMORY = 0.12
"""... and on four or fewer (32 ms frames)."""

ActivityKind = Literal["auto", DetectorKind]
ACTIVITIES: tuple[str, ...] = get_args(ActivityKind)
"""``"auto"``: both detectors when the WebRTC VAD is installed and takes the rate (8, 16,
32, 48 kHz or a multiple), else energy alone."""


@dataclass(frozen=True)
class FrontendOptions:
    """Settings of :class:`Pipeline` (validated once, at construction).

    nfft : STFT size. None: the largest power of two within :data:`FRAME` (16 ms: 256
        at 16 kHz, 512 at 44.1 and 48 kHz) on arrays of more than four microphones, within
        :data:`FEW_MICS_FRAME` (32 ms: 512 at 16 kHz, 1024 at 48 kHz) on four or fewer.
        Shorter frames leave more of the 64 ms latency to the block (7 hops, 56 ms, at
        16 kHz instead of 3, 48 ms), over which the searches, the tracker and the
        beamformer designs spread, and half the bins to solve: a real-time factor of
        0.026 against 0.035 (six microphones, 16 kHz) and 0.054 against 0.072 (16, 48
        kHz; measured in the README). On the six-microphone meetings (benchmark 0-15 /
        held out 16-47), 16 ms against 32 ms: median / p90 azimuth error 2.31 / 6.10
        against 2.53 / 6.38 degrees and 2.34 / 6.54 against 2.35 / 6.42, no swap, false
        tracks 1 and 0 against 1 and 1, a talker starting over another confirmed after
        0.296 s against 0.28 s and 0.296 against 0.256 (median: the tracker's birth counts
        blocks, now 56 ms), median SIR gain +11.01 against +11.00 dB and +11.09 against
        +11.33 (lowest track +8.08 against +8.55, +6.80 against +7.42), SI-SDR 0.27-0.28
        dB higher; 8 UMA-16 meetings at 48 kHz 1.62 / 6.08 against 1.65 / 6.03 degrees,
        +12.60 against +12.90 dB. The four-microphone array keeps 32 ms: with 16 ms its
        held-out meetings had 5 false tracks and 2 swaps against 2 and 1
    block_hops : STFT hops per block (the block is ``block_hops * nfft / 2`` samples).
        None: the most hops whose latency (block plus ``nfft - hop``) stays within
        :data:`LATENCY_BOUND` (64 ms), at least 1: with the default frames 7 at 8, 16 and
        32 kHz (56 ms blocks), 10 at 44.1 kHz (58 ms) and 11 at 48 kHz (59 ms) on arrays
        of more than four microphones; on four or fewer 3 at 16 kHz (48 ms) and 5 at 48
        kHz (53 ms). The directions are searched, the tracks stepped and the beamformers
        designed once per block, so a longer block spreads their cost over more hops: at
        48 kHz with 1024-sample frames 5 hops instead of 3 (latency 64 ms instead of 43)
        cut the real-time factor of 16 microphones by about 30 % (0.154 -> 0.109,
        measured in the README). It costs the tracker some of its speed there (its birth
        counts blocks): on 8 UMA-16 meetings at 48 kHz (image order 10) a talker
        starting over another was confirmed after 0.24 s (median; 0.51 s at worst)
        instead of 0.19 s (0.37 s), one starting in silence after 0.13 s instead of 0.08
        s, the median / p90 azimuth error 1.65 / 6.03 degrees instead of 1.74 / 5.53, no
        swap or false track either way, median SIR gain +12.90 dB instead of +13.10
    freq_range : band searched for directions, Hz
    memory : time constant of the localisation covariance, s. None: :data:`MEMORY` (0.09)
        on arrays of more than four microphones, :data:`FEW_MICS_MEMORY` (0.12) on four or
        fewer. With the 16 ms frames, chosen on the six-microphone meetings 16-47 (0.08,
        0.09, 0.10 and 0.12 s: median / p90 error 2.22 / 5.66, 2.24 / 5.85, 2.34 / 6.25 and
        2.34 / 6.54 degrees, a talker starting over another confirmed after 0.24, 0.24,
        0.24 and 0.296 s, one false track against none with 0.12, no swap, median SIR gain
        +11.29 dB with 0.09 against +11.09), then measured on the benchmark's 0-15: 2.30 /
        5.36 degrees against 2.31 / 6.10, 0.268 s against 0.296, no swap or false track; 8
        UMA-16 meetings at 48 kHz with 0.10: 1.55 / 5.38 against 1.62 / 6.08, 0.20 s
        against 0.26
    max_sources : peaks searched per block (None: 2 on arrays of more than four
        microphones, else 1). On the four-microphone ReSpeaker USB array (45.7 mm
        square) two thirds of the deflated peaks in the seeded meetings lay more than
        15 degrees from every talker, most of them 150-180 degrees from the first peak
        (a residue of the projection, not a talker): they started 15 of its 18 false
        tracks and pulled tracks off their talkers (16 meetings: 18 false tracks and 19
        identity swaps with 2 peaks, 3 and 7 with 1). The default follows the live
        channels: while dead ones leave four or fewer, one peak per block
    deflate_every : search the deflated covariance (the second peak on) every this many
        localised blocks (1: every one). On the 16 six-microphone meetings 2 gave a
        median / p90 error of 2.6 / 7.5 degrees (1: 2.8 / 8.6) but one identity swap
        (1: none), and cut the real-time factor about 12 % (6 mics, 16 kHz) and 18 %
        (16 mics, 48 kHz)
    peak_ratio : a deflated peak must stand this high (relative to the first) to count
    onset_ratio, onset_apart : ... or this high (0.5), when the block's first peak lies
        within `gate` of a confirmed track and the deflated one `onset_apart` degrees (40)
        or more from every confirmed track: a talker starting while an established one
        speaks, whose share of the covariance is still rising (one talker's residual
        after deflation stands 0.19-0.36 of the first on the six-microphone circle, a new
        talker's in its first blocks 0.38-0.52). Measured on the six-microphone meetings
        (0.4 / 0.45 / 0.5, 40 and 60 degrees compared on the benchmark's 0-15, then
        checked once on 16-47): a talker starting over another confirmed later than
        0.3 s in 3 of 16 onsets instead of 7 (held out 5 of 32 instead of 9), median 0.24
        s instead of 0.27, no swap either way, false tracks 0 and 3 instead of 0 and 1,
        p90 error 5.49 instead of 5.36 degrees (5.96 instead of 5.85). Arrays of four
        microphones or fewer search one peak per block (their onsets come from the zones):
        unchanged. `onset_ratio=peak_ratio` turns it off
    antipode : a deflated peak within this many degrees of the antipode of a peak found
        before it in the block is dropped (30; 0 turns it off). The likely cause: after
        deflation the talker's direction is projected away but the front-back symmetric
        part of its reverberant field is not, and on a centre-symmetric array (the 6-mic circle, the
        UMA-16: ``a(az + 180) = conj(a(az))``) that part maps as strongly to the
        antipode: with real speech (the office-ula32 dry clips as the meetings' talkers,
        16 six-microphone meetings) 9 of the 9 false tracks, and a swap, were born within
        25 degrees of a talker's antipode. Chosen on those meetings and the benchmark's
        0-15 (20 / 30 / 45 degrees: p90 error 6.91 / 6.34 / 6.55 and 4.91 / 4.62 / 4.69
        degrees, against 7.82 and 5.41 without; no false track at any), then checked once
        on 16-47: p90 5.94 -> 4.90 degrees, false tracks 3 -> 0, onsets and SIR gains the
        same (README, "Real speech"). A second talker exactly opposite the first is still
        found when it leads the map, and by the onset zones
    resolution : direction grid step, degrees
    min_height : least height of a peak above its map's median, in [0, 1) (the map is a
        mean GCC-PHAT, at most 1)
    diffuse_floor : on an array whose own map of a diffuse field stands out (its peak
        :data:`~arraykit.doa.confidence.NO_SOURCE_FLOOR` or more above its median: small
        lines, at broadside), a block's first peak away (`gate`) from every confirmed
        track must also stand this high above the median once the best-fitting isotropic
        field is fitted out of the covariance
        (:meth:`~arraykit.doa.SrpCovSearch.diffuse_height`), in [0, 1); 0 turns it off.
        The 4-mic 40 mm line started 32 false tracks in 80 s of level-modulated diffuse
        noise (seeds 0-15; its map's peak 0.14-0.29 high, over `min_height`). Chosen there
        (0.10 / 0.14 / 0.16 / 0.18 / 0.20: 12 / 2.3 / 0.75 / 0 / 0 false tracks a minute;
        two talkers on the line, 16 scenes: a talker confirmed 0.16-0.18 s after its first
        sound, median, against 0.14 s, errors and swaps unchanged), then held out (noise
        16-47, talkers 16-31): false tracks 61 -> 0 in 160 s, median / p90 error 8.74 /
        12.63 -> 8.68 / 12.62 degrees, 6 swaps either way, confirmation 0.14 -> 0.21 s
        (median). The circle, square and UMA-16 are not such arrays (their blocks are
        unchanged); office-ula32's 8-mic lines are, with the same rows as before
    activity : ``"auto"`` (``"both"`` when the WebRTC VAD is installed and takes the
        rate, else ``"energy"``), ``"webrtc"``, ``"energy"``, ``"both"`` or ``"none"``
    activity_threshold : blocks below it are not localised
    gate, meas_sd, accel_sd, birth_hits, birth_window, hold : the tracker's
        (:class:`~arraykit.frontend.tracking.Tracker`). A track is confirmed after 2
        hits in 3 blocks: on the 16 six-microphone meetings a talker starting over
        another was confirmed 0.28 s after onset (median; 0.50 s at worst) against
        0.38 s (0.88 s) with 3 hits in 5, with no swap or false track either way; on the
        four-microphone array 0.40 s against 0.45 s, 2 swaps against 1, 2 false tracks
        against 3. `meas_sd` and `accel_sd` None: 6 degrees and 50 degrees/s^2 on arrays
        of more than four microphones, 8 and 60 on four or fewer (their directions are
        noisier). Six microphones, 6 and 50 against 4 and 60: on the same meetings a
        median / p90 azimuth error of 2.95 / 7.98 degrees against 2.80 / 8.58 (no swap,
        no false track either way). Four microphones, 8 and 60 against 6 and 50: 2.94 /
        8.92 against 2.88 / 9.27, no false track against 3, no swap either way (7 to 10
        degrees and 50 to 70 degrees/s^2 all gave no false track; p90 8.9 to 10.2, and
        a swap from 9 degrees on). These numbers were measured with ``motion="cv"``
    motion, still_sd, switch : the tracker's motion model. ``"imm"`` (default): a
        standing and a walking model mixed (:class:`~arraykit.frontend.tracking.Tracker`),
        the standing one a random walk of `still_sd` degrees per square-root second,
        switching with probability `switch` per block; ``"cv"``: constant velocity
        alone. Chosen on meetings 16-47 (switch 0.001 to 0.02 and still_sd 1 to 3 all
        gave a p90 of 6.4 to 7.8 degrees on either array, against 7.7 and 8.8 with
        ``"cv"``), then measured on the benchmark's 0-15: four microphones 1.7 / 5.9
        degrees median / p90 against 2.9 / 8.9, six 2.5 / 6.4 against 3.0 / 8.0, no
        swap either way, one false track on each array against none
    separation : ``"mvdr"``, ``"near"``, ``"lcmv"`` or ``"das"`` per track; None (the
        default): :func:`default_separation`, ``"near"`` on arrays whose aperture makes a
        talker half a metre away a near-field source at 4 kHz (from 14.6 cm: the
        office-ula32 eight-microphone sub-arrays, the UMA-16), ``"mvdr"`` on smaller ones
        (the six-microphone circle, the four-microphone ReSpeaker). ``"near"`` steers each
        track's MVDR toward a point at the range (0.25 to 1 m, or a plane wave) that best
        explains the bins it dominates instead of the plane wave of ``"mvdr"``, for talkers
        close to the array. Measured (README, "Near talkers"): office-ula32, eight
        microphones, SIR gain >= 10 dB for 11 of 19 loudspeakers against 8, median +11.8
        against +8.8 dB; 8 UMA-16 meetings at 48 kHz +12.97 against +12.61 dB, SI-SDR +0.3
        dB; six-microphone meetings median +11.46 against +11.03 dB (held out +11.64
        against +11.29), lowest track +7.80 against +8.09 (+7.56 against +6.80), for 10 %
        more CPU time; four-microphone meetings +10.55 against +10.42 but +10.39 against
        +10.50 held out, lowest track +2.86 against +3.85 and SI-SDR 0.1-0.2 dB lower
    separation_nulls : weight of the soft nulls toward the other tracks: each other
        track's ``a a^H`` times this fraction of the interference covariance's mean
        diagonal, added to it (:class:`~arraykit.frontend.separation.Separator`); 0 turns
        them off. None (default): :func:`default_nulls`, 0.1 on the arrays that take
        ``"near"`` (office-ula32 loudspeakers >= 10 dB 10 -> 12 of 19; UMA-16 meetings
        +12.97 -> +13.09 dB median), 0 on smaller ones (six-microphone meetings +11.03 ->
        +11.18 dB, for 5-6 % of the time per block where the real-time factor is at its
        0.03 target; README, "Near talkers")
    separation_memory : time constant of each track's interference covariance, s
    separation_max_freq : bins above it are delay-and-sum (no solve), Hz. 1500 cut the
        real-time factor by a quarter (0.052 -> 0.039 at 6 mics and 16 kHz, 0.109 ->
        0.084 at 16 mics and 48 kHz, measured in the README) and, before bins were
        paired, 0.36 dB of median SIR gain on the 16 six-microphone meetings (+11.24 ->
        +10.88 dB; four microphones +10.59 -> +10.20), but it halves the gain in the
        1.5-4 kHz band (+12.6 -> +6.8 dB; +9.8 -> +5.2), which the broadband SIR hides:
        not the default
    separation_group : adjacent bins that share one interference covariance and one
        factorisation (their steering vectors the right-hand sides of one solve), so that
        the solves and the covariance products per block are 1 / `separation_group` as
        many; the adaptive bins end at the last whole group below `separation_max_freq`.
        2 (the default) against 1: a real-time factor of 0.052 against 0.059 (6 mics,
        16 kHz) and 0.109 against 0.126 (16 mics, 48 kHz; per-block thread time,
        interleaved, see the README); on the 16 + 16 meetings the median SIR gain per track +11.24 -> +10.96
        dB (six microphones; lowest +8.54 -> +8.52) and +10.59 -> +10.45 dB (four; lowest
        +6.92 -> +6.80), in the 1.5-4 kHz band +11.69 -> +11.59 and +8.89 -> +8.58 dB,
        SI-SDR 1.69 -> 1.82 and 2.58 -> 2.65 dB, tracking unchanged (MVDR without the
        post-filter loses 0.09 dB: most of the loss is the post-filter's noise estimate,
        which reads the pair's covariance). 4: +10.55 and +10.11 dB, the four-microphone
        lowest +5.96, for 0.049 and 0.095. A point interferer's phase difference across the
        array turns by 0.05 rad from one bin to the next on the 93 mm six-microphone
        circle at 16 kHz with 512-sample frames, 0.15 rad on the 178 mm UMA-16 at 48 kHz
        with 1024 (twice that with the default 16 ms frames: 0.1 and 0.3 rad)
    postfilter : single-channel Wiener post-filter on each track's output (default on:
        on the 16 six-microphone meetings it raised the median SIR gain per track from
        +9.0 to +11.0 dB and the median SI-SDR from 1.6 to 1.7 dB)
    postfilter_leak, postfilter_leak_memory : the post-filter also counts `postfilter_leak`
        times the other tracks' output powers in the same bin, each smoothed over
        `postfilter_leak_memory` seconds, as interference (the leakage term of ManyEars /
        ODAS's post-filter; :class:`~arraykit.frontend.separation.Separator`); 0 turns it
        off. Chosen on the held-out meetings 16-47 (0.15 / 0.3 / 0.5 / 1 and 0.03 / 0.06 /
        0.12 s; 0.5 and 1 cost 0.1-0.5 dB of SI-SDR): six microphones, median SIR gain per
        track +11.29 -> +14.33 dB, 3 tracks of 64 under 10 dB instead of 19, SI-SDR 2.04 ->
        2.05 dB; four +10.50 -> +14.09 dB, SI-SDR 2.65 -> 2.77 dB, its lowest track (5 dB
        under the other talker) +3.85 -> +1.81 dB; office-ula32 12 -> 14 of 19 outputs
        >= 10 dB (README, "The post-filter's leakage term")
    zones : onset zones (:class:`~arraykit.frontend.localise.OnsetZones`): each block's
        single-source time-frequency zones (:func:`arraykit.doa.sparsity.zone_directions`)
        go into a histogram forgetting over `zone_memory` s; an atom of it
        (:func:`arraykit.doa.sparsity.histogram_atoms`) at least `zone_ratio` of the
        first, over at least `zone_min` zones, `zone_apart` degrees or more from the
        block's map peaks, where the map stands at least `zone_support` of its first
        peak's height above its median, is one more detection (not when it lies within
        `gate` of a confirmed track whose map peak also lies within `zone_apart` of that
        track: it would take the track's detection and leave the peak, often one between
        two talkers, to start a false track). None (default): on. Until this round only
        on arrays of four microphones or fewer, for their cost (below); with
        `zone_blend` and `zone_onset_support`, on the six-microphone circle (benchmark
        meetings 0-15 / held out 16-47): a talker starting over another confirmed later
        than 0.3 s in 1 of 16 / 2 of 32 onsets instead of 3 / 5 (median 0.18 s instead of
        0.24), median / p90 error 2.28 / 5.41 and 2.23 / 5.94 degrees instead of 2.30 /
        5.49 and 2.24 / 5.96, false tracks 0 and 3 either way, no swap, median / lowest
        SIR gain per track +14.58 / +10.46 and +14.49 / +9.15 dB instead of +14.21 / +9.60
        and +14.16 / +8.30, SI-SDR within 0.04 dB; 8 UMA-16 meetings at 48 kHz 1.47 / 5.46
        degrees and 0.17 s instead of 1.59 / 5.43 and 0.20, +16.64 dB instead of +16.21;
        office-ula32 and 60 s of fan noise unchanged; a real-time factor of 0.024 instead
        of 0.019 at six microphones and 16 kHz, 0.053 instead of 0.046 at sixteen and 48
        kHz (a quiet host; targets 0.03 and 0.1). Before that: on the 16 benchmark meetings (with ``motion="imm"``) a
        talker starting over another was confirmed 0.23 s after onset (median) instead
        of 0.40 s on the four-microphone array (issue target 0.3 s), with a median / p90
        error of 1.8 / 6.5 degrees instead of 1.7 / 5.9, no swap, two false tracks
        instead of one; on the six-microphone circle 0.21 s instead of 0.28 s (already
        within the target), 2.5 / 6.5 instead of 2.5 / 6.4 degrees, one false track
        either way. They cost about 0.6 ms of thread time per block (+19 % at six
        microphones), which is why the circle did without them. (With constant
        velocity, ``motion="cv"``, they raised the four-microphone p90 from 8.9 to 9.3
        degrees.) The numbers were chosen on four-microphone meetings 16-63
    zone_memory, zone_ratio, zone_min, zone_apart, zone_support : see `zones`
    zone_blend : with the zones, a map peak that lies between one of their atoms and
        another atom or a confirmed track (nearer each than they are to each other), this
        many degrees (20, the tracker's `gate`) or more from both, is dropped: one peak
        blending two talkers, as the four-microphone map gives while both speak (25-40
        degrees from each, talkers 60 degrees apart), and the atoms stand for them. None
        turns it off. Logged block by block on the benchmark's meetings 0-15 (four
        microphones): of the 6 onsets over another talker confirmed later than 0.3 s, two
        (0.59 and 0.45 s) had their new talker's atom the histogram's first, 26-38 degrees
        from such a peak, and left out by `zone_apart`; the blend instead started a track
        between the talkers or pulled the new talker's toward the other (both false tracks
        there were such blends). With `zone_onset_support` (below), chosen on those
        meetings (10, 12, 15, 18, 20, 22, 25 and 30 degrees: 1 late onset but a swap with
        10 and 12, 2 of 16 and no swap from 15 to 25, 4 with 30; false tracks 0-1): late
        onsets 6 -> 2 of 16, median / worst 0.23 / 0.59 -> 0.16 / 0.35 s, false tracks 2
        -> 1, no swap either way, median / p90 error 1.82 / 6.51 -> 1.74 / 6.54 degrees
        (20 alone: 4 of 16, 1 false); then checked once on meetings 16-47: 15 -> 4 of 32,
        0.26 / 0.74 -> 0.21 / 0.45 s, false tracks 2 -> 0, swaps 1 -> 0, 2.22 / 6.99 ->
        2.23 / 7.00 degrees. Median / lowest SIR gain per track (MVDR and post-filter)
        +14.2 / +10.2 -> +14.3 / +11.3 dB (held out +14.09 / +1.81 -> +14.12 / +10.21); in
        60 s of fan noise still no track
    zone_onset_support : with the zones, an atom `onset_apart` degrees or more from every
        confirmed track, in a block whose first map peak lies within `gate` of one, needs
        the map to stand this (0.4) instead of `zone_support` of its first peak's height
        there: a talker starting over an established one, whose share of the map is still
        rising (the new talker's atom stood 0.40-0.45 in the block before it was taken, in
        2 of the 6 late onsets of meetings 0-15). Chosen there with `zone_blend` (0.3:
        one more false track; 0.35 the same as 0.4; 0.45 and 0.5, i.e. off, one and two
        more late onsets); alone 4 of 16 late instead of 6, but a p90 error of 6.98
        degrees. `zone_onset_support=zone_support` turns it off
    """

    nfft: int | None = None
    block_hops: int | None = None
    freq_range: tuple[float, float] = (300.0, 3500.0)
    memory: float | None = None
    max_sources: int | None = None
    deflate_every: int = 1
    peak_ratio: float = 0.6
    onset_ratio: float = 0.5
    onset_apart: float = 40.0
    antipode: float = 30.0
    resolution: float = 2.0
    min_height: float = 0.15
    diffuse_floor: float = 0.18
    activity: ActivityKind = "auto"
    activity_threshold: float = 0.5
    gate: float = 20.0
    meas_sd: float | None = None
    accel_sd: float | None = None
    birth_hits: int = 2
    birth_window: int = 3
    hold: float = 3.0
    motion: MotionKind = "imm"
    still_sd: float = 2.0
    switch: float = 0.003
    separation: SeparationKind | None = None
    separation_memory: float = 1.0
    separation_max_freq: float = 8000.0
    separation_group: int = 2
    separation_nulls: float | None = None
    postfilter: bool = True
    postfilter_leak: float = 0.3
    postfilter_leak_memory: float = 0.06
    zones: bool | None = None
    zone_memory: float = 0.2
    zone_ratio: float = 0.15
    zone_min: float = 10.0
    zone_apart: float = 40.0
    zone_support: float = 0.5
    zone_onset_support: float = 0.4
    zone_blend: float | None = 20.0

    def __post_init__(self) -> None:
        """Validate every option once; store the checked numbers (``"0.12"`` as 0.12)."""
        set_ = object.__setattr__
        # the band itself here (the rate's bound when the Pipeline knows the rate)
        set_(self, "freq_range", v.band("freq_range", self.freq_range, math.inf))
        if self.nfft is not None:
            v.integer("nfft", self.nfft, 16)
            if self.nfft % 2:
                raise v.fail("nfft", self.nfft, "must be even (50 % overlap)")
        if self.block_hops is not None:
            v.integer("block_hops", self.block_hops, 1)
        positive = (
            "resolution",
            "gate",
            "hold",
            "zone_memory",
            "zone_apart",
            "still_sd",
            "onset_apart",
            "separation_memory",
            "separation_max_freq",
            "postfilter_leak_memory",
        )
        for name in positive:
            set_(self, name, v.positive(name, getattr(self, name)))
        for name in ("memory", "meas_sd", "accel_sd"):
            if getattr(self, name) is not None:
                set_(self, name, v.positive(name, getattr(self, name)))
        v.integer("separation_group", self.separation_group, 1)
        if self.separation_nulls is not None:
            set_(self, "separation_nulls", v.nonnegative("separation_nulls", self.separation_nulls))
        set_(self, "antipode", v.nonnegative("antipode", self.antipode))
        if self.max_sources is not None:
            v.integer("max_sources", self.max_sources, 1)
        v.integer("deflate_every", self.deflate_every, 1)
        v.integer("birth_hits", self.birth_hits, 1)
        v.integer("birth_window", self.birth_window, self.birth_hits)
        for name, low, high in (
            ("peak_ratio", "(0", "1]"),
            ("onset_ratio", "(0", "1]"),
            ("activity_threshold", "[0", "1]"),
            ("switch", "(0", "1)"),
            ("zone_ratio", "(0", "1]"),
        ):
            set_(self, name, v.fraction(name, getattr(self, name), low, high))
        # a height above the median of a map of mean GCC-PHAT (at most 1): -1 or NaN
        # was taken (noise's peaks counted, or none ever did) where nothing refused it
        set_(self, "min_height", v.fraction("min_height", self.min_height, "[0", "1)"))
        set_(self, "diffuse_floor", v.fraction("diffuse_floor", self.diffuse_floor, "[0", "1)"))
        set_(self, "zone_support", v.nonnegative("zone_support", self.zone_support))
        set_(self, "zone_min", v.nonnegative("zone_min", self.zone_min))
        set_(
            self, "zone_onset_support", v.nonnegative("zone_onset_support", self.zone_onset_support)
        )
        if self.zone_blend is not None:
            set_(self, "zone_blend", v.positive("zone_blend", self.zone_blend))
        set_(self, "postfilter_leak", v.nonnegative("postfilter_leak", self.postfilter_leak))
        v.choice("activity", self.activity, ACTIVITIES)
        v.choice("motion", self.motion, MOTIONS)
        if not isinstance(self.postfilter, bool | np.bool_):  # "no" or None read as on / off
            raise v.fail("postfilter", self.postfilter, "must be True or False")
        set_(self, "postfilter", bool(self.postfilter))
        if self.zones is not None and not isinstance(self.zones, bool):
            raise v.fail("zones", self.zones, "must be True, False or None (on)")
        if self.separation is not None:
            v.choice("separation", self.separation, SEPARATIONS)


def default_separation(geometry: ArrayGeometry) -> str:
    """``"near"`` when a talker half a metre away is inside the array's Fraunhofer distance
    at 4 kHz (:data:`NEAR_FIELD`: its wavefront's curvature shows over the aperture where
    speech still has energy), else ``"mvdr"``. The office-ula32 sub-arrays (21 cm: 1.0 m)
    and the UMA-16 (17.8 cm: 0.74 m) get ``"near"``; the six-microphone circle (9.3 cm:
    0.2 m) and the four-microphone ReSpeaker (6.4 cm: 0.1 m) the plane wave, which on their
    meetings cost nothing that ``"near"`` won back (README, "Near talkers")."""
    f, r = NEAR_FIELD
    return "near" if 2.0 * geometry.aperture**2 * f / SPEED_OF_SOUND >= r else "mvdr"


def default_nulls(geometry: ArrayGeometry) -> float:
    """The soft nulls' weight (``FrontendOptions.separation_nulls=None``): 0.1 where
    :func:`default_separation` takes ``"near"`` (apertures from 14.6 cm, whose real-time
    budget at 16 microphones has room: 0.064 of 0.1), 0 on smaller arrays, where they
    gained 0.1-0.2 dB of median for 5-6 % of a per-block time already near the six-
    microphone target (0.03)."""
    return 0.1 if default_separation(geometry) == "near" else 0.0


@dataclass(frozen=True)
class TrackReport:
    """A confirmed track in one block (directions in degrees, level in dBFS)."""

    id: int
    azimuth: float
    elevation: float
    activity: float
    level_db: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "azimuth": round(self.azimuth, 2),
            "elevation": round(self.elevation, 2),
            "activity": round(self.activity, 3),
            "level_db": round(self.level_db, 1) if math.isfinite(self.level_db) else None,
        }


@dataclass(frozen=True)
class BlockReport:
    """What one block produced.

    t : seconds of input consumed at the end of the block
    activity : the block's speech activity, 0..1
    tracks : the confirmed tracks after this block
    events : tracks born and ended, frames lost
    audio : ``{id: (start, samples)}``: each track's output samples from input sample
        `start` on (the samples this block completed)
    detections : the block's directions (and spatial map, in active blocks)
    weights : ``{id: (F, M)}`` each track's beamformer in this block (for evaluation:
        the same weights applied to each source's image give the output's parts)
    gains : ``{id: (F, T_b)}`` the post-filter's gain per bin and frame (empty without
        it): the output is ``gain * w^H x``
    ranges : ``{id: metres}`` with ``separation="near"``: the range each track's weights
        steered toward in this block (empty with a plane wave)
    """

    t: float
    activity: float
    tracks: list[TrackReport]
    events: list[Event]
    audio: dict[int, tuple[int, np.ndarray]] = field(repr=False)
    detections: Detections = field(repr=False)
    weights: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    gains: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    ranges: dict[int, float] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The JSON line: ``{"t", "activity", "tracks": [...], "events": [...]}``."""
        return {
            "t": round(self.t, 6),
            "activity": round(self.activity, 3),
            "tracks": [tr.as_dict() for tr in self.tracks],
            "events": [e.as_dict() for e in self.events],
        }


class Pipeline:
    """The front end on one array: feed :meth:`process` chunks ``(M, n)``, then :meth:`finish`.

    Attributes
    ----------
    latency : float
        Algorithmic latency of the track outputs, seconds.
    block_hops : int
        STFT hops per block (the option's, or the rate's default).
    compute_seconds : float
        Time spent in :meth:`process` and :meth:`finish` so far.
    """

    def __init__(
        self, geometry: ArrayGeometry, fs: float, options: FrontendOptions | None = None
    ) -> None:
        if not isinstance(geometry, ArrayGeometry):
            raise v.fail(
                "geometry", geometry, "must be an ArrayGeometry (see arraykit.load_geometry)"
            )
        self.geometry = geometry
        self.fs = v.positive("fs", fs)
        self.options = opts = options if options is not None else FrontendOptions()
        if not isinstance(opts, FrontendOptions):
            raise v.fail("options", options, "must be a FrontendOptions")
        _, top = v.band("freq_range", opts.freq_range, math.inf)
        if top > self.fs / 2:  # name the rate (a recording's), not an option the CLI has not got
            why = f"is too low for the band up to {top:g} Hz (freq_range)"
            raise v.fail("fs", fs, f"{why}: the front end needs fs >= {2 * top:g} Hz")
        M = geometry.n_mics
        # noisier directions: see FrontendOptions (nfft, max_sources, tracker)
        few = M <= FEW_MICS
        frame_s = FEW_MICS_FRAME if few else FRAME
        nfft = opts.nfft or int(2 ** math.floor(math.log2(frame_s * self.fs)))
        self.nfft, self.hop = nfft, nfft // 2
        check_frame_holds(geometry, self.fs, nfft, SPEED_OF_SOUND)
        self.block_hops = opts.block_hops or max(
            1, math.floor((LATENCY_BOUND * self.fs - (nfft - self.hop)) / self.hop + 1e-9)
        )
        self.block_n = self.block_hops * self.hop
        # a block, its pending input and the zeros finish() pads with: refused before use
        what = f"blocks of {self.block_n:.3g} samples x {M} microphones"
        size = 4 * 8.0 * M * self.block_n
        if opts.block_hops is None:  # the default block: the rate is what is off
            v.fits("fs", fs, size, what, "give a sampling rate in Hz")
        v.fits("block_hops", opts.block_hops, size, what, "use fewer hops")
        self.latency = (self.block_n + nfft - self.hop) / self.fs
        self.sts = StreamingSTFT(self.fs, geometry.n_mics, nfft=nfft)
        self.sts.push(np.zeros((geometry.n_mics, nfft - self.hop)))  # see StreamingISTFT
        band, _ = v.band_bins("freq_range", opts.freq_range, self.fs, nfft)
        self.band = band
        hop_s = self.hop / self.fs
        if opts.max_sources is not None:  # more directions than the array resolves: arbitrary
            most = f"{M - 1} (an array of {M} microphones resolves at most {M - 1} sources)"
            v.integer("max_sources", opts.max_sources, 1, M - 1, upper=most)
        memory = opts.memory or (FEW_MICS_MEMORY if few else MEMORY)
        if opts.memory is None and not 0 < math.exp(-hop_s / memory) < 1:
            # the default memory: the frames are what is off
            why = f"gives {hop_s:g} s hops, which the {memory:g} s memory cannot span"
            raise v.fail("nfft", self.nfft, f"{why}: give a shorter nfft (or memory=)")
        v.forgetting("memory", memory, hop_s)  # the localiser's covariance forgets with it
        for name in ("separation_memory", "zone_memory"):  # (1e300: nothing ever learnt)
            v.forgetting(name, getattr(opts, name), hop_s)
        self.localiser = Localiser(
            geometry,
            self.sts.freqs[band],
            hop_seconds=hop_s,
            memory=memory,
            max_sources=opts.max_sources or (1 if few else 2),
            # the default follows the microphones left when some are dead
            one_peak_live=FEW_MICS if opts.max_sources is None else 0,
            peak_ratio=opts.peak_ratio,
            onset_ratio=opts.onset_ratio,
            onset_apart=opts.onset_apart,
            antipode=opts.antipode,
            resolution=opts.resolution,
            min_height=opts.min_height,
            diffuse_floor=opts.diffuse_floor,
            deflate_every=opts.deflate_every,
            zones=True if opts.zones is None else opts.zones,
            zone_memory=opts.zone_memory,
            zone_ratio=opts.zone_ratio,
            zone_min=opts.zone_min,
            zone_apart=opts.zone_apart,
            zone_support=opts.zone_support,
            zone_rival=opts.gate,
            zone_onset_support=opts.zone_onset_support,
            zone_blend=opts.zone_blend,
        )
        kind = opts.activity
        if kind == "auto":
            try:
                import webrtcvad  # noqa: F401

                # a rate the VAD cannot hear (44.1 kHz) gets the energy detector alone
                kind = "both" if webrtc_rate(self.fs) is not None else "energy"
            except ImportError:  # pragma: no cover - depends on the install
                kind = "energy"
        self.activity_kind = kind
        self.activity = make_activity(kind, self.fs)
        self.tracker = Tracker(
            self.block_n / self.fs,
            gate=opts.gate,
            meas_sd=opts.meas_sd or (8.0 if few else 6.0),
            accel_sd=opts.accel_sd or (60.0 if few else 50.0),
            birth_hits=opts.birth_hits,
            birth_window=opts.birth_window,
            hold=opts.hold,
            motion=opts.motion,
            still_sd=opts.still_sd,
            switch=opts.switch,
        )
        self.separator = Separator(
            geometry,
            self.fs,
            nfft,
            method=opts.separation or default_separation(geometry),
            memory=opts.separation_memory,
            hop_seconds=hop_s,
            postfilter=opts.postfilter,
            max_freq=opts.separation_max_freq,
            group=opts.separation_group,
            nulls=default_nulls(geometry)
            if opts.separation_nulls is None
            else opts.separation_nulls,
            leak=opts.postfilter_leak,
            leak_memory=opts.postfilter_leak_memory,
        )
        self._pending = np.zeros((geometry.n_mics, 0))
        self._frame = 0
        self.samples_in = 0  # input samples processed into blocks (or still pending)
        self._consumed = 0
        self._events: list[Event] = []
        self._clip_seen = np.full(geometry.n_mics, -np.inf)  # when each channel last clipped
        self._clipping_said: tuple[tuple[int, ...], bool] = ((), True)
        self.compute_seconds = 0.0
        self._finished = False

    def process(self, chunk: npt.ArrayLike) -> list[BlockReport]:
        """Add input samples ``(M, n)``, floats at full scale 1 (integers are refused); return
        the reports of the blocks they completed."""
        t0 = time.perf_counter()
        if self._finished:
            raise v.fail("chunk", chunk, "the pipeline is finished (finish()): make a new one")
        kind = np.asarray(chunk).dtype
        if kind.kind in "iu":  # raw device or file samples: level_db is dBFS, outputs in [-1, 1]
            half = 2 ** (8 * kind.itemsize - 1)
            scale = f"x / {half}" if kind.kind == "i" else f"(x - {half}) / {half}"
            why = f"holds {kind} samples: give floats at full scale 1 ({scale})"
            raise v.fail("chunk", chunk, why)
        x = v.signals("chunk", chunk, self.geometry.n_mics)
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak > 2.0**60:  # the separator's float32 covariances square the samples
            why = "beyond 2**60, which the front end's float32 covariances cannot square"
            raise v.fail(
                "chunk",
                chunk,
                f"holds samples up to {peak:.3g}, {why}: give floats at full scale 1",
            )
        self.samples_in += x.shape[1]
        buf = np.concatenate([self._pending, x], axis=1)
        out = []
        n_blocks = buf.shape[1] // self.block_n
        for b in range(n_blocks):
            out.append(self._block(buf[:, b * self.block_n : (b + 1) * self.block_n]))
        self._pending = buf[:, n_blocks * self.block_n :]
        self.compute_seconds += time.perf_counter() - t0
        return out

    def lost(self, frames: int) -> list[BlockReport]:
        """The device lost `frames` frames: fill them with zeros (keeps the timing), report it."""
        return list(self.lost_blocks(frames))

    def lost_blocks(self, frames: int) -> Iterator[BlockReport]:
        """:meth:`lost`, its reports one at a time: the zeros are fed a block at a time, so
        that a long gap costs one block's memory (the reports are those of ``process`` on
        the same zeros). Checked, and the event added, when called."""
        frames = v.integer("frames", frames, 0)
        if self._finished:
            raise v.fail("frames", frames, "the pipeline is finished (finish()): make a new one")
        self._events.append(Event("frames_lost", self.samples_in / self.fs, frames=frames))
        return self._silence(frames)

    def _silence(self, frames: int) -> Iterator[BlockReport]:
        zeros = np.zeros((self.geometry.n_mics, min(frames, self.block_n)))
        for done in range(0, frames, self.block_n):
            yield from self.process(zeros[:, : min(self.block_n, frames - done)])

    def finish(self) -> list[BlockReport]:
        """Flush: process what is pending and the overlap still open (zeros after the end)."""
        if self._finished:
            return []
        n_total = self.samples_in
        tail = (-self._pending.shape[1]) % self.block_n + self.block_n * math.ceil(
            (self.nfft - self.hop) / self.block_n
        )
        reports = self.process(np.zeros((self.geometry.n_mics, tail)))
        self._finished = True
        self.samples_in = n_total
        clipped = []
        for r in reports:  # no output past the input's end
            audio = {
                k: (s, a[: max(0, n_total - s)]) for k, (s, a) in r.audio.items() if s < n_total
            }
            clipped.append(replace(r, audio=audio))
        return clipped

    def _clipping(self, x: np.ndarray, t: float) -> tuple[tuple[int, ...], bool]:
        """The channels clipped (:func:`arraykit.doa.statistics.clipped_channels`: flat tops
        at their peak) within the last :data:`CLIP_HOLD` seconds, and whether they are left
        out of the search and the beamformers: while at least
        :data:`~arraykit.doa.statistics.CLIP_KEEP` others remain (else only named, as
        ``doa`` names them)."""
        for m in clipped_channels(x):
            self._clip_seen[m] = t
        held = tuple(int(m) for m in np.flatnonzero(t - self._clip_seen <= CLIP_HOLD))
        return held, self.geometry.n_mics - len(held) >= CLIP_KEEP

    def _block(self, x: np.ndarray) -> BlockReport:
        opts = self.options
        act = float(self.activity(x))
        X = self.sts.push(x)  # (M, F, block_hops)
        frame0 = self._frame
        self._frame += X.shape[2]
        self._consumed += x.shape[1]
        t = self._consumed / self.fs
        known = [(tr.azimuth, tr.elevation) for tr in self.tracker.tracks if tr.confirmed]
        clipped, out = self._clipping(x, t)
        clipping = clipped if out else ()  # the channels left out
        det = self.localiser.update(
            X[:, self.band, :], act >= opts.activity_threshold, known, clipping
        )
        tracks, events = self.tracker.step(t, det.azimuth, det.elevation)
        events = self._events + events
        self._events = []
        if (clipped, out) != self._clipping_said:  # a channel started (or stopped) clipping
            self._clipping_said = (clipped, out)
            # too many clip to leave them out: still said (every channel of a hot input
            # clipped and the run said nothing)
            kept = True if clipped and not out else None
            events.append(Event("clipping", t, channels=clipped, kept=kept))
        dirs = {tr.id: (tr.azimuth, tr.elevation) for tr in tracks}
        before = self.separator.live
        outs = self.separator.process(X, frame0, dirs, clipping)
        if self.separator.live is not before:  # a microphone died (or came back)
            dead = tuple(int(m) for m in np.flatnonzero(~self.separator.live))
            events.append(Event("dead_channels", t, channels=dead))
        start = frame0 * self.hop - (self.nfft - self.hop)
        audio: dict[int, tuple[int, np.ndarray]] = {}
        level: dict[int, float] = {}
        for tid, y in outs.items():
            s, yy = (start, y) if start >= 0 else (0, y[-start:])
            audio[tid] = (s, yy)
            p = float(np.dot(y, y)) / y.size if y.size else 0.0
            level[tid] = 10 * math.log10(p) if p > 0 else -math.inf
        reports = [
            TrackReport(tr.id, tr.azimuth, tr.elevation, tr.activity, level.get(tr.id, -math.inf))
            for tr in tracks
        ]
        sep = self.separator
        return BlockReport(
            t,
            act,
            reports,
            events,
            audio,
            det,
            dict(sep.last_weights),
            dict(sep.last_gains),
            dict(sep.last_ranges),
        )
