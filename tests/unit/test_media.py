"""decode_channels: one row per channel, in the file's own channel order, on real shared audio."""

from __future__ import annotations

import numpy as np
import pytest

from emulator.engine.media import SAMPLE_RATE, MediaError, decode, decode_channels
from tests.support import audio_path, manifest


def test_stereo_keeps_each_talker_on_its_own_row():
    channels = decode_channels(audio_path("fw_stereo_diarization"))  # 16 kHz, one talker per channel

    assert channels.dtype == np.float32
    assert channels.shape == (2, int(manifest()["fw_stereo_diarization"]["duration"] * SAMPLE_RATE))
    # The manifest notes that the left channel is the LibriSpeech clip ls_61-70968-0000.
    left_source = decode(audio_path("ls_61-70968-0000"))
    n = len(left_source)
    assert np.corrcoef(channels[0, :n], left_source)[0, 1] > 0.999
    assert abs(np.corrcoef(channels[1, :n], left_source)[0, 1]) < 0.1


def test_stereo_resamples_and_matches_the_mono_decode():
    path = audio_path("jfk")  # 44.1 kHz dual-mono FLAC
    channels = decode_channels(path)
    mono = decode(path)

    assert channels.shape == (2, len(mono))
    assert np.corrcoef(channels[0], channels[1])[0, 1] > 0.99
    # decode() is the plain average of the channels, as its docstring says.
    np.testing.assert_allclose(channels.mean(axis=0), mono, atol=1e-6)


def test_mono_file_gives_one_row_equal_to_decode():
    path = audio_path("cards_005")  # 48 kHz Ogg
    channels = decode_channels(path)

    assert channels.shape[0] == 1
    np.testing.assert_array_equal(channels[0], decode(path))


def test_max_seconds_stops_early():
    channels = decode_channels(audio_path("sonnet_001"), max_seconds=5)  # a 53 s stereo mp3

    assert channels.shape[0] == 2
    assert 5 * SAMPLE_RATE < channels.shape[1] < 10 * SAMPLE_RATE


def test_not_media_raises_media_error(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("not audio at all")

    with pytest.raises(MediaError):
        decode_channels(path)
