"""What AWS's own tests and recorded responses show, through boto3 (issue 13 §4): a missing
vocabulary is a BadRequestException, ShowAlternatives works with ChannelIdentification,
confidences carry at most 3 decimals."""

from __future__ import annotations

import re

import botocore.exceptions
import httpx
import pytest

from tests.support import manifest, wait_for_job, wer

VOCABULARY_NOT_FOUND = (
    "The requested vocabulary couldn't be found. Check the vocabulary name and try your request again."
)


def _error(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as error:
        call(**kwargs)
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    "operation, extra",
    [
        ("get_vocabulary", {}),
        ("delete_vocabulary", {}),
        ("update_vocabulary", {"LanguageCode": "en-US", "Phrases": ["x"]}),
        ("get_medical_vocabulary", {}),
        ("delete_medical_vocabulary", {}),
        ("update_medical_vocabulary", {"LanguageCode": "en-US", "VocabularyFileUri": "s3://media/absent.txt"}),
    ],
)
def test_a_missing_vocabulary_is_a_bad_request(transcribe, operation, extra):
    # AWS's .NET integration tests assert BadRequestException (FIELD_NOTES), as moto answers.
    code, message = _error(getattr(transcribe, operation), VocabularyName="no-such-vocabulary", **extra)
    assert (code, message) == ("BadRequestException", VOCABULARY_NOT_FOUND)


@pytest.fixture(scope="module")
def stereo_alternatives(transcribe, upload):
    name = "fidelity-channel-alternatives"
    transcribe.start_transcription_job(
        TranscriptionJobName=name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload("fw_stereo_diarization")},
        Settings={"ChannelIdentification": True, "ShowAlternatives": True, "MaxAlternatives": 3},
    )
    job = wait_for_job(transcribe, name)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    return job, httpx.get(job["Transcript"]["TranscriptFileUri"], timeout=30).json()["results"]


def test_show_alternatives_with_channel_identification(stereo_alternatives):
    job, results = stereo_alternatives
    assert job["Settings"]["ChannelIdentification"] is True and job["Settings"]["MaxAlternatives"] == 3
    assert results["channel_labels"]["number_of_channels"] == 2
    segments = results["segments"]
    starts = [float(s["start_time"]) for s in segments]
    assert starts == sorted(starts)
    assert all(1 <= len(s["alternatives"]) <= 3 for s in segments)
    # The first alternatives are the transcript: every word of both channels, once.
    firsts = [i["content"] for s in segments for i in s["alternatives"][0]["items"] if i["type"] == "pronunciation"]
    words = [i["alternatives"][0]["content"] for i in results["items"] if i["type"] == "pronunciation"]
    assert sorted(firsts) == sorted(words)
    # Each channel's speech has its own segments (the channels speak at the same time): a
    # segment goes with the channel whose items share most of its words.
    by_channel = {
        c["channel_label"]: {i["alternatives"][0]["content"] for i in c["items"]}
        for c in results["channel_labels"]["channels"]
    }
    texts = {label: [] for label in by_channel}
    for segment in segments:
        first = segment["alternatives"][0]
        seen = {i["content"] for i in first["items"]}
        texts[max(by_channel, key=lambda label: len(seen & by_channel[label]))].append(first["transcript"])
    for index, text in manifest()["fw_stereo_diarization"]["channel_text"].items():
        assert wer(text, " ".join(texts[f"ch_{index}"])) <= 0.3, texts


def test_confidences_carry_at_most_three_decimals(stereo_alternatives):
    # As in the transcript recorded from AWS ("0.998", "0.438", "0.0").
    _, results = stereo_alternatives
    confidences = [a["confidence"] for i in results["items"] for a in i["alternatives"]]
    confidences += [i["confidence"] for s in results["segments"] for a in s["alternatives"] for i in a["items"]]
    assert confidences and all(re.fullmatch(r"(0|1)\.\d{1,3}", c) for c in confidences), confidences
