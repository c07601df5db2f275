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
reverberation outlasts the filter (`length`) leaves a residue, 8 to 12 dB under the leak:
Whisper still hears words in it, and times them over the own talker's nearby words. A
spectral suppressor (`ResidueSuppressor`: short-time spectra, the residue's level per
frequency measured on the leak-only frames, following the predicted leak with a reverberant
decay) takes it down where it outweighs the channel's own sound. Words still recognised from
the residue are dropped afterwards (emulator.service.segmentation.drop_crosstalk).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_SECONDS = 0.02  # frames over which the channels' levels are compared
STFT_SIZE = 512  # samples per short-time spectrum of the residue suppressor (32 ms at 16 kHz)
STFT_HOP = STFT_SIZE // 4  # samples between spectra
# The square root of a periodic Hann window, for analysis and synthesis: at a quarter-size
# hop the squared windows of the overlapping frames sum to 2 everywhere.
_WINDOW = np.sqrt(np.hanning(STFT_SIZE + 1)[:-1]).astype(np.float32)
_GROUP = 2048  # spectra computed at once (16 s at 16 kHz; memory, not speed)


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
    # What the filter leaves of the leak (the reverberation it does not reach) is suppressed
    # per frequency where it outweighs the channel (`ResidueSuppressor`): the residue is
    # `residue_over` times its level measured on the leak-only frames, following the leak's
    # level and falling after it by 60 dB in `residue_decay` seconds; no gain under
    # `residue_floor_db`. Measured (bench/batch.py --accuracy, the 12 channels of the stereo
    # mixes): without it the worst channel was 4.5 points over its talker's own track (words
    # of the leak timed over the own talker's first words, dropped with them); with it 0.0.
    # On 24 channels of mixes with other seeds (meetings.stereo_mixes(16), (17)): worst +11.4
    # points and 4 channels over 3 without it, +6.8 and 1 channel with it (over 1.5, floor
    # -10 dB: +9.1, 2 channels).
    residue_over: float = 2.0
    residue_floor_db: float = -12.0
    residue_decay: float = 0.3


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
    explained by a linear filter, and the filter's residue suppressed (module docstring).
    Other channel counts than 2: unchanged, nothing applied. Raises nothing for silent or
    constant channels (nothing applied). Pure; blocking (269 s of stereo: 1.6 s, 0.7 s of it
    the residue suppressor; peak memory +189 MB, about 12 float32 copies of a channel, +132 MB
    without the suppressor): run it off the event loop."""
    o = options or CrosstalkOptions()
    if channels.ndim != 2 or channels.shape[0] != 2:
        count = channels.shape[0] if channels.ndim == 2 else 1
        return Cancellation(channels, (False,) * count, (0.0,) * count)
    out, applied, reductions = [], [], []
    for own, (_, cleaned, reduction, chosen) in enumerate(_fit_pair(channels, rate, o)):
        if cleaned is not None and o.residue_over > 0:
            suppressor = ResidueSuppressor(rate, o)
            leak = channels[own] - cleaned
            suppressor.calibrate(cleaned, leak, chosen, int(rate * FRAME_SECONDS))
            cleaned = np.concatenate([suppressor.feed(cleaned, leak), suppressor.finish()])
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
) -> tuple[np.ndarray | None, np.ndarray | None, float, np.ndarray]:
    """The leak filter from `other` into `own` (lags -lead..+length samples), `own` less the
    leak it predicts, the median reduction of the leak-only frames in dB, and those frames
    (indices of FRAME_SECONDS frames); (None, None, reduction, frames) where the cancellation
    does not explain the leak (module docstring)."""
    size = int(rate * FRAME_SECONDS)
    none = np.zeros(0, dtype=int)
    if not len(other_db):
        return None, None, 0.0, none
    difference = other_db - own_db
    leak_only = (difference > o.dominance_db) & (other_db > np.percentile(other_db, 10) + o.speech_db)
    if leak_only.any():
        # Frames where this channel's talker speaks too show less difference: of the dominant
        # frames, those near the largest difference (the leak alone) fit the filter.
        leak_only &= difference >= np.percentile(difference[leak_only], 95) - o.spread_db
    chosen = np.flatnonzero(leak_only)[: int(o.most_seconds / FRAME_SECONDS)]
    if len(chosen) * FRAME_SECONDS < o.least_seconds:
        return None, None, 0.0, chosen
    lead, length = int(o.lead * rate), int(o.length * rate)
    filter_ = _fit(own, other, chosen, size, lead, length)
    gain_db = 10.0 * np.log10(float(np.sum(filter_**2)) + 1e-20)
    if gain_db > o.most_gain_db:
        return None, None, 0.0, chosen
    cleaned = own - _apply(other, filter_, lead)
    before = own_db[chosen]
    after = frame_levels(cleaned, rate)[chosen]
    reduction = float(np.median(before - after))
    if reduction < o.least_reduction_db:
        return None, None, reduction, chosen
    return filter_, cleaned, reduction, chosen


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


class ResidueSuppressor:
    """Suppression of what the leak filter leaves of one channel's leak, as a stream.

    Short-time spectra (STFT_SIZE samples every STFT_HOP, square-root Hann windows) of the
    cleaned channel C and of the leak the filter predicted L: per frequency, the residue is
    `residue_over` x alpha x T, where alpha is the residue's share of the leak's power on the
    leak-only frames (`calibrate`) and T the leak's power held and decaying by 60 dB in
    `residue_decay` seconds (the room's tail, which the filter misses); the gain is
    sqrt(max(floor, 1 - residue / |C|^2)) (power spectral subtraction). Until `calibrate`
    is called the output is the input, exactly (only the spectra's changes are added to it).

    `feed` takes samples in order and returns the processed samples ready so far (up to
    STFT_SIZE - 1 samples are held back); `finish` returns the rest. Positions never shift:
    the n-th sample out is the n-th sample in, processed. Not thread-safe; blocking (about
    0.1 s per minute of a channel on 2 cores): off the event loop.
    """

    def __init__(self, rate: int, options: CrosstalkOptions | None = None):
        o = options or CrosstalkOptions()
        self._over = o.residue_over
        self._floor = 10.0 ** (o.residue_floor_db / 10.0)
        self._decay = -6.0 * np.log(10.0) * STFT_HOP / (rate * o.residue_decay)  # ln of the per-spectrum fall
        self._alpha: np.ndarray | None = None
        pad = STFT_SIZE - STFT_HOP  # the first frame starts this many samples before position 0
        self._input = np.zeros((2, pad), dtype=np.float32)  # (cleaned, leak) from position -pad
        self._input_base = -pad
        self._change = np.zeros(0, dtype=np.float32)  # overlap-added change, from position _change_base
        self._change_base = -pad
        self._pending = np.zeros(0, dtype=np.float32)  # cleaned input not yet emitted, from _emitted
        self._frame = 0  # the next spectrum: samples from frame * STFT_HOP - pad
        self._held = np.full(STFT_SIZE // 2 + 1, -np.inf)  # max of ln T_k - k * decay so far
        self._emitted = 0

    def calibrate(self, cleaned: np.ndarray, leak: np.ndarray, frames: np.ndarray, size: int) -> None:
        """alpha from the spectra centred on the leak-only frames (indices of `size`-sample
        frames into `cleaned` and `leak`, float32 (n,): a channel after the filter and the leak
        it predicted); a call again replaces it (a stream's refit). Fewer than 10 usable
        frames, or `residue_over` 0: unchanged (the output stays the input)."""
        if self._over <= 0.0:
            return
        centres = np.asarray(frames, dtype=int) * size + size // 2
        starts = centres - STFT_SIZE // 2
        starts = starts[(starts >= 0) & (starts + STFT_SIZE <= min(len(cleaned), len(leak)))]
        if len(starts) < 10:
            return
        index = starts[:, None] + np.arange(STFT_SIZE)
        residue = np.abs(np.fft.rfft(cleaned[index] * _WINDOW, axis=1)) ** 2
        predicted = np.abs(np.fft.rfft(leak[index] * _WINDOW, axis=1)) ** 2
        ratio = residue / np.maximum(predicted, 1e-20)
        self._alpha = np.median(np.where(predicted > 1e-20, ratio, 0.0), axis=0)

    def feed(self, cleaned: np.ndarray, leak: np.ndarray) -> np.ndarray:
        """cleaned, leak: float32 (n,) each, the next samples. Returns the processed samples
        now complete (float32)."""
        fresh = np.stack([np.asarray(cleaned, dtype=np.float32), np.asarray(leak, dtype=np.float32)])
        self._input = np.concatenate([self._input, fresh], axis=1)
        self._pending = np.concatenate([self._pending, fresh[0]])
        self._run()
        return self._emit(self._frame * STFT_HOP - (STFT_SIZE - STFT_HOP))

    def finish(self) -> np.ndarray:
        """The samples still held back, processed with silence after the end."""
        end = self._input_base + self._input.shape[1]
        self._input = np.concatenate([self._input, np.zeros((2, STFT_SIZE), dtype=np.float32)], axis=1)
        self._run()
        return self._emit(end)

    def _run(self) -> None:
        """Every spectrum the input now allows, overlap-added into the output."""
        pad = STFT_SIZE - STFT_HOP
        available = (self._input_base + self._input.shape[1] + pad - STFT_SIZE) // STFT_HOP + 1 - self._frame
        while available > 0:
            count = min(available, _GROUP)
            first = self._frame * STFT_HOP - pad - self._input_base
            index = first + np.arange(count)[:, None] * STFT_HOP + np.arange(STFT_SIZE)
            start = self._frame * STFT_HOP - pad - self._change_base
            need = start + (count + 3) * STFT_HOP
            if need > len(self._change):
                self._change = np.concatenate([self._change, np.zeros(need - len(self._change), np.float32)])
            if self._alpha is not None:
                spectra = np.fft.rfft(self._input[0][index] * _WINDOW, axis=1)
                leak = np.abs(np.fft.rfft(self._input[1][index] * _WINDOW, axis=1)) ** 2
                k = (self._frame + np.arange(count))[:, None] * self._decay
                held = np.maximum.accumulate(np.vstack([self._held, np.log(leak + 1e-30) - k]), axis=0)[1:]
                self._held = held[-1]
                residue = self._over * self._alpha * np.exp(held + k)
                power = np.abs(spectra) ** 2
                gain = np.sqrt(np.maximum(self._floor, 1.0 - residue / np.maximum(power, 1e-30)))
                # What the gain takes away, windowed for synthesis; overlap-added, each frame
                # spanning four hops (the windows' squares sum to 2).
                removed = np.fft.irfft(spectra * (gain - 1.0), n=STFT_SIZE, axis=1).astype(np.float32)
                quarters = (removed * _WINDOW / 2.0).reshape(count, 4, STFT_HOP)
                for j in range(4):
                    part = self._change[start + j * STFT_HOP : start + (j + count) * STFT_HOP]
                    part += quarters[:, j].reshape(-1)
            self._frame += count
            available -= count
        # Keep the input the next spectrum reads.
        keep = self._frame * STFT_HOP - pad - self._input_base
        if keep > 0:
            self._input = self._input[:, keep:]
            self._input_base += keep

    def _emit(self, stop: int) -> np.ndarray:
        """Output positions from the last emitted up to `stop` (complete ones only)."""
        count = stop - self._emitted
        if count <= 0:
            return np.zeros(0, dtype=np.float32)
        first = self._emitted - self._change_base
        out = self._pending[:count] + self._change[first : first + count]
        self._pending = self._pending[count:]
        self._emitted = stop
        self._change = self._change[stop - self._change_base :]
        self._change_base = stop
        return out


class StreamingCanceller:
    """`cancel_crosstalk` for a stream: two channels arriving in chunks, cleaned as they come.

    The leak filters are fitted (as `cancel_crosstalk` fits them, with its checks) on the last
    `history` seconds: every `first_refit` seconds of audio until both channels have one (the
    leak goes through unchanged until a second of it has been heard alone), then every
    `refit` seconds; each fit also calibrates that channel's `ResidueSuppressor` (unless
    `residue_over` is 0). A filter reaches `lead` seconds (4 ms) into the other channel's
    future and the suppressor's spectra span STFT_SIZE samples, so each `feed` returns the
    samples up to 4 ms (without the suppressor) or about 36 ms (with it, at 16 kHz) before
    the end of what came in; the rest comes with the next chunk or `finish`. Sample positions
    never shift: the n-th sample out is the n-th sample in, cleaned. Not thread-safe (one
    stream feeds one canceller). Blocking (a refit over 60 s of stereo: about 0.1 s): call it
    off the event loop.

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
        # The residue suppressors (none when options.residue_over is 0: nothing held back for them).
        suppress = self.options.residue_over > 0
        self._suppressors = [ResidueSuppressor(rate, self.options) for _ in range(2)] if suppress else []

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
        computed now (m is n give or take the 4 or 36 ms held back)."""
        self._raw = np.concatenate([self._raw, np.asarray(chunk, dtype=np.float32).reshape(2, -1)], axis=1)
        end = self._base + self._raw.shape[1]
        if end - self._fitted_at >= (self._refit if all(self.applied) else self._first_refit):
            self._fit()
            self._fitted_at = end
        return self._emit(end - self._lead)

    def finish(self) -> np.ndarray:
        """The samples still held back (the last 4 or 36 ms), cleaned with no future beyond the end."""
        last = self._emit(self._base + self._raw.shape[1])
        if not self._suppressors:
            return last
        return np.concatenate([last, np.stack([s.finish() for s in self._suppressors])], axis=1)

    def _fit(self) -> None:
        history = self._raw[:, -self._history :]
        for own, (filter_, cleaned, _, chosen) in enumerate(_fit_pair(history, self.rate, self.options)):
            if filter_ is not None:  # a failed refit (a stretch of silence) keeps the filter in use
                self._filters[own] = filter_
                if self._suppressors:
                    size = int(self.rate * FRAME_SECONDS)
                    self._suppressors[own].calibrate(cleaned, history[own] - cleaned, chosen, size)
                if self._cleaned_from[own] is None:
                    self._cleaned_from[own] = self._emitted

    def _emit(self, stop: int) -> np.ndarray:
        start = self._emitted
        if stop <= start:
            return np.zeros((2, 0), dtype=np.float32)
        out = self._raw[:, start - self._base : stop - self._base].copy()
        leaks = np.zeros_like(out)
        for own, filter_ in enumerate(self._filters):
            if filter_ is not None:
                leaks[own] = self._predicted(1 - own, filter_, start, stop)
                out[own] -= leaks[own]
        if self._suppressors:
            out = np.stack([s.feed(out[own], leaks[own]) for own, s in enumerate(self._suppressors)])
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
