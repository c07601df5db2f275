"""A stream's kept audio (emulator.service.streaming._KeptAudio): spans read across the joined
pieces and the fresh chunks are the samples as they came."""

from __future__ import annotations

import numpy as np

from emulator.service.streaming import _KeptAudio


def test_spans_are_the_samples_as_they_came_in_any_chunking():
    rng = np.random.default_rng(0)
    samples = rng.standard_normal(100_000).astype(np.float32)
    kept = _KeptAudio()
    at = 0
    while at < len(samples):  # uneven chunks, more than PIECE_RUN of them
        size = int(rng.integers(1, 1600))
        kept.append(samples[at : at + size])
        at += size

    for a, b in [(0, None), (0, 1), (5_000, 5_001), (12_345, 67_890), (99_999, None), (100_000, None), (7, 7)]:
        assert np.array_equal(kept.span(a, b), samples[a:b]), (a, b)

    kept.drop_first(40_000)
    assert np.array_equal(kept.span(0, None), samples[40_000:])
    kept.append(samples[:10])
    assert np.array_equal(kept.span(59_995, None), np.concatenate([samples[-5:], samples[:10]]))


def test_nothing_kept_reads_as_no_samples():
    kept = _KeptAudio()
    assert kept.span(0, None).shape == (0,) and kept.span(0, None).dtype == np.float32
