"""One Silero VAD pass per audio, however many speech-region questions are asked of it.

Knows nothing of AWS. faster-whisper runs its Silero VAD over the whole audio inside
`transcribe(vad_filter=True)`; the emulator asks for speech regions of the same samples with
other settings (the pause split and the missed-speech check after recognition, diarization,
language identification), and each `faster_whisper.vad.get_speech_timestamps` call ran the
network again: 0.6 s on a 269 s file, about 2 % of a job on it. The network's output (one
speech probability per 32 ms) does not depend on those settings, only the thresholding after
it does; `share_speech_probabilities` makes faster-whisper's VAD model keep the probabilities
of the last few audios, by digest of their samples, so the thresholding runs on kept ones.

`digital_silence` finds where audio is digitally silent (no VAD's padding should reach in
there) and `without` cuts such stretches out of speech regions or turns.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import threading
from collections import OrderedDict

import numpy as np

from emulator.engine.media import SAMPLE_RATE

KEPT = 4  # audios whose probabilities are kept (jobs run concurrently: one per worker or so)


class SharedProbabilities:
    """faster-whisper's SileroVADModel, answering a call on samples it has seen with the
    probabilities it gave then (float32, one per 512-sample window, read-only). Thread-safe;
    other attributes are the model's."""

    def __init__(self, model, kept: int = KEPT):
        self._model = model
        self._kept_count = kept
        self._kept: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, audio: np.ndarray, *args, **kwargs) -> np.ndarray:
        digest = hashlib.blake2b(np.ascontiguousarray(audio).tobytes(), digest_size=20)
        digest.update(repr((audio.dtype.str, args, sorted(kwargs.items()))).encode())
        key = digest.hexdigest()
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        probabilities = np.asarray(self._model(audio, *args, **kwargs))
        probabilities.setflags(write=False)
        with self._lock:
            self._kept[key] = probabilities
            while len(self._kept) > self._kept_count:
                self._kept.popitem(last=False)
        return probabilities

    def __getattr__(self, name: str):
        return getattr(self._model, name)


_installed = threading.Lock()


def share_speech_probabilities() -> None:
    """Makes `faster_whisper.vad.get_vad_model` (which `get_speech_timestamps` calls for its
    network, inside faster-whisper's transcribe too) return a SharedProbabilities around
    faster-whisper's own model. Idempotent; the model loads on first use, as before."""
    import faster_whisper.vad as vad

    with _installed:
        if getattr(vad.get_vad_model, "shared_probabilities", False):
            return
        original = vad.get_vad_model

        @functools.lru_cache
        def get_vad_model():
            return SharedProbabilities(original())

        get_vad_model.shared_probabilities = True
        vad.get_vad_model = get_vad_model


# The loudest sample of digital silence: one 16-bit step. A microphone's own noise is well above
# it (the shared recordings' quietest stretches are at -65 to -40 dBFS); only audio that was
# joined, padded or muted digitally stays this quiet for a tenth of a second.
DIGITAL_SILENCE = 2.0**-15
MIN_DIGITAL_SILENCE = 0.1  # seconds


def digital_silence(samples: np.ndarray, min_seconds: float = MIN_DIGITAL_SILENCE) -> list[tuple[float, float]]:
    """Stretches of digital silence: (start, end) seconds, sorted, each at least `min_seconds`
    long, made of whole 10 ms frames in which no sample's magnitude exceeds DIGITAL_SILENCE.
    samples: float mono 16 kHz, shape (n,). No speech is there, whatever padding a VAD adds
    around its regions. Reads the samples in chunks (a 4 h job's samples are 920 MB)."""
    samples = np.asarray(samples).reshape(-1)
    frame = SAMPLE_RATE // 100
    count = len(samples) // frame
    quiet = np.empty(count, dtype=bool)
    step = 4096  # frames a chunk
    for first in range(0, count, step):
        last = min(first + step, count)
        chunk = samples[first * frame : last * frame].reshape(last - first, frame)
        quiet[first:last] = np.abs(chunk).max(axis=1) <= DIGITAL_SILENCE
    edges = np.flatnonzero(np.diff(np.concatenate([[False], quiet, [False]]).astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    keep = (ends - starts) * frame >= round(min_seconds * SAMPLE_RATE)
    spans = zip(starts[keep].tolist(), ends[keep].tolist())
    return [(s * frame / SAMPLE_RATE, e * frame / SAMPLE_RATE) for s, e in spans]


def without(spans: list[tuple[float, float]], holes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """`spans` (start, end) seconds minus the sorted, disjoint `holes`, in the spans' order: a
    span that contains a hole is split around it; pieces of no length are dropped."""
    ends = [end for _, end in holes]
    out: list[tuple[float, float]] = []
    for start, end in spans:
        for hole_start, hole_end in holes[bisect.bisect_right(ends, start) :]:
            if hole_start >= end:
                break
            if hole_start > start:
                out.append((start, hole_start))
            start = max(start, hole_end)
        if start < end:
            out.append((start, end))
    return out
