"""ToxicityDetection through boto3 on real speech (espeak-ng): a neutral and a toxic sentence
in one recording, each its own audio segment, scored apart in `results.toxicity_detection`."""

from __future__ import annotations

import wave

import httpx
import numpy as np
import pytest

from emulator.engine.media import SAMPLE_RATE, decode
from tests.support import speak, wait_for_job, write_wav

NEUTRAL = "The weather is lovely today, and the garden looks beautiful in the sun."
TOXIC = "Shut up, you stupid idiot. I will kill you."
CATEGORIES = {"profanity", "hate_speech", "sexual", "insult", "violence_or_threat", "graphic", "harassment_or_abuse"}


def _join_with_silence(first, second, out, seconds: float = 2.0):
    """WAV `first`, `seconds` of silence, WAV `second` (same format: espeak-ng's) into `out`."""
    with wave.open(str(first)) as a, wave.open(str(second)) as b:
        params = a.getparams()
        frames = a.readframes(a.getnframes()), b.readframes(b.getnframes())
    with wave.open(str(out), "wb") as joined:
        joined.setparams(params)
        silence = b"\0" * (int(params.framerate * seconds) * params.sampwidth * params.nchannels)
        joined.writeframes(frames[0] + silence + frames[1])
    return out


@pytest.fixture(scope="module")
def toxicity_job(transcribe, upload, tmp_path_factory):
    folder = tmp_path_factory.mktemp("toxicity")
    neutral, toxic = speak(folder, NEUTRAL, "neutral.wav"), speak(folder, TOXIC, "toxic.wav")
    speech = _join_with_silence(neutral, toxic, folder / "both.wav")
    name = "toxicity-neutral-then-toxic"
    started = transcribe.start_transcription_job(
        TranscriptionJobName=name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload(speech, key="toxicity/both.wav")},
        ToxicityDetection=[{"ToxicityCategories": ["ALL"]}],
    )["TranscriptionJob"]
    job = wait_for_job(transcribe, name)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    results = httpx.get(job["Transcript"]["TranscriptFileUri"], timeout=30).json()["results"]
    return started, job, results


def test_the_job_echoes_the_setting(toxicity_job):
    started, job, _ = toxicity_job
    assert started["ToxicityDetection"] == job["ToxicityDetection"] == [{"ToxicityCategories": ["ALL"]}]


def test_each_segment_is_scored_in_aws_shape(toxicity_job):
    _, _, results = toxicity_job
    detection = results["toxicity_detection"]
    assert len(detection) == len(results["audio_segments"]) >= 2
    for entry, segment in zip(detection, results["audio_segments"]):
        assert set(entry) == {"text", "toxicity", "categories", "start_time", "end_time"}
        assert entry["text"] == segment["transcript"]
        assert (entry["start_time"], entry["end_time"]) == (float(segment["start_time"]), float(segment["end_time"]))
        assert set(entry["categories"]) == CATEGORIES
        assert all(0 <= v <= 1 for v in [entry["toxicity"], *entry["categories"].values()])


def test_the_scores_separate_the_toxic_sentence_from_the_neutral_one(toxicity_job):
    _, _, results = toxicity_job
    detection = results["toxicity_detection"]
    neutral = [e for e in detection if "weather" in e["text"].lower() or "garden" in e["text"].lower()]
    toxic = [e for e in detection if "idiot" in e["text"].lower() or "kill" in e["text"].lower()]
    assert neutral and toxic, [e["text"] for e in detection]
    assert max(e["toxicity"] for e in neutral) < 0.5 <= min(e["toxicity"] for e in toxic)
    assert max(e["categories"]["insult"] for e in toxic) >= 0.5
    assert max(e["categories"]["violence_or_threat"] for e in toxic) >= 0.5
    assert neutral[0]["end_time"] < toxic[0]["start_time"]


def test_channel_identification_labels_each_entry_with_its_channel(transcribe, upload, tmp_path):
    """Stereo: the neutral sentence on channel 0, the toxic one on channel 1 (2 s later). Each
    `toxicity_detection` entry is one channel's audio segment and carries its `channel_label`."""
    neutral = decode(speak(tmp_path, NEUTRAL, "neutral.wav"))
    toxic = decode(speak(tmp_path, TOXIC, "toxic.wav"))
    offset = len(neutral) + 2 * SAMPLE_RATE
    stereo = np.zeros((offset + len(toxic) + SAMPLE_RATE // 2, 2), dtype=np.float32)
    stereo[: len(neutral), 0] = neutral
    stereo[offset : offset + len(toxic), 1] = toxic
    path = write_wav(tmp_path / "stereo.wav", stereo, SAMPLE_RATE)
    name = "toxicity-two-channels"
    transcribe.start_transcription_job(
        TranscriptionJobName=name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload(path, key="toxicity/stereo.wav")},
        Settings={"ChannelIdentification": True},
        ToxicityDetection=[{"ToxicityCategories": ["ALL"]}],
    )
    job = wait_for_job(transcribe, name)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    results = httpx.get(job["Transcript"]["TranscriptFileUri"], timeout=30).json()["results"]
    detection = results["toxicity_detection"]
    assert [e["channel_label"] for e in detection] == [s["channel_label"] for s in results["audio_segments"]]
    by_channel = {label: [e for e in detection if e["channel_label"] == label] for label in ("ch_0", "ch_1")}
    assert by_channel["ch_0"] and by_channel["ch_1"], detection
    assert max(e["toxicity"] for e in by_channel["ch_0"]) < 0.5 <= max(e["toxicity"] for e in by_channel["ch_1"])
    assert all("idiot" not in e["text"].lower() for e in by_channel["ch_0"])
    assert list(detection[0]) == ["text", "toxicity", "categories", "start_time", "end_time", "channel_label"]
