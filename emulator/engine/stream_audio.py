"""AudioEvent payloads -> 16 kHz float32 samples, one row per channel, as they arrive.

Source: the `MediaEncoding` of StartStreamTranscription (digest §5.2): `pcm` is raw signed
16-bit little-endian at `MediaSampleRateHertz` (two channels interleaved with channel
identification; WAV headers are not allowed); `flac` and `ogg-opus` are a FLAC stream and an
Ogg Opus stream cut into arbitrary pieces.

Use: `decoder = audio_decoder("pcm", 8000, channels=1)`; `decoder.feed(payload)` returns the
samples it could decode so far, shape (channels, n), float32 at 16 kHz (n may be 0);
`decoder.flush()` returns the rest at end of stream; `decoder.close()` frees it. Blocking
(PyAV): call it from a worker thread. Malformed audio raises `AudioDecodeError`; so does a
FLAC or Ogg stream that does not begin with its container's signature (`fLaC`, or an ID3v2
tag, for FLAC; `OggS` for Ogg Opus), checked on the first bytes: FFmpeg would otherwise
skip such data looking for a frame and end with no audio and no error (PCM sent as `flac`
gave an empty transcript).

PCM is resampled with FFmpeg's resampler (PyAV), which keeps its state across pieces. FLAC and
Ogg Opus need a demuxer: FFmpeg reads them through a file-like object that blocks until the
next piece arrives, on a thread of its own, so a container is decoded as it grows.
"""

from __future__ import annotations

import io
import threading

import av
import numpy as np

from emulator.engine.media import SAMPLE_RATE

_LAYOUTS = {1: "mono", 2: "stereo"}
_FORMATS = {"flac": "flac", "ogg-opus": "ogg"}
# How each container begins (FLAC: RFC 9639 §6 "fLaC", which an ID3v2 tag may precede; Ogg:
# RFC 3533 §6 capture pattern "OggS").
_SIGNATURES = {"flac": (b"fLaC", b"ID3"), "ogg-opus": (b"OggS",)}
_SIGNATURE_BYTES = 4


class AudioDecodeError(Exception):
    """The audio could not be decoded as the declared MediaEncoding."""


def _empty(channels: int) -> np.ndarray:
    return np.zeros((channels, 0), dtype=np.float32)


def _fit_channels(samples: np.ndarray, channels: int) -> np.ndarray:
    """(c, n) -> (channels, n): average down to mono, or copy mono up."""
    if samples.shape[0] == channels:
        return samples
    mono = samples.mean(axis=0, dtype=np.float32, keepdims=True)
    return np.repeat(mono, channels, axis=0) if channels > 1 else mono


class _Resampler:
    """Any rate and layout -> float32 planar at 16 kHz, state kept across pieces."""

    def __init__(self, channels: int):
        self.channels = channels
        self._resampler: av.AudioResampler | None = None

    def resample(self, frame: av.AudioFrame | None) -> np.ndarray:
        if self._resampler is None:
            if frame is None:
                return _empty(self.channels)
            self._resampler = av.AudioResampler(format="fltp", layout=None, rate=SAMPLE_RATE)
        if frame is not None:
            frame.pts = None
        pieces = [out.to_ndarray() for out in self._resampler.resample(frame)]
        if not pieces:
            return _empty(self.channels)
        return _fit_channels(np.concatenate(pieces, axis=1).astype(np.float32, copy=False), self.channels)


class PcmDecoder:
    """Signed 16-bit little-endian PCM, `channels` interleaved, at `sample_rate` Hz."""

    def __init__(self, sample_rate: int, channels: int = 1):
        self.sample_rate = sample_rate
        self.channels = channels
        self._carry = b""
        self._resampler = _Resampler(channels)

    def feed(self, data: bytes) -> np.ndarray:
        data = self._carry + data
        frame_bytes = 2 * self.channels
        usable = len(data) - len(data) % frame_bytes
        self._carry = data[usable:]
        if not usable:
            return _empty(self.channels)
        pcm = np.frombuffer(data[:usable], dtype="<i2")
        if self.sample_rate == SAMPLE_RATE:
            return (pcm.reshape(-1, self.channels).T / 32768.0).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(
            pcm.astype(np.int16).reshape(1, -1), format="s16", layout=_LAYOUTS[self.channels]
        )
        frame.sample_rate = self.sample_rate
        return self._resampler.resample(frame)

    def flush(self) -> np.ndarray:
        if self.sample_rate == SAMPLE_RATE:
            return _empty(self.channels)
        return self._resampler.resample(None)

    def close(self) -> None:
        pass


class _GrowingPipe(io.RawIOBase):
    """A read-only file whose reads block until data is written or the writer closes."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._closed_for_writing = False
        self._abandoned = False
        self._cond = threading.Condition()

    def readable(self) -> bool:
        return True

    def write_piece(self, data: bytes) -> None:
        with self._cond:
            self._buffer += data
            self._cond.notify_all()

    def end(self) -> None:
        with self._cond:
            self._closed_for_writing = True
            self._cond.notify_all()

    def abandon(self) -> None:
        with self._cond:
            self._abandoned = True
            self._closed_for_writing = True
            self._cond.notify_all()

    def readinto(self, target) -> int:
        with self._cond:
            while not self._buffer and not self._closed_for_writing:
                self._cond.wait()
            if self._abandoned:
                return 0
            count = min(len(target), len(self._buffer))
            target[:count] = self._buffer[:count]
            del self._buffer[:count]
            return count


class ContainerDecoder:
    """FLAC or Ogg Opus arriving in pieces, demuxed and decoded on a thread of its own."""

    def __init__(self, media_encoding: str, channels: int = 1):
        self.channels = channels
        self._encoding = media_encoding
        self._format = _FORMATS[media_encoding]
        self._head = b""  # the first bytes, until the container signature is checked
        self._pipe = _GrowingPipe()
        self._decoded: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._error: Exception | None = None
        self._started = False
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"stream-decode-{self._format}")

    def _run(self) -> None:
        resampler = _Resampler(self.channels)
        try:
            # Small probe sizes: FFmpeg would otherwise wait for megabytes before the first frame.
            with av.open(
                self._pipe,
                mode="r",
                format=self._format,
                options={"probesize": "4096", "analyzeduration": "0"},
                buffer_size=4096,
            ) as container:
                if not container.streams.audio:
                    raise AudioDecodeError(f"no audio stream in the {self._format} data")
                for frame in container.decode(container.streams.audio[0]):
                    self._put(resampler.resample(frame))
            self._put(resampler.resample(None))
        except Exception as error:  # noqa: BLE001 - reported to the caller of feed()/flush()
            with self._lock:
                self._error = error

    def _put(self, samples: np.ndarray) -> None:
        if samples.shape[1]:
            with self._lock:
                self._decoded.append(samples)

    def _take(self) -> np.ndarray:
        with self._lock:
            if self._error is not None and not self._decoded:
                error, self._error = self._error, None
                raise AudioDecodeError(str(error) or type(error).__name__) from error
            pieces, self._decoded = self._decoded, []
        return np.concatenate(pieces, axis=1) if pieces else _empty(self.channels)

    def feed(self, data: bytes) -> np.ndarray:
        if not self._started:
            self._head += data
            if len(self._head) < _SIGNATURE_BYTES:
                return _empty(self.channels)
            self._check_signature()
            data, self._head = self._head, b""
            self._started = True
            self._thread.start()
        self._pipe.write_piece(data)
        return self._take()

    def _check_signature(self) -> None:
        if not self._head.startswith(_SIGNATURES[self._encoding]):
            raise AudioDecodeError(
                f"the audio does not begin like a {self._format} stream (first bytes {self._head[:4].hex()})"
            )

    def flush(self, timeout: float = 30.0) -> np.ndarray:
        if not self._started and self._head:  # the whole stream was shorter than a signature
            self._check_signature()
        self._pipe.end()
        if self._started:
            self._thread.join(timeout)
        return self._take()

    def close(self) -> None:
        self._pipe.abandon()


def audio_decoder(media_encoding: str, sample_rate: int, channels: int = 1) -> PcmDecoder | ContainerDecoder:
    """The decoder for a MediaEncoding ("pcm", "flac", "ogg-opus"); channels: 1 or 2."""
    if media_encoding == "pcm":
        return PcmDecoder(sample_rate, channels)
    if media_encoding in _FORMATS:
        return ContainerDecoder(media_encoding, channels)
    raise ValueError(f"unsupported media encoding {media_encoding!r}")
