"""Media probing and decoding with PyAV (FFmpeg).

Knows nothing of AWS: it reports what a file is (container, codec, sample rate,
channels, duration) and decodes it to float32 samples; the service layer decides
what is acceptable and how to word a failure.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 16000  # Hz; what Whisper consumes


class MediaProblem(enum.Enum):
    EMPTY = "empty"  # zero bytes
    UNREADABLE = "unreadable"  # no container FFmpeg recognises, or corrupt beyond decoding
    NO_AUDIO = "no_audio"  # a container without an audio stream


class MediaError(Exception):
    def __init__(self, problem: MediaProblem, detail: str = ""):
        super().__init__(f"{problem.value}: {detail}" if detail else problem.value)
        self.problem = problem
        self.detail = detail


# FFmpeg demuxer names (av.container.format.name) -> container family names.
_CONTAINERS = {
    "wav": "wav",
    "mp3": "mp3",
    "flac": "flac",
    "ogg": "ogg",
    "mov,mp4,m4a,3gp,3g2,mj2": "mp4",
    "matroska,webm": "webm",
    "amr": "amr",
    "aiff": "aiff",
}


@dataclass(frozen=True)
class MediaInfo:
    """What a media file is. `container` is a family name ("wav", "mp4", "webm", ...)
    or FFmpeg's demuxer name for anything else; sample_rate in Hz; duration in seconds."""

    container: str
    codec: str
    sample_rate: int
    channels: int
    duration: float


def probe(path: Path) -> MediaInfo:
    """Reads headers only (no decoding). Raises MediaError."""
    if path.stat().st_size == 0:
        raise MediaError(MediaProblem.EMPTY)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            streams = container.streams.audio
            if not streams:
                raise MediaError(MediaProblem.NO_AUDIO)
            stream = streams[0]
            duration = _duration(container, stream)
            return MediaInfo(
                container=_CONTAINERS.get(container.format.name, container.format.name),
                codec=stream.codec_context.name,
                sample_rate=int(stream.codec_context.sample_rate or 0),
                channels=int(stream.codec_context.channels or 0),
                duration=duration,
            )
    except av.FFmpegError as e:
        raise MediaError(MediaProblem.UNREADABLE, str(e)) from e


def _duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def decode(path: Path, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None) -> np.ndarray:
    """Decodes the first audio stream to float32 mono at `sample_rate` Hz, shape (n,):
    the average of the channels of `decode_channels` (same limits and errors)."""
    channels = decode_channels(path, sample_rate, max_seconds)
    return channels[0] if channels.shape[0] == 1 else channels.mean(axis=0, dtype=np.float32)


def decode_channels(path: Path, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None) -> np.ndarray:
    """Decodes the first audio stream to float32 at `sample_rate` Hz, one row per channel:
    shape (channels, n); row 0 is the first channel (left in a stereo file).

    The channels keep the file's own layout (no downmix), for channel identification.
    `max_seconds` and the errors are as in `decode`.
    """
    # layout=None: the resampler adopts the first frame's layout, so nothing is mixed.
    resampler = av.AudioResampler(format="fltp", layout=None, rate=sample_rate)
    chunks: list[np.ndarray] = []
    limit = None if max_seconds is None else int(max_seconds * sample_rate) + sample_rate
    decoded = 0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise MediaError(MediaProblem.NO_AUDIO)
            stream = container.streams.audio[0]
            try:
                for frame in container.decode(stream):
                    frame.pts = None  # let the resampler keep its own clock across gaps
                    for out in resampler.resample(frame):
                        chunks.append(out.to_ndarray())
                        decoded += chunks[-1].shape[1]
                    if limit is not None and decoded > limit:
                        break
            except av.FFmpegError as e:
                if not chunks:
                    raise MediaError(MediaProblem.UNREADABLE, str(e)) from e
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
    except av.FFmpegError as e:
        raise MediaError(MediaProblem.UNREADABLE, str(e)) from e
    if not chunks:
        raise MediaError(MediaProblem.UNREADABLE, "no audio frames decoded")
    return np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
