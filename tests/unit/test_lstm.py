"""The numpy LSTM layer the speaker segmentation runs, against torch's nn.LSTM equations
written out one frame at a time in float64."""

from __future__ import annotations

import numpy as np

from emulator.engine.lstm import gates_for_tanh, lstm_layer


def _reference(w_ih, w_hh, b, sequence):
    """torch.nn.LSTM's equations (gates i, f, g, o), one frame at a time: the hidden states."""

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    h = np.zeros(w_hh.shape[1])
    c = np.zeros_like(h)
    out = []
    for frame in sequence.astype(np.float64):
        i, f, g, o = np.split(w_ih @ frame + w_hh @ h + b, 4)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out.append(h)
    return np.array(out)


def test_the_batched_layer_equals_a_step_by_step_one_on_ragged_lengths():
    rng = np.random.default_rng(7)
    inputs, hidden = 5, 6
    w_ih = rng.normal(0, 0.6, (4 * hidden, inputs))
    w_hh = rng.normal(0, 0.6, (4 * hidden, hidden))
    b = rng.normal(0, 0.3, 4 * hidden)
    lengths = np.array([9, 9, 6, 4, 2, 1])  # longest first, as lstm_layer wants
    frames = int(lengths.max())
    x = rng.normal(0, 1, (inputs, frames, len(lengths))).astype(np.float32)
    for row, length in enumerate(lengths):
        x[:, length:, row] = 1e3  # padding must not reach any row's result
    running = (lengths[None, :] > np.arange(frames)[:, None]).sum(axis=1)
    prepared = (
        gates_for_tanh(w_ih.astype(np.float32)),
        gates_for_tanh(w_hh.astype(np.float32)).reshape(4, hidden, hidden),
        gates_for_tanh(b.astype(np.float32)).reshape(4, hidden, 1, 1),
    )

    outputs, _ = lstm_layer(x, *prepared, running, keep_outputs=True)
    _, last = lstm_layer(x, *prepared, running, keep_outputs=False)

    for row, length in enumerate(lengths):
        expected = _reference(w_ih, w_hh, b, x[:, :length, row].T)
        np.testing.assert_allclose(outputs[:, :length, row].T, expected, atol=1e-5)
        assert not outputs[:, length:, row].any()
        np.testing.assert_allclose(last[:, row], expected[-1], atol=1e-5)
