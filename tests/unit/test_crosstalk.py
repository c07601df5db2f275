"""Crosstalk cancellation (emulator.engine.crosstalk, issue 15): two talkers of ../shared/audio
in one room (bench/meetings.py stereo mixes), and channels that carry no leak."""

from __future__ import annotations

import numpy as np
import pytest

from bench.meetings import stereo_mixes
from emulator.engine.crosstalk import (
    CrosstalkOptions,
    ResidueSuppressor,
    StreamingCanceller,
    cancel_crosstalk,
    frame_levels,
)

RATE = 16000


def _leak_left_db(mix, cleaned: np.ndarray, channel: int) -> float:
    """dB by which the channel got quieter where only the other talker speaks (the median of
    those 20 ms frames): how much of his leaked voice the cancellation removed, negated."""
    own, other = frame_levels(mix.solo[channel], RATE), frame_levels(mix.solo[1 - channel], RATE)
    leak_only = (own < -50) & (other > -40)
    assert leak_only.sum() > 50  # a second of such frames at least
    change = frame_levels(cleaned[channel], RATE) - frame_levels(mix.samples[channel], RATE)
    return float(np.median(change[leak_only]))


@pytest.mark.parametrize("room", [False, True], ids=["scaled copy", "reverberant room"])
def test_the_other_talkers_voice_is_cancelled_and_the_own_kept(room):
    mix = next(m for m in stereo_mixes(room=room) if m.id.startswith("stereo1"))

    result = cancel_crosstalk(mix.samples, RATE)

    assert result.applied == (True, True)
    assert result.channels.shape == mix.samples.shape and result.channels.dtype == np.float32
    for channel in (0, 1):
        # A scaled copy is cancelled to the noise (over 20 dB); a 0.3 s reverberant tail,
        # longer than the filter, by 10 to 12 dB with the filter alone, 15 to 20 dB with the
        # residue suppressed.
        assert _leak_left_db(mix, result.channels, channel) < (-20.0 if not room else -14.0)
        # The own talker is not cancelled with it: where he speaks, the level is unchanged.
        own = frame_levels(mix.solo[channel], RATE) > -45
        change = frame_levels(result.channels[channel], RATE)[own] - frame_levels(mix.samples[channel], RATE)[own]
        assert np.median(change) > -1.0


def test_the_residue_suppressor_takes_down_what_the_filter_leaves_of_a_room():
    mix = next(m for m in stereo_mixes(room=True) if m.id.startswith("stereo1"))

    filtered = cancel_crosstalk(mix.samples, RATE, CrosstalkOptions(residue_over=0.0)).channels
    suppressed = cancel_crosstalk(mix.samples, RATE).channels

    for channel in (0, 1):
        left_by_filter = _leak_left_db(mix, filtered, channel)
        assert _leak_left_db(mix, suppressed, channel) < left_by_filter - 4.0  # measured: 5 and 8 dB


def test_an_uncalibrated_residue_suppressor_returns_its_input_exactly():
    samples = stereo_mixes()[0].samples
    suppressor = ResidueSuppressor(RATE)

    pieces = [suppressor.feed(samples[0, i : i + 1000], samples[1, i : i + 1000]) for i in range(0, 50000, 1000)]
    out = np.concatenate([*pieces, suppressor.finish()])

    assert np.array_equal(out, samples[0, :50000])


def test_identical_channels_are_left_alone():
    mix = stereo_mixes()[0]
    dual = np.stack([mix.samples[0], mix.samples[0]])

    result = cancel_crosstalk(dual, RATE)

    assert result.applied == (False, False)
    assert np.array_equal(result.channels, dual)


def test_channels_without_leak_are_left_alone():
    mix = stereo_mixes()[0]  # each talker's own track: nothing of the other reaches it

    result = cancel_crosstalk(mix.solo, RATE)

    assert result.applied == (False, False)
    assert np.array_equal(result.channels, mix.solo)


def test_one_channel_is_returned_as_it_is():
    samples = stereo_mixes()[0].samples[:1]

    result = cancel_crosstalk(samples, RATE)

    assert result.applied == (False,) and result.channels is samples


@pytest.mark.parametrize("samples", [0, 10, 16000], ids=["empty", "10 samples", "1 s"])
def test_silent_channels_are_left_alone(samples):
    silence = np.zeros((2, samples), dtype=np.float32)

    result = cancel_crosstalk(silence, RATE)

    assert result.applied == (False, False)
    assert np.array_equal(result.channels, silence)


def _stream(canceller: StreamingCanceller, samples: np.ndarray, chunk_seconds: float) -> np.ndarray:
    size = int(chunk_seconds * RATE)
    pieces = [canceller.feed(samples[:, i : i + size]) for i in range(0, samples.shape[1], size)]
    return np.concatenate([*pieces, canceller.finish()], axis=1)


def test_one_chunk_of_a_whole_recording_is_cleaned_as_the_batch_cleans_it():
    mix = next(m for m in stereo_mixes(room=True) if m.id.startswith("stereo1"))

    streamed = _stream(StreamingCanceller(RATE, history=1e6), mix.samples, 1e6)

    assert np.allclose(streamed, cancel_crosstalk(mix.samples, RATE).channels, atol=1e-5)


def test_chunks_give_the_samples_one_chunk_gives():
    # The same fit (one, at 10 s) and chunks of 0.1 s or one of the rest: no sample moves or
    # changes at the chunk boundaries (the filter reads 4 ms ahead and 50 ms back).
    mix = next(m for m in stereo_mixes() if m.id.startswith("stereo1"))
    samples = mix.samples[:, : 16 * RATE]
    first, rest = samples[:, : 10 * RATE], samples[:, 10 * RATE :]

    whole = StreamingCanceller(RATE, refit=10.0, first_refit=10.0)
    expected = np.concatenate([whole.feed(first), whole.feed(rest), whole.finish()], axis=1)
    chunked = StreamingCanceller(RATE, refit=10.0, first_refit=10.0)
    got = np.concatenate([chunked.feed(first), _stream(chunked, rest, 0.1)], axis=1)

    assert whole.applied == chunked.applied == (True, True)
    assert got.shape == samples.shape
    assert np.allclose(got, expected, atol=1e-6)


def test_a_stream_is_cleaned_once_it_has_heard_the_leak():
    mix = next(m for m in stereo_mixes() if m.id.startswith("stereo1"))
    canceller = StreamingCanceller(RATE)

    streamed = _stream(canceller, mix.samples, 0.1)

    assert streamed.shape == mix.samples.shape
    assert canceller.applied == (True, True)
    for channel in (0, 1):
        # Batch: over 20 dB. A stream's first seconds go out unchanged until a second of the
        # leak alone has come in.
        assert _leak_left_db(mix, streamed, channel) < -15.0


def test_a_stream_without_the_residue_suppressor_holds_back_only_the_filters_lead():
    # The service's streams (service/streaming.py STREAM_CROSSTALK): 4 ms, as before the suppressor.
    mix = next(m for m in stereo_mixes(room=True) if m.id.startswith("stereo1"))
    options = CrosstalkOptions(residue_over=0.0)
    canceller = StreamingCanceller(RATE, options, history=1e6)

    first = canceller.feed(mix.samples)
    streamed = np.concatenate([first, canceller.finish()], axis=1)

    assert first.shape[1] == mix.samples.shape[1] - int(options.lead * RATE)
    assert np.allclose(streamed, cancel_crosstalk(mix.samples, RATE, options).channels, atol=1e-5)


def test_a_stream_of_identical_channels_is_left_alone():
    mix = stereo_mixes()[0]
    dual = np.stack([mix.samples[0], mix.samples[0]])
    canceller = StreamingCanceller(RATE)

    assert np.array_equal(_stream(canceller, dual, 0.1), dual)
    assert canceller.applied == (False, False)
