"""Amazon Transcribe Medical through boto3: medical jobs and medical vocabularies on real audio."""

from __future__ import annotations

import time
import wave

import boto3
import botocore.exceptions
import numpy as np
import pytest
from botocore.config import Config

from emulator.engine.media import SAMPLE_RATE, decode
from emulator.service.medical_pipeline import INVALID_MEDICAL_SAMPLE_RATE, NOT_16_BIT_PCM
from tests.support import CREDENTIALS, audio_path, manifest, speak, wer

OUTPUT_BUCKET = "medical-output"


@pytest.fixture(scope="module")
def output_bucket(s3):
    s3.create_bucket(Bucket=OUTPUT_BUCKET)
    return OUTPUT_BUCKET


@pytest.fixture(scope="module")
def unvalidated(emulator):
    """A boto3 client that skips botocore's own checks, so the server's validation answers."""
    return boto3.client(
        "transcribe",
        endpoint_url=emulator.endpoint,
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
        **CREDENTIALS,
    )


def _start(transcribe, name: str, media_uri: str, output_bucket: str, **extra) -> dict:
    request = dict(
        MedicalTranscriptionJobName=name,
        LanguageCode="en-US",
        Media={"MediaFileUri": media_uri},
        OutputBucketName=output_bucket,
        Specialty="PRIMARYCARE",
        Type="DICTATION",
    )
    return transcribe.start_medical_transcription_job(**{**request, **extra})["MedicalTranscriptionJob"]


def _wait(transcribe, name: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = transcribe.get_medical_transcription_job(MedicalTranscriptionJobName=name)["MedicalTranscriptionJob"]
        if job["TranscriptionJobStatus"] in ("COMPLETED", "FAILED"):
            return job
        assert time.monotonic() < deadline, f"{name} still {job['TranscriptionJobStatus']}"
        time.sleep(0.2)


def _run(transcribe, name, media_uri, output_bucket, **extra) -> dict:
    _start(transcribe, name, media_uri, output_bucket, **extra)
    return _wait(transcribe, name)


def _results(s3, name: str, key: str | None = None) -> dict:
    import json

    body = s3.get_object(Bucket=OUTPUT_BUCKET, Key=key or f"medical/{name}.json")["Body"].read()
    document = json.loads(body)
    assert document["jobName"] == name and document["status"] == "COMPLETED"
    return document["results"]


def _error(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as error:
        call(**kwargs)
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def _write_wav(path, samples: np.ndarray, rate: int, sample_width: int = 2):
    if sample_width == 2:
        frames = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    else:  # 8-bit WAV is unsigned
        frames = (np.clip(samples, -1, 1) * 127 + 128).astype(np.uint8).tobytes()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(sample_width)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


# --- jobs -----------------------------------------------------------------------------------


def test_a_dictation_is_transcribed_into_the_output_bucket(transcribe, s3, upload, output_bucket, job_name):
    started = _start(transcribe, job_name, upload("librivox_0870"), output_bucket, Tags=[{"Key": "ward", "Value": "3"}])
    assert started["TranscriptionJobStatus"] in ("QUEUED", "IN_PROGRESS")
    assert started["Specialty"] == "PRIMARYCARE" and started["Type"] == "DICTATION"

    job = _wait(transcribe, job_name)

    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["LanguageCode"] == "en-US" and job["MediaSampleRateHertz"] == 16000 and job["MediaFormat"] == "wav"
    assert job["Transcript"]["TranscriptFileUri"].endswith(f"/{OUTPUT_BUCKET}/medical/{job_name}.json")
    assert isinstance(job["CompletionTime"], type(job["CreationTime"]))
    results = _results(s3, job_name)
    assert wer(manifest()["librivox_0870"]["text"], results["transcripts"][0]["transcript"]) < 0.2
    assert "entities" not in results
    arn = f"arn:aws:transcribe:us-east-1:000000000000:medical-transcription-job/{job_name}"
    assert transcribe.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "ward", "Value": "3"}]
    summaries = transcribe.list_medical_transcription_jobs(JobNameContains=job_name)["MedicalTranscriptionJobSummaries"]
    assert [s["MedicalTranscriptionJobName"] for s in summaries] == [job_name]
    assert summaries[0]["OutputLocationType"] == "CUSTOMER_BUCKET" and summaries[0]["Type"] == "DICTATION"


def test_medical_and_standard_jobs_have_separate_names(transcribe, s3, upload, output_bucket, job_name):
    uri = upload("librivox_0880")
    transcribe.start_transcription_job(TranscriptionJobName=job_name, LanguageCode="en-US", Media={"MediaFileUri": uri})
    job = _run(transcribe, job_name, uri, output_bucket, OutputKey="notes/")

    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    _results(s3, job_name, key=f"notes/{job_name}.json")
    assert _error(_start, transcribe=transcribe, name=job_name, media_uri=uri, output_bucket=output_bucket)[0] == "ConflictException"
    transcribe.delete_medical_transcription_job(MedicalTranscriptionJobName=job_name)
    code, message = _error(transcribe.get_medical_transcription_job, MedicalTranscriptionJobName=job_name)
    assert code == "BadRequestException" and "couldn't be found" in message
    assert transcribe.get_transcription_job(TranscriptionJobName=job_name)["TranscriptionJob"]["TranscriptionJobName"] == job_name


def test_a_conversation_gets_speaker_labels(transcribe, s3, upload, output_bucket, job_name):
    job = _run(
        transcribe,
        job_name,
        upload("pyannote_sample"),  # ami_dev00 is 32-bit float WAV, which Medical refuses
        output_bucket,
        Type="CONVERSATION",
        Settings={"ShowSpeakerLabels": True, "MaxSpeakerLabels": 4},
    )

    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["Settings"]["ShowSpeakerLabels"] is True and job["Type"] == "CONVERSATION"
    results = _results(s3, job_name)
    assert results["speaker_labels"]["speakers"] == 2
    assert {item["speaker_label"] for item in results["items"]} == {"spk_0", "spk_1"}


def test_channel_identification_on_stereo(transcribe, s3, upload, output_bucket, job_name):
    job = _run(
        transcribe, job_name, upload("fw_stereo_diarization"), output_bucket, Settings={"ChannelIdentification": True}
    )

    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    channels = _results(s3, job_name)["channel_labels"]
    assert channels["number_of_channels"] == 2
    texts = {c["channel_label"]: " ".join(i["alternatives"][0]["content"] for i in c["items"]) for c in channels["channels"]}
    assert "wizard" in texts["ch_0"].lower() and "horizon" in texts["ch_1"].lower()


def test_alternatives(transcribe, s3, upload, output_bucket, job_name):
    job = _run(
        transcribe, job_name, upload("jfk"), output_bucket, Settings={"ShowAlternatives": True, "MaxAlternatives": 3}
    )

    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    segments = _results(s3, job_name)["segments"]
    assert segments and all(1 <= len(s["alternatives"]) <= 3 for s in segments)
    assert any(len(s["alternatives"]) > 1 for s in segments)


def test_phi_is_identified(transcribe, s3, upload, output_bucket, job_name, tmp_path):
    speech = speak(
        tmp_path,
        "The patient is John Smith, forty five years old. He was born on March third, nineteen eighty. "
        "His phone number is 2 0 6, 5 5 5, 0 1 9 9.",
    )
    job = _run(transcribe, job_name, upload(speech, key=f"{job_name}.wav"), output_bucket, ContentIdentificationType="PHI")

    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["ContentIdentificationType"] == "PHI"
    results = _results(s3, job_name)
    assert list(results)[:2] == ["transcripts", "entities"]
    entities = results["entities"]
    contents = " | ".join(e["content"] for e in entities).lower()
    assert "smith" in contents  # name
    assert "45 years old" in contents  # age
    assert "march" in contents or "1980" in contents  # date
    assert any(sum(ch.isdigit() for ch in e["content"]) >= 7 for e in entities), entities
    for entity in entities:
        assert entity["category"] == "PHI-Personal"
        assert isinstance(entity["startTime"], float) and isinstance(entity["confidence"], float)
        assert entity["startTime"] <= entity["endTime"]
    # Identification, not redaction: the words stay in the transcript.
    assert "smith" in results["transcripts"][0]["transcript"].lower()


# --- media rules ----------------------------------------------------------------------------


def test_media_below_16_khz_fails(transcribe, upload, output_bucket, job_name, tmp_path):
    samples = decode(audio_path("librivox_0880"))[::2]  # 16 kHz -> 8 kHz
    media = upload(_write_wav(tmp_path / "8k.wav", samples, SAMPLE_RATE // 2), key=f"{job_name}.wav")

    job = _run(transcribe, job_name, media, output_bucket)

    assert job["TranscriptionJobStatus"] == "FAILED"
    assert job["FailureReason"] == INVALID_MEDICAL_SAMPLE_RATE


def test_wav_that_is_not_16_bit_pcm_fails(transcribe, upload, output_bucket, job_name, tmp_path):
    samples = decode(audio_path("librivox_0880"))
    media = upload(_write_wav(tmp_path / "8bit.wav", samples, SAMPLE_RATE, sample_width=1), key=f"{job_name}.wav")

    job = _run(transcribe, job_name, media, output_bucket)

    assert job["TranscriptionJobStatus"] == "FAILED"
    assert job["FailureReason"] == NOT_16_BIT_PCM


def test_ogg_is_not_a_medical_format(transcribe, upload, output_bucket, job_name):
    job = _run(transcribe, job_name, upload("cards_005"), output_bucket)

    assert job["TranscriptionJobStatus"] == "FAILED"
    assert job["FailureReason"].startswith("Unsupported media format: ogg files aren't supported")


# --- request validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"LanguageCode": "en-GB"}, "isn't supported for medical transcription jobs"),
        ({"Specialty": "CARDIOLOGY"}, "at 'specialty' failed to satisfy constraint: Member must satisfy enum value set: [PRIMARYCARE]"),
        ({"Type": "LECTURE"}, "at 'type' failed to satisfy constraint: Member must satisfy enum value set"),
        ({"MediaSampleRateHertz": 8000}, "at 'mediaSampleRateHertz' failed to satisfy constraint: Member must have value greater than or equal to 16000"),
        ({"OutputBucketName": None}, "Value null at 'outputBucketName' failed to satisfy constraint: Member must not be null"),
        ({"Settings": {"MaxSpeakerLabels": 3}}, "To use MaxSpeakerLabels, you must also set ShowSpeakerLabels to true"),
    ],
    ids=["language", "specialty", "type", "sample-rate", "no-output-bucket", "speaker-pair"],
)
def test_bad_requests_are_refused(unvalidated, upload, output_bucket, job_name, change, expected):
    request = dict(
        MedicalTranscriptionJobName=job_name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload("librivox_0880")},
        OutputBucketName=output_bucket,
        Specialty="PRIMARYCARE",
        Type="DICTATION",
    )
    request.update(change)
    request = {k: v for k, v in request.items() if v is not None}

    code, message = _error(unvalidated.start_medical_transcription_job, **request)

    assert code == "BadRequestException"
    assert expected in message


# --- medical vocabularies -------------------------------------------------------------------


def _wait_vocabulary(transcribe, name: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        vocabulary = transcribe.get_medical_vocabulary(VocabularyName=name)
        if vocabulary["VocabularyState"] != "PENDING":
            return vocabulary
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_medical_vocabulary_lifecycle_and_effect(transcribe, s3, upload, output_bucket, job_name, tmp_path):
    """tiny.en hears "Queen of Clothes" in cards_002; a medical vocabulary with "clubs" fixes it."""
    name = f"med-{job_name[-8:]}"
    table = tmp_path / "medical.txt"
    table.write_text("Phrase\tIPA\tSoundsLike\tDisplayAs\nclubs\t\t\t\n")
    table_uri = upload(table, key=f"vocabularies/{name}.txt")
    assert _error(transcribe.create_medical_vocabulary, VocabularyName=name, LanguageCode="en-GB", VocabularyFileUri=table_uri)[0] == "BadRequestException"
    created = transcribe.create_medical_vocabulary(VocabularyName=name, LanguageCode="en-US", VocabularyFileUri=table_uri)
    assert created["VocabularyState"] == "PENDING"
    assert _error(transcribe.create_medical_vocabulary, VocabularyName=name, LanguageCode="en-US", VocabularyFileUri=table_uri)[0] == "ConflictException"
    ready = _wait_vocabulary(transcribe, name)
    assert ready["VocabularyState"] == "READY", ready.get("FailureReason")
    assert "clubs" in __import__("httpx").get(ready["DownloadUri"], timeout=30).text
    listed = transcribe.list_medical_vocabularies(NameContains=name)["Vocabularies"]
    assert [v["VocabularyName"] for v in listed] == [name]
    # A standard vocabulary of the same name is another resource.
    # AWS: BadRequestException for a missing vocabulary (FIELD_NOTES: its .NET integration tests; issue 13 §4)
    assert _error(transcribe.get_vocabulary, VocabularyName=name)[0] == "BadRequestException"

    media = upload("cards_002")
    _run(transcribe, job_name + "-plain", media, output_bucket)
    biased = _run(transcribe, job_name, media, output_bucket, Settings={"VocabularyName": name})

    reference = manifest()["cards_002"]["text"]
    plain_text = _results(s3, job_name + "-plain")["transcripts"][0]["transcript"]
    biased_text = _results(s3, job_name)["transcripts"][0]["transcript"]
    assert biased["Settings"]["VocabularyName"] == name
    assert "clubs" not in plain_text.lower() and "clubs" in biased_text.lower()
    assert wer(reference, biased_text) < wer(reference, plain_text)

    updated = transcribe.update_medical_vocabulary(VocabularyName=name, LanguageCode="en-US", VocabularyFileUri=table_uri)
    assert updated["VocabularyState"] == "PENDING"
    assert _wait_vocabulary(transcribe, name)["VocabularyState"] == "READY"
    transcribe.delete_medical_vocabulary(VocabularyName=name)
    # AWS: BadRequestException for a missing vocabulary (FIELD_NOTES: its .NET integration tests; issue 13 §4)
    assert _error(transcribe.get_medical_vocabulary, VocabularyName=name)[0] == "BadRequestException"
    code, message = _error(_start, transcribe=transcribe, name=job_name + "-gone", media_uri=media, output_bucket=output_bucket, Settings={"VocabularyName": name})
    assert code == "BadRequestException" and "couldn't be found" in message
