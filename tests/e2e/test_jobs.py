"""A boto3 user's session: upload real speech, start jobs, read AWS-shaped transcripts back."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import botocore.exceptions
import httpx
import pytest

from tests.support import manifest, wait_for_job, wer

# Real recordings in every container the shared audio has, each transcribed for real.
FORMATS = [
    "jfk",  # flac, 44.1 kHz stereo
    "ls_61-70968-0000",  # flac, 16 kHz
    "librivox_0870",  # wav (pcm_s16le)
    "sb_spk1_snt1",  # wav
    "cards_005",  # ogg (opus)
    "sonnet_001_first9s_ogg",  # ogg (vorbis)
    "mfa_multilingual_ipa_us_3",  # flac
]
MAX_POOLED_WER = 0.15  # raw tiny.en scores about 0.03 on this set; Transcribe itself is not perfect either


def _transcript_text(transcript: dict) -> str:
    return transcript["results"]["transcripts"][0]["transcript"]


def _download(job: dict) -> dict:
    response = httpx.get(job["Transcript"]["TranscriptFileUri"], timeout=30)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def completed_jobs(transcribe, upload):
    """Starts one job per format at once (they queue on the workers), returns {item: job}."""
    names = {}
    for item in FORMATS:
        uri = upload(item)
        name = f"format-{item}-{int(time.time() * 1000)}"
        transcribe.start_transcription_job(TranscriptionJobName=name, LanguageCode="en-US", Media={"MediaFileUri": uri})
        names[item] = name
    return {item: wait_for_job(transcribe, name) for item, name in names.items()}


def test_every_format_completes_with_media_facts_filled(completed_jobs):
    items = manifest()
    for item, job in completed_jobs.items():
        assert job["TranscriptionJobStatus"] == "COMPLETED", (item, job.get("FailureReason"))
        assert job["MediaSampleRateHertz"] == items[item]["sample_rate"]
        expected_format = {"pcm_s16le": "wav", "opus": "ogg", "vorbis": "ogg"}.get(items[item]["codec"], items[item]["codec"])
        assert job["MediaFormat"] == expected_format
        assert job["Settings"] == {"ChannelIdentification": False, "ShowAlternatives": False}
        assert job["CompletionTime"] >= job["StartTime"] >= job["CreationTime"]


def test_transcripts_say_what_was_spoken(completed_jobs):
    items = manifest()
    errors = words = 0
    for item, job in completed_jobs.items():
        hypothesis = _transcript_text(_download(job))
        reference = items[item]["text"]
        n = len(reference.split())
        errors += wer(reference, hypothesis) * n
        words += n
        assert wer(reference, hypothesis) <= 0.4, (item, hypothesis)
    assert errors / words <= MAX_POOLED_WER


def test_transcript_file_is_shaped_like_amazon_transcribe(completed_jobs):
    job = completed_jobs["jfk"]
    transcript = _download(job)
    assert list(transcript) == ["jobName", "accountId", "status", "results"]
    assert transcript["jobName"] == job["TranscriptionJobName"]
    assert transcript["accountId"] == "000000000000"
    assert transcript["status"] == "COMPLETED"
    results = transcript["results"]
    assert set(results) == {"transcripts", "items", "audio_segments"}
    items = results["items"]
    assert [i["id"] for i in items] == list(range(len(items)))
    for item in items:
        (alternative,) = item["alternatives"]
        assert isinstance(alternative["confidence"], str) and 0 <= float(alternative["confidence"]) <= 1
        if item["type"] == "pronunciation":
            assert float(item["start_time"]) <= float(item["end_time"]) <= 11.1
            assert isinstance(item["start_time"], str)
        else:
            assert item["type"] == "punctuation"
            assert "start_time" not in item and alternative["confidence"] == "0.0"
            assert alternative["content"] in ".,?!;:"
    starts = [float(i["start_time"]) for i in items if i["type"] == "pronunciation"]
    assert starts == sorted(starts)
    segment_ids = [i for segment in results["audio_segments"] for i in segment["items"]]
    assert segment_ids == [i["id"] for i in items]
    assert " ".join(s["transcript"] for s in results["audio_segments"]) == _transcript_text(transcript)


def test_service_bucket_uri_is_presigned_for_15_minutes_and_reminted(transcribe, completed_jobs):
    job = completed_jobs["ls_61-70968-0000"]
    uri = job["Transcript"]["TranscriptFileUri"]
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    assert parts.path.startswith("/aws-transcribe-us-east-1-prod/000000000000/" + job["TranscriptionJobName"] + "/")
    assert parts.path.endswith("/asrOutput.json")
    assert query["X-Amz-Expires"] == ["900"]
    time.sleep(1.1)  # X-Amz-Date has one-second resolution
    again = transcribe.get_transcription_job(TranscriptionJobName=job["TranscriptionJobName"])["TranscriptionJob"]
    assert again["Transcript"]["TranscriptFileUri"] != uri
    assert _download(again) == _download(job)
    summary = transcribe.list_transcription_jobs(JobNameContains=job["TranscriptionJobName"])["TranscriptionJobSummaries"]
    assert summary[0]["OutputLocationType"] == "SERVICE_BUCKET"


@pytest.mark.parametrize(
    "output_key, expected_key",
    [
        (None, "{job}.json"),
        ("my-output-files/", "my-output-files/{job}.json"),
        ("test-files/my-transcript.json", "test-files/my-transcript.json"),
        ("test-files/test-output", "test-files/test-output.json"),
    ],
)
def test_customer_bucket_output_key_rules(transcribe, s3, upload, job_name, output_key, expected_key):
    s3.create_bucket(Bucket=f"out-{job_name[-8:]}")
    bucket = f"out-{job_name[-8:]}"
    request = dict(
        TranscriptionJobName=job_name,
        LanguageCode="en-GB",
        Media={"MediaFileUri": upload("sb_spk2_snt5")},
        OutputBucketName=bucket,
    )
    if output_key:
        request["OutputKey"] = output_key
    transcribe.start_transcription_job(**request)
    job = wait_for_job(transcribe, job_name)
    key = expected_key.format(job=job_name)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["Transcript"]["TranscriptFileUri"] == f"https://s3.us-east-1.amazonaws.com/{bucket}/{key}"
    stored = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert stored["jobName"] == job_name
    assert wer(manifest()["sb_spk2_snt5"]["text"], _transcript_text(stored)) <= 0.2
    summary = transcribe.list_transcription_jobs(JobNameContains=job_name)["TranscriptionJobSummaries"]
    assert summary[0]["OutputLocationType"] == "CUSTOMER_BUCKET"


def test_start_answers_like_aws_and_get_shows_empty_transcript_until_done(transcribe, upload, job_name):
    started = transcribe.start_transcription_job(
        TranscriptionJobName=job_name, LanguageCode="en-GB", Media={"MediaFileUri": upload("sonnet_001")}
    )["TranscriptionJob"]
    assert started["TranscriptionJobStatus"] in ("IN_PROGRESS", "QUEUED")
    assert set(started) <= {"TranscriptionJobName", "TranscriptionJobStatus", "LanguageCode", "Media", "CreationTime", "StartTime"}
    assert "Transcript" not in started and "Settings" not in started
    running = transcribe.get_transcription_job(TranscriptionJobName=job_name)["TranscriptionJob"]
    assert running["TranscriptionJobStatus"] in ("IN_PROGRESS", "QUEUED")
    assert running["Transcript"] == {}
    assert running["Settings"] == {"ChannelIdentification": False, "ShowAlternatives": False}
    assert wait_for_job(transcribe, job_name)["TranscriptionJobStatus"] == "COMPLETED"


def test_api_answers_while_a_long_job_runs(transcribe, upload, job_name):
    transcribe.start_transcription_job(
        TranscriptionJobName=job_name, LanguageCode="en-US", Media={"MediaFileUri": upload("sonnet_002")}
    )
    seen = []
    for _ in range(20):
        seen.append(transcribe.get_transcription_job(TranscriptionJobName=job_name)["TranscriptionJob"]["TranscriptionJobStatus"])
        transcribe.list_transcription_jobs(Status="IN_PROGRESS")
    assert "IN_PROGRESS" in seen or "QUEUED" in seen
    assert wait_for_job(transcribe, job_name)["TranscriptionJobStatus"] == "COMPLETED"


def test_silence_completes_with_an_empty_transcript(transcribe, upload, job_name):
    transcribe.start_transcription_job(
        TranscriptionJobName=job_name, LanguageCode="sv-SE", Media={"MediaFileUri": upload("nst_sv_u0016001_silence")}
    )
    job = wait_for_job(transcribe, job_name)
    assert job["TranscriptionJobStatus"] == "COMPLETED"
    assert _download(job)["results"] == {"transcripts": [{"transcript": ""}], "items": [], "audio_segments": []}


def test_other_languages_use_the_multilingual_model(transcribe, upload, job_name):
    transcribe.start_transcription_job(
        TranscriptionJobName=job_name, LanguageCode="de-DE", Media={"MediaFileUri": upload("cheetah_test_de")}
    )
    job = wait_for_job(transcribe, job_name)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    text = _transcript_text(_download(job))
    assert {"Werbung", "vermittelt", "Eindruck"} <= set(text.replace(".", "").split())


def test_list_filters_sorts_and_pages(transcribe, upload, s3):
    uri = upload("cards_001")
    prefix = f"ListCase{int(time.time())}"
    names = [f"{prefix}-{i}" for i in range(7)]
    for name in names:
        transcribe.start_transcription_job(TranscriptionJobName=name, LanguageCode="en-US", Media={"MediaFileUri": uri})
        time.sleep(0.01)  # distinct creation times
    for name in names:
        wait_for_job(transcribe, name)

    first = transcribe.list_transcription_jobs(JobNameContains=prefix.lower())  # case-insensitive
    assert [s["TranscriptionJobName"] for s in first["TranscriptionJobSummaries"]] == names[::-1][:5]  # default 5, newest first
    second = transcribe.list_transcription_jobs(JobNameContains=prefix, NextToken=first["NextToken"])
    assert [s["TranscriptionJobName"] for s in second["TranscriptionJobSummaries"]] == names[::-1][5:]
    assert "NextToken" not in second

    completed = transcribe.list_transcription_jobs(Status="COMPLETED", JobNameContains=prefix, MaxResults=100)
    assert completed["Status"] == "COMPLETED"
    assert len(completed["TranscriptionJobSummaries"]) == 7
    assert transcribe.list_transcription_jobs(Status="FAILED", JobNameContains=prefix)["TranscriptionJobSummaries"] == []

    with pytest.raises(botocore.exceptions.ClientError) as error:
        transcribe.list_transcription_jobs(NextToken="not-a-token")
    assert error.value.response["Error"]["Code"] == "BadRequestException"


def test_delete_removes_the_job_and_its_service_bucket_transcript(transcribe, upload, job_name):
    transcribe.start_transcription_job(
        TranscriptionJobName=job_name, LanguageCode="en-US", Media={"MediaFileUri": upload("cards_003")}
    )
    job = wait_for_job(transcribe, job_name)
    uri = job["Transcript"]["TranscriptFileUri"]
    assert httpx.get(uri).status_code == 200
    response = transcribe.delete_transcription_job(TranscriptionJobName=job_name)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(botocore.exceptions.ClientError) as error:
        transcribe.get_transcription_job(TranscriptionJobName=job_name)
    assert error.value.response["Error"]["Message"] == (
        "The requested job couldn't be found. Check the job name and try your request again."
    )
    assert httpx.get(uri).status_code == 404
    # The name is free again.
    transcribe.start_transcription_job(
        TranscriptionJobName=job_name, LanguageCode="en-US", Media={"MediaFileUri": upload("cards_003")}
    )
    assert wait_for_job(transcribe, job_name)["TranscriptionJobStatus"] == "COMPLETED"


def test_botocore_waiter_works(transcribe, upload, job_name):
    transcribe.start_transcription_job(
        TranscriptionJobName=job_name, LanguageCode="en-US", Media={"MediaFileUri": upload("sr_english_123")}
    )
    transcribe.get_waiter("transcription_job_completed").wait(
        TranscriptionJobName=job_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    job = transcribe.get_transcription_job(TranscriptionJobName=job_name)["TranscriptionJob"]
    assert _transcript_text(_download(job)).lower().startswith("one, two, three")


def test_health_reports_s3_and_models(emulator):
    health = emulator.health()
    assert health["status"] == "ok"
    assert health["s3_endpoint"] == emulator.s3_endpoint
    assert {m["name"] for m in health["models"]} >= {"tiny.en", "base"}
