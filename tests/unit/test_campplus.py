"""The numpy CAM++ speaker embedding (3D-Speaker's speech_campplus_sv_zh_en_16k-common_advanced)
with the real weights the model store verifies, on real speech from the shared audio.

tests/unit/campplus_reference.npz holds, for the first 3 s of ami_dev00, kaldi-native-fbank
1.22's 80-band filter bank (dither 0; its first 100 frames) and the embeddings of four spans of
it from 3D-Speaker's CAMPPlus (speakerlab/models/campplus, as speakerlab-slim 0.1.0 ships it)
in torch 2.13, computed once.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from emulator.engine.campplus import EMBEDDING_SIZE, MAX_FRAMES, CAMPPlus, fbank
from emulator.engine.diarization import Diarizer, embedding_windows
from emulator.engine.media import SAMPLE_RATE, decode
from emulator.engine.torch_checkpoint import CheckpointError, read_zip_checkpoint
from emulator.storage.models import ModelStore
from tests.support import audio_path

REFERENCE = Path(__file__).with_name("campplus_reference.npz")

# Several recordings of each of four talkers (manifest `speakers`).
TALKERS = {
    "librivox_austen_reader": ["librivox_0870", "librivox_0890", "librivox_0920"],
    "librivox_sonnets_reader": ["sonnet_001", "sonnet_002"],
    "spk1": ["sb_spk1_snt1", "sb_spk1_snt2", "sb_spk1_snt3"],
    "spk2": ["sb_spk2_snt1", "sb_spk2_snt2", "sb_spk2_snt3"],
}


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return ModelStore(tmp_path_factory.mktemp("models")).speaker_embedding()


@pytest.fixture(scope="module")
def model(weights) -> CAMPPlus:
    return CAMPPlus.load(weights)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return decode(audio_path("ami_dev00"))[: 3 * SAMPLE_RATE]


def test_the_checkpoint_is_3d_speakers_state_dict(weights):
    state = read_zip_checkpoint(weights, entry=None)

    assert len(state) == 937
    assert state["head.conv1.weight"].shape == (32, 1, 3, 3)
    assert state["xvector.tdnn.linear.weight"].shape == (128, 320, 5)
    assert state["xvector.block3.tdnnd16.cam_layer.linear_local.weight"].shape == (32, 128, 3)
    assert state["xvector.dense.linear.weight"].shape == (EMBEDDING_SIZE, 1024, 1)


def test_the_filter_bank_is_kaldis(speech):
    reference = np.load(REFERENCE)

    features = fbank(speech)

    assert features.shape == (int(reference["frames"]), 80) and features.dtype == np.float32
    np.testing.assert_allclose(features[:100], reference["fbank"], atol=5e-4)


def test_the_network_gives_what_3d_speakers_gives_on_real_speech(model, speech):
    reference = np.load(REFERENCE)
    features = fbank(speech)

    for (first, stop), expected in zip(reference["spans"], reference["embeddings"]):
        span = features[first:stop] - features[first:stop].mean(axis=0)
        out = model(span[None])[0]
        # Measured: largest difference 4e-5 on values up to 2.2.
        np.testing.assert_allclose(out, expected, atol=2e-4)


def test_a_batch_gives_what_each_row_gives_alone(model, speech):
    features = fbank(speech)
    rows = np.stack([features[a : a + 120] - features[a : a + 120].mean(axis=0) for a in (0, 50, 170)])

    together = model(rows)

    for row, alone in zip(together, rows):
        np.testing.assert_allclose(row, model(alone[None])[0], atol=1e-4)


def test_wrong_shapes_are_refused(model):
    with pytest.raises(ValueError):
        model(np.zeros((1, 100, 40), dtype=np.float32))
    with pytest.raises(ValueError):
        model(np.zeros((100, 80), dtype=np.float32))
    with pytest.raises(ValueError):
        model(np.zeros((1, MAX_FRAMES + 1, 80), dtype=np.float32))  # its CAM segments: 2 s at most
    with pytest.raises(ValueError):
        fbank(np.zeros(399, dtype=np.float32))


def test_a_missing_tensor_is_refused(weights):
    state = read_zip_checkpoint(weights, entry=None)
    del state["xvector.block2.tdnnd7.linear1.weight"]

    with pytest.raises(CheckpointError, match="tdnnd7"):
        CAMPPlus(state)


@pytest.fixture(scope="module")
def embeddings(weights) -> dict[str, list[np.ndarray]]:
    """Per talker, per recording: the embeddings of the diarizer's windows (first 20 s)."""
    diarizer = Diarizer(weights=weights)
    out = {}
    for talker, items in TALKERS.items():
        out[talker] = []
        for item in items:
            samples = decode(audio_path(item))[: 20 * SAMPLE_RATE]
            windows = embedding_windows(diarizer.speech_regions(samples), diarizer.options)
            out[talker].append(diarizer.embed(samples, windows))
    return out


def test_windows_of_one_talker_are_closer_to_each_other_than_to_another_talkers(embeddings):
    def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
        return float((a @ b.T).mean())

    for talker, recordings in embeddings.items():
        assert all(np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5) for e in recordings)
        # Across different recordings of the same talker: the voice, not the recording, is shared.
        within = np.mean([mean_cosine(a, b) for a, b in itertools.combinations(recordings, 2)])
        for other, theirs in embeddings.items():
            if other != talker:
                between = np.mean([mean_cosine(a, b) for a in recordings for b in theirs])
                assert within > between + 0.3, (talker, other, within, between)


def test_embeddings_are_kept_by_their_samples(weights):
    diarizer = Diarizer(weights=weights)
    samples = decode(audio_path("jfk"))
    windows = [(0.5, 2.0), (2.0, 3.5)]

    first = diarizer.embed(samples, windows)
    shifted = np.concatenate([np.zeros(SAMPLE_RATE, dtype=np.float32), samples])
    again = diarizer.embed(shifted, [(start + 1.0, end + 1.0) for start, end in windows])

    np.testing.assert_array_equal(first, again)
    assert len(diarizer._cache) == 2
