"""AudioEvent payload decoding (emulator.engine.stream_audio): PCM at any rate and layout, and
FLAC / Ogg Opus arriving in arbitrary pieces, all to 16 kHz float32 per channel."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from emulator.engine.stream_audio import AudioDecodeError, audio_decoder

TONE = (0.5 * np.sin(2 * np.pi * 440 * np.arange(16000 * 2) / 16000)).astype(np.float32)  # 2 s


def _feed_all(decoder, data: bytes, piece: int) -> np.ndarray:
    parts = [decoder.feed(data[i : i + piece]) for i in range(0, len(data), piece)] + [decoder.flush()]
    return np.concatenate(parts, axis=1)


def test_pcm_8k_stereo_in_odd_pieces_becomes_two_16k_channels():
    left, right = TONE[::2], -TONE[::2]
    data = (np.stack([left, right], 1) * 32767).astype("<i2").tobytes()
    out = _feed_all(audio_decoder("pcm", 8000, channels=2), data, 1001)
    assert out.shape[0] == 2 and abs(out.shape[1] - 32000) <= 64
    assert np.corrcoef(out[0], -out[1])[0, 1] > 0.99


def test_pcm_16k_mono_is_passed_through():
    data = (TONE * 32767).astype("<i2").tobytes()
    out = _feed_all(audio_decoder("pcm", 16000), data, 3200)
    assert out.shape == (1, 32000) and np.allclose(out[0], TONE, atol=1e-3)


def _encode(container_format: str, codec: str, rate: int) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray((TONE * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 16000
        for resampled in av.AudioResampler(format="s16", layout="mono", rate=rate).resample(frame):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def test_flac_and_ogg_opus_decode_as_they_grow():
    for encoding, container_format, codec, rate in (("flac", "flac", "flac", 16000), ("ogg-opus", "ogg", "libopus", 48000)):
        out = _feed_all(audio_decoder(encoding, rate), _encode(container_format, codec, rate), 777)
        assert out.shape[0] == 1 and abs(out.shape[1] - 32000) < 1600, (encoding, out.shape)


def test_pcm_declared_as_flac_or_ogg_opus_is_refused_on_its_first_bytes():
    pcm = (TONE * 32767).astype("<i2").tobytes()
    for encoding in ("flac", "ogg-opus"):
        decoder = audio_decoder(encoding, 16000)
        assert decoder.feed(pcm[:2]).shape == (1, 0)  # too short to tell yet
        with pytest.raises(AudioDecodeError, match="does not begin like"):
            decoder.feed(pcm[2:3200])
        decoder.close()


def test_a_stream_shorter_than_a_container_signature_is_refused_at_its_end():
    decoder = audio_decoder("ogg-opus", 48000)
    decoder.feed(b"Og")
    with pytest.raises(AudioDecodeError):
        decoder.flush()
