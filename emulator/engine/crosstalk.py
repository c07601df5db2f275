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
    out, applied, reductions = [], [], []
    for own, (_, cleaned, reduction) in enumerate(_fit_pair(channels, rate, o)):
        out.append(cleaned if cleaned is not None else channels[own])
        applied.append(cleaned is not None)
        reductions.append(round(reduction, 1))
    channels_out = np.stack(out).astype(np.float32, copy=False)
    return Cancellation(channels_out, (applied[0], applied[1]), (reductions[0], reductions[1]))


def _fit_pair(channels: np.ndarray, rate: int, o: CrosstalkOptions) -> list[tuple]:
    """`_fit_leak` of each of two channels ((2, n) float32) from the other, on their frame levels."""
    levels = [frame_levels(channel, rate) for channel in channels]
    frames = min(len(level) for level in levels)
    return [
        _fit_leak(channels[own], channels[1 - own], levels[own][:frames], levels[1 - own][:frames], rate, o)
        for own in (0, 1)
    ]


def _fit_leak(
    own: np.ndarray, other: np.ndarray, own_db: np.ndarray, other_db: np.ndarray, rate: int, o: CrosstalkOptions
) -> tuple[np.ndarray | None, np.ndarray | None, float]:
    """The leak filter from `other` into `own` (lags -lead..+length samples), `own` less the
    leak it predicts, and the median reduction of the leak-only frames in dB; (None, None,
    reduction) where the cancellation does not explain the leak (module docstring)."""
    size = int(rate * FRAME_SECONDS)
    if not len(other_db):
        return None, None, 0.0
    difference = other_db - own_db
    leak_only = (difference > o.dominance_db) & (other_db > np.percentile(other_db, 10) + o.speech_db)
    if leak_only.any():
        # Frames where this channel's talker speaks too show less difference: of the dominant
        # frames, those near the largest difference (the leak alone) fit the filter.
        leak_only &= difference >= np.percentile(difference[leak_only], 95) - o.spread_db
    chosen = np.flatnonzero(leak_only)[: int(o.most_seconds / FRAME_SECONDS)]
    if len(chosen) * FRAME_SECONDS < o.least_seconds:
        return None, None, 0.0
    lead, length = int(o.lead * rate), int(o.length * rate)
    filter_ = _fit(own, other, chosen, size, lead, length)
    gain_db = 10.0 * np.log10(float(np.sum(filter_**2)) + 1e-20)
    if gain_db > o.most_gain_db:
        return None, None, 0.0
    cleaned = own - _apply(other, filter_, lead)
    before = own_db[chosen]
    after = frame_levels(cleaned, rate)[chosen]
    reduction = float(np.median(before - after))
    if reduction < o.least_reduction_db:
        return None, None, reduction
    return filter_, cleaned, reduction


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


class StreamingCanceller:
    """`cancel_crosstalk` for a stream: two channels arriving in chunks, cleaned as they come.

    The leak filters are fitted (as `cancel_crosstalk` fits them, with its checks) on the last
    `history` seconds: every `first_refit` seconds of audio until both channels have one (the
    leak goes through unchanged until a second of it has been heard alone), then every
    `refit` seconds. A filter reaches `lead` seconds (4 ms) into the other channel's
    future, so each `feed` returns the samples up to 4 ms before the end of what came in; the
    rest comes with the next chunk or `finish`. Sample positions never shift: the n-th sample
    out is the n-th sample in, cleaned. Not thread-safe (one stream feeds one canceller).
    Blocking (a refit over 60 s of stereo: about 0.1 s): call it off the event loop.

    rate: Hz of both channels.
    """

    def __init__(
        self,
        rate: int,
        options: CrosstalkOptions | None = None,
        refit: float = 5.0,
        first_refit: float = 0.5,
        history: float = 60.0,
    ):
        self.options = options or CrosstalkOptions()
        self.rate = rate
        self._lead = int(self.options.lead * rate)
        self._width = self._lead + int(self.options.length * rate) + 1
        self._refit = int(refit * rate)
        self._first_refit = int(first_refit * rate)
        self._history = int(history * rate)
        self._raw = np.zeros((2, 0), dtype=np.float32)  # samples from _base on
        self._base = 0  # stream position of _raw's first sample
        self._emitted = 0  # stream position of the next sample out
        self._fitted_at = 0  # stream position of the last refit
        self._filters: list[np.ndarray | None] = [None, None]
        self._cleaned_from: list[int | None] = [None, None]  # stream position of the first cleaned sample

    @property
    def applied(self) -> tuple[bool, bool]:
        """Per channel, whether a leak filter is in use now."""
        return (self._filters[0] is not None, self._filters[1] is not None)

    def cleaned_since(self, channel: int) -> float | None:
        """Seconds from the stream's start from which `channel` goes out cleaned (None: not yet).
        What went out before carries the leak as it came in."""
        position = self._cleaned_from[channel]
        return None if position is None else position / self.rate

    def feed(self, chunk: np.ndarray) -> np.ndarray:
        """chunk: (2, n) float32. Returns (2, m) float32: the cleaned samples that can be
        computed now (m is n give or take the 4 ms held back)."""
        self._raw = np.concatenate([self._raw, np.asarray(chunk, dtype=np.float32).reshape(2, -1)], axis=1)
        end = self._base + self._raw.shape[1]
        if end - self._fitted_at >= (self._refit if all(self.applied) else self._first_refit):
            self._fit()
            self._fitted_at = end
        return self._emit(end - self._lead)

    def finish(self) -> np.ndarray:
        """The samples still held back (the last 4 ms), cleaned with no future beyond the end."""
        return self._emit(self._base + self._raw.shape[1])

    def _fit(self) -> None:
        for own, (filter_, _, _) in enumerate(_fit_pair(self._raw[:, -self._history :], self.rate, self.options)):
            if filter_ is not None:  # a failed refit (a stretch of silence) keeps the filter in use
                self._filters[own] = filter_
                if self._cleaned_from[own] is None:
                    self._cleaned_from[own] = self._emitted

    def _emit(self, stop: int) -> np.ndarray:
        start = self._emitted
        if stop <= start:
            return np.zeros((2, 0), dtype=np.float32)
        out = self._raw[:, start - self._base : stop - self._base].copy()
        for own, filter_ in enumerate(self._filters):
            if filter_ is not None:
                out[own] -= self._predicted(1 - own, filter_, start, stop)
        self._emitted = stop
        # Keep the history the fit reads, and the other channel's past the filter reaches.
        keep_from = min(self._emitted - self._width, self._base + self._raw.shape[1] - self._history)
        if keep_from > self._base:
            self._raw = self._raw[:, keep_from - self._base :]
            self._base = keep_from
        return out

    def _predicted(self, other: int, filter_: np.ndarray, start: int, stop: int) -> np.ndarray:
        """The leak from channel `other` at stream positions start..stop-1 (`_apply`, on the
        kept samples; zeros before the stream's start and after what has come in)."""
        first = start - (self._width - 1) + self._lead
        last = stop + self._lead
        x = np.zeros(last - first, dtype=np.float32)
        lo, hi = max(first, self._base), min(last, self._base + self._raw.shape[1])
        if hi > lo:
            x[lo - first : hi - first] = self._raw[other, lo - self._base : hi - self._base]
        return np.convolve(x, filter_.astype(np.float32), mode="valid")
