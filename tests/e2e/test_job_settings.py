"""Job settings that really work, through boto3: channels, language identification,
vocabularies, vocabulary filters, subtitles, tags."""

from __future__ import annotations

import json
import time

import botocore.exceptions
import httpx
import pytest

from emulator.service.pipeline import NO_SPEECH_FOR_LANGUAGE_ID
from tests.support import CARD_GAMES, manifest, speak, wait_for_job, wer


def _download(uri: str) -> httpx.Response:
    response = httpx.get(uri, timeout=30)
    response.raise_for_status()
    return response


def _transcript(job: dict) -> dict:
    return _download(job["Transcript"]["TranscriptFileUri"]).json()


def _text(transcript: dict) -> str:
    return transcript["results"]["transcripts"][0]["transcript"]


def _run(transcribe, job_name: str, **request) -> dict:
    transcribe.start_transcription_job(TranscriptionJobName=job_name, **request)
    return wait_for_job(transcribe, job_name)


def _error(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as error:
        call(**kwargs)
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def _wait_vocabulary(transcribe, name: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        vocabulary = transcribe.get_vocabulary(VocabularyName=name)
        if vocabulary["VocabularyState"] != "PENDING":
            return vocabulary
        time.sleep(0.1)
    raise TimeoutError(name)


# --- channel identification -----------------------------------------------------------------


def test_channel_identification_transcribes_each_channel(transcribe, upload, job_name):
    job = _run(
        transcribe,
        job_name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload("fw_stereo_diarization")},
        Settings={"ChannelIdentification": True},
    )
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["Settings"]["ChannelIdentification"] is True
    results = _transcript(job)["results"]
    channels = results["channel_labels"]
    assert channels["number_of_channels"] == 2
    assert [c["channel_label"] for c in channels["channels"]] == ["ch_0", "ch_1"]
    expected = manifest()["fw_stereo_diarization"]["channel_text"]
    for index, channel in enumerate(channels["channels"]):
        words = " ".join(i["alternatives"][0]["content"] for i in channel["items"] if i["type"] == "pronunciation")
        assert wer(expected[str(index)], words) <= 0.2, (index, words)
        assert all(i["channel_label"] == f"ch_{index}" for i in channel["items"])
    assert [i["id"] for i in results["items"]] == list(range(len(results["items"])))
    assert all("channel_label" in i for i in results["items"])
    assert all("channel_label" in s for s in results["audio_segments"])
    assert wer(manifest()["fw_stereo_diarization"]["text"], _text({"results": results})) <= 0.2


# --- language identification ---------------------------------------------------------------


def test_identify_language_among_options(transcribe, upload, job_name):
    job = _run(
        transcribe,
        job_name,
        IdentifyLanguage=True,
        LanguageOptions=["en-US", "fr-FR", "de-DE"],
        Media={"MediaFileUri": upload("cheetah_test_fr")},
    )
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["LanguageCode"] == "fr-FR"
    assert job["IdentifyLanguage"] is True
    assert 0.5 < job["IdentifiedLanguageScore"] <= 1
    results = _transcript(job)["results"]
    assert results["language_code"] == "fr-FR"
    scores = results["language_identification"]
    assert scores[0]["code"] == "fr-FR" and isinstance(scores[0]["score"], str)
    assert {s["code"] for s in scores} <= {"en-US", "fr-FR", "de-DE"}
    summary = transcribe.list_transcription_jobs(JobNameContains=job_name)["TranscriptionJobSummaries"][0]
    assert summary["IdentifyLanguage"] is True and summary["LanguageCode"] == "fr-FR"


def test_identify_language_without_options_and_english_uses_the_english_model(transcribe, upload, job_name):
    job = _run(transcribe, job_name, IdentifyLanguage=True, Media={"MediaFileUri": upload("librivox_0870")})
    assert job["LanguageCode"] == "en-US"
    assert wer(manifest()["librivox_0870"]["text"], _text(_transcript(job))) <= 0.1


def test_identify_language_on_silence_fails_like_aws(transcribe, upload, job_name):
    job = _run(transcribe, job_name, IdentifyLanguage=True, Media={"MediaFileUri": upload("nst_sv_u0016001_silence")})
    assert job["TranscriptionJobStatus"] == "FAILED"
    assert job["FailureReason"] == NO_SPEECH_FOR_LANGUAGE_ID


# --- vocabularies ---------------------------------------------------------------------------


def test_a_vocabulary_fixes_a_rare_term(transcribe, upload, job_name):
    """tiny.en hears "Queen of Clothes" in cards_002; a vocabulary with "clubs" fixes it."""
    uri = upload("cards_002")
    plain = _text(_transcript(_run(transcribe, job_name + "-plain", LanguageCode="en-US", Media={"MediaFileUri": uri})))
    assert "clubs" not in plain.lower()

    vocabulary = f"cards-{job_name[-8:]}"
    created = transcribe.create_vocabulary(VocabularyName=vocabulary, LanguageCode="en-US", Phrases=["clubs"])
    assert created["VocabularyState"] == "PENDING"
    assert _wait_vocabulary(transcribe, vocabulary)["VocabularyState"] == "READY"
    biased = _run(
        transcribe,
        job_name,
        LanguageCode="en-US",
        Media={"MediaFileUri": uri},
        Settings={"VocabularyName": vocabulary},
    )
    assert biased["Settings"]["VocabularyName"] == vocabulary
    text = _text(_transcript(biased))
    assert "clubs" in text.lower()
    assert wer(manifest()["cards_002"]["text"], text) < wer(manifest()["cards_002"]["text"], plain)


def test_vocabulary_table_from_s3_applies_display_as(transcribe, s3, upload, job_name, tmp_path):
    table = tmp_path / "vocabulary.txt"
    table.write_text("Phrase\tIPA\tSoundsLike\tDisplayAs\nclubs\t\t\tClubs (suit)\n")
    vocabulary_uri = upload(table, key=f"vocabularies/{job_name}.txt")
    vocabulary = f"table-{job_name[-8:]}"
    transcribe.create_vocabulary(VocabularyName=vocabulary, LanguageCode="en-US", VocabularyFileUri=vocabulary_uri)
    ready = _wait_vocabulary(transcribe, vocabulary)
    assert ready["VocabularyState"] == "READY", ready.get("FailureReason")
    assert "clubs" in _download(ready["DownloadUri"]).text
    job = _run(
        transcribe,
        job_name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload("cards_002")},
        Settings={"VocabularyName": vocabulary},
    )
    assert "Clubs (suit)" in _text(_transcript(job))


def test_vocabulary_errors_and_lifecycle(transcribe, upload, job_name, tmp_path):
    name = f"life-{job_name[-8:]}"
    transcribe.create_vocabulary(VocabularyName=name, LanguageCode="en-GB", Phrases=["alpha"])
    assert _error(transcribe.create_vocabulary, VocabularyName=name, LanguageCode="en-GB", Phrases=["x"])[0] == "ConflictException"
    assert _error(transcribe.create_vocabulary, VocabularyName=name + "x", LanguageCode="en-GB")[0] == "BadRequestException"
    _wait_vocabulary(transcribe, name)
    listed = transcribe.list_vocabularies(NameContains=name.upper())["Vocabularies"]
    assert [v["VocabularyName"] for v in listed] == [name]
    assert transcribe.update_vocabulary(VocabularyName=name, LanguageCode="en-GB", Phrases=["beta"])["VocabularyState"] == "PENDING"
    assert _wait_vocabulary(transcribe, name)["VocabularyState"] == "READY"
    # A job in another language can't use it.
    code, message = _error(
        transcribe.start_transcription_job,
        TranscriptionJobName=job_name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload("cards_001")},
        Settings={"VocabularyName": name},
    )
    assert code == "BadRequestException"
    transcribe.delete_vocabulary(VocabularyName=name)
    # AWS: BadRequestException for a missing vocabulary (FIELD_NOTES: its .NET integration tests; issue 13 §4)
    assert _error(transcribe.get_vocabulary, VocabularyName=name)[0] == "BadRequestException"
    code, message = _error(
        transcribe.start_transcription_job,
        TranscriptionJobName=job_name,
        LanguageCode="en-GB",
        Media={"MediaFileUri": upload("cards_001")},
        Settings={"VocabularyName": name},
    )
    assert code == "BadRequestException" and "couldn't be found" in message


def test_malformed_vocabulary_table_fails_with_a_reason(transcribe, upload, job_name, tmp_path):
    table = tmp_path / "bad.txt"
    table.write_text("Nonsense\tHeader\nclubs\tx\n")
    name = f"bad-{job_name[-8:]}"
    transcribe.create_vocabulary(
        VocabularyName=name, LanguageCode="en-US", VocabularyFileUri=upload(table, key=f"vocabularies/{name}.txt")
    )
    failed = _wait_vocabulary(transcribe, name)
    assert failed["VocabularyState"] == "FAILED"
    assert failed["FailureReason"]


# --- vocabulary filters ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["mask", "remove", "tag"])
def test_vocabulary_filter_methods(transcribe, upload, job_name, method):
    name = f"filter-{method}-{job_name[-8:]}"
    transcribe.create_vocabulary_filter(VocabularyFilterName=name, LanguageCode="en-US", Words=["country"])
    job = _run(
        transcribe,
        job_name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload("jfk")},
        Settings={"VocabularyFilterName": name, "VocabularyFilterMethod": method},
    )
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    results = _transcript(job)["results"]
    text = _text({"results": results})
    contents = [i["alternatives"][0]["content"] for i in results["items"]]
    if method == "mask":
        assert "country" not in text and text.count("***") == 2
        assert contents.count("***") == 2
    elif method == "remove":
        assert "country" not in text and "***" not in text
        assert "country" not in contents
        assert [i["id"] for i in results["items"]] == list(range(len(results["items"])))
    else:
        assert text.count("country") == 2
        tagged = [i for i in results["items"] if i.get("vocabularyFilterMatch")]
        assert [i["alternatives"][0]["content"] for i in tagged] == ["country", "country"]


def test_vocabulary_filter_crud(transcribe, job_name):
    name = f"crud-{job_name[-8:]}"
    created = transcribe.create_vocabulary_filter(VocabularyFilterName=name, LanguageCode="en-US", Words=["darn"])
    assert created["VocabularyFilterName"] == name
    got = transcribe.get_vocabulary_filter(VocabularyFilterName=name)
    assert "darn" in _download(got["DownloadUri"]).text
    transcribe.update_vocabulary_filter(VocabularyFilterName=name, Words=["heck"])
    assert "heck" in _download(transcribe.get_vocabulary_filter(VocabularyFilterName=name)["DownloadUri"]).text
    assert [f["VocabularyFilterName"] for f in transcribe.list_vocabulary_filters(NameContains=name)["VocabularyFilters"]] == [name]
    transcribe.delete_vocabulary_filter(VocabularyFilterName=name)
    assert _error(transcribe.get_vocabulary_filter, VocabularyFilterName=name)[0] == "NotFoundException"


def test_filter_name_without_method_is_refused(transcribe, upload, job_name):
    client = transcribe
    code, message = _error(
        client.start_transcription_job,
        TranscriptionJobName=job_name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload("cards_001")},
        Settings={"VocabularyFilterName": "anything"},
    )
    assert code == "BadRequestException" and "VocabularyFilterMethod" in message


def test_max_speaker_labels_needs_show_speaker_labels(transcribe, upload, job_name):
    code, message = _error(
        transcribe.start_transcription_job,
        TranscriptionJobName=job_name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload("cards_001")},
        Settings={"MaxSpeakerLabels": 2},
    )
    assert code == "BadRequestException" and "ShowSpeakerLabels" in message


# --- subtitles ------------------------------------------------------------------------------


def test_subtitles_are_written_beside_the_transcript(transcribe, s3, upload, job_name):
    bucket = f"subs-{job_name[-8:]}"
    s3.create_bucket(Bucket=bucket)
    job = _run(
        transcribe,
        job_name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload("jfk")},
        OutputBucketName=bucket,
        OutputKey="captions/",
        Subtitles={"Formats": ["srt", "vtt"], "OutputStartIndex": 1},
    )
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    subtitles = job["Subtitles"]
    assert subtitles["Formats"] == ["srt", "vtt"] and subtitles["OutputStartIndex"] == 1
    assert subtitles["SubtitleFileUris"] == [
        f"https://s3.us-east-1.amazonaws.com/{bucket}/captions/{job_name}.srt",
        f"https://s3.us-east-1.amazonaws.com/{bucket}/captions/{job_name}.vtt",
    ]
    srt = s3.get_object(Bucket=bucket, Key=f"captions/{job_name}.srt")["Body"].read().decode()
    vtt = s3.get_object(Bucket=bucket, Key=f"captions/{job_name}.vtt")["Body"].read().decode()
    assert srt.startswith("1\n00:00:00,")
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.")
    assert "fellow Americans" in srt and "fellow Americans" in vtt


def test_subtitles_without_formats_complete_with_no_subtitle_files(transcribe, upload, job_name):
    # Formats is optional in botocore's Subtitles shape: the job runs and writes no subtitle file.
    job = _run(transcribe, job_name, LanguageCode="en-US", Media={"MediaFileUri": upload("jfk")}, Subtitles={})
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    # AWS shows no Subtitles (so no OutputStartIndex) unless subtitle files were asked for (issue 13 §4).
    assert "Subtitles" not in job


def test_service_bucket_subtitles_are_presigned(transcribe, upload, job_name):
    job = _run(
        transcribe,
        job_name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload("ls_61-70968-0000")},
        Subtitles={"Formats": ["vtt"]},
    )
    (uri,) = job["Subtitles"]["SubtitleFileUris"]
    assert "X-Amz-Signature=" in uri
    assert _download(uri).text.startswith("WEBVTT\n\n0\n")


# --- tags -----------------------------------------------------------------------------------


def test_tags_on_jobs_and_vocabularies(transcribe, upload, job_name):
    job = _run(
        transcribe,
        job_name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload("cards_001")},
        Tags=[{"Key": "team", "Value": "speech"}],
    )
    assert job["Tags"] == [{"Key": "team", "Value": "speech"}]
    arn = f"arn:aws:transcribe:us-east-1:000000000000:transcription-job/{job_name}"
    assert transcribe.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "speech"}]
    transcribe.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "asr"}, {"Key": "env", "Value": "test"}])
    transcribe.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert transcribe.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "asr"}]
    assert transcribe.get_transcription_job(TranscriptionJobName=job_name)["TranscriptionJob"]["Tags"] == [
        {"Key": "team", "Value": "asr"}
    ]

    vocabulary = f"tagged-{job_name[-8:]}"
    transcribe.create_vocabulary(
        VocabularyName=vocabulary, LanguageCode="en-US", Phrases=["alpha"], Tags=[{"Key": "k", "Value": "v"}]
    )
    vocabulary_arn = f"arn:aws:transcribe:us-east-1:000000000000:vocabulary/{vocabulary}"
    assert transcribe.list_tags_for_resource(ResourceArn=vocabulary_arn)["Tags"] == [{"Key": "k", "Value": "v"}]

    missing = f"arn:aws:transcribe:us-east-1:000000000000:transcription-job/{job_name}-nope"
    assert _error(transcribe.list_tags_for_resource, ResourceArn=missing)[0] == "NotFoundException"
    assert _error(transcribe.list_tags_for_resource, ResourceArn="arn:aws:s3:::bucket")[0] == "BadRequestException"


def test_toxicity_detection_is_refused_outside_us_english(transcribe, upload, job_name):
    # AWS detects toxic speech in en-US only (tests/e2e/test_toxicity.py runs it).
    code, message = _error(
        transcribe.start_transcription_job,
        TranscriptionJobName=job_name,
        LanguageCode="en-GB",
        Media={"MediaFileUri": upload("cards_001")},
        ToxicityDetection=[{"ToxicityCategories": ["ALL"]}],
    )
    assert code == "BadRequestException" and "requires LanguageCode en-US" in message


def test_identify_multiple_languages_finds_each_language(transcribe, upload, job_name):
    """fw_multilingual_en_de: English for about 29 s, then German."""
    job = _run(
        transcribe,
        job_name,
        IdentifyMultipleLanguages=True,
        LanguageOptions=["en-US", "de-DE", "fr-FR"],
        Media={"MediaFileUri": upload("fw_multilingual_en_de")},
    )
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    durations = {c["LanguageCode"]: c["DurationInSeconds"] for c in job["LanguageCodes"]}
    assert set(durations) == {"en-US", "de-DE"}
    assert 0 < job["IdentifiedLanguageScore"] <= 1  # multi-language jobs carry it too (issue 13 §4)
    assert all(seconds > 15 for seconds in durations.values())
    results = _transcript(job)["results"]
    assert {c["language_code"] for c in results["language_codes"]} == {"en-US", "de-DE"}
    text = _text({"results": results})
    assert "Permission is hereby granted" in text
    assert "Software" in text.split("granted", 1)[1]  # German part names "Software" too
    starts = [float(i["start_time"]) for i in results["items"] if i["type"] == "pronunciation"]
    assert starts == sorted(starts) and starts[-1] > 30


def test_deferred_execution_and_the_concurrency_limit(tmp_path):
    """A quota of one concurrent job (lowered from AWS's default so one long job reaches it)."""
    from tests.support import EmulatorProcess, audio_path

    emulator = EmulatorProcess(tmp_path / "data", env={"TRANSCRIBE_EMULATOR_MAX_CONCURRENT_JOBS": "1"}).start()
    try:
        client, s3 = emulator.transcribe(), emulator.s3()
        s3.create_bucket(Bucket="media")
        s3.upload_file(str(audio_path("sonnet_001")), "media", "long.mp3")
        s3.upload_file(str(audio_path("cards_001")), "media", "short.wav")
        media = {"MediaFileUri": "s3://media/long.mp3"}
        client.start_transcription_job(TranscriptionJobName="first", LanguageCode="en-US", Media=media)
        code, message = _error(
            client.start_transcription_job,
            TranscriptionJobName="refused",
            LanguageCode="en-US",
            Media={"MediaFileUri": "s3://media/short.wav"},
        )
        assert code == "LimitExceededException" and "AllowDeferredExecution" in message
        deferred = client.start_transcription_job(
            TranscriptionJobName="deferred",
            LanguageCode="en-US",
            Media={"MediaFileUri": "s3://media/short.wav"},
            JobExecutionSettings={
                "AllowDeferredExecution": True,
                "DataAccessRoleArn": "arn:aws:iam::000000000000:role/transcribe",
            },
        )["TranscriptionJob"]
        assert deferred["TranscriptionJobStatus"] == "QUEUED"
        assert "StartTime" not in deferred
        assert wait_for_job(client, "deferred")["TranscriptionJobStatus"] == "COMPLETED"
        assert _error(client.get_transcription_job, TranscriptionJobName="refused")[0] == "BadRequestException"
    finally:
        emulator.stop()


# --- PII redaction -------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["redacted", "redacted_and_unredacted"])
def test_content_redaction_masks_pii_in_real_speech(transcribe, s3, upload, job_name, tmp_path, output):
    speech = speak(tmp_path, "Hello, my name is John Smith and I live in Seattle.")
    bucket = f"pii-{job_name[-8:]}"
    s3.create_bucket(Bucket=bucket)
    job = _run(
        transcribe,
        job_name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload(speech, key=f"{job_name}.wav")},
        OutputBucketName=bucket,
        ContentRedaction={"RedactionType": "PII", "RedactionOutput": output, "PiiEntityTypes": ["NAME"]},
    )
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["ContentRedaction"]["RedactionOutput"] == output
    redacted_uri = job["Transcript"]["RedactedTranscriptFileUri"]
    assert redacted_uri == f"https://s3.us-east-1.amazonaws.com/{bucket}/redacted-{job_name}.json"
    redacted = json.loads(s3.get_object(Bucket=bucket, Key=f"redacted-{job_name}.json")["Body"].read())
    assert redacted["isRedacted"] is True
    text = _text(redacted)
    assert "John" not in text and "Smith" not in text and "[PII] [PII]" in text
    assert "Seattle" in text  # only NAME was asked for
    masked = [i for i in redacted["results"]["items"] if i["alternatives"][0]["content"] == "[PII]"]
    assert len(masked) == 2
    assert all(i["alternatives"][0]["redactions"][0]["type"] == "NAME" for i in masked)
    assert all("confidence" not in i["alternatives"][0] for i in masked)
    if output == "redacted":
        assert "TranscriptFileUri" not in job["Transcript"]
    else:
        plain = json.loads(s3.get_object(Bucket=bucket, Key=f"{job_name}.json")["Body"].read())
        assert plain["isRedacted"] is False and "John Smith" in _text(plain)


def test_content_redaction_needs_en_us(transcribe, upload, job_name):
    code, message = _error(
        transcribe.start_transcription_job,
        TranscriptionJobName=job_name,
        LanguageCode="de-DE",
        Media={"MediaFileUri": upload("cards_001")},
        ContentRedaction={"RedactionType": "PII", "RedactionOutput": "redacted"},
    )
    assert code == "BadRequestException" and "ContentRedaction" in message


# --- alternatives --------------------------------------------------------------------------


def test_show_alternatives_gives_real_n_best_hypotheses(transcribe, upload, job_name):
    """tiny.en's best reading of librivox_0880 is "old-sposed"; "ill-disposed" is among its n-best."""
    job = _run(
        transcribe,
        job_name,
        LanguageCode="en-US",
        Media={"MediaFileUri": upload("librivox_0880")},
        Settings={"ShowAlternatives": True, "MaxAlternatives": 3},
    )
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["Settings"]["ShowAlternatives"] is True and job["Settings"]["MaxAlternatives"] == 3
    results = _transcript(job)["results"]
    keys = list(results)
    assert keys.index("segments") == keys.index("items") + 1  # digest §4.4's order
    segments = results["segments"]
    assert segments and all(1 <= len(s["alternatives"]) <= 3 for s in segments)
    main_words = [i["alternatives"][0]["content"] for i in results["items"] if i["type"] == "pronunciation"]
    first = [i["content"] for s in segments for i in s["alternatives"][0]["items"] if i["type"] == "pronunciation"]
    assert first == main_words
    transcripts = [a["transcript"] for s in segments for a in s["alternatives"]]
    assert len(set(transcripts)) == len(transcripts), "alternatives are distinct hypotheses, not copies"
    assert any("ill-disposed" in t.lower() or "ill disposed" in t.lower() for t in transcripts[1:])
    for segment in segments:
        for alternative in segment["alternatives"]:
            for item in alternative["items"]:
                assert isinstance(item["confidence"], str)
                if item["type"] == "pronunciation":
                    assert float(segment["start_time"]) - 0.01 <= float(item["start_time"]) <= float(item["end_time"])


# --- custom language models ----------------------------------------------------------------


def test_custom_language_model_trains_and_biases_a_job(transcribe, s3, upload, job_name, tmp_path):
    """Plain tiny.en hears "four of close" in cards_005; a model trained on card-game text fixes it."""
    training = tmp_path / "cards.txt"
    training.write_text(CARD_GAMES)
    upload(training, key=f"clm-{job_name}/train/cards.txt")
    model = f"cards-{job_name[-8:]}"
    created = transcribe.create_language_model(
        LanguageCode="en-US",
        BaseModelName="WideBand",
        ModelName=model,
        InputDataConfig={
            "S3Uri": f"s3://media/clm-{job_name}/train/",
            "DataAccessRoleArn": "arn:aws:iam::000000000000:role/transcribe",
        },
    )
    assert created["ModelStatus"] == "IN_PROGRESS"
    deadline = time.monotonic() + 60
    while (described := transcribe.describe_language_model(ModelName=model)["LanguageModel"])["ModelStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert described["ModelStatus"] == "COMPLETED", described.get("FailureReason")
    assert model in [m["ModelName"] for m in transcribe.list_language_models(NameContains=model)["Models"]]

    uri = upload("cards_005")
    plain = _text(_transcript(_run(transcribe, job_name + "-plain", LanguageCode="en-US", Media={"MediaFileUri": uri})))
    biased_job = _run(
        transcribe, job_name, LanguageCode="en-US", Media={"MediaFileUri": uri}, ModelSettings={"LanguageModelName": model}
    )
    assert biased_job["ModelSettings"] == {"LanguageModelName": model}
    biased = _text(_transcript(biased_job))
    assert "clubs" not in plain.lower() and "clubs" in biased.lower()
    reference = manifest()["cards_005"]["text"]
    assert wer(reference, biased) < wer(reference, plain)

    code, _ = _error(
        transcribe.start_transcription_job,
        TranscriptionJobName=job_name + "-de",
        LanguageCode="de-DE",
        Media={"MediaFileUri": uri},
        ModelSettings={"LanguageModelName": model},
    )
    assert code == "BadRequestException"
    transcribe.delete_language_model(ModelName=model)
    assert _error(transcribe.describe_language_model, ModelName=model)[0] == "NotFoundException"
