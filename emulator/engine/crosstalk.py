"""Crosstalk cancellation for two microphones in one room: each channel less the other talker's
voice that reached it.

Knows nothing of AWS. Under channel identification each channel is recognised on its own, and
Whisper transcribes the other talker's voice leaking into a channel 10 to 20 dB down as well as
the channel's own (bench/batch.py --accuracy, the stereo mixes of bench/meetings.py); where both
talk at once, the leak also turns the channel's own words into others ("young child drop" for
"drop"). The leak is the other channel through the room: a short linear filter. Where the other
channel is clearly louder, this channel holds (nearly) only that leak, so a least-squares FIR
filter from the other channel to this one, fitted on those frames (the Wiener-Hopf equations,
Toeplitz-solved: the autocorrelation method), predicts the leak everywhere; the channel less
the prediction keeps its own talker, including where both talk at once.

The cancellation is used only where it explains the leak: at least `least_seconds` of frames
where the other channel dominates, the fitted leak at least `most_gain_db` below the other
channel (identical channels, dual mono, have no dominant frames and are left alone), and the
median frame of those frames at least `least_reduction_db` quieter afterwards. A room whose
reverberation outlasts the filter (`length`) leaves a residue; the words recognised from it
are dropped afterwards (emulator.service.segmentation.drop_crosstalk).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_SECONDS = 0.02  # frames over which the channels' levels are compared


@dataclass(frozen=True)
class CrosstalkOptions:
    """Settings of `cancel_crosstalk`; the defaults are the ones bench/batch.py --accuracy reports."""

    # The filter spans lags -lead..+length seconds: the leak reaches a microphone after the
    # other talker's own (1 m of path: 3 ms), with the room's reverberation behind it. Longer
    # filters overfit the few seconds of leak-only frames (0.1 s: one channel of the `_room`
    # stereo mixes lost its fit; 0.05 s cancels their 0.3 s reverberant leak by 8 to 12 dB).
    lead: float = 0.004
    length: float = 0.05
    dominance_db: float = 6.0  # a frame is the other talker's alone when the other channel is this much louder
    spread_db: float = 3.0  # ... and within this much of the 95th percentile of those frames' differences
    speech_db: float = 10.0  # ... and at least this much above the other channel's quietest tenth (not silence)
    least_seconds: float = 1.0  # seconds of such frames needed to fit the filter
    most_seconds: float = 120.0  # the fit uses at most this many seconds of such frames (the first ones)
    most_gain_db: float = -3.0  # a leak this loud or louder is no leak: the channels carry the same sound
    least_reduction_db: float = 6.0  # the median leak-only frame must get this much quieter


@dataclass(frozen=True)
class Cancellation:
    """The result of `cancel_crosstalk`. channels: (2, n) float32, each row its channel less the
    predicted leak where `applied`, else unchanged; applied: per channel, whether its leak was
    cancelled; reduction_db: per channel, how much quieter the median leak-only frame became
    (0.0 where nothing was fitted)."""

    channels: np.ndarray
    applied: tuple[bool, bool]
    reduction_db: tuple[float, float]


def frame_levels(samples: np.ndarray, rate: int) -> np.ndarray:
    """dB (power) of consecutive `FRAME_SECONDS` frames of samples (float32 mono); a last
    partial frame is left out."""
    size = int(rate * FRAME_SECONDS)
    count = len(samples) // size
    frames = samples[: count * size].reshape(count, size)
    return 10.0 * np.log10(np.mean(np.square(frames), axis=1, dtype=np.float64) + 1e-12)


def cancel_crosstalk(channels: np.ndarray, rate: int, options: CrosstalkOptions | None = None) -> Cancellation:
    """channels: (2, n) float32 at `rate` Hz (a channel-identification job's two channels).
    Returns each channel less the other talker's voice leaked into it, where the leak is
    explained by a linear filter (module docstring). Other channel counts than 2: unchanged,
    nothing applied. Raises nothing for silent or constant channels (nothing applied). Pure;
    blocking (0.4 s for 269 s of stereo; peak memory about 4 float32 copies of a channel): run
    it off the event loop."""
    o = options or CrosstalkOptions()
    if channels.ndim != 2 or channels.shape[0] != 2:
        count = channels.shape[0] if channels.ndim == 2 else 1
        return Cancellation(channels, (False,) * count, (0.0,) * count)
    levels = [frame_levels(channel, rate) for channel in channels]
    frames = min(len(level) for level in levels)
    out, applied, reductions = [], [], []
    for own in (0, 1):
        cleaned, reduction = _cancel_one(
            channels[own], channels[1 - own], levels[own][:frames], levels[1 - own][:frames], rate, o
        )
        out.append(cleaned if cleaned is not None else channels[own])
        applied.append(cleaned is not None)
        reductions.append(round(reduction, 1))
    channels_out = np.stack(out).astype(np.float32, copy=False)
    return Cancellation(channels_out, (applied[0], applied[1]), (reductions[0], reductions[1]))


def _cancel_one(
    own: np.ndarray, other: np.ndarray, own_db: np.ndarray, other_db: np.ndarray, rate: int, o: CrosstalkOptions
) -> tuple[np.ndarray | None, float]:
    """`own` less its predicted leak from `other`, and the median reduction of the leak-only
    frames in dB; (None, reduction) where the cancellation does not explain the leak."""
    size = int(rate * FRAME_SECONDS)
    if not len(other_db):
        return None, 0.0
    difference = other_db - own_db
    leak_only = (difference > o.dominance_db) & (other_db > np.percentile(other_db, 10) + o.speech_db)
    if leak_only.any():
        # Frames where this channel's talker speaks too show less difference: of the dominant
        # frames, those near the largest difference (the leak alone) fit the filter.
        leak_only &= difference >= np.percentile(difference[leak_only], 95) - o.spread_db
    chosen = np.flatnonzero(leak_only)[: int(o.most_seconds / FRAME_SECONDS)]
    if len(chosen) * FRAME_SECONDS < o.least_seconds:
        return None, 0.0
    lead, length = int(o.lead * rate), int(o.length * rate)
    filter_ = _fit(own, other, chosen, size, lead, length)
    gain_db = 10.0 * np.log10(float(np.sum(filter_**2)) + 1e-20)
    if gain_db > o.most_gain_db:
        return None, 0.0
    predicted = _apply(other, filter_, lead)
    cleaned = own - predicted
    before = own_db[chosen]
    after = frame_levels(cleaned, rate)[chosen]
    reduction = float(np.median(before - after))
    if reduction < o.least_reduction_db:
        return None, reduction
    return cleaned, reduction


def _fit(own: np.ndarray, other: np.ndarray, frames: np.ndarray, size: int, lead: int, length: int) -> np.ndarray:
    """Least-squares FIR filter h (lead + length + 1 coefficients, h[j] for lag j - lead) with
    own[t] ~ sum_j h[j] other[t - (j - lead)] over the chosen frames: the Wiener-Hopf equations
    with the autocorrelation of `other` and its cross-correlation with `own`, both over the
    chosen frames only (each joined run of frames, so no correlation spans a gap)."""
    from scipy.linalg import solve_toeplitz
    from scipy.signal import correlate

    width = lead + length + 1
    auto = np.zeros(width)
    cross = np.zeros(width)
    runs = np.split(frames, np.flatnonzero(np.diff(frames) != 1) + 1)
    for run in runs:
        lo, hi = int(run[0]) * size, (int(run[-1]) + 1) * size
        x = other[lo:hi].astype(np.float64)
        y = own[lo:hi].astype(np.float64)
        if len(x) <= width:
            continue
        full = correlate(x, x, mode="full", method="fft")  # lag k at index len - 1 + k
        centre = len(x) - 1
        auto += full[centre : centre + width]
        both = correlate(y, x, mode="full", method="fft")  # sum_t y[t + k] x[t]
        cross += both[centre - lead : centre + length + 1]
    if auto[0] <= 0.0:
        return np.zeros(width)
    auto[0] *= 1.0 + 1e-3  # a little diagonal loading: noise-free stretches make it singular
    return solve_toeplitz(auto, cross)


def _apply(other: np.ndarray, filter_: np.ndarray, lead: int) -> np.ndarray:
    """sum_j filter_[j] other[t - (j - lead)] for every t of `other` (float32, as `other`:
    an hour of audio is 230 MB a channel)."""
    from scipy.signal import oaconvolve

    full = oaconvolve(other.astype(np.float32, copy=False), filter_.astype(np.float32))
    return full[lead : lead + len(other)]
