"""torch checkpoints read without torch: the tensors of a `.pt`/`.bin` file as numpy arrays.

torch's zip format (torch/serialization.py, since torch 1.6: `archive/data.pkl` plus one
`archive/data/<key>` member per storage): pyannote's segmentation-3.0 weights (a PyTorch
Lightning checkpoint) and 3D-Speaker's CAM++ (a plain state dict). Read with `pickle` alone,
mapping only the globals such files name to inert stand-ins: no code from the file runs.
"""

from __future__ import annotations

import collections
import pickle
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

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
    """The file is not a torch checkpoint of the expected shape, or names a global that
    is not allowed."""



def float32_tensor(state: dict[str, np.ndarray], key: str, shape: tuple[int, ...], model: str) -> np.ndarray:
    """state[key] as float32 of exactly `shape`. Raises CheckpointError naming `model` (e.g.
    "speaker encoder") when the key is missing or the shape differs."""
    if key not in state:
        raise CheckpointError(f"{model} weights lack {key}")
    array = np.asarray(state[key], dtype=np.float32)
    if array.shape != shape:
        raise CheckpointError(f"{model} weight {key} has shape {array.shape}, expected {shape}")
    return array


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
    """Maps the globals a checkpoint names to the stand-ins above; refuses all others."""

    def __init__(self, file: BinaryIO):
        super().__init__(file)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return _ALLOWED[module, name]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a checkpoint")

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


# --- the zip format ------------------------------------------------------------------------

# Globals a PyTorch Lightning checkpoint of pyannote.audio names outside its tensors (the
# torch version and the task's specifications among its hyper-parameters): read as _Inert.
_INERT = {
    ("torch.torch_version", "TorchVersion"),
    ("pyannote.audio.core.task", "Specifications"),
    ("pyannote.audio.core.task", "Problem"),
    ("pyannote.audio.core.task", "Resolution"),
}


class _Inert:
    """Stands for an allowed object that is not a tensor; keeps nothing of it."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


class _ZipUnpickler(_CheckpointUnpickler):
    """As _CheckpointUnpickler, for the zip format's 5-field storage ids; _INERT's globals
    become _Inert."""

    def find_class(self, module: str, name: str):
        if (module, name) in _INERT:
            return _Inert
        return super().find_class(module, name)

    def persistent_load(self, pid):
        # ("storage", storage type, key, location, element count)
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        return super().persistent_load((*pid, None))


def read_zip_checkpoint(path: Path, entry: str | None = "state_dict") -> dict[str, np.ndarray]:
    """The tensors of a zip-format torch checkpoint: the dict under `entry` of the pickled
    object (a Lightning checkpoint's "state_dict"), or the object itself when entry is None,
    as numpy arrays (dtype of the storage, C order).

    The format (torch/serialization.py, _save): a zip whose `<name>/data.pkl` pickles the
    object with each storage as a persistent id, the storage's little-endian bytes in member
    `<name>/data/<key>`. Raises CheckpointError for anything else, including a pickled global
    beyond _ALLOWED, torch's storage types and _INERT; OSError when the file cannot be read."""
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
            if len(pickles) != 1:
                raise CheckpointError(f"{path}: not a zip-format torch checkpoint")
            folder = pickles[0][: -len("data.pkl")]
            with archive.open(pickles[0]) as f:
                unpickler = _ZipUnpickler(f)
                try:
                    checkpoint = unpickler.load()
                except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError) as e:
                    raise CheckpointError(f"{path}: unreadable checkpoint ({e})") from e
            state = checkpoint.get(entry) if entry is not None and isinstance(checkpoint, dict) else checkpoint
            if not isinstance(state, dict) or not all(isinstance(v, _TensorRef) for v in state.values()):
                raise CheckpointError(f"{path}: no dict of tensors under {entry!r}")
            data = {}
            for ref in state.values():
                storage = ref.storage
                if storage.key not in data:
                    raw = archive.read(f"{folder}data/{storage.key}")
                    if len(raw) != storage.numel * storage.dtype.itemsize:
                        raise CheckpointError(f"storage {storage.key}: size differs from the pickle's")
                    data[storage.key] = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
    except (zipfile.BadZipFile, KeyError) as e:
        raise CheckpointError(f"{path}: damaged zip checkpoint ({e})") from e
    return {str(name): ref.array(data[ref.storage.key]) for name, ref in state.items()}

