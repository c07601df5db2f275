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

import collections
import pickle
import threading
from pathlib import Path
from typing import BinaryIO

import numpy as np

# Resemblyzer's network (resemblyzer/hparams.py): what its checkpoint holds.
N_MELS = 40
HIDDEN = 256

_CHUNK_FRAMES = 32  # input projections computed this many steps at a time (bounds memory)

# torch/serialization.py: a legacy file starts with this pickled number, then the protocol version.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class CheckpointError(ValueError):
    """The file is not a legacy torch checkpoint of the expected speaker encoder."""


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
        self._layers = []  # (w_ih, w_hh, bias), gate rows reordered to i, f, o, g (see _for_tanh)
        k = 0
        while f"lstm.weight_ih_l{k}" in state:
            w_ih = _weight(state, f"lstm.weight_ih_l{k}", (4 * hidden, self.inputs if k == 0 else hidden))
            w_hh = _weight(state, f"lstm.weight_hh_l{k}", (4 * hidden, hidden))
            bias = _weight(state, f"lstm.bias_ih_l{k}", (4 * hidden,))
            bias = bias + _weight(state, f"lstm.bias_hh_l{k}", (4 * hidden,))
            # w_hh as one (H, H) block per gate: OpenBLAS multiplies four of those by a few
            # windows' hidden states faster than one (4H, H) block (77 vs 113 us for 10).
            self._layers.append(
                (_for_tanh(w_ih), _for_tanh(w_hh).reshape(4, hidden, hidden), _for_tanh(bias).reshape(4, hidden, 1, 1))
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
        with _ONE_BLAS_THREAD:
            for layer, (w_ih, w_hh, bias) in enumerate(self._layers):
                x, hidden = _lstm_layer(x, w_ih, w_hh, bias, running, keep_outputs=layer < len(self._layers) - 1)
        raw = np.maximum((self._linear @ hidden).T + self._linear_bias, 0.0)
        norm = np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), np.float32(1e-12))
        out = np.empty_like(raw)
        out[order] = raw / norm
        return out


def _weight(state: dict[str, np.ndarray], key: str, shape: tuple[int, ...]) -> np.ndarray:
    if key not in state:
        raise CheckpointError(f"speaker encoder weights lack {key}")
    array = np.asarray(state[key], dtype=np.float32)
    if array.shape != shape:
        raise CheckpointError(f"speaker encoder weight {key} has shape {array.shape}, expected {shape}")
    return array


def _for_tanh(rows: np.ndarray) -> np.ndarray:
    """Gate rows i, f, g, o (torch's order) -> i, f, o, g, the sigmoid gates halved: then
    one tanh gives all four, as sigmoid(z) = (1 + tanh(z / 2)) / 2 (halving is exact)."""
    i, f, g, o = np.split(rows, 4)
    return np.concatenate([i * 0.5, f * 0.5, o * 0.5, g]).astype(np.float32)


def _lstm_layer(
    x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, bias: np.ndarray, running: np.ndarray, keep_outputs: bool
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """One LSTM layer over x (features, frames, batch), windows sorted longest first;
    running[t]: windows whose length exceeds t. w_ih: (4H, features), w_hh: (4, H, H), bias:
    (4, H, 1, 1), prepared by _for_tanh. Returns (outputs (H, frames, batch), zeros past each
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


_ONE_BLAS_THREAD = _OneBlasThread()


# --- the checkpoint -----------------------------------------------------------------------


def read_checkpoint(path: Path, prefixes: tuple[str, ...] = ("lstm.", "linear.")) -> dict[str, np.ndarray]:
    """The `model_state` tensors of a torch checkpoint in the legacy format whose names start
    with one of `prefixes`, as numpy arrays (dtype of the storage, C order).

    The format (torch/serialization.py, _legacy_save): four pickles (magic number, protocol
    version 1001, system info, the object with tensors as persistent ids of storages), a
    pickle of the storage keys, then each storage's raw bytes in that order, each after its
    element count (int64). Raises CheckpointError for anything else, including any pickled
    global beyond OrderedDict, torch's tensor rebuild functions and storage types."""
    with open(path, "rb") as f:
        if f.read(2) == b"PK":
            raise CheckpointError(f"{path}: a zip-format torch checkpoint, not the legacy format")
        f.seek(0)
        try:
            if _plain_load(f) != _LEGACY_MAGIC or _plain_load(f) != _LEGACY_PROTOCOL:
                raise CheckpointError(f"{path}: not a legacy torch checkpoint")
            info = _plain_load(f)
            if not isinstance(info, dict) or not info.get("little_endian"):
                raise CheckpointError(f"{path}: not a little-endian legacy torch checkpoint")
            unpickler = _CheckpointUnpickler(f)
            checkpoint = unpickler.load()
            keys = _plain_load(f)
        except (pickle.UnpicklingError, EOFError, AttributeError, TypeError) as e:
            raise CheckpointError(f"{path}: unreadable checkpoint ({e})") from e
        state = checkpoint.get("model_state") if isinstance(checkpoint, dict) else None
        if not isinstance(state, dict):
            raise CheckpointError(f"{path}: no model_state in the checkpoint")
        wanted = {k: v for k, v in state.items() if isinstance(k, str) and k.startswith(prefixes)}
        if not all(isinstance(v, _TensorRef) for v in wanted.values()):
            raise CheckpointError(f"{path}: model_state holds something other than tensors")
        needed = {ref.storage.key for ref in wanted.values()}
        data = _read_storages(f, keys, unpickler.storages, needed)
    return {name: ref.array(data[ref.storage.key]) for name, ref in wanted.items()}


class _Storage:
    def __init__(self, key: str, dtype: type, numel: int):
        self.key, self.dtype, self.numel = key, np.dtype(dtype), numel


class _StorageType:
    def __init__(self, dtype: type):
        self.dtype = dtype


class _TensorRef:
    """A tensor as the pickle describes it; its storage's bytes come after the pickle."""

    def __init__(self, storage: _Storage, offset: int, size, stride):
        if not isinstance(storage, _Storage):
            raise pickle.UnpicklingError("a tensor without a storage")
        self.storage, self.offset, self.size, self.stride = storage, int(offset), tuple(size), tuple(stride)

    def array(self, data: np.ndarray) -> np.ndarray:
        if len(self.size) != len(self.stride) or any(s < 0 for s in self.size + self.stride):
            raise CheckpointError("a tensor with a malformed size or stride")
        if self.size and min(self.size) > 0:
            last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
            if self.offset < 0 or last >= len(data):
                raise CheckpointError("a tensor reaches past the end of its storage")
        strides = tuple(s * data.itemsize for s in self.stride)
        view = np.lib.stride_tricks.as_strided(data[self.offset :], shape=self.size, strides=strides, writeable=False)
        return np.array(view, order="C")


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    return _TensorRef(storage, offset, size, stride)


def _rebuild_tensor(storage, offset, size, stride):
    return _TensorRef(storage, offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _CheckpointUnpickler(pickle.Unpickler):
    """Maps the globals a legacy checkpoint names to the stand-ins above; refuses all others."""

    def __init__(self, file: BinaryIO):
        super().__init__(file)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return _ALLOWED[module, name]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a speaker encoder checkpoint")

    def persistent_load(self, pid):
        # ("storage", storage type, key, location, element count, view metadata)
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        _, kind, key, _location, numel, view = pid
        if not isinstance(kind, _StorageType) or view is not None:
            raise pickle.UnpicklingError("unsupported storage (unknown type, or a storage view)")
        storage = self.storages.setdefault(str(key), _Storage(str(key), kind.dtype, int(numel)))
        if storage.dtype != np.dtype(kind.dtype) or storage.numel != int(numel):
            raise pickle.UnpicklingError(f"storage {key} declared twice differently")
        return storage


class _RefuseGlobals(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed here")


def _plain_load(f: BinaryIO):
    return _RefuseGlobals(f).load()


def _read_storages(f: BinaryIO, keys, storages: dict[str, _Storage], needed: set[str]) -> dict[str, np.ndarray]:
    """The storages' data after the pickles, in the order of `keys`; those not needed skipped."""
    if not isinstance(keys, list) or set(map(str, keys)) != set(storages):
        raise CheckpointError("the storage key list does not match the pickled storages")
    out = {}
    for key in map(str, keys):
        storage = storages[key]
        count = np.frombuffer(f.read(8), dtype="<i8")
        if len(count) != 1 or int(count[0]) != storage.numel:
            raise CheckpointError(f"storage {key}: size on disk differs from the pickle's")
        nbytes = storage.numel * storage.dtype.itemsize
        if key in needed:
            raw = f.read(nbytes)
            if len(raw) != nbytes:
                raise CheckpointError(f"storage {key}: file ends early")
            out[key] = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
        else:
            f.seek(nbytes, 1)
    return out
