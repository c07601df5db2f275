"""TranscribeAudio through boto3 against the session emulator, on real speech: the transcript in
the response (botocore `TranscriptResponse`), each setting's effect, and the audio problems
answered as BadRequestException with their `Reason` (never a 5xx)."""

from __future__ import annotations

import io
import json
import threading
import time
import wave

import boto3
import httpx
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support import CREDENTIALS, audio_path, manifest, speak, wer

JFK = manifest()["jfk"]["text"]


@pytest.fixture(scope="module")
def client(emulator):
    """A client that waits out LimitExceededException (a job of another module may hold the
    one worker), as the SDK's standard retry mode does for throttling."""
    return _client(emulator, retries={"mode": "standard", "max_attempts": 10})


@pytest.fixture(scope="module")
def jfk(client):
    return client.transcribe_audio(Media={"MediaBytes": audio_path("jfk").read_bytes()}, Language="en")


def _client(emulator, **config):
    return boto3.client("transcribe", endpoint_url=emulator.endpoint, config=Config(**config), **CREDENTIALS)


def _error(call, **params) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value


def _wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


def _words(results: dict) -> list[dict]:
    return [i for i in results["Items"] if i["Content"] not in ".,?!;:"]


def test_inline_bytes_give_the_transcript_with_timed_items(jfk):
    response = jfk["TranscriptResponse"]
    results = response["Results"]
    assert wer(JFK, results["Transcript"]) < 0.1
    items = results["Items"]
    assert [i["Id"] for i in items] == list(range(len(items)))
    for item in items:
        assert isinstance(item["StartTime"], float) and isinstance(item["EndTime"], float)
        assert 0.0 <= item["StartTime"] <= item["EndTime"] <= 11.1
        assert item["LanguageCode"] == "en-US"
        assert not {"SpeakerLabel", "ChannelLabel", "VocabularyFilterMatch", "Redactions"} & set(item)
    starts = [i["StartTime"] for i in items]
    assert starts == sorted(starts)
    assert " ".join(i["Content"] for i in _words(results)).lower().startswith("and so my fellow americans")
    assert response["Metadata"] == {"MediaFormat": "flac", "MediaSampleRateHertz": 44100}
    assert "RedactedResults" not in response


def test_s3_uri(client, upload):
    item = manifest()["ls_61-70968-0000"]
    response = client.transcribe_audio(Media={"MediaFileUri": upload("ls_61-70968-0000")}, Language="en")
    assert wer(item["text"], response["TranscriptResponse"]["Results"]["Transcript"]) < 0.2
    assert response["TranscriptResponse"]["Metadata"]["MediaSampleRateHertz"] == 16000


def test_an_s3_https_url_maps_to_the_emulators_s3(client, upload, media_bucket):
    upload("cards_002")
    uri = f"https://{media_bucket}.s3.us-east-1.amazonaws.com/cards_002.wav"
    response = client.transcribe_audio(Media={"MediaFileUri": uri}, Language="en")
    assert "queen" in response["TranscriptResponse"]["Results"]["Transcript"].lower()  # "four queen of clubs"


def test_another_http_url_is_refused_and_never_fetched(client):
    error = _error(client.transcribe_audio, Media={"MediaFileUri": "https://example.com/speech.wav"}, Language="en")
    assert error.response["Error"]["Code"] == "BadRequestException"
    assert "--allow-http-media" in error.response["Error"]["Message"]
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_missing_s3_object_is_media_download_failed(client, media_bucket):
    error = _error(client.transcribe_audio, Media={"MediaFileUri": f"s3://{media_bucket}/no-such.wav"}, Language="en")
    assert error.response["Error"]["Code"] == "BadRequestException"
    assert error.response["Reason"] == "mediaDownloadFailed"


def test_speaker_labels_on_two_speakers(client, upload):
    response = client.transcribe_audio(
        Media={"MediaFileUri": upload("pyannote_sample")}, Language="en", ShowSpeakerLabels=True, MaxSpeakerLabels=4
    )
    transcript = response["TranscriptResponse"]
    assert transcript["Metadata"]["SpeakersCount"] == 2
    labels = {i["SpeakerLabel"] for i in transcript["Results"]["Items"]}
    assert labels == {"spk_0", "spk_1"}


def test_inline_vocabulary_display_as(client):
    response = client.transcribe_audio(
        Media={"MediaBytes": audio_path("cards_002").read_bytes()},
        Language="en",
        VocabularySettings=[{"Language": "en", "Phrases": [{"Text": "clubs", "DisplayAs": "Clubs (suit)"}]}],
    )
    assert "Clubs (suit)" in response["TranscriptResponse"]["Results"]["Transcript"]


def test_inline_vocabulary_filter_masks(client):
    response = client.transcribe_audio(
        Media={"MediaBytes": audio_path("jfk").read_bytes()},
        Language="en",
        VocabularyFilterSettings={
            "VocabularyFilterMethod": "mask",
            "Filters": [{"Language": "en", "Words": ["country"]}],
        },
    )
    results = response["TranscriptResponse"]["Results"]
    assert "country" not in results["Transcript"].lower() and "***" in results["Transcript"]
    assert all("VocabularyFilterMatch" in i for i in results["Items"])
    masked = [i for i in results["Items"] if i["VocabularyFilterMatch"]]
    assert masked and all(i["Content"] == "***" for i in masked)


def test_a_named_vocabulary_filter_tags(client, transcribe):
    transcribe.create_vocabulary_filter(VocabularyFilterName="sync-country", LanguageCode="en-US", Words=["country"])
    response = client.transcribe_audio(
        Media={"MediaBytes": audio_path("jfk").read_bytes()},
        Language="en",
        VocabularyFilterSettings={
            "VocabularyFilterMethod": "tag",
            "Filters": [{"Language": "en", "VocabularyFilterName": "sync-country"}],
        },
    )
    results = response["TranscriptResponse"]["Results"]
    tagged = {i["Content"].lower() for i in results["Items"] if i["VocabularyFilterMatch"]}
    assert tagged == {"country"} and "country" in results["Transcript"]


def test_a_missing_named_vocabulary_is_bad_request(client):
    error = _error(
        client.transcribe_audio,
        Media={"MediaBytes": audio_path("cards_002").read_bytes()},
        Language="en",
        VocabularySettings=[{"Language": "en", "VocabularyName": "no-such-vocabulary"}],
    )
    assert error.response["Error"]["Code"] == "BadRequestException"
    assert "Reason" not in error.response


def test_channel_identification_labels_each_channel(client):
    response = client.transcribe_audio(
        Media={"MediaBytes": audio_path("jfk").read_bytes()}, Language="en", ChannelIdentification=True
    )
    transcript = response["TranscriptResponse"]
    assert transcript["Metadata"]["NumberOfChannels"] == 2
    labels = [i["ChannelLabel"] for i in transcript["Results"]["Items"]]
    assert set(labels) == {"ch_0", "ch_1"} and labels == sorted(labels)  # ch_0's text, then ch_1's
    assert transcript["Results"]["Transcript"].lower().count("ask not what your country") == 2


def test_content_redaction_puts_redacted_results_beside_results(client, tmp_path):
    speech = speak(tmp_path, "Hello, my name is John Smith and I live in Seattle.")
    response = client.transcribe_audio(
        Media={"MediaBytes": speech.read_bytes()},
        Language="en",
        ContentRedaction={
            "RedactionType": "PII",
            "RedactionOutput": "redacted_and_unredacted",
            "PiiEntityTypes": ["NAME"],
        },
    )
    transcript = response["TranscriptResponse"]
    assert "John Smith" in transcript["Results"]["Transcript"]
    redacted = transcript["RedactedResults"]
    assert "John" not in redacted["Transcript"] and "[PII] [PII]" in redacted["Transcript"]
    assert "Seattle" in redacted["Transcript"]
    masked = [i for i in redacted["Items"] if i["Content"] == "[PII]"]
    assert len(masked) == 2 and all(i["Redactions"] == [{"Type": "NAME"}] for i in masked)


def test_redacted_output_only_has_no_results(client, tmp_path):
    speech = speak(tmp_path, "My name is John Smith.")
    response = client.transcribe_audio(
        Media={"MediaBytes": speech.read_bytes()},
        Language="en",
        ContentRedaction={"RedactionType": "PII", "RedactionOutput": "redacted"},
    )
    assert set(response["TranscriptResponse"]) == {"Metadata", "RedactedResults"}


def test_output_configuration_writes_to_s3(client, s3):
    s3.create_bucket(Bucket="sync-out")
    response = client.transcribe_audio(
        Media={"MediaBytes": audio_path("cards_002").read_bytes()},
        Language="en",
        OutputConfiguration={"OutputMediaFileUri": "s3://sync-out/transcripts/"},
    )
    assert set(response) - {"ResponseMetadata"} == {"OutputConfiguration"}
    uri = response["OutputConfiguration"]["OutputMediaFileUri"]
    assert uri.startswith("s3://sync-out/transcripts/") and uri.endswith(".json")
    written = json.loads(s3.get_object(Bucket="sync-out", Key=uri.removeprefix("s3://sync-out/"))["Body"].read())
    assert "queen" in written["Results"]["Transcript"].lower()
    assert written["Metadata"]["MediaFormat"] == "wav"


def test_language_identification_among_options(client):
    response = client.transcribe_audio(
        Media={"MediaBytes": audio_path("cheetah_test_de").read_bytes()},
        LanguageDetectionMode="IDENTIFY_LANGUAGE",
        LanguageOptions=["en", "de"],
    )
    metadata = response["TranscriptResponse"]["Metadata"]
    assert metadata["LanguageCode"] == "de-DE"
    [spoken] = metadata["LanguageCodes"]
    assert spoken["LanguageCode"] == "de-DE" and 1.0 < spoken["DurationInSeconds"] <= 3.5


def test_too_short_media_is_audio_too_short(client):
    error = _error(client.transcribe_audio, Media={"MediaBytes": _wav(np.zeros(4000, np.float32))}, Language="en")
    assert error.response["Error"]["Code"] == "BadRequestException"
    assert error.response["Reason"] == "audioTooShort"
    assert "0.5 seconds" in error.response["Error"]["Message"]


def test_broken_media_is_invalid_audio(client):
    error = _error(client.transcribe_audio, Media={"MediaBytes": b"this is not audio at all" * 100}, Language="en")
    assert error.response["Error"]["Code"] == "BadRequestException"
    assert error.response["Reason"] == "invalidAudio"


def test_bytes_over_25_mb_are_refused_by_the_models_limit(client):
    error = _error(client.transcribe_audio, Media={"MediaBytes": b"\0" * (26214400 + 1)}, Language="en")
    assert error.response["Error"]["Code"] == "BadRequestException"
    assert "Member must have length less than or equal to 26214400" in error.response["Error"]["Message"]
    assert "lim=26214401" in error.response["Error"]["Message"]


def test_both_media_members_are_refused(emulator):
    # botocore refuses a union with two members itself: send the request as another SDK could.
    raw = _client(emulator, parameter_validation=False, retries={"max_attempts": 1})
    error = _error(raw.transcribe_audio, Media={"MediaBytes": b"x", "MediaFileUri": "s3://media/x.wav"}, Language="en")
    assert error.response["Error"]["Code"] == "BadRequestException"


def test_beyond_the_pool_is_limit_exceeded_and_the_event_loop_stays_free(emulator):
    """The session emulator has one worker: of three requests at once at least one is refused,
    and the API answers other requests while they run."""
    plain = emulator.transcribe()  # no retries
    media = audio_path("sonnet_001_first9s_ogg").read_bytes()
    outcomes: list[str] = []

    def call():
        try:
            plain.transcribe_audio(Media={"MediaBytes": media}, Language="en")
            outcomes.append("ok")
        except ClientError as e:
            outcomes.append(e.response["Error"]["Code"])

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)  # the requests are in
    started = time.monotonic()
    health = httpx.get(emulator.endpoint + "/_emulator/health", timeout=5)
    assert health.status_code == 200 and time.monotonic() - started < 1.0
    for thread in threads:
        thread.join(120)
    assert "LimitExceededException" in outcomes
    assert set(outcomes) <= {"ok", "LimitExceededException"}


def test_over_rpc_v2_cbor_the_same_transcript_and_reason(emulator, tmp_path):
    from tests.support import cbor_session

    cbor = cbor_session(tmp_path).client(
        "transcribe",
        endpoint_url=emulator.endpoint,
        config=Config(retries={"mode": "standard", "max_attempts": 10}),
        **CREDENTIALS,
    )
    response = cbor.transcribe_audio(Media={"MediaBytes": audio_path("jfk").read_bytes()}, Language="en")
    results = response["TranscriptResponse"]["Results"]
    assert wer(JFK, results["Transcript"]) < 0.1 and isinstance(results["Items"][0]["StartTime"], float)
    error = _error(cbor.transcribe_audio, Media={"MediaBytes": _wav(np.zeros(4000, np.float32))}, Language="en")
    assert error.response["Error"]["Code"] == "BadRequestException" and error.response["Reason"] == "audioTooShort"
