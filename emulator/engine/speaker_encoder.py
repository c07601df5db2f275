"""The GE2E speaker encoder in numpy: mel frames in, 256-d d-vectors out. No torch.

The network is Resemblyzer 0.1.4's VoiceEncoder (resemblyzer/voice_encoder.py): a 3-layer
LSTM over 40 mel bands with 256 hidden units, then linear 256->256, ReLU and L2 norm. Its
weights come in a torch checkpoint of torch's legacy (pre-1.6, non-zip) serialization
format; `read_checkpoint` reads it with `pickle` alone, allowing only the few globals such a
file names (no code from the file runs). The forward pass equals torch's `nn.LSTM` over a
`pack_padded_sequence` batch: each window's embedding is the top layer's hidden state at
that window's own last frame.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from emulator.engine.torch_checkpoint import CheckpointError, float32_tensor, read_checkpoint

# Resemblyzer's network (resemblyzer/hparams.py): what its checkpoint holds.
N_MELS = 40
HIDDEN = 256

_CHUNK_FRAMES = 32  # input projections computed this many steps at a time (bounds memory)


class SpeakerEncoder:
    """An LSTM encoder (torch's nn.LSTM, batch_first, then nn.Linear, ReLU, L2 norm) with
    its weights as float32 arrays; Resemblyzer's GE2E encoder when built from its checkpoint.
    Stateless once built: one instance serves any number of threads.

    state: as torch's nn.LSTM and nn.Linear name their parameters, for layers k = 0..L-1:
    "lstm.weight_ih_l{k}" (4H, inputs or H), "lstm.weight_hh_l{k}" (4H, H), "lstm.bias_ih_l{k}"
    and "lstm.bias_hh_l{k}" (4H,), gate rows in torch's order i, f, g, o; "linear.weight"
    (out, H), "linear.bias" (out,). Resemblyzer's: L = 3, inputs = 40, H = out = 256.
    Raises CheckpointError on a missing key or an inconsistent shape.
    """

    def __init__(self, state: dict[str, np.ndarray]):
        for key in ("lstm.weight_ih_l0", "lstm.weight_hh_l0", "linear.weight"):
            if key not in state:
                raise CheckpointError(f"speaker encoder weights lack {key}")
        self.inputs = int(np.shape(state["lstm.weight_ih_l0"])[1])
        self.hidden = hidden = int(np.shape(state["lstm.weight_hh_l0"])[1])
        self._layers = []  # (w_ih, w_hh, bias), gate rows reordered to i, f, o, g (see gates_for_tanh)
        k = 0
        while f"lstm.weight_ih_l{k}" in state:
            w_ih = _weight(state, f"lstm.weight_ih_l{k}", (4 * hidden, self.inputs if k == 0 else hidden))
            w_hh = _weight(state, f"lstm.weight_hh_l{k}", (4 * hidden, hidden))
            bias = _weight(state, f"lstm.bias_ih_l{k}", (4 * hidden,))
            bias = bias + _weight(state, f"lstm.bias_hh_l{k}", (4 * hidden,))
            # w_hh as one (H, H) block per gate: OpenBLAS multiplies four of those by a few
            # windows' hidden states faster than one (4H, H) block (77 vs 113 us for 10).
            self._layers.append(
                (
                    gates_for_tanh(w_ih),
                    gates_for_tanh(w_hh).reshape(4, hidden, hidden),
                    gates_for_tanh(bias).reshape(4, hidden, 1, 1),
                )
            )
            k += 1
        self.outputs = int(np.shape(state["linear.weight"])[0])
        self._linear = _weight(state, "linear.weight", (self.outputs, hidden))
        self._linear_bias = _weight(state, "linear.bias", (self.outputs,))

    @classmethod
    def load(cls, path: Path) -> SpeakerEncoder:
        """The encoder with the weights of a Resemblyzer checkpoint (e.g. its pretrained.pt).
        Raises CheckpointError, OSError."""
        return cls(read_checkpoint(path))

    def __call__(self, mels: np.ndarray, lengths) -> np.ndarray:
        """mels: (batch, frames, inputs) features (for Resemblyzer's encoder, 40 power mel
        bands every 10 ms), each row padded after its own length; lengths: frames per row,
        each 1..frames. Padding is ignored, as with torch's pack_padded_sequence.

        Returns (batch, out) float32 (Resemblyzer's: 256-d d-vectors): L2-normed rows (norm
        clamped at 1e-12), non-negative (the network ends in a ReLU). Raises ValueError on
        wrong shapes or lengths."""
        mels = np.asarray(mels, dtype=np.float32)
        lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
        if mels.ndim != 3 or mels.shape[2] != self.inputs or len(lengths) != len(mels):
            raise ValueError(
                f"need mels (batch, frames, {self.inputs}) and one length per row, got {mels.shape}, {len(lengths)}"
            )
        batch, frames = mels.shape[:2]
        if batch == 0:
            return np.zeros((0, self.outputs), dtype=np.float32)
        if lengths.min() < 1 or lengths.max() > frames:
            raise ValueError(f"lengths must lie in 1..{frames}")
        # Longest rows first, so the rows still running at step t are a prefix, as in a packed
        # sequence: a row stops updating after its last frame and keeps that hidden state.
        order = np.argsort(-lengths, kind="stable")
        running = (lengths[order][None, :] > np.arange(frames)[:, None]).sum(axis=1)
        # Features first, windows last: each step multiplies the gates' weights by an
        # (H, windows) matrix, the form BLAS runs fastest for few windows, and each gate's
        # values are one contiguous block.
        x = np.ascontiguousarray(mels[order].transpose(2, 1, 0))  # (features, frames, batch)
        with ONE_BLAS_THREAD:
            for layer, (w_ih, w_hh, bias) in enumerate(self._layers):
                x, hidden = lstm_layer(x, w_ih, w_hh, bias, running, keep_outputs=layer < len(self._layers) - 1)
        raw = np.maximum((self._linear @ hidden).T + self._linear_bias, 0.0)
        norm = np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), np.float32(1e-12))
        out = np.empty_like(raw)
        out[order] = raw / norm
        return out


def _weight(state: dict[str, np.ndarray], key: str, shape: tuple[int, ...]) -> np.ndarray:
    return float32_tensor(state, key, shape, "speaker encoder")


def gates_for_tanh(rows: np.ndarray) -> np.ndarray:
    """Gate rows i, f, g, o (torch's order) -> i, f, o, g, the sigmoid gates halved: then
    one tanh gives all four, as sigmoid(z) = (1 + tanh(z / 2)) / 2 (halving is exact)."""
    i, f, g, o = np.split(rows, 4)
    return np.concatenate([i * 0.5, f * 0.5, o * 0.5, g]).astype(np.float32)


def lstm_layer(
    x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, bias: np.ndarray, running: np.ndarray, keep_outputs: bool
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """One LSTM layer over x (features, frames, batch), windows sorted longest first;
    running[t]: windows whose length exceeds t. w_ih: (4H, features), w_hh: (4, H, H), bias:
    (4, H, 1, 1), prepared by gates_for_tanh. Returns (outputs (H, frames, batch), zeros past each
    window's end; None) when keep_outputs, else (None, each window's hidden state after its
    last frame (H, batch))."""
    features, frames, batch = x.shape
    size = w_hh.shape[2]
    h = np.zeros((size, batch), dtype=np.float32)
    c = np.zeros((size, batch), dtype=np.float32)
    outputs = np.zeros((size, frames, batch), dtype=np.float32) if keep_outputs else None
    previous = h  # the hidden state the step reads: h, or the previous step's outputs
    for t in range(frames):
        n = running[t]
        if t % _CHUNK_FRAMES == 0:
            # The input's share of the gates for a run of steps in one matmul (windows still
            # running only); only w_hh @ h is sequential.
            stop = min(t + _CHUNK_FRAMES, frames)
            gates_in = (w_ih @ x[:, t:stop, :n].reshape(features, -1)).reshape(4, size, stop - t, n)
            gates_in += bias
        z = np.matmul(w_hh, previous[:, :n])  # (4, H, n)
        z += gates_in[:, :, t % _CHUNK_FRAMES, :n]
        np.tanh(z, out=z)
        sigmoids = z[:3]
        sigmoids *= 0.5
        sigmoids += 0.5
        i, f, o, g = z
        cell = c[:, :n]
        cell *= f
        i *= g
        cell += i
        np.tanh(cell, out=g)
        previous = outputs[:, t] if keep_outputs else h
        np.multiply(o, g, out=previous[:, :n])
    return (outputs, None) if keep_outputs else (None, h)


class _OneBlasThread:
    """While any encoder call runs, BLAS uses one thread (process-wide, as threadpoolctl sets
    it; counted, so overlapping calls from several threads restore the setting once, after
    the last). Each LSTM step is a small matmul that must finish before the next: a second
    BLAS thread waiting for a busy core stalls every step (3 to 4 times slower measured on a
    loaded 2-core machine; the torch encoder before it ran with one thread for the same reason)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._users = 0
        self._limiter = None

    def __enter__(self):
        with self._lock:
            if self._users == 0:
                from threadpoolctl import threadpool_limits  # scikit-learn's dependency

                self._limiter = threadpool_limits(limits=1, user_api="blas")
            self._users += 1

    def __exit__(self, *exc_info):
        with self._lock:
            self._users -= 1
            if self._users == 0:
                self._limiter.restore_original_limits()
                self._limiter = None


ONE_BLAS_THREAD = _OneBlasThread()
