"""LSTM steps in numpy for the speaker segmentation network (emulator.engine.speaker_segmentation):
torch's nn.LSTM equations over a batch of sequences, and the BLAS thread limit its small,
sequential matmuls need. No torch.
"""

from __future__ import annotations

import threading

import numpy as np

_CHUNK_FRAMES = 32  # input projections computed this many steps at a time (bounds memory)


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
    """While any LSTM call runs, BLAS uses one thread (process-wide, as threadpoolctl sets
    it; counted, so overlapping calls from several threads restore the setting once, after
    the last). Each LSTM step is a small matmul that must finish before the next: a second
    BLAS thread waiting for a busy core stalls every step (3 to 4 times slower measured on a
    loaded 2-core machine with the GE2E encoder this code first ran)."""

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
