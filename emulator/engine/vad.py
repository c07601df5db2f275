"""One Silero VAD pass per audio, however many speech-region questions are asked of it.

Knows nothing of AWS. faster-whisper runs its Silero VAD over the whole audio inside
`transcribe(vad_filter=True)`; the emulator asks for speech regions of the same samples with
other settings (the pause split and the missed-speech check after recognition, diarization,
language identification), and each `faster_whisper.vad.get_speech_timestamps` call ran the
network again: 0.6 s on a 269 s file, about 2 % of a job on it. The network's output (one
speech probability per 32 ms) does not depend on those settings, only the thresholding after
it does; `share_speech_probabilities` makes faster-whisper's VAD model keep the probabilities
of the last few audios, by digest of their samples, so the thresholding runs on kept ones.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict

import numpy as np

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
